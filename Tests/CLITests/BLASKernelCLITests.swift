import Foundation
import NeuralCore
import TestServerSupport
import XCTest

/// Every executable chooses OpenBLAS's kernels from the CPU's features before the library loads, respects a
/// user's OPENBLAS_CORETYPE, and says which kernels it runs.
final class BLASKernelCLITests: XCTestCase {
    private let executables = ["muscaps", "muscapsd", "muscaps-bench"]

    private func blasLine(_ result: CommandResult) throws -> String {
        XCTAssertEqual(result.status, 0, result.stderr)
        return try XCTUnwrap(result.stdout.split(separator: "\n").first { $0.hasPrefix("BLAS: ") }.map(String.init), result.stdout)
    }

    func testWithNothingSetTheKernelComesFromTheCPUsFeaturesAndIsNotTheSSEFallback() throws {
        let features = CPUFeatures.detected
        let expected = features.chooseCoreType(userSetting: nil)
        for executable in executables {
            let line = try blasLine(try CLI.run(executable, ["--version"], unsetting: ["OPENBLAS_CORETYPE"]))
            if let coreType = expected.coreType {
                XCTAssertTrue(line.contains(", \(coreType) kernels ("), "\(executable): \(line)")
                XCTAssertTrue(line.hasSuffix("chosen from the CPU's features"), "\(executable): \(line)")
            }
            if features.avx2 && features.fma {
                // The failure: OpenBLAS fell back to Prescott (SSE3) on a CPU model it did not know.
                XCTAssertFalse(line.contains("(SSE)"), "\(executable): \(line)")
                XCTAssertTrue(line.contains("(AVX2)") || line.contains("(AVX-512)"), "\(executable): \(line)")
            }
        }
    }

    func testTheUsersOpenBLASCoretypeIsRespected() throws {
        for executable in executables {
            let line = try blasLine(try CLI.run(executable, ["--version"], environment: ["OPENBLAS_CORETYPE": "Haswell"]))
            XCTAssertEqual(line, "BLAS: OpenBLAS 0.3.21, Haswell kernels (AVX2), set by OPENBLAS_CORETYPE=Haswell in the environment"
                .replacingOccurrences(of: "0.3.21", with: try libraryVersion(line)), executable)
        }
        // Even one slower than the CPU allows (some machines set it because other kernels compute wrong results).
        let line = try blasLine(try CLI.run("muscaps", ["--version"], environment: ["OPENBLAS_CORETYPE": "Prescott"]))
        XCTAssertTrue(line.contains("Prescott kernels (SSE), set by OPENBLAS_CORETYPE=Prescott"), line)
    }

    private func libraryVersion(_ line: String) throws -> String {
        String(try XCTUnwrap(line.split(separator: " ").dropFirst(2).first).dropLast())  // "BLAS: OpenBLAS 0.3.21, …"
    }

    func testMuscapsBenchReportsTheKernel() throws {
        let result = try CLI.run("muscaps-bench", ["--minutes", "0.2", "--jobs", "1"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.stderr)
        let row = try XCTUnwrap(result.stdout.split(separator: "\n").first { $0.hasPrefix("blas_kernel ") }, result.stdout)
        XCTAssertTrue(row.contains("OpenBLAS"), String(row))
    }

    /// The choice only works if nothing loads OpenBLAS before `main`: no executable may link it.
    func testNoExecutableLinksOpenBLAS() throws {
        for executable in executables {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
            process.arguments = [CLI.productsDirectory.appendingPathComponent(executable).path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0)
            XCTAssertTrue(output.contains("libc.so"), output)  // ldd really listed the dependencies
            XCTAssertFalse(output.contains("openblas"), "\(executable) links OpenBLAS:\n\(output)")
            XCTAssertFalse(output.contains("libblas"), "\(executable) links a BLAS:\n\(output)")
        }
    }
}
