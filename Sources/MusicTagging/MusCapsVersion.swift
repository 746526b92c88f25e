import NeuralCore

/// The release version, shared by both executables.
public enum MusCapsVersion {
    public static let string = "0.1.0"
    /// What `--version` prints: the version, then the BLAS kernels this process runs (loads OpenBLAS).
    public static var withBLASKernel: String { "\(string)\nBLAS: \(BLAS.kernelDescription)" }
}
