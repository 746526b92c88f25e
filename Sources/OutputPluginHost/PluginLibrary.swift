import CMusCapsHost
import CMusCapsPlugin
import Foundation
import Synchronization

/// Why a plugin could not be used. Every description is one line naming the file.
public enum PluginError: Error, CustomStringConvertible, Equatable {
    case notFound(plugin: String, searched: [String])
    case cannotOpen(path: String, reason: String)
    case unsafe(path: String, reason: String)
    case cannotLoad(path: String, reason: String)
    case missingSymbol(path: String)
    case nullDescriptor(path: String)
    case wrongABI(path: String, found: UInt32, expected: UInt32)
    case descriptorTooSmall(path: String, size: UInt32, minimum: Int)
    case nullFunction(path: String, function: String)
    case invalidDescriptor(path: String, reason: String)
    case createFailed(output: String, path: String, message: String)
    case createTimedOut(output: String, path: String, seconds: Double)

    public var description: String {
        switch self {
        case let .notFound(plugin, searched):
            let files = PluginSearchPath.fileNames(for: plugin)[0]
            return "no output plugin named '\(plugin)' (looked for \(files) in \(searched.joined(separator: ", ")); "
                + "set \(PluginSearchPath.environmentVariable) to add directories)"
        case let .cannotOpen(path, reason): return "cannot open plugin \(path): \(reason)"
        case let .unsafe(path, reason): return "refusing plugin \(path): \(reason)"
        case let .cannotLoad(path, reason): return "cannot load plugin \(path): \(reason)"
        case let .missingSymbol(path):
            return "refusing plugin \(path): it does not export \(PluginLibrary.descriptorSymbol) (not a MusCaps output plugin?)"
        case let .nullDescriptor(path): return "refusing plugin \(path): \(PluginLibrary.descriptorSymbol)() returned NULL"
        case let .wrongABI(path, found, expected):
            return "refusing plugin \(path): built for plugin ABI \(found), this program speaks ABI \(expected) "
                + "(rebuild it against this version's muscaps_plugin.h)"
        case let .descriptorTooSmall(path, size, minimum):
            return "refusing plugin \(path): its descriptor is \(size) bytes (struct_size), ABI \(MUSCAPS_PLUGIN_ABI_VERSION) needs at least \(minimum)"
        case let .nullFunction(path, function):
            return "refusing plugin \(path): its descriptor's \(function) function is NULL"
        case let .invalidDescriptor(path, reason): return "refusing plugin \(path): \(reason)"
        case let .createFailed(output, path, message):
            return "output '\(output)' (\(path)) could not start: \(message.isEmpty ? "create() failed without a message" : message)"
        case let .createTimedOut(output, path, seconds):
            return "output '\(output)' (\(path)) did not start within \(seconds) s: create() does not return; abandoned"
        }
    }
}

/// A plugin shared library, loaded and validated against the ABI. Never unloaded: a plugin's code may
/// still be running on an abandoned thread, and libraries that register with language runtimes (a
/// Swift or C++ plugin) are not safe to `dlclose`.
public final class PluginLibrary: @unchecked Sendable {
    // @unchecked: every stored property is immutable; `descriptor` points into the loaded library,
    // which is never unloaded, and is only read.
    public static let descriptorSymbol = MUSCAPS_PLUGIN_DESCRIPTOR_SYMBOL
    public static let abiVersion = MUSCAPS_PLUGIN_ABI_VERSION

    /// The real path of the library (symbolic links resolved).
    public let path: String
    public let name: String
    public let version: String
    public let summary: String
    /// The descriptor's `struct_size`: larger than this host's when the plugin was built against a newer header.
    public let descriptorSize: UInt32
    let descriptor: UnsafePointer<muscaps_plugin_desc>

    /// Finds `plugin` (a name or a path) on `searchPath`, checks the file (`PluginFileSafety`), loads and validates it.
    public static func load(_ plugin: String, searchPath: PluginSearchPath = .standard()) throws -> PluginLibrary {
        guard let path = searchPath.locate(plugin) else {
            if plugin.contains("/") { throw PluginError.cannotOpen(path: plugin, reason: "no such file") }
            throw PluginError.notFound(plugin: plugin, searched: searchPath.directories)
        }
        return try load(path: path)
    }

    /// Checks, loads (dlopen RTLD_NOW | RTLD_LOCAL) and validates the library at `path`.
    public static func load(path: String) throws -> PluginLibrary {
        try PluginFileSafety.check(path)
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let handle = dlopen(real, RTLD_NOW | RTLD_LOCAL) else {
            throw PluginError.cannotLoad(path: real, reason: dlerror().map { String(cString: $0) } ?? "dlopen failed")
        }
        guard let symbol = dlsym(handle, descriptorSymbol) else { throw PluginError.missingSymbol(path: real) }
        let loadingLabel = "loaded from \(real)"
        guard let descriptor = loadingLabel.withCString({ muscaps_host_call_descriptor($0, symbol) }) else {
            throw PluginError.nullDescriptor(path: real)
        }
        // Read the two leading fields on their own: a descriptor smaller than ours must not be read whole.
        let raw = UnsafeRawPointer(descriptor)
        let abi = raw.load(fromByteOffset: 0, as: UInt32.self)
        let size = raw.load(fromByteOffset: 4, as: UInt32.self)
        guard abi == MUSCAPS_PLUGIN_ABI_VERSION else {
            throw PluginError.wrongABI(path: real, found: abi, expected: MUSCAPS_PLUGIN_ABI_VERSION)
        }
        let minimum = MemoryLayout<muscaps_plugin_desc>.offset(of: \muscaps_plugin_desc.destroy)!
            + MemoryLayout<UnsafeRawPointer>.size
        guard Int(size) >= minimum else { throw PluginError.descriptorTooSmall(path: real, size: size, minimum: minimum) }
        let d = descriptor.pointee
        for (function, present) in [("create", d.create != nil), ("emit", d.emit != nil), ("flush", d.flush != nil), ("destroy", d.destroy != nil)]
            where !present {
            throw PluginError.nullFunction(path: real, function: function)
        }
        guard let namePointer = d.name, case let name = String(cString: namePointer), !name.isEmpty,
              name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }) else {
            throw PluginError.invalidDescriptor(path: real, reason: "its name must be non-empty and use only a-z, 0-9, '_' and '-'")
        }
        let library = PluginLibrary(path: real, name: name, version: d.version.map { String(cString: $0) } ?? "",
                                    summary: d.description.map { String(cString: $0) } ?? "", descriptorSize: size, descriptor: descriptor)
        registerForCrashReports(library, addressInImage: symbol)
        return library
    }

    private init(path: String, name: String, version: String, summary: String, descriptorSize: UInt32,
                 descriptor: UnsafePointer<muscaps_plugin_desc>) {
        self.path = path
        self.name = name
        self.version = version
        self.summary = summary
        self.descriptorSize = descriptorSize
        self.descriptor = descriptor
    }

    /// How crash reports name this plugin: `'file' 1.0.0 (/path/libmuscaps-plugin-file.so)`.
    public var label: String { "'\(name)' \(version) (\(path))" }

    private static let registeredImages = Mutex<Set<String>>([])

    /// Lets the crash handler recognise the plugin's code by address, for crashes on threads the
    /// plugin started itself (once per library).
    private static func registerForCrashReports(_ library: PluginLibrary, addressInImage: UnsafeMutableRawPointer) {
        let isNew = registeredImages.withLock { $0.insert(library.path).inserted }
        if isNew { _ = library.label.withCString { muscaps_host_register_image(addressInImage, $0) } }
    }
}

