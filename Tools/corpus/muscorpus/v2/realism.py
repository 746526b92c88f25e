"""Realism of a corpus, measured with musicnn before any training (issue 10, item 2).

Per genre family, for each corpus given (v1, v2, ...):
  * tag hit rate: the share of clips whose musicnn summary tags (`muscaps tag --summary --json`, top 5 of
    the mean tag probabilities; MTT and `--model msd`) name the clip's intended family (FAMILY_TAGS);
    families without any musicnn tag (reggae, latin, chiptune) are reported as n/a.
  * Fréchet distance (the FAD recipe, with musicnn-MTT max_pool window embeddings from
    `muscaps features --layer max_pool` instead of VGGish) between the corpus's windows and the windows
    of the real-music set, overall and per family present in the real set.

    python -m muscorpus.v2.realism --corpus v1=/work/corpus-small --corpus v2=/work/corpus-v2 \
        --out /work/corpus-v2/realism [--real labels.json] [--per-family 40]

The real-music set is a JSON list [{"path", "family", "title"}] (`--real`); without it, the ten tracks of
Tools/results/out_of_domain.sh are fetched with `apt-get download` and labelled by their documented
genre (FALLBACK_REAL). Results are cached per file (path, size, mtime) in <out>/cache.json and
<out>/features/, so a re-run after re-rendering only measures what changed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import struct
import subprocess
import sys
import time

import numpy as np

# family -> accepted tags of the 50 MTT tags and of the 50 MSD tags
FAMILY_TAGS = {
    "rock": ({"rock"}, {"rock", "classic rock", "hard rock", "alternative rock", "indie rock", "alternative", "punk",
                        "Progressive rock"}),
    "metal": ({"metal"}, {"metal", "heavy metal", "hard rock"}),
    "blues": (set(), {"blues"}),
    "jazz": (set(), {"jazz"}),
    "funk_soul": (set(), {"funk", "soul", "rnb"}),
    "reggae": (set(), set()),
    "latin": (set(), set()),
    "pop": ({"pop"}, {"pop", "indie pop"}),
    "hiphop": (set(), {"Hip-Hop", "rnb"}),
    "electronic": ({"techno", "electronic", "dance"}, {"electronic", "dance", "electronica", "electro", "House"}),
    "chiptune": (set(), set()),
    "ambient": ({"ambient", "new age"}, {"ambient", "chillout", "chill"}),
    "classical": ({"classical", "classic"}, set()),
    "folk": ({"country"}, {"folk", "acoustic", "country"}),
}
# v1 clips: groove / category -> family
V1_GROOVE_FAMILY = {"rock": "rock", "electronic": "electronic", "swing": "jazz", "hiphop": "hiphop", "latin": "latin",
                    "ballad": "pop", "folk": "folk"}
V1_CATEGORY_FAMILY = {"classical": "classical", "chorale": "classical", "polyphony": "classical", "folk": "folk"}

SCRATCH = "/tmp/muscaps-ood"
FALLBACK_REAL = [  # Tools/results/out_of_domain.sh's tracks; families from docs/RESULTS.md's notes on them
    ("warzone2100-music", "usr/share/games/warzone2100/music/menu.opus", "ambient", "Warzone 2100 menu theme (ambient synth)"),
    ("warzone2100-music", "usr/share/games/warzone2100/music/albums/original_soundtrack/track1.opus", "electronic", "Warzone 2100 OST track 1"),
    ("warzone2100-music", "usr/share/games/warzone2100/music/albums/legacy_soundtrack/track5.opus", "electronic", "Warzone 2100 legacy track 5"),
    ("fretsonfire-songs-muldjord", "usr/share/games/fretsonfire/data/songs/muldjord/chaos_god/song.ogg", "metal", "Muldjord: Chaos God"),
    ("fretsonfire-songs-muldjord", "usr/share/games/fretsonfire/data/songs/muldjord/armygeddon/song.ogg", "metal", "Muldjord: Armygeddon"),
    ("singularity-music", "usr/share/games/singularity/music/Deprecation.ogg", "electronic", "Endgame: Singularity, Deprecation"),
    ("wesnoth-1.16-music", "usr/share/games/wesnoth/1.16/data/core/music/traveling_minstrels.ogg", "classical", "Wesnoth: Traveling Minstrels"),
    ("wesnoth-1.16-music", "usr/share/games/wesnoth/1.16/data/core/music/love_theme.ogg", "classical", "Wesnoth: Love Theme"),
    ("wesnoth-1.16-music", "usr/share/games/wesnoth/1.16/data/core/music/battle-epic.ogg", "classical", "Wesnoth: Battle (epic)"),
    ("wesnoth-1.16-music", "usr/share/games/wesnoth/1.16/data/core/music/elvish-theme.ogg", "classical", "Wesnoth: Elvish Theme"),
]


# ---------------------------------------------------------------- maths

def frechet(mu1, s1, mu2, s2) -> float:
    """||mu1-mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^1/2), with tr (S1 S2)^1/2 = sum sqrt(eig(A S2 A)), A = S1^1/2
    (A S2 A is symmetric PSD and similar to S1 S2, so this needs no general matrix square root)."""
    w, v = np.linalg.eigh(s1)
    a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = a @ s2 @ a
    ev = np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(ev).sum())


def gaussian(x: np.ndarray):
    return x.mean(axis=0), np.cov(x, rowvar=False)


def tag_hit(tags: list[str], family: str, model: str) -> bool | None:
    accepted = FAMILY_TAGS.get(family, (set(), set()))[0 if model == "mtt" else 1]
    if not accepted:
        return None
    return any(t in accepted for t in tags)


def read_safetensors(path: str, name: str) -> np.ndarray:
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        meta = header[name]
        f.seek(8 + n + meta["data_offsets"][0])
        raw = f.read(meta["data_offsets"][1] - meta["data_offsets"][0])
    dt = {"F32": "<f4", "F64": "<f8", "F16": "<f2"}[meta["dtype"]]
    return np.frombuffer(raw, dtype=dt).reshape(meta["shape"]).astype(np.float64)


# ---------------------------------------------------------------- measuring

class Musicnn:
    def __init__(self, binary: str, out: str, jobs: int):
        self.bin, self.out, self.jobs = binary, out, jobs
        self.cache_path = os.path.join(out, "cache.json")
        self.cache = json.load(open(self.cache_path)) if os.path.exists(self.cache_path) else {}
        os.makedirs(os.path.join(out, "features"), exist_ok=True)

    @staticmethod
    def key(path):
        st = os.stat(path)
        return f"{os.path.abspath(path)}|{st.st_size}|{int(st.st_mtime)}"

    def save(self):
        with open(self.cache_path + ".part", "w") as f:
            json.dump(self.cache, f)
        os.replace(self.cache_path + ".part", self.cache_path)

    def tags(self, paths, model: str, progress):
        todo = [p for p in paths if model not in self.cache.get(self.key(p), {})]
        for i in range(0, len(todo), 16):  # one process per 16 files amortises model loading
            batch = todo[i:i + 16]
            r = subprocess.run(["timeout", "3600", self.bin, "tag", *batch, "--summary", "--json", "--model", model,
                                "--jobs", str(self.jobs)], capture_output=True, text=True)
            lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            by_file = {l.get("file", batch[0]): l for l in lines}
            for p in batch:
                l = by_file.get(p)
                if l is None:
                    continue
                self.cache.setdefault(self.key(p), {})[model] = list(l.get("tags", {}).items())
            self.save()
            progress(len(batch))
        return {p: self.cache.get(self.key(p), {}).get(model) for p in paths}

    def features(self, paths, progress):
        out = {}
        for p in paths:
            k = self.key(p)
            fn = os.path.join(self.out, "features", hashlib.sha1(k.encode()).hexdigest()[:20] + ".safetensors")
            if not os.path.exists(fn):
                r = subprocess.run(["timeout", "3600", self.bin, "features", p, "--out", fn + ".part", "--layer", "max_pool",
                                    "--jobs", str(self.jobs)], capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"realism: features failed for {p}: {r.stderr.strip()[-200:]}", file=sys.stderr)
                    progress(1)
                    continue
                os.replace(fn + ".part", fn)
            out[p] = read_safetensors(fn, "max_pool")
            progress(1)
        return out


def corpus_clips(spec: str, per_family: int, seed: int):
    """(label, [(path, family, style)]) from LABEL=DIR; at most per_family clips per family (seeded sample)."""
    label, d = spec.split("=", 1)
    d, _, version = d.partition("#")  # DIR#v2.0: only the clips that generator version rendered
    clips = {}
    for s in ("train", "val", "test"):
        fn = os.path.join(d, f"dataset_{s}.json")
        if not os.path.exists(fn):
            continue
        for e in json.load(open(fn)):
            a = e["attributes"]
            if version and a.get("corpus_version") != version:
                continue
            if "family" in a:
                fam, style = a["family"], a["style"]
            else:
                fam = V1_GROOVE_FAMILY.get(a.get("groove")) or V1_CATEGORY_FAMILY.get(a.get("category"))
                style = f"v1:{a.get('groove') if a.get('groove') not in (None, 'none') else a.get('category')}"
            if fam:
                clips[e["track_id"]] = (os.path.join(d, e["path"]), fam, style)
    meta = os.path.join(d, "meta")
    if not clips and os.path.isdir(meta):  # a v2 corpus still rendering: its finished clips
        for fn in sorted(os.listdir(meta)):
            if fn.endswith(".json"):
                m = json.load(open(os.path.join(meta, fn)))
                if version and m["attributes"].get("corpus_version") != version:
                    continue
                clips[m["track_id"]] = (os.path.join(d, m["path"]), m["attributes"]["family"], m["attributes"]["style"])
    if not clips:
        raise SystemExit(f"realism: no clips in {d} (no dataset_*.json with known families)")
    by_fam = {}
    for tid in sorted(clips):
        by_fam.setdefault(clips[tid][1], []).append(clips[tid])
    rng = random.Random(f"realism|{seed}")
    chosen = []
    for fam in sorted(by_fam):
        lst = by_fam[fam]
        rng.shuffle(lst)
        chosen += lst[:per_family]
    return label, chosen


def fallback_real():
    os.makedirs(SCRATCH, exist_ok=True)
    out = []
    for pkg, path, fam, title in FALLBACK_REAL:
        if not any(f.startswith(pkg + "_") and f.endswith(".deb") for f in os.listdir(SCRATCH)):
            subprocess.run(["apt-get", "download", pkg], cwd=SCRATCH, check=True, capture_output=True)
        x = os.path.join(SCRATCH, "x-" + pkg)
        if not os.path.isdir(x):
            deb = next(f for f in os.listdir(SCRATCH) if f.startswith(pkg + "_") and f.endswith(".deb"))
            subprocess.run(["dpkg-deb", "-x", os.path.join(SCRATCH, deb), x], check=True)
        out.append({"path": os.path.join(x, path), "family": fam, "title": title})
    return out


def excerpt(path: str, seconds: float, folder: str) -> str:
    """The middle `seconds` of a track as 16 kHz mono WAV (sox under timeout); the whole track if shorter."""
    os.makedirs(folder, exist_ok=True)
    out = os.path.join(folder, hashlib.sha1(path.encode()).hexdigest()[:12] + "_" + os.path.splitext(os.path.basename(path))[0] + ".wav")
    if not os.path.exists(out):
        dur = float(subprocess.run(["soxi", "-D", path], capture_output=True, text=True, check=True).stdout)
        start = max(0.0, (dur - seconds) / 2)
        subprocess.run(["timeout", "120", "sox", "-V1", path, "-r", "16000", "-c", "1", "-b", "16", out + ".part.wav",
                        "trim", f"{start:.3f}", f"{min(seconds, dur):.3f}"], check=True)
        os.replace(out + ".part.wav", out)
    return out


def real_from_labels(labels: str, audio: str):
    """Tracks of the real-music validation set: whole-track files <id>.<ext> (not the <id>@NN excerpts)."""
    tracks = json.load(open(labels))["tracks"]
    files = {os.path.splitext(f)[0]: os.path.join(audio, f) for f in sorted(os.listdir(audio)) if "@" not in f}
    out, missing = [], []
    for t in tracks:
        if t["id"] in files:
            out.append({"path": files[t["id"]], "family": t["family"], "title": t.get("title", t["id"])})
        else:
            missing.append(t["id"])
    if missing:
        print(f"realism: {len(missing)} labelled tracks have no audio in {audio}: {', '.join(missing[:5])}", file=sys.stderr)
    if not out:
        raise SystemExit(f"realism: no audio for the labels of {labels} in {audio}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="muscorpus.v2.realism", description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", action="append", required=True,
                    help="LABEL=DIR or LABEL=DIR#VERSION (only clips of that generator version; repeatable)")
    ap.add_argument("--real", help="JSON list of {path, family, title}; default: the out_of_domain.sh tracks")
    ap.add_argument("--real-labels", help="the real-music validation set's labels.json (Tools/realmusic) ...")
    ap.add_argument("--real-audio", help="... and the folder holding its audio as <id>.<ext>")
    ap.add_argument("--out", required=True)
    ap.add_argument("--real-seconds", type=float, default=60.0,
                    help="measure the middle N seconds of each real track (0: whole tracks)")
    ap.add_argument("--per-family", type=int, default=40, help="clips per family and corpus that are measured")
    ap.add_argument("--muscaps", default=os.environ.get("MUSCAPS", ""))
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", "..", "..", ".."))
    binary = args.muscaps or os.path.join(root, ".build", "release", "muscaps")
    if not os.path.exists(binary):
        raise SystemExit(f"realism: {binary} not found (swift build -c release --product muscaps, or --muscaps PATH)")
    os.makedirs(args.out, exist_ok=True)
    t_start = time.time()
    if args.real_labels:
        if not args.real_audio:
            raise SystemExit("realism: --real-labels needs --real-audio")
        real = real_from_labels(args.real_labels, args.real_audio)
        args.real = f"{args.real_labels} ({len(real)} tracks)"
    else:
        real = json.load(open(args.real)) if args.real else fallback_real()
    missing = [r["path"] for r in real if not os.path.exists(r["path"])]
    if missing:
        raise SystemExit(f"realism: real-music files missing: {missing[:3]}")
    if args.real_seconds > 0:
        real = [dict(r, path=excerpt(r["path"], args.real_seconds, os.path.join(args.out, "real-excerpts"))) for r in real]
    corpora = [corpus_clips(c, args.per_family, args.seed) for c in args.corpus]
    m = Musicnn(binary, args.out, args.jobs)
    all_paths = [r["path"] for r in real] + [p for _, cl in corpora for p, _, _ in cl]
    total = 3 * len(all_paths)
    done = [0]
    t0 = time.time()

    def progress(k):
        done[0] += k
        el = time.time() - t0
        eta = el / max(1, done[0]) * (total - done[0])
        print(f"realism: [{done[0]}/{total}] {el / 60:.1f} min elapsed, ETA {eta / 60:.1f} min", file=sys.stderr, flush=True)

    stage = {}
    t = time.time()
    mtt = m.tags(all_paths, "mtt", progress)
    stage["tag_mtt_s"] = round(time.time() - t, 1)
    t = time.time()
    msd = m.tags(all_paths, "msd", progress)
    stage["tag_msd_s"] = round(time.time() - t, 1)
    t = time.time()
    feats = m.features(all_paths, progress)
    stage["features_s"] = round(time.time() - t, 1)

    real_x = np.concatenate([feats[r["path"]] for r in real if r["path"] in feats])
    real_fam = {}
    for r in real:
        if r["path"] in feats:
            real_fam.setdefault(r["family"], []).append(feats[r["path"]])
    real_g = gaussian(real_x)
    report = {"real": {"tracks": len(real), "windows": int(len(real_x)), "families": sorted(real_fam),
                       "source": args.real or "Tools/results/out_of_domain.sh tracks (fallback)",
                       "tags": {r["title"]: {"family": r["family"], "mtt": [t for t, _ in (mtt.get(r["path"]) or [])],
                                             "msd": [t for t, _ in (msd.get(r["path"]) or [])]} for r in real}},
              "corpora": {}, "stage_seconds": stage}
    for label, clips in corpora:
        rep = {"clips": len(clips), "families": {}, "styles": {}}
        xs = [feats[p] for p, _, _ in clips if p in feats]
        x = np.concatenate(xs)
        rep["fad_all"] = round(frechet(*gaussian(x), *real_g), 2)
        rep["windows"] = int(len(x))
        for key, idx in (("families", 1), ("styles", 2)):
            groups = {}
            for c in clips:
                groups.setdefault(c[idx], []).append(c)
            for g, cl in sorted(groups.items()):
                fam = cl[0][1]
                hits = {"mtt": [], "msd": [], "either": []}
                for p, f, _ in cl:
                    a = tag_hit([t for t, _ in (mtt.get(p) or [])], f, "mtt")
                    b = tag_hit([t for t, _ in (msd.get(p) or [])], f, "msd")
                    if a is not None:
                        hits["mtt"].append(a)
                    if b is not None:
                        hits["msd"].append(b)
                    if a is not None or b is not None:
                        hits["either"].append(bool(a) or bool(b))
                top = {}
                for p, _, _ in cl:
                    for t, _ in (msd.get(p) or [])[:3] + (mtt.get(p) or [])[:3]:
                        top[t] = top.get(t, 0) + 1
                entry = {"clips": len(cl), **{f"hit_{k}": (round(sum(v) / len(v), 3) if v else None) for k, v in hits.items()},
                         "common_tags": sorted(top.items(), key=lambda kv: -kv[1])[:6]}
                if key == "families" and fam in real_fam:
                    fx = np.concatenate([feats[p] for p, _, _ in cl if p in feats])
                    entry["fad_family"] = round(frechet(*gaussian(fx), *gaussian(np.concatenate(real_fam[fam]))), 2)
                rep[key][g] = entry
        report["corpora"][label] = rep
    report["seconds"] = round(time.time() - t_start, 1)
    with open(os.path.join(args.out, "realism.json"), "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
    md = render_markdown(report)
    with open(os.path.join(args.out, "realism.md"), "w") as f:
        f.write(md)
    print(md)
    return 0


def _pct(v):
    return "n/a" if v is None else f"{100 * v:.0f} %"


def render_markdown(rep) -> str:
    labels = list(rep["corpora"])
    lines = [f"Real-music set: {rep['real']['tracks']} tracks, {rep['real']['windows']} windows, families "
             f"{', '.join(rep['real']['families'])} ({rep['real']['source']}).", "",
             "| corpus | clips measured | windows | FAD to the real set (musicnn max_pool) |", "|---|---|---|---|"]
    for l in labels:
        c = rep["corpora"][l]
        lines.append(f"| {l} | {c['clips']} | {c['windows']} | {c['fad_all']} |")
    lines += ["", "Tag hit rate per family (summary top-5 tags name the family; MTT / MSD / either) and FAD of the "
              "family's clips to the real tracks of that family:", "",
              "| family | " + " | ".join(f"{l}: clips, MTT / MSD / either, FAD" for l in labels) + " |",
              "|---|" + "---|" * len(labels)]
    fams = sorted({f for l in labels for f in rep["corpora"][l]["families"]})
    for f in fams:
        row = [f + (" (in real set)" if f in rep["real"]["families"] else "")]
        for l in labels:
            e = rep["corpora"][l]["families"].get(f)
            row.append("–" if not e else f"{e['clips']}: {_pct(e['hit_mtt'])} / {_pct(e['hit_msd'])} / **{_pct(e['hit_either'])}**"
                       + (f", FAD {e['fad_family']}" if "fad_family" in e else ""))
        lines.append("| " + " | ".join(row) + " |")
    for l in labels:
        lines += ["", f"Per style ({l}): clips, hit rate (either model), most frequent top-3 tags (MSD + MTT):", "",
                  "| style | clips | hit (either) | common tags |", "|---|---|---|---|"]
        for s, e in rep["corpora"][l]["styles"].items():
            lines.append(f"| {s} | {e['clips']} | {_pct(e['hit_either'])} | {', '.join(f'{t} {n}' for t, n in e['common_tags'])} |")
    st = rep["stage_seconds"]
    lines += ["", f"Stages: MTT tags {st['tag_mtt_s']} s, MSD tags {st['tag_msd_s']} s, features {st['features_s']} s "
              f"(cached files are not re-measured); total {rep['seconds']} s."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
