"""Unit tests of the corpus generator (seconds; no rendering).

    PYTHONPATH=Tools/corpus .venv-corpus/bin/python -m unittest discover -s Tools/corpus -v
"""
import os
import random
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from muscorpus import arrange as ARR  # noqa: E402
from muscorpus import captions as CAP  # noqa: E402
from muscorpus import generate as GEN  # noqa: E402
from muscorpus import scoreparse as SP  # noqa: E402
from muscorpus import smf  # noqa: E402
from muscorpus import theory as T  # noqa: E402

ABC = """X:1
T:Test Reel
M:2/4
L:1/16
R:reel
K:Gm
|:G2AB c2d2|e2f2 g4|f2e2 d2c2|B2A2 G4:|
"""


def fake_attrs(**kw):
    a = {
        "category": "folk", "arrangement": "groove", "groove": "rock",
        "instruments": [{"program": 29, "name": "overdriven_guitar", "family": "guitar", "role": "melody"},
                        {"program": 30, "name": "distorted_guitar", "family": "guitar", "role": "harmony"},
                        {"program": 34, "name": "picked_bass", "family": "bass", "role": "bass"},
                        {"program": None, "name": "drums", "family": "drums", "role": "drums"}],
        "families": ["bass", "drums", "guitar"], "ensemble": "band", "ensemble_size": 4, "tempo_bpm": 128.0,
        "tempo_band": "fast", "meter": "4/4", "meter_class": "quadruple", "key": "E minor", "tonic": "E",
        "mode": "minor", "mode_class": "minor", "dynamics": "ff", "dynamics_profile": "steady",
        "register": "mid", "texture": "homophonic", "space": "dry",
        "source": {"collection": "oneills1850", "style": "irish", "era": "traditional", "form": "reel"},
    }
    a.update(kw)
    return a


class TestSMF(unittest.TestCase):
    def test_roundtrip(self):
        tr = smf.Track(channel=0, program=40)
        tr.note(0.0, 0.5, 60, 80)
        tr.note(0.5, 1.25, 64, 90)
        dr = smf.Track(channel=9, program=None)
        dr.note(0.25, 0.1, 36, 100)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "t.mid")
            smf.write_smf(p, [tr, dr], 3.0)
            mf = smf.read_smf(p)
        got = [(round(n.t, 3), round(n.dur, 3), n.pitch, n.vel, n.channel, n.program) for n in mf.notes]
        self.assertEqual(got, [(0.0, 0.5, 60, 80, 0, 40), (0.25, 0.1, 36, 100, 9, 0), (0.5, 1.25, 64, 90, 0, 40)])


class TestTheory(unittest.TestCase):
    def test_meters(self):
        self.assertEqual(T.meter_info(6, 8)["class"], "compound")
        self.assertEqual(T.meter_info(6, 8)["beat_q"], 1.5)
        self.assertEqual(T.meter_info(3, 4)["class"], "triple")
        self.assertEqual(T.meter_info(2, 2)["beat_q"], 2.0)
        self.assertEqual(T.meter_info(7, 8)["class"], "irregular")

    def test_key_profile(self):
        scale = [(i, 1.0, p) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60])]
        tonic, mode, _ = T.estimate_key(T.pc_histogram(scale))
        self.assertEqual((tonic, mode), (0, "major"))
        # one flat in the signature: only F major / D minor are candidates
        tonic, mode, _ = T.estimate_key(T.pc_histogram([(0, 2, 62), (2, 1, 65), (3, 1, 69), (4, 2, 62)]), -1)
        self.assertEqual((tonic, mode), (2, "minor"))

    def test_harmonize_cadence(self):
        notes = [(0, 1, 60), (1, 1, 64), (2, 1, 67), (3, 1, 64), (4, 1, 62), (5, 1, 67), (6, 1, 71), (7, 1, 67),
                 (8, 4, 60)]
        ch = T.harmonize(notes, [(0, 4), (4, 8), (8, 12)], 0, "major")
        self.assertEqual([c[4] for c in ch], [0, 4, 0])  # I V I

    def test_abc_key(self):
        self.assertEqual(SP.abc_key("K:Gm\n"), (7, "minor"))
        self.assertEqual(SP.abc_key("K: Dmix\n"), (2, "mixolydian"))
        self.assertEqual(SP.abc_key("K:Bb\n"), (10, "major"))
        self.assertEqual(SP.humdrum_key("*G:mix\n"), (7, "mixolydian"))


class TestCaptions(unittest.TestCase):
    def test_references(self):
        used = set()
        for seed in range(50):
            caps = CAP.make_captions(fake_attrs(), random.Random(seed), 3, used)
            self.assertEqual(len(caps), 3)
            self.assertEqual(len({c.lower() for c in caps}), 3)
            for c in caps:
                toks = CAP.tokenize(c)
                self.assertTrue(3 <= len(toks) <= 22, c)
                self.assertNotIn("major", toks, c)  # the clip is in a minor key
                self.assertNotIn("solo", toks, c)   # and is not a solo
                used.add(c.lower())

    def test_solo_minor(self):
        a = fake_attrs(arrangement="solo", groove="none", ensemble="solo", ensemble_size=1, texture="monophonic",
                       instruments=[{"program": 0, "name": "piano", "family": "keyboard", "role": "melody"}],
                       families=["keyboard"], tempo_band="slow", dynamics="p", meter_class="triple",
                       source={"collection": "x", "style": None, "era": "romantic", "form": "waltz"})
        caps = CAP.make_captions(a, random.Random(1), 5, set())
        self.assertEqual(len(caps), 5)
        for c in caps:
            toks = CAP.tokenize(c)
            for bad in ("drums", "band", "rock", "fast", "loud", "orchestra"):
                self.assertNotIn(bad, toks, c)

    def test_tokenize(self):
        self.assertEqual(CAP.tokenize("Laid-back hip-hop, in E flat!"), ["laid", "back", "hip", "hop", "in", "e", "flat"])


class TestPlanning(unittest.TestCase):
    def test_splits_by_group(self):
        works = []
        for i in range(300):
            g = f"g{i // 3}"  # three works per group
            works.append({"wid": f"w{i}", "category": "folk" if i % 2 else "chorale", "group": g})
        GEN.assign_splits(works, 7)
        by_group = {}
        for w in works:
            by_group.setdefault(w["group"], set()).add(w["split"])
        self.assertTrue(all(len(v) == 1 for v in by_group.values()))
        n = {s: sum(1 for w in works if w["split"] == s) for s in GEN.SPLITS}
        self.assertAlmostEqual(n["train"] / 300, 0.6, delta=0.05)
        works2 = [dict(w, split=None) for w in works]
        GEN.assign_splits(works2, 7)
        self.assertEqual([w["split"] for w in works], [w["split"] for w in works2])

    def test_largest_remainder(self):
        self.assertEqual(sum(GEN.largest_remainder(6000, GEN.CATEGORY_SHARE).values()), 6000)
        self.assertEqual(GEN.largest_remainder(5, {"a": 0.6, "b": 0.2, "c": 0.2}), {"a": 3, "b": 1, "c": 1})


class TestArrange(unittest.TestCase):
    def test_abc_arrangements(self):
        try:
            import music21  # noqa: F401
        except ImportError:
            self.skipTest("music21 not installed (run in .venv-corpus)")
        work = {"wid": "t", "category": "folk", "collection": "test", "format": "abc", "abc_text": ABC,
                "style": "irish", "era": "traditional", "form": "reel"}
        piece = SP.parse_work(work)
        self.assertEqual(piece["key_notated"], (7, "minor"))
        self.assertEqual(piece["repeats"], "expanded")
        for style in ("solo", "solo_piano", "folk_band", "chamber", "orchestra", "groove"):
            a = ARR.arrange_score(piece, work, random.Random(3), 30.0, 0, 1, style_override=style)
            at = a["attributes"]
            self.assertEqual(at["arrangement"], style)
            self.assertEqual(at["mode_class"], "minor")
            self.assertGreater(at["n_notes"], 20)
            self.assertEqual(at["loops"] > 0, True)  # an 8-bar reel must loop to fill 30 s
            ends = [e[0] for t in a["tracks"] for e in t.events]
            self.assertLess(max(ends), a["end_s"] + 1.5)
            if style == "groove":
                self.assertIn("drums", at["families"])
                self.assertEqual(at["ensemble"], "band")



class AttributeAccuracyTests(unittest.TestCase):
    LEXICON = {
        "tokenizer": "lowercase",
        "families": {"keyboard": ["piano"], "drums": ["drums", "steady drums"], "strings": ["strings", "orchestra"]},
        "tempo_band": {"slow": ["slow"], "very slow": ["very slow", "slow"], "medium": ["steady"], "fast": ["upbeat"]},
        "mode": {"major": ["in a major key"], "minor": ["in a minor key"]},
        "ensemble": {"solo": ["solo"], "trio": ["trio"], "quartet": ["quartet"], "ensemble": ["ensemble"],
                     "orchestra": ["orchestra"]},
        "groove": {"rock": ["rock"], "folk": ["folk"]},
        "form": {"string quartet": ["string quartet"]},
    }

    def attrs(self, **kw):
        base = {"families": ["keyboard"], "tempo_band": "slow", "mode": "major", "ensemble": "solo", "groove": "none"}
        base.update(kw)
        return base

    def test_longest_phrase_wins_across_attributes(self):
        from muscorpus import attributes as AT
        m = AT.Matcher(self.LEXICON)
        found = m.statements("Steady drums and a string quartet, very slow")
        self.assertEqual(found["families"], [{"drums"}])
        self.assertNotIn("ensemble", found)          # "string quartet" is a form phrase
        self.assertEqual(found["tempo_band"], [{"very slow"}])
        self.assertNotIn("groove", m.statements("a folk tune"))   # "folk" is not a statement
        self.assertEqual(m.statements("small ensemble")["ensemble"], [set(AT.GENERIC[("ensemble", "ensemble")])])

    def test_accuracy_counts_right_wrong_and_unstated(self):
        from muscorpus import attributes as AT
        attrs = {"a": self.attrs(), "b": self.attrs(tempo_band="fast", families=["drums", "strings"]), "c": self.attrs()}
        captions = [("a", "slow solo piano in a major key"),       # all right
                    ("b", "slow orchestra with drums"),             # tempo wrong; families both right
                    ("c", "music")]                                 # states nothing
        r = AT.evaluate(captions, attrs, self.LEXICON)
        self.assertEqual(r["tempo_band"]["stated"], 2)
        self.assertEqual(r["tempo_band"]["right"], 1)
        self.assertAlmostEqual(r["tempo_band"]["accuracy"], 0.5)
        self.assertEqual(r["mode"]["stated"], 1)
        self.assertEqual(r["mode"]["accuracy"], 1.0)
        self.assertEqual(r["families"]["named"], 3)
        self.assertEqual(r["families"]["right_names"], 3)
        self.assertAlmostEqual(r["families"]["recall"], 3 / 4)
        self.assertAlmostEqual(r["ensemble"]["stated_rate"], 2 / 3)
        self.assertEqual(r["ensemble"]["right"], 1)     # "orchestra" for a solo clip is wrong


if __name__ == "__main__":
    unittest.main()
