"""MMA (Musical MIDI Accompaniment, Debian `mma`) arrangements: a chord chart + a named groove -> MIDI parts.

The MMA file is written from the clip's chart, `mma` runs under `timeout`, and the resulting MIDI file is
split by channel into parts (drums on channel 10, bass by General-MIDI program 32-39, everything else is
comping) so each part can be re-voiced, rendered and processed on its own.
"""
from __future__ import annotations

import os
import subprocess

from .. import smf
from .compose import mma_chord

MMA_TIMEOUT_S = 60


def write_mma(path: str, groove: str, bpm: float, ch, swing: bool = False) -> None:
    lines = [f"Tempo {bpm:.1f}", f"Groove {groove}"]
    if swing:
        lines.append("SwingMode On")
    for i, row in enumerate(ch, start=1):
        lines.append(f"{i} " + " ".join(mma_chord(c) for c in row))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def arrange(groove: str, bpm: float, ch, workdir: str, stem: str) -> dict:
    """Run MMA; returns {"drums": [(t, note, vel)], "bass": [(t, d, p, v, program)], "comp": {channel:
    [(t, d, p, v, program)]}}. Raises RuntimeError with MMA's message when it fails."""
    mma_path = os.path.join(workdir, stem + ".mma")
    mid_path = os.path.join(workdir, stem + ".mid")
    write_mma(mma_path, groove, bpm, ch)
    r = subprocess.run(["timeout", str(MMA_TIMEOUT_S), "mma", "-f", mid_path, mma_path],
                       capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(mid_path):
        raise RuntimeError(f"mma failed for groove {groove}: {(r.stdout + r.stderr).strip()[-300:]}")
    data = smf.read_smf(mid_path)
    os.remove(mma_path)
    os.remove(mid_path)
    parts = {"drums": [], "bass": [], "comp": {}}
    for n in data.notes:
        if n.channel == 9:
            parts["drums"].append((n.t, n.pitch, n.vel))
        elif 32 <= n.program <= 39:
            parts["bass"].append((n.t, n.dur, n.pitch, n.vel, n.program))
        else:
            parts["comp"].setdefault(n.channel, []).append((n.t, n.dur, n.pitch, n.vel, n.program))
    return parts
