import Foundation

/// Softmax cross-entropy over rows of logits, ignoring rows whose target is `ignoreIndex`
/// (`nn.CrossEntropyLoss(ignore_index=…)` with mean reduction): the loss is the mean of
/// −log softmax(z)[target] over the N counted rows, and dL/dz = (softmax(z) − onehot(target))/N on those
/// rows, 0 on ignored rows.
///
/// With no counted row PyTorch returns NaN (0/0); we return 0 with zero gradient so one degenerate batch
/// cannot poison training.
public enum CrossEntropy {
    public struct Result: Sendable {
        public var loss: Float
        /// Number of rows that counted (targets ≠ ignoreIndex).
        public var count: Int
        /// Σ of the per-row losses (for summing over batches or per-caption log-likelihoods).
        public var sum: Double

        public init(loss: Float, count: Int, sum: Double) {
            self.loss = loss
            self.count = count
            self.sum = sum
        }
    }

    /// Computes the loss and, when `gradient` is given, dL/dlogits (`[rows, classes]`, may alias nothing).
    public static func lossAndGradient(logits: UnsafePointer<Float>, rows: Int, classes: Int, targets: UnsafePointer<Int32>,
                                       ignoreIndex: Int32?, gradient: UnsafeMutablePointer<Float>?) -> Result {
        var count = 0
        for r in 0..<rows where targets[r] != ignoreIndex { count += 1 }
        var sum = 0.0
        let inverseCount = count > 0 ? 1 / Float(count) : 0
        for r in 0..<rows {
            let z = logits + r * classes
            let target = targets[r]
            if target == ignoreIndex {
                gradient?.advanced(by: r * classes).update(repeating: 0, count: classes)
                continue
            }
            precondition(target >= 0 && Int(target) < classes, "target \(target) outside \(classes) classes")
            var maximum = -Float.infinity
            for j in 0..<classes { maximum = max(maximum, z[j]) }
            // exp into the gradient row (or scratch-free: recomputed) in a loop of its own so it vectorises.
            var total: Float = 0
            if let gradient {
                let g = gradient + r * classes
                for j in 0..<classes { g[j] = FastMath.exp(z[j] - maximum) }
                total = MatrixOps.sum(g, count: classes)
                let scale = inverseCount / total
                for j in 0..<classes { g[j] *= scale }
                g[Int(target)] -= inverseCount
            } else {
                for j in 0..<classes { total += FastMath.exp(z[j] - maximum) }
            }
            sum += Double(maximum) + Foundation.log(Double(total)) - Double(z[Int(target)])
        }
        return Result(loss: count > 0 ? Float(sum / Double(count)) : 0, count: count, sum: sum)
    }
}
