"""Corpus v2 generator: modern genres rendered and produced like records (see Tools/corpus/README.md).

    python -m muscorpus.v2.generate --out /work/corpus-v2 --clips-per-style 40 --seed 1 [--realism]

Clips are rendered in a worker pool; each finished clip writes `audio/<id>.wav` and `meta/<id>.json` at
once, so a partial corpus is usable while the run goes on and `--resume` continues an interrupted run.
At the end the dataset files (same layout as v1) are assembled from meta/. `--realism` then runs the
realism report (`muscorpus.v2.realism`). Every stage's wall time goes to timing.json and the log.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import captions as CAP
from . import production, sounds, styles

VERSION = "v2.5"  # v2.0: first corpus; v2.1: double-tracked guitars, heavier metal, GS jazz/electronic kits;
# v2.2: shuffle blues with crunch guitar / harmonica / organ, piano-trio jazz, programmed funk;
# v2.3: final level drawn from the real tracks' level distribution (production.relevel);
# v2.4: metal as in v2.0 (v2.1's double-tracked metal guitars lowered the metal hit rate);
# v2.5: loud styles (metal, punk, EDM, drum and bass) levelled 3.5 dB louder, as their real tracks are
_worker = {}


class TimeBox(Exception):
    pass


def _alarm(signum, frame):
    raise TimeBox()


def split_of(clip_id: str, seed: int) -> str:
    u = random.Random(f"split|{seed}|{clip_id}").random()
    return "train" if u < 0.6 else "val" if u < 0.8 else "test"


def _init(opts):
    signal.signal(signal.SIGALRM, _alarm)
    _worker["opts"] = opts
    _worker["tmp"] = tempfile.mkdtemp(prefix="muscorpus-v2-")
    _worker["fluid"] = sounds.FluidRenderer()
    for key in opts["preload"]:  # MuseScore_General's sf3 takes ~1 min to load: once per worker
        _worker["fluid"].sfont(key)


def render_clip(job):
    style, idx, clip_id = job
    o = _worker["opts"]
    t0 = time.time()
    seed_str = f"{o['seed']}|{style}|{idx}"
    seed_int = int.from_bytes(seed_str.encode()[-8:].rjust(8, b"\0"), "little") % (2 ** 31) ^ (idx * 7919)
    signal.alarm(o["timeout"])
    try:
        plan = styles.plan_clip(style, seed_str, o["clip_seconds"], _worker["tmp"])
        wav = os.path.join(o["out"], "audio", clip_id + ".wav")
        info = production.produce(plan, _worker["fluid"], seed_int, wav + ".part", _worker["tmp"], o["augment_share"])
        os.replace(wav + ".part", wav)
    except TimeBox:
        return clip_id, None, f"time-box of {o['timeout']} s exceeded", time.time() - t0
    except Exception as e:  # logged and skipped; the clip index is not reused
        return clip_id, None, f"{type(e).__name__}: {e}", time.time() - t0
    finally:
        signal.alarm(0)
    a = plan.attributes
    a["production"] = plan.master
    a["rendering"] = info
    a["duration_s"] = o["clip_seconds"]
    a["split"] = split_of(clip_id, o["seed"])
    a["corpus_version"] = VERSION
    n_refs = {"train": o["refs_train"], "val": o["refs_val"], "test": o["refs_test"]}[a["split"]]
    caps = CAP.captions(a, seed_str, n_refs)
    meta = {"track_id": clip_id, "path": f"audio/{clip_id}.wav", "captions": caps, "attributes": a}
    with open(os.path.join(o["out"], "meta", clip_id + ".json.part"), "w") as f:
        json.dump(meta, f, sort_keys=True)
    os.replace(os.path.join(o["out"], "meta", clip_id + ".json.part"), os.path.join(o["out"], "meta", clip_id + ".json"))
    return clip_id, meta, None, time.time() - t0


def fmt(s):
    s = int(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    def __init__(self, total, log):
        self.total, self.done, self.t0, self.log = total, 0, time.time(), log
        self.last = 0.0

    def step(self, msg=""):
        self.done += 1
        now = time.time()
        el = now - self.t0
        eta = el / self.done * (self.total - self.done)
        width = 30
        fill = int(width * self.done / max(1, self.total))
        line = f"[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} {fmt(el)} elapsed, ETA {fmt(eta)} {msg}"
        if sys.stderr.isatty():
            sys.stderr.write("\r" + line[:150])
            sys.stderr.flush()
        if now - self.last > 30 or self.done == self.total:
            self.last = now
            self.log(line)


def assemble(out: str, seed: int) -> dict:
    metas = []
    for fn in sorted(os.listdir(os.path.join(out, "meta"))):
        if fn.endswith(".json"):
            with open(os.path.join(out, "meta", fn)) as f:
                metas.append(json.load(f))
    splits = {"train": [], "val": [], "test": []}
    for m in metas:
        # captions are a function of the attributes: re-derive them, so caption fixes need no re-render
        a = m["attributes"]
        idx = int(m["track_id"].rsplit("_", 1)[1])
        m["captions"] = CAP.captions(a, f"{seed}|{a['style']}|{idx}", len(m["captions"]))
        refs = [{"raw": c, "tokens": CAP.tokens(c)} for c in m["captions"]]
        for ref in refs:
            e = {"track_id": m["track_id"], "caption": ref, "path": m["path"], "attributes": m["attributes"]}
            if len(refs) > 1:
                e["references"] = refs
            splits[m["attributes"]["split"]].append(e)
    for s, entries in splits.items():
        with open(os.path.join(out, f"dataset_{s}.json"), "w") as f:
            json.dump(entries, f, indent=0, sort_keys=True)
    with open(os.path.join(out, "attribute_lexicon.json"), "w") as f:
        json.dump(CAP.lexicon(), f, indent=1, sort_keys=True)
    per_style = {}
    for m in metas:
        a = m["attributes"]
        d = per_style.setdefault(a["style"], {"clips": 0, "train": 0, "val": 0, "test": 0})
        d["clips"] += 1
        d[a["split"]] += 1
    return {"clips": len(metas), "entries": {s: len(v) for s, v in splits.items()}, "per_style": per_style}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="muscorpus.v2.generate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--clips-per-style", type=int, default=40)
    ap.add_argument("--styles", default=",".join(styles.STYLES), help="comma-separated subset of: " + ", ".join(styles.STYLES))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--clip-seconds", type=float, default=30.0)
    ap.add_argument("--augment-share", type=float, default=1.0, help="share of clips that get the augmentation draw")
    ap.add_argument("--refs-train", type=int, default=1)
    ap.add_argument("--refs-val", type=int, default=3)
    ap.add_argument("--refs-test", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=180, help="seconds per clip (plan + render + production)")
    ap.add_argument("--force", action="store_true", help="replace a non-empty --out")
    ap.add_argument("--resume", action="store_true", help="keep finished clips of an interrupted run")
    ap.add_argument("--assemble-only", action="store_true",
                    help="only (re)write the dataset JSON files from the clips finished so far in --out/meta")
    ap.add_argument("--realism", action="store_true", help="run the realism report when the corpus is done")
    ap.add_argument("--realism-args", default="", help="extra arguments for muscorpus.v2.realism")
    args = ap.parse_args(argv)
    chosen = [s.strip() for s in args.styles.split(",") if s.strip()]
    bad = [s for s in chosen if s not in styles.STYLES]
    if bad:
        ap.error(f"unknown style(s) {', '.join(bad)}; known: {', '.join(styles.STYLES)}")
    if args.clips_per_style < 1:
        ap.error("--clips-per-style must be at least 1")
    for tool in ("mma", "oggenc", "oggdec", "timeout"):
        if not shutil.which(tool):
            ap.error(f"{tool} not found (generate.sh installs the Debian packages)")
    for key, path in sounds.SOUNDFONTS.items():
        if not os.path.exists(path):
            ap.error(f"soundfont {path} missing (generate.sh installs the Debian packages)")
    out = args.out
    if args.assemble_only:
        if not os.path.isdir(os.path.join(out, "meta")):
            ap.error(f"{out}/meta does not exist: nothing to assemble")
        summary = assemble(out, args.seed)
        print(json.dumps(summary, indent=1, sort_keys=True))
        return 0
    if os.path.exists(out) and os.listdir(out) and not (args.force or args.resume):
        ap.error(f"{out} is not empty (use --force to replace it or --resume to continue it)")
    if args.force and os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "audio"), exist_ok=True)
    os.makedirs(os.path.join(out, "meta"), exist_ok=True)
    logf = open(os.path.join(out, "generate.log"), "a")

    def log(msg):
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, file=sys.stderr if not sys.stderr.isatty() else sys.stdout, flush=True)
        logf.write(line + "\n")
        logf.flush()

    timing = {}
    t_all = time.time()
    # interleave styles so a partial corpus covers every style
    jobs = [(s, i, f"v2_{s}_{i:05d}") for i in range(args.clips_per_style) for s in chosen]
    if args.resume:
        jobs = [j for j in jobs if not os.path.exists(os.path.join(out, "meta", j[2] + ".json"))]
    log(f"corpus {VERSION}: {len(jobs)} clips to render ({len(chosen)} styles x {args.clips_per_style}), {args.jobs} workers")
    opts = {"out": out, "seed": args.seed, "clip_seconds": args.clip_seconds, "timeout": args.timeout,
            "augment_share": args.augment_share, "refs_train": args.refs_train, "refs_val": args.refs_val,
            "refs_test": args.refs_test, "preload": ["musescore", "fluidr3", "avl_black_pearl", "avl_red_zeppelin"]}
    skipped = []
    t0 = time.time()
    if jobs:
        prog = Progress(len(jobs), log)
        with mp.get_context("fork").Pool(args.jobs, initializer=_init, initargs=(opts,)) as pool:
            for clip_id, meta, err, secs in pool.imap_unordered(render_clip, jobs):
                if err:
                    skipped.append({"track_id": clip_id, "reason": err})
                    log(f"skipped {clip_id}: {err}")
                prog.step(clip_id)
        if sys.stderr.isatty():
            sys.stderr.write("\n")
    timing["render_s"] = round(time.time() - t0, 1)
    log(f"stage render: {fmt(timing['render_s'])} (includes each worker's soundfont loading)")
    t0 = time.time()
    summary = assemble(out, args.seed)
    with open(os.path.join(out, "skipped.json"), "w") as f:
        json.dump(skipped, f, indent=1)
    timing["assemble_s"] = round(time.time() - t0, 1)
    log(f"stage assemble: {fmt(timing['assemble_s'])}; {summary['clips']} clips, entries {summary['entries']}")
    manifest = {"generator": f"muscorpus {VERSION}", "options": vars(args), "summary": summary,
                "soundfonts": sounds.SOUNDFONTS, "packages": _package_versions()}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    if args.realism:
        t0 = time.time()
        from . import realism
        realism.main(["--corpus", f"v2={out}", "--out", os.path.join(out, "realism")] + args.realism_args.split())
        timing["realism_s"] = round(time.time() - t0, 1)
        log(f"stage realism: {fmt(timing['realism_s'])}")
    timing["total_s"] = round(time.time() - t_all, 1)
    with open(os.path.join(out, "timing.json"), "w") as f:
        json.dump(timing, f, indent=1)
    log(f"done in {fmt(timing['total_s'])}: " + ", ".join(f"{k} {fmt(v)}" for k, v in timing.items() if k != "total_s"))
    return 0


def _package_versions():
    pk = ["mma", "fluidsynth", "libfluidsynth3", "musescore-general-soundfont", "fluid-soundfont-gm",
          "avldrums.lv2-soundfont", "hydrogen-drumkits", "sonic-pi-samples", "lmms-common", "vorbis-tools"]
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n"] + pk, capture_output=True, text=True)
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    try:
        import pedalboard
        out["pedalboard (PyPI)"] = pedalboard.__version__
    except Exception:
        pass
    return out


if __name__ == "__main__":
    sys.exit(main())
