import Foundation
import LiveCaptioning
import XCTest

/// The loading path against real shared libraries built by SwiftPM: search path, ABI checks, refusals.
final class PluginLoadingTests: XCTestCase {
    func testRealPluginsLoadByNameFromTheBuildDirectory() throws {
        // As a checkout's executable sees it: no environment, the build directory beside the executable.
        let searchPath = PluginSearchPath.standard(environment: [:], executablePath: Build.products.appendingPathComponent("muscapsd").path,
                                                   homeDirectory: "/nonexistent")
        XCTAssertEqual(searchPath.directories.last, Build.products.path)
        for name in ["stdout", "file", "dbus"] {
            let library = try PluginLibrary.load(name, searchPath: searchPath)
            XCTAssertEqual(library.name, name)
            XCTAssertEqual(library.version, "1.0.0")
            XCTAssertTrue(library.path.hasSuffix("/libmuscaps-plugin-\(name).so"), library.path)
        }
        XCTAssertEqual(Set(searchPath.availablePlugins().map(\.name)), ["file", "stdout", "dbus"], "test plugins are not reachable by name")
    }

    /// The plugin host is its own module: the probe, which links only it, loads no audio, BLAS or D-Bus library.
    func testThePluginProbeLinksOnlyThePluginHost() throws {
        let ldd = Process()
        ldd.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        ldd.arguments = [Build.products.appendingPathComponent("muscaps-plugin-probe").path]
        let out = Pipe()
        ldd.standardOutput = out
        try ldd.run()
        let libraries = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ldd.waitUntilExit()
        XCTAssertEqual(ldd.terminationStatus, 0, libraries)
        XCTAssertTrue(libraries.contains("libswiftCore"), libraries)
        for heavy in ["libpulse", "libjack", "libopenblas", "libsndfile", "libsoxr", "libfftw3", "libdbus"] {
            XCTAssertFalse(libraries.contains(heavy), "muscaps-plugin-probe links \(heavy): \(libraries)")
        }
        let daemon = Process()
        daemon.executableURL = ldd.executableURL
        daemon.arguments = [Build.products.appendingPathComponent("muscapsd").path]
        let daemonOut = Pipe()
        daemon.standardOutput = daemonOut
        try daemon.run()
        let daemonLibraries = String(decoding: daemonOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        daemon.waitUntilExit()
        XCTAssertTrue(daemonLibraries.contains("libpulse") && daemonLibraries.contains("libsndfile"), "positive control: \(daemonLibraries)")
    }

    func testSearchPathOrder() {
        let path = PluginSearchPath.standard(environment: ["MUSCAPS_PLUGIN_PATH": "/opt/a::/opt/b", "HOME": "/home/x"],
                                             executablePath: "/usr/local/bin/muscapsd")
        XCTAssertEqual(path.directories, ["/opt/a", "/opt/b", "/home/x/.local/lib/muscaps/plugins", "/usr/local/lib/muscaps/plugins", "/usr/local/bin"])
    }

    func testEnvironmentDirectoryComesFirst() throws {
        let directory = try Build.temporaryDirectory()
        try FileManager.default.copyItem(atPath: Build.plugin("muscaps-plugin-stdout"), toPath: directory.appendingPathComponent("libmuscaps-plugin-stdout.so").path)
        let searchPath = PluginSearchPath.standard(environment: ["MUSCAPS_PLUGIN_PATH": directory.path], executablePath: Build.products.appendingPathComponent("x").path)
        XCTAssertEqual(try PluginLibrary.load("stdout", searchPath: searchPath).path, directory.appendingPathComponent("libmuscaps-plugin-stdout.so").path)
    }

    func testUnknownNameSaysWhereItLooked() {
        XCTAssertThrowsError(try PluginLibrary.load("nosuch", searchPath: Build.searchPath)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("no output plugin named 'nosuch'"), message)
            XCTAssertTrue(message.contains("libmuscaps-plugin-nosuch.so"), message)
            XCTAssertTrue(message.contains(Build.products.path), message)
            XCTAssertFalse(message.contains("\n"))
        }
    }

    private func assertRefused(_ product: String, _ expected: (PluginError) -> Bool, mentions: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        let path = Build.plugin(product)
        XCTAssertThrowsError(try PluginLibrary.load(path: path), file: file, line: line) { error in
            guard let error = error as? PluginError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertTrue(expected(error), "\(error)", file: file, line: line)
            let message = error.description
            XCTAssertTrue(message.contains("lib\(product).so"), "names the file: \(message)", file: file, line: line)
            XCTAssertTrue(message.contains(mentions), message, file: file, line: line)
            XCTAssertFalse(message.contains("\n"), "one line", file: file, line: line)
        }
    }

    func testWrongABIIsRefused() {
        assertRefused("muscaps-testplugin-wrongabi", { if case .wrongABI(_, 99, 1) = $0 { true } else { false } }, mentions: "ABI 99")
    }

    func testMissingSymbolIsRefused() {
        assertRefused("muscaps-testplugin-nosymbol", { if case .missingSymbol = $0 { true } else { false } }, mentions: "muscaps_plugin_descriptor")
    }

    func testTooSmallDescriptorIsRefused() {
        assertRefused("muscaps-testplugin-badsize", { if case .descriptorTooSmall(_, 24, 64) = $0 { true } else { false } }, mentions: "24 bytes")
    }

    func testNullFunctionPointerIsRefused() {
        assertRefused("muscaps-testplugin-nullfunction", { if case .nullFunction(_, "flush") = $0 { true } else { false } }, mentions: "flush")
    }

    func testNotASharedLibraryIsRefused() throws {
        let directory = try Build.temporaryDirectory()
        let fake = directory.appendingPathComponent("libmuscaps-plugin-fake.so")
        try Data("not an ELF file".utf8).write(to: fake)
        XCTAssertThrowsError(try PluginLibrary.load(path: fake.path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot load plugin \(fake.path): "), "\(error)")
        }
    }

    /// A plugin built against a newer header (larger descriptor, an event field we do not send) loads and works.
    func testPluginFromANewerHeaderLoadsAndReadsOnlyWhatTheHostSends() throws {
        let directory = try Build.temporaryDirectory()
        let report = directory.appendingPathComponent("report.txt")
        let library = try PluginLibrary.load(path: Build.plugin("muscaps-testplugin-future"))
        XCTAssertGreaterThan(library.descriptorSize, 64)
        try withOutput("\(Build.plugin("muscaps-testplugin-future")):out=\(report.path)") { host in
            for i in 0..<5 { host.emit(Events.caption("x", Double(i), Double(i + 1))) }
        }
        XCTAssertEqual(try String(contentsOf: report, encoding: .utf8), "events=5 newer_field_seen=0\n")
    }

    // MARK: File safety

    /// A copy of the real stdout plugin in a fresh directory (which the test then makes unsafe).
    private func copyOfStdoutPlugin(in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("libmuscaps-plugin-stdout.so").path
        try FileManager.default.copyItem(atPath: Build.plugin("muscaps-plugin-stdout"), toPath: path)
        chmod(path, 0o755)
        return path
    }

    func testWorldWritableDirectoryIsRefused() throws {
        let directory = try Build.temporaryDirectory()
        let path = try copyOfStdoutPlugin(in: directory)
        XCTAssertNoThrow(try PluginLibrary.load(path: path), "the copy itself is fine")
        chmod(directory.path, 0o777)
        XCTAssertThrowsError(try PluginLibrary.load(path: path)) { error in
            XCTAssertEqual("\(error)", "refusing plugin \(path): its directory \(directory.path) is world-writable (chmod o-w it, or move the plugin)")
        }
        // Also when found by name on the search path: refused, not skipped.
        XCTAssertThrowsError(try PluginLibrary.load("stdout", searchPath: PluginSearchPath(directories: [directory.path, Build.products.path])))
        chmod(directory.path, 0o1777) // sticky does not help: anyone could add a plugin-named file
        XCTAssertThrowsError(try PluginLibrary.load(path: path))
    }

    func testWorldWritableFileIsRefused() throws {
        let path = try copyOfStdoutPlugin(in: try Build.temporaryDirectory())
        chmod(path, 0o757)
        XCTAssertThrowsError(try PluginLibrary.load(path: path)) { error in
            XCTAssertEqual("\(error)", "refusing plugin \(path): the file is world-writable (chmod o-w it)")
        }
    }

    func testFileOwnedByAnotherUserIsRefused() throws {
        try XCTSkipUnless(geteuid() == 0, "needs root to give a file away")
        let path = try copyOfStdoutPlugin(in: try Build.temporaryDirectory())
        XCTAssertEqual(chown(path, 65534, 65534), 0)
        XCTAssertThrowsError(try PluginLibrary.load(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("refusing plugin \(path): the file is owned by "), "\(error)")
            XCTAssertTrue("\(error)".contains("uid 65534"), "\(error)")
        }
    }

    func testWorldWritableAncestorWithoutStickyBitIsRefused() throws {
        let top = try Build.temporaryDirectory()
        let inner = top.appendingPathComponent("plugins")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: true)
        chmod(inner.path, 0o755)
        let path = try copyOfStdoutPlugin(in: inner)
        chmod(top.path, 0o777) // anyone could rename `plugins` and put their own in its place
        XCTAssertThrowsError(try PluginLibrary.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("directory \(top.path) above it is world-writable without the sticky bit"), "\(error)")
        }
        chmod(top.path, 0o1777) // like /tmp: others cannot rename what is ours
        XCTAssertNoThrow(try PluginLibrary.load(path: path))
    }

    func testSymlinkIntoAnUnsafeDirectoryIsRefused() throws {
        let unsafe = try Build.temporaryDirectory()
        let path = try copyOfStdoutPlugin(in: unsafe)
        chmod(unsafe.path, 0o777)
        let safe = try Build.temporaryDirectory()
        let link = safe.appendingPathComponent("libmuscaps-plugin-stdout.so")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: path)
        XCTAssertThrowsError(try PluginLibrary.load("stdout", searchPath: PluginSearchPath(directories: [safe.path]))) { error in
            XCTAssertTrue("\(error)".contains("refusing plugin \(path): its directory \(unsafe.path) is world-writable"), "\(error)")
        }
    }

    func testCreateFailureNamesOutputAndReason() {
        XCTAssertThrowsError(try OutputHost.start([try OutputSpec(parsing: "file:/nonexistent/dir/x.vtt")], searchPath: Build.searchPath,
                                                  installCrashReporter: false)) { error in
            XCTAssertTrue("\(error)".hasPrefix("output 'file' ("), "\(error)")
            XCTAssertTrue("\(error)".hasSuffix("could not start: cannot open /nonexistent/dir/x.vtt: No such file or directory"), "\(error)")
        }
        XCTAssertThrowsError(try OutputHost.start([try OutputSpec(parsing: "file:x.vtt,colour=red")], searchPath: Build.searchPath,
                                                  installCrashReporter: false)) { error in
            XCTAssertTrue("\(error)".contains("unknown option 'colour'"), "\(error)")
        }
        XCTAssertThrowsError(try OutputHost.start([try OutputSpec(parsing: "file:captions.txt")], searchPath: Build.searchPath,
                                                  installCrashReporter: false)) { error in
            XCTAssertTrue("\(error)".contains("add format=jsonl, vtt or srt"), "\(error)")
        }
    }
}
