import Synchronization

/// What the host offers every output plugin beyond events (the fields appended to
/// `muscaps_plugin_config`): today, the daemon's D-Bus connection, so the dbus output emits its
/// signals from the connection that owns `org.muscaps.Daemon1` (docs/PLUGINS.md says why).
/// Process-wide: one daemon, one bus connection, shared by every output it starts.
public enum PluginHostServices {
    public struct Bus: @unchecked Sendable {
        // @unchecked: a libdbus connection pointer; libdbus locks it for senders on any thread.
        public let connection: UnsafeMutableRawPointer
        public let objectPath: String
        public init(connection: UnsafeMutableRawPointer, objectPath: String) {
            self.connection = connection
            self.objectPath = objectPath
        }
    }

    private static let current = Mutex<Bus?>(nil)

    /// Set once the daemon is on the bus (before its outputs start); nil when it is not.
    public static var bus: Bus? {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}
