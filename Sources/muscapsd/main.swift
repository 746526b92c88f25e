import ArgumentParser
import MusicTagging

/// The live-captioning daemon. This build is the foundation release: capture, windows, plugins and the
/// D-Bus interface arrive with the daemon work (see README, "Status"), so it only reports its version.
struct MuscapsDaemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "muscapsd",
        abstract: "MusCaps Live daemon (not yet implemented in this build).",
        discussion: """
        NOT YET IMPLEMENTED: this build of muscapsd only prints its version. Live capture from \
        PulseAudio/PipeWire or JACK, rolling captions, output plugins and D-Bus control are being built; \
        until then use `muscaps tag FILE` to tag audio files.
        """,
        version: MusCapsVersion.string)

    func run() throws {
        print("muscapsd \(MusCapsVersion.string) — live capture is not implemented in this build; see `muscapsd --help`.")
    }
}

MuscapsDaemon.main()
