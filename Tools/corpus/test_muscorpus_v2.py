"""Unit tests of corpus v2 (about a minute: they run MMA, FluidSynth with FluidR3, Hydrogen kits, pedalboard).

    PYTHONPATH=Tools/corpus .venv-corpus/bin/python -m unittest Tools/corpus/test_muscorpus_v2.py -v

Tests that need the v2 Debian packages or pedalboard are skipped with the reason when those are missing
(`generate.sh --v2` installs them).
"""
import io
import json
import os
import random
import shutil
import sys
import tempfile
import unittest
from contextlib import redirect_stderr

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from muscorpus.v2 import captions as CAP  # noqa: E402
from muscorpus.v2 import compose as C  # noqa: E402
from muscorpus.v2 import realism as R  # noqa: E402

try:
    import pedalboard  # noqa: F401
    HAVE_PEDALBOARD = True
except ImportError:
    HAVE_PEDALBOARD = False
HAVE_MMA = shutil.which("mma") is not None
HAVE_KITS = os.path.isdir("/usr/share/hydrogen/data/drumkits/The Black Pearl 1.0")
HAVE_FLUIDR3 = os.path.exists("/usr/share/sounds/sf2/FluidR3_GM.sf2")


class ComposeTests(unittest.TestCase):
    def test_swing_moves_only_offbeat_eighths(self):
        g = C.Grid(120, swing=1 / 3)
        self.assertAlmostEqual(g.t(0, 1.0), 0.5)
        self.assertAlmostEqual(g.t(0, 1.5), (1 + 2 / 3) * 0.5)   # triplet feel
        self.assertAlmostEqual(g.t(1, 0.25), (4 + 0.25) * 0.5)   # sixteenths untouched
        self.assertAlmostEqual(C.Grid(120).t(0, 1.5), 0.75)

    def test_chart_cycles_progression_in_key(self):
        ch = C.chart([(0, "min"), (8, "maj"), (3, "maj"), (10, "maj")], 9, 6)  # A minor: Am F C G
        self.assertEqual([row[0] for row in ch], [(9, "min"), (5, "maj"), (0, "maj"), (7, "maj"), (9, "min"), (5, "maj")])
        self.assertEqual(C.mma_chord((7, "maj7")), "GM7")
        self.assertEqual(C.mma_chord((10, "m7b5")), "Bbm7b5")

    def test_voicing_has_chord_tones_in_range(self):
        for chord in [(0, "maj"), (9, "m7"), (7, "9"), (2, "5")]:
            v = C.voicing(chord, 48, 76, 60)
            self.assertEqual(sorted({p % 12 for p in v}), sorted(set(C.chord_pcs(chord))))
            self.assertTrue(all(48 <= p <= 76 + 12 for p in v), v)
            self.assertEqual(v, sorted(v))

    def test_basslines_stay_in_range_and_follow_roots(self):
        g = C.Grid(100)
        ch = C.chart([(0, "maj"), (5, "maj"), (7, "7"), (0, "maj")], 4, 8)
        for kind in ["root8", "root_fifth", "walking", "offbeat", "rolling16", "long", "reggae", "funk",
                     "eight_oh_eight", "dnb", "synthpop"]:
            notes = C.bassline(kind, ch, g, random.Random(kind), 8, 28, 52)
            self.assertTrue(notes, kind)
            self.assertTrue(all(24 <= p <= 64 for _, _, p, _ in notes), kind)
            self.assertTrue(all(0 <= t < 8 * g.bar + 1e-9 for t, _, _, _ in notes), kind)
        roots = [n[2] % 12 for n in C.bassline("root8", ch, g, random.Random(1), 8)[::8]]  # 8 eighths a bar
        self.assertEqual(roots, [r[0][0] for r in ch])

    def test_walking_bass_is_quarter_notes(self):
        g = C.Grid(160, swing=1 / 3)
        notes = C.bassline("walking", C.chart(PROG_JAZZ, 0, 4), g, random.Random(3), 4)
        self.assertEqual(len(notes), 16)
        self.assertTrue(all(abs(notes[i + 1][0] - notes[i][0] - g.beat) < 1e-9 for i in range(15)))

    def test_four_on_the_floor_and_backbeat(self):
        g = C.Grid(125)
        hits = C.drums("four_floor", g, random.Random(1), 2, fills=False, crash_every=0)
        kicks = [t for t, n, _ in hits if n == C.K]
        self.assertEqual(len(kicks), 8)
        self.assertTrue(all(abs(kicks[i] - i * g.beat) < 1e-9 for i in range(8)))
        claps = [round(t / g.beat, 6) for t, n, _ in hits if n == C.CL]
        self.assertEqual(claps, [1.0, 3.0, 5.0, 7.0])

    def test_melody_in_range_and_scale(self):
        g = C.Grid(110)
        ch = C.chart([(0, "maj"), (7, "maj"), (9, "min"), (5, "maj")], 2, 8)
        notes = C.melody(ch, g, random.Random(5), 2, "major", 62, 84, "medium", 0, 8)
        self.assertGreater(len(notes), 8)
        d_major = {(2 + s) % 12 for s in C.SCALES["major"]}
        self.assertTrue(all(62 <= p <= 84 and p % 12 in d_major for _, _, p, _ in notes))

    def test_same_seed_same_parts(self):
        a = C.drums("boom_bap", C.Grid(90, 0.15), random.Random("x"), 4, human_ms=5)
        b = C.drums("boom_bap", C.Grid(90, 0.15), random.Random("x"), 4, human_ms=5)
        self.assertEqual(a, b)


PROG_JAZZ = [(2, "m7"), (7, "7"), (0, "maj7"), (0, "maj7")]


class CaptionTests(unittest.TestCase):
    def attrs(self, style="metal", **kw):
        a = {"style": style, "substyle": None, "family": "metal", "tempo_bpm": 170.0, "tempo_band": "very fast",
             "mode": "minor", "features": ["distorted_guitar", "palm_muted_riffs", "double_kick"],
             "instruments": [{"name": "drum kit", "family": "drums", "role": "drums", "source": "hydrogen:ForzeeStereo"},
                             {"name": "distorted electric guitar", "family": "guitar", "role": "comp",
                              "source": "soundfont:musescore:30", "amp": "high_gain"},
                             {"name": "picked bass", "family": "bass", "role": "bass", "source": "soundfont:fluidr3:34"}],
             "production": {"reverb_wet": 0.1}}
        a.update(kw)
        return a

    def test_captions_are_distinct_grounded_and_never_mention_vocals(self):
        for seed in range(40):
            caps = CAP.captions(self.attrs(), f"s{seed}", 3)
            self.assertEqual(len(caps), 3)
            self.assertEqual(len(set(caps)), 3)
            for c in caps:
                toks = CAP.tokens(c)
                self.assertTrue({"metal"} & set(toks), c)
                self.assertFalse({"vocal", "vocals", "voice", "singer", "sung", "singing"} & set(toks), c)
                self.assertTrue(3 <= len(toks) <= 25, c)

    def test_amp_and_drum_source_become_record_vocabulary(self):
        self.assertEqual(CAP.instrument_phrase({"name": "distorted electric guitar", "family": "guitar", "role": "comp", "amp": "high_gain", "source": ""}),
                         "heavily distorted electric guitar")
        self.assertEqual(CAP.instrument_phrase({"name": "drum machine", "family": "drums", "role": "drums", "source": "samplekit:lmms_909"}), "drum machine")
        self.assertEqual(CAP.instrument_phrase({"name": "drum kit", "family": "drums", "role": "drums", "source": "hydrogen:ForzeeStereo"}), "live drums")

    def test_reverb_heavy_only_when_the_send_is_high(self):
        dry = " ".join(c for s in range(30) for c in CAP.captions(self.attrs(), f"d{s}", 4))
        self.assertNotIn("reverb", dry)
        wet = " ".join(c for s in range(30) for c in CAP.captions(self.attrs(production={"reverb_wet": 0.6}), f"d{s}", 4))
        self.assertIn("reverb", wet)


class RealismMathTests(unittest.TestCase):
    def test_frechet_matches_closed_form(self):
        # 1-D: (mu1-mu2)^2 + s1 + s2 - 2 sqrt(s1 s2)
        self.assertAlmostEqual(R.frechet(np.array([0.0]), np.array([[1.0]]), np.array([1.0]), np.array([[4.0]])), 2.0)
        rng = np.random.default_rng(0)
        a = rng.standard_normal((500, 6)) @ rng.standard_normal((6, 6))
        mu, s = R.gaussian(a)
        self.assertAlmostEqual(R.frechet(mu, s, mu, s), 0.0, places=6)
        # diagonal covariances: sum of per-dimension 1-D distances
        s1, s2 = np.diag([1.0, 9.0]), np.diag([4.0, 1.0])
        self.assertAlmostEqual(R.frechet(np.zeros(2), s1, np.array([3.0, 0.0]), s2), 9 + (1 + 4 - 4) + (9 + 1 - 6))

    def test_tag_hits(self):
        self.assertTrue(R.tag_hit(["rock", "loud"], "metal", "mtt") is False)
        self.assertTrue(R.tag_hit(["heavy metal"], "metal", "msd"))
        self.assertIsNone(R.tag_hit(["rock"], "reggae", "msd"))   # no musicnn tag for reggae
        self.assertTrue(R.tag_hit(["Hip-Hop"], "hiphop", "msd"))

    def test_real_set_from_labels_uses_whole_tracks_and_says_what_is_missing(self):
        with tempfile.TemporaryDirectory() as d:
            for f in ("a.ogg", "a@25.wav", "b.wav"):
                open(os.path.join(d, f), "w").close()
            labels = os.path.join(d, "labels.json")
            json.dump({"tracks": [{"id": "a", "family": "metal", "title": "A"}, {"id": "b", "family": "ambient"},
                                  {"id": "c", "family": "rock"}]}, open(labels, "w"))
            err = io.StringIO()
            with redirect_stderr(err):
                real = R.real_from_labels(labels, d)
            self.assertEqual([(os.path.basename(r["path"]), r["family"]) for r in real], [("a.ogg", "metal"), ("b.wav", "ambient")])
            self.assertIn("1 labelled tracks have no audio", err.getvalue())
            with self.assertRaises(SystemExit):
                R.real_from_labels(labels, os.path.join(d, "empty") if os.makedirs(os.path.join(d, "empty")) is None else d)

    def test_safetensors_reader(self):
        with tempfile.TemporaryDirectory() as d:
            x = np.arange(6, dtype="<f4").reshape(2, 3)
            header = json.dumps({"max_pool": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}).encode()
            p = os.path.join(d, "f.safetensors")
            with open(p, "wb") as f:
                f.write(len(header).to_bytes(8, "little") + header + x.tobytes())
            np.testing.assert_array_equal(R.read_safetensors(p, "max_pool"), x)


@unittest.skipUnless(HAVE_MMA, "mma not installed")
class MMATests(unittest.TestCase):
    def test_groove_gives_drums_bass_and_comping(self):
        from muscorpus.v2 import mma
        ch = C.chart([(0, "maj"), (5, "maj"), (7, "7"), (0, "maj")], 4, 4)
        with tempfile.TemporaryDirectory() as d:
            parts = mma.arrange("BasicRock", 120, ch, d, "t")
            self.assertEqual(os.listdir(d), [])  # MMA input and output removed
        self.assertTrue(parts["drums"] and parts["bass"] and parts["comp"])
        self.assertTrue(all(n[0] < 4 * 2.0 + 0.01 for n in parts["bass"]))  # 4 bars at 120 bpm
        self.assertEqual({n[2] % 12 for n in parts["bass"][:2]}, {4})       # first bar's root: E

    def test_unknown_groove_is_a_clear_error(self):
        from muscorpus.v2 import mma
        with tempfile.TemporaryDirectory() as d, self.assertRaises(RuntimeError) as cm:
            mma.arrange("NoSuchGroove", 120, C.chart([(0, "maj")], 0, 2), d, "t")
        self.assertIn("NoSuchGroove", str(cm.exception))


@unittest.skipUnless(HAVE_PEDALBOARD and HAVE_KITS and HAVE_FLUIDR3, "v2 packages (pedalboard, hydrogen-drumkits, FluidR3) missing")
class SoundTests(unittest.TestCase):
    def test_hydrogen_kit_maps_gm_drums_and_renders(self):
        from muscorpus.v2 import sounds
        kit = sounds.HydrogenKit("The Black Pearl 1.0")
        for note in (36, 38, 42, 46, 49, 51):
            self.assertIn(note, kit.map, note)
        self.assertIn("kick", kit.map[36][0].lower())
        x = kit.render([(0.1, 36, 120), (0.5, 38, 40)], 32000)
        self.assertEqual(len(x), 32000)
        self.assertLess(np.abs(x[:int(0.09 * 32000)]).max(), 1e-6)  # silence before the first hit
        self.assertGreater(np.abs(x[3200:4000]).max(), 0.05)

    def test_fluid_renderer_is_bounded_and_stops_every_voice(self):
        from muscorpus.v2 import sounds
        fl = sounds.FluidRenderer()
        n = 32000
        # a note that would ring past the end, and a note-on with no note-off inside the clip
        x = fl.render([(0.0, 5.0, 60, 100), (0.9, 10.0, 64, 100)], n, "fluidr3", 48)
        self.assertEqual(len(x), n)
        self.assertGreater(np.abs(x).max(), 0.01)
        y = fl.render([], n, "fluidr3", 48)  # next stem: nothing may ring over from the previous one
        self.assertLess(np.abs(y).max(), 1e-6)

    def test_drum_kits_render_from_every_drum_soundfont(self):
        from muscorpus.v2 import sounds
        fl = sounds.FluidRenderer()
        for sf, kit in (("avl_black_pearl", 0), ("avl_red_zeppelin", 0), ("fluidr3", 32), ("fluidr3", 99)):
            x = fl.render([(0.05, 36, 110), (0.3, 38, 100)], 16000, sf, kit, drums=True)
            self.assertGreater(np.abs(x).max(), 0.01, (sf, kit))  # 99: no such kit, the standard kit plays

    def test_synth_voice_envelope_and_length(self):
        from muscorpus.v2 import sounds
        x = sounds.synth_voice([(0.0, 0.5, 57, 127)], 32000, {"waves": ["saw"], "adsr": (0.01, 0.1, 0.5, 0.1)}, 1)
        self.assertEqual(len(x), 32000)
        self.assertGreater(np.abs(x[:16000]).max(), 0.3)
        self.assertEqual(np.abs(x[int(0.61 * 32000):]).max(), 0.0)  # released after 0.5 + 0.1 s

    def test_every_style_plans_and_produces_a_clip(self):
        from muscorpus.v2 import production, sounds, styles
        fl = sounds.FluidRenderer()
        real_sfont = sounds.SOUNDFONTS["musescore"]
        sounds.SOUNDFONTS["musescore"] = sounds.SOUNDFONTS["fluidr3"]  # MuseScore's sf3 takes a minute to load
        try:
            with tempfile.TemporaryDirectory() as d:
                for st in styles.STYLES:
                    if not HAVE_MMA:
                        break
                    plan = styles.plan_clip(st, f"test|{st}", 6.0, d)
                    again = styles.plan_clip(st, f"test|{st}", 6.0, d)
                    self.assertEqual(plan.attributes, again.attributes, st)  # seeded: same plan twice
                    self.assertTrue(plan.parts, st)
                    self.assertEqual(plan.attributes["family"], styles.STYLE_FAMILY[st])
                    wav = os.path.join(d, st + ".wav")
                    info = production.produce(plan, fl, 7, wav, d)
                    import wave
                    with wave.open(wav) as w:
                        self.assertEqual((w.getframerate(), w.getnchannels(), w.getnframes()), (16000, 1, 96000))
                    self.assertLess(info["peak_dbfs"], 0.0)
                    self.assertGreater(info["rms_dbfs"], -40.0, st)
                    caps = CAP.captions({**plan.attributes, "production": plan.master}, st, 3)
                    self.assertEqual(len(set(caps)), 3, caps)
        finally:
            sounds.SOUNDFONTS["musescore"] = real_sfont

    def test_augmentation_keeps_length(self):
        from muscorpus.v2 import production
        rng = np.random.default_rng(3)
        x = 0.1 * np.sin(2 * np.pi * 440 * np.arange(48000) / 16000)
        with tempfile.TemporaryDirectory() as d:
            for seed in range(8):
                y, info = production.augment(x.copy(), np.random.default_rng(seed), d, f"a{seed}")
                self.assertEqual(len(y), len(x))
                self.assertEqual(os.listdir(d), [])
        self.assertTrue(np.isfinite(y).all())
        self.assertIsNotNone(rng)

    def test_relevel_draws_real_music_levels_and_never_clips(self):
        from muscorpus.v2 import production
        x = 0.5 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)
        levels = []
        for seed in range(200):
            y, target = production.relevel(x, np.random.default_rng(seed), "rock")
            self.assertLessEqual(np.abs(y).max(), 10 ** (-0.5 / 20) + 1e-9)
            self.assertTrue(-30.0 <= target <= -8.0)
            levels.append(20 * np.log10(np.sqrt(np.mean(y * y))))
        self.assertAlmostEqual(float(np.median(levels)), -18.5, delta=1.0)
        _, quiet = production.relevel(x, np.random.default_rng(0), "ambient")
        _, loud = production.relevel(x, np.random.default_rng(0), "metal")
        self.assertAlmostEqual(loud - quiet, 6.5, places=6)
        spiky = np.zeros(16000)
        spiky[::400] = 1.0  # crest factor 26 dB: the peak cap, not the RMS target, sets its level
        y, _ = production.relevel(spiky, np.random.default_rng(1), "rock")
        self.assertAlmostEqual(np.abs(y).max(), 10 ** (-0.5 / 20), places=6)

    def test_decimation_removes_content_above_8khz(self):
        from muscorpus.v2 import production
        t = np.arange(32000) / 32000
        hi = production.to_16k_mono(np.stack([np.sin(2 * np.pi * 11000 * t)] * 2))
        lo = production.to_16k_mono(np.stack([np.sin(2 * np.pi * 1000 * t)] * 2))
        self.assertEqual(len(hi), 16000)
        self.assertLess(np.abs(hi[200:-200]).max(), 0.01)
        self.assertGreater(np.abs(lo[200:-200]).max(), 0.95)


class GeneratorCLITests(unittest.TestCase):
    def run_main(self, argv):
        from muscorpus.v2 import generate
        err = io.StringIO()
        with redirect_stderr(err), self.assertRaises(SystemExit) as cm:
            generate.main(argv)
        return cm.exception.code, err.getvalue()

    def test_unknown_style_is_rejected(self):
        with tempfile.TemporaryDirectory() as d:
            code, msg = self.run_main(["--out", d + "/c", "--styles", "rock,polka"])
        self.assertEqual(code, 2)
        self.assertIn("unknown style(s) polka", msg)

    def test_non_empty_out_is_kept(self):
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "keep.txt"), "w").write("x")
            code, msg = self.run_main(["--out", d, "--styles", "rock"])
            self.assertEqual(code, 2)
            self.assertIn("not empty", msg)
            self.assertTrue(os.path.exists(os.path.join(d, "keep.txt")))

    def test_zero_clips_rejected(self):
        code, msg = self.run_main(["--out", "/nonexistent/x", "--clips-per-style", "0"])
        self.assertEqual(code, 2)
        self.assertIn("at least 1", msg)

    def test_splits_are_stable_and_roughly_60_20_20(self):
        from muscorpus.v2 import generate
        s = [generate.split_of(f"v2_rock_{i:05d}", 1) for i in range(2000)]
        self.assertEqual(s, [generate.split_of(f"v2_rock_{i:05d}", 1) for i in range(2000)])
        self.assertAlmostEqual(s.count("train") / 2000, 0.6, delta=0.04)
        self.assertAlmostEqual(s.count("test") / 2000, 0.2, delta=0.04)


if __name__ == "__main__":
    unittest.main()
