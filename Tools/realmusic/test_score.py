"""Unit tests of the real-music scorer: python3 -m unittest discover -s Tools/realmusic"""
import json
import os
import struct
import tempfile
import unittest

import score

HERE = os.path.dirname(os.path.abspath(__file__))


def label(family, instruments=(), ruled_out=()):
    return {"id": "t", "family": family, "evidence": ["test"],
            "instruments": [{"family": f, "grade": g, "evidence": "test"} for f, g in instruments],
            "ruled_out": [{"family": f, "evidence": "test"} for f in ruled_out]}


class ReadingTests(unittest.TestCase):
    reader = score.CaptionReader()

    def test_genres_longest_phrase_first(self):
        self.assertEqual(self.reader.read("Heavy metal with distorted electric guitar")[0], {"metal"})
        # "clog dance" is a folk form, not electronic dance music
        self.assertEqual(self.reader.read("a lively clog dance for fiddle")[0], {"folk"})
        self.assertEqual(self.reader.read("laid-back hip-hop beat")[0], {"hiphop"})
        self.assertEqual(self.reader.read("latin jazz groove")[0], {"latin", "jazz"})
        self.assertEqual(self.reader.read("Slow paced early music mass setting for mixed choir")[0], {"classical"})

    def test_instruments(self):
        genres, instruments = self.reader.read("punchy drums and synth pads under female vocals")
        self.assertEqual(genres, set())
        self.assertEqual(instruments, {"drums", "synth", "voice"})


class JudgeTests(unittest.TestCase):
    reader = score.CaptionReader()

    def test_metal_described_as_a_game_tune_says_nothing_about_genre(self):
        v = score.judge("Bold small band game tune", label("metal"), self.reader)
        self.assertFalse(v["genre_true"])
        self.assertFalse(v["contradiction"])
        self.assertTrue(v["no_genre"])

    def test_game_is_compatible_with_tracker_music(self):
        v = score.judge("Bright and lively video game tune", label("chiptune"), self.reader)
        self.assertTrue(v["genre_true"])
        self.assertFalse(v["no_genre"])

    def test_incompatible_genre_is_a_contradiction(self):
        v = score.judge("Mid tempo celtic traditional tune for trad band", label("electronic"), self.reader)
        self.assertFalse(v["genre_true"])
        self.assertTrue(v["contradiction"])
        self.assertEqual(v["genre_wrong"], ["folk"])

    def test_compatible_genre_is_true(self):
        self.assertTrue(score.judge("driving rock groove", label("metal"), self.reader)["genre_true"])
        self.assertFalse(score.judge("driving rock groove", label("metal"), self.reader)["contradiction"])
        self.assertTrue(score.judge("baroque chorale for strings", label("classical"), self.reader)["genre_true"])

    def test_true_and_wrong_genre_together_count_as_both(self):
        v = score.judge("rock meets celtic folk", label("rock"), self.reader)
        self.assertTrue(v["genre_true"])
        self.assertTrue(v["contradiction"])

    def test_ruled_out_instrument_is_a_contradiction(self):
        lab = label("classical", [("strings", "gold")], ruled_out=["guitar"])
        v = score.judge("classical piece for guitar and strings", lab, self.reader)
        self.assertTrue(v["genre_true"])
        self.assertTrue(v["contradiction"])
        self.assertEqual(v["instrument_wrong"], ["guitar"])
        self.assertEqual((v["named"], v["named_known"], v["named_gold"]), (2, 1, 1))


class ScoreTests(unittest.TestCase):
    def test_rates_precision_and_live_ids(self):
        labels = {"a": dict(label("rock", [("guitar", "gold"), ("drums", "silver")]), id="a"),
                  "b": dict(label("ambient"), id="b")}
        result = score.score([("a", "rock with guitar and drums"), ("a@50", "celtic folk tune with piano"),
                              ("b", "calm game tune"), ("b@25", "ambient synth pads")], labels)
        self.assertEqual(result["captions"], 4)
        self.assertAlmostEqual(result["genre_truth"], 50.0)
        self.assertAlmostEqual(result["contradiction"], 25.0)
        self.assertAlmostEqual(result["no_genre"], 25.0)
        # named: guitar, drums | keyboard | — | synth → 2 of 4 known, 1 of 4 gold
        self.assertAlmostEqual(result["instrument_precision"], 50.0)
        self.assertAlmostEqual(result["instrument_precision_gold"], 25.0)
        self.assertEqual(result["genre_truth_by_family"], {"ambient": 50.0, "rock": 50.0})

    def test_unlabelled_track_is_an_error(self):
        with self.assertRaises(KeyError):
            score.score([("nope", "rock")], {"a": label("rock")})

    def test_no_captions_is_an_error(self):
        with self.assertRaises(ValueError):
            score.score([], {"a": label("rock")})


class LabelsTests(unittest.TestCase):
    def test_committed_labels_meet_the_issue(self):
        labels = score.load_labels(os.path.join(HERE, "labels.json"))
        self.assertGreaterEqual(len(labels), 30)
        self.assertGreaterEqual(len({t["family"] for t in labels.values()}), 8)
        for t in labels.values():
            self.assertTrue(t["package"] and (t.get("file") or t.get("stems") or t.get("module")), t["id"])
            for i in t["instruments"]:
                self.assertIn(i["grade"], ("gold", "silver"))
                self.assertTrue(i["evidence"])
                self.assertIn(i["family"], score.build_lexicon()["families"])

    def test_bad_labels_are_rejected(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "labels.json")
            for tracks, message in (([label("rock"), label("rock")], "duplicate"),
                                    ([label("polka-rave")], "unknown family"),
                                    ([dict(label("rock"), evidence=[])], "no genre evidence")):
                with open(path, "w") as f:
                    json.dump({"tracks": tracks}, f)
                with self.assertRaisesRegex(ValueError, message):
                    score.load_labels(path)


class SilverTests(unittest.TestCase):
    def test_confident_tags_only_strongest_per_family(self):
        found = score.silver_instruments({"guitar": 0.4, "strings": 0.1, "violin": 0.3, "cello": 0.26,
                                          "vocals": 0.24, "rock": 0.9})
        self.assertEqual(found, {"guitar": ("guitar", 0.4), "strings": ("violin", 0.3)})

    def test_cache_path_escapes_like_the_feature_cache(self):
        self.assertTrue(score.cache_path("/d", "musicnn-mtt", "pingus-1@25").endswith("musicnn-mtt/pingus-1%4025.safetensors"))

    def test_reads_float_tensors(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.safetensors")
            header = json.dumps({"taggram": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                                 "__metadata__": {"a": "b"}}).encode()
            with open(path, "wb") as f:
                f.write(struct.pack("<Q", len(header)) + header + struct.pack("<4f", 1, 2, 3, 4))
            self.assertEqual(score.read_safetensors(path), {"taggram": ([2, 2], [1.0, 2.0, 3.0, 4.0])})


if __name__ == "__main__":
    unittest.main()
