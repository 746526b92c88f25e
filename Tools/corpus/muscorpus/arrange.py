"""Arranger: turns a parsed work into a multi-track MIDI clip plus the exact attributes of that clip.

Everything random comes from the clip's own `random.Random`, so a clip depends only on
(seed, work, variant) and not on scheduling.
"""
from __future__ import annotations

import math
import re
from collections import Counter

from . import instruments as INS
from . import smf
from . import theory as T

GROOVES = ["rock", "electronic", "swing", "hiphop", "waltz", "latin", "ballad", "folk"]
GROOVE_METERS = {
    "rock": {"duple", "quadruple"}, "electronic": {"duple", "quadruple"}, "swing": {"duple", "quadruple"},
    "hiphop": {"duple", "quadruple"}, "latin": {"duple", "quadruple"}, "waltz": {"triple"},
    "ballad": {"duple", "quadruple", "triple", "compound"}, "folk": {"duple", "quadruple", "triple", "compound"},
}
GROOVE_BPM = {"rock": (100, 140), "electronic": (118, 130), "swing": (110, 168), "hiphop": (78, 96),
              "latin": (92, 124), "waltz": (84, 168), "ballad": (62, 84), "folk": (96, 124)}
DYN_LEVELS = ["pp", "p", "mp", "mf", "f", "ff"]
DYN_VEL = {"pp": 38, "p": 52, "mp": 66, "mf": 80, "f": 96, "ff": 112}
DYN_DB = {"pp": -9.0, "p": -6.0, "mp": -3.0, "mf": 0.0, "f": 2.0, "ff": 3.5}

# notes per second of the melody by form (sets the tempo when the score has no metronome mark)
FORM_NPS = {"reel": (6.5, 8.0), "jig": (5.5, 7.0), "slip jig": (5.5, 7.0), "hornpipe": (4.5, 6.0),
            "strathspey": (4.0, 5.0), "polka": (4.5, 6.0), "march": (3.5, 5.0), "waltz": (3.0, 4.5),
            "air": (1.6, 2.6), "clog dance": (4.5, 6.0), "fling": (4.5, 5.5), "set dance": (4.5, 6.0),
            "children's song": (2.8, 4.0), "ballad": (2.0, 3.2), "fife tune": (4.0, 5.5)}
CAT_NPS = {"folk": (2.6, 4.2), "chorale": (1.0, 1.3), "polyphony": (1.5, 2.6), "classical": (3.0, 5.5)}
COLL_NPS = {"trecento": (3.5, 5.0), "ciconia": (3.0, 4.5), "luca": (3.0, 4.5)}


def tempo_band(bpm: float) -> str:
    if bpm < 60:
        return "very slow"
    if bpm < 80:
        return "slow"
    if bpm < 108:
        return "medium"
    if bpm < 136:
        return "fast"
    return "very fast"


def dyn_from_velocity(v: float) -> str:
    return min(DYN_LEVELS, key=lambda d: abs(DYN_VEL[d] - v))


def register_of(pitches):
    if not pitches:
        return "mid", None
    s = sorted(pitches)
    med = s[len(s) // 2]
    return ("low" if med < 57 else "high" if med > 74 else "mid"), med


def ensemble_of(insts):
    """Ensemble label from the instrument list (each dict has family, name, role)."""
    fams = [i["family"] for i in insts]
    names = {i["name"] for i in insts}
    n = len(insts)
    if "drums" in fams and any(i["name"] == "drums" for i in insts):
        return "band"
    if all(f == "voice" for f in fams):
        return "choir" if n >= 2 else "solo"
    if n == 1 or len(names) == 1 and insts[0]["family"] in ("keyboard", "organ", "mallet", "harp", "guitar"):
        return "solo"
    orch_fams = {f for f in fams if f in ("strings", "brass", "woodwind")}
    if len(orch_fams) >= 3 and n >= 5 or (("strings" in orch_fams and n >= 6) and any(i["name"] == "timpani" for i in insts)):
        return "orchestra"
    if fams.count("voice") * 2 >= n and n >= 3:
        return "choir"
    return {2: "duo", 3: "trio", 4: "quartet"}.get(n, "ensemble")


class Builder:
    """Collects tracks; one channel per instrument track (channel 10 for drums)."""

    def __init__(self):
        self.tracks = []
        self.insts = []
        self._next = 0

    def add(self, program, role, name_hint=None, volume=100):
        if program is None:
            tr = smf.Track(channel=9, program=None, name="drums")
            self.insts.append({"program": None, "name": "drums", "family": "drums", "role": role})
        else:
            ch = self._next
            if ch == 9:
                ch += 1
            if ch > 15:  # out of channels: share the last one
                ch = 15
            self._next = ch + 1
            tr = smf.Track(channel=ch, program=program, name=name_hint or INS.info(program)[0])
            key, fam, _, _ = INS.info(program)
            self.insts.append({"program": program, "name": key, "family": fam, "role": role})
        tr.cc(0.0, 7, volume)
        self.tracks.append(tr)
        return tr


def _choose(rng, items):
    """Weighted choice from [(item, weight)] or uniform from a list."""
    if items and isinstance(items[0], tuple) and len(items[0]) == 2 and isinstance(items[0][1], (int, float)):
        tot = sum(w for _, w in items)
        x = rng.random() * tot
        for it, w in items:
            x -= w
            if x <= 0:
                return it
        return items[-1][0]
    return items[rng.randrange(len(items))]


# ------------------------------------------------------------------------- score works

PART_GM = [
    (r"violoncell|cello|vc\.", 42), (r"viola|vla", 41), (r"violin|vln|violino|fiddle", 40),
    (r"contrabass|double bass|kontraba", 43), (r"flute|flauto|fl\.", 73), (r"oboe", 68), (r"clarinet", 71),
    (r"bassoon|fagott", 70), (r"horn|corno", 60), (r"trumpet|tromba", 56), (r"trombone", 57), (r"tuba", 58),
    (r"timpani", 47), (r"piano|klavier|pianoforte|keyboard", 0), (r"harpsichord|cembalo", 6), (r"organ", 19),
    (r"guitar", 24), (r"harp", 46),
    (r"soprano|alto|tenor|bass|cantus|altus|bassus|quintus|sextus|superius|voice|voce|canto|triplum|motetus|contratenor", 52),
]


def part_program(name: str):
    n = name.lower()
    for rx, prog in PART_GM:
        if re.search(rx, n):
            return prog
    return None


def _median(xs):
    s = sorted(xs)
    return s[len(s) // 2] if s else 0


def _loop_piece(piece, needed_q, start_pref_q):
    """Concatenate copies of the piece until at least start + needed quarters are covered."""
    L = piece["length_q"]
    meas = piece["measures"]
    mlen = sum(m[1] for m in meas)
    L = max(L, mlen)
    reps = max(1, math.ceil((start_pref_q + needed_q) / L) + 1)
    parts = []
    for p in piece["parts"]:
        notes = []
        for k in range(reps):
            notes.extend((on + k * L, d, pit) for (on, d, pit) in p["notes"])
        parts.append({"name": p["name"], "notes": notes})
    measures = []
    for k in range(reps):
        measures.extend((s + k * L, d, a, b) for (s, d, a, b) in meas)
    return parts, measures, L, reps


def arrange_score(piece, work, rng, clip_s, variant, n_variants, style_override=None):
    cat = work["category"]
    parts = [p for p in piece["parts"] if p["notes"]]
    # highest part carries the melody
    means = [sum(n[2] for n in p["notes"]) / len(p["notes"]) for p in parts]
    order = sorted(range(len(parts)), key=lambda i: -means[i])
    parts = [parts[i] for i in order]
    nparts = len(parts)

    # predominant meter
    mc = Counter((m[2], m[3]) for m in piece["measures"])
    (num, den), cnt = mc.most_common(1)[0]
    mixed = cnt < 0.9 * len(piece["measures"])
    mi = T.meter_info(num, den)
    meter_class = "mixed" if mixed else mi["class"]

    # ---- arrangement choice
    groove_ok = [g for g in GROOVES if meter_class in GROOVE_METERS[g]]
    if cat == "folk":
        if nparts == 1:
            opts = [("solo", 22), ("solo_piano", 9), ("folk_band", 14), ("chamber", 8), ("orchestra", 4)]
        else:
            opts = [("chamber", 10), ("orchestra", 6), ("folk_band", 10), ("keyboard", 6)]
        if groove_ok:
            opts.append(("groove", 43))
    elif cat == "chorale":
        opts = [("choir", 18), ("organ", 12), ("strings", 14), ("brass", 12), ("woodwinds", 9), ("keyboard", 8),
                ("orchestra", 12)]
        if groove_ok:
            opts.append(("groove", 15))
    elif cat == "polyphony":
        opts = [("choir", 34), ("strings", 14), ("consort", 14), ("brass", 12), ("organ", 10), ("woodwinds", 8),
                ("ambient", 6)]
    else:  # classical
        progs = [part_program(p["name"]) for p in parts]
        opts = [("strings", 10), ("woodwinds", 8), ("orchestra", 10), ("keyboard", 10)]
        if all(pr is not None for pr in progs):
            opts.append(("original", 45))
        if work["collection"] == "joplin" and "swing" in groove_ok:
            opts.append(("groove", 15))
    style = style_override or _choose(rng, opts)
    groove = "none"
    if style == "groove":
        if cat == "folk" and work.get("style") in ("irish", "scottish", "fiddle", "english") and "folk" in groove_ok:
            weights = {g: (3 if g == "folk" else 2) for g in groove_ok}
        else:
            weights = {g: (1 if g == "folk" else 2) for g in groove_ok}
        if work["collection"] == "joplin":
            weights = {"swing": 1}
        groove = _choose(rng, sorted(weights.items()))

    # ---- tempo
    mel_notes = parts[0]["notes"]
    iois = [b[0] - a[0] for a, b in zip(mel_notes, mel_notes[1:]) if b[0] - a[0] > 1e-6]
    med_ioi = _median(iois) if iois else 1.0
    beat_q = mi["beat_q"]
    if groove != "none":
        lo, hi = GROOVE_BPM[groove]
        if groove == "waltz" and mi["beats"] == 1:
            lo, hi = 50, 66  # 3/8 waltzes: one beat per bar
        bpm = rng.uniform(lo, hi)
        source_qpm = piece["qpm"] or None
        scale = None
    else:
        nps_lo, nps_hi = FORM_NPS.get(work.get("form") or "",
                                      COLL_NPS.get(work["collection"], CAT_NPS.get(cat, (2.5, 4.0))))
        if piece["qpm"]:
            source_qpm = piece["qpm"]
        elif cat == "polyphony" and beat_q >= 2:
            source_qpm = 70.0 * beat_q  # alla breve: a calm half-note pulse around 70
        else:
            nps = (nps_lo + nps_hi) / 2
            source_qpm = nps * 60.0 * med_ioi
        scale = rng.uniform(0.85, 1.18)
        bpm = source_qpm * scale / beat_q
        lo_b, hi_b = {"polyphony": (48.0, 112.0), "chorale": (50.0, 92.0)}.get(cat, (40.0, 184.0))
        bpm = max(lo_b, min(hi_b, bpm))
    bpm = round(bpm, 1)
    qpm = bpm * beat_q
    if groove != "none":
        scale = round(qpm / piece["qpm"], 3) if piece["qpm"] else None
    sec_per_q = 60.0 / qpm
    needed_q = clip_s / sec_per_q + 0.001

    # ---- window: spread the variants of one work over the piece
    L0 = max(piece["length_q"], sum(m[1] for m in piece["measures"]))
    first_span = max(0.0, L0 - needed_q)
    if n_variants > 1 and first_span > 0:
        seg = first_span / n_variants
        pref = variant * seg + rng.random() * seg
    else:
        pref = 0.0 if (rng.random() < 0.4 or first_span <= 0) else rng.random() * first_span
    parts_l, measures_l, L, reps = _loop_piece(piece, needed_q, pref)
    starts = [m[0] for m in measures_l if m[0] <= pref + 1e-6]
    s_q = starts[-1] if starts else 0.0
    # prefer a full bar start (skip a pickup unless we start at the very top)
    e_q = s_q + needed_q
    loops = int(e_q // L) if L > 0 else 0
    win_measures = [m for m in measures_l if s_q - 1e-6 <= m[0] < e_q]

    def cut(notes):
        out = []
        for on, d, p in notes:
            if s_q - 1e-6 <= on < e_q:
                out.append((round(on - s_q, 4), min(d, e_q + 1.0 - on), p))
        return out

    wparts = [{"name": p["name"], "notes": cut(p["notes"])} for p in parts_l]
    wparts = [p for p in wparts if p["notes"]] or wparts[:1]
    win_measures = [(round(m[0] - s_q, 4), m[1], m[2], m[3]) for m in win_measures]
    all_notes = [n for p in wparts for n in p["notes"]]
    if len(all_notes) < 4:
        raise ValueError("window has almost no notes")

    # ---- key of the window (before transposition)
    hist = T.pc_histogram(all_notes)
    if piece.get("key_notated"):
        tonic, mode = piece["key_notated"]
        key_source = "notated"
    else:
        tonic, mode, _ = T.estimate_key(hist, piece.get("key_sharps"))
        key_source = "signature+profile" if piece.get("key_sharps") is not None else "profile"

    # ---- transposition
    if style == "choir" or style == "original":
        tr = rng.choice([-2, -1, 0, 0, 0, 1, 2])
    else:
        tr = rng.randint(-5, 6)
    tonic_t = (tonic + tr) % 12
    for p in wparts:
        p["notes"] = [(on, d, pit + tr) for (on, d, pit) in p["notes"]]
    mel = wparts[0]["notes"]
    melody_mono = nparts == 1

    # ---- dynamics
    dyn_w = {"pp": 1, "p": 3, "mp": 4, "mf": 4, "f": 3, "ff": 1}
    if groove in ("rock", "electronic"):
        dyn_w = {"mf": 2, "f": 4, "ff": 3}
    elif groove in ("ballad", "hiphop") or style in ("ambient",):
        dyn_w = {"pp": 1, "p": 3, "mp": 4, "mf": 2}
    elif style == "orchestra":
        dyn_w = {"p": 2, "mp": 3, "mf": 3, "f": 3, "ff": 2}
    elif style in ("solo",):
        dyn_w = {"pp": 2, "p": 4, "mp": 4, "mf": 3, "f": 2}
    dyn = _choose(rng, sorted(dyn_w.items(), key=lambda kv: DYN_LEVELS.index(kv[0])))
    profile = _choose(rng, [("steady", 70), ("crescendo", 15), ("decrescendo", 15)])
    base_vel = DYN_VEL[dyn]
    total_q = needed_q

    def vel_at(q, accent=0.0, jitter=5):
        v = base_vel
        if profile == "crescendo":
            v += -18 + 30 * (q / total_q)
        elif profile == "decrescendo":
            v += 12 - 30 * (q / total_q)
        v += accent + rng.uniform(-jitter, jitter)
        return max(8, min(127, v))

    # metric accent helper
    bar_starts = [m[0] for m in win_measures] or [0.0]

    def accent(q):
        # downbeat +8, other beats +3
        import bisect
        i = bisect.bisect_right(bar_starts, q + 1e-6) - 1
        rel = q - bar_starts[max(0, i)]
        if abs(rel) < 1e-4:
            return 8
        if abs(rel / beat_q - round(rel / beat_q)) < 1e-4:
            return 3
        return 0

    swing = groove == "swing"

    def tsec(q):
        if swing:
            b = math.floor(q / beat_q + 1e-9)
            f = q / beat_q - b
            f = f * (2 / 3) / 0.5 if f <= 0.5 else 2 / 3 + (f - 0.5) * (1 / 3) / 0.5
            q = (b + f) * beat_q
        return q * sec_per_q

    human = 0.006 if groove not in ("electronic",) else 0.0

    B = Builder()

    def play(track, notes, lo, hi, vel_offset=0, legato=0.95, fold_range=True, min_dur=0.05):
        for on, d, p in notes:
            if fold_range:
                p = T.fold(p, lo, hi)
            t0 = tsec(on) + (rng.uniform(-human, human) if human and on > 0 else 0.0)
            t1 = tsec(on + d)
            track.note(max(0.0, t0), max(min_dur, (t1 - max(0.0, t0)) * legato), p,
                       vel_at(on, accent(on)) + vel_offset)

    def place(prog, notes, target_frac=0.5, shift_extra=0):
        _, _, (lo, hi), _ = INS.info(prog)
        target = lo + target_frac * (hi - lo)
        sh = T.fit_octave([n[2] for n in notes], lo, hi, target) + shift_extra
        return [(on, d, p + sh) for (on, d, p) in notes], lo, hi

    # harmony windows (needed for accompaniments)
    def harmony():
        wins = []
        for (ms, md, a, b) in win_measures:
            info = T.meter_info(a, b)
            if info["beats"] == 4 and md >= 4 * info["beat_q"] - 1e-6 and info["class"] != "compound":
                half = md / 2
                wins += [(ms, ms + half), (ms + half, ms + md)]
            else:
                wins.append((ms, ms + md))
        if not wins:
            wins = [(0.0, needed_q)]
        src = [n for p in wparts for n in p["notes"]]
        bass = wparts[-1]["notes"] if len(wparts) >= 3 else None
        return T.harmonize(src, wins, tonic_t, mode, beat_q, bass)

    melody_pitches = []
    texture = "monophonic" if (melody_mono and style == "solo") else (
        "polyphonic" if cat == "polyphony" and style not in ("groove",) else "homophonic")
    if cat == "classical" and style != "groove" and nparts >= 3 and work["collection"] in ("beethoven", "haydn", "mozart"):
        texture = "homophonic"

    # ------------------------------------------------------------------ styles
    if style == "solo":
        prog = _choose(rng, _solo_choices(work))
        notes, lo, hi = place(prog, mel, 0.45)
        tr_ = B.add(prog, "melody")
        play(tr_, notes, lo, hi)
        melody_pitches = [n[2] for n in notes]
        if nparts > 1:
            for p in wparts[1:]:
                n2, _, _ = place(prog, p["notes"], 0.3)
                play(tr_, n2, lo, hi, -6)
            texture = "polyphonic" if cat == "polyphony" else "homophonic"

    elif style == "solo_piano" or (style == "keyboard" and nparts == 1):
        prog = _choose(rng, [(0, 6), (1, 1), (4, 1), (6, 1)] if cat != "folk" else [(0, 6), (4, 1), (1, 1), (3, 1)])
        tr_ = B.add(prog, "melody")
        notes, lo, hi = place(prog, mel, 0.62)
        play(tr_, notes, 55, 96)
        melody_pitches = [n[2] for n in notes]
        chords = harmony()
        _piano_lh(tr_, chords, win_measures, rng, tsec, vel_at, meter_class, beat_q)
        texture = "homophonic"

    elif style == "keyboard":
        prog = _choose(rng, [(0, 5), (6, 2 if work["era"] in ("baroque", "renaissance") else 0.3), (19, 1),
                             (4, 0.5)])
        tr_ = B.add(prog, "melody")
        for i, p in enumerate(wparts):
            sh = T.fit_octave([n[2] for n in p["notes"]], 36, 90, 74 - i * 8)
            play(tr_, [(on, d, pit + sh) for on, d, pit in p["notes"]], 21, 108, -4 if i else 0)
            if i == 0:
                melody_pitches = [n[2] + sh for n in p["notes"]]

    elif style == "organ":
        prog = _choose(rng, [(19, 6), (20, 2), (16, 1)])
        tr_ = B.add(prog, "melody")
        for i, p in enumerate(wparts):
            sh = T.fit_octave([n[2] for n in p["notes"]], 36, 88, 72 - i * 7)
            play(tr_, [(on, d, pit + sh) for on, d, pit in p["notes"]], 24, 96, 0, legato=0.98)
            if i == 0:
                melody_pitches = [n[2] + sh for n in p["notes"]]

    elif style in ("choir", "strings", "brass", "woodwinds", "consort", "ambient", "original"):
        progs = _ensemble_programs(style, wparts, rng, work)
        for i, (p, prog) in enumerate(zip(wparts, progs)):
            role = "melody" if i == 0 else ("bass" if i == len(wparts) - 1 and len(wparts) > 1 else "harmony")
            tr_ = B.add(prog, role, volume=100 if i == 0 else 92)
            _, _, (lo, hi), _ = INS.info(prog)
            sh = 0 if style in ("choir", "original") else T.fit_octave([n[2] for n in p["notes"]], lo, hi,
                                                                        lo + 0.5 * (hi - lo))
            if style in ("choir", "original"):
                lo, hi = max(lo - 6, 24), min(hi + 6, 108)
            notes = [(on, d, pit + sh) for on, d, pit in p["notes"]]
            play(tr_, notes, lo, hi, 4 if i == 0 else 0, legato=0.97)
            if i == 0:
                melody_pitches = [n[2] for n in notes]
        if style == "ambient":
            chords = harmony()
            pad = B.add(_choose(rng, [89, 88, 94, 91]), "pad", volume=70)
            _pads(pad, chords, tsec, vel_at, -12)

    elif style in ("chamber", "orchestra"):
        melody_pitches = _orchestral(style, B, wparts, mel, rng, place, play, harmony, tsec, vel_at, win_measures,
                                     beat_q, melody_mono)
        if style == "chamber" and melody_mono:
            texture = "homophonic"

    elif style == "folk_band":
        lead = _choose(rng, [(110, 4), (78, 3), (73, 2), (21, 3), (105, 1), (40, 1), (22, 1)])
        notes, lo, hi = place(lead, mel, 0.45)
        tl = B.add(lead, "melody")
        play(tl, notes, lo, hi, 4)
        melody_pitches = [n[2] for n in notes]
        if rng.random() < 0.5:
            second = _choose(rng, [p for p in [(78, 2), (73, 2), (21, 2), (110, 2), (22, 1)] if p[0] != lead])
            n2, lo2, hi2 = place(second, mel, 0.55)
            t2 = B.add(second, "melody")
            play(t2, n2, lo2, hi2, -6)
        chords = harmony()
        gprog = _choose(rng, [(25, 3), (24, 2), (105, 1) if lead != 105 else (25, 1)])
        tg = B.add(gprog, "harmony", volume=88)
        _strum(tg, chords, win_measures, rng, tsec, vel_at, beat_q, mi["sub"])
        if rng.random() < 0.6:
            tb = B.add(_choose(rng, [(32, 3), (33, 1)]), "bass", volume=95)
            _bass(tb, chords, win_measures, "folk", rng, tsec, vel_at, beat_q, mi["sub"])
        texture = "homophonic"

    elif style == "groove":
        melody_pitches = _groove(groove, B, mel, wparts, rng, place, play, harmony, tsec, vel_at, win_measures,
                                 beat_q, mi, needed_q, cat)
        texture = "homophonic"

    else:
        raise ValueError(f"unknown style {style}")

    # reverb / space
    space_w = [("dry", 2), ("room", 5), ("hall", 3)]
    if style in ("choir", "organ", "orchestra") or cat in ("chorale", "polyphony"):
        space_w = [("room", 3), ("hall", 6)]
    if groove in ("rock", "hiphop", "electronic"):
        space_w = [("dry", 4), ("room", 5), ("hall", 1)]
    space = _choose(rng, space_w)
    send = {"dry": 12, "room": 45, "hall": 85}[space]
    for tr_ in B.tracks:
        tr_.cc(0.0, 91, send)
        tr_.cc(0.0, 93, 10 if groove in ("electronic", "ballad") else 0)

    end_s = clip_s + 2.0
    reg, med = register_of(melody_pitches)
    insts = _dedupe_insts(B.insts)
    mode_class = T.MODE_CLASS.get(mode, "major")
    attrs = {
        "category": cat,
        "arrangement": style,
        "groove": groove,
        "instruments": insts,
        "families": sorted({i["family"] for i in insts}),
        "ensemble": "orchestra" if style == "orchestra" else ensemble_of(B.insts),
        "ensemble_size": len(B.insts),
        "tempo_bpm": bpm,
        "tempo_band": tempo_band(bpm),
        "tempo_scale": scale if scale is None else round(scale, 3),
        "beat_unit": {1.0: "quarter", 1.5: "dotted quarter", 2.0: "half", 0.5: "eighth", 3.0: "dotted half",
                      4.0: "whole"}.get(beat_q, str(beat_q)),
        "meter": f"{num}/{den}",
        "meter_class": meter_class,
        "key": f"{T.PC_NAMES[tonic_t]} {mode}",
        "tonic": T.PC_NAMES[tonic_t],
        "mode": mode,
        "mode_class": mode_class,
        "key_source": key_source,
        "transpose": tr,
        "dynamics": dyn,
        "dynamics_profile": profile,
        "register": reg,
        "melody_median_pitch": med,
        "texture": texture,
        "space": space,
        "clip_start_q": round(s_q % L if L else s_q, 3),
        "loops": loops,
        "repeats": piece.get("repeats"),
        "n_notes": sum(1 for t in B.tracks for e in t.events if e[1] == 2),
    }
    return {"tracks": B.tracks, "end_s": end_s, "attributes": attrs}


def _dedupe_insts(insts):
    seen, out = set(), []
    for i in insts:
        k = (i["program"], i["role"])
        if k in seen:
            continue
        seen.add(k)
        out.append(i)
    return out


def _solo_choices(work):
    st = work.get("style")
    if work["category"] == "folk":
        base = [(110, 4), (40, 2), (73, 4), (78, 3), (21, 3), (22, 2), (74, 2), (71, 2), (68, 1), (46, 2),
                (24, 2), (25, 1), (105, 1), (75, 1), (79, 1), (12, 1), (11, 1), (10, 1), (15, 1), (0, 2), (42, 2),
                (69, 1), (70, 1), (57, 1)]
        if st == "scottish":
            base.append((109, 3))
        if st == "chinese":
            base += [(107, 3), (75, 2), (111, 1)]
        return base
    return [(40, 3), (73, 2), (71, 2), (68, 2), (42, 3), (70, 1), (0, 2), (24, 1)]


def _ensemble_programs(style, parts, rng, work):
    n = len(parts)
    if style == "original":
        out = []
        for p in parts:
            pr = part_program(p["name"])
            out.append(53 if pr == 52 and n == 1 else (pr if pr is not None else 0))
        return out
    if style == "choir":
        prog = _choose(rng, [(52, 5), (53, 3)])
        return [prog] * n
    if style == "strings":
        if n == 1:
            return [40]
        if n == 2:
            return [40, 42]
        if n == 3:
            return [40, 41, 42]
        if n == 4:
            return [40, 40, 41, 42]
        if n == 5:
            return [40, 40, 41, 41, 42]
        return [48] * (n - 1) + [43]
    if style == "brass":
        seq = [56, 56, 60, 57, 58] if n != 4 else [56, 60, 57, 58]
        if n > 5:
            seq = [56, 56, 60, 60] + [57] * (n - 5) + [58]
        return (seq + [57] * n)[:n] if n <= len(seq) else seq[:n]
    if style == "woodwinds":
        seq = {1: [73], 2: [73, 70], 3: [73, 71, 70], 4: [73, 68, 71, 70], 5: [73, 68, 71, 69, 70]}.get(n)
        return seq or ([73, 68] + [71] * (n - 3) + [70])
    if style == "consort":
        # recorders over viols
        top = [74] * min(2, n - 1) if n > 1 else [74]
        return (top + [41] * max(0, n - len(top) - 1) + [42])[:n] if n > 1 else [74]
    if style == "ambient":
        voices = [54, 91, 89, 88, 94, 95]
        return [voices[i % len(voices)] for i in range(n)]
    return [0] * n


def _pads(track, chords, tsec, vel_at, voff=-8, lo=52, hi=72):
    prev = None
    for (s, e, root, q, _) in chords:
        v = T.voice_chord(T.chord_pcs(root, q), prev, lo, hi)
        prev = v
        for p in v:
            track.note(tsec(s), max(0.1, tsec(e) - tsec(s)), p, vel_at(s, 0, 2) + voff)


def _piano_lh(track, chords, measures, rng, tsec, vel_at, meter_class, beat_q):
    pattern = _choose(rng, {"triple": [("waltz", 3), ("arpeggio", 1), ("block", 1)],
                            "compound": [("arpeggio", 3), ("block", 1)]}.get(meter_class,
                                                                          [("alberti", 2), ("block", 2),
                                                                           ("arpeggio", 2), ("stride", 1)]))
    prev = None
    for (s, e, root, q, _) in chords:
        pcs = T.chord_pcs(root, q)
        v = T.voice_chord(pcs, prev, 48, 64)
        prev = v
        bass = T.fold(root + 36, 36, 47)
        dur = e - s
        if pattern == "block":
            track.note(tsec(s), tsec(e) - tsec(s), bass, vel_at(s, 4) - 8)
            for p in v:
                track.note(tsec(s), (tsec(e) - tsec(s)) * 0.95, p, vel_at(s) - 14)
        elif pattern == "waltz":
            nb = max(1, round(dur / beat_q))
            track.note(tsec(s), tsec(s + beat_q) - tsec(s), bass, vel_at(s, 4) - 6)
            for k in range(1, nb):
                for p in v:
                    track.note(tsec(s + k * beat_q), (tsec(s + (k + 0.8) * beat_q) - tsec(s + k * beat_q)), p,
                               vel_at(s) - 16)
        elif pattern == "stride":
            nb = max(1, round(dur / beat_q))
            for k in range(nb):
                t = s + k * beat_q
                if k % 2 == 0:
                    track.note(tsec(t), tsec(t + beat_q * 0.9) - tsec(t), bass - (12 if bass >= 43 else 0),
                               vel_at(t, 4) - 6)
                else:
                    for p in v:
                        track.note(tsec(t), tsec(t + beat_q * 0.7) - tsec(t), p, vel_at(t) - 14)
        else:
            seq = [bass, v[-1], v[1] if len(v) > 1 else v[0], v[-1]] if pattern == "alberti" else \
                  [bass, bass + 7, v[0] + 12 if v[0] + 12 < 72 else v[0], v[-1]]
            step = beat_q / (3 if meter_class == "compound" else 2)
            k = 0
            t = s
            while t < e - 1e-6:
                p = seq[k % len(seq)]
                track.note(tsec(t), tsec(t + step * 1.6) - tsec(t), p, vel_at(t, 2) - (6 if k % len(seq) == 0 else 14))
                t += step
                k += 1


def _strum(track, chords, measures, rng, tsec, vel_at, beat_q, sub):
    prev = None
    for (s, e, root, q, _) in chords:
        v = T.voice_chord(T.chord_pcs(root, q) + [root % 12], None, 50, 67)
        v = sorted(set(v + [T.fold(root + 40, 40, 51)]))
        prev = v
        step = beat_q / sub
        t, k = s, 0
        while t < e - 1e-6:
            down = k % sub == 0
            stagger = 0.008
            order = v if down else list(reversed(v))
            for j, p in enumerate(order):
                track.note(tsec(t) + j * stagger, max(0.05, tsec(t + step) - tsec(t)) * 0.9, p,
                           vel_at(t, 4 if down else 0) - (10 if down else 20))
            t += step
            k += 1


def _bass(track, chords, measures, kind, rng, tsec, vel_at, beat_q, sub, lo=28, hi=52):
    for i, (s, e, root, q, _) in enumerate(chords):
        pcs = T.chord_pcs(root, q)
        r = T.fold(root + 36, lo + 4, lo + 15)
        fifth = T.fold(pcs[2] + 36, r - 5, r + 7)
        nxt = chords[i + 1][2] if i + 1 < len(chords) else root
        nr = T.fold(nxt + 36, lo + 4, lo + 15)
        dur = e - s
        nb = max(1, int(round(dur / beat_q)))
        if kind == "rock":
            t = s
            while t < e - 1e-6:
                track.note(tsec(t), (tsec(t + 0.5 * beat_q) - tsec(t)) * 0.85, r, vel_at(t, 6) - 4)
                t += 0.5 * beat_q
        elif kind == "electronic":
            for k in range(nb):
                t = s + k * beat_q + 0.5 * beat_q
                track.note(tsec(t), (tsec(t + 0.5 * beat_q) - tsec(t)) * 0.8, r + (12 if k % 2 else 0), vel_at(t, 6))
        elif kind == "swing":
            walk = [r, T.fold(pcs[1] + 36, r, r + 12), fifth, nr + (1 if rng.random() < 0.5 else -1)]
            for k in range(nb):
                t = s + k * beat_q
                p = walk[k] if k < 3 or nb < 4 else walk[3]
                if k == nb - 1 and nb >= 2:
                    p = nr + (1 if rng.random() < 0.5 else -1)
                track.note(tsec(t), (tsec(t + beat_q) - tsec(t)) * 0.9, p, vel_at(t, 3))
        elif kind == "hiphop":
            for pos, ln in [(0.0, 0.7), (0.75, 0.25), (1.5, 0.4)]:
                if pos * beat_q < dur - 1e-6:
                    t = s + pos * beat_q
                    track.note(tsec(t), tsec(t + ln * beat_q) - tsec(t), r, vel_at(t, 6))
        elif kind == "latin":
            for pos, p in [(0.0, r), (1.5, fifth), (2.0, r), (3.5, fifth)]:
                if pos * beat_q < dur - 1e-6:
                    t = s + pos * beat_q
                    track.note(tsec(t), (tsec(t + 0.5 * beat_q) - tsec(t)) * 0.9, p, vel_at(t, 4))
        elif kind == "waltz":
            track.note(tsec(s), (tsec(s + beat_q) - tsec(s)) * 0.9, r if i % 2 == 0 else fifth, vel_at(s, 6))
        elif kind == "ballad":
            track.note(tsec(s), (tsec(e) - tsec(s)) * 0.95, r, vel_at(s, 4))
        else:  # folk: root / fifth on the beats
            for k in range(nb):
                if k % 2 == 1 and nb > 1 and sub == 2:
                    continue
                t = s + k * beat_q
                track.note(tsec(t), (tsec(t + beat_q) - tsec(t)) * 0.8, r if k % 4 == 0 else fifth, vel_at(t, 4))


# drum kit notes
KICK, SIDE, SNARE, CLAP, CHH, PHH, OHH, CRASH, RIDE, LTOM, MTOM, TAMB, SHAKER = 36, 37, 38, 39, 42, 44, 46, 49, 51, 45, 47, 54, 70


def _drums(track, groove, measures, rng, tsec, vel_at, beat_q, sub, total_q):
    """Procedural drum grooves on the bars of the clip (partial pickup bars get no pattern)."""
    fill_every = rng.choice([4, 8])
    for bi, (ms, md, a, b) in enumerate(measures):
        info = T.meter_info(a, b)
        nb = info["beats"]
        if md < nb * info["beat_q"] - 1e-6:
            continue
        hits = []
        bq = info["beat_q"]
        if groove == "rock":
            for k in range(nb):
                hits.append((k, KICK if k % 2 == 0 else SNARE, 10))
                if k % 2 == 0 and rng.random() < 0.35:
                    hits.append((k + 0.5, KICK, 0))
                hits.append((k, CHH, 0))
                hits.append((k + 0.5, CHH, -12))
        elif groove == "electronic":
            for k in range(nb):
                hits.append((k, KICK, 12))
                if k % 2 == 1:
                    hits.append((k, CLAP, 6))
                hits.append((k + 0.5, OHH, -4))
                for x in (0.25, 0.75):
                    hits.append((k + x, CHH, -18))
        elif groove == "hiphop":
            for k in range(nb):
                if k % 2 == 0:
                    hits.append((k, KICK, 10))
                    hits.append((k + 0.75, KICK, -6)) if k == 0 else hits.append((k + 0.5, KICK, -2))
                else:
                    hits.append((k, SNARE, 10))
                for x in (0.0, 0.5):
                    hits.append((k + x + (0.08 if x else 0.0), CHH, -10 if x else -4))
        elif groove == "swing":
            for k in range(nb):
                hits.append((k, RIDE, 0))
                if k % 2 == 1:
                    hits.append((k + 2 / 3, RIDE, -10))
                    hits.append((k, PHH, -6))
                if rng.random() < 0.2:
                    hits.append((k + 2 / 3, SNARE, -30))
                if k == 0:
                    hits.append((k, KICK, -20))
        elif groove == "latin":
            clave = [0.0, 1.5, 3.0] if bi % 2 == 0 else [1.0, 2.5]
            for x in clave:
                if x < nb:
                    hits.append((x, SIDE, 0))
            for x in (0.0, 1.5, 2.0, 3.5):
                if x < nb:
                    hits.append((x, KICK, -4))
            k = 0.0
            while k < nb - 1e-6:
                hits.append((k, SHAKER, -14 if k % 1 == 0 else -6))
                k += 0.5
        elif groove == "waltz":
            hits.append((0, KICK, 4))
            for k in range(1, nb):
                hits.append((k, SNARE, -26))
                hits.append((k, CHH, -10))
            if nb == 1:
                hits.append((1 / 3, CHH, -14))
                hits.append((2 / 3, CHH, -14))
        elif groove == "ballad":
            for k in range(nb):
                if k == 0 or (k == 2 and nb == 4):
                    hits.append((k, KICK, 0))
                if (k % 2 == 1) or (nb == 3 and k == 2):
                    hits.append((k, SIDE if rng.random() < 0.6 else SNARE, -8))
                for j in range(info["sub"]):
                    hits.append((k + j / info["sub"], CHH, -20 if j else -12))
        elif groove == "folk":
            for k in range(nb):
                hits.append((k, LTOM, 6 if k == 0 else 0))
                for j in range(1, info["sub"]):
                    hits.append((k + j / info["sub"], MTOM, -16))
                if info["sub"] == 2:
                    hits.append((k + 0.5, TAMB, -18))
        # fills and crashes
        if bi == 0 or (bi % 8 == 0):
            hits.append((0, CRASH, 0))
        if groove in ("rock", "ballad", "folk") and bi % fill_every == fill_every - 1 and nb >= 2:
            hits = [h for h in hits if h[0] < nb - 1]
            for j in range(info["sub"] * 1):
                hits.append((nb - 1 + j / info["sub"], [SNARE, MTOM, LTOM][j % 3], 0))
        for pos, note, acc in hits:
            q = ms + pos * bq
            if q >= total_q:
                continue
            # kits sit higher in a mix than the dynamics level alone would put them
            track.note(tsec(q), 0.12, note, 76 + 0.6 * (vel_at(q, acc, 4) - 64))


def _groove(groove, B, mel, wparts, rng, place, play, harmony, tsec, vel_at, measures, beat_q, mi, total_q, cat):
    chords = harmony()
    sub = mi["sub"]
    lead_opts = {
        "rock": [(29, 3), (30, 2), (81, 2), (16, 2), (56, 1), (66, 1)],
        "electronic": [(81, 4), (80, 3), (5, 2), (90, 1), (12, 1)],
        "swing": [(66, 3), (65, 3), (56, 2), (71, 2), (11, 2), (57, 1), (59, 1), (26, 1)],
        "hiphop": [(73, 2), (11, 2), (4, 3), (59, 2), (66, 1), (12, 1), (81, 1)],
        "latin": [(73, 3), (65, 2), (11, 2), (24, 2), (56, 1), (22, 1)],
        "waltz": [(21, 4), (40, 3), (73, 2), (71, 2), (0, 2), (10, 1)],
        "ballad": [(73, 2), (40, 2), (4, 2), (0, 2), (42, 2), (24, 2), (68, 1), (65, 1)],
        "folk": [(110, 4), (78, 3), (73, 2), (21, 2), (105, 1), (22, 1), (109, 1)],
    }[groove]
    lead = _choose(rng, lead_opts)
    notes, lo, hi = place(lead, mel, 0.5)
    tl = B.add(lead, "melody", volume=110)
    play(tl, notes, lo, hi, 8 if groove in ("rock", "electronic") else 4)
    melody_pitches = [n[2] for n in notes]

    # harmony instrument
    if groove == "rock":
        gp = _choose(rng, [(30, 3), (29, 2), (27, 1)])
        tg = B.add(gp, "harmony", volume=86)
        for (s, e, root, q, _) in chords:
            r = T.fold(root + 36, 40, 51)
            t = s
            while t < e - 1e-6:
                for p in (r, r + 7, r + 12):
                    tg.note(tsec(t), (tsec(t + 0.5 * beat_q) - tsec(t)) * 0.8, p, vel_at(t, 4) - 8)
                t += 0.5 * beat_q
        bass_prog, bkind = _choose(rng, [(34, 3), (33, 2)]), "rock"
    elif groove == "electronic":
        tp = B.add(_choose(rng, [(89, 2), (90, 2), (95, 1), (88, 1)]), "pad", volume=76)
        _pads(tp, chords, tsec, vel_at, -10, 55, 74)
        if rng.random() < 0.6:
            ta = B.add(_choose(rng, [(80, 2), (81, 1), (5, 1)]), "harmony", volume=70)
            for (s, e, root, q, _) in chords:
                v = T.voice_chord(T.chord_pcs(root, q), None, 60, 76)
                t, k = s, 0
                while t < e - 1e-6:
                    ta.note(tsec(t), (tsec(t + 0.25 * beat_q) - tsec(t)) * 0.7, v[k % len(v)], vel_at(t) - 18)
                    t += 0.25 * beat_q
                    k += 1
        bass_prog, bkind = _choose(rng, [(38, 3), (39, 2)]), "electronic"
    elif groove == "hiphop":
        te = B.add(_choose(rng, [(4, 3), (5, 1), (89, 1)]), "harmony", volume=80)
        prev = None
        for (s, e, root, q, _) in chords:
            v = T.voice_chord(T.chord_pcs(root, q, seventh=True), prev, 52, 70)
            prev = v
            for p in v:
                te.note(tsec(s), (tsec(e) - tsec(s)) * 0.9, p, vel_at(s) - 14)
        bass_prog, bkind = _choose(rng, [(33, 2), (38, 2), (35, 1)]), "hiphop"
    elif groove == "swing":
        tp = B.add(_choose(rng, [(0, 3), (26, 1), (4, 1)]), "harmony", volume=82)
        prev = None
        for (s, e, root, q, _) in chords:
            v = T.voice_chord(T.chord_pcs(root, q, seventh=True), prev, 50, 68)
            prev = v
            for pos in (0.0, 1.5):
                if pos * beat_q < e - s - 1e-6:
                    t = s + pos * beat_q
                    for p in v:
                        tp.note(tsec(t), (tsec(t + 0.6 * beat_q) - tsec(t)), p, vel_at(t, 2) - 16)
        bass_prog, bkind = 32, "swing"
    elif groove == "latin":
        tg = B.add(_choose(rng, [(24, 4), (0, 1), (4, 1)]), "harmony", volume=84)
        prev = None
        for (s, e, root, q, _) in chords:
            v = T.voice_chord(T.chord_pcs(root, q, seventh=rng.random() < 0.5), prev, 50, 67)
            prev = v
            for pos in (0.0, 1.0, 1.5, 2.5, 3.0):
                if pos * beat_q < e - s - 1e-6:
                    t = s + pos * beat_q
                    for p in v:
                        tg.note(tsec(t), (tsec(t + 0.45 * beat_q) - tsec(t)), p, vel_at(t, 2) - 16)
        if rng.random() < 0.4:
            ts_ = B.add(49, "pad", volume=64)
            _pads(ts_, chords, tsec, vel_at, -18, 55, 72)
        bass_prog, bkind = _choose(rng, [(33, 2), (32, 2)]), "latin"
    elif groove == "waltz":
        tp = B.add(_choose(rng, [(0, 3), (21, 2), (48, 1), (24, 1)]), "harmony", volume=80)
        prev = None
        for (s, e, root, q, _) in chords:
            v = T.voice_chord(T.chord_pcs(root, q), prev, 53, 70)
            prev = v
            nb = max(1, round((e - s) / beat_q))
            for k in range(1, nb):
                t = s + k * beat_q
                for p in v:
                    tp.note(tsec(t), (tsec(t + 0.7 * beat_q) - tsec(t)), p, vel_at(t) - 14)
        bass_prog, bkind = _choose(rng, [(32, 2), (58, 1), (33, 1)]), "waltz"
    elif groove == "ballad":
        tp = B.add(_choose(rng, [(0, 3), (4, 2), (24, 1)]), "harmony", volume=80)
        _piano_lh(tp, chords, measures, rng, tsec, vel_at, mi["class"], beat_q)
        if rng.random() < 0.6:
            ts_ = B.add(_choose(rng, [(49, 2), (48, 1), (89, 1)]), "pad", volume=66)
            _pads(ts_, chords, tsec, vel_at, -16, 55, 74)
        bass_prog, bkind = _choose(rng, [(33, 2), (35, 2), (32, 1)]), "ballad"
    else:  # folk
        tg = B.add(_choose(rng, [(25, 3), (24, 2)]), "harmony", volume=86)
        _strum(tg, chords, measures, rng, tsec, vel_at, beat_q, sub)
        bass_prog, bkind = _choose(rng, [(32, 2), (33, 1)]), "folk"
    tb = B.add(bass_prog, "bass", volume=100)
    _bass(tb, chords, measures, bkind, rng, tsec, vel_at, beat_q, sub)
    td = B.add(None, "drums", volume=127 if groove not in ("ballad", "waltz") else 112)
    _drums(td, groove, measures, rng, tsec, vel_at, beat_q, sub, total_q)
    return melody_pitches


def _orchestral(style, B, wparts, mel, rng, place, play, harmony, tsec, vel_at, measures, beat_q, mono):
    if style == "chamber":
        lead = _choose(rng, [(68, 3), (71, 3), (40, 3), (73, 3), (42, 2), (60, 1), (69, 1)])
        notes, lo, hi = place(lead, mel, 0.45)
        tl = B.add(lead, "melody", volume=110)
        play(tl, notes, lo, hi, 6)
        mp = [n[2] for n in notes]
        if mono:
            chords = harmony()
            acc = _choose(rng, [("strings", 3), ("harp", 2), ("piano", 2)])
            if acc == "strings":
                tp = B.add(48, "pad", volume=78)
                _pads(tp, chords, tsec, vel_at, -12, 50, 70)
                tb = B.add(45 if rng.random() < 0.5 else 42, "bass", volume=90)
                _bass(tb, chords, measures, "ballad", rng, tsec, vel_at, beat_q, 2, 36, 55)
            else:
                tp = B.add(46 if acc == "harp" else 0, "harmony", volume=84)
                _piano_lh(tp, chords, measures, rng, tsec, vel_at, "compound" if acc == "harp" else "quadruple",
                          beat_q)
        else:
            progs = [48] * (len(wparts) - 2) + [42]
            for p, prog in zip(wparts[1:], progs):
                n2, l2, h2 = place(prog, p["notes"], 0.4)
                t2 = B.add(prog, "harmony", volume=86)
                play(t2, n2, l2, h2, -6)
        return mp
    # orchestra
    tl = B.add(48, "melody", volume=110)
    notes, lo, hi = place(48, mel, 0.62)
    play(tl, notes, 55, 96, 6)
    mp = [n[2] for n in notes]
    if rng.random() < 0.7:
        dbl = _choose(rng, [(73, 2), (68, 1), (71, 1), (72, 1)])
        tdb = B.add(dbl, "melody", volume=92)
        _, _, (dl, dh), _ = INS.info(dbl)
        play(tdb, [(on, d, p + 12) for on, d, p in notes], dl, dh, -4)
    chords = harmony()
    if mono or len(wparts) < 3:
        th = B.add(_choose(rng, [(60, 2), (49, 2), (61, 1)]), "pad", volume=80)
        _pads(th, chords, tsec, vel_at, -10, 50, 69)
        tb = B.add(42, "bass", volume=96)
        _bass(tb, chords, measures, "ballad", rng, tsec, vel_at, beat_q, 2, 36, 55)
        tcb = B.add(43, "bass", volume=90)
        _bass(tcb, chords, measures, "ballad", rng, tsec, vel_at, beat_q, 2, 28, 43)
    else:
        inner = wparts[1:-1]
        iprog = _choose(rng, [(60, 2), (71, 1), (41, 2)])
        for p in inner:
            n2, l2, h2 = place(iprog if p is inner[0] else 41, p["notes"], 0.45)
            t2 = B.add(iprog if p is inner[0] else 41, "harmony", volume=86)
            play(t2, n2, l2, h2, -6)
        nb_, l3, h3 = place(42, wparts[-1]["notes"], 0.4)
        tb = B.add(42, "bass", volume=96)
        play(tb, nb_, l3, h3, -2)
        tcb = B.add(43, "bass", volume=90)
        play(tcb, [(on, d, p - 12) for on, d, p in nb_], 28, 55, -4)
    if rng.random() < 0.5:
        tt = B.add(47, "drums", volume=90)
        for (s, e, root, q, deg) in chords:
            if deg in (0, 4) and abs((s % 1)) < 1e-6:
                tt.note(tsec(s), 0.4, T.fold(root + 36, 41, 53), vel_at(s, 6) - 8)
    return mp


# ------------------------------------------------------------------------- MIDI works

def arrange_midi(mf, work, rng, clip_s, variant, n_variants):
    notes = [n for n in mf.notes]
    if not notes:
        raise ValueError("empty MIDI file")
    length = mf.length
    scale = round(rng.uniform(0.9, 1.12), 3)
    win = clip_s * scale  # source seconds covered
    tr = rng.randint(-3, 3)
    reorch = rng.random() < 0.3
    # window start: a note onset, spread over variants
    span = max(0.0, length - win)
    if n_variants > 1 and span > 0:
        seg = span / n_variants
        pref = variant * seg + rng.random() * seg
    else:
        pref = rng.random() * span
    onsets = sorted({round(n.t, 3) for n in notes if n.channel != 9})
    cand = [t for t in onsets if t <= pref + 1e-6]
    t0 = cand[-1] if cand else 0.0
    reps = max(1, math.ceil((t0 + win) / length) + 1) if length > 0 else 1
    allnotes = []
    for k in range(reps):
        allnotes.extend((n.t + k * length, n) for n in notes)
    t1 = t0 + win
    sel = [(t, n) for (t, n) in allnotes if t0 - 1e-6 <= t < t1]
    if len([1 for _, n in sel if n.channel != 9]) < 8:
        raise ValueError("window has almost no notes")

    def out_t(t):
        return (t - t0) / scale

    B = Builder()
    B.tracks = []
    chans = sorted({n.channel for _, n in sel})
    tracks = {}
    # program per channel at window start (last program change before t0, else first in window)
    prog_at = {}
    for ch in chans:
        ps = [n.program for _, n in sel if n.channel == ch]
        prog_at[ch] = Counter(ps).most_common(1)[0][0]
    newprog = {}
    for ch in chans:
        if ch == 9:
            continue
        p = prog_at[ch]
        if reorch:
            fam = INS.info(p)[1]
            same = [q for q, v in INS.GM.items() if v[1] == fam and q != p and fam not in ("drums",)]
            if same:
                p = rng.choice(sorted(same))
        newprog[ch] = p
    insts = []
    for ch in chans:
        tr_ = smf.Track(channel=ch, program=None if ch == 9 else newprog[ch], name=f"ch{ch}")
        tracks[ch] = tr_
    # controller state at t0 and inside the window
    state = {}
    for (t, ch, kind, a, b) in mf.controls:
        if ch not in tracks:
            continue
        tt = t % length if length > 0 else t
        if t <= t0:
            if kind == "cc" and a in (7, 10, 11, 64, 91, 93, 1):
                state[(ch, "cc", a)] = b
            elif kind == "bend":
                state[(ch, "bend", 0)] = a
    for (ch, kind, a), v in sorted(state.items()):
        if kind == "cc":
            tracks[ch].cc(0.0, a, v)
        else:
            tracks[ch].bend(0.0, v)
    for k in range(reps):
        for (t, ch, kind, a, b) in mf.controls:
            tt = t + k * length
            if ch not in tracks or not (t0 < tt < t1):
                continue
            if kind == "cc":
                tracks[ch].cc(out_t(tt), a, b)
            elif kind == "bend":
                tracks[ch].bend(out_t(tt), a)
            elif kind == "prog" and ch != 9 and not reorch:
                tracks[ch].prog(out_t(tt), a)
    vels = []
    pitched = []
    for t, n in sel:
        p = n.pitch if n.channel == 9 else n.pitch + tr
        tracks[n.channel].note(out_t(t), min(n.dur, t1 + 1.0 - t) / scale, p, n.vel)
        if n.channel != 9:
            vels.append(n.vel)
            pitched.append((t, n.dur, p, n.channel))
    # roles: highest mean pitch channel = melody, lowest with bass program = bass
    chan_mean = {}
    for ch in chans:
        if ch == 9:
            continue
        ps = [p for (_, _, p, c) in pitched if c == ch]
        if ps:
            chan_mean[ch] = sum(ps) / len(ps)
    mel_ch = max(chan_mean, key=lambda c: (len([1 for x in pitched if x[3] == c]) > 10, chan_mean[c])) if chan_mean else None
    for ch in chans:
        if ch == 9:
            insts.append({"program": None, "name": "drums", "family": "drums", "role": "drums"})
            continue
        key, fam, _, _ = INS.info(newprog[ch])
        role = "melody" if ch == mel_ch else ("bass" if fam == "bass" else "harmony")
        insts.append({"program": newprog[ch], "name": key, "family": fam, "role": role})
    insts = _dedupe_insts(sorted(insts, key=lambda i: ({"melody": 0, "harmony": 1, "pad": 2, "bass": 3,
                                                        "drums": 4}[i["role"]], i["program"] or 0)))
    # tempo at t0
    us = mf.tempos[0][1]
    for (ts, u) in mf.tempos:
        if ts <= t0 + 1e-6:
            us = u
    num, den = 4, 4
    for (ts, a, b) in mf.timesigs:
        if ts <= t0 + 1e-6:
            num, den = a, b
    mi = T.meter_info(num, den)
    qpm = 60e6 / us / scale
    bpm = round(qpm / mi["beat_q"], 1)
    while bpm > 200:
        bpm /= 2
    while bpm < 40:
        bpm *= 2
    hist = T.pc_histogram([(t, d, p) for (t, d, p, _) in pitched])
    tonic, mode, conf = T.estimate_key(hist)
    mv = sum(vels) / len(vels) if vels else 80
    mel_p = [p for (_, _, p, c) in pitched if c == mel_ch]
    reg, med = register_of(mel_p)
    space = _choose(rng, [("dry", 2), ("room", 5), ("hall", 2)])
    send = {"dry": 12, "room": 45, "hall": 85}[space]
    for tr_ in tracks.values():
        if not any(e[2][0] & 0xF0 == 0xB0 and e[2][1] == 91 for e in tr_.events):
            tr_.cc(0.0, 91, send)
    dyn = dyn_from_velocity(mv)
    attrs = {
        "category": "midi", "arrangement": "midi_reorchestrated" if reorch else "midi_original", "groove": "none",
        "instruments": insts, "families": sorted({i["family"] for i in insts}), "ensemble": ensemble_of(insts),
        "ensemble_size": len(insts), "tempo_bpm": bpm, "tempo_band": tempo_band(bpm), "tempo_scale": round(1 / scale, 3),
        "beat_unit": {1.0: "quarter", 1.5: "dotted quarter", 2.0: "half", 0.5: "eighth"}.get(mi["beat_q"], str(mi["beat_q"])),
        "meter": f"{num}/{den}", "meter_class": mi["class"],
        "key": f"{T.PC_NAMES[tonic]} {mode}", "tonic": T.PC_NAMES[tonic], "mode": mode, "mode_class": mode,
        "key_source": f"profile (r={conf})", "transpose": tr, "dynamics": dyn, "dynamics_profile": "as source",
        "register": reg, "melody_median_pitch": med, "texture": "homophonic", "space": space,
        "clip_start_s": round(t0 % length if length else t0, 3), "loops": int((t0 + win) // length) if length else 0,
        "repeats": "n/a", "n_notes": len(sel),
    }
    return {"tracks": list(tracks.values()), "end_s": clip_s + 2.0, "attributes": attrs}
