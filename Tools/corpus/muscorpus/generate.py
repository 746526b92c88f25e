"""Captioned music corpus generator (MusCaps dataset layout).

python -m muscorpus.generate --out DIR [--clips 6000] [--seed 1] [--jobs N]

Phases:
 1. catalogue every source work (music21 corpus, Debian MIDI), group works that must share a split,
    assign groups to train/val/test 60/20/20 per category (seeded);
 2. plan clip quotas per (category, split); parse candidate works in a worker pool, each time-boxed
    (skips are logged), taking successes in plan order so the result does not depend on scheduling;
 3. arrange + render every clip in the pool (FluidSynth; test clips also with the held-out soundfont);
 4. captions from the attributes (main process, sequential: globally de-duplicated), JSON + stats.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing as mp
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

from . import arrange as ARR
from . import captions as CAP
from . import catalog as CAT
from . import render as R
from . import smf
from . import scoreparse as SP

GENERATOR_VERSION = "1.0"
CATEGORY_SHARE = {"folk": 0.50, "chorale": 0.10, "polyphony": 0.20, "classical": 0.15, "midi": 0.05}
CLIPS_PER_WORK_CAP = {"folk": 1, "chorale": 2, "polyphony": 2, "classical": 16, "midi": 12}
SPLITS = ("train", "val", "test")
SPLIT_SHARE = {"train": 0.6, "val": 0.2, "test": 0.2}
SHIFT_SF = "TimGM6mb"
MAIN_SF = "FluidR3_GM"


class TimeBox(Exception):
    pass


def _alarm(signum, frame):
    raise TimeBox()


# ------------------------------------------------------------------------------ workers

_G = {}


def _init_worker(opts):
    import warnings
    warnings.filterwarnings("ignore")  # music21's MusicXML repair notices
    _G.update(opts)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.nice(0)
    except OSError:
        pass


def parse_job(work):
    t0 = time.time()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(_G["timeout"]))
    try:
        if work["format"] == "mid":
            mf = smf.read_smf(work["abs_path"])
            if not mf.notes:
                raise ValueError("no notes")
            piece = {"kind": "midi", "mf": mf, "length_s": mf.length}
        else:
            piece = SP.parse_work(work)
        signal.alarm(0)
        return work["wid"], piece, None, round(time.time() - t0, 2)
    except TimeBox:
        return work["wid"], None, f"time-box: parse exceeded {_G['timeout']} s", round(time.time() - t0, 2)
    except Exception as e:  # noqa: BLE001 - any parse failure is a logged skip
        signal.alarm(0)
        return work["wid"], None, f"{type(e).__name__}: {str(e)[:160]}", round(time.time() - t0, 2)
    finally:
        signal.alarm(0)


def render_job(job):
    work, piece, clips = job
    results = []
    tmp = tempfile.mkdtemp(prefix="muscorpus-", dir=_G.get("tmp"))
    try:
        for clip in clips:
            rng = random.Random(f"{_G['seed']}|clip|{work['wid']}|{clip['variant']}")
            err = None
            for attempt in range(4):
                try:
                    if piece["kind"] == "midi":
                        arr = ARR.arrange_midi(piece["mf"], work, rng, clip["duration_s"], clip["variant"] + attempt * 7,
                                               clip["n_variants"] + attempt * 7)
                    else:
                        arr = ARR.arrange_score(piece, work, rng, clip["duration_s"], clip["variant"],
                                                clip["n_variants"] if attempt == 0 else clip["n_variants"] + attempt)
                    a = arr["attributes"]
                    mid = os.path.join(tmp, clip["track_id"] + ".mid")
                    smf.write_smf(mid, arr["tracks"], arr["end_s"])
                    offs = ARR.DYN_DB.get(a["dynamics"], 0.0)
                    rend = {}
                    for sfkey, tid in [(MAIN_SF, clip["track_id"])] + (
                            [(SHIFT_SF, clip["shifted_id"])] if clip.get("shifted_id") else []):
                        out = os.path.join(_G["audio_dir"], tid + ".wav")
                        rend[sfkey] = R.render(mid, CAT.SOUNDFONTS[sfkey][0], out, clip["duration_s"], offs,
                                               a["space"], tmp)
                    if _G.get("keep_midi"):
                        shutil.copy(mid, os.path.join(_G["midi_dir"], clip["track_id"] + ".mid"))
                    os.remove(mid)
                    results.append({"clip": clip, "attributes": a, "render": rend, "attempts": attempt + 1})
                    err = None
                    break
                except Exception as e:  # noqa: BLE001
                    err = f"{type(e).__name__}: {str(e)[:160]}"
            if err:
                results.append({"clip": clip, "error": err})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return work["wid"], results


# ------------------------------------------------------------------------------ planning

def assign_splits(works, seed):
    """Groups -> split, stratified per category so each category is ~60/20/20 by work count."""
    by_cat = defaultdict(lambda: defaultdict(list))
    for w in works:
        by_cat[w["category"]][w["group"]].append(w)
    split_of_group = {}
    for cat in sorted(by_cat):
        groups = sorted(by_cat[cat])
        rng = random.Random(f"{seed}|split|{cat}")
        rng.shuffle(groups)
        # largest groups first so the big ones do not unbalance the end of the greedy pass
        groups.sort(key=lambda g: -len(by_cat[cat][g]))
        count = {s: 0 for s in SPLITS}
        total = sum(len(v) for v in by_cat[cat].values())
        for g in groups:
            if g in split_of_group:
                continue
            deficit = {s: SPLIT_SHARE[s] * total - count[s] for s in SPLITS}
            s = max(SPLITS, key=lambda s: (deficit[s] / SPLIT_SHARE[s], -SPLITS.index(s)))
            split_of_group[g] = s
            count[s] += len(by_cat[cat][g])
    for w in works:
        w["split"] = split_of_group[w["group"]]


def largest_remainder(total, weights):
    keys = list(weights)
    s = sum(weights.values()) or 1
    raw = {k: total * weights[k] / s for k in keys}
    out = {k: int(math.floor(raw[k])) for k in keys}
    rest = total - sum(out.values())
    for k in sorted(keys, key=lambda k: (-(raw[k] - out[k]), keys.index(k)))[:rest]:
        out[k] += 1
    return out


def log(msg, fh=None):
    line = time.strftime("%H:%M:%S ") + msg
    print(line, file=sys.stderr, flush=True)
    if fh:
        fh.write(line + "\n")
        fh.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--clips", type=int, default=6000, help="clips in train+val+test (shifted set is extra)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=0, help="worker processes (default: all cores)")
    ap.add_argument("--clip-seconds", type=float, default=30.0)
    ap.add_argument("--long-fraction", type=float, default=0.05, help="share of clips rendered 60/90/120 s long")
    ap.add_argument("--shifted-fraction", type=float, default=0.5,
                    help="share of test clips also rendered with the held-out soundfont")
    ap.add_argument("--refs-test", type=int, default=3)
    ap.add_argument("--refs-val", type=int, default=3)
    ap.add_argument("--refs-train", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120.0, help="time-box for parsing one source work (s)")
    ap.add_argument("--keep-midi", action="store_true", help="also keep the rendered MIDI files in OUT/midi/")
    ap.add_argument("--force", action="store_true", help="remove an existing OUT first")
    args = ap.parse_args(argv)

    out = os.path.abspath(args.out)
    if os.path.exists(out) and os.listdir(out):
        if not args.force:
            sys.exit(f"{out} exists and is not empty (use --force to replace it)")
        shutil.rmtree(out)
    audio_dir = os.path.join(out, "audio")
    os.makedirs(audio_dir)
    midi_dir = os.path.join(out, "midi")
    if args.keep_midi:
        os.makedirs(midi_dir)
    logfh = open(os.path.join(out, "generate.log"), "w")
    t_start = time.time()
    timing = {}
    jobs = args.jobs or os.cpu_count() or 1
    for sf, (path, pkg, _) in CAT.SOUNDFONTS.items():
        if sf in (MAIN_SF, SHIFT_SF) and not os.path.exists(path):
            sys.exit(f"missing soundfont {path}: apt-get install {pkg}")
    for tool in ("fluidsynth", "sox"):
        if not shutil.which(tool):
            sys.exit(f"missing {tool}: see Tools/corpus/README.md")

    import music21
    from music21 import corpus as m21corpus
    corpus_dir = os.path.dirname(m21corpus.__file__)

    # ---- 1. catalogue
    t0 = time.time()
    works = CAT.music21_works(corpus_dir) + CAT.debian_midi_works()
    CAT.group_works(works)
    assign_splits(works, args.seed)
    timing["catalogue_s"] = round(time.time() - t0, 1)
    cat_counts = Counter(w["category"] for w in works)
    log(f"catalogue: {len(works)} works in {len({w['group'] for w in works})} groups {dict(cat_counts)}", logfh)

    # ---- 2. quotas and candidates
    quotas = {}
    cat_q = largest_remainder(args.clips, CATEGORY_SHARE)
    for cat, q in cat_q.items():
        for s, n in largest_remainder(q, SPLIT_SHARE).items():
            quotas[(cat, s)] = n
    cands = defaultdict(list)
    for cat in CATEGORY_SHARE:
        for s in SPLITS:
            ws = [w for w in works if w["category"] == cat and w["split"] == s]
            ws.sort(key=lambda w: w["wid"])
            random.Random(f"{args.seed}|order|{cat}|{s}").shuffle(ws)
            # one work per group first (variety), the rest after
            seen, first, later = set(), [], []
            for w in ws:
                (later if w["group"] in seen else first).append(w)
                seen.add(w["group"])
            cands[(cat, s)] = first + later

    opts = {"timeout": args.timeout, "seed": args.seed, "audio_dir": audio_dir, "midi_dir": midi_dir,
            "keep_midi": args.keep_midi, "tmp": None}
    ctx = mp.get_context("fork")
    pool = ctx.Pool(jobs, initializer=_init_worker, initargs=(opts,), maxtasksperchild=200)
    pieces = {}
    skipped = []
    parse_times = {}
    t0 = time.time()
    chosen = {}
    for key in sorted(quotas, key=lambda k: (list(CATEGORY_SHARE).index(k[0]), SPLITS.index(k[1]))):
        cat, s = key
        q = quotas[key]
        if q == 0:
            chosen[key] = []
            continue
        need_works = max(1, math.ceil(q / CLIPS_PER_WORK_CAP[cat]))
        lst = cands[key]
        ok, pos = [], 0
        while len(ok) < need_works and pos < len(lst):
            rem = need_works - len(ok)
            batch = lst[pos:pos + max(min(jobs, rem + 1), int(rem * 1.08) + 1)]
            pos += len(batch)
            for wid, piece, err, dt in pool.imap(parse_job, batch, chunksize=1):
                parse_times[wid] = dt
                if err:
                    skipped.append({"work": wid, "reason": err, "seconds": dt})
                    log(f"skip {wid}: {err} ({dt} s)", logfh)
                    continue
                pieces[wid] = piece
            for w in batch:
                if w["wid"] in pieces and len(ok) < need_works:
                    ok.append(w)
        chosen[key] = ok
        log(f"parsed {cat}/{s}: {len(ok)} works for {q} clips (scanned {pos})", logfh)
    timing["parse_s"] = round(time.time() - t0, 1)
    slow = sorted(parse_times.items(), key=lambda kv: -kv[1])[:5]
    timing["parse_slowest"] = slow
    log(f"parsed {len(parse_times)} works, {len(skipped)} skipped; slowest: "
        + ", ".join(f"{w} {t} s" for w, t in slow), logfh)
    # drop pieces that were parsed but not chosen
    keep = {w["wid"] for ws in chosen.values() for w in ws}
    for wid in list(pieces):
        if wid not in keep:
            del pieces[wid]

    # ---- clip allocation (deterministic, before rendering)
    plan = []  # (split, cat, work, variant, n_variants)
    for s in SPLITS:
        for cat in CATEGORY_SHARE:
            ws = chosen.get((cat, s), [])
            q = quotas[(cat, s)]
            if not ws:
                continue
            cap = CLIPS_PER_WORK_CAP[cat]

            def weight(w):
                p = pieces[w["wid"]]
                if p["kind"] == "midi":
                    return max(1.0, p["length_s"] / 30.0)
                return max(1.0, p["length_q"] / 60.0)

            wts = {w["wid"]: min(cap, weight(w)) for w in ws}
            alloc = largest_remainder(q, wts)
            alloc = {k: min(v, cap) for k, v in alloc.items()}
            # any clips lost to the cap go round-robin to works below it
            lost = q - sum(alloc.values())
            i = 0
            while lost > 0 and any(v < cap for v in alloc.values()):
                w = ws[i % len(ws)]["wid"]
                if alloc[w] < cap:
                    alloc[w] += 1
                    lost -= 1
                i += 1
            for w in ws:
                n = alloc[w["wid"]]
                for v in range(n):
                    plan.append((s, cat, w, v, n))
    clips_by_work = defaultdict(list)
    work_by_id = {w["wid"]: w for w in works}
    for i, (s, cat, w, v, n) in enumerate(plan):
        tid = f"mc{i:05d}"
        lr = random.Random(f"{args.seed}|len|{w['wid']}|{v}")
        dur = args.clip_seconds
        if lr.random() < args.long_fraction:
            dur = float(lr.choice([60, 90, 120]))
        clip = {"track_id": tid, "split": s, "category": cat, "variant": v, "n_variants": n, "duration_s": dur}
        if s == "test" and random.Random(f"{args.seed}|shift|{tid}").random() < args.shifted_fraction:
            clip["shifted_id"] = f"{tid}_{SHIFT_SF.lower()}"
        clips_by_work[w["wid"]].append(clip)
    log(f"plan: {len(plan)} clips from {len(clips_by_work)} works; "
        f"{sum(1 for c in sum(clips_by_work.values(), []) if c.get('shifted_id'))} test clips also rendered with "
        f"{SHIFT_SF}; jobs={jobs}", logfh)

    # ---- 3. render (largest jobs first for better load balance; results are keyed, order-free)
    t0 = time.time()
    jobs_list = [(work_by_id[wid], pieces[wid], clips) for wid, clips in clips_by_work.items()]
    jobs_list.sort(key=lambda j: (-sum(c["duration_s"] for c in j[2]), j[0]["wid"]))
    total_audio = sum(c["duration_s"] * (2 if c.get("shifted_id") else 1) for j in jobs_list for c in j[2])
    results = {}
    done_audio = 0.0
    last_log = 0.0
    render_errors = []
    for wid, res in pool.imap_unordered(render_job, jobs_list, chunksize=1):
        for r in res:
            tid = r["clip"]["track_id"]
            if "error" in r:
                render_errors.append({"track_id": tid, "work": wid, "reason": r["error"]})
                log(f"clip {tid} ({wid}) dropped: {r['error']}", logfh)
                continue
            results[tid] = (wid, r)
            done_audio += r["clip"]["duration_s"] * (2 if r["clip"].get("shifted_id") else 1)
        now = time.time()
        if now - last_log > 30:
            last_log = now
            el = now - t0
            frac = done_audio / total_audio if total_audio else 1
            eta = el / frac - el if frac > 0 else float("nan")
            log(f"render {len(results)}/{len(plan)} clips, {100 * frac:.1f}% of audio, elapsed {el / 60:.1f} min, "
                f"ETA {eta / 60:.1f} min", logfh)
    pool.close()
    pool.join()
    timing["render_s"] = round(time.time() - t0, 1)

    # ---- 4. captions and JSON
    t0 = time.time()
    used = set()
    datasets = {s: [] for s in SPLITS}
    shifted = []
    sources_used = {}
    for tid in sorted(results):
        wid, r = results[tid]
        w = work_by_id[wid]
        clip = r["clip"]
        a = dict(r["attributes"])
        a["source"] = {k: w.get(k) for k in ("wid", "collection", "title", "composer", "era", "style", "form",
                                               "group", "licence", "source")}
        a["source"]["work_id"] = a["source"].pop("wid")
        a["soundfont"] = MAIN_SF
        a["duration_s"] = clip["duration_s"]
        a["split"] = clip["split"]
        a["rendering"] = r["render"][MAIN_SF]
        nref = {"train": args.refs_train, "val": args.refs_val, "test": args.refs_test}[clip["split"]]
        crng = random.Random(f"{args.seed}|caption|{tid}")
        caps = CAP.make_captions(a, crng, nref, used)
        for c in caps:
            used.add(c.lower())
        a_json = json.loads(json.dumps(a))
        for c in caps:
            e = {"track_id": tid, "caption": {"raw": c, "tokens": CAP.tokenize(c)}, "path": f"audio/{tid}.wav",
                 "attributes": a_json}
            if nref > 1:
                e["references"] = caps
            datasets[clip["split"]].append(e)
        if clip.get("shifted_id"):
            sid = clip["shifted_id"]
            a2 = json.loads(json.dumps(a))
            a2["soundfont"] = SHIFT_SF
            a2["rendering"] = r["render"][SHIFT_SF]
            a2["paired_track_id"] = tid
            for c in caps:
                shifted.append({"track_id": sid, "caption": {"raw": c, "tokens": CAP.tokenize(c)},
                                "path": f"audio/{sid}.wav", "attributes": a2, "references": caps})
        su = sources_used.setdefault(wid, {"work_id": wid, "collection": w["collection"], "title": w["title"],
                                           "composer": w["composer"], "split": w["split"], "group": w["group"],
                                           "licence": w["licence"], "source": w["source"], "clips": 0})
        su["clips"] += 1

    def dump(path, obj):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1, sort_keys=True)
            f.write("\n")

    for s in SPLITS:
        dump(os.path.join(out, f"dataset_{s}.json"), datasets[s])
    dump(os.path.join(out, "dataset_test_shifted.json"), shifted)
    dump(os.path.join(out, "attribute_lexicon.json"), CAP.lexicon())
    dump(os.path.join(out, "sources.json"), {
        "collections": {c: {"category": v[0], "licence": v[3]} for c, v in sorted(CAT.COLLECTIONS.items())}
        | {pkg: {"category": "midi", "licence": f"{v[1]}: {v[2]}", "debian_version": CAT.deb_version(pkg)}
           for pkg, v in sorted(CAT.DEBIAN_MIDI.items())},
        "soundfonts": {k: {"path": v[0], "debian_package": v[1], "debian_version": CAT.deb_version(v[1]),
                           "licence": v[2], "used_for": ("train/val/test" if k == MAIN_SF else
                                                         "test_shifted only (held out)" if k == SHIFT_SF else "unused")}
                       for k, v in CAT.SOUNDFONTS.items()},
        "works": [sources_used[k] for k in sorted(sources_used)],
    })
    dump(os.path.join(out, "skipped.json"), {"parse": sorted(skipped, key=lambda x: x["work"]),
                                              "render": sorted(render_errors, key=lambda x: x["track_id"])})
    manifest = {
        "generator": f"Tools/corpus muscorpus {GENERATOR_VERSION}",
        "command": {k: v for k, v in vars(args).items() if k not in ("out", "force", "jobs")},
        "python": platform.python_version(), "music21": music21.__version__,
        "numpy": __import__("numpy").__version__,
        "fluidsynth": subprocess.run(["fluidsynth", "--version"], capture_output=True, text=True).stdout.split("\n")[0],
        "sox": CAT.deb_version("sox"),
        "soundfont_sha256": {k: _sha256(v[0]) for k, v in CAT.SOUNDFONTS.items() if k in (MAIN_SF, SHIFT_SF)},
        "catalogue": {"works": len(works), "groups": len({w["group"] for w in works}),
                      "by_category": dict(sorted(cat_counts.items()))},
        "quotas": {f"{c}/{s}": n for (c, s), n in sorted(quotas.items())},
        "audio": "16 kHz mono 16-bit PCM WAV",
    }
    dump(os.path.join(out, "manifest.json"), manifest)
    timing["captions_json_s"] = round(time.time() - t0, 1)

    from . import report
    stats = report.compute(out)
    dump(os.path.join(out, "stats.json"), stats)
    timing["total_s"] = round(time.time() - t_start, 1)
    timing["jobs"] = jobs
    timing["machine"] = f"{platform.node()} {os.cpu_count()} cores"
    with open(os.path.join(out, "timing.json"), "w") as f:
        json.dump(timing, f, indent=1)
    log(f"done: {stats['clips']} clips (+{stats['splits'].get('test_shifted', {}).get('clips', 0)} shifted), "
        f"{stats['disk_mb']} MB, {timing['total_s'] / 60:.1f} min; timings {timing}", logfh)
    print(report.summary(stats))
    logfh.close()


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


if __name__ == "__main__":
    main()
