"""Small music-theory helpers: keys, meters, harmony, chord voicing."""
from __future__ import annotations

SCALES = {
    "major": [0, 2, 4, 5, 7, 9, 11], "minor": [0, 2, 3, 5, 7, 8, 10], "dorian": [0, 2, 3, 5, 7, 9, 10],
    "mixolydian": [0, 2, 4, 5, 7, 9, 10], "lydian": [0, 2, 4, 6, 7, 9, 11], "phrygian": [0, 1, 3, 5, 7, 8, 10],
    "locrian": [0, 1, 3, 5, 6, 8, 10],
}
MODE_CLASS = {"major": "major", "lydian": "major", "mixolydian": "major",
              "minor": "minor", "dorian": "minor", "phrygian": "minor", "locrian": "minor"}
PC_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]

# Krumhansl-Kessler key profiles (published probe-tone ratings)
KK_MAJOR = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]
KK_MINOR = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]


def _corr(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    da = sum((x - ma) ** 2 for x in a) ** 0.5
    db = sum((y - mb) ** 2 for y in b) ** 0.5
    return num / (da * db) if da > 0 and db > 0 else 0.0


def pc_histogram(notes):
    """notes: iterable of (onset, dur, pitch)."""
    h = [0.0] * 12
    for _, d, p in notes:
        h[p % 12] += min(d, 4.0)
    return h


def estimate_key(hist, sharps=None):
    """(tonic_pc, 'major'|'minor', confidence). With a key signature, only its major and relative
    minor are candidates (the signature is exact; the choice between the two is estimated)."""
    cands = []
    for t in range(12):
        rot = hist[t:] + hist[:t]
        cands.append((_corr(rot, KK_MAJOR), t, "major"))
        cands.append((_corr(rot, KK_MINOR), t, "minor"))
    if sharps is not None:
        maj = (7 * sharps) % 12
        allowed = {(maj, "major"), ((maj + 9) % 12, "minor")}
        cands = [c for c in cands if (c[1], c[2]) in allowed]
    cands.sort(key=lambda c: (-c[0], c[1], c[2]))
    return cands[0][1], cands[0][2], round(cands[0][0], 3)


def meter_info(num: int, den: int):
    """Tactus and meter class for a time signature. beat_q = tactus in quarter notes."""
    if den == 8 and num % 3 == 0 and num >= 6:
        return {"beat_q": 1.5, "beats": num // 3, "sub": 3, "class": "compound"}
    if den == 8 and num == 3:
        return {"beat_q": 1.5, "beats": 1, "sub": 3, "class": "triple"}
    if num in (5, 7, 11) or (den == 8 and num not in (2, 4)):
        return {"beat_q": 4.0 / den, "beats": num, "sub": 2, "class": "irregular"}
    beat_q = 4.0 / den
    if den == 1:
        beat_q, num = 2.0, num * 2
    cls = {2: "duple", 4: "quadruple", 3: "triple", 6: "duple", 8: "quadruple"}.get(num, "irregular")
    if num == 6:  # 6/4, 6/2 read as two dotted beats
        return {"beat_q": beat_q * 3, "beats": 2, "sub": 3, "class": "compound"}
    return {"beat_q": beat_q, "beats": num, "sub": 2, "class": cls}


def diatonic_chords(tonic: int, mode: str):
    """Candidate triads: list of (degree, root_pc, quality, third_pc, fifth_pc)."""
    sc = SCALES.get(mode, SCALES["major"])
    out = []
    for deg in range(7):
        r = sc[deg]
        th = sc[(deg + 2) % 7]
        fi = sc[(deg + 4) % 7]
        i3 = (th - r) % 12
        i5 = (fi - r) % 12
        q = "maj" if (i3, i5) == (4, 7) else "min" if (i3, i5) == (3, 7) else "dim" if (i3, i5) == (3, 6) else "aug"
        out.append((deg, (tonic + r) % 12, q))
    if MODE_CLASS.get(mode) == "minor" and mode == "minor":
        out.append((4, (tonic + 7) % 12, "maj"))  # harmonic-minor dominant
    return out


PRIOR = {0: 0.5, 4: 0.4, 3: 0.35, 5: 0.12, 1: 0.12, 2: 0.0, 6: -0.4}


def chord_pcs(root, quality, seventh=False):
    third = 4 if quality in ("maj", "aug") else 3
    fifth = 6 if quality == "dim" else 8 if quality == "aug" else 7
    pcs = [root % 12, (root + third) % 12, (root + fifth) % 12]
    if seventh:
        pcs.append((root + (10 if quality != "maj" else 11)) % 12)
    return pcs


def harmonize(notes, windows, tonic, mode, beat_q=1.0, bass_notes=None):
    """Choose one diatonic triad per window by a small Viterbi search.

    notes: (onset, dur, pitch) of the material to harmonize (melody or all voices), clip time in quarters.
    windows: [(start, end)].  Returns [(start, end, root_pc, quality, degree)].
    """
    cands = [c for c in diatonic_chords(tonic, mode) if c[2] != "aug"]
    scores = []
    for (ws, we) in windows:
        w = [0.0] * 12
        tot = 0.0
        for on, d, p in notes:
            a, b = max(on, ws), min(on + d, we)
            if b <= a:
                continue
            wt = (b - a)
            rel = (on - ws) / beat_q if on >= ws else 0.5
            if abs(rel - round(rel)) < 1e-6:
                wt *= 1.5 if round(rel) == 0 else 1.2
            w[p % 12] += wt
            tot += wt
        bw = [0.0] * 12
        if bass_notes:
            for on, d, p in bass_notes:
                a, b = max(on, ws), min(on + d, we)
                if b > a:
                    bw[p % 12] += b - a
        row = []
        for deg, root, q in cands:
            pcs = chord_pcs(root, q)
            s = sum(w[pc] for pc in pcs) + 0.3 * w[root] - 0.7 * sum(w[pc] for pc in range(12) if pc not in pcs)
            s += sum(bw) and (0.8 * bw[root] + 0.3 * bw[pcs[1]] - 0.4 * sum(bw[pc] for pc in range(12) if pc not in pcs))
            s = s / (tot + 1e-9) if tot > 0 else 0.0
            s += 0.25 * PRIOR.get(deg, 0.0) + (0.1 if deg == 0 and tot == 0 else 0.0)
            row.append(s)
        scores.append(row)
    n, k = len(windows), len(cands)
    if n == 0:
        return []
    best = [scores[0][:]]
    back = []
    for i in range(1, n):
        cur, bk = [], []
        for j in range(k):
            opts = []
            for m in range(k):
                t = best[-1][m]
                if m == j:
                    t += 0.06
                if cands[m][0] == 4 and cands[j][0] == 0:
                    t += 0.1
                if cands[m][0] == 3 and cands[j][0] == 4:
                    t += 0.05
                opts.append((t, -m))
            t, negm = max(opts)
            cur.append(t + scores[i][j])
            bk.append(-negm)
        best.append(cur)
        back.append(bk)
    last = best[-1][:]
    last[0] += 0.15  # end on the tonic if it is close
    j = max(range(k), key=lambda x: (last[x], -x))
    path = [j]
    for bk in reversed(back):
        j = bk[j]
        path.append(j)
    path.reverse()
    return [(ws, we, cands[j][1], cands[j][2], cands[j][0]) for (ws, we), j in zip(windows, path)]


def voice_chord(pcs, prev, lo=52, hi=72):
    """Close voicing of the pitch classes within [lo, hi], moving as little as possible from prev."""
    import itertools
    options = []
    for pc in pcs:
        opts = [p for p in range(lo, hi + 1) if p % 12 == pc]
        options.append(opts or [lo + ((pc - lo) % 12)])
    best, bestcost = None, None
    for combo in itertools.product(*options):
        s = sorted(combo)
        if s[-1] - s[0] > 14:
            continue
        if prev and len(prev) == len(s):
            cost = sum(abs(a - b) for a, b in zip(s, sorted(prev)))
        else:
            cost = abs(sum(s) / len(s) - (lo + hi) / 2) * len(s)
        key = (cost, s)
        if bestcost is None or key < bestcost:
            best, bestcost = s, key
    if best is None:
        best = sorted(options[i][0] for i in range(len(pcs)))
    return best


def fit_octave(pitches, lo, hi, target=None):
    """Octave shift (multiple of 12) putting the median of pitches nearest to target inside [lo, hi]."""
    if not pitches:
        return 0
    s = sorted(pitches)
    med = s[len(s) // 2]
    if target is None:
        target = lo + 0.5 * (hi - lo)
    best = min(range(-4, 5), key=lambda k: (abs(med + 12 * k - target)
                                             + 3 * sum(1 for p in s if not lo <= p + 12 * k <= hi) / len(s) * 12, abs(k)))
    return 12 * best


def fold(p, lo, hi):
    while p < lo:
        p += 12
    while p > hi:
        p -= 12
    return p
