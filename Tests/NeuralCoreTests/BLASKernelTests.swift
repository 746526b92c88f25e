import Foundation
import NeuralCore
import XCTest

/// The OpenBLAS kernel choice (CBLASRuntime): the pure choice on feature sets this machine may not have, and
/// what this process actually loaded.
final class BLASKernelTests: XCTestCase {
    private let avx512 = CPUFeatures(avx2: true, fma: true, avx512f: true, avx512bw: true, avx512dq: true, avx512vl: true)
    private let avx2 = CPUFeatures(avx2: true, fma: true)

    func testAVX512CPUsGetSkylakeXAndAVX2CPUsGetHaswell() {
        XCTAssertEqual(avx512.chooseCoreType(userSetting: nil).coreType, "SkylakeX")
        XCTAssertEqual(avx512.chooseCoreType(userSetting: nil).source, .cpuFeatures)
        XCTAssertEqual(avx2.chooseCoreType(userSetting: nil).coreType, "Haswell")
        XCTAssertEqual(avx2.chooseCoreType(userSetting: nil).source, .cpuFeatures)
    }

    func testPartialAVX512FallsBackToAVX2() {
        // Xeon Phi (Knights Landing) has AVX-512F but not BW/DQ/VL, which the SkylakeX kernels use.
        var knightsLanding = avx512
        knightsLanding.avx512bw = false
        knightsLanding.avx512dq = false
        knightsLanding.avx512vl = false
        XCTAssertEqual(knightsLanding.chooseCoreType(userSetting: nil).coreType, "Haswell")
        for missing in [\CPUFeatures.avx512f, \.avx512bw, \.avx512dq, \.avx512vl] {
            var features = avx512
            features[keyPath: missing] = false
            XCTAssertEqual(features.chooseCoreType(userSetting: nil).coreType, "Haswell", "\(missing)")
        }
    }

    func testWithoutAVX2AndFMAOpenBLASChoosesItself() {
        for features in [CPUFeatures(), CPUFeatures(avx2: true), CPUFeatures(fma: true),
                         CPUFeatures(avx512f: true, avx512bw: true, avx512dq: true, avx512vl: true)] {
            let choice = features.chooseCoreType(userSetting: nil)
            XCTAssertNil(choice.coreType, "\(features)")
            XCTAssertEqual(choice.source, .library, "\(features)")
        }
    }

    func testTheUsersOpenBLASCoretypeIsRespectedWhateverTheCPU() {
        for features in [avx512, avx2, CPUFeatures()] {
            XCTAssertEqual(features.chooseCoreType(userSetting: "Haswell").coreType, "Haswell")
            XCTAssertEqual(features.chooseCoreType(userSetting: "Haswell").source, .environment)
            // Even a slower choice: the user may have set it because the faster kernels are wrong on that machine.
            XCTAssertEqual(features.chooseCoreType(userSetting: "Prescott").coreType, "Prescott")
        }
        // Set but empty is unset.
        XCTAssertEqual(avx512.chooseCoreType(userSetting: "").coreType, "SkylakeX")
        XCTAssertEqual(avx512.chooseCoreType(userSetting: "").source, .cpuFeatures)
    }

    /// What this process loaded: under a user's OPENBLAS_CORETYPE (the Haswell run of Tools/run-tests.sh), that
    /// kernel; with nothing set, the kernel the features choose — never the SSE fallback on a CPU with AVX2.
    func testTheLoadedKernelIsTheChosenOne() throws {
        let setting = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        let kernel = BLAS.kernel
        let expected = CPUFeatures.detected.chooseCoreType(userSetting: setting)
        XCTAssertEqual(kernel.source, expected.source)
        XCTAssertEqual(kernel.requestedCoreType, expected.coreType)
        if let coreType = expected.coreType {
            XCTAssertEqual(kernel.coreName.lowercased(), coreType.lowercased(), kernel.description)
        }
        if setting == nil || setting == "", CPUFeatures.detected.avx2, CPUFeatures.detected.fma {
            XCTAssertFalse(kernel.isSSEFallback, kernel.description)
            XCTAssertTrue(["AVX2", "AVX-512"].contains(kernel.instructionSet), kernel.description)
        }
        XCTAssertTrue(kernel.description.hasPrefix("OpenBLAS 0."), kernel.description)
        XCTAssertTrue(FileManager.default.fileExists(atPath: kernel.libraryPath), kernel.libraryPath)
    }

    /// The variable is set only for the moment of loading: child processes see the user's environment.
    func testLoadingLeavesTheEnvironmentAsItWas() {
        let before = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        BLAS.prepare()
        _ = BLAS.kernel
        let now = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        XCTAssertEqual(now, before)
    }

    func testGEMMRunsThroughTheLoadedLibrary() {
        // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        var c = [Float](repeating: 0, count: 4)
        BLAS.gemm(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: &c, ldc: 2)
        XCTAssertEqual(c, [19, 22, 43, 50])
        BLAS.gemm(m: 2, n: 2, k: 2, a: a, lda: 2, transposeA: true, b: b, ldb: 2, c: &c, ldc: 2)
        XCTAssertEqual(c, [26, 30, 38, 44])
    }
}
