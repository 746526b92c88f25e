"""Scores captions of the real-music validation set (issue 10) against Tools/realmusic/labels.json.

Per model (one predictions file per caption source, `[{"track_id", "caption"}]` as `muscaps eval
--predictions` / `muscaps baseline --predictions` write them):

  * genre truth     — % of captions that name the track's labelled genre family or a compatible one
                      (COMPATIBLE below);
  * contradiction   — % of captions that name an incompatible genre family, or an instrument family the
                      labels rule out (`ruled_out`);
  * no genre        — % of captions that name no genre family at all (NEUTRAL families such as "video
                      game" do not count: every track of the set is game music, so "game tune" says
                      nothing about its genre — except for tracker music, where it is compatible);
  * instrument precision — of the instrument families the captions name, the % that the labels list
                      (gold and silver; the labels are incomplete, so this is a lower bound), and the
                      same over gold labels only.

A caption is read with the corpus's phrase matcher (Tools/corpus/muscorpus/attributes.py: lower case,
tokens [a-z0-9]+, longest phrase first) over GENRE_PHRASES and the corpus's instrument-family lexicon
(muscorpus.captions.lexicon(), extended by EXTRA_INSTRUMENT_PHRASES with words records are described in).
Live excerpts (track ids `<id>@<pct>`, see fetch.sh) are scored against the label of `<id>`.

    python3 Tools/realmusic/score.py --labels Tools/realmusic/labels.json \\
        --run "shipped, whole track=runs/real/shipped.predictions.json" --json out.json
    python3 Tools/realmusic/score.py --silver --dataset /tmp/muscaps-realmusic/dataset   # musicnn silver labels
"""
import argparse
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus"))
from muscorpus.attributes import Matcher, tokenize  # noqa: E402
from muscorpus.captions import lexicon as corpus_lexicon  # noqa: E402

# Caption phrase -> genre family. Families are coarse on purpose: the set's evidence (Vorbis GENRE tags,
# credits) names families, not sub-genres. "classical" is Western art music as a whole — orchestral,
# chamber, romantic, baroque, early and sacred music — so a film-style orchestral track described as a
# "baroque chorale" is right in family though wrong in period.
GENRE_PHRASES = {
    "metal": ["metal", "heavy metal", "thrash", "thrash metal", "death metal", "black metal", "doom metal",
              "power metal", "symphonic metal", "metalcore"],
    "rock": ["rock", "hard rock", "driving rock", "guitar rock", "punk", "punk rock", "grunge", "alternative rock",
             "indie rock", "classic rock", "rock and roll", "50s rock", "surf rock", "garage rock", "post rock"],
    "blues": ["blues", "bluesy", "blues rock", "boogie", "twelve bar blues", "12 bar blues"],
    "jazz": ["jazz", "swing", "swinging jazz", "bebop", "jazz combo", "big band", "latin jazz", "jazzy", "cool jazz",
             "jazz waltz"],
    "reggae": ["reggae", "ska", "dub", "rocksteady", "dancehall", "offbeat skank"],
    "latin": ["latin", "bossa nova", "bossa", "salsa", "samba", "tango", "cumbia", "rumba", "mambo", "latin jazz"],
    "funk_soul": ["funk", "funky", "soul", "rnb", "r b", "disco", "motown", "gospel"],
    "hiphop": ["hip hop", "boom bap", "rap", "trap", "laid back hip hop", "lo fi hip hop"],
    "pop": ["pop", "soft pop", "pop ballad", "synth pop", "indie pop", "power pop", "pop rock", "europop"],
    "electronic": ["electronic", "electronica", "dance", "house", "techno", "trance", "club", "drum and bass",
                   "dnb", "jungle", "breakbeat", "dubstep", "edm", "electro", "idm", "synthwave", "synth pop",
                   "four on the floor", "rave", "deep house", "acid house", "downtempo", "trip hop"],
    "ambient": ["ambient", "new age", "drone", "chillout", "dark ambient", "soundscape"],
    "classical": ["classical", "orchestral", "symphonic", "chamber", "baroque", "romantic", "classical era",
                  "nineteenth century", "renaissance", "early music", "medieval", "sacred", "chorale", "hymn",
                  "chorale setting", "mass movement", "mass setting", "sacred piece", "motet", "madrigal", "chanson",
                  "medieval song", "trecento piece", "quartet movement", "sonata movement", "art song", "lied",
                  "aria", "opera", "film score", "cinematic", "symphony", "concerto", "fugue", "minuet",
                  "string quartet", "orchestra", "symphony orchestra", "chamber orchestra", "epic orchestral"],
    "folk": ["folk", "traditional", "celtic", "irish", "scottish", "highland", "central european", "german",
             "english country", "old time", "old time american", "traditional fiddle", "reel", "jig", "slip jig",
             "hornpipe", "strathspey", "polka", "clog dance", "set dance", "highland fling", "fife tune",
             "children song", "nursery tune", "folk ballad", "slow air", "east asian", "chinese", "pentatonic",
             "acoustic folk", "celtic folk", "irish traditional", "luxembourgish", "french", "european", "english",
             "american", "bluegrass"],
    "country": ["country", "americana", "honky tonk"],
    "ragtime": ["ragtime", "rag", "ragtime piece", "old time ragtime"],
    "waltz": ["waltz"],
    "chiptune": ["chiptune", "8 bit", "chip music", "tracker", "tracker module", "demoscene"],
    "game": ["video game", "game soundtrack", "retro game", "game", "game tune", "game music"],
}

# Labelled family -> caption families that are true of it. Every other family named is a contradiction,
# except the NEUTRAL ones, which are neither true nor a contradiction unless listed here.
COMPATIBLE = {
    "metal": {"metal", "rock"},
    "rock": {"rock", "metal"},
    "blues": {"blues", "jazz", "rock"},
    "reggae": {"reggae"},
    "electronic": {"electronic"},
    "ambient": {"ambient", "electronic"},
    "classical": {"classical", "waltz"},
    "chiptune": {"chiptune", "game", "electronic"},
    "jazz": {"jazz", "blues", "swing"},
    "latin": {"latin", "jazz"},
    "funk_soul": {"funk_soul", "pop"},
    "hiphop": {"hiphop"},
    "pop": {"pop", "rock", "electronic"},
    "folk": {"folk", "country", "waltz"},
    "country": {"country", "folk"},
}
NEUTRAL = {"game"}

# Record-description words the corpus lexicon lacks (corpus v2 captions use them).
EXTRA_INSTRUMENT_PHRASES = {
    "voice": ["vocals", "vocal", "singer", "singing", "female vocals", "male vocals", "female vocal", "male vocal",
              "lead vocals", "rapping"],
    "drums": ["drum machine", "breakbeat", "breakbeats", "kick", "kick drum", "snare", "hi hat", "hi hats",
              "punchy drums", "drum loop"],
    "bass": ["bassline", "bass line", "sub bass", "808", "walking bass", "bass guitar"],
    "synth": ["pads", "synth pads", "synth pad", "arpeggiator", "arpeggiated synth", "synth lead", "synth bass"],
    "guitar": ["distorted electric guitar", "electric guitar", "power chords", "riffs", "riff"],
    "keyboard": ["piano", "electric piano", "keys"],
}

# musicnn tags -> instrument family, for silver labels.
TAG_FAMILY = {
    "guitar": "guitar", "strings": "strings", "violin": "strings", "cello": "strings", "piano": "keyboard",
    "harpsichord": "keyboard", "drums": "drums", "synth": "synth", "flute": "woodwind", "harp": "harp",
    "sitar": "plucked", "choir": "voice", "choral": "voice", "vocal": "voice", "vocals": "voice", "voice": "voice",
    "singing": "voice", "male vocal": "voice", "female vocal": "voice", "male voice": "voice",
    "female voice": "voice", "opera": "voice",
}
SILVER_THRESHOLD = 0.25   # mean tag probability over the track that counts as "confident"
MTT_TAGS = ["guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano",
            "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals",
            "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft",
            "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal",
            "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral"]


def build_lexicon():
    families = {k: list(v) for k, v in corpus_lexicon()["families"].items()}
    for family, phrases in EXTRA_INSTRUMENT_PHRASES.items():
        families[family] = sorted(set(families.get(family, [])) | set(phrases))
    genres = {g: [" ".join(tokenize(p)) for p in phrases] for g, phrases in GENRE_PHRASES.items()}
    return {"families": families, "genre": genres}


class CaptionReader:
    """What a caption says about genre and instruments."""

    def __init__(self):
        self.matcher = Matcher(build_lexicon(), attributes=("families", "genre"))

    def read(self, caption):
        found = self.matcher.statements(caption)
        genres = set().union(*found.get("genre", [set()]))
        instruments = set().union(*found.get("families", [set()]))
        return genres, instruments


def base_id(track_id):
    return track_id.split("@", 1)[0]


def judge(caption, label, reader):
    """Per-caption verdict against one track's label."""
    genres, instruments = reader.read(caption)
    family = label["family"]
    compatible = COMPATIBLE.get(family, {family}) | {family}
    true_genres = genres & compatible
    wrong_genres = genres - compatible - NEUTRAL
    ruled_out = {r["family"] for r in label.get("ruled_out", [])}
    gold = {i["family"] for i in label.get("instruments", []) if i.get("grade", "gold") == "gold"}
    known = {i["family"] for i in label.get("instruments", [])}
    return {
        "genres": sorted(genres), "instruments": sorted(instruments),
        "genre_true": bool(true_genres),
        "genre_wrong": sorted(wrong_genres),
        "instrument_wrong": sorted(instruments & ruled_out),
        "contradiction": bool(wrong_genres or (instruments & ruled_out)),
        "no_genre": not (genres - (NEUTRAL - compatible)),
        "named": len(instruments), "named_known": len(instruments & known), "named_gold": len(instruments & gold),
    }


def score(predictions, labels, reader=None):
    """predictions: [(track_id, caption)]; labels: {id: label}. Rates in %, per family genre truth."""
    reader = reader or CaptionReader()
    verdicts = []
    for track_id, caption in predictions:
        if base_id(track_id) not in labels:
            raise KeyError(f"track {track_id} has no label")
        verdicts.append((track_id, caption, judge(caption, labels[base_id(track_id)], reader)))
    n = len(verdicts)
    if n == 0:
        raise ValueError("no captions to score")
    pct = lambda k: 100.0 * sum(v[k] for _, _, v in verdicts) / n  # noqa: E731
    named = sum(v["named"] for _, _, v in verdicts)
    by_family = {}
    for track_id, _, v in verdicts:
        by_family.setdefault(labels[base_id(track_id)]["family"], []).append(v["genre_true"])
    return {
        "captions": n,
        "genre_truth": pct("genre_true"),
        "contradiction": pct("contradiction"),
        "no_genre": pct("no_genre"),
        "instrument_precision": 100.0 * sum(v["named_known"] for _, _, v in verdicts) / named if named else None,
        "instrument_precision_gold": 100.0 * sum(v["named_gold"] for _, _, v in verdicts) / named if named else None,
        "instruments_named": named,
        "genre_truth_by_family": {f: 100.0 * sum(x) / len(x) for f, x in sorted(by_family.items())},
        "verdicts": [{"track_id": t, "caption": c, **v} for t, c, v in verdicts],
    }


def load_labels(path):
    with open(path) as f:
        tracks = json.load(f)["tracks"]
    ids = [t["id"] for t in tracks]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate track ids")
    for t in tracks:
        if t["family"] not in COMPATIBLE:
            raise ValueError(f"{path}: track {t['id']} has unknown family {t['family']!r}")
        if not t.get("evidence"):
            raise ValueError(f"{path}: track {t['id']} has no genre evidence")
    return {t["id"]: t for t in tracks}


def load_predictions(path):
    with open(path) as f:
        return [(p["track_id"], p["caption"]) for p in json.load(f)]


def read_safetensors(path):
    """{name: (shape, list of floats)} of a float32 safetensors file (the feature cache)."""
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        out[name] = (info["shape"], list(struct.unpack(f"<{(end - start) // 4}f", data[start:end])))
    return out


def cache_path(dataset, extractor, track_id):
    name = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "".join(f"%{b:02X}" for b in c.encode())
                   for c in track_id)
    return os.path.join(dataset, "features", extractor, name + ".safetensors")


def silver_instruments(mean_tags, threshold=SILVER_THRESHOLD):
    """{family: (tag, probability)} for confident instrument tags (strongest tag per family)."""
    found = {}
    for tag, p in mean_tags.items():
        family = TAG_FAMILY.get(tag)
        if family and p >= threshold and (family not in found or p > found[family][1]):
            found[family] = (tag, p)
    return found


def write_silver(labels_path, dataset):
    """Adds musicnn-only instrument labels (grade silver) from the prepared MTT cache to labels.json."""
    with open(labels_path) as f:
        document = json.load(f)
    for track in document["tracks"]:
        tensors = read_safetensors(cache_path(dataset, "musicnn-mtt", track["id"]))
        shape, values = tensors["taggram"]
        chunks, tags = shape
        mean = {MTT_TAGS[j]: sum(values[i * tags + j] for i in range(chunks)) / chunks for j in range(tags)}
        track["musicnn_top5"] = [f"{t} {p:.2f}" for t, p in sorted(mean.items(), key=lambda x: -x[1])[:5]]
        gold = {i["family"] for i in track["instruments"] if i["grade"] == "gold"}
        track["instruments"] = [i for i in track["instruments"] if i["grade"] == "gold"] + [
            {"family": family, "grade": "silver", "evidence": f"musicnn MTT mean {tag} {p:.2f}"}
            for family, (tag, p) in sorted(silver_instruments(mean).items()) if family not in gold]
    with open(labels_path, "w") as f:
        json.dump(document, f, indent=1, ensure_ascii=False)
        f.write("\n")


def fmt(x):
    return "—" if x is None else f"{x:.1f}"


def markdown(results):
    lines = ["| captions from | n | genre truth % | contradiction % | no genre % | instrument precision % (gold only) |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['captions']} | {fmt(r['genre_truth'])} | {fmt(r['contradiction'])} | "
                     f"{fmt(r['no_genre'])} | {fmt(r['instrument_precision'])} ({fmt(r['instrument_precision_gold'])}) |")
    families = sorted({f for r in results.values() for f in r["genre_truth_by_family"]})
    lines += ["", "Genre truth % per labelled family:", "",
              "| captions from | " + " | ".join(families) + " |", "|---|" + "---:|" * len(families)]
    for name, r in results.items():
        lines.append(f"| {name} | " + " | ".join(fmt(r["genre_truth_by_family"].get(f)) for f in families) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "labels.json"))
    parser.add_argument("--run", action="append", default=[], metavar="NAME=PREDICTIONS",
                        help="a caption source and its predictions file (repeatable)")
    parser.add_argument("--json", help="write every result (with per-caption verdicts) here")
    parser.add_argument("--silver", action="store_true", help="write musicnn silver instrument labels into --labels")
    parser.add_argument("--dataset", help="with --silver: the prepared dataset fetch.sh wrote")
    args = parser.parse_args(argv)
    if args.silver:
        if not args.dataset:
            parser.error("--silver needs --dataset")
        write_silver(args.labels, args.dataset)
        return
    if not args.run:
        parser.error("give at least one --run NAME=PREDICTIONS")
    labels = load_labels(args.labels)
    reader = CaptionReader()
    results = {}
    for run in args.run:
        name, sep, path = run.rpartition("=")
        if not sep or not name:
            parser.error(f"--run {run!r}: expected NAME=PREDICTIONS")
        try:
            results[name] = score(load_predictions(path), labels, reader)
        except (OSError, KeyError, ValueError) as error:
            sys.exit(f"score.py: {path}: {error}")
    print(markdown(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
