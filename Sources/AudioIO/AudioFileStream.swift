/// Reads an audio file chunk by chunk in its own rate and channels, for streaming consumers (the
/// live daemon's file source) that must not hold a whole file in memory.
///
/// It opens and checks the file exactly as `AudioFileDecoder` does (same `SoundFileReader`), so a
/// file that cannot be read fails with the same one-line `AudioIOError`, and NaN/±infinity
/// samples are refused with their frame index. Not thread-safe: one reader at a time.
public final class AudioFileStream {
    public let path: String
    /// The file's own sample rate, in Hz, and its channel count.
    public let sampleRate: Int
    public let channels: Int
    /// Frames the header announces (0 if unknown; an estimate for MP3).
    public let announcedFrames: Int
    /// Frames read so far.
    public private(set) var framesRead = 0

    private let reader: SoundFileReader

    public init(path: String) throws {
        reader = try SoundFileReader(path: path)
        self.path = path
        sampleRate = reader.sampleRate
        channels = reader.channels
        announcedFrames = reader.announcedFrames
    }

    /// Reads up to `frames` interleaved frames into `buffer` (room for `frames * channels` floats);
    /// returns the frames read, 0 at the end of the file.
    public func read(into buffer: UnsafeMutablePointer<Float>, frames: Int) throws -> Int {
        let got = try reader.read(into: buffer, frames: frames)
        if got > 0 {
            let samples = UnsafeBufferPointer(start: buffer, count: got * channels)
            if let bad = AudioFileDecoder.firstNonFinite(samples) {
                throw AudioIOError.nonFiniteSample(
                    path: path, frame: framesRead + bad / channels, channel: bad % channels, value: samples[bad])
            }
            framesRead += got
        }
        return got
    }
}
