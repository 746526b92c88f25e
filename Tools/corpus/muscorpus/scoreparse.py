"""Parse a source work into a small, picklable note model (music21 is used as a library).

Piece = {
  "kind": "score",
  "parts": [{"name": str, "notes": [(onset_q, dur_q, midi_pitch), ...]}],
  "measures": [(start_q, dur_q, ts_num, ts_den), ...],   # after repeat expansion
  "length_q": float,
  "key_sharps": int | None,           # first key signature
  "key_notated": (tonic_pc, mode) | None,  # exact key when the encoding names it (ABC K:, Humdrum *X:mode)
  "qpm": float | None,                # first metronome mark, quarter notes per minute
  "repeats": "expanded" | "as written (expansion failed: ...)" | "none",
}
"""
from __future__ import annotations

import os
import re

PC = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}

ABC_MODES = {
    "": "major", "maj": "major", "major": "major", "ion": "major", "ionian": "major",
    "m": "minor", "min": "minor", "minor": "minor", "aeo": "minor", "aeolian": "minor",
    "dor": "dorian", "dorian": "dorian", "mix": "mixolydian", "mixolydian": "mixolydian",
    "phr": "phrygian", "phrygian": "phrygian", "lyd": "lydian", "lydian": "lydian",
    "loc": "locrian", "locrian": "locrian",
}


# Repeat expansion of very large scores is slow (Beethoven op. 18 no. 4, all movements in one file:
# 70 s); a note-count limit keeps the choice deterministic instead of leaving it to the time-box.
MAX_NOTES_TO_EXPAND = 12000


def _tonic_pc(letter: str, acc: str) -> int:
    pc = PC[letter.lower()]
    if acc in ("#", "is"):
        pc += 1
    elif acc in ("b", "-", "es"):
        pc -= 1
    return pc % 12


def abc_key(abc_text: str):
    """(tonic_pc, mode) from the first K: field of an ABC tune, or None (K:none, K:HP ...)."""
    for line in abc_text.splitlines():
        if line.startswith("K:"):
            v = line[2:].strip()
            m = re.match(r"^([A-Ga-g])([#b]?)\s*([A-Za-z]*)", v)
            if not m:
                return None
            mode = ABC_MODES.get(m.group(3).lower()[:3] if m.group(3).lower()[:3] in ABC_MODES else m.group(3).lower())
            if mode is None:
                mode = "major" if m.group(3) == "" else None
            if mode is None:
                return None
            return (_tonic_pc(m.group(1), m.group(2)), mode)
    return None


def humdrum_key(text: str):
    m = re.search(r"^\*([A-Ga-g])([#-]?):([A-Za-z]*)", text, re.M)
    if not m:
        return None
    letter, acc, mode = m.group(1), m.group(2), m.group(3).lower()
    mode = {"ion": "major", "dor": "dorian", "phr": "phrygian", "lyd": "lydian",
            "mix": "mixolydian", "aeo": "minor", "loc": "locrian"}.get(mode[:3])
    if mode is None:
        mode = "minor" if letter.islower() else "major"
    return (_tonic_pc(letter, acc), mode)


def _merge_ties(part):
    """Notes of a part as (onset, dur, midi) with tied notes merged (linear time; music21's
    stripTies is quadratic on long movements: 75 s for Beethoven op. 132)."""
    notes, open_ = [], {}
    for el in part.flatten().notes:
        ql = float(el.duration.quarterLength)
        if ql <= 0:
            continue  # grace notes
        on = float(el.offset)
        if not hasattr(el, "pitches") or not el.pitches:
            continue  # unpitched percussion
        if el.isChord:
            items = [(n.pitch.midi, n.tie or el.tie) for n in el.notes]
        else:
            items = [(el.pitch.midi, el.tie)]
        for midi, tie in items:
            tt = tie.type if tie is not None else None
            if tt in ("stop", "continue") and midi in open_:
                i = open_[midi]
                notes[i][1] = max(notes[i][1], on + ql - notes[i][0])
                if tt == "stop":
                    del open_[midi]
                continue
            notes.append([on, ql, int(midi)])
            if tt in ("start", "continue"):
                open_[midi] = len(notes) - 1
            else:
                open_.pop(midi, None)
    return sorted((round(a, 4), round(b, 4), c) for a, b, c in notes)


def parse_work(work: dict) -> dict:
    """Parse with music21; raises on failure (the caller time-boxes and logs)."""
    import music21
    from music21 import converter, stream, tempo, key as m21key

    key_notated = None
    if work["format"] == "abc":
        text = work["abc_text"]
        score = converter.parse(text, format="abc", forceSource=True)
        key_notated = abc_key(text)
    else:
        path = work["abs_path"]
        score = converter.parse(path, forceSource=True)
        if path.endswith(".krn"):
            key_notated = humdrum_key(open(path, encoding="latin-1").read())
    if isinstance(score, stream.Opus):
        score = score.scores[0]
    if not isinstance(score, stream.Score):
        s2 = stream.Score()
        s2.insert(0, score)
        score = s2

    repeats = "none"
    try:
        has_rep = bool(score.flatten().getElementsByClass("RepeatMark")) or bool(
            score.flatten().getElementsByClass("Repeat"))
    except Exception:
        has_rep = False
    n_notes = len(score.flatten().notes)
    if has_rep and n_notes > MAX_NOTES_TO_EXPAND:
        repeats = f"as written (not expanded: {n_notes} notes > {MAX_NOTES_TO_EXPAND})"
    elif has_rep:
        try:
            score = score.expandRepeats()
            repeats = "expanded"
        except Exception as e:  # music21 cannot always expand (unmatched or nested endings)
            repeats = f"as written (expansion failed: {type(e).__name__})"

    flat = score.flatten()
    qpm = None
    for mm in flat.getElementsByClass(tempo.MetronomeMark):
        try:
            q = mm.getQuarterBPM()
        except Exception:
            q = None
        if q:
            qpm = float(q)
            break
    key_sharps = None
    for ks in flat.getElementsByClass(m21key.KeySignature):
        key_sharps = int(ks.sharps)
        if key_notated is None and isinstance(ks, m21key.Key) and work["format"] != "abc":
            mode = ks.mode if ks.mode in ("major", "minor", "dorian", "mixolydian", "lydian", "phrygian") else None
            if mode:
                key_notated = (ks.tonic.pitchClass, mode)
        break

    parts_out = []
    parts = list(score.parts) or [score]
    for p in parts:
        notes = _merge_ties(p)
        if not notes:
            continue
        name = (p.partName or "")
        inst = p.getInstrument(returnDefault=False)
        iname = (inst.instrumentName if inst is not None and inst.instrumentName else "") or ""
        notes.sort()
        parts_out.append({"name": f"{name}|{iname}", "notes": notes})
    if not parts_out:
        raise ValueError("no pitched notes")

    measures = []
    ref = parts[0]
    ts = None
    for m in ref.getElementsByClass(stream.Measure):
        if m.timeSignature is not None:
            ts = (int(m.timeSignature.numerator), int(m.timeSignature.denominator))
        if ts is None:
            found = m.getContextByClass("TimeSignature")
            ts = (int(found.numerator), int(found.denominator)) if found is not None else (4, 4)
        d = float(m.duration.quarterLength)
        if d <= 0:
            continue
        measures.append((round(float(m.offset), 4), round(d, 4), ts[0], ts[1]))
    length_q = max(on + d for part in parts_out for (on, d, _) in part["notes"])
    if not measures:
        measures = [(float(i * 4), 4.0, 4, 4) for i in range(int(length_q // 4) + 1)]
    return {
        "kind": "score", "parts": parts_out, "measures": measures, "length_q": round(length_q, 4),
        "key_sharps": key_sharps, "key_notated": key_notated, "qpm": qpm, "repeats": repeats,
        "music21": music21.__version__,
    }
