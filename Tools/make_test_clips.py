#!/usr/bin/env python3
"""Compose and render the project's own test audio (development-only tool).

Every clip is composed here, note by note (no third-party recordings or MIDI files), written as
a Standard MIDI File by the small writer below, rendered with FluidSynth and the FluidR3_GM
General MIDI soundfont (MIT licence, Debian package fluid-soundfont-gm), and converted with SoX.

Outputs (paths relative to the repository root):

    Tests/MusicTaggingTests/Fixtures/audio/piano.wav     16 kHz mono 16-bit, solo piano (Alberti bass + melody)
    Tests/MusicTaggingTests/Fixtures/audio/rock.wav      16 kHz mono 16-bit, drums + bass + distorted guitar
    Tests/MusicTaggingTests/Fixtures/audio/strings.wav   16 kHz mono 16-bit, slow strings + choir pad + flute
    Tests/MusicTaggingTests/Fixtures/audio/stereo44k.wav 44.1 kHz STEREO 16-bit, 5 s, different L/R content
    Tests/MusicTaggingTests/Fixtures/audio/README.md     what the clips are
    Examples/demo.wav                                    16 kHz mono 16-bit, 15 s pop ballad

Deterministic: the only randomness (humanized timing/velocity) comes from fixed seeds, FluidSynth
renders offline, and SoX runs with dithering off (-D) in repeatable mode (-R). Re-running the
script reproduces the files byte for byte (with the same fluidsynth/sox/soundfont versions).

Needs: fluidsynth, sox, /usr/share/sounds/sf2/FluidR3_GM.sf2 (Debian: fluidsynth sox
fluid-soundfont-gm). Pure standard-library Python (any python3 works; the reference venv is not
needed).

    python3 Tools/make_test_clips.py            # all clips
    python3 Tools/make_test_clips.py --keep-midi /tmp/midi   # also keep the .mid files
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
AUDIO_DIR = REPO_ROOT / "Tests" / "MusicTaggingTests" / "Fixtures" / "audio"
DEMO_PATH = REPO_ROOT / "Examples" / "demo.wav"
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RENDER_RATE = 44100
TPQ = 480  # MIDI ticks per quarter note

# General MIDI program numbers (0-based) and drum keys used below.
ACOUSTIC_GRAND, NYLON_GUITAR, ACOUSTIC_BASS, FINGER_BASS = 0, 24, 32, 33
PICK_BASS, OVERDRIVE_GUITAR, DISTORTION_GUITAR = 34, 29, 30
MARIMBA, STRINGS, SLOW_STRINGS, CHOIR_AAHS, FLUTE = 12, 48, 49, 52, 73
KICK, SIDE_STICK, SNARE, CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 36, 37, 38, 42, 44, 46
LOW_TOM, LOW_MID_TOM, HIGH_MID_TOM, HIGH_TOM, CRASH, RIDE = 41, 45, 47, 50, 49, 51
DRUMS = 9  # MIDI channel 10


# ---------------------------------------------------------------------------------------------
# A minimal Standard MIDI File (format 1) writer.
# ---------------------------------------------------------------------------------------------

def vlq(n: int) -> bytes:
    """MIDI variable-length quantity."""
    assert n >= 0
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


NOTE_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def p(name: str) -> int:
    """Pitch name to MIDI note number: 'C4' = 60, 'F#3', 'Bb2'."""
    letter, rest = name[0], name[1:]
    semis = NOTE_NAMES[letter]
    while rest and rest[0] in "#b":
        semis += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    return 12 * (int(rest) + 1) + semis


def ps(names: str) -> list[int]:
    return [p(n) for n in names.split()]


@dataclass
class Song:
    bpm: float
    seed: int
    beats_per_bar: int = 4
    events: dict[int, list[tuple[int, int, bytes]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def _add(self, ch: int, tick: int, order: int, data: bytes) -> None:
        self.events.setdefault(ch, []).append((max(0, tick), order, data))

    def setup(self, ch: int, program: int = 0, volume: int = 100, pan: int = 64,
              reverb: int = 40, chorus: int = 0) -> None:
        if ch != DRUMS:
            self._add(ch, 0, 0, bytes([0xC0 | ch, program]))
        for ctrl, val in ((7, volume), (10, pan), (91, reverb), (93, chorus)):
            self._add(ch, 0, 0, bytes([0xB0 | ch, ctrl, val]))

    def note(self, ch: int, beat: float, dur: float, pitch: int | list[int], vel: int,
             jitter: int = 6, vel_jitter: int = 5, strum: float = 0.0) -> None:
        """A note (or chord) at `beat` (quarter notes from the start) lasting `dur` beats."""
        pitches = [pitch] if isinstance(pitch, int) else list(pitch)
        for i, pt in enumerate(pitches):
            start = round((beat + i * strum) * TPQ) + (self.rng.randint(-jitter, jitter) if jitter else 0)
            end = round((beat + dur) * TPQ) - 4
            v = min(127, max(1, vel + (self.rng.randint(-vel_jitter, vel_jitter) if vel_jitter else 0)))
            assert 0 <= pt <= 127
            self._add(ch, start, 2, bytes([0x90 | ch, pt, v]))
            self._add(ch, max(end, start + 10), 1, bytes([0x80 | ch, pt, 0]))

    def cc(self, ch: int, beat: float, ctrl: int, val: int) -> None:
        self._add(ch, round(beat * TPQ), 0, bytes([0xB0 | ch, ctrl, val]))

    def seconds(self, beats: float) -> float:
        return beats * 60.0 / self.bpm

    def to_midi(self) -> bytes:
        tempo = round(60_000_000 / self.bpm)
        conductor = [(0, 0, b"\xFF\x51\x03" + tempo.to_bytes(3, "big")),
                     (0, 0, bytes([0xFF, 0x58, 0x04, self.beats_per_bar, 2, 24, 8]))]
        tracks = [conductor] + [self.events[ch] for ch in sorted(self.events)]
        chunks = []
        for evs in tracks:
            body = bytearray()
            last = 0
            # Stable order: time, then controllers/programs, note-offs, note-ons.
            for tick, _, data in sorted(evs, key=lambda e: (e[0], e[1])):
                body += vlq(tick - last) + data
                last = tick
            body += vlq(0) + b"\xFF\x2F\x00"
            chunks.append(b"MTrk" + struct.pack(">I", len(body)) + bytes(body))
        header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), TPQ)
        return header + b"".join(chunks)


# ---------------------------------------------------------------------------------------------
# The pieces.
# ---------------------------------------------------------------------------------------------

def melody(song: Song, ch: int, start: float, notes: list[tuple[str | None, float]], vel: int,
           legato: float = 0.95) -> float:
    """Lay out (pitch name or None for a rest, duration in beats) one after the other."""
    t = start
    for name, dur in notes:
        if name is not None:
            song.note(ch, t, dur * legato, p(name), vel)
        t += dur
    return t


def piano_piece() -> Song:
    """Solo piano, C major, 108 bpm: a sonatina-like melody over an Alberti bass."""
    s = Song(bpm=108, seed=1)
    s.setup(0, ACOUSTIC_GRAND, volume=110, reverb=50)
    # Left hand: (bar, beat, length in beats, chord low/high/middle) Alberti figures in eighths.
    chords = [
        (0, 4, "C3 G3 E3"), (4, 4, "A2 E3 C3"), (8, 4, "F2 C3 A2"), (12, 4, "G2 D3 B2"),
        (16, 2, "E3 G3 C4"), (18, 2, "F3 A3 C4"), (20, 2, "G2 F3 B2"),
    ]
    for beat, length, voicing in chords:
        low, high, mid = ps(voicing)
        for k in range(int(length * 2)):
            s.note(0, beat + 0.5 * k, 0.5, [low, high, mid, high][k % 4], 52, jitter=4)
    s.note(0, 22, 4, ps("C3 G3 C4"), 58, jitter=3, strum=0.03)
    # Right hand.
    melody(s, 0, 0, [("G4", .5), ("C5", .5), ("E5", 1), ("D5", .5), ("C5", .5), ("E5", 1),
                     ("A5", 1), ("G5", .5), ("E5", .5), ("C5", 2),
                     ("F5", 1), ("A5", 1), ("G5", .5), ("F5", .5), ("E5", 1),
                     ("D5", 1.5), ("B4", .5), ("G5", 2),
                     ("E5", 1), ("C6", 1), ("A5", 1), ("F5", 1),
                     ("D5", .5), ("F5", .5), ("B4", 1)], vel=84)
    s.note(0, 22, 4, ps("E5 C6"), 80, jitter=3)
    return s


def rock_piece() -> Song:
    """Rock groove, E minor, 126 bpm: kit on channel 10, picked bass, distorted power chords."""
    s = Song(bpm=126, seed=2)
    s.setup(DRUMS, volume=112, reverb=30)
    s.setup(1, PICK_BASS, volume=105, reverb=10)
    s.setup(2, DISTORTION_GUITAR, volume=92, pan=40, reverb=25)
    s.setup(3, OVERDRIVE_GUITAR, volume=88, pan=88, reverb=45)
    roots = ["E", "C", "G", "D", "E", "C", "D"]  # one bar each
    for bar, root in enumerate(roots):
        b0 = 4 * bar
        # Drums: 8th-note hats, kick on 1, 2&, 3; snare on 2 and 4; crash on bars 1 and 5.
        for k in range(8):
            s.note(DRUMS, b0 + 0.5 * k, 0.25, CLOSED_HAT, 84 if k % 2 == 0 else 64, jitter=3)
        for kb in ((0, 1.5, 2, 2.5) if bar % 2 else (0, 1.5, 2)):
            s.note(DRUMS, b0 + kb, 0.25, KICK, 108, jitter=2)
        for sb in (1, 3):
            s.note(DRUMS, b0 + sb, 0.25, SNARE, 110, jitter=2)
        if bar in (0, 4):
            s.note(DRUMS, b0, 1.0, CRASH, 100, jitter=0)
        if bar == 3:  # tom fill on beat 4
            for k, tom in enumerate((HIGH_TOM, HIGH_MID_TOM, LOW_MID_TOM, LOW_TOM)):
                s.note(DRUMS, b0 + 3 + 0.25 * k, 0.25, tom, 100, jitter=2)
        # Bass: driving eighths on the root, octave jump on the last eighth.
        r = p(root + "2")
        for k in range(8):
            s.note(1, b0 + 0.5 * k, 0.45, r + (12 if k == 7 else 0), 100, jitter=3)
        # Rhythm guitar: palm-muted power-chord eighths, accent on 1 and 3.
        g = r + 12
        for k in range(8):
            s.note(2, b0 + 0.5 * k, 0.42, [g, g + 7, g + 12], 110 if k % 4 == 0 else 88, jitter=4)
    # Lead guitar riff over the second half.
    melody(s, 3, 16, [("B4", 1), ("D5", .5), ("E5", 1.5), ("D5", .5), ("B4", .5),
                      ("G4", 1), ("A4", .5), ("B4", 1.5), ("A4", .5), ("G4", .5),
                      ("A4", 2), ("F#4", 2)], vel=100, legato=0.9)
    return s


def strings_piece() -> Song:
    """Slow strings + choir pad with a flute melody, D minor, 80 bpm."""
    s = Song(bpm=80, seed=3)
    s.setup(0, STRINGS, volume=96, pan=54, reverb=90)
    s.setup(1, CHOIR_AAHS, volume=74, pan=74, reverb=100)
    s.setup(2, FLUTE, volume=104, pan=64, reverb=70)
    progression = [("D3 A3 D4 F4", "A4 D5"), ("Bb2 F3 Bb3 D4", "F4 Bb4"), ("F2 C3 A3 F4", "A4 C5"),
                   ("C3 G3 C4 E4", "G4 C5"), ("D3 A3 D4 F4", "A4 D5")]
    for bar, (strings, choir) in enumerate(progression):
        s.note(0, 4 * bar, 4.1, ps(strings), 70, jitter=8)
        s.note(1, 4 * bar + 0.25, 3.8, ps(choir), 62, jitter=8)
    # Gentle swells on the strings (expression controller), one per bar.
    for i in range(40):
        s.cc(0, i / 2, 11, round(100 + 20 * math.sin(2 * math.pi * (i - 2) / 8)))
    melody(s, 2, 0.5, [("A5", 1.5), ("G5", 1), ("F5", 1), (None, .5),
                       ("F5", 1.5), ("D5", 1), ("F5", 1), (None, .5),
                       ("C6", 1.5), ("A5", 1), ("F5", 1), (None, .5),
                       ("G5", 2.5), ("E5", 1), (None, .5),
                       ("D5", 3.5)], vel=88, legato=0.98)
    return s


def demo_piece() -> Song:
    """Demo: an easy-going pop ballad in G, 96 bpm: nylon guitar, piano melody, bass, soft kit,
    string pad."""
    s = Song(bpm=96, seed=4)
    s.setup(0, ACOUSTIC_GRAND, volume=100, pan=72, reverb=60)
    s.setup(1, NYLON_GUITAR, volume=96, pan=48, reverb=50)
    s.setup(2, FINGER_BASS, volume=100, reverb=15)
    s.setup(3, SLOW_STRINGS, volume=70, pan=64, reverb=90)
    s.setup(DRUMS, volume=90, reverb=40)
    bars = [("G2", "G3 B3 D4 G4"), ("D2", "F#3 A3 D4 F#4"), ("E2", "E3 G3 B3 E4"),
            ("C2", "C3 G3 C4 E4"), ("A2", "A3 C4 E4 A4"), ("G2", "G3 B3 D4 G4")]
    for bar, (bass, chord) in enumerate(bars):
        b0 = 4 * bar
        c = ps(chord)
        final = bar == len(bars) - 1
        # Guitar: fingerpicked arpeggio in eighths (1-3-2-4-3-2-4-3), last bar a strum.
        if final:
            s.note(1, b0, 4, c, 78, strum=0.04)
        else:
            for k, idx in enumerate((0, 2, 1, 3, 2, 1, 3, 2)):
                s.note(1, b0 + 0.5 * k, 0.9, c[idx], 70 if k % 2 else 78, jitter=5)
        # Bass: root on 1, fifth on 3 (root held in the last bar).
        root = p(bass)
        if final:
            s.note(2, b0, 4, root, 92)
        else:
            s.note(2, b0, 1.8, root, 92)
            s.note(2, b0 + 2, 1.3, root + 7, 84)
            s.note(2, b0 + 3.5, 0.5, root + 12 if bar % 2 else root, 76)
        # Strings: sustained chord an octave up.
        s.note(3, b0, 4.05, [n + 12 for n in c[1:]], 58, jitter=6)
        # Drums: soft kick/side-stick/hat pattern from bar 2, a crash-less landing in the last bar.
        if 1 <= bar < len(bars) - 1:
            for k in range(8):
                s.note(DRUMS, b0 + 0.5 * k, 0.25, CLOSED_HAT, 58 if k % 2 else 70, jitter=4)
            s.note(DRUMS, b0, 0.25, KICK, 90, jitter=2)
            s.note(DRUMS, b0 + 2.5, 0.25, KICK, 80, jitter=2)
            s.note(DRUMS, b0 + 1, 0.25, SIDE_STICK, 84, jitter=2)
            s.note(DRUMS, b0 + 3, 0.25, SIDE_STICK, 84, jitter=2)
        elif final:
            s.note(DRUMS, b0, 2, RIDE, 70, jitter=0)
            s.note(DRUMS, b0, 0.25, KICK, 88, jitter=0)
    # Piano melody.
    melody(s, 0, 0, [("D5", 1), ("B4", .5), ("D5", .5), ("G5", 1.5), ("F#5", .5),
                     ("F#5", 1), ("E5", .5), ("D5", .5), ("A4", 2),
                     ("B4", 1), ("E5", 1), ("G5", 1), ("F#5", .5), ("E5", .5),
                     ("E5", 1.5), ("D5", .5), ("C5", 1), ("E5", 1),
                     ("C5", 1), ("E5", 1), ("A5", 1), ("F#5", 1),
                     ("G5", 4)], vel=86)
    s.note(0, 20, 4, ps("B4 D5"), 70)
    return s


def stereo_piece() -> Song:
    """5 s for the decoder test: left and right deliberately different (marimba hard left, kit
    with hi-hats/ride hard right, bass centred), plenty of energy above 8 kHz (cymbals) to
    exercise the resampler's anti-aliasing."""
    s = Song(bpm=120, seed=5)
    s.setup(0, MARIMBA, volume=110, pan=0, reverb=0)
    s.setup(DRUMS, volume=105, pan=127, reverb=0)
    s.setup(1, FINGER_BASS, volume=100, pan=64, reverb=0)
    arps = ["C4 E4 G4 C5", "A3 C4 E4 A4", "F3 A3 C4 F4", "G3 B3 D4 G4", "C4 E4 G4 C5"]
    for bar, chord in enumerate(arps):
        c = ps(chord)
        for k in range(8):
            s.note(0, 2 * bar + 0.25 * k, 0.25, c[[0, 1, 2, 3, 2, 1, 2, 3][k]], 96, jitter=2)
        s.note(1, 2 * bar, 1.9, c[0] - 24, 96)
        for k in range(4):
            s.note(DRUMS, 2 * bar + 0.5 * k, 0.25, CLOSED_HAT if k % 2 else RIDE, 96, jitter=2)
        s.note(DRUMS, 2 * bar, 0.25, KICK, 100)
        s.note(DRUMS, 2 * bar + 1, 0.25, SNARE, 96)
    s.note(DRUMS, 0, 1, CRASH, 100)
    return s


@dataclass
class Clip:
    path: Path
    song: Song
    seconds: float
    stereo44k: bool = False
    description: str = ""


def clips() -> list[Clip]:
    return [
        Clip(AUDIO_DIR / "piano.wav", piano_piece(), 14.5,
             description="Solo acoustic grand piano, C major, 108 bpm: melody over an Alberti bass "
                         "(I-vi-IV-V-I)."),
        Clip(AUDIO_DIR / "rock.wav", rock_piece(), 13.0,
             description="Rock groove, E minor, 126 bpm: drum kit (MIDI channel 10), picked bass, "
                         "distorted power chords, overdriven lead riff in the second half."),
        Clip(AUDIO_DIR / "strings.wav", strings_piece(), 14.5,
             description="Slow string ensemble and choir pad with a flute melody, D minor, 80 bpm."),
        Clip(AUDIO_DIR / "stereo44k.wav", stereo_piece(), 5.0, stereo44k=True,
             description="44.1 kHz stereo decoder/downmix/resampler test: marimba hard left, "
                         "drum kit hard right, bass centred."),
        Clip(DEMO_PATH, demo_piece(), 15.0,
             description="Demo for the README: pop ballad in G, 96 bpm (nylon guitar, piano "
                         "melody, bass, soft drums, strings)."),
    ]


# ---------------------------------------------------------------------------------------------
# Rendering.
# ---------------------------------------------------------------------------------------------

def run(cmd: list[str]) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"command failed ({res.returncode}): {' '.join(cmd)}\n{res.stdout}\n{res.stderr}")


def render(clip: Clip, workdir: Path, keep_midi: Path | None) -> None:
    mid = workdir / (clip.path.stem + ".mid")
    mid.write_bytes(clip.song.to_midi())
    if keep_midi:
        keep_midi.mkdir(parents=True, exist_ok=True)
        shutil.copy(mid, keep_midi / mid.name)
    raw = workdir / (clip.path.stem + ".raw.wav")
    # Offline render at 44.1 kHz, 32-bit float (no clipping, no dither), reverb/chorus on.
    run(["fluidsynth", "-ni", "-q", "-F", str(raw), "-T", "wav", "-O", "float",
         "-r", str(RENDER_RATE), "-g", "0.8", str(SOUNDFONT), str(mid)])
    fade = 0.25 if clip.stereo44k else 0.8
    effects = [] if clip.stereo44k else ["channels", "1", "rate", "-v", "16000"]
    effects += ["trim", "0", f"{clip.seconds}", "fade", "t", "0.005", f"{clip.seconds}", f"{fade}",
                "norm", "-1"]
    clip.path.parent.mkdir(parents=True, exist_ok=True)
    run(["sox", "-D", "-R", str(raw), "-b", "16", "-e", "signed-integer", str(clip.path)] + effects)

    with wave.open(str(clip.path), "rb") as w:
        rate, channels, width, n = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
    want_rate, want_channels = (44100, 2) if clip.stereo44k else (16000, 1)
    assert (rate, channels, width) == (want_rate, want_channels, 2), (clip.path, rate, channels, width)
    assert n == round(clip.seconds * rate), (clip.path, n)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_audio_readme(all_clips: list[Clip]) -> None:
    lines = [
        "# Test audio",
        "",
        "Composed for this project and rendered by `Tools/make_test_clips.py` (FluidSynth with the",
        "FluidR3_GM soundfont, MIT licence; SoX). No third-party recordings or MIDI files are used;",
        "the project owns these clips. Regenerate with `python3 Tools/make_test_clips.py`.",
        "",
        "| file | format | seconds | content | sha256 |",
        "|---|---|---|---|---|",
    ]
    for c in all_clips:
        fmt = "44.1 kHz stereo 16-bit" if c.stereo44k else "16 kHz mono 16-bit"
        rel = c.path.relative_to(REPO_ROOT)
        name = c.path.name if c.path.parent == AUDIO_DIR else f"`{rel}`"
        lines.append(f"| {name} | {fmt} | {c.seconds:g} | {c.description} | `{sha256(c.path)[:16]}…` |")
    lines += ["", "Golden musicnn outputs for the 16 kHz clips (and `Examples/demo.wav`) are in "
              "`../musicnn/`; librosa's 16 kHz mono decode of `stereo44k.wav` is in "
              "`Tests/AudioIOTests/Fixtures/stereo44k.librosa16k.safetensors`. Both are made by "
              "`Tools/musicnn/make_fixtures.py`.", ""]
    (AUDIO_DIR / "README.md").write_text("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description="Compose and render the project's test audio.")
    ap.add_argument("--keep-midi", type=Path, help="also copy the generated .mid files here")
    args = ap.parse_args()
    for tool in ("fluidsynth", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found (Debian: apt-get install fluidsynth sox fluid-soundfont-gm)")
    if not SOUNDFONT.is_file():
        sys.exit(f"{SOUNDFONT} not found (Debian: apt-get install fluid-soundfont-gm)")

    all_clips = clips()
    with tempfile.TemporaryDirectory() as tmp:
        for clip in all_clips:
            render(clip, Path(tmp), args.keep_midi)
            print(f"{clip.path.relative_to(REPO_ROOT)}: {clip.path.stat().st_size} bytes, "
                  f"sha256 {sha256(clip.path)[:16]}")
    write_audio_readme(all_clips)
    total = sum(c.path.stat().st_size for c in all_clips)
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
