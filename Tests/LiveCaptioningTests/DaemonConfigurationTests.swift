import Foundation
import XCTest
@testable import LiveCaptioning

final class DaemonConfigurationTests: XCTestCase {
    func testEveryKeyIsRead() throws {
        let text = """
        # muscapsd.toml
        source = "jack:system:capture_*"
        outputs = ["stdout:json", "file:/tmp/captions.vtt"]
        extractor = "hcnn"
        model = "msd"
        weights = "/models/hcnn/HCNN_MTT.safetensors"
        captioner = "/models/default.safetensors"
        hop = 0.5
        context = 12
        silence_threshold = -55.5
        beam = 5
        top_tags = 3
        loop = true
        queue_size = 8
        plugin_path = "/opt/plugins"
        bus = "system"
        bus_name_suffix = "studio_a"
        """
        let configuration = try DaemonConfiguration.parse(text, path: "muscapsd.toml")
        XCTAssertEqual(configuration.source, "jack:system:capture_*")
        XCTAssertEqual(configuration.outputs, ["stdout:json", "file:/tmp/captions.vtt"])
        XCTAssertEqual(configuration.extractor, "hcnn")
        XCTAssertEqual(configuration.model, "msd")
        XCTAssertEqual(configuration.weights, "/models/hcnn/HCNN_MTT.safetensors")
        XCTAssertEqual(configuration.captioner, "/models/default.safetensors")
        XCTAssertEqual(configuration.hop, 0.5)
        XCTAssertEqual(configuration.context, 12)
        XCTAssertEqual(configuration.silenceThreshold, -55.5)
        XCTAssertEqual(configuration.beam, 5)
        XCTAssertEqual(configuration.topTags, 3)
        XCTAssertTrue(configuration.loop)
        XCTAssertEqual(configuration.queueSize, 8)
        XCTAssertEqual(configuration.pluginPath, ["/opt/plugins"])
        XCTAssertEqual(configuration.bus, "system")
        XCTAssertEqual(configuration.busNameSuffix, "studio_a")
        XCTAssertEqual(Set(DaemonConfiguration.keys).count, 16)
    }

    func testAnUnknownBusIsAnErrorWithItsLineNumber() {
        XCTAssertThrowsError(try DaemonConfiguration.parse("hop = 1\nbus = \"dbus\"\n", path: "d.toml")) { error in
            XCTAssertEqual("\(error)", "d.toml:2: bus must be session, system or none, got 'dbus'")
        }
        XCTAssertThrowsError(try DaemonConfiguration.parse("bus = true\n", path: "d.toml")) { error in
            XCTAssertEqual("\(error)", "d.toml:1: 'bus' must be a string")
        }
    }

    func testUnknownKeyIsAnErrorWithItsLineNumber() {
        let text = "source = \"pulse\"\n\nhopp = 2\n"
        XCTAssertThrowsError(try DaemonConfiguration.parse(text, path: "d.toml")) { error in
            XCTAssertEqual("\(error)".prefix(9), "d.toml:3:")
            XCTAssertTrue("\(error)".contains("unknown key 'hopp'"), "\(error)")
        }
        XCTAssertThrowsError(try DaemonConfiguration.parse("[output]\nname = 1\n", path: "d.toml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("d.toml:1: unknown key 'output'"), "\(error)")
        }
    }

    func testWrongTypesRangesAndSyntaxErrorsNameTheLine() {
        let cases: [(String, String)] = [
            ("source = \"pulse\"\nhop = \"fast\"\n", "d.toml:2: 'hop' must be a number"),
            ("beam = 2.5\n", "d.toml:1: 'beam' must be an integer"),
            ("hop = -1\n", "d.toml:1: hop must be between 0 and 60"),
            ("loop = 1\n", "d.toml:1: 'loop' must be true or false"),
            ("outputs = [1, 2]\n", "d.toml:1: 'outputs' must be a list of strings"),
            ("outputs = []\n", "d.toml:1: at least one output"),
            ("beam = 17\n", "d.toml:1: beam must be between 1 and 16, got 17"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try DaemonConfiguration.parse(text, path: "d.toml")) { error in
                XCTAssertTrue("\(error)".hasPrefix(expected), "\(error) ≠ \(expected)")
            }
        }
        XCTAssertThrowsError(try DaemonConfiguration.parse("source = \"pulse\"\nhop = = 1\n", path: "d.toml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("d.toml:2:"), "\(error)")
        }
    }

    func testMissingFileAndDefaults() throws {
        XCTAssertThrowsError(try DaemonConfiguration.load(path: "/nonexistent/muscapsd.toml")) { error in
            XCTAssertEqual("\(error)", "/nonexistent/muscapsd.toml: no such file")
        }
        XCTAssertEqual(try DaemonConfiguration.parse("", path: "empty.toml"), DaemonConfiguration())
        XCTAssertNoThrow(try DaemonConfiguration().validate())
    }
}
