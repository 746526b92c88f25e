"""Captions from exact clip attributes: production-music style, many templates and synonyms.

Every word that names an attribute is drawn from the tables below, and `lexicon()` exports
those tables so evaluation can check attribute accuracy of generated captions (does the
caption name the right instrument family, tempo band, mode, groove ...).
"""
from __future__ import annotations

import re

from . import instruments as INS

TOKEN_RX = re.compile(r"[a-z0-9]+")


def tokenize(raw: str):
    return TOKEN_RX.findall(raw.lower())


TEMPO_WORDS = {
    "very slow": ["very slow", "slow", "languid", "glacial"],
    "slow": ["slow", "unhurried", "leisurely", "slow-paced"],
    "medium": ["mid-tempo", "moderate", "medium-paced", "steady"],
    "fast": ["upbeat", "brisk", "quick", "up-tempo"],
    "very fast": ["fast", "rapid", "racing", "high-speed"],
}
DYN_WORDS = {
    "pp": ["very soft", "hushed", "delicate", "whispering"],
    "p": ["soft", "gentle", "quiet", "subdued"],
    "mp": ["gentle", "mellow", "restrained", "understated"],
    "mf": [],
    "f": ["loud", "bold", "strong", "forthright"],
    "ff": ["very loud", "powerful", "forceful", "thunderous"],
}
PROFILE_WORDS = {"crescendo": ["building", "swelling", "gradually growing"],
                 "decrescendo": ["fading", "receding", "gradually softening"]}
MODE_WORDS = {
    "major": ["in a major key", "in major"], "minor": ["in a minor key", "in minor"],
    "dorian": ["in the dorian mode", "in a minor mode", "with a modal minor flavour"],
    "phrygian": ["in the phrygian mode", "in a minor mode"],
    "mixolydian": ["in the mixolydian mode", "in a major mode", "with a modal major flavour"],
    "lydian": ["in the lydian mode", "in a major mode"],
    "locrian": ["in a minor mode"],
}
PC_WORDS = {"C": "C", "C#": "C sharp", "D": "D", "Eb": "E flat", "E": "E", "F": "F", "F#": "F sharp", "G": "G",
            "Ab": "A flat", "A": "A", "Bb": "B flat", "B": "B"}
METER_WORDS = {
    "duple": ["in duple time", "in two"], "quadruple": ["in common time", "in four"],
    "triple": ["in triple time", "in three", "with a lilting triple feel"],
    "compound": ["in compound time", "with a lilting compound feel", "in six eight"],
}
REGISTER_WORDS = {"low": ["low", "deep", "low-register"], "high": ["high", "bright high-register", "soaring"],
                  "mid": []}
TEXTURE_WORDS = {
    "monophonic": ["unaccompanied", "solo", "single-line", "sparse"],
    "homophonic": ["melodic", "melody-led", "harmonized"],
    "polyphonic": ["polyphonic", "contrapuntal", "interweaving", "intricate"],
}
SPACE_WORDS = {"hall": ["spacious", "reverberant", "airy"], "dry": ["dry", "intimate", "close"], "room": []}
GENRE_WORDS = {
    "rock": ["rock", "driving rock", "guitar rock"], "electronic": ["electronic", "dance", "house", "club"],
    "swing": ["swing", "jazz", "swinging jazz"], "hiphop": ["hip-hop", "boom-bap", "laid-back hip-hop"],
    "latin": ["latin", "bossa nova", "latin jazz"], "waltz": ["waltz"],
    "ballad": ["pop ballad", "ballad", "soft pop"], "folk": ["celtic folk", "folk", "acoustic folk"],
}
CATEGORY_GENRE = {
    "folk": ["folk", "traditional"], "chorale": ["sacred", "baroque"], "polyphony": ["early music", "sacred"],
    "classical": ["classical", "chamber"], "midi": ["video game", "game soundtrack"],
}
ERA_WORDS = {
    "baroque": ["baroque"], "renaissance": ["renaissance", "early music"], "medieval": ["medieval"],
    "classical": ["classical-era", "classical"], "romantic": ["romantic", "nineteenth-century"],
    "ragtime": ["ragtime", "old-time ragtime"], "contemporary": ["modern"], "traditional": ["traditional"],
}
STYLE_WORDS = {
    "irish": ["irish", "celtic", "irish traditional"], "scottish": ["scottish", "celtic", "highland"],
    "german": ["german", "central european"], "chinese": ["chinese", "east asian", "pentatonic"],
    "fiddle": ["traditional fiddle", "old-time", "celtic"], "english": ["english", "english country"],
    "american": ["american", "old-time american"], "lorraine": ["french", "european"],
    "luxembourg": ["luxembourgish", "european"], "game": ["video game", "game soundtrack", "retro game"],
}
FORM_WORDS = {
    "reel": ["reel"], "jig": ["jig"], "slip jig": ["slip jig"], "hornpipe": ["hornpipe"],
    "strathspey": ["strathspey"], "waltz": ["waltz"], "polka": ["polka"], "march": ["march"],
    "clog dance": ["clog dance"], "fling": ["highland fling"], "air": ["air", "slow air"],
    "set dance": ["set dance"], "children's song": ["children song", "nursery tune"], "ballad": ["folk ballad"],
    "fife tune": ["fife tune"], "chorale": ["chorale", "hymn", "chorale setting"],
    "mass": ["mass movement", "mass setting", "sacred piece"], "madrigal": ["madrigal"], "chanson": ["chanson"],
    "trecento": ["medieval song", "trecento piece"], "motet": ["motet"], "string quartet": ["quartet movement"],
    "piano sonata": ["sonata movement"], "ragtime": ["rag", "ragtime piece"], "art song": ["art song", "lied"],
    "mazurka": ["mazurka"], "aria": ["aria"], "hymn": ["hymn"], "song": ["song"],
}
GENERIC_NOUNS = ["piece", "tune", "track", "cue", "theme"]
GROOVE_NOUNS = ["groove", "track", "tune", "cue", "number"]

MOODS = {
    ("minor", "slow"): ["melancholic", "wistful", "sombre", "mournful", "reflective", "brooding", "sad"],
    ("minor", "medium"): ["mysterious", "pensive", "haunting", "dark", "bittersweet"],
    ("minor", "fast"): ["urgent", "restless", "tense", "dramatic", "stormy"],
    ("major", "slow"): ["peaceful", "tender", "serene", "calm", "warm", "nostalgic"],
    ("major", "medium"): ["pleasant", "cheerful", "easygoing", "relaxed", "sunny", "warm"],
    ("major", "fast"): ["joyful", "energetic", "lively", "playful", "festive", "bright"],
}
GROOVE_MOODS = {
    "rock": ["driving", "energetic", "gritty", "punchy"], "electronic": ["pulsing", "hypnotic", "energetic"],
    "hiphop": ["laid-back", "chilled", "head-nodding"], "swing": ["swinging", "jazzy", "easygoing"],
    "latin": ["breezy", "sultry", "relaxed"], "waltz": ["lilting", "elegant", "graceful"],
    "ballad": ["heartfelt", "emotional", "tender"], "folk": ["rustic", "spirited", "jaunty"],
}

ROLE_ADJ = {
    "strings": {"soft": ["warm", "lush", "tender"], "loud": ["sweeping", "soaring", "lush"]},
    "brass": {"soft": ["warm", "mellow"], "loud": ["bold", "majestic", "blazing"]},
    "woodwind": {"soft": ["airy", "lyrical", "breathy"], "loud": ["bright", "lyrical"]},
    "guitar": {"soft": ["gentle", "warm"], "loud": ["chugging", "crunchy"]},
    "bass": {"soft": ["warm", "round"], "loud": ["punchy", "deep", "driving"]},
    "keyboard": {"soft": ["gentle", "mellow", "delicate"], "loud": ["rolling", "bright"]},
    "organ": {"soft": ["solemn", "stately"], "loud": ["majestic", "stately"]},
    "synth": {"soft": ["shimmering", "warm", "dreamy"], "loud": ["pulsing", "bright", "buzzy"]},
    "voice": {"soft": ["ethereal", "serene", "angelic"], "loud": ["radiant", "full-voiced"]},
    "mallet": {"soft": ["delicate", "twinkling"], "loud": ["bright", "sparkling"]},
    "plucked": {"soft": ["delicate", "bright"], "loud": ["twangy", "bright"]},
    "harp": {"soft": ["rippling", "delicate"], "loud": ["rippling", "bright"]},
    "accordion": {"soft": ["wheezing", "gentle"], "loud": ["cheerful", "lively"]},
}
KEY_ADJ = {
    "nylon_guitar": {"soft": ["gentle", "warm", "fingerpicked"], "loud": ["strummed", "bright"]},
    "steel_guitar": {"soft": ["gentle", "fingerpicked"], "loud": ["strummed", "jangly", "bright"]},
    "jazz_guitar": {"soft": ["mellow", "warm"], "loud": ["swinging", "warm"]},
    "clean_guitar": {"soft": ["clean", "chiming"], "loud": ["jangly", "chiming"]},
    "timpani": {"soft": ["rolling"], "loud": ["thundering", "rolling"]},
    "drawbar_organ": {"soft": ["warm", "swirling"], "loud": ["gritty", "swirling"]},
    "fiddle": {"soft": ["sweet", "lilting"], "loud": ["lively", "spirited"]},
}
DRUM_WORDS = {
    "rock": {"soft": ["steady drums", "rock drums"], "loud": ["pounding drums", "driving drums", "punchy drums"]},
    "electronic": {"soft": ["four-on-the-floor kick", "electronic beat"],
                   "loud": ["thumping kick drum", "pulsing beat", "four-on-the-floor beat"]},
    "hiphop": {"soft": ["laid-back beat", "boom-bap drums"], "loud": ["crisp boom-bap drums", "hard-hitting beat"]},
    "swing": {"soft": ["brushed drums", "ride cymbal"], "loud": ["swinging ride cymbal", "jazz drums"]},
    "latin": {"soft": ["shaker and rim clicks", "light latin percussion"], "loud": ["latin percussion"]},
    "waltz": {"soft": ["light drums", "brushed drums"], "loud": ["drums"]},
    "ballad": {"soft": ["soft drums", "gentle drums"], "loud": ["steady drums"]},
    "folk": {"soft": ["hand drum", "frame drum"], "loud": ["bodhran", "stomping hand drums"]},
    "none": {"soft": ["drums", "light percussion"], "loud": ["drums", "punchy percussion"]},
}
ACCOMP_WORDS = {
    "pad": ["warm pads", "lush pads", "sustained chords"], "bass": ["a bass line", "bass"],
    "harmony": ["chords", "gentle chords", "accompaniment"],
}


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" and not word.lower().startswith(("uni", "eu", "one")) else "a"


PLURALS = {"strings", "voices", "pipes", "bells", "chimes", "pads", "drums", "bagpipes", "oohs", "keys", "synths",
           "winds", "woodwinds", "guitars", "vibes", "timpani"}


def _plural(phrase: str) -> bool:
    return phrase.split()[-1] in PLURALS


def _cap(s: str) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    return s[:1].upper() + s[1:]


def _join(items):
    items = [i for i in items if i]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


class Ctx:
    def __init__(self, a: dict, rng):
        self.a = a
        self.rng = rng
        self.loud = a["dynamics"] in ("f", "ff") or a.get("groove") in ("rock", "electronic")
        self.band = {"very slow": "slow", "slow": "slow", "medium": "medium", "fast": "fast",
                     "very fast": "fast"}[a["tempo_band"]]
        self.modec = a["mode_class"] if a["mode_class"] in ("major", "minor") else "major"

    def pick(self, xs):
        return xs[self.rng.randrange(len(xs))] if xs else ""

    def mood(self, exclude=()):
        pool = list(MOODS[(self.modec, self.band)])
        g = self.a.get("groove")
        if g and g != "none":
            pool += GROOVE_MOODS[g] * 2
        if self.a["dynamics"] in ("pp", "p"):
            pool += ["gentle", "delicate", "intimate"]
        elif self.a["dynamics"] in ("f", "ff"):
            pool += ["powerful", "bold"] + (["triumphant"] if self.modec == "major" else ["dramatic"])
        pool = [p for p in pool if p not in exclude]
        return self.pick(pool)

    def tempo(self):
        return self.pick(TEMPO_WORDS[self.a["tempo_band"]])

    def dyn(self):
        prof = self.a.get("dynamics_profile")
        if prof in PROFILE_WORDS and self.rng.random() < 0.5:
            return self.pick(PROFILE_WORDS[prof])
        return self.pick(DYN_WORDS.get(self.a["dynamics"], []))

    def key(self):
        m = self.a["mode"]
        if self.rng.random() < 0.15 and m in ("major", "minor"):
            return f"in {PC_WORDS.get(self.a['tonic'], self.a['tonic'])} {m}"
        return self.pick(MODE_WORDS.get(m, MODE_WORDS["major"]))

    def meter(self):
        return self.pick(METER_WORDS.get(self.a["meter_class"], []))

    def register(self):
        return self.pick(REGISTER_WORDS.get(self.a["register"], []))

    def texture(self):
        return self.pick(TEXTURE_WORDS.get(self.a["texture"], []))

    def space(self):
        return self.pick(SPACE_WORDS.get(self.a["space"], []))

    def genre(self):
        g = self.a.get("groove", "none")
        if g != "none":
            return self.pick(GENRE_WORDS[g])
        if self.a["arrangement"] == "ambient":
            return self.pick(["ambient", "ambient electronic"])
        return self.pick(CATEGORY_GENRE.get(self.a["category"], ["instrumental"]))

    def style(self):
        src = self.a["source"]
        opts = list(STYLE_WORDS.get(src.get("style") or "", []))
        opts += ERA_WORDS.get(src.get("era") or "", []) if src.get("era") != "traditional" or not opts else []
        return self.pick(opts) if opts else self.pick(["traditional"] if self.a["category"] == "folk" else [""])

    def form(self, groove_noun=False):
        src = self.a["source"]
        f = src.get("form")
        if groove_noun and self.a.get("groove", "none") != "none":
            return self.pick(GROOVE_NOUNS)
        opts = list(FORM_WORDS.get(f or "", []))
        if self.a["category"] == "folk" and not opts:
            opts = ["folk tune", "folk melody", "traditional tune"] + (
                ["folk song"] if src.get("collection") == "essenFolksong" else [])
        if self.a["category"] == "midi":
            opts = ["game tune", "video game track", "game theme"]
        if self.a.get("groove") == "waltz" or (self.a["meter_class"] == "triple" and f == "waltz"):
            opts = opts + ["waltz"]
        if self.rng.random() < 0.3 or not opts:
            opts = opts + GENERIC_NOUNS
        return self.pick(opts)

    def inst_name(self, inst, adj=True):
        if inst["name"] == "drums":
            g = self.a.get("groove", "none")
            return self.pick(DRUM_WORDS.get(g, DRUM_WORDS["none"])["loud" if self.loud else "soft"])
        if inst["program"] is None:
            return "percussion"
        phrases = INS.info(inst["program"])[3]
        name = self.pick(phrases[:2] if len(phrases) > 1 else phrases)
        if inst["name"] == "timpani":
            return "timpani"
        if adj and self.rng.random() < 0.35:
            table = KEY_ADJ.get(inst["name"]) or ROLE_ADJ.get(inst["family"])
            if table:
                ad = self.pick(table["loud" if self.loud else "soft"])
                if ad and ad not in name:
                    return f"{ad} {name}"
        if inst["role"] == "bass" and self.a.get("groove") == "swing" and inst["family"] == "bass" and self.rng.random() < 0.6:
            return "walking bass"
        if inst["role"] == "pad" and inst["family"] == "synth" and self.rng.random() < 0.5:
            return self.pick(["warm pads", "synth pads", "ambient pads"])
        return name

    def lead(self):
        ins = [i for i in self.a["instruments"] if i["role"] == "melody"] or self.a["instruments"]
        return ins[0]

    def others(self, k=2):
        lead = self.lead()
        rest = [i for i in self.a["instruments"] if i is not lead and i["name"] != lead["name"]]
        # drums first for bands (they define the style), then bass/harmony
        rest.sort(key=lambda i: (i["name"] != "drums", {"harmony": 0, "pad": 1, "bass": 2, "melody": 3,
                                                       "drums": 0}.get(i["role"], 4)))
        return rest[:k]

    def inst_list(self, k=3, adj=True):
        seen, out = set(), []
        for i in [self.lead()] + self.others(k):
            nm = self.inst_name(i, adj)
            base = nm.split()[-1]
            if nm in seen or base in seen:
                continue
            seen.add(nm)
            seen.add(base)
            out.append(nm)
            if len(out) >= k:
                break
        return out

    def ensemble(self):
        a = self.a
        ens = a["ensemble"]
        insts = a["instruments"]
        fams = {i["family"] for i in insts}
        g = a.get("groove", "none")
        if a["arrangement"] == "ambient":
            return self.pick(["synths and voices", "ambient synth textures", "synth choir and pads"])
        if a["arrangement"] == "folk_band":
            size = {"duo": "duo", "trio": "trio", "quartet": "quartet"}.get(ens, "group")
            return self.pick([f"folk {size}", f"trad {size}", "folk group", "folk ensemble"])
        if ens == "solo":
            lead = self.lead()
            if lead["family"] == "voice":
                return self.pick(["solo voice", "a lone voice"])
            return "solo " + self.inst_name(lead, adj=False)
        if ens == "choir":
            if fams == {"voice"}:
                return self.pick(["choir", "a cappella choir", "mixed choir", "vocal ensemble", "choral ensemble"])
            return self.pick(["choir and ensemble", "voices and instruments"])
        if ens == "orchestra":
            return self.pick(["orchestra", "full orchestra", "symphony orchestra", "orchestral ensemble"])
        if ens == "band":
            if g == "none":
                return self.pick(["band", "small band"])
            return self.pick({"rock": ["rock band", "band"], "electronic": ["synths and drum machines",
                                                                            "synths and beats"],
                              "hiphop": ["drums, bass and keys", "beat and keys"], "swing": ["jazz combo", "swing band", "jazz band"],
                              "latin": ["latin band", "bossa nova combo"], "waltz": ["small band", "cafe band"],
                              "ballad": ["pop band", "band"], "folk": ["folk band", "celtic band", "trad band"]}[g])
        if len(fams) == 1:
            fam = next(iter(fams))
            famword = {"strings": "string", "brass": "brass", "woodwind": "woodwind", "voice": "vocal",
                       "keyboard": "keyboard", "synth": "synth", "guitar": "guitar"}.get(fam)
            if famword:
                noun = {"duo": "duo", "trio": "trio", "quartet": "quartet"}.get(ens, "ensemble")
                return f"{famword} {noun}"
        names = [self.inst_name(i, adj=False) for i in insts]
        if ens == "duo" and len(names) == 2:
            return self.pick([f"{names[0]} and {names[1]} duo", f"duo of {names[0]} and {names[1]}"])
        if {"woodwind", "strings"} >= fams and "woodwind" in fams and self.rng.random() < 0.5:
            return "early music consort" if any(i["name"] == "recorder" for i in insts) else "chamber ensemble"
        return self.pick({"trio": ["chamber trio", "trio"], "quartet": ["chamber quartet", "quartet"]}.get(
            ens, ["chamber ensemble", "small ensemble"]))


# ---- templates: each returns a raw caption or None if it does not apply

def t_mood_ens_form_key(c):
    return f"{c.mood()} {c.ensemble()} {c.form()} {c.key()}"


def t_groove_with(c):
    if c.a.get("groove", "none") == "none":
        return None
    l = c.inst_list(3)
    return f"{c.mood()} {c.genre()} {c.pick(GROOVE_NOUNS)} with {_join(l)}"


def t_style_form_played(c):
    st = c.style()
    return f"{c.tempo()} {st} {c.form()} {c.pick(['played by', 'performed by', 'for'])} {c.ensemble()}"


def t_ens_performing(c):
    f = c.form()
    m = c.mood()
    return f"{c.ensemble()} {c.pick(['performing', 'playing'])} {_a(m)} {m} {c.style()} {f}"


def t_two_moods(c):
    m1 = c.mood()
    m2 = c.mood(exclude=(m1,))
    return f"{m1} and {m2} {c.form()} for {c.ensemble()}"


def t_lead_over(c):
    others = c.others(2)
    if not others:
        return None
    lead = c.inst_name(c.lead())
    acc = _join([c.inst_name(i) for i in others])
    t = c.tempo()
    g = c.genre()
    verb = ['lead', 'carry'] if _plural(lead) else ['leads', 'carries']
    return f"{lead} {c.pick(verb)} {_a(t)} {t} {g} {c.pick(GROOVE_NOUNS + ['piece'])} over {acc}"


def t_texture_key_meter(c):
    m = c.meter()
    tx = c.texture()
    base = f"{c.mood()} {tx} {c.form()} {c.key()}"
    return base + (f" {m}" if m else "")


def t_dyn_register_melody(c):
    d = c.dyn() or c.mood()
    r = c.register()
    others = c.others(2)
    lead = c.inst_name(c.lead(), adj=False)
    if others:
        return f"{d} {r} {lead} melody over {_join([c.inst_name(i) for i in others])}"
    return f"{d} {r} {lead} melody {c.key()}"


def t_reimagined(c):
    if c.a.get("groove", "none") == "none" or c.a["category"] == "midi":
        return None
    st = c.style()
    f = c.form()
    g = c.genre()
    return f"{st} {f} {c.pick(['reimagined as', 'arranged as', 'turned into'])} {_a(g)} {g} {c.pick(GROOVE_NOUNS)}"


def t_tempo_mood_era_featuring(c):
    return f"{c.tempo()} {c.mood()} {c.style()} {c.form()} featuring {_join(c.inst_list(3))}"


def t_short(c):
    return f"{c.mood()} {c.ensemble()} {c.form(groove_noun=True)}"


def t_a_with(c):
    m = c.mood()
    return f"{_a(m)} {m} {c.form()} {c.key()} with {_join(c.inst_list(2))}"


def t_space(c):
    sp = c.space()
    if not sp:
        return None
    return f"{sp} {c.texture()} {c.genre()} {c.form()} for {c.ensemble()}"


def t_beat(c):
    if c.a.get("groove") not in ("hiphop", "electronic", "rock", "latin"):
        return None
    return f"{c.mood()} {c.tempo()} {c.genre()} beat with {_join(c.inst_list(2))}"


def t_inst_play(c):
    l = c.inst_list(3, adj=False)
    m = c.mood()
    verb = ['play', 'perform'] if len(l) > 1 or _plural(l[0]) else ['plays', 'performs']
    return f"{_join(l)} {c.pick(verb)} {_a(m)} {m} {c.style()} {c.form()}"


def t_meter_dance(c):
    m = c.meter()
    if not m:
        return None
    return f"{c.tempo()} {c.genre()} {c.form()} {m} {c.pick(['for', 'played by'])} {c.ensemble()}"


TEMPLATES = [t_mood_ens_form_key, t_groove_with, t_style_form_played, t_ens_performing, t_two_moods, t_lead_over,
             t_texture_key_meter, t_dyn_register_melody, t_reimagined, t_tempo_mood_era_featuring, t_short, t_a_with,
             t_space, t_beat, t_inst_play, t_meter_dance]


def _clean(s: str) -> str:
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"\b(\w+) \1\b", r"\1", s)  # "folk folk"
    s = re.sub(r"\b(an?) (an?) ", r"\2 ", s)
    return _cap(s)


def make_captions(attrs: dict, rng, n: int, used: set, min_tok=3, max_tok=22, tries=40):
    """n distinct captions from distinct templates; avoids captions already in `used` when it can."""
    order = list(range(len(TEMPLATES)))
    rng.shuffle(order)
    out, fams = [], set()
    for attempt in range(tries * max(1, n)):
        ti = order[attempt % len(order)]
        if ti in fams and len(fams) < len(TEMPLATES) and attempt < len(order):
            continue
        c = Ctx(attrs, rng)
        raw = TEMPLATES[ti](c)
        if not raw:
            continue
        raw = _clean(raw)
        toks = tokenize(raw)
        if not (min_tok <= len(toks) <= max_tok):
            continue
        content = [t for t in toks if len(t) > 3]
        if len(content) != len(set(content)):
            continue  # "gentle ... gentle", "folk ... folk"
        low = raw.lower()
        if low in (o.lower() for o in out):
            continue
        if low in used and attempt < tries * max(1, n) - n:
            continue
        out.append(raw)
        fams.add(ti)
        if len(out) == n:
            break
    return out


def lexicon() -> dict:
    """Attribute value -> caption phrases that state it (for attribute-accuracy evaluation)."""
    fam = {k: sorted(set(v)) for k, v in INS.FAMILIES.items()}
    for prog, (key, f, _, phrases) in INS.GM.items():
        fam.setdefault(f, [])
        fam[f] = sorted(set(fam[f]) | set(phrases))
    for g, d in DRUM_WORDS.items():
        fam["drums"] = sorted(set(fam["drums"]) | set(d["soft"]) | set(d["loud"]))
    fam["strings"] = sorted(set(fam["strings"]) | {"string quartet", "string trio", "string duo", "string ensemble",
                                                     "orchestra", "orchestral"})
    fam["voice"] = sorted(set(fam["voice"]) | {"choir", "a cappella", "vocal ensemble", "solo voice"})
    return {
        "tokenizer": "lowercase, split on anything that is not [a-z0-9]",
        "families": fam,
        "tempo_band": TEMPO_WORDS,
        "mode": MODE_WORDS,
        "mode_class": {"major": ["major"], "minor": ["minor"]},
        "dynamics": DYN_WORDS,
        "dynamics_profile": PROFILE_WORDS,
        "meter_class": METER_WORDS,
        "register": REGISTER_WORDS,
        "texture": TEXTURE_WORDS,
        "space": SPACE_WORDS,
        "groove": GENRE_WORDS,
        "ensemble": {"solo": ["solo"], "choir": ["choir", "a cappella", "vocal ensemble", "choral ensemble"],
                     "orchestra": ["orchestra", "orchestral"], "band": ["band", "combo"],
                     "duo": ["duo"], "trio": ["trio"], "quartet": ["quartet"], "ensemble": ["ensemble", "consort"]},
        "era": ERA_WORDS,
        "style": STYLE_WORDS,
        "form": FORM_WORDS,
        "moods_by_mode_and_tempo": {f"{k[0]}/{k[1]}": v for k, v in MOODS.items()},
    }
