import Foundation
import NeuralCore
import XCTest
@testable import Captioning

final class TrainingLoopTests: XCTestCase {
    func testEveryVariantOverfitsATinySetAndDecodesItsCaptions() throws {
        for variant in CaptioningConfiguration.Variant.allCases {
            let start = Date()
            let (model, vocabulary, state) = try TinyCaptioning.trained(variant)
            let losses = state.history.map(\.trainLoss)
            print(variant, losses.prefix(3), losses.suffix(3), Date().timeIntervalSince(start))
            XCTAssertLessThan(losses.last!, 0.2 * losses.first!, "\(variant): loss did not fall")
            let corpus = TinyCaptioning.corpus()
            let greedy = try GreedyDecoder(model: model, maxTracks: 4).decode(corpus.features)
            XCTAssertEqual(greedy.map { $0.words(vocabulary) }, TinyCaptioning.captions, "\(variant)")
        }
    }
}
