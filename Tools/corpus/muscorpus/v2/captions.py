"""Captions of v2 clips, with the vocabulary people use for records, built only from known attributes.

Every phrase states something the generator put there: the genre words come from the style, instrument
words from the parts (amp setting, drum source, synth patch), feature words ("four-on-the-floor kick",
"walking bass", "offbeat skank") from the programmed patterns, "reverb-heavy" from the reverb send,
mood words from mode x tempo band (x style). The clips are instrumental, so no caption mentions vocals;
codec and noise augmentations are not described (they are not musical attributes).
"""
from __future__ import annotations

import random
import re

GENRE = {
    "rock": ["rock", "guitar rock", "rock"], "punk": ["punk rock", "punk", "fast punk rock"],
    "metal": ["heavy metal", "metal", "hard-hitting metal"], "blues": ["blues", "electric blues", "blues"],
    "jazz": ["jazz", "swing jazz", "small-combo jazz"], "funk_soul": ["funk", "funk and soul", "funky soul"],
    "reggae": ["reggae", "roots reggae", "reggae"], "ska": ["ska", "upbeat ska", "ska"],
    "bossa nova": ["bossa nova", "latin bossa nova", "bossa nova"], "salsa": ["salsa", "latin salsa", "afro-cuban salsa"],
    "pop": ["pop", "pop", "radio pop"], "boom bap": ["hip-hop beat", "boom-bap hip-hop", "hip-hop"],
    "trap": ["trap beat", "trap", "hip-hop trap beat"], "house": ["house", "deep house", "house music"],
    "techno": ["techno", "driving techno", "techno"], "trance": ["trance", "uplifting trance", "trance"],
    "drum and bass": ["drum and bass", "drum and bass", "jungle-style drum and bass"],
    "synth-pop": ["synth-pop", "eighties synth-pop", "electro synth-pop"],
    "chiptune": ["chiptune", "8-bit chiptune", "retro video game chiptune"],
    "ambient": ["ambient", "ambient soundscape", "atmospheric ambient"],
    "film score": ["orchestral film score", "cinematic orchestral music", "epic orchestral score"],
    "solo piano": ["solo piano", "solo piano", "classical solo piano"],
    "acoustic guitar": ["acoustic guitar", "acoustic folk", "acoustic guitar"],
}
FEATURE = {
    "four_on_the_floor": ["four-on-the-floor kick", "a steady four-on-the-floor beat"],
    "walking_bass": ["walking bass", "a walking upright bass"], "offbeat_skank": ["offbeat guitar skank", "offbeat skank chords"],
    "boom_bap_beat": ["boom-bap drums", "a dusty boom-bap beat"], "chopped_breakbeat": ["chopped breakbeats", "a fast breakbeat"],
    "two_step_breakbeat": ["fast two-step breakbeat drums", "rapid breakbeat drums"],
    "supersaw_pads": ["supersaw pads", "big supersaw chords"], "synth_pads": ["lush synth pads", "slow evolving synth pads"],
    "acid_bassline": ["a squelchy acid bassline", "resonant acid bass"], "808_bass": ["booming 808 bass", "deep 808 bass"],
    "hi_hat_rolls": ["rolling hi-hats", "skittering hi-hat rolls"], "lofi_vinyl": ["lo-fi vinyl crackle", "dusty vinyl crackle"],
    "double_kick": ["double-kick drumming", "thundering double bass drums"], "palm_muted_riffs": ["palm-muted riffs", "chugging palm-muted guitars"],
    "power_chords": ["power chords", "crunchy power chords"], "guitar_solo": ["a guitar solo", "a lead guitar solo"],
    "swing_feel": ["a swinging ride cymbal", "swing feel"], "twelve_bar_blues": ["a 12-bar blues progression", "12-bar changes"],
    "string_ostinato": ["a driving string ostinato", "urgent string ostinatos"], "timpani": ["timpani", "booming timpani"],
    "brass": ["brass", "swelling brass"], "8_bit_sounds": ["8-bit square waves", "bleepy square-wave leads"],
    "fast_arpeggios": ["fast arpeggios", "rapid chip arpeggios"], "drone": ["a low drone", "droning textures"],
    "piano_stabs": ["piano stabs", "house piano chords"], "offbeat_bass": ["an offbeat bassline", "pumping offbeat bass"],
    "synth_arpeggio": ["a synth arpeggio", "arpeggiated synths"], "hypnotic_loop": ["hypnotic loops", "a hypnotic groove"],
    "one_drop": ["one-drop drums", "a one-drop rhythm"], "steppers_beat": ["a steppers beat", "steppers drums"],
    "deep_bass": ["deep bass", "heavy dub bass"], "horn_section": ["a horn section", "punchy horns"],
    "bossa_rhythm": ["a bossa nova rhythm", "gentle bossa nova groove"], "nylon_guitar": ["nylon-string guitar", "nylon guitar comping"],
    "latin_percussion": ["latin percussion", "congas and timbales"], "piano_montuno": ["piano montuno", "a montuno piano pattern"],
    "catchy_melody": ["a catchy melody", "a hooky lead melody"], "funky_guitar": ["funky rhythm guitar", "choppy funk guitar"],
    "syncopated_bass": ["a syncopated bassline", "slap bass"], "fast_drums": ["fast pounding drums", "frantic drums"],
    "heavy_drums": ["heavy drums", "pounding drums"], "drum_machine": ["a drum machine", "electronic drums"],
    "synth_bass": ["synth bass", "a pulsing synth bass"], "synth_lead": ["a synth lead", "a bright synth lead"],
    "fast_breakbeats": ["breakbeats at 170 bpm", "fast breakbeats"], "sub_bass": ["a reese bass", "rumbling sub bass"],
    "cinematic": ["a cinematic build", "cinematic strings"], "solo_piano": ["expressive piano", "a solo piano"],
    "strummed_guitar": ["strummed acoustic guitar", "strumming acoustic guitar"],
    "fingerpicked_guitar": ["fingerpicked acoustic guitar", "fingerpicking guitar"], "electric_guitar": ["electric guitars", "crunchy electric guitars"],
    "reverb_heavy": ["reverb-heavy textures", "washes of reverb"], "double_tracked_guitars": ["double-tracked guitars", "a wall of guitars"],
    "hammond_organ": ["hammond organ", "a swirling organ"], "shuffle_rhythm": ["a shuffle rhythm", "shuffling drums"], 
}
MOOD = {
    ("minor", "slow"): ["melancholic", "dark", "brooding"], ("minor", "fast"): ["intense", "dark", "driving"],
    ("major", "slow"): ["warm", "mellow", "relaxed"], ("major", "fast"): ["upbeat", "energetic", "bright"],
}
STYLE_MOOD = {"metal": ["aggressive", "heavy", "intense"], "punk": ["raw", "energetic", "rebellious"],
              "ambient": ["calm", "dreamy", "ethereal"], "orchestral": ["epic", "dramatic", "heroic"],
              "chiptune": ["playful", "bouncy", "nostalgic"], "hiphop": ["laid-back", "head-nodding", "chill"]}
TEMPO = {"very slow": "very slow", "slow": "slow", "medium": "mid-tempo", "fast": "fast", "very fast": "very fast"}


def instrument_phrase(inst: dict) -> str:
    name, amp = inst["name"], inst.get("amp")
    if inst["family"] == "guitar" and amp:
        if amp == "high_gain":
            return "heavily distorted electric guitar"
        if amp == "crunch":
            return "overdriven electric guitar"
        return "clean electric guitar" if "electric" not in name else name
    if inst["role"] == "drums":
        src = inst["source"]
        if name == "breakbeat":
            return "breakbeat drums"
        if src.startswith("samplekit") or name == "drum machine":
            return "drum machine"
        if name == "noise-channel drums":
            return "noise drums"
        return "live drums"
    if name in ("supersaw pad", "synth pad", "atmospheric pad"):
        return "synth pads"
    return name


def _mood(a, rng):
    if a["style"] in STYLE_MOOD:
        return rng.choice(STYLE_MOOD[a["style"]])
    band = "slow" if a["tempo_band"] in ("very slow", "slow", "medium") and a["tempo_bpm"] < 100 else "fast"
    return rng.choice(MOOD[(a["mode"] if a["mode"] in ("major", "minor") else "major", band)])


def _genre_key(a):
    sub = a.get("substyle")
    if a["style"] in ("reggae_ska", "latin", "hiphop", "edm", "dnb", "synthpop", "chiptune", "ambient", "orchestral",
                      "piano", "acoustic") and sub:
        return sub
    return a["style"]


def _join(items):
    items = [i for i in items if i]
    # "piano" adds nothing after "expressive piano"
    items = [i for k, i in enumerate(items) if not any(i != j and i in j for j in items[:k] + items[k + 1:])]
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _with(mood, genre, insts):
    rest = [i for i in insts if i not in genre]  # no "solo piano with piano"
    return f"{mood} {genre} with {_join(rest[:3])}" if rest else f"{mood} {genre} piece"


def captions(a: dict, seed: str, n: int) -> list[str]:
    """n distinct captions (n <= 4), each from a different template."""
    rng = random.Random(f"caption|{seed}")
    g = GENRE[_genre_key(a)]
    insts = []
    for inst in a["instruments"]:
        p = instrument_phrase(inst)
        if p not in insts and inst["role"] != "texture":
            insts.append(p)
    rng.shuffle(insts)
    feats = [rng.choice(FEATURE[f]) for f in a["features"] if f in FEATURE]
    # drop "acoustic guitar" when "strummed acoustic guitar" is said anyway (unless nothing would be left)
    insts = [i for i in insts if not any(i in f for f in feats)] or insts
    rng.shuffle(feats)
    if a.get("production", {}).get("reverb_wet", 0) > 0.42 and "reverb_heavy" not in a["features"]:
        feats.append(rng.choice(FEATURE["reverb_heavy"]))
    tempo = TEMPO[a["tempo_band"]]
    templates = [
        lambda: _with(_mood(a, rng).capitalize(), rng.choice(g), insts),
        lambda: f"{tempo.capitalize()} {rng.choice(g)} instrumental featuring {_join((feats + insts)[:2])}",
        lambda: f"{rng.choice(g).capitalize()} track built on {_join((feats + insts)[:3])}",
        lambda: f"{_join(insts[:2]).capitalize()} in a {_mood(a, rng)} {tempo} {rng.choice(g)} tune",
    ]
    order = list(range(len(templates)))
    rng.shuffle(order)
    out = []
    for i in order:
        c = re.sub(r"\s+", " ", templates[i]()).strip()
        c = re.sub(r"\b(\w+) \1\b", r"\1", c)                    # "instrumental instrumental"
        c = re.sub(r"\ba (?!one|uni|eu)([aeiou])", r"an \1", c)     # "a energetic" -> "an energetic"
        c = c[0].upper() + c[1:]
        if c not in out:
            out.append(c)
        if len(out) == n:
            break
    return out


def tokens(caption: str) -> list[str]:
    return re.findall("[a-z0-9]+", caption.lower())


def lexicon() -> dict:
    """Attribute value -> caption phrases that state it (for attribute-accuracy scoring)."""
    return {"genre": GENRE, "feature": FEATURE, "mood": {f"{k[0]}|{k[1]}": v for k, v in MOOD.items()} | STYLE_MOOD,
            "tempo": TEMPO}
