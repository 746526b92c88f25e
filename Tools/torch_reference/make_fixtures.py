"""Golden fixtures for the Swift MusCaps model (Tests/CaptioningTests/Fixtures/*.safetensors).

For each variant (early, late, attention) it builds the reference model (muscaps_reference.py) at small,
mutually distinct sizes with seeded weights, runs one teacher-forced training batch with replayed
dropout masks, and stores: every state_dict tensor, the inputs, logits, loss, every parameter gradient,
the BatchNorm running statistics after the step, evaluation-mode logits/loss, a clip_grad_norm_ case,
the weights after one Adam step, then a second forward/backward/clip/Adam step (loss, gradients, weights). Tests/NeuralCoreTests/Fixtures/
training_layers.safetensors holds per-layer cases (LSTM, LSTMCell, weight-norm linear, BatchNorm1d, masked attention, cross-entropy).

Run from the repository root:  .venv-torch/bin/python Tools/torch_reference/make_fixtures.py
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import muscaps_reference as ref  # noqa: E402
import st_write  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "CaptioningTests", "Fixtures")
LAYERS_OUT = os.path.join(ROOT, "Tests", "NeuralCoreTests", "Fixtures")

# Small, mutually distinct sizes, so a transposed or mixed-up dimension cannot pass by accident.
B, L, T = 4, 6, 9            # batch, max chunks, caption length (<sos> … <eos> + padding)
K, D, H, A, V = 24, 12, 16, 10, 50
CHUNK_COUNTS = [6, 3, 6, 5]  # two shorter tracks: masked attention and masked mean
CAPTION_LENGTHS = [9, 6, 8, 4]
PAD, UNK, SOS, EOS = 0, 1, 2, 3
DROPOUT = 0.25
LR = 1e-2


def f32(t):
    return t.detach().cpu().contiguous().numpy().astype(np.float32)


def i64(t):
    return t.detach().cpu().contiguous().numpy().astype(np.int64)


def state_arrays(model):
    out = {}
    for name, tensor in model.state_dict().items():
        out[name] = i64(tensor) if tensor.dtype == torch.int64 else f32(tensor)
    return out


def make_inputs(generator):
    features = torch.randn(B, L, K, generator=generator).abs() * 0.8
    counts = torch.tensor(CHUNK_COUNTS, dtype=torch.int64)
    # Padding chunks hold garbage: the maths must never read them.
    for b, n in enumerate(CHUNK_COUNTS):
        features[b, n:] = 1e3 * (1 + torch.rand(L - n, K, generator=generator))
    tokens = torch.full((B, T), PAD, dtype=torch.int64)
    for b, n in enumerate(CAPTION_LENGTHS):
        words = torch.randint(4, V, (n - 2,), generator=generator)
        words[0] = UNK if b == 1 else words[0]
        tokens[b, 0] = SOS
        tokens[b, 1:n - 1] = words
        tokens[b, n - 1] = EOS
    keep = (torch.rand(B, T - 1, H, generator=generator) >= DROPOUT).float() / (1 - DROPOUT)
    return features, counts, tokens, keep


def set_masks(model, masks):
    model.decoder.dropout.masks = masks
    model.decoder.dropout.calls = 0


def variant_fixture(variant, seed):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed + 1000)
    vectors = torch.randn(V, D, generator=generator) * 0.5
    for i in range(4):
        vectors[i] = 0.1 * i  # as muscaps/utils/vocab.py does for <pad>, <unk>, <sos>, <eos>
    config = ref.Config(fusion=variant, word_embed_dim=D, hidden_dim_encoder=H, hidden_dim_decoder=H,
                        attention_dim=A, dropout_decoder=DROPOUT, vocab_size=V, audio_feature_dim=K)
    model = ref.build(variant, config, vectors)
    with torch.no_grad():  # non-trivial running statistics, so evaluation mode is really tested
        model.batch_norm.running_mean.copy_(torch.randn(H, generator=generator) * 0.1)
        model.batch_norm.running_var.copy_(0.5 + torch.rand(H, generator=generator))
        model.batch_norm.num_batches_tracked.fill_(3)
        model.batch_norm.weight.copy_(1 + 0.2 * torch.randn(H, generator=generator))
        model.batch_norm.bias.copy_(0.3 + 0.1 * torch.randn(H, generator=generator))
    features, counts, tokens, keep = make_inputs(generator)
    lengths = CAPTION_LENGTHS
    out = {}
    names = list(model.state_dict().keys())
    out.update(state_arrays(model))
    out["input.features"] = f32(features)
    out["input.chunk_counts"] = i64(counts)
    out["input.tokens"] = i64(tokens)
    out["input.dropout_mask"] = f32(keep)

    params = [p for p in model.parameters() if p.requires_grad]
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=LR)

    # Step 1: training forward/backward with the replayed dropout masks.
    model.train()
    set_masks(model, keep)
    logits = ref.run(model, variant, features, counts, tokens, lengths)
    loss = ref.loss_of(logits, tokens, PAD)
    optimizer.zero_grad()
    loss.backward()
    out["output.logits"] = f32(logits)
    out["output.loss"] = f32(loss.reshape(1))
    for n, p in named:
        out[f"grad.{n}"] = f32(p.grad)
    for n in ("running_mean", "running_var", "num_batches_tracked"):
        t = getattr(model.batch_norm, n)
        out[f"after.batch_norm.{n}"] = i64(t) if t.dtype == torch.int64 else f32(t)

    # Evaluation mode (running statistics, no dropout) on the updated running statistics.
    model.eval()
    with torch.no_grad():
        eval_logits = ref.run(model, variant, features, counts, tokens, lengths)
        out["eval.logits"] = f32(eval_logits)
        out["eval.loss"] = f32(ref.loss_of(eval_logits, tokens, PAD).reshape(1))

    # Clipping that bites (max_norm = half the norm), then one Adam step.
    total = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in params)).item()
    max_norm = 0.5 * total
    returned = torch.nn.utils.clip_grad_norm_(params, max_norm)
    out["clip.max_norm"] = np.array([max_norm], dtype=np.float32)
    out["clip.total_norm"] = f32(returned.reshape(1))
    for n, p in named:
        out[f"clipped.{n}"] = f32(p.grad)
    optimizer.step()
    for n, p in named:
        out[f"step1.{n}"] = f32(p)

    # Step 2: the reference trainer's loop body (clip at 12) on the updated weights.
    model.train()
    set_masks(model, keep)
    logits2 = ref.run(model, variant, features, counts, tokens, lengths)
    loss2 = ref.loss_of(logits2, tokens, PAD)
    optimizer.zero_grad()
    loss2.backward()
    out["step2.loss"] = f32(loss2.reshape(1))
    for n, p in named:
        out[f"step2.grad.{n}"] = f32(p.grad)
    out["step2.clip_total_norm"] = f32(torch.nn.utils.clip_grad_norm_(params, 12).reshape(1))
    optimizer.step()
    for n, p in named:
        out[f"step2.{n}"] = f32(p)
    for n in ("running_mean", "running_var"):
        out[f"step2.batch_norm.{n}"] = f32(getattr(model.batch_norm, n))

    metadata = {
        "variant": variant, "state_dict": ",".join(names),
        "sizes": f"B={B} L={L} T={T} k={K} d={D} H={H} A={A} V={V}", "dropout": DROPOUT,
        "adam": f"lr={LR} betas=(0.9, 0.999) eps=1e-8", "pad_index": PAD,
        "producer": "Tools/torch_reference/make_fixtures.py", "torch": torch.__version__,
        "reference": "ilaria-manco/muscaps (models/cnn_lstm_caption.py, models/cnn_attention_lstm.py)",
    }
    path = os.path.join(OUT, f"{variant}.safetensors")
    st_write.write(path, out, metadata)
    print(f"{variant}: loss {loss.item():.6f}, eval loss {out['eval.loss'][0]:.6f}, step2 loss {loss2.item():.6f}, "
          f"|grad| {total:.4f} -> {path}")


def layer_fixture():
    g = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    out = {}

    def rand(*shape):
        return torch.randn(*shape, generator=g)

    # nn.LSTM, batch-first, given h0/c0; loss = Σ R ⊙ output.
    lstm = nn.LSTM(7, 5, batch_first=True)
    x = rand(3, 4, 7).requires_grad_()
    h0 = rand(1, 3, 5).requires_grad_()
    c0 = rand(1, 3, 5).requires_grad_()
    r = rand(3, 4, 5)
    y, _ = lstm(x, (h0, c0))
    (y * r).sum().backward()
    for n, p in lstm.named_parameters():
        out[f"lstm.{n}"] = f32(p)
        out[f"lstm.grad.{n}"] = f32(p.grad)
    out.update({"lstm.x": f32(x), "lstm.h0": f32(h0[0]), "lstm.c0": f32(c0[0]), "lstm.r": f32(r), "lstm.y": f32(y),
                "lstm.grad.x": f32(x.grad), "lstm.grad.h0": f32(h0.grad[0]), "lstm.grad.c0": f32(c0.grad[0])})

    # nn.LSTMCell, one step; loss = Σ R1 ⊙ h' + Σ R2 ⊙ c'.
    cell = nn.LSTMCell(6, 5)
    x = rand(3, 6).requires_grad_()
    h = rand(3, 5).requires_grad_()
    c = rand(3, 5).requires_grad_()
    r1, r2 = rand(3, 5), rand(3, 5)
    h1, c1 = cell(x, (h, c))
    ((h1 * r1).sum() + (c1 * r2).sum()).backward()
    for n, p in cell.named_parameters():
        out[f"cell.{n}"] = f32(p)
        out[f"cell.grad.{n}"] = f32(p.grad)
    out.update({"cell.x": f32(x), "cell.h": f32(h), "cell.c": f32(c), "cell.r1": f32(r1), "cell.r2": f32(r2),
                "cell.h1": f32(h1), "cell.c1": f32(c1),
                "cell.grad.x": f32(x.grad), "cell.grad.h": f32(h.grad), "cell.grad.c": f32(c.grad)})

    # weight_norm(nn.Linear); loss = Σ R ⊙ y.
    dense = ref.weight_norm(nn.Linear(6, 9))
    with torch.no_grad():
        dense.weight_g.mul_(1.5 + torch.rand(9, 1, generator=g))  # g ≠ ‖v‖
    x = rand(5, 6).requires_grad_()
    r = rand(5, 9)
    y = dense(x)
    (y * r).sum().backward()
    for n in ("bias", "weight_g", "weight_v"):
        p = getattr(dense, n)
        out[f"wn.{n}"] = f32(p)
        out[f"wn.grad.{n}"] = f32(p.grad)
    out.update({"wn.x": f32(x), "wn.r": f32(r), "wn.y": f32(y), "wn.grad.x": f32(x.grad)})

    # BatchNorm1d, training mode; loss = Σ R ⊙ y; running statistics after the step.
    bn = nn.BatchNorm1d(5)
    with torch.no_grad():
        bn.weight.copy_(1 + 0.3 * rand(5))
        bn.bias.copy_(0.2 * rand(5))
        bn.running_mean.copy_(0.1 * rand(5))
        bn.running_var.copy_(0.5 + torch.rand(5, generator=g))
    out.update({"bn.weight": f32(bn.weight), "bn.bias": f32(bn.bias), "bn.running_mean.before": f32(bn.running_mean),
                "bn.running_var.before": f32(bn.running_var)})
    x = (2 + 3 * rand(6, 5)).requires_grad_()
    r = rand(6, 5)
    bn.train()
    y = bn(x)
    (y * r).sum().backward()
    out.update({"bn.x": f32(x), "bn.r": f32(r), "bn.y": f32(y), "bn.grad.x": f32(x.grad),
                "bn.grad.weight": f32(bn.weight.grad), "bn.grad.bias": f32(bn.bias.grad),
                "bn.running_mean.after": f32(bn.running_mean), "bn.running_var.after": f32(bn.running_var)})
    bn.eval()
    with torch.no_grad():
        out["bn.y_eval"] = f32(bn(x))

    # Masked MLP attention; loss = Σ R1 ⊙ â + Σ R2 ⊙ β.
    config = ref.Config(hidden_dim_encoder=5, attention_dim=4)
    attention = ref.Attention(config, 7)
    hq = rand(3, 5).requires_grad_()
    feats = rand(3, 4, 7).requires_grad_()
    counts = torch.tensor([4, 2, 3])
    mask = torch.arange(4).expand(3, 4) < counts.unsqueeze(1)
    beta = attention(hq, feats, mask)
    attended = torch.sum(beta.unsqueeze(-1) * feats, dim=1)
    r1, r2 = rand(3, 7), rand(3, 4)
    ((attended * r1).sum() + (beta * r2).sum()).backward()
    for n, p in attention.named_parameters():
        out[f"att.{n}"] = f32(p)
        out[f"att.grad.{n}"] = f32(p.grad)
    out.update({"att.h": f32(hq), "att.features": f32(feats), "att.counts": i64(counts), "att.r1": f32(r1), "att.r2": f32(r2),
                "att.beta": f32(beta), "att.attended": f32(attended), "att.grad.h": f32(hq.grad),
                "att.grad.features": f32(feats.grad)})

    # Cross-entropy ignoring <pad> (index 0), mean over the counted rows.
    logits = (2 * rand(7, 11)).requires_grad_()
    targets = torch.tensor([3, 0, 10, 1, 0, 5, 2])
    loss = nn.CrossEntropyLoss(ignore_index=0)(logits, targets)
    loss.backward()
    out.update({"ce.logits": f32(logits), "ce.targets": i64(targets), "ce.loss": f32(loss.reshape(1)),
                "ce.grad": f32(logits.grad)})

    path = os.path.join(LAYERS_OUT, "training_layers.safetensors")
    st_write.write(path, out, {"producer": "Tools/torch_reference/make_fixtures.py", "torch": torch.__version__})
    print(f"layers -> {path}")


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(LAYERS_OUT, exist_ok=True)
    for seed, variant in enumerate(("early", "late", "attention")):
        variant_fixture(variant, 100 + seed)
    layer_fixture()


if __name__ == "__main__":
    main()
