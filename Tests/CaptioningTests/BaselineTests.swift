@testable import Captioning
import NeuralCore
import XCTest

final class BaselineTests: XCTestCase {
    // MARK: nearest neighbour

    /// Three training tracks in 3-d; dimension 0 has a huge range (like musicnn's loudest channels), so
    /// without standardisation it would decide every match on its own.
    private func trainingCorpus() -> CaptionCorpus {
        let rows: [[Float]] = [[0, 0, 1], [100, 1, 0], [50, 0, 0]]
        return CaptionCorpus(trackIds: ["a", "b", "c"],
                             features: rows.map { Tensor(shape: [2, 3], scalars: $0 + $0) },
                             pairs: [.init(track: 0, tokens: ["soft", "piano"]), .init(track: 1, tokens: ["loud", "drums"]),
                                     .init(track: 2, tokens: ["slow", "strings"]), .init(track: 0, tokens: ["second", "caption"])])
    }

    func testNearestNeighbourStandardisesAndReturnsTheFirstCaption() throws {
        let nn = try NearestNeighbourCaptioner(training: trainingCorpus())
        XCTAssertEqual(nn.captions, [["soft", "piano"], ["loud", "drums"], ["slow", "strings"]])
        // Exactly a training track → that track.
        for (i, row) in [[Float(0), 0, 1], [100, 1, 0], [50, 0, 0]].enumerated() {
            XCTAssertEqual(try nn.nearest(Tensor(shape: [1, 3], scalars: row)), i)
        }
        // Raw Euclidean distance would pick "c" (|60-50| is small next to |60-100|); standardised, the
        // small dimensions 1 and 2 count as much, and they match "b".
        XCTAssertEqual(try nn.caption(Tensor(shape: [1, 3], scalars: [60, 1, 0])), ["loud", "drums"])
        // The chunks are averaged first: chunks [0, 0, 1] and [100, 0, 0] give [50, 0, 0.5], which after
        // standardising points the way of "a" (cosine 0.63) more than of "c" (0.32).
        XCTAssertEqual(try nn.nearest(Tensor(shape: [2, 3], scalars: [0, 0, 1, 100, 0, 0])), 0)
    }

    func testNearestNeighbourRejectsWrongShapesAndEmptyTraining() {
        XCTAssertThrowsError(try NearestNeighbourCaptioner(training: CaptionCorpus(trackIds: [], features: [], pairs: [])))
        let nn = try! NearestNeighbourCaptioner(training: trainingCorpus())
        XCTAssertThrowsError(try nn.nearest(Tensor(shape: [1, 4], scalars: [0, 0, 0, 0]))) {
            XCTAssertTrue("\($0)".contains("features must be [chunks, 3]"), "\($0)")
        }
        XCTAssertThrowsError(try nn.nearest(Tensor(shape: [0, 3], scalars: [])))
    }

    func testConstantDimensionsDoNotBreakTheDistance() throws {
        let corpus = CaptionCorpus(trackIds: ["a", "b"], features: [Tensor(shape: [1, 2], scalars: [5, 0]), Tensor(shape: [1, 2], scalars: [5, 1])],
                                   pairs: [.init(track: 0, tokens: ["x"]), .init(track: 1, tokens: ["y"])])
        let nn = try NearestNeighbourCaptioner(training: corpus)
        XCTAssertEqual(try nn.caption(Tensor(shape: [1, 2], scalars: [7, 0.9])), ["y"])
        XCTAssertEqual(try nn.caption(Tensor(shape: [1, 2], scalars: [7, 0.1])), ["x"])
    }

    // MARK: tag template

    func testTemplateSortsTagsIntoSlots() {
        XCTAssertEqual(TagTemplateCaptioner.compose(["guitar", "classical", "slow", "strings", "piano"]).joined(separator: " "),
                       "slow classical music with guitar strings and piano")
        XCTAssertEqual(TagTemplateCaptioner.compose(["techno", "electronic", "beat", "fast", "dance"]).joined(separator: " "),
                       "fast techno music with beat")
        XCTAssertEqual(TagTemplateCaptioner.compose(["piano"]).joined(separator: " "), "music with piano")
        XCTAssertEqual(TagTemplateCaptioner.compose(["female", "pop", "vocal", "no vocals"]).joined(separator: " "),
                       "pop music with vocals", "the more probable of vocals / no vocals wins")
        XCTAssertEqual(TagTemplateCaptioner.compose(["no vocals", "quiet", "female"]).joined(separator: " "),
                       "instrumental quiet music")
        XCTAssertEqual(TagTemplateCaptioner.compose(["80s", "classic", "choral"]).joined(separator: " "), "classical music with choir")
        XCTAssertEqual(TagTemplateCaptioner.role(of: "Progressive rock"), .genre("progressive rock"))
        XCTAssertEqual(TagTemplateCaptioner.role(of: "Hip-Hop"), .genre("hip hop"))
    }

    func testTemplateUsesTheMeanOverWindows() throws {
        let captioner = try TagTemplateCaptioner(tags: ["piano", "rock", "slow", "drums"], tagCount: 2)
        // Window 1 says rock+drums, window 2 piano+slow strongly; the mean ranks piano (0.5) and slow
        // (0.45) above rock (0.4) and drums (0.35).
        let taggram = Tensor(shape: [2, 4], scalars: [0.1, 0.8, 0.1, 0.7, 0.9, 0.0, 0.8, 0.0])
        XCTAssertEqual(try captioner.caption(taggram: taggram), ["slow", "music", "with", "piano"])
        XCTAssertThrowsError(try captioner.caption(taggram: Tensor(shape: [1, 3], scalars: [0, 0, 0])))
        XCTAssertThrowsError(try captioner.caption(taggram: Tensor(shape: [1, 4], scalars: [0, .nan, 0, 0]))) {
            XCTAssertTrue("\($0)".contains("non-finite"), "\($0)")
        }
        XCTAssertThrowsError(try TagTemplateCaptioner(tags: [], tagCount: 5))
        XCTAssertThrowsError(try TagTemplateCaptioner(tags: ["a"], tagCount: 0))
    }
}
