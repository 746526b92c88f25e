import Foundation
import TestServerSupport
import XCTest

/// Runs the built executables as a user would (from the repository root), capturing exit status and
/// both output streams.
typealias CommandResult = ChildResult

enum CLI {
    /// The build products directory: the test bundle is built beside the executables.
    static let productsDirectory = BuildProducts.directory
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    unsetting: Set<String> = [], timeout: TimeInterval = 120) throws -> CommandResult {
        try runProduct(executable, arguments, environment: environment, unsetting: unsetting, currentDirectory: repositoryRoot,
                       timeout: timeout)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("muscaps-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
