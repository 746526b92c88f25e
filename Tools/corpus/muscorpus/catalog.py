"""Enumerate the source works: music21's offline corpus and MIDI from Debian packages.

A *work* is one composition (one ABC tune, one score file, one MIDI file).  Every work has
a *group* key: works sharing a group always land in the same split (movements of one
opus, sections of one mass, the same folk tune in two collections, two encodings of one
chorale).
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess

# ---------------------------------------------------------------- licences / provenance

MUSIC21_LICENCE = ("music21 corpus (BSD-licensed software; encodings distributed with the encoders' "
                   "permission; compositions public domain)")

COLLECTIONS = {
    # key: (category, era, style words, licence note)
    "essenFolksong": ("folk", "traditional", None,
                      "Essen Folksong Collection (EsAC), ABC by S. Schlien; permission for non-commercial "
                      "distribution and use in music21 (corpus/essenFolksong/license.txt)"),
    "oneills1850": ("folk", "traditional", "irish",
                    "O'Neill's Music of Ireland (1903), public domain; ABC transcription by N. Paap et al. via music21"),
    "ryansMammoth": ("folk", "traditional", "fiddle",
                     "Ryan's Mammoth Collection (1883), public domain; ABC contributed via music21"),
    "airdsAirs": ("folk", "traditional", "scottish",
                  "Aird's Selection of Scotch, English, Irish and Foreign Airs (1778-1803), public domain; "
                  "ABC by J. Campin via music21"),
    "miscFolk": ("folk", "traditional", None, "public-domain tune books, ABC via music21"),
    "nottingham-dataset": ("folk", "traditional", "english", "Nottingham folk music database (ABC) via music21"),
    "bach": ("chorale", "baroque", "chorale", "J. S. Bach chorales, public domain; encodings via music21"),
    "palestrina": ("polyphony", "renaissance", "mass", "Palestrina masses, public domain; Humdrum encodings "
                   "(CCARH) via music21"),
    "monteverdi": ("polyphony", "renaissance", "madrigal", "Monteverdi madrigals, public domain; encodings via music21"),
    "josquin": ("polyphony", "renaissance", "chanson", "Josquin des Prez, public domain; ABC via music21"),
    "trecento": ("polyphony", "medieval", "trecento", "Italian trecento music (PMFC), public domain; encodings via music21"),
    "ciconia": ("polyphony", "medieval", "motet", "Ciconia, public domain; via music21"),
    "luca": ("polyphony", "medieval", "mass", "Gloria (medieval), public domain; via music21"),
    "lusitano": ("polyphony", "renaissance", "madrigal", "V. Lusitano, public domain; via music21"),
    "beethoven": ("classical", "classical", "string quartet", "Beethoven, public domain; encodings via music21"),
    "mozart": ("classical", "classical", None, "Mozart, public domain; encodings via music21"),
    "haydn": ("classical", "classical", "string quartet", "Haydn, public domain; encodings via music21"),
    "handel": ("classical", "baroque", None, "Handel, public domain; via music21"),
    "corelli": ("classical", "baroque", None, "Corelli, public domain; via music21"),
    "cpebach": ("classical", "baroque", None, "C. P. E. Bach, public domain; via music21"),
    "schubert": ("classical", "romantic", "art song", "Schubert, public domain; via music21"),
    "schumann_robert": ("classical", "romantic", None, "R. Schumann, public domain; via music21"),
    "schumann_clara": ("classical", "romantic", None, "C. Schumann, public domain; via music21"),
    "chopin": ("classical", "romantic", "mazurka", "Chopin, public domain; via music21"),
    "weber": ("classical", "romantic", None, "Weber, public domain; via music21"),
    "verdi": ("classical", "romantic", "aria", "Verdi, public domain; via music21"),
    "beach": ("classical", "romantic", None, "Amy Beach, public domain (1890s); via music21"),
    "joplin": ("classical", "ragtime", "ragtime", "Scott Joplin, public domain; via music21"),
    "liliuokalani": ("classical", "romantic", "song", "Liliuokalani, Aloha Oe (1878), public domain; via music21"),
    "johnson_j_r": ("classical", "romantic", "hymn", "J. R. Johnson, Lift Every Voice (1900), public domain; via music21"),
}
# Not used: atonal works (schoenberg, webern: no mode), demos/theoryExercises/leadSheet (exercises),
# the test*.abc files of the Essen folder (test material), Roman-numeral analyses (.rntxt),
# and the second encodings of a score (one encoding per work: .mxl > .xml/.musicxml > .krn > .abc).

ESSEN_STYLE = {
    "altdeu": "german", "ballad": "german", "boehme": "german", "dva": "german", "erk": "german",
    "fink": "german", "folkHaydn": "german", "han": "chinese", "irl": "irish", "kinder": "german",
    "lot": "lorraine", "lux": "luxembourg", "variant": "german", "zuccal": "german",
}
ESSEN_FORM = {"kinder": "children's song", "ballad": "ballad"}

DEBIAN_MIDI = {
    "openttd-openmsx": ("/usr/share/games/openttd/baseset/openmsx", "GPL-2.0",
                        "OpenMSX music set for OpenTTD (c) 2010-2021 OpenMSX authors (J. Redfarn, T. Blomberg, "
                        "and others; see /usr/share/doc/openttd-openmsx/readme.txt.gz)"),
    "planetblupi-music-midi": ("/usr/share/planetblupi/music", "GPL-3+",
                               "Planet Blupi music (c) 1997 Daniel Roux, EPSITEC SA & Denis Dumoulin; "
                               "2017-2018 Mathieu Schroeter"),
}

SOUNDFONTS = {
    "FluidR3_GM": ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm", "MIT"),
    "TimGM6mb": ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont", "GPL-2"),
    "MuseScore_General_Lite": ("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
                               "musescore-general-soundfont-small", "MIT (parts CC0/public domain)"),
}


def deb_version(pkg: str) -> str:
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:
        return "not installed"


def _norm_title(t: str) -> str:
    t = t.lower()
    t = re.sub(r"--.*$", "", t)               # Ryan's "Acacia -- Reel"
    t = re.sub(r"\(.*?\)", "", t)
    t = re.sub(r"[^a-z0-9 ]+", " ", t)
    t = re.sub(r"\b(the|a|an|no|reel|jig|hornpipe|strathspey|air|march|waltz|polka|set dance)\b", " ", t)
    return " ".join(t.split())


def _body_hash(block: str) -> str:
    body = [ln for ln in block.splitlines() if not re.match(r"^[A-Za-z]:", ln) and not ln.startswith("%")]
    s = re.sub(r"[^A-Ga-gz0-9',/]", "", "".join(body))
    return hashlib.sha1(s.encode()).hexdigest()[:16]


def _abc_tunes(path: str):
    """Split an ABC file into tunes: yields (index, text-with-file-header, fields)."""
    text = open(path, encoding="latin-1").read()
    blocks = re.split(r"(?m)^(?=X:)", text)
    header = ""
    if blocks and not blocks[0].startswith("X:"):
        # file header: keep only field lines (L:, M:, ...) that apply to every tune
        header = "\n".join(ln for ln in blocks[0].splitlines() if re.match(r"^[A-Za-z]:", ln)) + "\n"
        blocks = blocks[1:]
    for i, b in enumerate(blocks):
        fields = {}
        for ln in b.splitlines():
            m = re.match(r"^([A-Za-z]):\s*(.*)$", ln)
            if m and m.group(1) not in fields:
                fields[m.group(1)] = m.group(2).strip()
        if "K" not in fields:
            continue
        yield i, header + b, fields


def music21_works(corpus_dir: str) -> list[dict]:
    works = []
    for coll in sorted(COLLECTIONS):
        cdir = os.path.join(corpus_dir, coll)
        if not os.path.isdir(cdir):
            continue
        category, era, style, lic = COLLECTIONS[coll]
        files = []
        for root, _, fnames in os.walk(cdir):
            for fn in fnames:
                files.append(os.path.join(root, fn))
        files.sort()
        if category == "folk" or coll == "josquin":
            for f in files:
                if not f.endswith(".abc"):
                    continue
                base = os.path.basename(f)[:-4]
                if coll == "essenFolksong" and base.startswith("test"):
                    continue
                fstyle = style
                form = None
                if coll == "essenFolksong":
                    stem = re.sub(r"\d+$", "", base)
                    fstyle = ESSEN_STYLE.get(stem, "german")
                    form = ESSEN_FORM.get(stem)
                elif coll == "miscFolk":
                    fstyle = "american" if "american" in base else "english"
                    form = "fife tune" if "fife" in base else None
                rel = os.path.relpath(f, corpus_dir)
                for idx, text, fields in _abc_tunes(f):
                    title = fields.get("T", "").strip()
                    rhythm = fields.get("R", "").strip().lower().rstrip("]").strip()
                    tform = form
                    for k in ("slip jig", "slipjig", "double jig", "single jig", "jig", "reel", "hornpipe",
                              "strathspey", "waltz", "polka", "march", "clog", "highland fling", "air",
                              "set dance", "schottische", "mazurka", "quickstep"):
                        if k in rhythm or re.search(r"\b" + k + r"\b", title.lower()):
                            tform = {"slipjig": "slip jig", "double jig": "jig", "single jig": "jig",
                                     "highland fling": "fling", "clog": "clog dance", "set dance": "set dance"}.get(k, k)
                            break
                    nt = _norm_title(title)
                    cat = "polyphony" if coll == "josquin" else "folk"
                    works.append({
                        "wid": f"{coll}/{base}#{idx}", "category": cat, "collection": coll, "format": "abc",
                        "rel_path": rel, "abc_index": idx, "abc_text": text, "title": title,
                        "composer": "Josquin des Prez" if coll == "josquin" else "traditional",
                        "era": era, "style": fstyle, "form": tform, "meter_field": fields.get("M", ""),
                        "licence": lic, "source": f"music21 corpus: {rel} tune X:{fields.get('X', idx)}",
                        # folk tunes group across collections by title and by notes
                        "group_keys": ([f"folk-title:{nt}"] if len(nt) >= 4 and cat == "folk" else [])
                                      + [f"abc-body:{_body_hash(text)}", f"work:{coll}/{base}#{idx}"]
                                      + ([f"file:{rel}"] if coll == "josquin" else []),
                    })
            continue
        # scores: one encoding per work
        by_stem = {}
        rank = {".mxl": 0, ".xml": 1, ".musicxml": 1, ".krn": 2}
        for f in files:
            stem, ext = os.path.splitext(f)
            if ext not in rank or stem.endswith("_old"):
                continue
            if coll == "bach" and ext != ".mxl":
                continue
            if stem not in by_stem or rank[ext] < rank[os.path.splitext(by_stem[stem])[1]]:
                by_stem[stem] = f
        for stem in sorted(by_stem):
            f = by_stem[stem]
            rel = os.path.relpath(f, corpus_dir)
            relstem = os.path.relpath(stem, corpus_dir)
            parts = relstem.split(os.sep)
            group = "/".join(parts[:2]) if len(parts) > 2 else relstem  # movements of one opus together
            composer = {"bach": "J. S. Bach", "palestrina": "Palestrina", "monteverdi": "Monteverdi"}.get(coll, coll)
            title = os.path.basename(stem)
            form = style
            if coll == "bach":
                m = re.match(r"bwv(\d+)", os.path.basename(stem))
                group = f"bach/bwv{m.group(1)}" if m else relstem
            elif coll == "palestrina":
                head = open(f, encoding="latin-1").read(600)
                m = re.search(r"^!!!OPR:\s*(.*)$", head, re.M)
                t = re.search(r"^!!!OTL:\s*(.*)$", head, re.M)
                mass = m.group(1).strip() if m else relstem
                group = f"palestrina/{mass}"
                title = f"{mass}: {t.group(1).strip() if t else os.path.basename(stem)}"
                form = "mass"
            elif coll == "beethoven" or coll == "haydn":
                form = "string quartet"
            elif coll == "mozart":
                form = "piano sonata" if "k545" in relstem else "string quartet"
            works.append({
                "wid": relstem, "category": category, "collection": coll, "format": os.path.splitext(f)[1][1:],
                "rel_path": rel, "abs_path": f, "title": title, "composer": composer, "era": era, "style": style,
                "form": form,
                "licence": lic, "source": f"music21 corpus: {rel}", "size": os.path.getsize(f),
                "group_keys": [f"work:{group}"],
            })
    return works


def debian_midi_works() -> list[dict]:
    works = []
    for pkg in sorted(DEBIAN_MIDI):
        d, lic, who = DEBIAN_MIDI[pkg]
        if not os.path.isdir(d):
            continue
        ver = deb_version(pkg)
        for fn in sorted(os.listdir(d)):
            if not fn.lower().endswith(".mid"):
                continue
            title = os.path.splitext(fn)[0].replace("_redfarn", "").replace("_", " ")
            works.append({
                "wid": f"{pkg}/{fn}", "category": "midi", "collection": pkg, "format": "mid",
                "abs_path": os.path.join(d, fn), "rel_path": os.path.join(d, fn), "title": title,
                "composer": "Jim Redfarn" if "redfarn" in fn else ("OpenMSX authors" if pkg.startswith("openttd")
                                                                     else "Planet Blupi authors"),
                "era": "contemporary", "style": "game", "form": None,
                "licence": f"{lic}: {who} (Debian package {pkg} {ver}, /usr/share/doc/{pkg}/copyright)",
                "source": f"Debian {pkg} {ver}: {os.path.join(d, fn)}",
                "group_keys": [f"work:{pkg}/{fn}"],
            })
    return works


def group_works(works: list[dict]) -> None:
    """Union-find over group keys; sets work['group'] to a stable representative."""
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for w in works:
        ks = w["group_keys"]
        for k in ks[1:]:
            a, b = find(ks[0]), find(k)
            if a != b:
                if a < b:
                    parent[b] = a
                else:
                    parent[a] = b
    for w in works:
        w["group"] = find(w["group_keys"][0])
