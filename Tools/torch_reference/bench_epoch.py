"""One training epoch of each MusCaps variant in PyTorch, written for speed (the same maths as
muscaps_reference.py: unpacked nn.LSTM for the fused encoders and decoders, the output layer and the loss
once over all steps, chunk projections once per batch), on synthetic data of the issue's benchmark shape:
3,600 examples of 10 chunks × 753 features, captions of 8–22 words + <sos>/<eos>, vocabulary 1,000, batch 16
(last short batch dropped), Adam + clip_grad_norm_(12). Compare with `swift run -c release captioning-bench`.

    .venv-torch/bin/python Tools/torch_reference/bench_epoch.py [--variants early,late,attention] [--threads 2]
"""
import argparse
import time

import torch
import torch.nn as nn

import muscaps_reference as ref

V, K, L, D, H, A, B = 1000, 753, 10, 300, 256, 256, 16


class FastFusion(nn.Module):
    def __init__(self, fusion):
        super().__init__()
        self.fusion = fusion
        self.audio_linear = nn.Linear(K, H)
        self.batch_norm = nn.BatchNorm1d(H)
        self.embedding = nn.Embedding(V, D, padding_idx=0)
        self.embedding.weight.requires_grad_(False)
        self.encoder = nn.LSTM(D + (H if fusion == "early" else 0), H, batch_first=True)
        self.decoder = nn.LSTM(H if fusion == "early" else 2 * H, H, batch_first=True)  # = LSTMCell loop, h0 = c0 = a
        self.dense = ref.weight_norm(nn.Linear(H, V))
        self.dropout = nn.Dropout(0.25)

    def forward(self, features, tokens):
        a = torch.relu(self.batch_norm(self.audio_linear(features.mean(1))))
        w = self.embedding(tokens[:, :-1])
        audio = a.unsqueeze(1).expand(-1, w.size(1), -1)
        x = torch.cat((audio, w), 2) if self.fusion == "early" else w
        h_enc, _ = self.encoder(x)
        if self.fusion == "late":
            h_enc = torch.cat((h_enc, audio), 2)
        state = (a.unsqueeze(0).contiguous(), a.unsqueeze(0).contiguous())
        h_dec, _ = self.decoder(h_enc, state)
        return self.dense(self.dropout(h_dec))


class FastAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.audio_linear = nn.Linear(K, H)
        self.batch_norm = nn.BatchNorm1d(H)
        self.embedding = nn.Embedding(V, D, padding_idx=0)
        self.embedding.weight.requires_grad_(False)
        self.encoder = nn.LSTMCell(D + 2 * H, H)
        self.audio_projection = nn.Linear(K, A)
        self.query_projection = nn.Linear(H, A)
        self.score = nn.Linear(A, 1)
        self.decoder = nn.LSTMCell(K + H, H)
        self.dense = ref.weight_norm(nn.Linear(H, V))
        self.dropout = nn.Dropout(0.25)

    def forward(self, features, tokens):
        a = torch.relu(self.batch_norm(self.audio_linear(features.mean(1))))
        w = self.embedding(tokens[:, :-1])
        projected = self.audio_projection(features)
        h1, c1, h2, c2 = a, a, a, a
        outputs = []
        for t in range(w.size(1)):
            h1, c1 = self.encoder(torch.cat((w[:, t], a, h2), 1), (h1, c1))
            scores = self.score(torch.tanh(projected + self.query_projection(h1).unsqueeze(1))).squeeze(-1)
            beta = torch.softmax(scores, -1)
            attended = torch.bmm(beta.unsqueeze(1), features).squeeze(1)
            h2, c2 = self.decoder(torch.cat((attended, h1), 1), (h2, c2))
            outputs.append(h2)
        return self.dense(self.dropout(torch.stack(outputs, 1)))


def synthetic(examples, generator):
    features = torch.randn(examples, L, K, generator=generator).abs()
    captions = []
    for _ in range(examples):
        words = int(torch.randint(8, 23, (1,), generator=generator))
        u = torch.rand(words, generator=generator)
        captions.append([2] + (4 + ((V - 4) * u * u).long()).tolist() + [3])
    return features, captions


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", default="early,late,attention")
    parser.add_argument("--examples", type=int, default=3600)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(2021)
    features, captions = synthetic(args.examples, generator)
    print(f"torch {torch.__version__}: {args.examples} examples, {L} chunks × {K}, vocabulary {V}, batch {B}, threads {args.threads}")
    for variant in args.variants.split(","):
        torch.manual_seed(1)
        model = FastAttention() if variant == "attention" else FastFusion(variant)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=1e-4)
        loss_fn = nn.CrossEntropyLoss(ignore_index=0)
        order = torch.randperm(args.examples, generator=generator).tolist()
        batches = []
        for start in range(0, args.examples - B + 1, B):
            rows = order[start:start + B]
            length = max(len(captions[i]) for i in rows)
            tokens = torch.zeros(B, length, dtype=torch.long)
            for b, i in enumerate(rows):
                tokens[b, :len(captions[i])] = torch.tensor(captions[i])
            batches.append((features[rows], tokens))
        model.train()
        started, cpu_started = time.perf_counter(), time.process_time()
        total = 0.0
        for batch_features, tokens in batches:
            logits = model(batch_features, tokens)
            loss = loss_fn(logits.reshape(-1, V), tokens[:, 1:].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 12)
            optimizer.step()
            total += loss.item()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        print(f"{variant}: training epoch {elapsed:.2f} s wall, {cpu:.2f} s CPU ({len(batches)} batches, {1000 * elapsed / len(batches):.1f} ms/batch), "
              f"mean loss {total / len(batches):.3f}")


if __name__ == "__main__":
    main()
