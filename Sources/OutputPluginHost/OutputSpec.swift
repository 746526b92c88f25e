/// One output as the user asked for it: a plugin (a name looked up on the search path, or a path to a
/// `.so`) and its options, from `--output NAME:ARGS` or the config file.
///
/// `NAME:ARGS`: ARGS is a comma-separated list; `key=value` items (key: a letter, then letters,
/// digits, `_` or `-`) are options, any other item is positional and becomes the option `arg`:
/// `file:captions.vtt,fsync=yes` → plugin `file`, options `arg=captions.vtt`, `fsync=yes`.
public struct OutputSpec: Sendable, Equatable, CustomStringConvertible {
    public struct Option: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    public var plugin: String
    public var options: [Option]

    public init(plugin: String, options: [Option] = []) {
        self.plugin = plugin
        self.options = options
    }

    public init(parsing text: String) throws {
        let (name, arguments) = text.firstIndex(of: ":").map { (String(text[..<$0]), String(text[text.index(after: $0)...])) }
            ?? (text, "")
        guard !name.isEmpty else { throw OutputSpecError(text: text) }
        plugin = name
        options = arguments.split(separator: ",", omittingEmptySubsequences: true).map { item in
            if let equals = item.firstIndex(of: "="), Self.isKey(item[..<equals]) {
                return Option(String(item[..<equals]), String(item[item.index(after: equals)...]))
            }
            return Option("arg", String(item))
        }
    }

    public var description: String {
        options.isEmpty ? plugin : plugin + ":" + options.map { $0.key == "arg" ? $0.value : "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    static func isKey(_ text: Substring) -> Bool {
        func letter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
        guard let first = text.unicodeScalars.first, letter(first) else { return false }
        return text.unicodeScalars.allSatisfy { letter($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
    }
}

public struct OutputSpecError: Error, CustomStringConvertible {
    public let text: String
    public var description: String { "invalid output '\(text)': expected NAME or NAME:ARGS, e.g. stdout:json or file:captions.vtt" }
}
