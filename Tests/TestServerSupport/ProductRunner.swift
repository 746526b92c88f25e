import Dispatch
import Foundation
import XCTest
import ThreadSupport

/// Where SwiftPM put the test bundle, the executables and the plugins (`lib*.so`): one directory.
public enum BuildProducts {
    public static let directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
}

/// Runs an executable from the build directory, capturing its output and how it ended.
public struct ChildResult {
    public var reason: Process.TerminationReason
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var seconds: Double
}

/// `environment` is added to the test's own; names in `unsetting` are removed from it.
public func runProduct(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                       unsetting: Set<String> = [], currentDirectory: URL? = nil, timeout: Double = 30) throws -> ChildResult {
    let process = Process()
    process.executableURL = BuildProducts.directory.appendingPathComponent(executable)
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (key, value) in environment { env[key] = value }
    for key in unsetting { env[key] = nil }
    process.environment = env
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    let started = Monotonic.now()
    try process.run()
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data(), errData = Data()
    DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    let deadline = Monotonic.deadline(after: timeout)
    while process.isRunning && Monotonic.now() < deadline { usleep(5_000) }
    if process.isRunning {
        process.terminate()
        XCTFail("\(executable) \(arguments) did not finish within \(timeout) s")
    }
    process.waitUntilExit()
    group.wait()
    return ChildResult(reason: process.terminationReason, status: process.terminationStatus,
                       stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
                       seconds: Monotonic.secondsSince(started))
}
