"""Genre plans of corpus v2: for each style, the arrangement (MMA groove or programmed patterns), the
instruments (soundfont program, recorded kit, samples or synth patch), the per-part processing and the
attributes the captions are built from.

`plan_clip(style, seed, seconds, workdir)` returns a `ClipPlan`; nothing is rendered here.
"""
from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field

from . import compose as C
from . import mma
from .sounds import SAMPLE_KITS, SONIC_PI_DIR, LMMS_DIR

# style -> genre family (the unit of the realism measurement and of the real-music validation set)
STYLE_FAMILY = {
    "rock": "rock", "punk": "rock", "metal": "metal", "blues": "blues", "jazz": "jazz", "funk_soul": "funk_soul",
    "reggae_ska": "reggae", "latin": "latin", "pop": "pop", "hiphop": "hiphop", "edm": "electronic",
    "dnb": "electronic", "synthpop": "electronic", "chiptune": "chiptune", "ambient": "ambient",
    "orchestral": "classical", "piano": "classical", "acoustic": "folk",
}
STYLES = list(STYLE_FAMILY)

ACOUSTIC_KITS = ["The Black Pearl 1.0", "ForzeeStereo", "Millo_MultiLayered2", "ColomboAcousticDrumkit",
                 "Audiophob", "BJA_Pacific"]
AVL_KITS = ["avl_black_pearl", "avl_red_zeppelin"]

GM = {0: "piano", 2: "electric grand piano", 4: "electric piano", 5: "electric piano", 7: "clavinet",
      11: "vibraphone", 14: "tubular bells", 16: "organ", 17: "organ", 18: "rock organ", 19: "church organ",
      21: "accordion", 22: "harmonica", 24: "nylon-string guitar", 25: "acoustic guitar", 26: "jazz guitar",
      27: "clean electric guitar", 28: "muted electric guitar", 29: "overdriven guitar", 30: "distorted guitar",
      32: "upright bass", 33: "electric bass", 34: "picked bass", 35: "fretless bass", 36: "slap bass",
      37: "slap bass", 38: "synth bass", 40: "violin", 42: "cello", 43: "double bass", 44: "tremolo strings",
      45: "pizzicato strings", 46: "harp", 47: "timpani", 48: "strings", 49: "strings", 50: "synth strings",
      56: "trumpet", 57: "trombone", 58: "tuba", 60: "french horn", 61: "brass section", 64: "soprano sax",
      65: "alto sax", 66: "tenor sax", 67: "baritone sax", 68: "oboe", 71: "clarinet", 73: "flute",
      75: "pan flute", 80: "square lead", 81: "saw lead", 88: "new age pad", 89: "warm pad", 90: "polysynth pad",
      91: "choir pad", 92: "bowed pad", 94: "halo pad", 95: "sweep pad", 108: "kalimba", 12: "marimba",
      13: "xylophone", 3: "honky-tonk piano", 1: "bright piano", 6: "harpsichord", 8: "celesta", 9: "glockenspiel",
      10: "music box", 15: "dulcimer", 20: "reed organ", 23: "bandoneon", 31: "guitar harmonics", 39: "synth bass",
      41: "viola", 52: "choir", 53: "voice", 54: "voice", 55: "orchestra hit", 59: "muted trumpet", 62: "synth brass",
      63: "synth brass", 69: "english horn", 70: "bassoon", 72: "piccolo", 74: "recorder", 76: "bottle", 77: "shakuhachi",
      78: "whistle", 79: "ocarina", 82: "calliope", 83: "chiff lead", 84: "charang", 85: "voice lead", 86: "fifths lead",
      87: "bass and lead", 93: "metallic pad"}
FAMILY_OF = lambda p: ("keyboard" if p < 8 else "mallet" if p < 16 else "organ" if p < 21 else "accordion" if p < 24
                       else "guitar" if p < 32 else "bass" if p < 40 else "strings" if p < 52 else "voice" if p < 56
                       else "brass" if p < 64 else "woodwind" if p < 80 else "synth")


@dataclass
class Part:
    role: str                     # drums, bass, comp, lead, pad, arp, perc, texture
    instrument: str               # caption-facing name
    family: str                   # guitar, bass, keyboard, organ, synth, drums, brass, woodwind, strings, ...
    source: str                   # sf | hydrogen | samplekit | synth | loop | noise | oneshots
    notes: list = field(default_factory=list)
    sfont: str = ""
    program: int = 0
    drums: bool = False
    kit: str = ""
    patch: dict | None = None
    loop: tuple | None = None     # (path, source_bpm, gain)
    fx: dict = field(default_factory=dict)


@dataclass
class ClipPlan:
    style: str
    seconds: float
    parts: list
    attributes: dict
    master: dict


def _tempo_band(bpm):
    return "very slow" if bpm < 60 else "slow" if bpm < 80 else "medium" if bpm < 108 else "fast" if bpm < 136 else "very fast"


AMP_NAME = {"clean": "clean electric guitar", "crunch": "overdriven electric guitar", "high_gain": "distorted electric guitar"}


def _sfpart(role, program, notes, rng, sfont=None, **fx):
    sf = sfont or rng.choice(["musescore", "musescore", "fluidr3"])
    name = AMP_NAME[fx["amp"]] if fx.get("amp") and 24 <= program <= 31 else GM.get(program, "instrument")
    return Part(role, name, FAMILY_OF(program), "sf", notes, sf, program, fx=fx)


def _kit_part(notes, rng, kinds=("hydrogen", "avl", "sf"), gs_kits=(0,)):
    """gs_kits: GS drum-kit presets tried when a General-MIDI soundfont plays the drums."""
    kind = rng.choice(kinds)
    if kind == "hydrogen":
        return Part("drums", "drum kit", "drums", "hydrogen", notes, kit=rng.choice(ACOUSTIC_KITS), fx={})
    if kind == "avl":
        return Part("drums", "drum kit", "drums", "sf", notes, sfont=rng.choice(AVL_KITS), drums=True)
    return Part("drums", "drum kit", "drums", "sf", notes, sfont=rng.choice(["musescore", "fluidr3"]), drums=True,
                program=rng.choice(gs_kits))


def _bars(seconds, grid):
    return int(math.ceil(seconds / grid.bar)) + 1


def _key(rng, minor_share=0.5):
    return rng.randrange(12), ("minor" if rng.random() < minor_share else "major")


# progressions as (semitones above the tonic, quality), one entry per chord slot
PROG = {
    "rock_major": [[(0, "maj"), (10, "maj"), (5, "maj"), (0, "maj")], [(0, "maj"), (7, "maj"), (9, "min"), (5, "maj")],
                   [(0, "maj"), (5, "maj"), (7, "maj"), (5, "maj")], [(0, "5"), (3, "5"), (5, "5"), (0, "5")]],
    "rock_minor": [[(0, "min"), (8, "maj"), (10, "maj"), (0, "min")], [(0, "min"), (5, "min"), (8, "maj"), (7, "maj")],
                   [(0, "5"), (10, "5"), (8, "5"), (10, "5")]],
    "metal": [[(0, "5"), (1, "5"), (0, "5"), (10, "5")], [(0, "5"), (8, "5"), (10, "5"), (0, "5")],
              [(0, "5"), (3, "5"), (5, "5"), (6, "5")], [(0, "5"), (0, "5"), (8, "5"), (7, "5")]],
    "pop": [[(0, "maj"), (7, "maj"), (9, "min"), (5, "maj")], [(9, "min"), (5, "maj"), (0, "maj"), (7, "maj")],
            [(0, "maj"), (9, "min"), (5, "maj"), (7, "maj")], [(5, "maj"), (0, "maj"), (7, "maj"), (9, "min")]],
    "minor_pop": [[(0, "min"), (8, "maj"), (3, "maj"), (10, "maj")], [(0, "min"), (3, "maj"), (10, "maj"), (8, "maj")],
                  [(0, "min"), (10, "maj"), (8, "maj"), (7, "maj")]],
    "blues": [[(0, "7")] * 4 + [(5, "7")] * 2 + [(0, "7")] * 2 + [(7, "7"), (5, "7"), (0, "7"), (7, "7")]],
    "jazz": [[(2, "m7"), (7, "7"), (0, "maj7"), (0, "maj7")], [(2, "m7"), (7, "7"), (0, "maj7"), (9, "7")],
             [(0, "maj7"), (9, "m7"), (2, "m7"), (7, "7")], [(4, "m7"), (9, "7"), (2, "m7"), (7, "7")]],
    "jazz_minor": [[(2, "m7b5"), (7, "7"), (0, "m7"), (0, "m7")], [(0, "m7"), (5, "m7"), (2, "m7b5"), (7, "7")]],
    "funk": [[(0, "m7")] * 3 + [(5, "9")], [(0, "9"), (0, "9"), (5, "9"), (0, "9")], [(0, "m7"), (5, "7"), (0, "m7"), (5, "7")]],
    "reggae": [[(0, "maj"), (5, "maj"), (7, "maj"), (5, "maj")], [(0, "min"), (5, "min"), (0, "min"), (10, "maj")],
               [(0, "maj"), (0, "maj"), (5, "maj"), (7, "maj")]],
    "bossa": [[(0, "maj7"), (0, "maj7"), (2, "m7"), (7, "7")], [(2, "m7"), (7, "7"), (0, "maj7"), (9, "m7")],
              [(0, "maj7"), (2, "7"), (2, "m7"), (7, "7")]],
    "salsa": [[(0, "min"), (5, "min"), (7, "7"), (5, "min")], [(0, "maj"), (5, "maj"), (7, "7"), (5, "maj")]],
    "edm": [[(0, "min"), (8, "maj"), (3, "maj"), (10, "maj")], [(0, "min"), (0, "min"), (8, "maj"), (10, "maj")],
            [(0, "m7"), (0, "m7"), (5, "m7"), (5, "m7")], [(0, "min"), (10, "maj"), (8, "maj"), (10, "maj")]],
    "house": [[(0, "m7"), (5, "9")], [(0, "maj7"), (2, "m7")], [(0, "m9"), (5, "m9")], [(9, "m7"), (2, "m7"), (7, "7"), (0, "maj7")]],
    "ambient": [[(0, "add9"), (5, "maj7")], [(0, "min"), (8, "maj7"), (3, "add9"), (10, "maj")], [(0, "sus4"), (0, "maj"), (5, "add9"), (5, "maj")]],
    "film": [[(0, "min"), (8, "maj"), (3, "maj"), (10, "maj")], [(0, "min"), (8, "maj"), (5, "min"), (7, "maj")],
             [(0, "min"), (3, "maj"), (10, "maj"), (5, "min")]],
    "piano": [[(0, "maj"), (9, "min"), (5, "maj"), (7, "maj")], [(0, "maj7"), (5, "maj7"), (9, "m7"), (7, "sus4")],
              [(0, "min"), (8, "maj"), (3, "maj"), (7, "maj")], [(0, "maj"), (4, "min"), (5, "maj"), (7, "maj")]],
    "folk": [[(0, "maj"), (5, "maj"), (0, "maj"), (7, "maj")], [(0, "maj"), (9, "min"), (5, "maj"), (7, "maj")],
             [(9, "min"), (5, "maj"), (0, "maj"), (7, "maj")], [(0, "maj"), (7, "maj"), (5, "maj"), (5, "maj")]],
    "chip": [[(0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")], [(0, "min"), (8, "maj"), (10, "maj"), (0, "min")],
             [(0, "min"), (10, "maj"), (8, "maj"), (7, "maj")]],
}


class Planner:
    def __init__(self, style, seed, seconds, workdir):
        self.style, self.seconds, self.workdir = style, seconds, workdir
        self.rng = random.Random(f"v2|{seed}")
        self.stem = "p" + hashlib.sha1(seed.encode()).hexdigest()[:12]
        self.attrs = {"style": style, "family": STYLE_FAMILY[style], "features": [], "groove": None,
                      "arrangement": None}
        self.parts: list[Part] = []

    # -- shared steps
    def setup(self, bpm_range, prog_key, minor_share=0.5, swing=0.0, chords_per_bar=1, mode=None):
        r = self.rng
        self.bpm = round(r.uniform(*bpm_range), 1)
        self.key_pc, self.mode = _key(r, minor_share)
        if mode:
            self.mode = mode
        progs = PROG[prog_key]
        self.grid = C.Grid(self.bpm, swing)
        self.bars = _bars(self.seconds, self.grid)
        self.chart = C.chart(r.choice(progs), self.key_pc, self.bars, chords_per_bar)
        return self

    def lead(self, programs, density, lo=60, hi=84, scale=None, start_bar=None, fx=None, sfont=None, vel=92,
             legato=0.9):
        r = self.rng
        prog = r.choice(programs)
        if prog is None:
            return None
        sc = scale or ("minor_pent" if self.mode == "minor" else "major")
        sb = start_bar if start_bar is not None else r.choice([0, 0, 2, 4])
        notes = C.melody(self.chart, self.grid, r, self.key_pc, sc, lo, hi, density, sb, self.bars - sb, vel, legato)
        p = _sfpart("lead", prog, C.humanise(notes, r, 8, 4), r, sfont, **(fx or {}))
        self.parts.append(p)
        return p

    def add(self, part):
        self.parts.append(part)
        return part

    def feature(self, *names):
        self.attrs["features"].extend(n for n in names if n not in self.attrs["features"])

    def mma_band(self, grooves, remap=None, kit_kinds=("hydrogen", "avl", "sf"), bass_fx=None, comp_fx=None,
                 drop_comp=0.0, gs_kits=(0,)):
        """MMA arrangement re-voiced: remap {(lo, hi): [programs]} replaces programs in that range."""
        r = self.rng
        groove = r.choice(grooves)
        self.attrs["groove"] = groove
        self.attrs["arrangement"] = "mma"
        parts = mma.arrange(groove, self.bpm, self.chart, self.workdir, self.stem)
        if parts["drums"]:
            self.add(_kit_part(parts["drums"], r, kit_kinds, gs_kits))
        if parts["bass"]:
            bprog = parts["bass"][0][4]
            for (lo, hi), progs in (remap or {}).items():
                if lo <= bprog <= hi:
                    bprog = r.choice(progs)
            self.add(_sfpart("bass", bprog, [n[:4] for n in parts["bass"]], r, **(bass_fx or {})))
        for chn in sorted(parts["comp"]):
            notes = parts["comp"][chn]
            prog = notes[0][4]
            fx = {}
            for (lo, hi), progs in (remap or {}).items():
                if lo <= prog <= hi:
                    prog = r.choice(progs)
            if 24 <= prog <= 31 and comp_fx:
                fx = dict(comp_fx)
            if r.random() < drop_comp and len(parts["comp"]) > 1:
                continue
            self.add(_sfpart("comp", prog, [n[:4] for n in notes], r, **fx))
        return groove

    def double_track(self, part, ms=7.0):
        """A second take of a rhythm part panned opposite (rock and metal guitars are double-tracked)."""
        fx = dict(part.fx, pan=-float(part.fx.get("pan", -0.6)))
        twin = Part(part.role, part.instrument, part.family, part.source, C.humanise(part.notes, self.rng, ms, 5),
                    part.sfont, part.program, part.drums, part.kit, part.patch, part.loop, fx)
        self.parts.append(twin)
        self.feature("double_tracked_guitars")
        return twin

    def finish(self, master):
        a = self.attrs
        a.update(tempo_bpm=self.bpm, tempo_band=_tempo_band(self.bpm), key=f"{C.PC_NAMES[self.key_pc]} {self.mode}",
                 mode=self.mode, chart=[[C.mma_chord(c) for c in row] for row in self.chart[:8]])
        a["instruments"] = [{"name": p.instrument, "family": p.family, "role": p.role, "source": _source_desc(p),
                             **({"amp": p.fx["amp"]} if p.fx.get("amp") else {})} for p in self.parts]
        a["families"] = sorted({p.family for p in self.parts})
        return ClipPlan(self.style, self.seconds, self.parts, a, master)


def _source_desc(p: Part) -> str:
    if p.source == "sf":
        return f"soundfont:{p.sfont}" + ("" if p.drums else f":{p.program}")
    if p.source in ("hydrogen", "samplekit"):
        return f"{p.source}:{p.kit}"
    if p.source == "loop":
        return "loop:" + p.loop[0].rsplit("/", 1)[-1]
    return p.source


def _master(rng, reverb=(0.1, 0.3), room=(0.3, 0.6), comp=(2.0, 4.0), loud=(-14.0, -9.0), tilt=(-2.0, 2.0)):
    return {"reverb_wet": round(rng.uniform(*reverb), 3), "room_size": round(rng.uniform(*room), 3),
            "comp_ratio": round(rng.uniform(*comp), 2), "loudness_db": round(rng.uniform(*loud), 1),
            "tilt_db": round(rng.uniform(*tilt), 2), "width": round(rng.uniform(0.8, 1.4), 2)}


# ---------------------------------------------------------------- styles

def _rock(P, punk=False):
    r = P.rng
    if punk:
        P.setup((150, 200), "rock_major", 0.3)
        pat = r.choice(["punk", "punk_skate", "rock_drive"])
        P.add(_kit_part(C.drums(pat, P.grid, r, P.bars, 112, 4, 4), r))
        P.add(_sfpart("bass", r.choice([33, 34]), C.bassline("root8", P.chart, P.grid, r, P.bars), r, drive=r.uniform(0, 8)))
        g = P.add(_sfpart("comp", r.choice([27, 29, 30]), C.humanise(C.comp("power8", P.chart, P.grid, r, P.bars, 40, 64, 92), r, 4, 4),
                          r, amp=r.choice(["crunch", "high_gain"]), pan=-0.5))
        if r.random() < 0.6:
            P.double_track(g)
        P.feature("distorted_guitar", "power_chords", "fast_drums")
        P.attrs["arrangement"] = "programmed"
        P.attrs["groove"] = pat
    elif r.random() < 0.5:
        P.setup((90, 150), r.choice(["rock_major", "rock_minor"]), 0.4)
        P.mma_band(["BasicRock", "BasicRock4", "50sRock", "8Beat", "SoftRock", "50sRock1", "8BeatPlus"], remap={(24, 31): [29, 30, 29, 27]},
                   comp_fx={"amp": r.choice(["crunch", "crunch", "high_gain"])}, kit_kinds=("hydrogen", "avl"))
        P.feature("electric_guitar")
    else:
        P.setup((100, 160), r.choice(["rock_major", "rock_minor"]), 0.45)
        pat = r.choice(["rock", "rock_drive", "rock_ride"])
        P.add(_kit_part(C.drums(pat, P.grid, r, P.bars, 105, 5, 4), r, ("hydrogen", "avl")))
        P.add(_sfpart("bass", r.choice([33, 34]), C.bassline("root8", P.chart, P.grid, r, P.bars), r, drive=r.uniform(0, 6)))
        g = P.add(_sfpart("comp", r.choice([29, 30, 27]), C.humanise(C.comp(r.choice(["power8", "powerhold"]), P.chart, P.grid, r, P.bars, 40, 64, 90), r, 4, 4),
                          r, amp=r.choice(["crunch", "high_gain"]), pan=-0.6))
        if r.random() < 0.6:
            P.double_track(g)
        if r.random() < 0.5:
            P.add(_sfpart("comp", r.choice([16, 18, 0]), C.comp("pad", P.chart, P.grid, r, P.bars, 55, 76, 70), r, gain_db=-6))
        P.attrs["arrangement"], P.attrs["groove"] = "programmed", pat
        P.feature("distorted_guitar", "power_chords")
    if r.random() < 0.6:
        P.lead([29, 30], "medium", 60, 84, "minor_pent", fx={"amp": "high_gain"})
        P.feature("guitar_solo")
    return _master(r, reverb=(0.08, 0.25), comp=(2.5, 5), loud=(-12, -8))


def _metal(P):
    r = P.rng
    P.setup((100, 190), "metal", 1.0, mode="minor")
    # v2.1 dropped rock_drive here and double-tracked the guitar: metal hit rate fell 88 % -> 40 %; reverted
    pat = r.choice(["metal_double", "metal_gallop", "rock_drive", "metal_double"])
    P.add(_kit_part(C.drums(pat, P.grid, r, P.bars, 115, 3, 2), r, ("hydrogen", "avl")))
    P.add(_sfpart("bass", r.choice([33, 34]), C.bassline("root8", P.chart, P.grid, r, P.bars, 28, 45), r, drive=r.uniform(6, 15)))
    riff = r.choice(["chug16", "power8", "chug16"])
    P.add(_sfpart("comp", r.choice([30, 29, 27]), C.humanise(C.comp(riff, P.chart, P.grid, r, P.bars, 38, 55, 100), r, 3, 3),
                  r, amp="high_gain", pan=-0.7))
    if r.random() < 0.5:
        P.lead([30, 29], "busy", 62, 88, "minor", fx={"amp": "high_gain"})
        P.feature("guitar_solo")
    P.attrs["arrangement"], P.attrs["groove"] = "programmed", pat
    P.feature("distorted_guitar", "palm_muted_riffs" if riff == "chug16" else "power_chords",
              "double_kick" if pat == "metal_double" else "heavy_drums")
    return _master(r, reverb=(0.05, 0.18), comp=(3, 6), loud=(-11, -7.5))


def _blues(P):
    r = P.rng
    shuffle = r.random() < 0.8
    P.setup((60, 120), "blues", 0.2, swing=1 / 3 if shuffle else 0.0, mode="major")
    P.mma_band(["Blues", "BluesTriple", "Blues1", "SlowBlues", "FastBlues", "ShuffleBoggie", "Blues128"],
               remap={(24, 31): [29, 27], (32, 39): [32, 33, 34]}, comp_fx={"amp": "crunch"})
    if r.random() < 0.4:  # blues-rock Hammond
        P.add(_sfpart("comp", r.choice([16, 17]), C.comp("pad", P.chart, P.grid, r, P.bars, 52, 74, 70), r, gain_db=-6))
        P.feature("hammond_organ")
    P.lead([29, 29, 22, 66], "medium", 58, 82, "blues", fx={"amp": "crunch"})
    P.feature("twelve_bar_blues")
    if shuffle:
        P.feature("shuffle_rhythm")
    return _master(r, reverb=(0.12, 0.35))


def _jazz(P):
    r = P.rng
    P.setup((90, 220), r.choice(["jazz", "jazz", "jazz_minor"]), 0.0, swing=1 / 3, chords_per_bar=r.choice([1, 2]))
    P.mode = "minor" if P.chart[0][0][1] in ("m7", "m7b5") else "major"
    # piano-trio / combo sound: MMA's guitar comping re-voiced to piano or vibraphone, brush or jazz kits
    P.mma_band(["JazzCombo", "JazzCombo1", "Swing", "SwingWalk", "Bebop", "BigBand", "EasySwing", "FastSwing",
                "ModernJazz", "SlowJazz", "Swing1Walk"], remap={(24, 31): [0, 0, 11]},
               kit_kinds=("sf", "sf", "hydrogen"), gs_kits=(32, 40))
    P.lead([66, 66, 65, 56, 11, 0], "busy", 58, 82, "dorian" if P.mode == "minor" else "mixolydian")
    P.feature("swing_feel", "walking_bass")
    return _master(r, reverb=(0.12, 0.3), comp=(1.5, 2.5), loud=(-17, -12))


def _funk(P):
    r = P.rng
    if r.random() < 0.4:
        P.setup((90, 120), "funk", 0.6)
        P.mma_band(["BVFunk", "BVFunkHorns", "DSoul", "R&B", "R&BPlus", "Strut"],
                   remap={(24, 31): [28, 27], (32, 39): [36, 37, 33, 34]}, comp_fx={"amp": "clean"})
    else:  # programmed funk: syncopated kick, ghost notes, sixteenth hats, slap bass, guitar scratches, clavinet
        P.setup((92, 118), "funk", 0.7)
        P.add(_kit_part(C.drums("funk", P.grid, r, P.bars, 100, 4, 8), r, ("hydrogen", "avl", "sf")))
        P.add(_sfpart("bass", r.choice([36, 37, 33]), C.bassline("funk", P.chart, P.grid, r, P.bars, 28, 50, 105), r, gain_db=2))
        P.add(_sfpart("comp", 28, C.humanise(C.comp("funk16", P.chart, P.grid, r, P.bars, 55, 76, 85), r, 3, 4), r, amp="clean", pan=-0.5))
        if r.random() < 0.6:
            P.add(_sfpart("comp", r.choice([7, 4]), C.comp("stabs", P.chart, P.grid, r, P.bars, 55, 76, 85), r, pan=0.5, gain_db=-3))
        P.attrs["arrangement"], P.attrs["groove"] = "programmed", "funk"
    P.lead([61, 61, 65, 66, 56, 7], "busy", 60, 84, "dorian" if P.mode == "minor" else "mixolydian")
    P.feature("funky_guitar", "syncopated_bass")
    return _master(r, reverb=(0.06, 0.2))


def _reggae(P):
    r = P.rng
    if r.random() < 0.4:
        P.setup((130, 180), "reggae", 0.3)
        P.mma_band(["Ska", "Ska1", "SkaClap", "Calypso"], remap={(24, 31): [27, 28]}, comp_fx={"amp": "clean"})
        P.lead([56, 57, 65, 66], "medium", 58, 80)
        P.attrs["substyle"] = "ska"
        P.feature("offbeat_skank", "horn_section")
    else:
        P.setup((66, 90), "reggae", 0.4)
        pat = r.choice(["one_drop", "one_drop", "steppers"])
        P.add(_kit_part(C.drums(pat, P.grid, r, P.bars, 95, 6, 8, fills=False), r))
        P.add(_sfpart("bass", r.choice([33, 38, 34]), C.bassline("reggae", P.chart, P.grid, r, P.bars, 28, 48, 105), r, gain_db=2))
        P.add(_sfpart("comp", r.choice([27, 28]), C.comp("skank", P.chart, P.grid, r, P.bars, 55, 74, 85), r, amp="clean", pan=0.4))
        P.add(_sfpart("comp", r.choice([16, 17]), C.comp("bubble", P.chart, P.grid, r, P.bars, 50, 70, 80), r, pan=-0.4, gain_db=-5))
        P.lead([16, 57, 22, 0, None], "medium", 60, 80)
        P.attrs["arrangement"], P.attrs["groove"], P.attrs["substyle"] = "programmed", pat, "reggae"
        P.feature("offbeat_skank", "one_drop" if pat == "one_drop" else "steppers_beat", "deep_bass")
    return _master(r, reverb=(0.1, 0.3))


def _latin(P):
    r = P.rng
    if r.random() < 0.5:
        P.setup((120, 150), "bossa", 0.2)
        P.mma_band(["BossaNova", "BossaNovaPlus", "BossaNova1Sus", "BossaNova2Sus"], kit_kinds=("sf",))
        P.lead([73, 65, 24, 0, 11], "medium", 62, 84, "major" if P.mode == "major" else "dorian")
        P.attrs["substyle"] = "bossa nova"
        P.feature("bossa_rhythm", "nylon_guitar")
    else:
        P.setup((160, 210), "salsa", 0.6)
        P.mma_band(["Salsa", "SalsaPlus", "Mambo", "Son", "ChaCha", "Rhumba", "SambaPlus"], kit_kinds=("sf",))
        P.lead([56, 61, 73, 57, 65], "busy", 62, 86, "minor" if P.mode == "minor" else "major")
        P.attrs["substyle"] = "salsa"
        P.feature("latin_percussion", "piano_montuno")
    return _master(r, reverb=(0.1, 0.3), loud=(-15, -10))


def _pop(P):
    r = P.rng
    if r.random() < 0.5:
        P.setup((70, 125), r.choice(["pop", "minor_pop"]), 0.3)
        P.mma_band(["8Beat", "8BeatPlus", "PopBallad", "PopBallad1", "SoftRock", "SoftRock1", "Ballad", "RockBallad"],
                   remap={(24, 31): [27, 25, 24]}, comp_fx={"amp": "clean"})
    else:
        P.setup((95, 128), r.choice(["pop", "minor_pop"]), 0.3)
        pat = r.choice(["pop", "synthpop", "four_floor"])
        kit = r.choice(["lmms_909", "sonicpi_house", "lmms_electro", "hydrogen"])
        hits = C.drums(pat, P.grid, r, P.bars, 100)
        P.add(Part("drums", "drum machine" if kit != "hydrogen" else "drum kit", "drums",
                   "hydrogen" if kit == "hydrogen" else "samplekit", hits,
                   kit=r.choice(ACOUSTIC_KITS) if kit == "hydrogen" else kit))
        P.add(_sfpart("bass", r.choice([38, 33, 39]), C.bassline("synthpop", P.chart, P.grid, r, P.bars), r))
        P.add(_sfpart("comp", r.choice([0, 4, 25, 90]), C.comp(r.choice(["stabs", "pad", "strum"]), P.chart, P.grid, r, P.bars, 52, 76, 80), r))
        P.attrs["arrangement"], P.attrs["groove"] = "programmed", pat
    P.lead([0, 4, 81, 27, 11, 73, 80], "medium", 62, 84)
    P.feature("catchy_melody")
    return _master(r, reverb=(0.1, 0.3), loud=(-12, -8.5))


def _hiphop(P):
    r = P.rng
    trap = r.random() < 0.35
    if trap:
        P.setup((130, 150), r.choice(["minor_pop", "edm"]), 1.0)
        hits = C.drums("trap", C.Grid(P.bpm / 2), r, P.bars, 105, 0, 0, fills=False)
        # trap hats: add 32nd-note rolls on the last beat of some bars
        g2 = C.Grid(P.bpm / 2)
        for b in range(P.bars):
            if r.random() < 0.5:
                hits += [(g2.t(b, 3 + i / 8), 42, 70 + i * 4) for i in range(8)]
        hits.sort()
        P.grid = g2
        P.bars = _bars(P.seconds, g2)
        P.chart = C.chart([(0, "min"), (8, "maj")], P.key_pc, P.bars)
        P.add(Part("drums", "drum machine", "drums", "samplekit", hits, kit="sonicpi_808"))
        P.add(Part("bass", "808 bass", "synth", "synth", C.bassline("eight_oh_eight", P.chart, g2, r, P.bars, 28, 43),
                   patch={"waves": ["sine"], "adsr": (0.005, 0.3, 0.8, 0.2)}, fx={"drive": r.uniform(3, 10), "gain_db": 2}))
        P.add(_sfpart("comp", r.choice([88, 89, 4, 48, 10]), C.comp(r.choice(["pad", "arp16"]), P.chart, g2, r, P.bars, 60, 80, 70), r, gain_db=-4))
        P.attrs.update(arrangement="programmed", groove="trap", substyle="trap")
        P.feature("808_bass", "hi_hat_rolls")
    else:
        P.setup((80, 98), r.choice(["funk", "house", "minor_pop"]), 0.7, swing=r.choice([0.0, 0.15, 0.25]))
        pat = r.choice(["boom_bap", "boom_bap2"])
        kit = r.choice(["lmms_hiphop", "sonicpi_boom", "hydrogen"])
        hits = C.drums(pat, P.grid, r, P.bars, 108, 4 if kit == "hydrogen" else 0, 0, fills=False)
        P.add(Part("drums", "drum kit" if kit == "hydrogen" else "drum machine", "drums",
                   "hydrogen" if kit == "hydrogen" else "samplekit", hits,
                   kit=r.choice(ACOUSTIC_KITS) if kit == "hydrogen" else kit, fx={"comp": 6}))
        P.add(_sfpart("bass", r.choice([33, 38, 32, 35]), C.bassline(r.choice(["long", "funk"]), P.chart, P.grid, r, P.bars, 28, 45), r, gain_db=1))
        P.add(_sfpart("comp", r.choice([4, 5, 0, 11, 48]), C.comp("rhodes", P.chart, P.grid, r, P.bars, 55, 76, 80), r, lowpass=r.uniform(3000, 6000)))
        if r.random() < 0.5:
            P.lead([73, 66, 4, 56, None], "sparse", 62, 82, "minor_pent")
        if r.random() < 0.5:
            P.add(Part("texture", "vinyl crackle", "fx", "loop", loop=(f"{SONIC_PI_DIR}/vinyl_hiss.flac", None, 0.25)))
            P.feature("lofi_vinyl")
        P.attrs.update(arrangement="programmed", groove=pat, substyle="boom bap")
        P.feature("boom_bap_beat")
    return _master(r, reverb=(0.05, 0.18), comp=(3, 5), loud=(-12, -8.5))


def _edm(P):
    r = P.rng
    sub = r.choice(["house", "techno", "trance"])
    if sub == "house":
        P.setup((118, 128), "house", 0.6)
        kit = r.choice(["sonicpi_house", "lmms_909", "lmms_electro"])
        P.add(Part("drums", "drum machine", "drums", "samplekit", C.drums("four_floor", P.grid, r, P.bars, 105, 0, 8, fills=False), kit=kit, fx={"comp": 4}))
        P.add(Part("bass", "synth bass", "synth", "synth", C.bassline("offbeat", P.chart, P.grid, r, P.bars, 33, 48),
                   patch={"waves": ["saw", "square"], "adsr": (0.002, 0.12, 0.4, 0.05)}, fx={"cutoff": r.uniform(400, 1200), "resonance": 0.3}))
        P.add(_sfpart("comp", r.choice([0, 1, 16, 4]), C.comp("stabs", P.chart, P.grid, r, P.bars, 55, 79, 88), r, gain_db=-2))
        P.feature("four_on_the_floor", "piano_stabs", "offbeat_bass")
    elif sub == "techno":
        P.setup((124, 138), "edm", 1.0, mode="minor")
        P.chart = C.chart([(0, "min")], P.key_pc, P.bars)
        kit = r.choice(["sonicpi_tek", "lmms_909", "lmms_electro"])
        P.add(Part("drums", "drum machine", "drums", "samplekit", C.drums("techno", P.grid, r, P.bars, 108, 0, 8, fills=False), kit=kit, fx={"comp": 4}))
        P.add(Part("bass", "acid bass", "synth", "synth", C.bassline("rolling16", P.chart, P.grid, r, P.bars, 33, 45),
                   patch={"waves": ["saw"], "adsr": (0.002, 0.08, 0.3, 0.03)}, fx={"cutoff": r.uniform(500, 1800), "resonance": r.uniform(0.4, 0.8), "drive": 4}))
        P.add(Part("pad", "synth stabs", "synth", "synth", C.comp("stabs", P.chart, P.grid, r, P.bars, 55, 72, 75),
                   patch={"waves": ["saw", "square"], "voices": 3, "detune": 12, "adsr": (0.002, 0.15, 0.2, 0.2)}, fx={"cutoff": r.uniform(800, 2500), "delay": 0.3, "gain_db": -4}))
        P.feature("four_on_the_floor", "acid_bassline", "hypnotic_loop")
    else:
        P.setup((132, 140), "edm", 1.0, mode="minor")
        if r.random() < 0.3:
            P.mma_band(["Trance", "Trance1", "Trance2", "TranceBass1"], kit_kinds=("sf",), gs_kits=(24, 25))
        else:
            kit = r.choice(["sonicpi_house", "lmms_909", "lmms_electro"])
            P.add(Part("drums", "drum machine", "drums", "samplekit", C.drums("trance", P.grid, r, P.bars, 105, 0, 8, fills=False), kit=kit, fx={"comp": 4}))
            P.add(Part("bass", "synth bass", "synth", "synth", C.bassline(r.choice(["offbeat", "rolling16"]), P.chart, P.grid, r, P.bars, 33, 48),
                       patch={"waves": ["saw"], "adsr": (0.002, 0.1, 0.5, 0.05)}, fx={"cutoff": r.uniform(500, 1500), "resonance": 0.3}))
        P.add(Part("pad", "supersaw pad", "synth", "synth", C.comp("pad", P.chart, P.grid, r, P.bars, 55, 79, 80),
                   patch={"waves": ["saw"], "voices": 5, "detune": 22, "adsr": (0.3, 0.5, 0.8, 0.6)}, fx={"cutoff": r.uniform(2000, 6000), "chorus": True, "gain_db": -4}))
        P.add(Part("arp", "synth arpeggio", "synth", "synth", C.comp("arp16", P.chart, P.grid, r, P.bars, 64, 86, 85),
                   patch={"waves": ["saw", "square"], "voices": 2, "detune": 8, "adsr": (0.002, 0.1, 0.3, 0.1)}, fx={"cutoff": r.uniform(1500, 5000), "delay": 0.35, "gain_db": -5}))
        P.feature("four_on_the_floor", "supersaw_pads", "synth_arpeggio")
    if P.attrs["arrangement"] is None:
        P.attrs.update(arrangement="programmed", groove={"house": "four_floor", "techno": "techno", "trance": "trance"}[sub])
    P.attrs["substyle"] = sub
    return _master(r, reverb=(0.1, 0.3), comp=(3, 5), loud=(-11, -8))


def _dnb(P):
    r = P.rng
    P.setup((168, 176), "edm", 0.9, mode="minor")
    P.chart = C.chart(r.choice([[(0, "min"), (0, "min"), (8, "maj"), (10, "maj")], [(0, "m7"), (5, "m7")]]), P.key_pc, P.bars)
    if r.random() < 0.6:
        loop = r.choice([(f"{SONIC_PI_DIR}/loop_amen.flac", 136.9), (f"{SONIC_PI_DIR}/loop_amen_full.flac", 136.9),
                         (f"{SONIC_PI_DIR}/loop_breakbeat.flac", 85.0), (f"{LMMS_DIR}/beats/jungle01.ogg", 160.0)])
        P.add(Part("drums", "breakbeat", "drums", "loop", loop=(loop[0], loop[1], 1.0), fx={"comp": 5}))
        P.feature("chopped_breakbeat")
        P.attrs["groove"] = "breakbeat loop"
    else:
        pat = r.choice(["dnb", "dnb_roll"])
        kit = r.choice(["lmms_electro", "sonicpi_tek", "hydrogen"])
        P.add(Part("drums", "drum kit" if kit == "hydrogen" else "drum machine", "drums", "hydrogen" if kit == "hydrogen" else "samplekit",
                   C.drums(pat, P.grid, r, P.bars, 108, 0, 8), kit=r.choice(ACOUSTIC_KITS) if kit == "hydrogen" else kit, fx={"comp": 5}))
        P.attrs["groove"] = pat
        P.feature("two_step_breakbeat")
    P.add(Part("bass", "reese bass", "synth", "synth", C.bassline("dnb", P.chart, P.grid, r, P.bars, 26, 40),
               patch={"waves": ["saw"], "voices": 3, "detune": 18, "adsr": (0.01, 0.2, 0.9, 0.1)}, fx={"cutoff": r.uniform(300, 900), "drive": r.uniform(2, 8), "gain_db": 1}))
    P.add(Part("pad", "atmospheric pad", "synth", "synth", C.comp("pad", P.chart, P.grid, r, P.bars, 57, 79, 70),
               patch={"waves": ["saw", "triangle"], "voices": 4, "detune": 15, "adsr": (0.6, 0.5, 0.8, 1.0)}, fx={"cutoff": r.uniform(1500, 4000), "chorus": True, "gain_db": -6, "send": 0.6}))
    P.attrs.update(arrangement="programmed", substyle="drum and bass")
    P.feature("fast_breakbeats", "sub_bass")
    return _master(r, reverb=(0.1, 0.3), comp=(3, 5), loud=(-11, -8))


def _synthpop(P):
    r = P.rng
    P.setup((100, 132), r.choice(["pop", "minor_pop", "edm"]), 0.5)
    pat = r.choice(["synthpop", "synthpop_drive"])
    kit = r.choice(["lmms_electro", "lmms_909", "sonicpi_tek"])
    P.add(Part("drums", "drum machine", "drums", "samplekit", C.drums(pat, P.grid, r, P.bars, 100, 0, 4), kit=kit, fx={"gated_reverb": True}))
    P.add(Part("bass", "synth bass", "synth", "synth", C.bassline("synthpop", P.chart, P.grid, r, P.bars, 33, 50),
               patch={"waves": ["square", "saw"], "adsr": (0.002, 0.1, 0.5, 0.05)}, fx={"cutoff": r.uniform(600, 2000), "resonance": 0.25}))
    P.add(Part("pad", "synth pad", "synth", "synth", C.comp("pad", P.chart, P.grid, r, P.bars, 55, 76, 70),
               patch={"waves": ["saw"], "voices": 3, "detune": 10, "adsr": (0.1, 0.4, 0.7, 0.4)}, fx={"cutoff": r.uniform(1500, 4000), "chorus": True, "gain_db": -6}))
    lead_notes = C.melody(P.chart, P.grid, r, P.key_pc, "minor" if P.mode == "minor" else "major", 62, 84, "medium", 2, P.bars - 2)
    P.add(Part("lead", "synth lead", "synth", "synth", lead_notes,
               patch={"waves": [r.choice(["square", "saw"])], "voices": 2, "detune": 6, "adsr": (0.01, 0.2, 0.7, 0.2), "vibrato": 0.003},
               fx={"cutoff": r.uniform(2000, 6000), "delay": 0.3, "gain_db": -2}))
    if r.random() < 0.5:
        P.add(Part("arp", "synth arpeggio", "synth", "synth", C.comp("arp16", P.chart, P.grid, r, P.bars, 60, 84, 70),
                   patch={"waves": ["square"], "adsr": (0.002, 0.08, 0.3, 0.05)}, fx={"cutoff": 3000, "gain_db": -8}))
    P.attrs.update(arrangement="programmed", groove=pat, substyle="synth-pop")
    P.feature("drum_machine", "synth_bass", "synth_lead")
    return _master(r, reverb=(0.15, 0.35), loud=(-13, -9))


def _chiptune(P):
    r = P.rng
    P.setup((120, 170), "chip", 0.4)
    g = P.grid
    hits = []
    for b in range(P.bars):
        for st in range(16):
            if st in (0, 8) or (st == 10 and r.random() < 0.5):
                hits.append((g.t(b, st / 4), "kick", 110))
            if st in (4, 12):
                hits.append((g.t(b, st / 4), "snare", 100))
            if st % 2 == 0:
                hits.append((g.t(b, st / 4), "hat", 60))
    P.add(Part("drums", "noise-channel drums", "drums", "noise", hits))
    P.add(Part("bass", "triangle bass", "synth", "synth", C.bassline(r.choice(["root8", "synthpop"]), P.chart, g, r, P.bars, 33, 52),
               patch={"waves": ["triangle"], "adsr": (0.001, 0.02, 1.0, 0.01)}, fx={"chip": True}))
    P.add(Part("lead", "square lead", "synth", "synth", C.melody(P.chart, g, r, P.key_pc, "major" if P.mode == "major" else "minor", 64, 88, "busy", 0, P.bars, 100, 0.85),
               patch={"waves": ["square"], "duty": r.choice([0.125, 0.25, 0.5]), "adsr": (0.001, 0.05, 0.8, 0.02), "vibrato": 0.004}, fx={"chip": True}))
    P.add(Part("arp", "pulse arpeggio", "synth", "synth", C.comp("chip_arp", P.chart, g, r, P.bars, 57, 79, 80),
               patch={"waves": ["square"], "duty": 0.25, "adsr": (0.001, 0.02, 0.8, 0.01)}, fx={"chip": True, "gain_db": -6}))
    P.attrs.update(arrangement="programmed", groove="chip", substyle="chiptune")
    P.feature("8_bit_sounds", "fast_arpeggios")
    m = _master(r, reverb=(0.0, 0.05), comp=(1.5, 2.5), loud=(-14, -10))
    m["bitcrush"] = r.choice([8, 10, 12])
    return m


def _ambient(P):
    r = P.rng
    P.setup((55, 80), "ambient", 0.5)
    P.chart = C.chart(r.choice(PROG["ambient"]), P.key_pc, P.bars)
    # chords last two bars each
    P.chart = [P.chart[(b // 2) % len(P.chart)] for b in range(P.bars)]
    P.add(Part("pad", "synth pad", "synth", "synth", C.comp("pad", P.chart, P.grid, r, P.bars, 48, 74, 75),
               patch={"waves": ["saw", "triangle"], "voices": 4, "detune": 14, "adsr": (2.0, 1.0, 0.8, 3.0)},
               fx={"cutoff": r.uniform(600, 2500), "chorus": True, "send": 0.9}))
    if r.random() < 0.6:
        P.add(_sfpart("pad", r.choice([88, 89, 92, 94, 48, 50]), C.comp("pad", P.chart, P.grid, r, P.bars, 55, 79, 60), r, send=0.9, gain_db=-5))
    drone = r.choice(["ambi_drone", "ambi_glass_hum", "ambi_haunted_hum", "ambi_soft_buzz", "ambi_lunar_land", "ambi_dark_woosh", None])
    if drone:
        P.add(Part("texture", "drone", "fx", "loop", loop=(f"{SONIC_PI_DIR}/{drone}.flac", None, 0.5), fx={"send": 0.8}))
        P.feature("drone")
    if r.random() < 0.6:
        P.lead([0, 11, 14, 8, 46, 108], "sparse", 64, 88, "major_pent" if P.mode == "major" else "minor_pent", fx={"send": 0.9, "gain_db": -4}, vel=70)
    P.attrs.update(arrangement="programmed", groove="none", substyle="ambient")
    P.feature("synth_pads", "reverb_heavy", "no_drums")
    return _master(r, reverb=(0.45, 0.7), room=(0.8, 0.98), comp=(1.5, 2.5), loud=(-20, -14))


def _orchestral(P):
    r = P.rng
    P.setup((70, 140), "film", 0.8)
    sf = "musescore" if r.random() < 0.75 else "fluidr3"
    P.add(_sfpart("comp", r.choice([48, 49, 44]), C.humanise(C.comp("ostinato", P.chart, P.grid, r, P.bars, 43, 60, 85), r, 6, 5), r, sf))
    P.add(_sfpart("bass", r.choice([43, 42]), C.bassline("long", P.chart, P.grid, r, P.bars, 28, 48, 90), r, sf))
    P.add(_sfpart("pad", r.choice([61, 60, 57, 48]), C.comp("sustain_low", P.chart, P.grid, r, P.bars, 46, 67, 80), r, sf, gain_db=-3))
    P.lead([60, 48, 73, 56, 40, 68], "sparse", 60, 84, "minor" if P.mode == "minor" else "major", sfont=sf)
    if r.random() < 0.7:
        hits = C.drums("film", P.grid, r, P.bars, 95, 0, 4, fills=False)
        P.add(_sfpart("perc", 47, [(t, 0.8, C._near(P.key_pc, 36, 47, 41) if n != 45 else C._near((P.key_pc + 7) % 12, 36, 47, 43), v)
                                   for t, n, v in hits if n in (43, 45, 36)], r, sf, gain_db=-2))
        P.feature("timpani")
    P.attrs.update(arrangement="programmed", groove="none", substyle="film score")
    P.feature("string_ostinato", "brass", "cinematic")
    return _master(r, reverb=(0.3, 0.5), room=(0.75, 0.95), comp=(1.5, 2.5), loud=(-18, -12))


def _piano(P):
    r = P.rng
    P.setup((60, 110), "piano", 0.4)
    sf = r.choice(["musescore", "musescore", "fluidr3"])
    P.add(_sfpart("comp", r.choice([0, 0, 0, 1]), C.humanise(C.comp("ballad_piano", P.chart, P.grid, r, P.bars, 48, 72, 72), r, 10, 6), r, sf))
    mel = C.melody(P.chart, P.grid, r, P.key_pc, "major" if P.mode == "major" else "minor", 67, 91, r.choice(["sparse", "medium"]), 0, P.bars, 82)
    P.parts[-1].notes += C.humanise(mel, r, 10, 6)
    P.attrs.update(arrangement="programmed", groove="none", substyle="solo piano")
    P.feature("solo_piano")
    return _master(r, reverb=(0.15, 0.4), room=(0.5, 0.9), comp=(1.2, 2.0), loud=(-20, -14))


def _acoustic(P):
    r = P.rng
    if r.random() < 0.35:
        P.setup((70, 120), "folk", 0.25)
        P.mma_band(["GuitarBallad", "GuitarBallad1", "Folk", "FolkWalk", "FolkBallad", "FolkArticulated"], kit_kinds=("sf",),
                   remap={(0, 23): [25, 24]})
    else:
        P.setup((70, 130), "folk", 0.3)
        kind = r.choice(["strum", "fingerpick", "strum"])
        prog = r.choice([25, 25, 24])
        P.add(_sfpart("comp", prog, C.humanise(C.comp(kind, P.chart, P.grid, r, P.bars, 47, 71, 85), r, 6, 6), r))
        if r.random() < 0.35:
            P.add(_sfpart("comp", prog, C.humanise(C.comp("strum", P.chart, P.grid, r, P.bars, 52, 76, 70), r, 8, 6), r, pan=0.6, gain_db=-4))
        if r.random() < 0.3:
            P.add(Part("perc", "shaker", "percussion", "sf", C.drums("shaker", P.grid, r, P.bars, 70, 6, 0, fills=False),
                       sfont="musescore", drums=True, fx={"gain_db": -8}))
        P.attrs.update(arrangement="programmed", groove=kind)
        P.feature("strummed_guitar" if kind == "strum" else "fingerpicked_guitar")
    if r.random() < 0.4:
        P.lead([25, 24, 22, 73, 40], "medium", 60, 84)
    P.attrs["substyle"] = "acoustic guitar"
    return _master(r, reverb=(0.1, 0.3), comp=(1.5, 2.5), loud=(-18, -12))


BUILDERS = {"rock": _rock, "punk": lambda P: _rock(P, punk=True), "metal": _metal, "blues": _blues, "jazz": _jazz,
            "funk_soul": _funk, "reggae_ska": _reggae, "latin": _latin, "pop": _pop, "hiphop": _hiphop, "edm": _edm,
            "dnb": _dnb, "synthpop": _synthpop, "chiptune": _chiptune, "ambient": _ambient,
            "orchestral": _orchestral, "piano": _piano, "acoustic": _acoustic}


def plan_clip(style: str, seed: str, seconds: float, workdir: str) -> ClipPlan:
    if style not in BUILDERS:
        raise ValueError(f"unknown style {style!r}; known: {', '.join(STYLES)}")
    P = Planner(style, seed, seconds, workdir)
    master = BUILDERS[style](P)
    return P.finish(master)
