// swift-tools-version:6.0
// MusCaps Live: music captioning (Manco et al. 2021) that runs live on Linux.
// One library stack, two thin executables: `muscaps` (CLI) and `muscapsd` (daemon).
import PackageDescription

/// System libraries come from Debian; each target is a modulemap over a small shim header.
func systemLibrary(_ name: String, pkgConfig: String, apt: [String]) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkgConfig, providers: [.apt(apt)])
}

let package = Package(
    name: "MusCapsLive",
    products: [
        .executable(name: "muscaps", targets: ["muscaps"]),
        .executable(name: "muscapsd", targets: ["muscapsd"]),
        .executable(name: "muscaps-bench", targets: ["muscaps-bench"]),
        .library(name: "MusicTagging", targets: ["MusicTagging"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // MARK: System libraries (Debian -dev packages)
        systemLibrary("CSndFile", pkgConfig: "sndfile", apt: ["libsndfile1-dev"]),
        systemLibrary("CSoxr", pkgConfig: "soxr", apt: ["libsoxr-dev"]),
        systemLibrary("CFFTW", pkgConfig: "fftw3", apt: ["libfftw3-dev"]),
        systemLibrary("CPulseAudio", pkgConfig: "libpulse-simple", apt: ["libpulse-dev"]),
        systemLibrary("CJack", pkgConfig: "jack", apt: ["libjack-jackd2-dev"]),
        systemLibrary("CDBus", pkgConfig: "dbus-1", apt: ["libdbus-1-dev"]),

        // MARK: Libraries, one job each
        /// OpenBLAS loaded at run time (dlopen), after choosing its kernels from the CPU's features;
        /// nothing links libopenblas, so that choice always comes before the library reads it.
        .target(name: "CBLASRuntime"),
        /// Tensors on BLAS, layers, safetensors.
        /// The monotonic clock and the one lock that can wait (`ConditionLock`); everything else locks with `Synchronization.Mutex`.
        .target(name: "ThreadSupport"),
        .target(name: "NeuralCore", dependencies: ["CBLASRuntime"]),
        /// Decoding and resampling audio files.
        .target(name: "AudioIO", dependencies: ["CSndFile", "CSoxr"]),
        /// Mel spectrograms, musicnn, tag vocabularies.
        .target(name: "MusicTagging", dependencies: ["NeuralCore", "AudioIO", "CFFTW"]),
        /// Live capture: PulseAudio, JACK, file and stdin sources into a lock-free ring, resampled to 16 kHz mono.
        .target(name: "AudioCapture", dependencies: ["AudioIO", "ThreadSupport", "CAudioCapture", "CPulseAudio", "CJack"]),
        /// The audio-thread half of capture, in C so no Swift runtime runs there: the SPSC ring, JACK/Pulse callbacks.
        .target(name: "CAudioCapture", dependencies: ["CPulseAudio", "CJack"]),
        /// Caption metrics as pycocoevalcap computes them: PTB tokenizer, BLEU, ROUGE-L, CIDEr-D natively;
        /// METEOR and SPICE through their official jars; retrieval recall.
        .target(name: "CaptionMetrics"),
        /// MusCaps: vocabulary, datasets and feature cache, the captioning models, decoding, training.
        .target(name: "Captioning", dependencies: ["ThreadSupport", "NeuralCore", "AudioIO", "MusicTagging"]),
        /// Catalogue batch jobs: catalogue walking, sharding, the resume journal, merging shard outputs.
        .target(name: "CatalogueBatch", dependencies: ["ThreadSupport", "Captioning", "MusicTagging", "NeuralCore", "AudioIO"]),
        /// The daemon's library: configuration, the live pipeline, the captioner, the daemon and its reconfiguration.
        .target(name: "LiveCaptioning", dependencies: ["OutputPluginHost", "ThreadSupport", "MusicTagging", "NeuralCore", "AudioCapture", "Captioning", .product(name: "Logging", package: "swift-log"), .product(name: "TOMLKit", package: "TOMLKit")]),
        /// The output-plugin ABI: `include/muscaps_plugin.h` is the contract, in C so plugins can be written in anything.
        .target(name: "CMusCapsPlugin"),
        /// Host side of the ABI, in C: async-signal-safe crash attribution and the guarded plugin calls.
        .target(name: "CMusCapsHost", dependencies: ["CMusCapsPlugin"]),
        /// The output-plugin host: caption events as the ABI carries them (and their interim/final merging),
        /// plugin lookup and loading, one thread and bounded queue per output, crash attribution. Links no
        /// audio, BLAS or config library, so plugin tools (`muscaps-plugin-probe`) need only this.
        .target(name: "OutputPluginHost", dependencies: ["CMusCapsPlugin", "CMusCapsHost", "ThreadSupport", .product(name: "Logging", package: "swift-log")]),

        /// muscapsd on D-Bus: the bus connection on its own thread, the org.muscaps.Daemon1 interface
        /// (properties, methods, errors, introspection from Systemd/dbus-1/interfaces).
        .target(name: "DaemonBus", dependencies: ["CDBus", "LiveCaptioning", "AudioCapture", "NeuralCore", .product(name: "Logging", package: "swift-log")]),

        /// Test and benchmark support: counts heap allocations to prove steady-state paths allocate nothing.
        .target(name: "CAllocationCounter"),

        // MARK: Executables: argument parsing and wiring only
        .executableTarget(name: "muscaps", dependencies: [
            "ThreadSupport", "MusicTagging", "AudioIO", "NeuralCore", "Captioning", "CaptionMetrics", "CatalogueBatch",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        /// Benchmarks the tagging pipeline: real-time factor, peak memory, steady-state allocations.
        .executableTarget(name: "muscaps-bench", dependencies: [
            "ThreadSupport", "MusicTagging", "AudioIO", "NeuralCore", "CAllocationCounter",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        /// Captioning training/decoding speed on synthetic data of the benchmark shape (not a test).
        .executableTarget(name: "captioning-bench", dependencies: ["ThreadSupport", "Captioning", "NeuralCore"]),
        /// Training-loop epochs and decoder latency on a data file shared with Tools/bench/captioning_vs_torch.py.
        .executableTarget(name: "captioning-trainer-bench", dependencies: ["ThreadSupport", "Captioning", "NeuralCore", "CAllocationCounter"]),
        .executableTarget(name: "muscapsd", dependencies: [
            "LiveCaptioning", "DaemonBus", "AudioCapture", "MusicTagging", "NeuralCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        /// Load on muscapsd's D-Bus interface (GetStatus/Get at a fixed rate), for Tools/bench/dbus-load.sh.
        .executableTarget(name: "muscapsd-dbus-bench", dependencies: ["CDBus"]),
        /// Loads output plugins as muscapsd does and feeds them synthetic captions (plugin authors, crash tests).
        .executableTarget(name: "muscaps-plugin-probe", dependencies: [
            "OutputPluginHost",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: Tests
        .testTarget(name: "NeuralCoreTests", dependencies: ["NeuralCore"]),
        .testTarget(name: "AudioIOTests", dependencies: ["AudioIO", "TestServerSupport"]),
        /// Private PulseAudio/JACK servers and child processes for tests (test-only; no product links it).
        .target(name: "TestServerSupport", dependencies: ["ThreadSupport", "NeuralCore"], path: "Tests/TestServerSupport"),
        .testTarget(name: "AudioCaptureTests", dependencies: ["AudioCapture", "ThreadSupport", "CAudioCapture", "AudioIO", "CAllocationCounter", "TestServerSupport"]),
        .testTarget(name: "MusicTaggingTests", dependencies: ["MusicTagging", "AudioIO", "NeuralCore", "CAllocationCounter", "TestServerSupport"]),
        .testTarget(name: "CaptioningTests", dependencies: ["ThreadSupport", "Captioning", "NeuralCore", "MusicTagging", "AudioIO", "CAllocationCounter"]),
        .testTarget(name: "CaptionMetricsTests", dependencies: ["CaptionMetrics"], exclude: ["Fixtures"]),
        .testTarget(name: "LiveCaptioningTests", dependencies: ["LiveCaptioning", "OutputPluginHost", "ThreadSupport", "TestServerSupport", "Captioning", "NeuralCore", "MusicTagging", "muscapsd", "muscaps-plugin-probe", "CAllocationCounter"]),
        .testTarget(name: "CatalogueBatchTests", dependencies: ["CatalogueBatch", "Captioning", "MusicTagging", "AudioIO", "NeuralCore"]),
        .testTarget(name: "CLITests", dependencies: ["muscaps", "muscaps-bench", "muscapsd", "AudioIO", "NeuralCore", "Captioning", "TestServerSupport"]),
    ]
)

// MARK: Output plugins: real shared libraries (`lib<product>.so` in the build directory) against the plugin ABI.
// Written in C: each exports only `muscaps_plugin_descriptor` and runs no language runtime of its own (SwiftPM's
// link step still records libswiftCore, which the daemon has loaded anyway).
// The test plugins misbehave on purpose (Plugins/TestPlugins/README.md).
let outputPlugins: [(product: String, target: String, path: String)] = [
    ("muscaps-plugin-stdout", "MusCapsStdoutPlugin", "Plugins/Stdout"),
    ("muscaps-plugin-file", "MusCapsFilePlugin", "Plugins/File"),
    ("muscaps-plugin-dbus", "MusCapsDBusPlugin", "Plugins/DBus"),
] + ["WrongABI", "NoSymbol", "BadSize", "NullFunction", "Future", "Slow", "Hang", "Crash"].map {
    ("muscaps-testplugin-\($0.lowercased())", "MusCapsTestPlugin\($0)", "Plugins/TestPlugins/\($0)")
}
package.targets.append(.target(name: "MusCapsPluginSupport", dependencies: ["CMusCapsPlugin"], path: "Plugins/Support"))
for plugin in outputPlugins {
    var support: [Target.Dependency] = plugin.path.contains("TestPlugins") ? [] : ["MusCapsPluginSupport"]
    if plugin.target == "MusCapsDBusPlugin" { support.append("CDBus") } // libdbus, to build the signals
    package.targets.append(.target(name: plugin.target, dependencies: ["CMusCapsPlugin"] + support, path: plugin.path,
                                   publicHeadersPath: ".", // a plugin has no headers of its own
                                   linkerSettings: [.linkedLibrary("m")]))
    package.products.append(.library(name: plugin.product, type: .dynamic, targets: [plugin.target]))
}
