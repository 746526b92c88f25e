"""Sound sources of corpus v2: soundfonts through libfluidsynth, recorded drum kits, samples, synth voices.

Everything renders into float32 mono arrays at RENDER_SR; the mix stage pans and processes them.

* `FluidRenderer` drives libfluidsynth through ctypes, in process. MuseScore_General_Full.sf3 takes about
  a minute to load (its samples are Ogg-compressed), so a worker loads each soundfont once and renders
  every stem of every clip with it; starting the `fluidsynth` program per stem would reload it each
  time. Rendering length is bounded by the caller (clip length + release tail) and every stem ends with
  all-sounds-off, so a hanging voice can never make the output grow.
* `HydrogenKit` plays the recorded multi-velocity-layer kits of Debian `hydrogen-drumkits` directly from
  their drumkit.xml (no Hydrogen needed), mapping General-MIDI drum notes to the kit's instruments by name.
* `Samples` loads one-shots and loops from `sonic-pi-samples` and `lmms-common` (FLAC / Ogg / WAV).
* `synth_voice` is a small subtractive synthesiser (detuned oscillators, ADSR, ladder filter) for the
  electronic genres and chiptune.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import xml.etree.ElementTree as ET

import numpy as np

RENDER_SR = 32000

SOUNDFONTS = {
    "musescore": "/usr/share/sounds/sf3/MuseScore_General_Full.sf3",
    "fluidr3": "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "avl_black_pearl": "/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2",
    "avl_red_zeppelin": "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2",
}
HYDROGEN_DIR = "/usr/share/hydrogen/data/drumkits"
SONIC_PI_DIR = "/usr/share/sonic-pi/samples"
LMMS_DIR = "/usr/share/lmms/samples"


# ---------------------------------------------------------------- libfluidsynth

class FluidRenderer:
    """One FluidSynth instance with reverb and chorus off (the mix adds its own), single-threaded."""

    BLOCK = 64

    def __init__(self, sample_rate: int = RENDER_SR):
        name = ctypes.util.find_library("fluidsynth") or "libfluidsynth.so.3"
        lib = ctypes.CDLL(name)
        vp, cp, ci, cd = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_double
        for fn, res, args in [
            ("new_fluid_settings", vp, []),
            ("fluid_settings_setnum", ci, [vp, cp, cd]),
            ("fluid_settings_setint", ci, [vp, cp, ci]),
            ("new_fluid_synth", vp, [vp]),
            ("fluid_synth_sfload", ci, [vp, cp, ci]),
            ("fluid_synth_program_select", ci, [vp, ci, ci, ci, ci]),
            ("fluid_synth_noteon", ci, [vp, ci, ci, ci]),
            ("fluid_synth_noteoff", ci, [vp, ci, ci]),
            ("fluid_synth_cc", ci, [vp, ci, ci, ci]),
            ("fluid_synth_all_sounds_off", ci, [vp, ci]),
            ("fluid_synth_system_reset", ci, [vp]),
            ("fluid_synth_write_float", ci, [vp, ci, vp, ci, ci, vp, ci, ci]),
            ("fluid_set_log_function", vp, [ci, vp, vp]),
        ]:
            f = getattr(lib, fn)
            f.restype, f.argtypes = res, args
        for level in range(5):  # silence FluidSynth's stderr chatter (missing presets are checked below)
            lib.fluid_set_log_function(level, None, None)
        self.lib = lib
        self.settings = lib.new_fluid_settings()
        lib.fluid_settings_setnum(self.settings, b"synth.sample-rate", float(sample_rate))
        lib.fluid_settings_setint(self.settings, b"synth.reverb.active", 0)
        lib.fluid_settings_setint(self.settings, b"synth.chorus.active", 0)
        lib.fluid_settings_setint(self.settings, b"synth.polyphony", 256)
        lib.fluid_settings_setint(self.settings, b"synth.cpu-cores", 1)
        lib.fluid_settings_setnum(self.settings, b"synth.gain", 0.4)
        self.synth = lib.new_fluid_synth(self.settings)
        self.sr = sample_rate
        self.sfonts: dict[str, int] = {}

    def sfont(self, key: str) -> int:
        if key not in self.sfonts:
            sid = self.lib.fluid_synth_sfload(self.synth, SOUNDFONTS[key].encode(), 0)
            if sid < 0:
                raise RuntimeError(f"cannot load soundfont {SOUNDFONTS[key]}")
            self.sfonts[key] = sid
        return self.sfonts[key]

    def render(self, notes, n_samples: int, sfont: str, program: int, drums: bool = False,
               ccs=()) -> np.ndarray:
        """notes: (onset_s, dur_s, pitch, velocity). Returns mono float32 of exactly n_samples."""
        lib, syn = self.lib, self.synth
        sid = self.sfont(sfont)
        lib.fluid_synth_system_reset(syn)
        ch = 9 if drums else 0
        # drums: bank 128, preset = GS kit number (0 standard, 16 power, 24 electronic, 25 TR-808, 32 jazz,
        # 40 brush, 48 orchestra); a kit the soundfont lacks falls back to its standard kit
        # (drum-only soundfonts such as avldrums keep their kit at bank 0)
        tries = [(128, program), (128, 0), (0, program), (0, 0)] if drums else [(0, program)]
        if not any(lib.fluid_synth_program_select(syn, ch, sid, b, p) == 0 for b, p in tries):
            raise RuntimeError(f"{sfont}: no preset {program} (drums={drums})")
        events = []
        if drums:  # drum hits (onset, note, velocity): one-shots, a short gate is enough
            notes = [(n[0], 0.25, n[1], n[2]) if len(n) == 3 else n for n in notes]
        for t, d, p, v in notes:
            s = int(round(t * self.sr))
            if s >= n_samples or not (0 <= p <= 127):
                continue
            events.append((s, 1, p, max(1, min(127, int(v)))))
            events.append((min(n_samples - 1, int(round((t + d) * self.sr))), 0, p, 0))
        for t, num, val in ccs:
            events.append((int(round(t * self.sr)), 2, num, val))
        events.sort()
        left = np.zeros(n_samples, dtype=np.float32)
        right = np.zeros(n_samples, dtype=np.float32)
        pos = 0
        lp, rp = left.ctypes.data, right.ctypes.data

        def run_to(end):
            nonlocal pos
            while pos < end:
                k = min(self.BLOCK * 64, end - pos)
                lib.fluid_synth_write_float(syn, k, lp, pos, 1, rp, pos, 1)
                pos += k

        for s, kind, a, b in events:
            run_to(s)
            if kind == 1:
                lib.fluid_synth_noteon(syn, ch, a, b)
            elif kind == 0:
                lib.fluid_synth_noteoff(syn, ch, a)
            else:
                lib.fluid_synth_cc(syn, ch, a, b)
        run_to(n_samples)
        # nothing may ring into the next stem: stop every voice, then drain FluidSynth's internal block
        # buffer (it renders 64-sample blocks, so up to 63 samples of this stem would start the next one)
        lib.fluid_synth_all_sounds_off(syn, ch)
        scratch = np.zeros(2 * self.BLOCK * 4, dtype=np.float32)
        lib.fluid_synth_write_float(syn, self.BLOCK * 4, scratch.ctypes.data, 0, 1, scratch.ctypes.data, self.BLOCK * 4, 1)
        return (left + right) * 0.5


# ---------------------------------------------------------------- audio files

_cache: dict[str, np.ndarray] = {}


def load_audio(path: str, sr: int = RENDER_SR) -> np.ndarray:
    """Mono float32 at sr (pedalboard decodes WAV / FLAC / Ogg / AIFF and resamples)."""
    if path not in _cache:
        from pedalboard.io import AudioFile
        with AudioFile(path) as f:
            if int(f.samplerate) != sr:
                with f.resampled_to(sr) as g:
                    x = g.read(g.frames)
            else:
                x = f.read(f.frames)
        _cache[path] = np.ascontiguousarray(x.mean(axis=0), dtype=np.float32)
    return _cache[path]


def place(out: np.ndarray, x: np.ndarray, start: int, gain: float) -> None:
    if start >= len(out) or start + len(x) <= 0:
        return
    a = max(0, start)
    seg = x[a - start:a - start + len(out) - a]
    out[a:a + len(seg)] += gain * seg


def resample_pitch(x: np.ndarray, ratio: float) -> np.ndarray:
    """Play x faster by ratio (pitch and tempo both change, as a sampler does)."""
    if abs(ratio - 1.0) < 1e-6:
        return x
    n = int(len(x) / ratio)
    return np.interp(np.arange(n) * ratio, np.arange(len(x)), x).astype(np.float32)


# ---------------------------------------------------------------- Hydrogen kits

# General-MIDI drum note -> instrument-name patterns tried in order (first match in the kit wins)
GM_ROLES = {
    35: ["kick", "bass ?drum", "bassdrum", "bd"], 36: ["kick", "bass ?drum", "bassdrum", "bd"],
    37: ["stick", "rim"], 38: ["snare(?!.*(roll|rim))", "snare"], 40: ["snare.*rim", "snare"],
    39: ["clap", "snare"], 42: ["closed", "hat.*cl", "hh", "hat"], 44: ["pedal", "closed", "hat"],
    46: ["open", "hat.*op", "hat"], 49: ["crash"], 57: ["crash"], 51: ["ride(?!.*bell)", "ride"],
    53: ["bell", "ride"], 59: ["ride"], 41: ["floor", "tom.*low", "low tom", "tom"],
    43: ["floor", "tom.*low", "low tom", "tom"], 45: ["tom.*mid", "mid tom", "tom"], 47: ["tom.*mid", "tom"],
    48: ["tom.*hi", "high tom", "tom"], 50: ["tom.*hi", "high tom", "tom"], 56: ["cowbell"],
    54: ["tamb", "shaker", "maraca"], 70: ["maraca", "shaker"], 75: ["clave"],
}


class HydrogenKit:
    def __init__(self, name: str):
        self.name = name
        root = ET.parse(os.path.join(HYDROGEN_DIR, name, "drumkit.xml")).getroot()
        ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
        self.licence = (root.findtext(f"{ns}license") or "").strip()
        self.instruments = []  # (name, [(min, max, gain, path)], volume)
        for ins in root.iter(f"{ns}instrument"):
            nm = (ins.findtext(f"{ns}name") or "").strip()
            layers = []
            for lay in ins.iter(f"{ns}layer"):
                fn = lay.findtext(f"{ns}filename")
                if fn and os.path.exists(os.path.join(HYDROGEN_DIR, name, fn)):
                    layers.append((float(lay.findtext(f"{ns}min") or 0), float(lay.findtext(f"{ns}max") or 1),
                                   float(lay.findtext(f"{ns}gain") or 1), os.path.join(HYDROGEN_DIR, name, fn)))
            if not layers:  # older kit format: one <filename> per instrument
                fn = ins.findtext(f"{ns}filename")
                if fn and os.path.exists(os.path.join(HYDROGEN_DIR, name, fn)):
                    layers.append((0.0, 1.0, 1.0, os.path.join(HYDROGEN_DIR, name, fn)))
            if nm and layers:
                self.instruments.append((nm, layers, float(ins.findtext(f"{ns}volume") or 1)))
        self.map = {}
        for note, pats in GM_ROLES.items():
            for pat in pats:
                hit = next((i for i in self.instruments if re.search(pat, i[0], re.I)), None)
                if hit:
                    self.map[note] = hit
                    break

    def render(self, hits, n_samples: int) -> np.ndarray:
        """hits: (onset_s, gm_note, velocity 1-127); notes the kit lacks are dropped."""
        out = np.zeros(n_samples, dtype=np.float32)
        for t, note, vel in hits:
            ins = self.map.get(note)
            if not ins:
                continue
            v = vel / 127.0
            layer = next((l for l in ins[1] if l[0] <= v <= l[1]), ins[1][-1])
            place(out, load_audio(layer[3]), int(round(t * RENDER_SR)), layer[2] * ins[2] * (0.35 + 0.65 * v))
        return out


# ---------------------------------------------------------------- one-shot drum machines (sample sets)

def _sp(n):
    return os.path.join(SONIC_PI_DIR, n + ".flac")


def _lm(n):
    return os.path.join(LMMS_DIR, n + ".ogg")


# electronic kits assembled from sonic-pi-samples (CC0) and lmms-common one-shots, by GM note
SAMPLE_KITS = {
    "sonicpi_house": {36: _sp("bd_haus"), 38: _sp("sn_dub"), 39: _lm("drums/clap01"), 42: _sp("drum_cymbal_closed"),
                      46: _sp("drum_cymbal_open"), 49: _sp("drum_splash_soft")},
    "sonicpi_tek": {36: _sp("bd_tek"), 38: _sp("elec_snare"), 39: _lm("drums/clap02"), 42: _sp("elec_tick"),
                    46: _sp("drum_cymbal_pedal"), 49: _sp("drum_splash_hard")},
    "lmms_909": {36: _lm("drums/kick01"), 38: _lm("drums/snare01"), 39: _lm("drums/clap03"),
                 42: _lm("drums/hihat_closed01"), 46: _lm("drums/hihat_opened01"), 49: _lm("drums/crash01")},
    "lmms_hiphop": {36: _lm("drums/kick_hiphop01"), 38: _lm("drums/snare_hiphop01"), 39: _lm("drums/snare_hiphop02"),
                    42: _lm("drums/hihat_closed02"), 46: _lm("drums/hihat_opened02"), 37: _lm("drums/rim01")},
    "sonicpi_boom": {36: _sp("bd_boom"), 38: _sp("sn_generic"), 39: _lm("drums/clap04"), 42: _sp("drum_cymbal_closed"),
                     46: _sp("drum_cymbal_open"), 37: _lm("drums/sidestick01")},
    "lmms_electro": {36: _lm("drums/kick03"), 38: _lm("drums/snare_electro01"), 39: _lm("drums/clap01"),
                     42: _lm("drums/hihat_closed03"), 46: _lm("drums/hihat_opened03"), 49: _lm("drums/crash02")},
    "sonicpi_808": {36: _sp("bd_808"), 38: _sp("sn_zome"), 39: _lm("drums/clap04"), 42: _sp("drum_cymbal_closed"),
                    46: _sp("drum_cymbal_open"), 37: _lm("drums/rim01")},
}


def render_sample_kit(kit: str, hits, n_samples: int) -> np.ndarray:
    out = np.zeros(n_samples, dtype=np.float32)
    table = SAMPLE_KITS[kit]
    for t, note, vel in hits:
        path = table.get(note) or table.get({35: 36, 40: 38, 44: 42, 57: 49}.get(note, -1))
        if path:
            place(out, load_audio(path), int(round(t * RENDER_SR)), (vel / 127.0) ** 1.2)
    return out


def render_loop(path: str, source_bpm: float, target_bpm: float, start_s: float, n_samples: int,
                gain: float = 1.0) -> np.ndarray:
    """Tile a drum loop from start_s, re-pitched to the target tempo (the jungle / drum-and-bass way)."""
    x = resample_pitch(load_audio(path), target_bpm / source_bpm)
    out = np.zeros(n_samples, dtype=np.float32)
    s = int(round(start_s * RENDER_SR))
    while s < n_samples:
        place(out, x, s, gain)
        s += len(x)
    return out


# ---------------------------------------------------------------- subtractive synth

def _osc(wave: str, freq: float, n: int, phase: float, duty: float = 0.5) -> np.ndarray:
    ph = (phase + freq * np.arange(n) / RENDER_SR) % 1.0
    if wave == "saw":
        return 2.0 * ph - 1.0
    if wave == "square":
        return np.where(ph < duty, 1.0, -1.0)
    if wave == "triangle":
        return 4.0 * np.abs(ph - 0.5) - 1.0
    if wave == "sine":
        return np.sin(2 * np.pi * ph)
    raise ValueError(wave)


def adsr(n: int, a: float, d: float, s: float, r: float, gate: int) -> np.ndarray:
    env = np.empty(n, dtype=np.float64)
    ai, di, ri = max(1, int(a * RENDER_SR)), max(1, int(d * RENDER_SR)), max(1, int(r * RENDER_SR))
    t = np.arange(n)
    env[:] = s
    env[t < ai] = t[t < ai] / ai
    m = (t >= ai) & (t < ai + di)
    env[m] = 1.0 - (1.0 - s) * (t[m] - ai) / di
    rel = t >= gate
    if rel.any():
        level = env[min(gate, n - 1)] if gate < n else s
        env[rel] = level * np.maximum(0.0, 1.0 - (t[rel] - gate) / ri)
    return env


def synth_voice(notes, n_samples: int, patch: dict, seed: int) -> np.ndarray:
    """Render (onset, dur, pitch, vel) with a patch: waves, detune (cents), voices, adsr, cutoff, resonance,
    drive, duty, bitcrush. Filtering is done per stem with pedalboard's ladder filter."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n_samples, dtype=np.float64)
    a, d, s, r = patch.get("adsr", (0.005, 0.1, 0.7, 0.1))
    waves = patch.get("waves", ["saw"])
    voices = patch.get("voices", 1)
    detune = patch.get("detune", 0.0)
    duty = patch.get("duty", 0.5)
    vib = patch.get("vibrato", 0.0)
    for t, dur, pitch, vel in notes:
        start = int(round(t * RENDER_SR))
        if start >= n_samples:
            continue
        gate = int(dur * RENDER_SR)
        n = min(n_samples - start, gate + int(r * RENDER_SR))
        if n <= 0:
            continue
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        x = np.zeros(n)
        for w in waves:
            for v in range(voices):
                cents = 0.0 if voices == 1 else detune * (2 * v / (voices - 1) - 1)
                f = f0 * 2 ** (cents / 1200)
                if vib:
                    f = f * (1 + vib * np.sin(2 * np.pi * 5.5 * np.arange(n) / RENDER_SR))
                    ph = (rng.random() + np.cumsum(f) / RENDER_SR) % 1.0
                    x += {"saw": 2 * ph - 1, "square": np.where(ph < duty, 1.0, -1.0),
                          "triangle": 4 * np.abs(ph - 0.5) - 1, "sine": np.sin(2 * np.pi * ph)}[w]
                else:
                    x += _osc(w, f, n, rng.random(), duty)
        x /= len(waves) * max(1, voices) ** 0.5
        out[start:start + n] += x * adsr(n, a, d, s, r, gate) * (vel / 127.0)
    return out.astype(np.float32)


def noise_hits(hits, n_samples: int, seed: int, decay: float = 0.05, lowpass: bool = False) -> np.ndarray:
    """Noise-channel percussion for chiptune: (onset, kind, vel) with kind 'kick' | 'snare' | 'hat'."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n_samples, dtype=np.float32)
    for t, kind, vel in hits:
        s = int(round(t * RENDER_SR))
        dur = {"kick": 0.12, "snare": 0.15, "hat": 0.04}[kind]
        n = int(dur * RENDER_SR)
        tt = np.arange(n) / RENDER_SR
        if kind == "kick":
            f = 150 * np.exp(-tt * 25) + 40
            x = np.where((np.cumsum(f) / RENDER_SR) % 1.0 < 0.5, 1.0, -1.0) * np.exp(-tt * 18)
        else:
            steps = rng.integers(0, 2, size=n // 8 + 1) * 2.0 - 1.0  # coarse (low-rate) noise, as NES noise
            x = np.repeat(steps, 8)[:n] * np.exp(-tt * (40 if kind == "snare" else 90))
        place(out, x.astype(np.float32), s, vel / 127.0)
    return out
