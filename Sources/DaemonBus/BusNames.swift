/// The stable names of muscapsd's D-Bus API, version 1 (docs/DBUS.md). They carry the major version,
/// as the freedesktop API design guide asks: an incompatible change means `Daemon2`, side by side.
public enum BusNames {
    public static let busName = "org.muscaps.Daemon1"
    public static let objectPath = "/org/muscaps/Daemon1"
    public static let interface = "org.muscaps.Daemon1"
    /// Error names are `org.muscaps.Daemon1.Error.<Kind>` (`DaemonCommandError.Kind`).
    public static let errorPrefix = "org.muscaps.Daemon1.Error."

    /// The bus name with an instance suffix (`org.muscaps.Daemon1.studio_a`), for several daemons on one bus.
    public static func busName(suffix: String?) -> String {
        guard let suffix, !suffix.isEmpty else { return busName }
        return busName + "." + suffix
    }

    /// Why `suffix` cannot extend the bus name, or nil: one or more dot-separated elements of
    /// `[A-Za-z0-9_-]`, none empty or starting with a digit, the whole name at most 255 bytes.
    public static func problem(withSuffix suffix: String) -> String? {
        let elements = suffix.split(separator: ".", omittingEmptySubsequences: false)
        for element in elements {
            guard let first = element.unicodeScalars.first else { return "an element of the suffix is empty" }
            if ("0"..."9").contains(first) { return "'\(element)' starts with a digit" }
            let allowed = element.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
            }
            if !allowed { return "'\(element)' may hold only letters, digits, '_' and '-'" }
        }
        if busName(suffix: suffix).utf8.count > 255 { return "the bus name would be longer than 255 bytes" }
        return nil
    }
}
