import CBLASRuntime

/// Which OpenBLAS kernels the process runs, and why.
///
/// Debian's OpenBLAS picks its kernels from the CPU model when it loads, and falls back to SSE3 ("Prescott")
/// on a model newer than the library — 2–3× slower SGEMM on a CPU with AVX-512. `CBLASRuntime` therefore
/// chooses from the CPU's features (AVX-512 F/BW/DQ/VL → SkylakeX, AVX2 + FMA → Haswell, else OpenBLAS's own
/// choice) unless the user set `OPENBLAS_CORETYPE`, and loads the library afterwards.
public struct BLASKernel: Sendable, Equatable, CustomStringConvertible {
    public enum Source: Sendable, Equatable {
        /// `OPENBLAS_CORETYPE` was set in the environment (respected as it is).
        case environment
        /// Chosen from the CPU's features.
        case cpuFeatures
        /// The CPU has neither AVX-512 nor AVX2 + FMA: OpenBLAS chose from the CPU model.
        case library
    }

    /// OpenBLAS's name for the kernel set it runs ("SkylakeX", "Haswell", "Prescott", …).
    public let coreName: String
    /// The library's version, e.g. "0.3.21".
    public let libraryVersion: String
    /// The `OPENBLAS_CORETYPE` the library was loaded with (nil when OpenBLAS chose).
    public let requestedCoreType: String?
    public let source: Source
    /// The file loaded, e.g. /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0.
    public let libraryPath: String

    /// The process's kernels (loads OpenBLAS if nothing has yet).
    public static var current: BLASKernel {
        let config = String(cString: muscaps_blas_config())  // "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"
        let words = config.split(separator: " ")
        let version = words.count > 1 && words[0] == "OpenBLAS" ? String(words[1]) : "?"
        let source: Source = switch muscaps_blas_choice() {
        case MUSCAPS_BLAS_CHOICE_ENVIRONMENT: .environment
        case MUSCAPS_BLAS_CHOICE_CPU_FEATURES: .cpuFeatures
        default: .library
        }
        return BLASKernel(coreName: String(cString: muscaps_blas_corename()), libraryVersion: version,
                          requestedCoreType: muscaps_blas_requested_coretype().map { String(cString: $0) },
                          source: source, libraryPath: String(cString: muscaps_blas_library_path()))
    }

    /// The widest vector instructions the kernel set uses (OpenBLAS 0.3.21's x86-64 names).
    public var instructionSet: String {
        switch coreName.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": "AVX-512"
        case "haswell", "zen", "excavator": "AVX2"
        case "sandybridge", "bulldozer", "piledriver", "steamroller": "AVX"
        case "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "opteron", "opteron_sse3",
             "barcelona", "nano", "bobcat", "katmai", "coppermine", "northwood", "banias", "athlon": "SSE"
        default: "unknown"
        }
    }

    /// True for the SSE-only kernel sets OpenBLAS falls back to on CPUs it does not recognise.
    public var isSSEFallback: Bool { instructionSet == "SSE" }

    public var description: String {
        let why = switch source {
        case .environment: "set by OPENBLAS_CORETYPE=\(requestedCoreType ?? "") in the environment"
        case .cpuFeatures: "chosen from the CPU's features"
        case .library: "OpenBLAS's own choice (the CPU has neither AVX-512 nor AVX2+FMA)"
        }
        return "OpenBLAS \(libraryVersion), \(coreName) kernels (\(instructionSet)), \(why)"
    }
}

/// The kernel choice as a pure function of CPU features and the user's setting (what `CBLASRuntime` does at
/// load time; exposed so tests can check it on feature sets this machine does not have).
public struct CPUFeatures: Sendable, Equatable {
    public var avx2, fma, avx512f, avx512bw, avx512dq, avx512vl: Bool

    public init(avx2: Bool = false, fma: Bool = false, avx512f: Bool = false, avx512bw: Bool = false,
                avx512dq: Bool = false, avx512vl: Bool = false) {
        (self.avx2, self.fma, self.avx512f, self.avx512bw, self.avx512dq, self.avx512vl) =
            (avx2, fma, avx512f, avx512bw, avx512dq, avx512vl)
    }

    /// This CPU's features, counting only those the OS has enabled (XCR0).
    public static var detected: CPUFeatures {
        let f = muscaps_cpu_features_detect()
        return CPUFeatures(avx2: f.avx2, fma: f.fma, avx512f: f.avx512f, avx512bw: f.avx512bw,
                           avx512dq: f.avx512dq, avx512vl: f.avx512vl)
    }

    /// The `OPENBLAS_CORETYPE` to load OpenBLAS with (nil: let OpenBLAS choose) and where the choice came from.
    public func chooseCoreType(userSetting: String?) -> (coreType: String?, source: BLASKernel.Source) {
        let features = muscaps_cpu_features(avx2: avx2, fma: fma, avx512f: avx512f, avx512bw: avx512bw,
                                            avx512dq: avx512dq, avx512vl: avx512vl)
        var source = MUSCAPS_BLAS_CHOICE_LIBRARY
        let choice: String? = if let userSetting {
            userSetting.withCString { muscaps_blas_choose_coretype(features, $0, &source).map { String(cString: $0) } }
        } else {
            muscaps_blas_choose_coretype(features, nil, &source).map { String(cString: $0) }
        }
        let kind: BLASKernel.Source = switch source {
        case MUSCAPS_BLAS_CHOICE_ENVIRONMENT: .environment
        case MUSCAPS_BLAS_CHOICE_CPU_FEATURES: .cpuFeatures
        default: .library
        }
        return (choice, kind)
    }
}
