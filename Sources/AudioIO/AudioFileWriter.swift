import CSndFile

/// Writes interleaved float audio to a file with libsndfile.
///
/// Why it exists in the library: tests generate their inputs (WAV, FLAC, Ogg Vorbis, Opus, MP3)
/// with the same libsndfile the decoder reads, instead of depending on external tools, and the
/// CLI/daemon can use it to dump what they heard.
public enum AudioFileWriter {
    /// Container and encoding.
    public enum Format: String, Sendable, CaseIterable {
        case wav16, wav24, wavFloat, flac16, oggVorbis, oggOpus, mp3

        var sndfileFormat: Int32 {
            switch self {
            case .wav16: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
            case .wav24: return Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_24)
            case .wavFloat: return Int32(SF_FORMAT_WAV | SF_FORMAT_FLOAT)
            case .flac16: return Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)
            case .oggVorbis: return Int32(SF_FORMAT_OGG | SF_FORMAT_VORBIS)
            case .oggOpus: return Int32(SF_FORMAT_OGG | SF_FORMAT_OPUS)
            case .mp3: return Int32(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)
            }
        }
    }

    /// Writes `interleaved` (`frames * channels` samples) to `path`, replacing any file there.
    /// Float formats keep every value as is, NaN and infinity included (tests rely on that);
    /// integer formats clip to [-1, 1].
    public static func write(_ interleaved: [Float], channels: Int, sampleRate: Int, format: Format, to path: String) throws {
        guard channels > 0, interleaved.count % channels == 0 else {
            throw AudioIOError.writeFailed(path: path, reason: "\(interleaved.count) samples are not whole \(channels)-channel frames")
        }
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format.sndfileFormat
        guard sf_format_check(&info) != 0 else {
            throw AudioIOError.writeFailed(path: path, reason: "libsndfile cannot write \(format.rawValue) at \(sampleRate) Hz with \(channels) channels")
        }
        guard let file = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioIOError.writeFailed(path: path, reason: String(cString: sf_strerror(nil)))
        }
        if format != .wavFloat {
            // Clip instead of wrapping when float input exceeds full scale.
            _ = sf_command(file, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        }
        let frames = interleaved.count / channels
        let written = interleaved.withUnsafeBufferPointer { sf_writef_float(file, $0.baseAddress, sf_count_t(frames)) }
        let writeError = sf_error(file) != 0 ? String(cString: sf_strerror(file)) : nil
        let closeResult = sf_close(file)
        if Int(written) != frames || writeError != nil || closeResult != 0 {
            throw AudioIOError.writeFailed(path: path, reason: writeError ?? "wrote \(written) of \(frames) frames")
        }
    }
}
