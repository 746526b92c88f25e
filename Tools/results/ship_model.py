"""Copies a trained model into Models/captioning/default.safetensors with a self-describing provenance.

    python3 Tools/results/ship_model.py runs/late/best.safetensors --name late --results runs/results

The tensors and the other metadata entries are copied byte for byte; only the `provenance` entry is
replaced by one that also records how the corpus and the model were made, how the model was chosen
and its validation/test CIDEr-D (so `muscaps` can show where a model came from without the docs).
"""
import argparse
import json
import struct


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--name", required=True, help="the run's name in Tools/results/reproduce.sh (e.g. late)")
    parser.add_argument("--results", required=True, help="the reproduce.sh results folder (val/test JSON)")
    parser.add_argument("--decoding", default="beam3", help="the decoding the shipped defaults use")
    parser.add_argument("--out", default="Models/captioning/default.safetensors")
    args = parser.parse_args()

    with open(args.model, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    metadata = header["__metadata__"]
    old = json.loads(metadata.get("provenance", "{}"))

    def cider(split):
        with open(f"{args.results}/{split}/{args.name}-{args.decoding}.json") as f:
            return f"{json.load(f)['metrics']['CIDEr']:.4f}"

    provenance = {
        "corpus": "Tools/corpus/generate.sh --clips 6000 --seed 1 (synthesised; research use only, see Tools/corpus/README.md)",
        "training": f"muscaps train CORPUS --variant {old.get('variant', '?')} --seed {old.get('seed', '?')} (paper defaults), best epoch {old.get('epoch', '?')} of early stopping, validation loss {float(old.get('validation_loss', 'nan')):.4f}",
        "selection": "highest validation CIDEr-D of the runs in docs/RESULTS.md",
        "decoding": args.decoding,
        "val_cider_d": cider("val"),
        "test_cider_d": cider("test"),
        "model_card": "Models/captioning/README.md",
        "muscaps_version": old.get("muscaps_version", ""),
    }
    metadata["provenance"] = json.dumps(provenance, sort_keys=True)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(args.out, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + data)
    print(f"wrote {args.out}: {len(data)} bytes of tensors; provenance {provenance}")


if __name__ == "__main__":
    main()
