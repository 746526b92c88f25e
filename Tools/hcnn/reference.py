"""The Harmonic CNN (Won et al., ICASSP 2020) as PyTorch modules, for golden fixtures and benchmarks.

Written from the authors' published code (`minzwon/sota-music-tagging-models`, training/model.py
`HarmonicCNN` and training/modules.py `HarmonicSTFT`, `initialize_filterbank`, `Conv_2d`, `Res_2d_mp`),
with the same module names, so `state_dict()` keys are exactly those of the authors' `best_model.pth`.
Every number below (MIDI range, bandwidth constants, pooling sizes) is taken from there:

- input: 5 s at 16 kHz (80,000 samples), batch × samples;
- harmonic STFT: torchaudio `Spectrogram(n_fft=512)` (win 512, hop 256, periodic Hann, `center=True`
  with *reflect* padding, power 2); 128 centre frequencies f0 from MIDI 24 (C1) up to (but not
  including) MIDI 88 (E6 = the note nearest 16000 / (2·6) Hz) in half-semitone steps, stacked for
  harmonics 1…6 (768 bands); triangular filters of bandwidth (0.1079·f + 24.7) / Q over the 257 FFT bin
  frequencies linspace(0, 8000, 257), Q learnable (`hstft.bw_Q`); `AmplitudeToDB` (power, amin 1e-10,
  ref 1, no top_db) → batch × 6 × 128 × T;
- `hstft_bn` BatchNorm2d(6);
- layer1 Conv_2d(6→128, pool 2), layer2–4 Res_2d_mp(128, pool 2), layer5 Conv_2d(128→256, pool 2),
  layer6–7 Res_2d_mp(256, pool (2, 3)); Conv_2d = maxpool(relu(bn(conv3x3))); Res_2d_mp =
  maxpool(relu(x + bn_2(conv_2(relu(bn_1(conv_1(x)))))));
- squeeze the frequency axis (1 after layer7), global max over time (1 already for 5 s) → 256
  (the embedding MusCaps captions from: "we discard the classification layers");
- head: dense1 256→256, BatchNorm1d, ReLU, (dropout), dense2 256→50, sigmoid.

torchaudio is used when it imports; otherwise the identical computation is spelled out with
`torch.stft` (torchaudio's `Spectrogram` is exactly that call) — `SPECTROGRAM_IMPLEMENTATION` says which.
librosa (used by the authors only for `note_to_midi('C1')` and `hz_to_note(16000/12)`) is replaced by
the two MIDI numbers it returns, asserted below from the formula librosa applies.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

try:  # pragma: no cover - depends on the environment
    import torchaudio

    SPECTROGRAM_IMPLEMENTATION = f"torchaudio {torchaudio.__version__}"
except Exception:  # noqa: BLE001
    torchaudio = None
    SPECTROGRAM_IMPLEMENTATION = "torch.stft (torchaudio not importable)"

SAMPLE_RATE = 16000
N_FFT = 512
HOP = N_FFT // 2
WINDOW_SAMPLES = 5 * SAMPLE_RATE
N_HARMONIC = 6
SEMITONE_SCALE = 2
BW_ALPHA = 0.1079
BW_BETA = 24.7
BN_EPSILON = 1e-5


def midi_of_nearest_note(hz: float) -> int:
    """librosa.hz_to_note then note_to_midi: the nearest equal-tempered MIDI note."""
    return int(round(12 * (math.log2(hz) - math.log2(440.0)) + 69))


LOW_MIDI = 24                                               # librosa.note_to_midi('C1')
HIGH_MIDI = midi_of_nearest_note(SAMPLE_RATE / (2 * N_HARMONIC))
assert HIGH_MIDI == 88, HIGH_MIDI                           # 'E6'
LEVELS = (HIGH_MIDI - LOW_MIDI) * SEMITONE_SCALE            # 128


def centre_frequencies() -> np.ndarray:
    """The 768 band centres in Hz (float64, then stored float32 as the authors do)."""
    midi = np.linspace(LOW_MIDI, HIGH_MIDI, LEVELS + 1)
    hz = 440.0 * (2.0 ** ((midi[:-1] - 69.0) / 12.0))
    return np.concatenate([hz * (h + 1) for h in range(N_HARMONIC)]).astype("float32")


class _Spectrogram(nn.Module):
    """torchaudio.transforms.Spectrogram(n_fft=512, power=2) spelled out, with the same `window` buffer."""

    def __init__(self):
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT))

    def forward(self, x):
        spec = torch.stft(x, N_FFT, hop_length=HOP, win_length=N_FFT, window=self.window, center=True,
                          pad_mode="reflect", normalized=False, onesided=True, return_complex=True)
        return spec.abs().pow(2.0)


class HarmonicSTFT(nn.Module):
    def __init__(self, bw_q: float = 1.0):
        super().__init__()
        if torchaudio is not None:
            self.spec = torchaudio.transforms.Spectrogram(n_fft=N_FFT, power=2)
        else:
            self.spec = _Spectrogram()
        self.f0 = torch.tensor(centre_frequencies())
        self.bw_Q = nn.Parameter(torch.tensor([bw_q], dtype=torch.float32))

    def filterbank(self, n_bins: int) -> torch.Tensor:
        """[n_bins, 768] triangles, in the authors' float32 operation order."""
        bins = torch.linspace(0, SAMPLE_RATE // 2, n_bins).unsqueeze(1)
        bw = ((BW_ALPHA * self.f0 + BW_BETA) / self.bw_Q).unsqueeze(0)
        f0 = self.f0.unsqueeze(0)
        rising = torch.matmul(bins, 2 / bw) + 1 - (2 * f0 / bw)
        falling = torch.matmul(bins, -2 / bw) + 1 + (2 * f0 / bw)
        return torch.max(torch.zeros(1), torch.min(falling, rising))

    def power(self, waveform):
        return self.spec(waveform)

    def forward(self, waveform):
        power = self.spec(waveform)                                   # [B, 257, T]
        bands = torch.matmul(power.transpose(1, 2), self.filterbank(power.size(1))).transpose(1, 2)
        b, _, t = bands.shape
        bands = bands.view(b, N_HARMONIC, LEVELS, t)
        return 10.0 * torch.log10(torch.clamp(bands, min=1e-10))      # AmplitudeToDB(power, ref 1)


class Conv_2d(nn.Module):  # noqa: N801 - the authors' name, so state_dict keys match
    def __init__(self, cin, cout, pooling):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.bn = nn.BatchNorm2d(cout)
        self.mp = nn.MaxPool2d(pooling)

    def forward(self, x):
        return self.mp(torch.relu(self.bn(self.conv(x))))


class Res_2d_mp(nn.Module):  # noqa: N801
    def __init__(self, channels, pooling):
        super().__init__()
        self.conv_1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn_1 = nn.BatchNorm2d(channels)
        self.conv_2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn_2 = nn.BatchNorm2d(channels)
        self.mp = nn.MaxPool2d(pooling)

    def forward(self, x):
        inner = self.bn_2(self.conv_2(torch.relu(self.bn_1(self.conv_1(x)))))
        return self.mp(torch.relu(x + inner))


class HarmonicCNN(nn.Module):
    LAYERS = ("layer1", "layer2", "layer3", "layer4", "layer5", "layer6", "layer7")

    def __init__(self, n_channels: int = 128, n_class: int = 50):
        super().__init__()
        self.hstft = HarmonicSTFT()
        self.hstft_bn = nn.BatchNorm2d(N_HARMONIC)
        self.layer1 = Conv_2d(N_HARMONIC, n_channels, 2)
        self.layer2 = Res_2d_mp(n_channels, 2)
        self.layer3 = Res_2d_mp(n_channels, 2)
        self.layer4 = Res_2d_mp(n_channels, 2)
        self.layer5 = Conv_2d(n_channels, 2 * n_channels, 2)
        self.layer6 = Res_2d_mp(2 * n_channels, (2, 3))
        self.layer7 = Res_2d_mp(2 * n_channels, (2, 3))
        self.dense1 = nn.Linear(2 * n_channels, 2 * n_channels)
        self.bn = nn.BatchNorm1d(2 * n_channels)
        self.dense2 = nn.Linear(2 * n_channels, n_class)
        self.dropout = nn.Dropout(0.5)

    def forward_layers(self, x):
        """Every intermediate, in order: name → tensor (batch first)."""
        out = {}
        out["spectrogram"] = self.hstft(x)
        h = self.hstft_bn(out["spectrogram"])
        out["normalized"] = h
        for name in self.LAYERS:
            h = getattr(self, name)(h)
            out[name] = h
        h = h.squeeze(2)
        if h.size(-1) != 1:
            h = nn.functional.max_pool1d(h, h.size(-1))
        out["embedding"] = h.squeeze(2)
        hidden = torch.relu(self.bn(self.dense1(out["embedding"])))
        out["penultimate"] = hidden
        out["taggram"] = torch.sigmoid(self.dense2(self.dropout(hidden)))
        return out

    def forward(self, x):
        return self.forward_layers(x)["taggram"]
