import AudioIO
import ThreadSupport

/// An audio file as a capture source (`file:PATH[:realtime][:loop]`): any format `AudioFileStream`
/// reads, at the file's own rate and channels, either as fast as the consumer takes it or paced to
/// the wall clock as if it were live. At the end of the file it finishes (closing the ring) or,
/// when looping, starts again from the top with no gap.
///
/// Its reader thread may wait, so it never drops: when the ring is full it sleeps a millisecond and
/// retries (back-pressure), and overruns stay 0. Real-time pacing uses absolute deadlines on the
/// monotonic clock (frame n is due at start + n / rate), so it does not drift.
public final class FileCaptureSource: CaptureSource {
    public let path: String
    public let realtime: Bool
    public let loop: Bool
    public let options: CaptureOptions
    private let core: SourceCore

    public init(path: String, realtime: Bool = false, loop: Bool = false, options: CaptureOptions = CaptureOptions()) {
        self.path = path
        self.realtime = realtime
        self.loop = loop
        self.options = options
        core = SourceCore(name: CaptureSpec.file(path: path, realtime: realtime, loop: loop).description, handler: options.onStateChange)
    }

    public var name: String { core.name }
    public var format: CaptureFormat? { core.format }
    public var ring: SampleRing? { core.ring }
    public var state: CaptureState { core.state }
    public var statistics: CaptureStatistics { core.statistics() }

    public func start() throws {
        try core.claimStart()
        let stream: AudioFileStream
        do {
            stream = try AudioFileStream(path: path)
        } catch {
            core.setState(.failed(reason: "\(error)"))
            throw error
        }
        let format = CaptureFormat(sampleRate: stream.sampleRate, channels: stream.channels)
        let ring = try SampleRing(capacity: options.ringSizing.capacity(sampleRate: format.sampleRate, channels: format.channels),
                                  frameSamples: format.channels)
        core.publish(format: format, ring: ring)
        core.setState(.running)
        let box = StreamBox(stream)
        do {
            try core.spawn(name: "muscaps-file") { [self] in
                self.readLoop(first: box.take(), format: format, ring: ring)
            }
        } catch {
            core.setState(.failed(reason: "\(error)"))
            ring.close()
            throw error
        }
    }

    public func stop() { core.finishStop() }

    private func readLoop(first: AudioFileStream, format: CaptureFormat, ring: SampleRing) {
        // Frames per read; in real time also the pacing step (10 ms of audio).
        let chunkFrames = realtime ? max(1, format.sampleRate / 100) : 4_096
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunkFrames * format.channels)
        defer { buffer.deallocate() }
        var stream = first
        let startTime = Monotonic.now()
        var framesSent = 0
        defer { ring.close() }
        while !core.isStopRequested {
            let got: Int
            do {
                got = try stream.read(into: buffer, frames: chunkFrames)
            } catch {
                core.setState(.failed(reason: "\(error)"))
                return
            }
            if got == 0 {
                guard loop, stream.framesRead > 0 else {
                    core.setState(.finished)
                    return
                }
                do {
                    stream = try AudioFileStream(path: path)
                } catch {
                    core.setState(.failed(reason: "\(error)"))
                    return
                }
                continue
            }
            if realtime {
                // Frame `framesSent` is due at start + framesSent / rate.
                let due = Double(framesSent) / Double(format.sampleRate)
                if core.sleep(due - Monotonic.secondsSince(startTime)) { return }
            }
            if !core.writeWaiting(UnsafeBufferPointer(start: buffer, count: got * format.channels), to: ring) { return }
            framesSent += got
        }
    }
}

/// Hands the already-opened stream to the reader thread (opened in `start()` so errors throw there).
private final class StreamBox: @unchecked Sendable {
    // @unchecked: taken exactly once, by the reader thread, after `start()` stops touching it.
    private var stream: AudioFileStream?
    init(_ stream: AudioFileStream) { self.stream = stream }
    func take() -> AudioFileStream {
        defer { stream = nil }
        return stream!
    }
}
