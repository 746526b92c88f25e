"""Statistics and integrity checks of a generated corpus.

python -m muscorpus.report DIR            # prints the summary, exits 1 if a check fails
python -m muscorpus.report DIR --samples  # also 10 random train captions and 5 test clips with references
"""
from __future__ import annotations

import json
import os
import random
import sys
import wave
from collections import Counter, defaultdict

FILES = {"train": "dataset_train.json", "val": "dataset_val.json", "test": "dataset_test.json",
         "test_shifted": "dataset_test_shifted.json"}
ATTRS = ["category", "arrangement", "groove", "ensemble", "tempo_band", "mode", "mode_class", "dynamics",
         "dynamics_profile", "register", "texture", "meter_class", "space", "soundfont"]


def load(out):
    return {s: json.load(open(os.path.join(out, f), encoding="utf-8")) for s, f in FILES.items()
            if os.path.exists(os.path.join(out, f))}


def compute(out):
    d = load(out)
    st = {"splits": {}, "checks": {}}
    groups = defaultdict(set)
    all_tokens = Counter()
    train_tokens = Counter()
    lens = []
    clips_total = 0
    attr_counts = {a: Counter() for a in ATTRS}
    fam_counts = Counter()
    inst_counts = Counter()
    src_counts = Counter()
    dur = 0.0
    problems = []
    raw_counter = Counter()
    for s, entries in d.items():
        tids = defaultdict(list)
        for e in entries:
            tids[e["track_id"]].append(e)
        nref = [len(v) for v in tids.values()]
        st["splits"][s] = {"clips": len(tids), "entries": len(entries),
                           "refs_per_clip_min": min(nref) if nref else 0,
                           "refs_per_clip_max": max(nref) if nref else 0,
                           "hours": round(sum(v[0]["attributes"]["duration_s"] for v in tids.values()) / 3600, 2)}
        for tid, es in tids.items():
            a = es[0]["attributes"]
            if s != "test_shifted":
                groups[a["source"]["group"]].add(s)
                clips_total += 1
                dur += a["duration_s"]
                for k in ATTRS:
                    attr_counts[k][str(a.get(k))] += 1
                for f in a["families"]:
                    fam_counts[f] += 1
                for i in a["instruments"]:
                    inst_counts[i["name"]] += 1
                src_counts[a["source"]["collection"]] += 1
            refs = [e["caption"]["raw"] for e in es]
            if len(set(r.lower() for r in refs)) != len(refs):
                problems.append(f"{s}/{tid}: duplicate references")
            if s in ("test", "test_shifted") and len(refs) < 3:
                problems.append(f"{s}/{tid}: only {len(refs)} references")
            for e in es:
                if e.get("references") is not None and sorted(e["references"]) != sorted(refs):
                    problems.append(f"{s}/{tid}: references field differs from entries")
                toks = e["caption"]["tokens"]
                if not 3 <= len(toks) <= 22:
                    problems.append(f"{s}/{tid}: {len(toks)} tokens")
                if s != "test_shifted":
                    lens.append(len(toks))
                    all_tokens.update(toks)
                    raw_counter[e["caption"]["raw"].lower()] += 1
                    if s == "train":
                        train_tokens.update(toks)
            p = os.path.join(out, es[0]["path"])
            if not os.path.exists(p):
                problems.append(f"{s}/{tid}: missing audio")
    leak = {g: sorted(v) for g, v in groups.items() if len(v) > 1}
    if leak:
        problems.append(f"{len(leak)} source groups in more than one split")
    # audio format spot check (every file header)
    bad = 0
    adir = os.path.join(out, "audio")
    nfiles = 0
    size = 0
    for fn in sorted(os.listdir(adir)) if os.path.isdir(adir) else []:
        nfiles += 1
        fp = os.path.join(adir, fn)
        size += os.path.getsize(fp)
        with wave.open(fp) as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, 16000):
                bad += 1
    if bad:
        problems.append(f"{bad} audio files not 16 kHz mono 16-bit")
    disk = 0
    for root, _, fns in os.walk(out):
        for fn in fns:
            if fn not in ("generate.log", "timing.json"):  # these two differ between identical runs
                disk += os.path.getsize(os.path.join(root, fn))
    lens.sort()
    st.update({
        "clips": clips_total,
        "audio_files": nfiles,
        "hours": round(dur / 3600, 2),
        "disk_mb": round(disk / 1e6, 1),
        "audio_mb": round(size / 1e6, 1),
        "caption_tokens": {"min": lens[0] if lens else 0, "max": lens[-1] if lens else 0,
                           "mean": round(sum(lens) / len(lens), 2) if lens else 0,
                           "median": lens[len(lens) // 2] if lens else 0,
                           "histogram": dict(sorted(Counter(lens).items()))},
        "vocabulary": {"all": len(all_tokens), "train": len(train_tokens),
                       "test_tokens_not_in_train": len(set(all_tokens) - set(train_tokens))},
        "captions": {"entries": sum(raw_counter.values()), "distinct": len(raw_counter),
                     "duplicated_raw": sum(1 for c in raw_counter.values() if c > 1)},
        "attributes": {k: dict(v.most_common()) for k, v in attr_counts.items()},
        "families": dict(fam_counts.most_common()),
        "instruments_top": dict(inst_counts.most_common(25)),
        "collections": dict(src_counts.most_common()),
        "groups": len(groups),
    })
    st["checks"] = {"ok": not problems, "problems": problems[:50], "n_problems": len(problems)}
    return st


def summary(st):
    L = []
    L.append(f"clips {st['clips']} ({st['hours']} h) + shifted {st['splits'].get('test_shifted', {}).get('clips', 0)}; "
             f"disk {st['disk_mb']} MB; {st['audio_files']} WAV files")
    for s, v in st["splits"].items():
        L.append(f"  {s:13s} clips {v['clips']:5d} entries {v['entries']:5d} refs/clip {v['refs_per_clip_min']}-"
                 f"{v['refs_per_clip_max']} hours {v['hours']}")
    ct = st["caption_tokens"]
    L.append(f"caption tokens: min {ct['min']} max {ct['max']} mean {ct['mean']} median {ct['median']}")
    L.append(f"vocabulary: {st['vocabulary']}; captions {st['captions']}")
    for k, v in st["attributes"].items():
        L.append(f"  {k}: {v}")
    L.append(f"  families (clips naming each): {st['families']}")
    L.append(f"  collections: {st['collections']}")
    L.append(f"checks: {'OK' if st['checks']['ok'] else 'FAILED'} {st['checks']['problems'][:10]}")
    return "\n".join(L)


def samples(out, seed=0):
    d = load(out)
    rng = random.Random(seed)
    L = ["10 random train captions:"]
    tr = d["train"]
    for e in rng.sample(tr, min(10, len(tr))):
        a = e["attributes"]
        L.append(f"  {e['track_id']}  {e['caption']['raw']}   [{a['source']['collection']}, {a['arrangement']}, "
                 f"{a['groove']}, {a['tempo_bpm']} bpm, {a['key']}, {a['dynamics']}]")
    L.append("5 random test clips with their references:")
    byt = defaultdict(list)
    for e in d["test"]:
        byt[e["track_id"]].append(e)
    for tid in rng.sample(sorted(byt), min(5, len(byt))):
        a = byt[tid][0]["attributes"]
        L.append(f"  {tid} [{a['source']['collection']}: {a['source']['title']}; {a['arrangement']}/{a['groove']}; "
                 f"{', '.join(i['name'] for i in a['instruments'])}; {a['tempo_bpm']} bpm ({a['tempo_band']}); "
                 f"{a['key']}; {a['meter']}; {a['dynamics']}]")
        for r in byt[tid][0]["references"]:
            L.append(f"     - {r}")
    return "\n".join(L)


if __name__ == "__main__":
    out = sys.argv[1]
    st = compute(out)
    print(summary(st))
    if "--samples" in sys.argv:
        print(samples(out))
    sys.exit(0 if st["checks"]["ok"] else 1)
