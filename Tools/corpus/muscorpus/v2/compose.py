"""Programmed parts of corpus v2: chord charts, melodies, bass lines, comping and drum patterns per genre.

Times are seconds on a `Grid` (tempo, 4/4, optional swing of the off-beat eighths). Melodic notes are
(onset_s, dur_s, midi_pitch, velocity); drum hits are (onset_s, gm_note, velocity). Every function takes
a `random.Random`, so a clip's parts depend only on its seed string.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

SCALES = {
    "major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 10], "dorian": [0, 2, 3, 5, 7, 9, 10],
    "mixolydian": [0, 2, 4, 5, 7, 9, 10], "phrygian": [0, 1, 3, 5, 7, 8, 10],
    "minor_pent": [0, 3, 5, 7, 10], "major_pent": [0, 2, 4, 7, 9], "blues": [0, 3, 5, 6, 7, 10],
}
QUALITY = {  # intervals above the root
    "maj": [0, 4, 7], "min": [0, 3, 7], "5": [0, 7], "7": [0, 4, 7, 10], "maj7": [0, 4, 7, 11],
    "m7": [0, 3, 7, 10], "9": [0, 4, 7, 10, 14], "m9": [0, 3, 7, 10, 14], "sus4": [0, 5, 7],
    "m7b5": [0, 3, 6, 10], "6": [0, 4, 7, 9], "dim": [0, 3, 6], "add9": [0, 4, 7, 14],
}
MMA_NAME = {"maj": "", "min": "m", "5": "5", "7": "7", "maj7": "M7", "m7": "m7", "9": "9", "m9": "m9",
            "sus4": "sus4", "m7b5": "m7b5", "6": "6", "dim": "dim", "add9": "add9"}
PC_NAMES = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]


@dataclass
class Grid:
    bpm: float
    swing: float = 0.0          # 0 straight; 1/3 turns off-beat eighths into triplet feel (at 2/3 of the beat)
    beats_per_bar: int = 4

    @property
    def beat(self) -> float:
        return 60.0 / self.bpm

    @property
    def bar(self) -> float:
        return self.beat * self.beats_per_bar

    def t(self, bar: int, beat: float) -> float:
        whole = math.floor(beat)
        frac = beat - whole
        if self.swing and abs(frac - 0.5) < 1e-9:
            frac = 0.5 + self.swing / 2
        return (bar * self.beats_per_bar + whole + frac) * self.beat


def chord_pcs(chord) -> list[int]:
    root, q = chord
    return [(root + i) % 12 for i in QUALITY[q]]


def mma_chord(chord) -> str:
    root, q = chord
    return PC_NAMES[root % 12] + MMA_NAME[q]


def chart(progression, key_pc: int, bars: int, chords_per_bar: int = 1):
    """Cycle a progression [(offset, quality), ...] (one entry per chord slot) over `bars` bars:
    a list per bar of `chords_per_bar` absolute chords (root pitch class, quality)."""
    flat = [((key_pc + off) % 12, q) for off, q in progression]
    out, i = [], 0
    for _ in range(bars):
        row = []
        for _ in range(chords_per_bar):
            row.append(flat[i % len(flat)])
            i += 1
        out.append(row)
    return out


def chord_at(ch, bar: int, beat: float, beats_per_bar: int = 4):
    row = ch[min(bar, len(ch) - 1)]
    return row[min(len(row) - 1, int(beat * len(row) / beats_per_bar))]


def _near(pc: int, lo: int, hi: int, target: int) -> int:
    cands = [p for p in range(lo, hi + 1) if p % 12 == pc]
    return min(cands, key=lambda p: abs(p - target)) if cands else lo + (pc - lo) % 12


def voicing(chord, lo: int, hi: int, target: int | None = None) -> list[int]:
    """Close voicing of a chord starting near `target` within [lo, hi]."""
    pcs = chord_pcs(chord)
    base = _near(pcs[0], lo, hi, target if target is not None else (lo + hi) // 2)
    notes = [base]
    for pc in pcs[1:]:
        p = notes[-1] + 1
        while p % 12 != pc:
            p += 1
        notes.append(p)
    while notes[-1] > hi and notes[0] - 12 >= lo:
        notes = [n - 12 for n in notes]
    return notes


def humanise(notes, rng: random.Random, ms: float, vel: float):
    if ms <= 0 and vel <= 0:
        return notes
    out = []
    for t, d, p, v in notes:
        out.append((max(0.0, t + rng.gauss(0, ms / 1000.0)), d, p, max(1, min(127, int(v + rng.gauss(0, vel))))))
    return out


# ---------------------------------------------------------------- melody

RHYTHMS = {  # one-bar onset patterns (beats) with durations, by density
    "sparse": [[(0, 2), (2, 2)], [(0, 3), (3, 1)], [(0, 1.5), (1.5, 2.5)], [(0, 4)], [(1, 1), (2, 2)]],
    "medium": [[(0, 1), (1, 0.5), (1.5, 0.5), (2, 2)], [(0, 1.5), (1.5, 0.5), (2, 1), (3, 1)],
               [(0.5, 0.5), (1, 1), (2, 0.5), (2.5, 1.5)], [(0, 1), (1, 1), (2, 1), (3, 1)],
               [(0, 0.5), (0.5, 1), (1.5, 1.5), (3, 1)]],
    "busy": [[(i * 0.5, 0.5) for i in range(8)], [(0, 0.5), (0.5, 0.5), (1, 1), (2, 0.5), (2.5, 0.5), (3, 1)],
             [(0, 0.25), (0.25, 0.25), (0.5, 0.5), (1, 0.5), (1.5, 0.5), (2, 1), (3, 0.5), (3.5, 0.5)],
             [(0, 0.75), (0.75, 0.75), (1.5, 0.5), (2, 0.5), (2.5, 0.5), (3, 1)]],
}


def melody(ch, grid: Grid, rng: random.Random, key_pc: int, scale: str, lo: int, hi: int, density: str,
           start_bar: int, bars: int, vel: int = 90, legato: float = 0.9):
    """Motif-based line: a 2-bar rhythm motif repeated with variation (A A' B A'), chord tones on the
    strong onsets, scale steps between, rests closing each 4-bar phrase."""
    sc = [(key_pc + s) % 12 for s in SCALES[scale]]
    pool = [p for p in range(lo, hi + 1) if p % 12 in sc]
    motif = [rng.choice(RHYTHMS[density]), rng.choice(RHYTHMS[density])]
    alt = [rng.choice(RHYTHMS[density]), rng.choice(RHYTHMS[density])]
    notes = []
    cur = rng.choice(pool[len(pool) // 3: 2 * len(pool) // 3] or pool)
    contour = []
    for b in range(start_bar, start_bar + bars):
        k = (b - start_bar) % 8
        rhythm = (alt if k in (4, 5) else motif)[k % 2]
        if k in (3, 7):  # phrase end: hold a chord tone, then rest
            rhythm = [rhythm[0][:1] + (min(2.5, 4 - rhythm[0][0]),)]
        for i, (on, dur) in enumerate(rhythm):
            chord = chord_at(ch, b, on, grid.beats_per_bar)
            strong = on in (0, 2) or i == 0
            if k in (2, 6) and contour and i < len(contour):  # answer: reuse the motif's contour
                step = contour[i]
                idx = min(range(len(pool)), key=lambda j: abs(pool[j] - cur))
                cur = pool[max(0, min(len(pool) - 1, idx + step))]
            elif strong:
                tones = [p for p in pool if p % 12 in chord_pcs(chord) and abs(p - cur) <= 7]
                cur = rng.choice(tones) if tones else cur
            else:
                idx = min(range(len(pool)), key=lambda j: abs(pool[j] - cur))
                step = rng.choice([-2, -1, -1, 1, 1, 2, 0])
                cur = pool[max(0, min(len(pool) - 1, idx + step))]
            if k in (0, 1):
                contour.append(rng.choice([-1, 1, 2, -2]))
            t = grid.t(b, on)
            notes.append((t, dur * grid.beat * legato, cur, vel + (8 if strong else 0) + rng.randint(-6, 6)))
    return notes


# ---------------------------------------------------------------- bass

def bassline(kind: str, ch, grid: Grid, rng: random.Random, bars: int, lo: int = 28, hi: int = 52, vel: int = 96):
    out = []
    prev = None
    for b in range(bars):
        def root(beat):
            c = chord_at(ch, b, beat, grid.beats_per_bar)
            return _near(c[0], lo, hi, prev if prev is not None else lo + 8), c
        if kind == "root8":
            for i in range(8):
                r, _ = root(i / 2)
                out.append((grid.t(b, i / 2), grid.beat * 0.45, r, vel - (0 if i % 2 == 0 else 10)))
        elif kind == "root_fifth":
            for beat in (0, 2):
                r, c = root(beat)
                p = r if beat == 0 else (r + 7 if r + 7 <= hi else r - 5)
                out.append((grid.t(b, beat), grid.beat * 1.6, p, vel))
        elif kind == "walking":
            for beat in range(4):
                r, c = root(beat)
                pcs = chord_pcs(c)
                if beat == 0:
                    p = r
                elif beat == 3:  # chromatic approach to the next bar's root
                    nr = _near(chord_at(ch, min(b + 1, len(ch) - 1), 0)[0], lo, hi, prev or r)
                    p = nr + rng.choice([-1, 1, 2])
                else:
                    p = _near(rng.choice(pcs + [(c[0] + 2) % 12]), lo, hi, prev or r)
                out.append((grid.t(b, beat), grid.beat * 0.9, p, vel - 6 + rng.randint(-5, 5)))
                prev = p
        elif kind == "offbeat":  # house: bass on every off-beat eighth
            for beat in range(4):
                r, _ = root(beat)
                out.append((grid.t(b, beat + 0.5), grid.beat * 0.4, r + (12 if rng.random() < 0.2 else 0), vel))
        elif kind == "rolling16":
            for i in range(16):
                if i % 4 == 0:
                    continue
                r, _ = root(i / 4)
                out.append((grid.t(b, i / 4), grid.beat * 0.2, r + (12 if i % 4 == 2 else 0), vel - (i % 2) * 8))
        elif kind == "long":
            for beat in (0, 2) if len(ch[min(b, len(ch) - 1)]) > 1 else (0,):
                r, _ = root(beat)
                out.append((grid.t(b, beat), grid.beat * (1.9 if len(ch[min(b, len(ch) - 1)]) > 1 else 3.8), r, vel))
        elif kind == "reggae":  # drop on 1, syncopated root/fifth/octave figure
            r, c = root(0)
            for on, d, iv in [(0.5, 0.4, 0), (1, 0.4, 0), (1.5, 0.9, 7), (2.75, 0.2, 12), (3, 0.9, 10 if c[1] in ("min", "m7") else 7)]:
                p = r + iv
                while p > hi:
                    p -= 12
                out.append((grid.t(b, on), grid.beat * d, p, vel))
        elif kind == "funk":
            r, c = root(0)
            for on, iv in [(0, 0), (0.75, 12), (1.5, 0), (2, 7), (2.5, 10), (3.25, 12), (3.5, 0)]:
                if rng.random() < 0.85:
                    out.append((grid.t(b, on), grid.beat * 0.22, min(hi + 12, r + iv), vel + (10 if on == 0 else 0)))
        elif kind == "eight_oh_eight":  # long sub notes on a trap kick pattern
            for on, d in [(0, 1.4), (1.5, 1.0), (2.75, 1.2)]:
                r, _ = root(on)
                out.append((grid.t(b, on), grid.beat * d, r, vel))
        elif kind == "dnb":
            for on, d in [(0, 1.5), (2.5, 1.5)]:
                r, _ = root(on)
                out.append((grid.t(b, on), grid.beat * d, r, vel))
        elif kind == "synthpop":
            for i in range(8):
                r, _ = root(i / 2)
                out.append((grid.t(b, i / 2), grid.beat * 0.4, r + (12 if i % 2 else 0), vel - (i % 2) * 12))
        else:
            raise ValueError(kind)
        if out:
            prev = out[-1][2]
    return out


# ---------------------------------------------------------------- comping

def comp(kind: str, ch, grid: Grid, rng: random.Random, bars: int, lo: int = 48, hi: int = 76, vel: int = 80):
    out = []
    target = (lo + hi) // 2
    for b in range(bars):
        row = ch[min(b, len(ch) - 1)]

        def chord(beat):
            return chord_at(ch, b, beat, grid.beats_per_bar)

        def add(beat, dur, notes_, v, strum=0.0):
            for j, p in enumerate(notes_):
                out.append((grid.t(b, beat) + j * strum, dur * grid.beat, p, v))

        def power(beat):
            r = _near(chord(beat)[0], lo, lo + 11, lo + 4)
            return [r, r + 7, r + 12]

        if kind == "power8":
            for i in range(8):
                add(i / 2, 0.42, power(i / 2), vel + (12 if i % 2 == 0 else 0), 0.004)
        elif kind == "powerhold":
            for beat in (0, 2) if len(row) > 1 else (0,):
                add(beat, 1.95 if len(row) > 1 else 3.9, power(beat), vel + 10, 0.008)
        elif kind == "chug16":
            for i in range(16):
                if i % 16 in (6, 14) and rng.random() < 0.5:
                    continue
                r = _near(chord(i / 4)[0], lo, lo + 11, lo + 4)
                add(i / 4, 0.2, [r, r + 7] if i % 8 else [r, r + 7, r + 12], vel + (15 if i % 4 == 0 else 0), 0.002)
        elif kind == "skank":  # off-beat chops (reggae: 2 and 4 at half time; ska: every off-beat)
            beats = [1, 3] if grid.bpm < 100 else [0.5, 1.5, 2.5, 3.5]
            for beat in beats:
                add(beat, 0.18, voicing(chord(beat), lo, hi, target), vel, 0.006)
        elif kind == "bubble":  # reggae organ: 16th off-beat pulses
            for beat in range(4):
                add(beat + 0.25, 0.2, voicing(chord(beat), lo, hi, target)[:2], vel - 15)
                add(beat + 0.5, 0.2, voicing(chord(beat), lo, hi, target), vel - 5)
        elif kind == "stabs":  # house piano / organ stabs
            pat = rng.choice([[0.5, 1.5, 2.5, 3.5], [0, 0.75, 1.5, 2.5, 3.25], [0.5, 1.75, 2.5, 3.75]])
            for beat in pat:
                add(beat, 0.3, voicing(chord(beat), lo, hi, target), vel)
        elif kind == "pad":
            for i, c in enumerate(row):
                span = grid.beats_per_bar / len(row)
                add(i * span, span * 0.98, voicing(c, lo, hi, target), vel - 15)
        elif kind == "arp16":
            for i in range(16):
                v = voicing(chord(i / 4), lo, hi, target)
                seq = v + [v[0] + 12]
                add(i / 4, 0.22, [seq[i % len(seq)]], vel - (0 if i % 4 == 0 else 12))
        elif kind == "funk16":  # muted-guitar sixteenth scratches, accents on the off-beat sixteenths
            for i in range(16):
                if rng.random() < 0.75:
                    v = voicing(chord(i / 4), lo, hi, target)[-3:]
                    add(i / 4, 0.12, v, vel + (14 if i % 4 == 2 else 0) - (10 if i % 2 else 0), 0.003)
        elif kind == "chip_arp":
            for i in range(32):
                v = voicing(chord(i / 8), lo, hi, target)
                add(i / 8, 0.12, [v[i % len(v)]], vel)
        elif kind == "strum":
            pattern = rng.choice([[(0, 1), (1, -1), (1.5, -1), (2.5, -1), (3, 1), (3.5, -1)],
                                  [(0, 1), (1, 1), (1.5, -1), (2, 1), (3, 1), (3.5, -1)],
                                  [(0, 1), (0.5, -1), (1, 1), (1.5, -1), (2, 1), (2.5, -1), (3, 1), (3.5, -1)]])
            for on, direction in pattern:
                v = voicing(chord(on), lo, hi, target) + [voicing(chord(on), lo, hi, target)[0] + 12]
                v = v if direction > 0 else list(reversed(v))
                add(on, 0.95, v, vel + (10 if direction > 0 else -10), 0.012)
        elif kind == "fingerpick":
            c = chord(0)
            v = voicing(c, lo + 7, hi, target)
            bass = _near(c[0], lo - 5, lo + 7, lo)
            for i, p in enumerate([bass, v[-1], v[0], v[1 % len(v)], bass + 7 if bass + 7 < v[0] else bass, v[-1], v[0], v[1 % len(v)]]):
                add(i / 2, 1.6, [p], vel - (0 if i % 2 == 0 else 12))
        elif kind == "ballad_piano":
            c = chord(0)
            lh = _near(c[0], 36, 47, 40)
            for i, p in enumerate([lh, lh + 7, lh + 12, lh + 16 if c[1] in ("maj", "maj7", "7", "6", "9", "add9") else lh + 15]):
                add(i, 1.8, [p], vel - 10)
                add(i + 2, 1.8, [p], vel - 14) if i < 2 else None
            for beat in (0, 2) if len(row) > 1 else (0,):
                add(beat, 1.9, voicing(chord(beat), 60, 79, 67), vel - 8, 0.01)
        elif kind == "rhodes":
            pat = rng.choice([[(0, 1.5), (1.5, 2.5)], [(0, 0.75), (0.75, 3.25)], [(0, 3.5)]])
            for on, d in pat:
                add(on, d, voicing(chord(on), lo, hi, target), vel - 10, 0.01)
        elif kind == "ostinato":  # orchestral string spiccato eighths on the chord's root and fifth
            for i in range(8):
                c = chord(i / 2)
                r = _near(c[0], lo, lo + 11, lo + 5)
                add(i / 2, 0.3, [r, r + 7] if i % 2 == 0 else [r + 12], vel - (0 if i % 2 == 0 else 10))
        elif kind == "sustain_low":  # brass / low strings chords
            for i, c in enumerate(row):
                span = grid.beats_per_bar / len(row)
                add(i * span, span * 0.95, voicing(c, lo, hi, lo + 6)[:3], vel)
        else:
            raise ValueError(kind)
    return out


# ---------------------------------------------------------------- drums (GM notes)

K, S, CL, HH, OH, RD, CR, RIM, TL, TM, TH, PH = 36, 38, 39, 42, 46, 51, 49, 37, 43, 45, 48, 44

DRUM_PATTERNS = {  # 16 steps per bar: {note: [steps]}; velocities by step strength
    "rock": {K: [0, 8, 10], S: [4, 12], HH: [0, 2, 4, 6, 8, 10, 12, 14]},
    "rock_drive": {K: [0, 6, 8, 10], S: [4, 12], HH: [0, 2, 4, 6, 8, 10, 12, 14]},
    "rock_ride": {K: [0, 7, 8], S: [4, 12], RD: [0, 2, 4, 6, 8, 10, 12, 14]},
    "punk": {K: [0, 2, 6, 8, 10, 14], S: [4, 12], CR: [0, 4, 8, 12], HH: [2, 6, 10, 14]},
    "punk_skate": {K: [0, 4, 8, 12], S: [2, 6, 10, 14], RD: [0, 2, 4, 6, 8, 10, 12, 14]},
    "metal_double": {K: list(range(16)), S: [4, 12], CR: [0, 8], HH: [2, 6, 10, 14]},
    "metal_gallop": {K: [0, 3, 4, 8, 11, 12], S: [4, 12], RD: [0, 2, 4, 6, 8, 10, 12, 14]},
    "four_floor": {K: [0, 4, 8, 12], CL: [4, 12], OH: [2, 6, 10, 14], HH: [1, 3, 5, 7, 9, 11, 13, 15]},
    "techno": {K: [0, 4, 8, 12], HH: list(range(16)), OH: [2, 6, 10, 14], RIM: [3, 11, 14]},
    "trance": {K: [0, 4, 8, 12], CL: [4, 12], OH: [2, 6, 10, 14], HH: [0, 4, 8, 12]},
    "boom_bap": {K: [0, 7, 10], S: [4, 12], HH: [0, 2, 4, 6, 8, 10, 12, 14]},
    "boom_bap2": {K: [0, 3, 8, 10], S: [4, 12], HH: [0, 2, 4, 6, 8, 10, 12, 14], OH: [14]},
    "trap": {K: [0, 6, 11], CL: [8], HH: list(range(0, 16, 2)) + [13, 15]},
    "dnb": {K: [0, 10], S: [4, 12], HH: [0, 2, 4, 6, 8, 10, 12, 14], OH: [7]},
    "dnb_roll": {K: [0, 6, 10], S: [4, 12, 15], HH: list(range(16))},
    "one_drop": {K: [8], RIM: [8], HH: [0, 2, 4, 6, 8, 10, 12, 14], OH: [14]},
    "steppers": {K: [0, 4, 8, 12], RIM: [8], HH: [2, 6, 10, 14]},
    "synthpop": {K: [0, 8], S: [4, 12], HH: [0, 2, 4, 6, 8, 10, 12, 14]},
    "synthpop_drive": {K: [0, 6, 8], CL: [4, 12], HH: list(range(16))},
    "pop": {K: [0, 6, 8], S: [4, 12], HH: [0, 2, 4, 6, 8, 10, 12, 14]},
    "ballad": {K: [0, 10], S: [4, 12], HH: [0, 2, 4, 6, 8, 10, 12, 14]},
    "film": {TL: [0, 6, 8], TM: [12, 14], K: [0, 8]},
    "shaker": {70: list(range(0, 16, 2)), 54: [4, 12]},
    "funk": {K: [0, 3, 10], S: [4, 12], RIM: [7, 9, 15], HH: list(range(16)), OH: [14]},
}
ACCENT = {0: 1.0, 8: 0.92, 4: 0.95, 12: 0.95}


def drums(pattern: str, grid: Grid, rng: random.Random, bars: int, vel: int = 100, human_ms: float = 0.0,
          crash_every: int = 4, fills: bool = True, half_time: bool = False):
    pat = DRUM_PATTERNS[pattern]
    out = []
    for b in range(bars):
        fill = fills and b % 4 == 3 and rng.random() < 0.6
        for note, steps in pat.items():
            for st in steps:
                if fill and st >= 12 and note in (S, K, CL):
                    continue
                beat = st / 4.0
                a = ACCENT.get(st, 0.8 if st % 2 == 0 else 0.7)
                v = vel * a * (0.85 if note in (HH, OH, RD, 70) else 1.0) + rng.randint(-6, 6)
                t = grid.t(b, beat) + (rng.gauss(0, human_ms / 1000) if human_ms else 0.0)
                out.append((max(0.0, t), note, int(max(1, min(127, v)))))
        if fill:
            toms = [S, S, TH, TM, TL] if rng.random() < 0.6 else [S, S, S, S, S]
            for i, st in enumerate([12, 13, 14, 15]):
                out.append((grid.t(b, st / 4), toms[min(i + rng.randint(0, 1), len(toms) - 1)], int(vel * (0.75 + 0.07 * i))))
        if crash_every and b % crash_every == 0 and b > 0:
            out.append((grid.t(b, 0), CR, int(vel * 0.95)))
    out.sort()
    return out
