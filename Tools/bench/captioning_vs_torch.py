#!/usr/bin/env python3
"""Side-by-side speed of MusCaps training and caption decoding: Swift (`captioning-trainer-bench`, i.e.
`CaptionTrainer`, `GreedyDecoder`, `BeamSearchDecoder`) vs a PyTorch CPU implementation of the same maths
written for speed, on identical synthetic data, in one run.

    .venv-torch/bin/python Tools/bench/captioning_vs_torch.py [--rounds 2] [--threads 2] [--examples 3600]

Needs torch (pip install torch==2.13.0+cpu from the local find-links), numpy and safetensors in the venv,
and a release build of the Swift benchmark (built by this script unless --no-build):
    swift build -c release --product captioning-trainer-bench

Data (seeded): N examples of 10 chunks x 753 features (|N(0, 1)|, as musicnn max-pool outputs are
non-negative), captions of 8-22 words (<sos> w... <eos>, word ids Zipf-like over a vocabulary of 1,000),
batch 16 with the last short batch dropped, Adam lr 1e-4, clip_grad_norm_(12), dropout 0.25, frozen 300-d
word embeddings, 256 hidden units. Both sides run an epoch per round, alternating, with the same number of
BLAS/intra-op threads; the table reports the median over rounds.

Caption latency: one caption from 3 windows (10 s of context), 22 steps (<eos> is made impossible so every
caption has the full length), batch 1, carried LSTM state, one thread on both sides; beam search keeps its
5 beams in one batched step.
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOS, EOS, PAD = 2, 3, 0


def make_data(n, chunks=10, k=753, vocabulary=1000, seed=2021):
    rng = np.random.default_rng(seed)
    features = np.abs(rng.standard_normal((n, chunks, k), dtype=np.float32))
    lengths = rng.integers(8, 23, size=n)
    tokens = np.zeros((n, 24), dtype=np.float32)
    for i, words in enumerate(lengths):
        u = rng.random(words)
        ids = 4 + np.floor((vocabulary - 4) * u * u).astype(np.int64)
        tokens[i, 0] = SOS
        tokens[i, 1:words + 1] = ids
        tokens[i, words + 1] = EOS
    return features, tokens


def lstm_cell(gates, c):
    """PyTorch's gate order i, f, g, o."""
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


class FastMusCaps(nn.Module):
    """MusCaps (early fusion, late fusion or attention) written for speed on the CPU: fused LSTMs over whole
    sequences where the maths allows (fusion variants), input projections hoisted out of the time loop
    (attention), the output layer applied once to all steps."""

    def __init__(self, variant, vocabulary, k=753, d=300, h=256, a=256, dropout=0.25):
        super().__init__()
        self.variant, self.h = variant, h
        self.audio_linear = nn.Linear(k, h)
        self.batch_norm = nn.BatchNorm1d(h)
        self.embedding = nn.Embedding(vocabulary, d, padding_idx=PAD)
        self.embedding.weight.requires_grad_(False)  # frozen (GloVe in the paper)
        if variant == "attention":
            self.encoder = nn.LSTMCell(d + 2 * h, h)
            self.att_features = nn.Linear(k, a)
            self.att_query = nn.Linear(h, a)
            self.att_score = nn.Linear(a, 1)
            self.decoder = nn.LSTMCell(k + h, h)
        else:
            self.encoder = nn.LSTM(d + (h if variant == "early" else 0), h, batch_first=True)
            self.decoder = nn.LSTM(h if variant == "early" else 2 * h, h, batch_first=True)
        self.output = torch.nn.utils.parametrizations.weight_norm(nn.Linear(h, vocabulary))
        self.dropout = nn.Dropout(dropout)

    def audio(self, features):
        return F.relu(self.batch_norm(self.audio_linear(features.mean(1))))

    def forward(self, features, tokens):
        a = self.audio(features)
        x = self.embedding(tokens[:, :-1])
        b, t, _ = x.shape
        if self.variant != "attention":
            steps_a = a[:, None, :].expand(b, t, self.h)
            if self.variant == "early":
                encoded, _ = self.encoder(torch.cat([steps_a, x], 2))
                decoder_in = encoded
            else:
                encoded, _ = self.encoder(x)
                decoder_in = torch.cat([encoded, steps_a], 2)
            hidden, _ = self.decoder(decoder_in, (a[None].contiguous(), a[None].contiguous()))
        else:
            d = x.shape[2]
            w_enc, w_dec = self.encoder.weight_ih, self.decoder.weight_ih
            k = features.shape[2]
            # Everything that does not depend on the recurrence, for all steps at once.
            enc_static = x @ w_enc[:, :d].T + (a @ w_enc[:, d:d + self.h].T + self.encoder.bias_ih + self.encoder.bias_hh)[:, None]
            projected = self.att_features(features)                      # [B, L, A]
            chunk_gates = features @ w_dec[:, :k].T                       # [B, L, 4H]
            h1 = c1 = h2 = c2 = a
            outputs = []
            for step in range(t):
                g1 = enc_static[:, step] + h2 @ w_enc[:, d + self.h:].T + h1 @ self.encoder.weight_hh.T
                h1, c1 = lstm_cell(g1, c1)
                scores = self.att_score(torch.tanh(projected + self.att_query(h1)[:, None])).squeeze(-1)
                beta = torch.softmax(scores, 1)
                g2 = torch.bmm(beta[:, None], chunk_gates).squeeze(1) + h1 @ w_dec[:, k:].T + h2 @ self.decoder.weight_hh.T \
                    + self.decoder.bias_ih + self.decoder.bias_hh
                h2, c2 = lstm_cell(g2, c2)
                outputs.append(h2)
            hidden = torch.stack(outputs, 1)
        logits = self.output(self.dropout(hidden))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1), ignore_index=PAD)


class FastDecoder:
    """Carried-state step decoding (greedy and batched beam search) with fused per-step weights."""

    def __init__(self, model):
        m, self.model, h = model, model, model.h
        self.h = h
        self.variant = m.variant
        with torch.no_grad():
            scale = m.batch_norm.weight / torch.sqrt(m.batch_norm.running_var + m.batch_norm.eps)
            self.audio_w = m.audio_linear.weight * scale[:, None]
            self.audio_b = (m.audio_linear.bias - m.batch_norm.running_mean) * scale + m.batch_norm.bias
            self.out_w = m.output.weight.detach().clone()
            self.out_b = m.output.bias.detach().clone()
            d = m.embedding.weight.shape[1]
            self.d = d
            if self.variant == "attention":
                we = m.encoder.weight_ih
                self.enc_w = torch.cat([we[:, :d], we[:, d + h:], m.encoder.weight_hh], 1)  # [w | h2 | h1]
                self.enc_a = we[:, d:d + h]
                self.enc_b = m.encoder.bias_ih + m.encoder.bias_hh
                wd = m.decoder.weight_ih
                self.k = wd.shape[1] - h
                self.dec_w = torch.cat([wd[:, self.k:], m.decoder.weight_hh], 1)            # [h1 | h2]
                self.dec_chunk = wd[:, :self.k]
                self.dec_b = m.decoder.bias_ih + m.decoder.bias_hh
            else:
                e, dd = m.encoder, m.decoder
                wi = e.weight_ih_l0
                if self.variant == "early":
                    self.enc_a, self.enc_w = wi[:, :h], torch.cat([wi[:, h:], e.weight_hh_l0], 1)
                    self.dec_w = torch.cat([dd.weight_ih_l0, dd.weight_hh_l0], 1)
                    self.dec_a = None
                else:
                    self.enc_a, self.enc_w = None, torch.cat([wi, e.weight_hh_l0], 1)
                    self.dec_w = torch.cat([dd.weight_ih_l0[:, :h], dd.weight_hh_l0], 1)
                    self.dec_a = dd.weight_ih_l0[:, h:]
                self.enc_b = e.bias_ih_l0 + e.bias_hh_l0
                self.dec_b = dd.bias_ih_l0 + dd.bias_hh_l0

    @torch.no_grad()
    def start(self, features, rows):
        a = F.relu(features.mean(0) @ self.audio_w.T + self.audio_b)[None].expand(rows, self.h).contiguous()
        s = {"rows": rows}
        if self.variant == "attention":
            m = self.model
            s["enc_const"] = a @ self.enc_a.T + self.enc_b
            s["projected"] = m.att_features(features)
            s["chunk_gates"] = features @ self.dec_chunk.T
            s["h1"], s["c1"], s["h2"], s["c2"] = a, a.clone(), a.clone(), a.clone()
        else:
            zeros = torch.zeros_like(a)
            s["enc_const"] = (a @ self.enc_a.T if self.enc_a is not None else 0) + self.enc_b
            s["dec_const"] = (a @ self.dec_a.T if self.dec_a is not None else 0) + self.dec_b
            s["h1"], s["c1"], s["h2"], s["c2"] = zeros, zeros.clone(), a, a.clone()
        return s

    @torch.no_grad()
    def step(self, s, tokens):
        w = self.model.embedding.weight[tokens]
        if self.variant == "attention":
            m = self.model
            g1 = s["enc_const"] + torch.cat([w, s["h2"], s["h1"]], 1) @ self.enc_w.T
            s["h1"], s["c1"] = lstm_cell(g1, s["c1"])
            scores = m.att_score(torch.tanh(s["projected"][None] + m.att_query(s["h1"])[:, None])).squeeze(-1)
            beta = torch.softmax(scores, 1)
            g2 = beta @ s["chunk_gates"] + torch.cat([s["h1"], s["h2"]], 1) @ self.dec_w.T + self.dec_b
        else:
            g1 = s["enc_const"] + torch.cat([w, s["h1"]], 1) @ self.enc_w.T
            s["h1"], s["c1"] = lstm_cell(g1, s["c1"])
            g2 = s["dec_const"] + torch.cat([s["h1"], s["h2"]], 1) @ self.dec_w.T
        s["h2"], s["c2"] = lstm_cell(g2, s["c2"])
        return torch.addmm(self.out_b, s["h2"], self.out_w.T)

    @torch.no_grad()
    def select(self, s, parents):
        """Beam reordering: row i continues row parents[i] (per-row tensors only; shared constants stay)."""
        for key in ("h1", "c1", "h2", "c2", "enc_const", "dec_const"):
            if key in s and torch.is_tensor(s[key]) and s[key].dim() == 2:
                s[key] = s[key].index_select(0, parents)

    @torch.no_grad()
    def greedy(self, features, steps=22):
        s = self.start(features, 1)
        token = torch.tensor([SOS])
        words = []
        for _ in range(steps):
            token = self.step(s, token).argmax(1)
            if token.item() == EOS:
                break
            words.append(token.item())
        return words

    @torch.no_grad()
    def beam(self, features, width=5, steps=22):
        s = self.start(features, 1)
        tokens = torch.tensor([SOS])
        scores = torch.zeros(1)
        sequences = torch.zeros(1, 0, dtype=torch.long)
        finished, k = [], width
        for _ in range(steps):
            logp = torch.log_softmax(self.step(s, tokens), 1) + scores[:, None]
            top, flat = logp.view(-1).topk(k)
            v = logp.shape[1]
            parents, words = flat // v, flat % v
            sequences = torch.cat([sequences[parents], words[:, None]], 1)
            done = words == EOS
            for i in done.nonzero().flatten().tolist():
                finished.append((top[i].item(), sequences[i, :-1].tolist()))
            k -= int(done.sum())
            if k == 0:
                break
            keep = (~done).nonzero().flatten()
            self.select(s, parents[keep])
            sequences, scores, tokens = sequences[keep], top[keep], words[keep]
        if finished:
            return max(finished)[1]
        return sequences[0].tolist()


def torch_warm_up(model, features, tokens, batch=16):
    """oneDNN builds an RNN primitive per new sequence length on first use (seconds each on this machine):
    run every caption length once, untimed, so epochs measure the steady state."""
    model.train()
    lengths = (tokens != PAD).sum(1)
    for length in sorted(set(int(x) for x in lengths)):
        rows = np.nonzero(lengths == length)[0][:batch]
        rows = np.resize(rows, batch)
        loss = model(torch.from_numpy(features[rows]), torch.from_numpy(tokens[rows][:, :length]).long())
        loss.backward()
    model.zero_grad(set_to_none=True)


def torch_epoch(model, optimizer, features, tokens, order, batch=16):
    model.train()
    start = time.perf_counter()
    total, batches = 0.0, 0
    for i in range(0, len(order) - batch + 1, batch):
        rows = order[i:i + batch]
        t = tokens[rows]
        length = int((t != PAD).sum(1).max())
        loss = model(torch.from_numpy(features[rows]), torch.from_numpy(t[:, :length]).long())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 12)
        optimizer.step()
        total += loss.item()
        batches += 1
    return time.perf_counter() - start, total / batches


def torch_latency(model, features, runs):
    model.eval()
    with torch.no_grad():
        model.output.bias.data[EOS] = -1e4  # <eos> never wins: every caption runs the full 22 steps
    decoder = FastDecoder(model)
    track = torch.from_numpy(features[0, :3])
    greedy, beam = [], []
    for run in range(runs + 5):
        start = time.perf_counter()
        g = decoder.greedy(track)
        middle = time.perf_counter()
        b = decoder.beam(track)
        end = time.perf_counter()
        assert len(g) == 22 and len(b) == 22
        if run >= 5:
            greedy.append(1000 * (middle - start))
            beam.append(1000 * (end - middle))
    return statistics.median(greedy), statistics.median(beam)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=3600)
    parser.add_argument("--rounds", type=int, default=2, help="epochs per side per variant (alternating)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS / intra-op threads for training")
    parser.add_argument("--latency-runs", type=int, default=200)
    parser.add_argument("--variants", default="early,attention")
    parser.add_argument("--swift", default=os.path.join(ROOT, ".build/release/captioning-trainer-bench"))
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()

    if not args.no_build:
        scratch = os.path.dirname(os.path.dirname(args.swift))
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", scratch, "--product", "captioning-trainer-bench"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    features, tokens = make_data(args.examples)
    workdir = tempfile.TemporaryDirectory(prefix="captioning-bench-")
    data = os.path.join(workdir.name, "captioning-bench.safetensors")
    save_file({"features": features, "tokens": tokens}, data, metadata={"vocabulary": "1000"})
    names = {"early": "early fusion", "late": "late fusion", "attention": "attention"}
    print(f"data: {args.examples} examples, 10 chunks x 753, vocabulary 1000, batch 16; {args.threads} threads; "
          f"torch {torch.__version__}", flush=True)

    rows = []
    for variant in args.variants.split(","):
        swift_epochs, torch_epochs, swift_json = [], [], None
        torch.manual_seed(1)
        torch.set_num_threads(args.threads)
        model = FastMusCaps(variant, 1000)
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        rng = np.random.default_rng(1)
        torch_warm_up(model, features, tokens)
        for r in range(args.rounds):
            out = subprocess.run([args.swift, "--data", data, "--variants", variant, "--epochs", "1",
                                  "--threads", str(args.threads), "--latency-runs", str(args.latency_runs if r == 0 else 20)],
                                 check=True, capture_output=True, text=True)
            result = json.loads(out.stdout)[variant]
            swift_epochs.append(result["epoch_seconds"][0])
            swift_json = swift_json or result
            seconds, loss = torch_epoch(model, optimizer, features, tokens, rng.permutation(args.examples))
            torch_epochs.append(seconds)
            print(f"{variant} round {r + 1} (load {os.getloadavg()[0]:.1f}): swift {swift_epochs[-1]:.2f} s (loss {result['train_loss'][0]:.3f}), "
                  f"torch {seconds:.2f} s (loss {loss:.3f})", flush=True)
        torch_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB, whole process so far
        torch.set_num_threads(1)
        greedy, beam = torch_latency(model, features, args.latency_runs)
        rows.append((variant, statistics.median(swift_epochs), statistics.median(torch_epochs), swift_json, greedy, beam, torch_rss))

    print("\n| variant | Swift epoch | PyTorch epoch (speed-written) | ratio (PyTorch / Swift) | Swift ms/batch |"
          " Swift checkpoint write | peak RSS Swift / PyTorch |")
    print("|---|---|---|---|---|---|---|")
    for variant, s, t, j, _, _, rss in rows:
        print(f"| {names[variant]} | {s:.2f} s | {t:.2f} s | {t / s:.2f}x | {j['batch_ms_median']:.1f} | {j['checkpoint_seconds']:.2f} s "
              f"| {j['peak_rss_mb']:.0f} / {rss:.0f} MB |")
    print("\n| variant | Swift greedy (median / p90) | PyTorch greedy | ratio | Swift beam 5 (median / p90) | PyTorch beam 5 | ratio |"
          " Swift allocations per caption |")
    print("|---|---|---|---|---|---|---|---|")
    for variant, _, _, j, g, b, _ in rows:
        print(f"| {names[variant]} | {j['greedy_ms_median']:.2f} / {j['greedy_ms_p90']:.2f} ms | {g:.2f} ms | {g / j['greedy_ms_median']:.1f}x "
              f"| {j['beam5_ms_median']:.2f} / {j['beam5_ms_p90']:.2f} ms | {b:.2f} ms | {b / j['beam5_ms_median']:.1f}x | {j['decode_allocations']} |")


if __name__ == "__main__":
    main()
