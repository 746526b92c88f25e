import CJack
import ThreadSupport

/// What `muscapsd --list-sources` prints: the PulseAudio sources (monitors included) and the JACK
/// output ports, or for each server a clear sentence saying it is not running.
public struct SourceListing: Sendable, CustomStringConvertible {
    public struct JackPort: Sendable, Equatable {
        public var name: String
        /// A hardware port (`system:capture_1`) rather than an application's output.
        public var isPhysical: Bool
    }

    public var pulseServer: String
    /// The sources, or why there are none (server not running, timeout).
    public var pulse: Result<[PulseSourceDescription], CaptureError>
    public var pulseDefaultSink: String?
    public var pulseDefaultSource: String?

    public var jackServer: String
    public var jack: Result<[JackPort], CaptureError>
    public var jackSampleRate: Int?

    /// Queries both servers (each with `options.connectTimeout`, capped at 3 s); never throws.
    public static func query(options: CaptureOptions = CaptureOptions()) -> SourceListing {
        let timeout = min(options.connectTimeout, 3)
        var listing = SourceListing(
            pulseServer: PulseConnection.label(server: options.pulseServer), pulse: .success([]),
            jackServer: "JACK server '\(JackServer.name(options.jackServer))'", jack: .success([]))

        do {
            let connection = try PulseConnection(clientName: options.clientName + "-list", server: options.pulseServer, timeout: timeout)
            let deadline = Monotonic.deadline(after: timeout)
            _ = try connection.connect(server: options.pulseServer, deadline: deadline)
            let defaults = try connection.defaults(deadline: deadline)
            listing.pulseDefaultSink = defaults.sink
            listing.pulseDefaultSource = defaults.source
            listing.pulse = .success(try connection.sources(deadline: deadline))
        } catch let error as CaptureError {
            listing.pulse = .failure(error)
        } catch {
            listing.pulse = .failure(.requestFailed(server: listing.pulseServer, what: "listing sources", reason: "\(error)"))
        }

        do {
            let client = try JackServer.open(clientName: options.clientName + "-list", server: options.jackServer)
            defer { jack_client_close(client) }
            listing.jackSampleRate = Int(jack_get_sample_rate(client))
            listing.jack = .success(JackServer.outputPorts(client, matching: nil).map {
                JackPort(name: $0, isPhysical: JackServer.isPhysical(client, port: $0))
            })
        } catch let error as CaptureError {
            listing.jack = .failure(error)
        } catch {
            listing.jack = .failure(.requestFailed(server: listing.jackServer, what: "listing ports", reason: "\(error)"))
        }
        return listing
    }

    /// Human-readable, one source per line, with the spec to pass to `--source`.
    public var description: String {
        var lines: [String] = []
        switch pulse {
        case let .success(sources):
            lines.append("PulseAudio (\(pulseServer.replacingPrefix("PulseAudio server ", with: ""))):")
            if let sink = pulseDefaultSink {
                let monitor = sources.first { $0.monitorOfSink == sink }?.name ?? "\(sink).monitor"
                lines.append("  pulse:\(CaptureSpec.defaultPulseSource)  follows the default sink's monitor (now \(monitor))")
            }
            if sources.isEmpty { lines.append("  (no sources)") }
            for source in sources {
                var notes: [String] = ["\(source.sampleRate) Hz", "\(source.channels) ch"]
                if let sink = source.monitorOfSink { notes.append("monitor of sink \(sink)") }
                if source.name == pulseDefaultSource { notes.append("default source") }
                lines.append("  pulse:\(source.name)  \(source.description) (\(notes.joined(separator: ", ")))")
            }
        case let .failure(error):
            lines.append("PulseAudio: not available — \(error)")
        }
        switch jack {
        case let .success(ports):
            lines.append("JACK (\(jackServer.replacingPrefix("JACK server ", with: ""))\(jackSampleRate.map { ", \($0) Hz" } ?? "")):")
            if ports.isEmpty { lines.append("  (no output ports)") }
            for port in ports {
                lines.append("  jack:\(port.name)\(port.isPhysical ? "  (hardware)" : "")")
            }
        case let .failure(error):
            lines.append("JACK: not available — \(error)")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}

/// The entry point for `muscapsd --list-sources`.
public func listSources(options: CaptureOptions = CaptureOptions()) -> SourceListing {
    SourceListing.query(options: options)
}
