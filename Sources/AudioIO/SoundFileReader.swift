import CSndFile
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An open libsndfile handle reading float frames, with every way of failing turned into an
/// `AudioIOError` that names the file.
///
/// Why the checks come before libsndfile: `sf_open` on a FIFO blocks forever, on a directory or an
/// empty file it only says "Format not recognised", and for some failures (a text file named
/// `.mp3`) it reports "File does not exist or is not a regular file" about a file that does exist.
/// So the path is `stat`ed and opened here first (non-blocking, then re-checked with `fstat`), a
/// duplicate of the descriptor is handed to `sf_open_fd`, and libsndfile's failures are classified
/// with a look at the file's first bytes: a recognised container magic means a corrupt header,
/// anything else an unrecognised format.
final class SoundFileReader {
    let path: String
    let sampleRate: Int
    let channels: Int
    /// Frames the header announces (an estimate for MP3; reading continues until libsndfile stops).
    let announcedFrames: Int
    private let handle: OpaquePointer

    /// libsndfile reports `sf_open` failures through one process-wide error slot (`sf_error(NULL)`),
    /// so opening and reading that slot happen under this lock.
    private static let openLock = Mutex(())

    /// Channel counts above this are refused as implausible (libsndfile itself allows up to 1024).
    static let maximumChannels = 256

    init(path: String) throws {
        self.path = path
        var status = stat()
        if stat(path, &status) != 0 {
            let code = errno
            switch code {
            case ENOENT, ENOTDIR: throw AudioIOError.fileNotFound(path: path)
            case EACCES, EPERM: throw AudioIOError.permissionDenied(path: path)
            default: throw AudioIOError.unreadable(path: path, reason: Self.systemMessage(code))
            }
        }
        try Self.checkKind(status, path: path)

        // O_NONBLOCK: if the path was swapped for a FIFO after the stat, open must not block.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            let code = errno
            switch code {
            case ENOENT: throw AudioIOError.fileNotFound(path: path)
            case EACCES, EPERM: throw AudioIOError.permissionDenied(path: path)
            case EISDIR: throw AudioIOError.isDirectory(path: path)
            default: throw AudioIOError.unreadable(path: path, reason: Self.systemMessage(code))
            }
        }
        var openedStatus = stat()
        guard fstat(fd, &openedStatus) == 0 else {
            let code = errno
            close(fd)
            throw AudioIOError.unreadable(path: path, reason: Self.systemMessage(code))
        }
        do { try Self.checkKind(openedStatus, path: path) } catch { close(fd); throw error }
        // Back to blocking reads for libsndfile.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)

        // libsndfile gets its own duplicate of the descriptor and owns it (close_desc = SF_TRUE):
        // libsndfile 1.2.0 closes the descriptor when sf_open_fd fails even if told not to, so
        // handing it ours would lead to a double close. Ours stays open for sniffing the header.
        let libraryDescriptor = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard libraryDescriptor >= 0 else {
            let code = errno
            close(fd)
            throw AudioIOError.unreadable(path: path, reason: Self.systemMessage(code))
        }
        var info = SF_INFO()
        var openError: (code: Int32, message: String) = (0, "")
        let opened: OpaquePointer? = Self.openLock.withLock { _ in
            let file = sf_open_fd(libraryDescriptor, Int32(SFM_READ), &info, Int32(SF_TRUE))
            if file == nil { openError = (sf_error(nil), String(cString: sf_strerror(nil))) }
            return file
        }
        guard let opened else {
            let magic = Self.leadingBytes(fd: fd, count: 16)
            close(fd)
            throw Self.classify(code: openError.code, message: openError.message, magic: magic, path: path)
        }
        close(fd)

        // Validate before the last stored property is set: once the object is fully initialised,
        // a throw would run deinit, which closes the handle too.
        let rate = Int(info.samplerate)
        let channelCount = Int(info.channels)
        guard channelCount >= 1, channelCount <= Self.maximumChannels else {
            sf_close(opened)
            throw AudioIOError.unsupportedStream(path: path, reason: "\(channelCount) channels (1...\(Self.maximumChannels) supported)")
        }
        guard StreamingResampler.supportedRates.contains(Double(rate)) else {
            sf_close(opened)
            throw AudioIOError.unsupportedSampleRate(path: path, rate: Double(rate), reason: "the file's rate must be within 1000...768000 Hz")
        }
        guard info.frames != 0 else {
            sf_close(opened)
            throw AudioIOError.noFrames(path: path)
        }
        sampleRate = rate
        channels = channelCount
        announcedFrames = info.frames > 0 ? Int(clamping: info.frames) : 0
        handle = opened
    }

    deinit {
        sf_close(handle)   // also closes libsndfile's duplicate descriptor
    }

    /// Reads up to `frames` interleaved frames into `buffer`; returns the frames read, 0 at the end.
    func read(into buffer: UnsafeMutablePointer<Float>, frames: Int) throws -> Int {
        let count = Int(sf_readf_float(handle, buffer, sf_count_t(frames)))
        if count < frames {
            let code = sf_error(handle)
            if code != 0 {
                throw AudioIOError.decodeFailed(path: path, reason: String(cString: sf_strerror(handle)))
            }
        }
        return max(0, count)
    }

    private static func checkKind(_ status: stat, path: String) throws {
        let kind = status.st_mode & S_IFMT
        if kind == S_IFDIR { throw AudioIOError.isDirectory(path: path) }
        if kind != S_IFREG { throw AudioIOError.notRegularFile(path: path) }
        if status.st_size == 0 { throw AudioIOError.emptyFile(path: path) }
    }

    private static func systemMessage(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    private static func leadingBytes(fd: Int32, count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, 0) }
        return got > 0 ? Array(bytes.prefix(got)) : []
    }

    /// Containers libsndfile reads, by their leading bytes.
    static func containerName(magic: [UInt8]) -> String? {
        func starts(_ text: String) -> Bool {
            let pattern = Array(text.utf8)
            return magic.count >= pattern.count && Array(magic.prefix(pattern.count)) == pattern
        }
        if starts("RIFF") || starts("RIFX") || starts("RF64") { return "WAV" }
        if starts("riff") { return "Wave64" }
        if starts("FORM") { return "AIFF" }
        if starts("fLaC") { return "FLAC" }
        if starts("OggS") { return "Ogg" }
        if starts("ID3") { return "MP3" }
        if starts(".snd") { return "AU" }
        if starts("caff") { return "CAF" }
        if magic.count >= 2, magic[0] == 0xFF, magic[1] & 0xE0 == 0xE0 { return "MPEG audio" }
        return nil
    }

    static func classify(code: Int32, message: String, magic: [UInt8], path: String) -> AudioIOError {
        switch Int(code) {
        case Int(SF_ERR_UNSUPPORTED_ENCODING):
            return .unsupportedEncoding(path: path, reason: message)
        case Int(SF_ERR_SYSTEM):
            return .unreadable(path: path, reason: message)
        default:
            if let container = containerName(magic: magic) {
                return .malformedFile(path: path, reason: "\(container) container: \(message)")
            }
            let shown = magic.prefix(8).map { byte -> String in
                let hex = String(byte, radix: 16)
                return hex.count == 1 ? "0" + hex : hex
            }.joined(separator: " ")
            return .unrecognisedFormat(
                path: path,
                reason: "content is not WAV, AIFF, FLAC, Ogg (Vorbis/Opus) or MP3 (first bytes: \(shown))")
        }
    }
}
