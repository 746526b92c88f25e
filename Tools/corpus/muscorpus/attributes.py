"""Attribute accuracy of captions: does a caption state the clip's instrument families, tempo band,
mode, ensemble and groove correctly?

The corpus knows every clip's attributes exactly (`attributes` in each dataset entry) and which caption
phrases state which attribute value (`attribute_lexicon.json`, exported by `captions.lexicon()`). A
caption is tokenised as the lexicon says (lower case, split on anything not [a-z0-9]); phrases are
matched left to right, longest first, over the phrases of *all* evaluated attributes, so "steady drums"
is an instrument phrase and not the tempo word "steady". A phrase that several values share ("slow":
slow or very slow) states the set of them and is right when the clip's value is in the set.

Per attribute we report
  * stated   — fraction of captions that state the attribute at all;
  * accuracy — of the captions that state it, the fraction whose every statement is right;
and for instrument families (a set per clip) micro precision and recall of the named families.
Run on the references themselves, accuracy is the lexicon's own ceiling (`--references`).

    python -m muscorpus.attributes --dataset /work/corpus --split test --predictions results/early.test.predictions.json
"""
import argparse
import json
import re
import sys

SINGLE = ("tempo_band", "mode", "ensemble", "groove")
ATTRIBUTES = ("families",) + SINGLE

# Phrases the caption templates also use in another sense, found by scoring the references themselves:
# "folk" describes every folk tune ("traditional folk air"), not only the celtic-folk groove.
NOT_A_STATEMENT = {"groove": {"folk"}}
# A generic word states a set of values: "ensemble"/"consort" is any group of players.
GENERIC = {("ensemble", "ensemble"): {"duo", "trio", "quartet", "ensemble", "band", "orchestra", "choir"}}


def tokenize(text):
    return re.findall(r"[a-z0-9]+", text.lower())


class Matcher:
    """Longest-first phrase matching over the evaluated attributes' lexicon."""

    def __init__(self, lexicon, attributes=ATTRIBUTES):
        # Every attribute's phrases take part in matching, so that a longer phrase of an attribute we do
        # not score ("string quartet": a form) is not read as a shorter one we do ("quartet").
        self.phrases = {}  # tuple(tokens) -> set of (attribute, value); attribute None = not scored
        for attribute, table in lexicon.items():
            if not isinstance(table, dict):
                continue
            for value, phrases in table.items():
                for phrase in phrases:
                    scored = attribute in attributes and phrase not in NOT_A_STATEMENT.get(attribute, ())
                    key = tuple(tokenize(phrase))
                    if not key:
                        continue
                    if scored:
                        for v in GENERIC.get((attribute, value), {value}):
                            self.phrases.setdefault(key, set()).add((attribute, v))
                    else:
                        self.phrases.setdefault(key, set()).add((None, None))
        self.longest = max(len(p) for p in self.phrases)

    def statements(self, caption):
        """{attribute: [set of values stated by one phrase, ...]} for a caption."""
        tokens = tokenize(caption)
        found = {}
        i = 0
        while i < len(tokens):
            for n in range(min(self.longest, len(tokens) - i), 0, -1):
                hits = self.phrases.get(tuple(tokens[i:i + n]))
                if hits:
                    by_attribute = {}
                    for attribute, value in hits:
                        if attribute is not None:
                            by_attribute.setdefault(attribute, set()).add(value)
                    for attribute, values in by_attribute.items():
                        found.setdefault(attribute, []).append(values)
                    i += n
                    break
            else:
                i += 1
        return found


def truth(attributes, attribute):
    if attribute == "families":
        return set(attributes["families"])
    return attributes.get(attribute)


def evaluate(captions, attributes_by_track, lexicon):
    """captions: list of (track_id, caption). Returns {attribute: {...}} with counts and rates."""
    matcher = Matcher(lexicon)
    counts = {a: {"captions": 0, "stated": 0, "right": 0} for a in SINGLE}
    fam = {"captions": 0, "stated": 0, "named": 0, "right_names": 0, "true_families": 0, "all_right": 0}
    for track_id, caption in captions:
        attrs = attributes_by_track[track_id]
        found = matcher.statements(caption)
        for attribute in SINGLE:
            value = truth(attrs, attribute)
            c = counts[attribute]
            c["captions"] += 1
            if attribute in found:
                c["stated"] += 1
                if all(value in values for values in found[attribute]):
                    c["right"] += 1
        true_families = truth(attrs, "families")
        fam["captions"] += 1
        fam["true_families"] += len(true_families)
        if "families" in found:
            named = set()
            for values in found["families"]:
                # A phrase shared by families ("orchestra" → strings) names the true one if it is there.
                named |= (values & true_families) or {sorted(values)[0]}
            fam["stated"] += 1
            fam["named"] += len(named)
            fam["right_names"] += len(named & true_families)
            fam["all_right"] += int(named <= true_families)
    result = {}
    for attribute, c in counts.items():
        result[attribute] = dict(c, stated_rate=c["stated"] / max(c["captions"], 1),
                                 accuracy=c["right"] / c["stated"] if c["stated"] else None)
    result["families"] = dict(fam, stated_rate=fam["stated"] / max(fam["captions"], 1),
                              accuracy=fam["all_right"] / fam["stated"] if fam["stated"] else None,
                              precision=fam["right_names"] / fam["named"] if fam["named"] else None,
                              recall=fam["right_names"] / max(fam["true_families"], 1))
    return result


def load(dataset, split):
    with open(f"{dataset}/dataset_{split}.json") as f:
        entries = json.load(f)
    with open(f"{dataset}/attribute_lexicon.json") as f:
        lexicon = json.load(f)
    return entries, {e["track_id"]: e["attributes"] for e in entries}, lexicon


def format_table(result):
    lines = ["attribute     stated   accuracy   (families: precision / recall of named families)"]
    for attribute in ATTRIBUTES:
        r = result[attribute]
        acc = "—" if r["accuracy"] is None else f"{100 * r['accuracy']:.1f}%"
        extra = ""
        if attribute == "families":
            p = "—" if r["precision"] is None else f"{100 * r['precision']:.1f}%"
            extra = f"   P {p} / R {100 * r['recall']:.1f}%"
        lines.append(f"{attribute:<12}  {100 * r['stated_rate']:5.1f}%   {acc:>7}{extra}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, help="corpus directory (dataset_<split>.json, attribute_lexicon.json)")
    parser.add_argument("--split", default="test")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--predictions", help="[{track_id, caption}] as written by muscaps eval/baseline --out")
    source.add_argument("--references", action="store_true", help="score the split's own reference captions (the ceiling)")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)

    entries, attributes_by_track, lexicon = load(args.dataset, args.split)
    if args.references:
        captions = [(e["track_id"], e["caption"]["raw"]) for e in entries]
    else:
        with open(args.predictions) as f:
            predictions = json.load(f)
        unknown = [p["track_id"] for p in predictions if p["track_id"] not in attributes_by_track]
        if unknown:
            sys.exit(f"{args.predictions}: {len(unknown)} track ids are not in dataset_{args.split}.json (first: {unknown[0]})")
        captions = [(p["track_id"], p["caption"]) for p in predictions]
    result = evaluate(captions, attributes_by_track, lexicon)
    print(format_table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
