"""Rendering and production of a v2 clip: parts -> per-part processing -> stereo mix -> master -> the
augmentations real audio has -> 16 kHz mono 16-bit WAV.

Processing uses `pedalboard` (Spotify, GPLv3; a data-generation dependency only, never part of the
product). Per part: amp and cabinet simulation for electric guitars (drive into a distortion stage, a
cabinet-like band-pass and a mid peak), compression for drums and bass, a ladder filter / chorus / delay
for synth voices, and a reverb send. Master: high-pass, EQ tilt, bus compressor, stereo width (mid/side),
limiter to a loudness target. Augmentations (each drawn per clip): MP3 re-encoding (LAME via pedalboard),
Ogg Vorbis re-encoding (`oggenc` / `oggdec` under `timeout`), background noise, a second EQ tilt.
"""
from __future__ import annotations

import os
import subprocess
import wave

import numpy as np
from pedalboard import (Bitcrush, Chorus, Compressor, Delay, Distortion, Gain, HighpassFilter, HighShelfFilter,
                        LadderFilter, Limiter, LowpassFilter, LowShelfFilter, MP3Compressor, Pedalboard, PeakFilter,
                        Reverb)

from . import sounds
from .sounds import RENDER_SR

OUT_SR = 16000
ROLE_LEVEL_DB = {"drums": 0.0, "bass": -3.0, "comp": -5.0, "lead": -4.0, "pad": -8.0, "arp": -8.0, "perc": -6.0,
                 "texture": -14.0}
AMPS = {  # drive dB, cabinet low-pass Hz, mid peak (Hz, dB)
    "clean": (4.0, 7000.0, (1200.0, 1.5)),
    "crunch": (18.0, 5200.0, (900.0, 3.0)),
    "high_gain": (32.0, 4800.0, (700.0, -3.0)),
}


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def render_part(part, n: int, fluid, seed: int, bpm_now: float) -> np.ndarray:
    if part.source == "sf":
        return fluid.render(part.notes, n, part.sfont, part.program, drums=part.drums)
    if part.source == "hydrogen":
        return kit(part.kit).render(part.notes, n)
    if part.source == "samplekit":
        return sounds.render_sample_kit(part.kit, part.notes, n)
    if part.source == "synth":
        return sounds.synth_voice(part.notes, n, part.patch, seed)
    if part.source == "noise":
        return sounds.noise_hits(part.notes, n, seed)
    if part.source == "loop":
        path, bpm, gain = part.loop
        target_bpm = bpm_now
        if bpm is None:  # texture: loop at its own speed from a random point
            x = sounds.load_audio(path)
            reps = int(np.ceil(n / max(1, len(x)))) + 1
            y = np.tile(x, reps)
            off = seed % max(1, len(x))
            return (y[off:off + n] * gain).astype(np.float32)
        return sounds.render_loop(path, bpm, target_bpm, 0.0, n, gain)
    raise ValueError(part.source)


_kits: dict = {}


def kit(name):
    if name not in _kits:
        _kits[name] = sounds.HydrogenKit(name)
    return _kits[name]


def part_chain(part, rng) -> Pedalboard:
    fx = part.fx
    chain = []
    amp = fx.get("amp")
    if amp:
        drive, cab, (mf, mg) = AMPS[amp]
        chain += [HighpassFilter(90.0), Distortion(drive + rng.uniform(-3, 3)), HighpassFilter(110.0),
                  PeakFilter(mf, mg, 0.8), PeakFilter(2500.0, 2.0, 1.0), LowpassFilter(cab + rng.uniform(-500, 500))]
    if fx.get("drive"):
        chain.append(Distortion(float(fx["drive"])))
    if part.source == "synth" and not fx.get("chip"):
        chain.append(LadderFilter(LadderFilter.Mode.LPF24, float(fx.get("cutoff", 3000.0)), float(fx.get("resonance", 0.1)), 1.0))
    if fx.get("lowpass"):
        chain.append(LowpassFilter(float(fx["lowpass"])))
    if fx.get("chorus"):
        chain.append(Chorus(rate_hz=0.6, depth=0.3, mix=0.4))
    if fx.get("delay"):
        chain.append(Delay(delay_seconds=0.375 if rng.random() < 0.5 else 0.25, feedback=0.3, mix=float(fx["delay"])))
    if part.role == "drums":
        chain.append(Compressor(threshold_db=-18.0, ratio=float(fx.get("comp", 3.0)), attack_ms=8.0, release_ms=120.0))
    elif part.role == "bass":
        chain += [Compressor(threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_ms=100.0), LowpassFilter(5000.0)]
    return Pedalboard(chain)


def mix(plan, fluid, seed: int) -> np.ndarray:
    """Stereo mix (2, n) at RENDER_SR."""
    rng = np.random.default_rng(seed)
    n = int(round(plan.seconds * RENDER_SR))
    bus = np.zeros((2, n), dtype=np.float32)
    send = np.zeros((2, n), dtype=np.float32)
    for i, part in enumerate(plan.parts):
        x = render_part(part, n, fluid, seed + i, plan.attributes["tempo_bpm"])
        if _rms(x) < 1e-6:
            continue
        x = part_chain(part, rng)(x[None, :].astype(np.float32), RENDER_SR)[0]
        level = ROLE_LEVEL_DB.get(part.role, -6.0) + float(part.fx.get("gain_db", 0.0)) + rng.uniform(-1.5, 1.5)
        x = x * (10 ** ((level - 20) / 20) / max(_rms(x), 1e-9))   # each part to -20 dBFS RMS + its role level
        pan = float(part.fx.get("pan", 0.0 if part.role in ("drums", "bass", "lead") else rng.uniform(-0.5, 0.5)))
        lg, rg = np.cos((pan + 1) * np.pi / 4), np.sin((pan + 1) * np.pi / 4)
        st = np.stack([x * lg, x * rg]).astype(np.float32)
        bus += st
        s = float(part.fx.get("send", {"drums": 0.15, "bass": 0.0}.get(part.role, 0.35)))
        if part.fx.get("gated_reverb"):
            s = 0.5
        send += st * s
    m = plan.master
    wet = Pedalboard([Reverb(room_size=m["room_size"], damping=0.5, wet_level=1.0, dry_level=0.0, width=1.0)])(send, RENDER_SR)
    if any(p.fx.get("gated_reverb") for p in plan.parts):  # 80s gated snare reverb: cut the tail hard
        wet = Pedalboard([Compressor(threshold_db=-30, ratio=1.0)])(wet, RENDER_SR)
    return bus + wet * (m["reverb_wet"] / 0.3)


def master(x: np.ndarray, m: dict) -> np.ndarray:
    chain = [HighpassFilter(30.0), LowShelfFilter(150.0, m["tilt_db"], 0.7), HighShelfFilter(4000.0, -m["tilt_db"], 0.7),
             Compressor(threshold_db=-16.0, ratio=m["comp_ratio"], attack_ms=15.0, release_ms=150.0)]
    if m.get("bitcrush"):
        chain.insert(0, Bitcrush(float(m["bitcrush"])))
    y = Pedalboard(chain)(x.astype(np.float32), RENDER_SR)
    mid, side = (y[0] + y[1]) / 2, (y[0] - y[1]) / 2 * m["width"]
    y = np.stack([mid + side, mid - side])
    rms = _rms(y)
    y = y * (10 ** (m["loudness_db"] / 20) / max(rms, 1e-9))  # drive into the limiter: loud records are limited
    return Pedalboard([Limiter(threshold_db=-1.0, release_ms=80.0)])(y.astype(np.float32), RENDER_SR)


_FIR = None


def to_16k_mono(y: np.ndarray) -> np.ndarray:
    global _FIR
    if _FIR is None:  # windowed-sinc low-pass at 7.2 kHz, 127 taps, for the 2:1 decimation
        k = np.arange(127) - 63
        _FIR = np.sinc(2 * 7200 / RENDER_SR * k) * np.blackman(127)
        _FIR /= _FIR.sum()
    x = y.mean(axis=0).astype(np.float64)
    return np.convolve(x, _FIR, mode="same")[::RENDER_SR // OUT_SR]


def augment(x: np.ndarray, rng, tmpdir: str, stem: str) -> tuple[np.ndarray, dict]:
    """Codec re-encoding, noise and EQ tilt at 16 kHz; returns the audio and what was done."""
    info = {"codec": None, "noise_db": None, "tilt_db": 0.0}
    u = rng.random()
    if u < 0.35:
        q = float(rng.choice([2.0, 4.0, 6.0, 8.0]))
        x = MP3Compressor(vbr_quality=q)(x[None, :].astype(np.float32), OUT_SR)[0].astype(np.float64)
        info["codec"] = f"mp3 (LAME VBR {q:.0f})"
    elif u < 0.55:
        q = int(rng.choice([0, 2, 4]))
        src, enc, dec = (os.path.join(tmpdir, f"{stem}.{e}") for e in ("src.wav", "ogg", "dec.wav"))
        write_wav(src, x)
        subprocess.run(["timeout", "60", "oggenc", "-Q", "-q", str(q), "-o", enc, src], check=True)
        subprocess.run(["timeout", "60", "oggdec", "-Q", "-o", dec, enc], check=True)
        with wave.open(dec) as w:
            y = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
        x = np.concatenate([y, np.zeros(max(0, len(x) - len(y)))])[:len(x)]
        for p in (src, enc, dec):
            os.remove(p)
        info["codec"] = f"ogg vorbis (q {q})"
    if rng.random() < 0.3:
        db = float(rng.uniform(-62, -42))
        noise = rng.standard_normal(len(x))
        noise = np.convolve(noise, [0.5, 0.3, 0.2], mode="same")  # slightly darker than white
        x = x + noise / _rms(noise) * 10 ** (db / 20)
        info["noise_db"] = round(db, 1)
    if rng.random() < 0.5:
        t = float(rng.uniform(-3, 3))
        x = Pedalboard([LowShelfFilter(200.0, t, 0.7), HighShelfFilter(3000.0, -t, 0.7)])(x[None, :].astype(np.float32), OUT_SR)[0].astype(np.float64)
        info["tilt_db"] = round(t, 2)
    return x, info


QUIET_STYLES = {"ambient", "orchestral", "piano", "acoustic", "jazz"}
LOUD_STYLES = {"metal", "punk", "edm", "dnb"}


def relevel(x: np.ndarray, rng, style: str) -> tuple[np.ndarray, float]:
    """Final level of the clip, drawn from the level distribution of real game/album tracks rather than
    left at the master's limiter output: the real-music validation set's excerpts have RMS levels of
    -28 … -7 dBFS (median -18.5), the limited masters sat at -18 … -10 (median -12.5), and musicnn's
    log-mel input is level-dependent. Peaks are kept below -0.5 dBFS (a clip that would clip gets quieter).
    v2.3 used one distribution (quiet styles -3 dB); v2.5 adds +3.5 dB for the loud styles."""
    # per family the real excerpts sit at: classical / ambient about -21, metal -11 … -19 (median -15),
    # electronic about -17 dBFS: quiet styles 3 dB down, loud ones 3.5 dB up
    offset = -3.0 if style in QUIET_STYLES else 3.5 if style in LOUD_STYLES else 0.0
    target = float(np.clip(rng.normal(-18.5, 3.5) + offset, -30.0, -8.0))
    y = x * (10 ** (target / 20) / max(_rms(x), 1e-9))
    peak = float(np.max(np.abs(y)))
    if peak > 10 ** (-0.5 / 20):
        y *= 10 ** (-0.5 / 20) / peak
    return y, round(target, 2)


def write_wav(path: str, x: np.ndarray) -> None:
    q = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(OUT_SR)
        w.writeframes(q.tobytes())


def produce(plan, fluid, seed: int, out_wav: str, tmpdir: str, augment_share: float = 1.0) -> dict:
    rng = np.random.default_rng(seed)
    y = master(mix(plan, fluid, seed), plan.master)
    x = to_16k_mono(y)
    aug = {"codec": None, "noise_db": None, "tilt_db": 0.0}
    if rng.random() < augment_share:
        x, aug = augment(x, rng, tmpdir, os.path.basename(out_wav))
    if _rms(x) < 1e-4:
        raise ValueError("silent render")
    x, level = relevel(x, rng, plan.style)
    fi, fo = int(0.005 * OUT_SR), int(0.3 * OUT_SR)
    x[:fi] *= np.linspace(0, 1, fi, endpoint=False)
    x[-fo:] *= np.linspace(1, 0, fo)
    write_wav(out_wav, x)
    return {"rms_dbfs": round(20 * np.log10(_rms(x) + 1e-12), 2), "peak_dbfs": round(20 * np.log10(np.max(np.abs(x)) + 1e-12), 2),
            "target_rms_dbfs": level, "augmentation": aug}
