import Foundation

/// Finds shipped model files without an install step.
///
/// Search order: `$MUSCAPS_MODELS`, a `Models/` folder beside the executable or in any of its ancestors
/// (a `swift build` tree lives inside the checkout), then `~/.local/share/muscaps/Models`,
/// `/usr/local/share/muscaps/Models` and `/usr/share/muscaps/Models`.
public enum ModelLocator {
    public static func searchDirectories(environment: [String: String] = ProcessInfo.processInfo.environment) -> [URL] {
        var directories: [URL] = []
        if let override = environment["MUSCAPS_MODELS"], !override.isEmpty {
            directories.append(URL(fileURLWithPath: override))
        }
        var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            directories.append(directory.appendingPathComponent("Models"))
            let parent = directory.deletingLastPathComponent()
            if parent.path == directory.path { break }
            directory = parent
        }
        directories.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Models"))
        if let home = environment["HOME"] {
            directories.append(URL(fileURLWithPath: home).appendingPathComponent(".local/share/muscaps/Models"))
        }
        directories.append(URL(fileURLWithPath: "/usr/local/share/muscaps/Models"))
        directories.append(URL(fileURLWithPath: "/usr/share/muscaps/Models"))
        return directories
    }

    /// The first existing `relativePath` under `directories` (default: the search directories).
    public static func locate(_ relativePath: String, in directories: [URL] = searchDirectories()) -> URL? {
        for directory in directories {
            let candidate = directory.appendingPathComponent(relativePath)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        return nil
    }
}

/// The musicnn models shipped in `Models/musicnn`, by the names users type.
public enum MusicnnModelName: String, CaseIterable, Sendable {
    case mtt, msd

    public var fileName: String {
        switch self {
        case .mtt: return "musicnn/MTT_musicnn.safetensors"
        case .msd: return "musicnn/MSD_musicnn.safetensors"
        }
    }

    /// Resolves `mtt`, `msd` or a path to a converted weights file.
    public static func resolve(_ nameOrPath: String) throws -> URL {
        if let known = MusicnnModelName(rawValue: nameOrPath.lowercased()) {
            guard let url = ModelLocator.locate(known.fileName) else {
                let searched = ModelLocator.searchDirectories().map(\.path).joined(separator: ", ")
                throw ModelLookupError(message: "model '\(nameOrPath)' (\(known.fileName)) not found in: \(searched); set MUSCAPS_MODELS to the folder holding musicnn/")
            }
            return url
        }
        return URL(fileURLWithPath: nameOrPath)
    }
}

public struct ModelLookupError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
