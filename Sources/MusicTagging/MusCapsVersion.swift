/// The release version, shared by both executables.
public enum MusCapsVersion {
    public static let string = "0.1.0"
}
