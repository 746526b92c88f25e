import Foundation

/// Where output plugins are looked up, in order:
/// 1. each directory of `$MUSCAPS_PLUGIN_PATH` (colon-separated),
/// 2. `~/.local/lib/muscaps/plugins`,
/// 3. the install prefix: `<executable dir>/../lib/muscaps/plugins` (`/usr/local/bin/muscapsd` →
///    `/usr/local/lib/muscaps/plugins`),
/// 4. the executable's own directory, which in a checkout is SwiftPM's build directory
///    (`.build/debug/`), where the package's plugins are built as `libmuscaps-plugin-NAME.so`.
///
/// A plugin NAME is found as `libmuscaps-plugin-NAME.so` (or `muscaps-plugin-NAME.so`) in the first
/// directory that has one; a plugin given with a `/` is a path. Whatever is found must pass
/// `PluginFileSafety` before it is loaded: a file that someone else could have replaced is refused,
/// never silently skipped for the next directory.
public struct PluginSearchPath: Sendable, Equatable {
    public static let environmentVariable = "MUSCAPS_PLUGIN_PATH"

    public var directories: [String]

    public init(directories: [String]) {
        self.directories = directories
    }

    /// The standard search path for this process.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment,
                                executablePath: String? = nil, homeDirectory: String? = nil) -> PluginSearchPath {
        var directories: [String] = []
        if let list = environment[environmentVariable] {
            directories += list.split(separator: ":").map(String.init)
        }
        if let home = homeDirectory ?? environment["HOME"] ?? PluginSearchPath.passwdHome(), !home.isEmpty {
            directories.append(home + "/.local/lib/muscaps/plugins")
        }
        if let executable = executablePath ?? PluginSearchPath.currentExecutable() {
            let directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
            directories.append(directory.deletingLastPathComponent().appendingPathComponent("lib/muscaps/plugins").path)
            directories.append(directory.path)
        }
        var seen = Set<String>()
        return PluginSearchPath(directories: directories.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            .filter { seen.insert($0).inserted })
    }

    /// File names tried for plugin `name` in each directory.
    public static func fileNames(for name: String) -> [String] {
        ["libmuscaps-plugin-\(name).so", "muscaps-plugin-\(name).so"]
    }

    /// The file for `plugin` (a name, or a path when it contains `/`), or nil.
    public func locate(_ plugin: String) -> String? {
        if plugin.contains("/") { return FileManager.default.fileExists(atPath: plugin) ? plugin : nil }
        for directory in directories {
            for file in Self.fileNames(for: plugin) {
                let candidate = directory + "/" + file
                var status = stat()
                if stat(candidate, &status) == 0 { return candidate }
            }
        }
        return nil
    }

    /// Every plugin name available on the path (first directory wins), for `--list-outputs`.
    public func availablePlugins() -> [(name: String, path: String)] {
        var found: [String: String] = [:]
        var order: [String] = []
        for directory in directories {
            guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for file in files.sorted() where file.hasSuffix(".so") {
                for prefix in ["libmuscaps-plugin-", "muscaps-plugin-"] where file.hasPrefix(prefix) {
                    let name = String(file.dropFirst(prefix.count).dropLast(3))
                    if found[name] == nil {
                        found[name] = directory + "/" + file
                        order.append(name)
                    }
                }
            }
        }
        return order.map { ($0, found[$0]!) }
    }

    static func currentExecutable() -> String? {
        let path = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        return path == "/proc/self/exe" ? CommandLine.arguments.first : path
    }

    static func passwdHome() -> String? {
        guard let entry = getpwuid(geteuid()), let home = entry.pointee.pw_dir else { return nil }
        return String(cString: home)
    }
}

/// The checks a plugin file must pass before it is loaded into the daemon: code that another user
/// could have written or replaced must never run inside it.
///
/// Refused (with a one-line reason naming the file or directory):
/// - a file or directory that is world-writable (for the plugin's own directory even with the sticky
///   bit: anyone could add a file with a plugin's name to `/tmp`);
/// - a file or directory owned by a user other than root and the daemon's own user;
/// - an ancestor directory that is world-writable without the sticky bit, or owned by another
///   non-root user (either could rename the directories below it);
/// - anything that is not a regular file.
/// Symbolic links are resolved first and the real file and its directories are checked (and the
/// directory the link was found in).
public enum PluginFileSafety {
    public static func check(_ path: String, effectiveUser: uid_t = geteuid()) throws {
        guard let resolved = realpath(path, nil) else {
            throw PluginError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        let real = String(cString: resolved)
        free(resolved)
        func refuse(_ reason: String) -> PluginError { .unsafe(path: real, reason: reason) }
        func owner(_ status: stat) -> String {
            if let entry = getpwuid(status.st_uid), let name = entry.pointee.pw_name { return "\(String(cString: name)) (uid \(status.st_uid))" }
            return "uid \(status.st_uid)"
        }
        func trusted(_ status: stat) -> Bool { status.st_uid == 0 || status.st_uid == effectiveUser }

        var file = stat()
        guard stat(real, &file) == 0 else { throw PluginError.cannotOpen(path: real, reason: String(cString: strerror(errno))) }
        guard (file.st_mode & S_IFMT) == S_IFREG else { throw refuse("not a regular file") }
        if file.st_mode & S_IWOTH != 0 { throw refuse("the file is world-writable (chmod o-w it)") }
        if !trusted(file) { throw refuse("the file is owned by \(owner(file)), not by root or the daemon's user") }

        var directories = [URL(fileURLWithPath: real).deletingLastPathComponent().path]
        let foundIn = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
        if foundIn != directories[0] { directories.append(foundIn) }
        for (index, directory) in directories.enumerated() {
            var status = stat()
            guard stat(directory, &status) == 0 else { continue }
            if status.st_mode & S_IWOTH != 0 {
                throw refuse("its directory \(directory) is world-writable (chmod o-w it, or move the plugin)")
            }
            if !trusted(status) { throw refuse("its directory \(directory) is owned by \(owner(status))") }
            // Ancestors: may be shared (sticky, like /tmp) but nobody else may rename what is below.
            var ancestor = URL(fileURLWithPath: directory).deletingLastPathComponent()
            while index == 0 && directory != "/" {
                var a = stat()
                if stat(ancestor.path, &a) == 0 {
                    if a.st_mode & S_IWOTH != 0 && a.st_mode & S_ISVTX == 0 {
                        throw refuse("directory \(ancestor.path) above it is world-writable without the sticky bit")
                    }
                    if !trusted(a) { throw refuse("directory \(ancestor.path) above it is owned by \(owner(a))") }
                }
                if ancestor.path == "/" { break }
                ancestor = ancestor.deletingLastPathComponent()
            }
        }
    }
}
