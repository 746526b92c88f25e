import AudioCapture
import TestServerSupport
import XCTest

/// `--source` strings: every form, defaults, and one-line errors for bad ones.
final class CaptureSpecTests: XCTestCase {
    func testValidSpecs() throws {
        let cases: [(String, CaptureSpec)] = [
            ("pulse", .pulse(source: "@DEFAULT_MONITOR@")),
            ("pulse:alsa_input.usb-mic", .pulse(source: "alsa_input.usb-mic")),
            ("pulse:@DEFAULT_SOURCE@", .pulse(source: "@DEFAULT_SOURCE@")),
            ("jack", .jack(portPattern: "system:capture_*")),
            ("jack:system:capture_1", .jack(portPattern: "system:capture_1")),
            ("jack:ardour:*", .jack(portPattern: "ardour:*")),
            ("jack:jack_simple_client", .jack(portPattern: "jack_simple_client")),
            ("file:song.flac", .file(path: "song.flac", realtime: false, loop: false)),
            ("file:/tmp/a:b.wav:realtime", .file(path: "/tmp/a:b.wav", realtime: true, loop: false)),
            ("file:x.wav:loop:realtime", .file(path: "x.wav", realtime: true, loop: true)),
            ("file:x.wav:realtime:loop", .file(path: "x.wav", realtime: true, loop: true)),
            ("stdin:s16le:48000:2", .stdin(format: .s16le, sampleRate: 48_000, channels: 2)),
            ("stdin:f32le:22050:1", .stdin(format: .f32le, sampleRate: 22_050, channels: 1)),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try CaptureSpec(parsing: text), expected, text)
        }
        XCTAssertEqual(try CaptureSpec(parsing: "pulse").description, "pulse:@DEFAULT_MONITOR@")
        XCTAssertEqual(try CaptureSpec(parsing: "file:x.wav:loop:realtime").description, "file:x.wav:realtime:loop")
        // Round trip.
        for (text, _) in cases {
            let spec = try CaptureSpec(parsing: text)
            XCTAssertEqual(try CaptureSpec(parsing: spec.description), spec)
        }
    }

    func testBadSpecsGiveOneLineErrors() {
        let cases: [(String, String)] = [
            ("", "empty"),
            ("alsa:hw:0", "unknown source type 'alsa'"),
            ("Pulse", "unknown source type 'Pulse'"),
            ("pulse:", "empty PulseAudio source name"),
            ("jack:", "empty JACK port pattern"),
            ("file", "missing path"),
            ("file:", "missing path"),
            ("file::realtime", "missing path before the options"),
            ("file:x.wav:realtime:realtime", "'realtime' given twice"),
            ("stdin", "missing format, rate and channels"),
            ("stdin:s16le:48000", "2 fields after 'stdin:'"),
            ("stdin:s16le:48000:2:x", "4 fields"),
            ("stdin:s24le:48000:2", "unknown sample format 's24le' (supported: s16le, f32le)"),
            ("stdin:s16le:44.1k:2", "sample rate '44.1k'"),
            ("stdin:s16le:100:2", "sample rate '100'"),
            ("stdin:f32le:48000:0", "channel count '0'"),
            ("stdin:f32le:48000:two", "channel count 'two'"),
            ("stdin:s16le:48000:2\nrm -rf", "channel count '2\\nrm -rf'"),
        ]
        for (text, fragment) in cases {
            do {
                let spec = try CaptureSpec(parsing: text)
                XCTFail("'\(text)' parsed as \(spec)")
            } catch let error as CaptureError {
                let message = error.description
                XCTAssertTrue(message.hasPrefix("bad source spec '"), message)
                XCTAssertTrue(message.contains(fragment), "'\(message)' should contain '\(fragment)'")
                XCTAssertFalse(message.contains("\n"), "not one line: \(message)")
            } catch {
                XCTFail("unexpected error \(error)")
            }
        }
    }

    func testUnknownTypeListsTheGrammar() {
        XCTAssertThrowsError(try CaptureSpec(parsing: "mic")) { error in
            XCTAssertTrue("\(error)".contains(CaptureSpec.usage), "\(error)")
        }
    }

    func testSpecsMakeTheRightSources() throws {
        XCTAssertTrue(try CaptureSpec(parsing: "pulse").makeSource() is PulseCaptureSource)
        XCTAssertTrue(try CaptureSpec(parsing: "jack").makeSource() is JackCaptureSource)
        XCTAssertTrue(try CaptureSpec(parsing: "file:x.wav").makeSource() is FileCaptureSource)
        XCTAssertTrue(try CaptureSpec(parsing: "stdin:s16le:8000:1").makeSource() is RawStreamCaptureSource)
        XCTAssertEqual(try CaptureSpec(parsing: "file:x.wav:loop").makeSource().name, "file:x.wav:loop")
        XCTAssertEqual(try CaptureSpec(parsing: "jack").makeSource().state, .idle)
    }
}
