/// Every layer musicnn exposes for one window, in buffers allocated once and reused from window to window.
///
/// The per-frame feature map holds, per frame, the 753 channels `[timbral 408 | temporal 153 | cnn1 64 |
/// cnn2 64 | cnn3 64]`; the named per-frame layers are slices of it.
/// The `[Float]` accessors copy (convenient); the `UnsafeBufferPointer` ones do not (for hot loops) and are
/// valid until the next forward pass or until the output is released.
public final class MusicnnOutput {
    let featureMapStorage: UnsafeMutableBufferPointer<Float>
    let maxPoolStorage: UnsafeMutableBufferPointer<Float>
    let meanPoolStorage: UnsafeMutableBufferPointer<Float>
    let penultimateStorage: UnsafeMutableBufferPointer<Float>
    let taggramStorage: UnsafeMutableBufferPointer<Float>

    public init(tagCount: Int) {
        func zeros(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            buffer.initialize(repeating: 0)
            return buffer
        }
        featureMapStorage = zeros(Musicnn.windowFrames * Musicnn.featureChannels)
        maxPoolStorage = zeros(Musicnn.featureChannels)
        meanPoolStorage = zeros(Musicnn.featureChannels)
        penultimateStorage = zeros(Musicnn.penultimateUnits)
        taggramStorage = zeros(tagCount)
    }

    deinit {
        for buffer in [featureMapStorage, maxPoolStorage, meanPoolStorage, penultimateStorage, taggramStorage] {
            buffer.deallocate()
        }
    }

    /// `[187, 753]` row-major.
    public var featureMapBuffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(featureMapStorage) }
    /// Per channel maximum over time (753): the feature MusCaps uses.
    public var maxPoolBuffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(maxPoolStorage) }
    public var meanPoolBuffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(meanPoolStorage) }
    public var penultimateBuffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(penultimateStorage) }
    public var taggramBuffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(taggramStorage) }

    public var featureMap: [Float] { Array(featureMapStorage) }
    public var maxPool: [Float] { Array(maxPoolStorage) }
    /// Per channel mean over time (753).
    public var meanPool: [Float] { Array(meanPoolStorage) }
    /// The batch-normalised 200-unit dense layer before the classifier.
    public var penultimate: [Float] { Array(penultimateStorage) }
    /// Tag probabilities (sigmoid outputs), in the model's tag order.
    public var taggram: [Float] { Array(taggramStorage) }

    /// A layer's values for this window: per-window layers as a vector, per-frame ones as
    /// `[187, channels]` rows copied out of the feature map.
    public func values(of layer: MusicnnLayer) -> [Float] {
        switch layer {
        case .taggram: return taggram
        case .maxPool: return maxPool
        case .meanPool: return meanPool
        case .penultimate: return penultimate
        case .timbral, .temporal, .cnn1, .cnn2, .cnn3:
            let range = layer.channelRange
            var result = [Float]()
            result.reserveCapacity(Musicnn.windowFrames * range.count)
            for t in 0..<Musicnn.windowFrames {
                let row = t * Musicnn.featureChannels
                result.append(contentsOf: featureMapStorage[(row + range.lowerBound)..<(row + range.upperBound)])
            }
            return result
        }
    }
}

/// Layers of musicnn a user can ask for (`muscaps features --layer`).
public enum MusicnnLayer: String, CaseIterable, Sendable {
    case taggram, maxPool = "max_pool", meanPool = "mean_pool", penultimate
    case timbral, temporal, cnn1, cnn2, cnn3

    /// Where a per-frame layer lives in the feature map.
    public var channelRange: Range<Int> {
        switch self {
        case .timbral: return 0..<408
        case .temporal: return 408..<561
        case .cnn1: return 561..<625
        case .cnn2: return 625..<689
        case .cnn3: return 689..<753
        case .maxPool, .meanPool: return 0..<753
        case .penultimate: return 0..<200
        case .taggram: return 0..<50
        }
    }

    public var isPerFrame: Bool {
        switch self {
        case .timbral, .temporal, .cnn1, .cnn2, .cnn3: return true
        case .taggram, .maxPool, .meanPool, .penultimate: return false
        }
    }
}
