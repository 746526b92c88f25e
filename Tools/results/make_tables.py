"""Builds the tables of docs/RESULTS.md from the JSON files `Tools/results/reproduce.sh` writes.

    python3 Tools/results/make_tables.py --results runs/results --out docs/results

Reads <results>/<split>/<row>.json (written by `muscaps eval --out` / `muscaps baseline --out`) and
<row>.attributes.json (Tools/corpus/muscorpus/attributes.py); writes <out>/tables.md (markdown, pasted
into docs/RESULTS.md) and <out>/summary.json (every number of the tables, committed).
"""
import argparse
import json
import os

ROWS = [
    ("tag-template", "Tag template (top-5 musicnn tags, no learning)"),
    ("nearest-neighbour", "Nearest neighbour (caption of the closest training clip)"),
    ("early-greedy", "Early fusion, greedy"),
    ("early-beam3", "Early fusion, beam 3"),
    ("early-beam5", "Early fusion, beam 5"),
    ("late-greedy", "Late fusion, greedy"),
    ("late-beam3", "Late fusion, beam 3"),
    ("late-beam5", "Late fusion, beam 5"),
    ("attention-greedy", "Attention, greedy"),
    ("attention-beam3", "Attention, beam 3"),
    ("attention-beam5", "Attention, beam 5"),
    ("late-crop-greedy", "Late fusion + random crops, greedy"),
    ("late-crop-beam3", "Late fusion + random crops, beam 3"),
    ("late-crop-beam5", "Late fusion + random crops, beam 5"),
    ("late-msd-greedy", "Late fusion, MSD features, greedy"),
    ("late-msd-beam3", "Late fusion, MSD features, beam 3"),
    ("late-msd-beam5", "Late fusion, MSD features, beam 5"),
]
METRICS = [("Bleu_1", "B1"), ("Bleu_2", "B2"), ("Bleu_3", "B3"), ("Bleu_4", "B4"), ("METEOR", "METEOR"),
           ("ROUGE_L", "ROUGE-L"), ("CIDEr", "CIDEr-D"), ("SPICE", "SPICE"), ("SPIDEr", "SPIDEr")]
SPLITS = [("val", "Validation set (selects the shipped model; 1,200 clips, 3 references each)"),
          ("test", "Test set (FluidR3 soundfont, 1,200 clips, 3 references each)"),
          ("test_shifted", "Held-out soundfont (the same test works rendered with TimGM6mb, 595 clips)")]


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def fmt(value, scale=1.0, digits=3):
    return "—" if value is None else f"{value * scale:.{digits}f}"


def pct(value):
    return "—" if value is None else f"{100 * value:.1f}"


def sample_captions(results, split, count):
    import random
    rows = [("late-crop-greedy", "late + crops, greedy"), ("late-crop-beam3", "late + crops, beam 3"),
            ("attention-greedy", "attention, greedy"), ("nearest-neighbour", "nearest neighbour"), ("tag-template", "tag template")]
    predictions = {}
    for key, label in rows:
        p = load(f"{results}/{split}/{key}.predictions.json")
        if p:
            predictions[label] = {e["track_id"]: e["caption"] for e in p}
    references = load(f"{results}/{split}/late-crop-greedy.references.json") or load(f"{results}/{split}/late-greedy.references.json")
    if not predictions or not references:
        return []
    by_track = {}
    for r in references:
        by_track.setdefault(r["track_id"], []).append(r["caption"])
    tracks = sorted(by_track)
    picked = sorted(random.Random(5).sample(tracks, min(count, len(tracks))))
    out = ["| clip | references | " + " | ".join(predictions) + " |", "|---|---|" + "---|" * len(predictions)]
    for t in picked:
        out.append(f"| {t} | " + "<br>".join(by_track[t]) + " | " + " | ".join(predictions[label].get(t, "") for label in predictions) + " |")
    out.append("")
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--into", help="also replace the text between <!-- tables:begin --> and <!-- tables:end --> in this file")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    md, summary = [], {}
    for split, title in SPLITS:
        rows = [(key, label, load(f"{args.results}/{split}/{key}.json"), load(f"{args.results}/{split}/{key}.attributes.json"))
                for key, label in ROWS]
        rows = [r for r in rows if r[2] is not None]
        if not rows:
            continue
        refs = load(f"{args.results}/{split}/references.attributes.json")
        summary[split] = {key: {"metrics": res["metrics"], "unavailable": sorted(res.get("unavailable", {})),
                                "unk_rate": res["unk_rate"], "repetition_rate": res["repetition_rate"],
                                "mean_length": res["mean_length"], "retrieval": res.get("retrieval"),
                                "attributes": att, "decoding": res["decoding"], "tracks": res["tracks"]}
                          for key, _, res, att in rows}
        if refs:
            summary[split]["references"] = {"attributes": refs}
        unavailable = sorted({m for _, _, res, _ in rows for m in res.get("unavailable", {})})
        md.append(f"### {title}\n")
        md.append("| | " + " | ".join(short for _, short in METRICS) + " | `<unk>` % | repeats % | words |")
        md.append("|---|" + "---:|" * (len(METRICS) + 3))
        best = {}
        for metric, _ in METRICS:
            values = [res["metrics"].get(metric) for _, _, res, _ in rows if res["metrics"].get(metric) is not None]
            best[metric] = max(values) if values else None
        for key, label, res, _ in rows:
            cells = []
            for metric, _ in METRICS:
                v = res["metrics"].get(metric)
                cell = "n/a" if v is None else fmt(v)
                if v is not None and v == best[metric]:
                    cell = f"**{cell}**"
                cells.append(cell)
            md.append(f"| {label} | " + " | ".join(cells) +
                      f" | {pct(res['unk_rate'])} | {pct(res['repetition_rate'])} | {res['mean_length']:.1f} |")
        if unavailable:
            md.append(f"\nn/a: {', '.join(unavailable)} not computed — "
                      + next(iter(rows[0][2]["unavailable"].values()), "") + "\n")
        # Attribute accuracy.
        md.append("\nAttribute accuracy: *stated* = % of captions that state the attribute, *acc* = % of those "
                  "that state it correctly; instrument families: precision / recall of the families named.\n")
        md.append("| | families P | families R | tempo stated | tempo acc | mode stated | mode acc | ensemble stated | ensemble acc | groove stated | groove acc |")
        md.append("|---|" + "---:|" * 10)
        att_rows = [(key, label, att) for key, label, _, att in rows if att]
        if refs:
            att_rows.append(("references", "*References (ceiling of the lexicon)*", refs))
        for key, label, att in att_rows:
            f = att["families"]
            cells = [pct(f["precision"]), pct(f["recall"])]
            for a in ("tempo_band", "mode", "ensemble", "groove"):
                cells += [pct(att[a]["stated_rate"]), pct(att[a]["accuracy"])]
            md.append(f"| {label} | " + " | ".join(cells) + " |")
        # Retrieval.
        ret = [(label, res["retrieval"]) for _, label, res, _ in rows if res.get("retrieval")]
        if ret:
            md.append("\nText-to-music retrieval by caption likelihood (paper Table III): "
                      f"{ret[0][1]['queries']} captions of the split as queries, every one of its {ret[0][1]['candidates']} clips a candidate.\n")
            md.append("| | R@1 % | R@5 % | R@10 % | median rank |")
            md.append("|---|---:|---:|---:|---:|")
            for label, r in ret:
                md.append(f"| {label.rsplit(',', 1)[0]} | {pct(r['recall_at_1'])} | {pct(r['recall_at_5'])} | {pct(r['recall_at_10'])} | {r['median_rank']:.1f} |")
            n = ret[0][1]["candidates"]
            md.append(f"| *chance* | {100 / n:.1f} | {500 / n:.1f} | {1000 / n:.1f} | {(n + 1) / 2:.0f} |")
        md.append("")
        # Live-length contexts.
        live = [(label, load(f"{args.results}/{split}/{key}-greedy-live3.json"), load(f"{args.results}/{split}/{key}-greedy.json"))
                for key, label in [("early", "Early fusion"), ("late", "Late fusion"), ("attention", "Attention"),
                                   ("late-crop", "Late fusion + random crops"), ("late-msd", "Late fusion, MSD features")]]
        live = [(label, l, w) for label, l, w in live if l and w]
        if live:
            summary[split]["live3"] = {label: l["metrics"] for label, l, _ in live}
            md.append("Captions from a live-length context — each clip's middle 3 chunks (≈ 9 s, what `muscapsd` "
                      "captions from with its default 10 s context) against the whole 30 s clip, greedy:\n")
            md.append("| | CIDEr-D whole clip | CIDEr-D middle 3 chunks | BLEU-4 whole | BLEU-4 3 chunks | repeats % (3 chunks) |")
            md.append("|---|---:|---:|---:|---:|---:|")
            for label, l, w in live:
                md.append(f"| {label} | {fmt(w['metrics'].get('CIDEr'))} | {fmt(l['metrics'].get('CIDEr'))} | "
                          f"{fmt(w['metrics'].get('Bleu_4'))} | {fmt(l['metrics'].get('Bleu_4'))} | {pct(l['repetition_rate'])} |")
            md.append("")
    # Run-to-run spread: late fusion with seeds 0, 1, 2.
    spread = []
    for split in ("val", "test", "test_shifted"):
        for decoding in ("greedy", "beam3"):
            values = [load(f"{args.results}/{split}/{run}-{decoding}.json") for run in ("late", "late-seed1", "late-seed2")]
            if all(values):
                ciders = [v["metrics"]["CIDEr"] for v in values]
                mean = sum(ciders) / len(ciders)
                sd = (sum((c - mean) ** 2 for c in ciders) / (len(ciders) - 1)) ** 0.5
                spread.append(f"| {split} | {decoding.replace('beam3', 'beam 3')} | " + " | ".join(fmt(c) for c in ciders)
                              + f" | {mean:.3f} ± {sd:.3f} |")
                summary.setdefault("seed_spread", {})[f"{split}/{decoding}"] = {"cider": ciders, "mean": mean, "sd": sd}
    if spread:
        md.append("### Run-to-run spread (late fusion, seeds 0 / 1 / 2)\n")
        md.append("CIDEr-D of three training runs that differ only in the seed (initialisation, shuffling, dropout); "
                  "seed 0 is the shipped model. Mean ± sample standard deviation.\n")
        md.append("| set | decoding | seed 0 | seed 1 | seed 2 | mean ± sd |")
        md.append("|---|---|---:|---:|---:|---:|")
        md += spread
        md.append("")
    # Sample captions: a fixed, seeded pick of test clips.
    samples = sample_captions(args.results, "test", count=8)
    if samples:
        md.append("### Sample test captions\n")
        md += samples
    with open(f"{args.out}/tables.md", "w") as f:
        f.write("\n".join(md))
    with open(f"{args.out}/summary.json", "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    if args.into:
        with open(args.into) as f:
            text = f.read()
        begin, end = "<!-- tables:begin -->", "<!-- tables:end -->"
        if begin not in text or end not in text:
            raise SystemExit(f"{args.into}: no {begin} … {end} markers")
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + "\n".join(md) + "\n" + end + rest.split(end, 1)[1]
        with open(args.into, "w") as f:
            f.write(text)
    print("\n".join(md))


if __name__ == "__main__":
    main()
