#!/usr/bin/env python3
"""Golden fixtures for the CaptionMetrics module, produced by the reference itself: pycocoevalcap 1.2.

Writes
  Tests/CaptionMetricsTests/Fixtures/golden.json     ~50 music-caption cases: inputs, PTB tokenization,
                                                      Bleu_1..4, ROUGE_L, CIDEr (CIDEr-D), METEOR — corpus
                                                      and per case — plus two sub-corpora (3 cases, 1 case)
  Tests/CaptionMetricsTests/Fixtures/tokenizer.json  ~1,600 extra lines (hand-picked traps + seeded fuzz)
                                                      through the real Stanford PTBTokenizer, token for token,
                                                      and an exhaustive probe of every BMP character

Run from the repository root with the metrics venv (see Tools/README.md, "Caption metrics"):
  .venv-metrics/bin/python Tools/metrics/make_golden.py

Everything is computed the way pycocoevalcap's COCOEvalCap does it: references and candidates are tokenized
in two batches (one caption per line, in the order of the dict, which here is sorted track id), then each
scorer gets the tokenized strings. The tests read these files; they need no Python and no Java (except the
METEOR test, which runs the same jar as here when it can find it).
"""

import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import tempfile

import pycocoevalcap
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "Tests", "CaptionMetricsTests", "Fixtures")
PKG = list(pycocoevalcap.__path__)[0]  # a namespace package: no __init__.py, so no __file__
CORENLP_JAR = os.path.join(PKG, "tokenizer", "stanford-corenlp-3.4.1.jar")
METEOR_JAR = os.path.join(PKG, "meteor", "meteor-1.5.jar")
PARAPHRASE = os.path.join(PKG, "meteor", "data", "paraphrase-en.gz")

# ---------------------------------------------------------------------------------------------------------
# The cases. Ids sort in this order (c01 < c02 < ...), so the tokenizer batches follow the list. Each case
# names the trap it is there for; neighbouring lines matter (the PTB lexer looks across line ends: c21).
# ---------------------------------------------------------------------------------------------------------
CASES = [
    # plain captions
    ("A soft piano melody with gentle strings.",
     ["A gentle piano melody accompanied by soft strings.",
      "Soft piano and strings play a slow, calm tune.",
      "This is a calm instrumental piece featuring piano and a string section."]),
    # very short candidate: Bleu_3/4 live on the 1e-15 / 1e-9 constants
    ("soft piano",
     ["A soft solo piano piece.", "Gentle piano music, played softly."]),
    # clitics: it's, isn't
    ("It's an upbeat pop song with a catchy chorus, isn't it?",
     ["This is an upbeat pop song; it's got a really catchy chorus.",
      "An energetic pop track with a catchy, sing-along chorus.",
      "Upbeat pop music with female vocals and a catchy hook."]),
    # R&B (one token) vs r&b (three)
    ("A smooth R&B track with a laid-back groove.",
     ["Smooth r&b with a laid back groove and soulful vocals.",
      "This R&B song has a slow, smooth groove.",
      "A laid-back rnb/soul tune."]),
    # 90's, '90s, 90's-style
    ("A 90's-style hip-hop beat with boom-bap drums.",
     ["A hip-hop instrumental in the style of the '90s.",
      "Boom bap drums and a jazzy sample, very 90's.",
      "An old-school hip hop beat from the 1990s."]),
    # $5, 50%, 100%!
    ("Cheap $5 keyboard sound, 50% reverb and 100% fun!",
     ["A cheap-sounding keyboard drenched in reverb.",
      "Lo-fi keyboard with lots of reverb; it sounds like a $5 toy.",
      "Toy keyboard melody with heavy reverb (about 50% wet)."]),
    # brackets: -lrb- -rrb- -lsb- -rsb- -lcb- -rcb- survive lowercased
    ("[Upbeat acoustic guitar tune] (instrumental) {live}",
     ["An upbeat acoustic guitar tune, instrumental.",
      "Acoustic guitar strumming (no vocals) recorded live.",
      "A live recording of a cheerful acoustic guitar piece [instrumental]."]),
    # slashes: rock/pop, 4/4
    ("A rock/pop song in 4/4 time at 120 bpm.",
     ["A pop/rock tune in 4/4 with a steady beat.",
      "Rock and pop crossover, common time, 120 BPM.",
      "A mid-tempo rock song with a 4/4 drum beat."]),
    # accented letters, em dash inside a sentence
    ("A café-style jazz piece with a naïve, dreamy feel — très chic.",
     ["Café jazz with brushed drums and upright bass.",
      "A dreamy, naïve jazz tune in a Parisian café style.",
      "Light jazz, TRÈS ÉLÉGANT, with accordion."]),
    # emoji are untokenizable: deleted, and they split words
    ("🎸 heavy metal riffs 🤘 with double-kick drums🔥and screams",
     ["Heavy metal with fast riffs and double kick drums.",
      "A metal song: distorted guitars, double-bass drumming, aggressive vocals."]),
    # straight and curly quotes
    ("\"Dreamy\" synth pads and a 'lo-fi' beat, like a \"chill\" playlist.",
     ["A lo-fi hip hop beat with dreamy synth pads.",
      "\u201cChill\u201d lo-fi music with soft synths and vinyl crackle.",
      "A relaxing beat you'd hear on a 'study' playlist."]),
    # ellipses: ... … and . . .
    ("Slow ambient drones... then silence\u2026",
     ["A slow ambient drone piece that fades to silence.",
      "Ambient soundscape with long, slow drones . . . very minimal.",
      "Dark ambient drones."]),
    # dashes: -- — – and a lone -
    ("A fast drum-and-bass track -- intense \u2014 and relentless \u2013 breakbeats",
     ["Fast drum and bass with intense breakbeats.",
      "A relentless DnB track\u2014heavy bass, fast breaks.",
      "Drum & bass at 174 bpm - energetic and intense."]),
    # multiple punctuation tokens survive: !!! ?! !!
    ("What a banger!!! Loud drums?! Big bass!!",
     ["A loud electronic track with big drums and heavy bass.",
      "An energetic EDM banger with a massive bass drop!",
      "Loud, bass-heavy dance music."]),
    # empty-ish candidate: tokenizes to nothing (emoji only)
    ("\U0001F3B5\U0001F3B6",
     ["A cheerful children's song with xylophone.", "A happy tune for kids."]),
    # brackets around an ellipsis: "-lrb- -rrb-"; one reference tokenizes to nothing
    ("(\u2026)",
     ["A short silence.", "\u2026", "Nothing but room tone (silence)."]),
    # clitics: don't, won't, can't, y'all, doesn't
    ("They don't stop: the drummer won't quit and the singer can't stop, y'all.",
     ["A high-energy rock song that doesn't let up.",
      "Nonstop rock with relentless drums; the band won't slow down.",
      "The singer's voice is raw and powerful."]),
    # gonna / wanna / cannot are split
    ("You're gonna wanna dance to this funky disco tune, cannot sit still",
     ["A funky disco tune that makes you want to dance.",
      "Danceable disco with funky bass and strings.",
      "A groovy funk track you can't help dancing to.",
      "Disco; you cannot sit still."]),
    # #1, C#, piano+strings, a+b
    ("A #1 hit in C# minor with piano+strings and a+b form",
     ["A hit ballad in c# minor featuring piano and strings.",
      "Piano and strings play a chart-topping ballad.",
      "A sad song in a minor key."]),
    # numbers: 3.5, 1,000, 3:45, U.K.
    ("A 3.5-minute track at 1,000 watts, 3:45 long, from the U.K.",
     ["A UK garage track, about three and a half minutes long.",
      "British dance music from the U.K. scene.",
      "A 2-step garage tune lasting 3:45."]),
    # a single letter + '.' at a line end, next line "A ...": the lexer splits "a." only then (next case
    # starts with "A " in both batches)
    ("A lullaby in the key of a.",
     ["A gentle lullaby sung in the key of a.", "A soft lullaby for babies.", "Calm music box melody in E."]),
    # etc. before a capital / mid-sentence
    ("A full band: guitars, drums, bass, etc. All loud.",
     ["A full band with guitars, drums, bass etc. and keys.",
      "Rock band instrumentation: guitars, drums and bass, etc.",
      "A live band plays."]),
    # one-word candidate
    ("jazz",
     ["Smooth jazz with saxophone.", "A jazz combo plays a relaxed tune.", "Jazz."]),
    # two words, one reference
    ("saxophone solo",
     ["A saxophone solo over a slow jazz groove."]),
    # repeated word: clipped counts
    ("piano piano piano piano piano",
     ["A piano piece.", "Solo piano music with repeated notes, piano and more piano."]),
    # long candidate
    ("This is a long, slowly building post-rock instrumental that starts with a quiet, reverb-heavy clean "
     "guitar figure, adds a melodic bass line and soft brushed drums, then gradually swells into a wall of "
     "distorted guitars, crashing cymbals and soaring strings before fading back into silence.",
     ["A post-rock instrumental that builds from quiet clean guitars to a loud climax.",
      "Slowly building instrumental rock with reverb-drenched guitars and strings.",
      "An epic crescendo: clean guitar, bass, drums, then distortion and strings.",
      "A cinematic post-rock piece that swells and then fades out.",
      "Quiet guitar intro, building drums, huge distorted finale."]),
    # all caps: lowercased after tokenization
    ("LOUD PUNK ROCK WITH SHOUTED VOCALS AND FAST GUITARS",
     ["Loud punk rock with shouted vocals and fast guitars.",
      "A fast punk song.",
      "Aggressive punk rock, shouting vocalist, distorted guitars."]),
    # candidate equal to a reference
    ("A mellow bossa nova with nylon-string guitar and soft vocals.",
     ["A mellow bossa nova with nylon-string guitar and soft vocals.",
      "Brazilian bossa nova, gentle guitar and breathy singing."]),
    # Greek (final sigma when lowercased), Cyrillic, Japanese
    ("A Greek folk dance (ΧΟΡΟΣ) with bouzouki; Русская песня; 日本の音楽",
     ["Traditional Greek folk music with bouzouki.", "A folk dance song from Greece, ΧΟΡΟΣ."]),
    # tab, multiple spaces, no-break space
    ("A  slow\tblues   shuffle\u00a0in E with harmonica",
     ["A slow blues shuffle with harmonica.",
      "Twelve-bar blues in E, slow tempo, harmonica solo."]),
    # "1 1/2" is ONE token with a no-break space inside: BLEU/CIDEr split it, ROUGE does not; ½ -> 1/2
    ("A 1 1/2 minute jingle with \u00bd note chords",
     ["A short jingle, about a minute and a half long.",
      "A 90-second advertising jingle with half-note chords, 1 1/2 minutes."]),
    # curly apostrophes: it’s -> it 's, doesn’t -> does n't, ’90s kept
    ("It\u2019s a \u201990s rock anthem that doesn\u2019t quit",
     ["A 90s rock anthem with big guitars.", "It's an anthemic '90s alternative rock song."]),
    # &amp; entity, SGML-like tags are tokens
    ("Rock &amp; roll with a <b>bold</b> sax",
     ["Classic rock & roll with a bold saxophone.", "Rock 'n' roll with sax."]),
    # hashtags, mentions, a URL
    ("#lofi #chill beats by @beatmaker, see www.example.com",
     ["Chill lo-fi beats.", "Lo-fi hip hop for studying, #lofi."]),
    # currency symbols: € -> $, £ -> #, ¢ -> cents
    ("\u20ac10 synth, \u00a35 guitar, \u00a250 kazoo, \u00a5100 flute",
     ["A cheap synth and a guitar.", "Toy instruments: kazoo and flute."]),
    # em dashes without spaces, 3/4
    ("A waltz\u2014in 3/4\u2014with strings",
     ["A waltz in 3/4 time with strings.", "A string orchestra plays a slow waltz."]),
    # smileys
    (":) happy tune :-D",
     ["A happy, bouncy tune.", "Cheerful music :)"]),
    # abbreviations keep their period: Mr. St. vs. Dr.
    ("Mr. Smith's band plays at St. James' Hall vs. the Dr. Dre crew",
     ["A live band in a hall.", "Mr. Smith's big band swing."]),
    # hyphenated compounds stay whole
    ("A well-known, up-to-date, state-of-the-art electro-pop anthem",
     ["An electro-pop anthem.", "A modern electropop song with a big chorus."]),
    # e.g. / i.e.
    ("Layered synths, e.g. pads and arps, i.e. a retro sound",
     ["Retro synthwave with pads and arpeggios.", "80s-style synths, e.g. Juno pads."]),
    # single-word candidate, five references
    ("drums",
     ["Solo drums.", "A drum solo.", "Drums and percussion.", "Just drums, no other instruments.", "Drumming."]),
    # rock'n'roll, 'n', o'clock, ol'
    ("Rock'n'roll and rock 'n' roll at nine o'clock, ol' blues",
     ["Old-time rock and roll.", "Rock 'n' roll with a bluesy feel."]),
    # C++ / f#
    ("the c# scale and f# chord on a C++ synth",
     ["A synth plays a scale in C#.", "Electronic music in F# minor."]),
    # digits mixed with words and punctuation
    ("Track 2 of 10: intro/outro, 2-3 minutes, 5x repeated",
     ["A short intro track.", "An intro that repeats five times."]),
    # question and answer in one caption
    ("Is this jazz? Yes, it's bebop.",
     ["Fast bebop jazz with saxophone and trumpet.", "Bebop: fast, virtuosic jazz."]),
    # leading / trailing spaces
    ("   a calm acoustic ballad   ",
     ["A calm acoustic ballad.", "  Soft acoustic ballad with vocals. "]),
    # lowercase r&b in the candidate (-> r & b) against R&B references (-> r&b)
    ("slow r&b jam with a lot of soul",
     ["A slow R&B jam.", "Soulful R&B slow jam with smooth vocals."]),
    # duplicated references
    ("An orchestral film score with brass and timpani.",
     ["Epic orchestral film music.", "Epic orchestral film music.", "A cinematic score with brass and timpani."]),
    # a reference that is emoji only (tokenizes to nothing) next to real ones
    ("Reggae with offbeat guitar skanks and a deep bass line.",
     ["Roots reggae with skanking guitar.", "\U0001F3B6\U0001F3B6", "Reggae, deep bass, offbeat guitar."]),
    # same candidate as another case
    ("A soft piano melody with gentle strings.",
     ["A romantic piano and string duet.", "A soft piano piece with gentle string accompaniment."]),
    # a system that said nothing: an empty candidate scores 0 everywhere, and its references still count in
    # CIDEr-D's document frequencies (muscaps score accepts it with a warning)
    ("",
     ["A bluegrass tune with banjo and fiddle.", "Fast bluegrass picking on a banjo."]),
    # whitespace only (spaces, a tab, a no-break space): tokenizes to nothing, same as empty
    ("  \t \u00a0 ",
     ["A gospel choir singing with an organ.", "Soulful gospel vocals and Hammond organ."]),
]

# Sub-corpora: CIDEr's idf depends on the corpus (N = number of cases), so per-case CIDEr only means
# something inside the corpus it was computed with; with one case ln N = 0 and CIDEr is 0.
SUBSETS = [["c01", "c02", "c03"], ["c27"], ["c02", "c51", "c52"]]


def case_id(i):
    return "c%02d" % (i + 1)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def raw_ptb(lines):
    """Run the bundled Stanford PTBTokenizer exactly as pycocoevalcap does, but keep its raw output
    (before the punctuation filter), one output line per input line."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "captions.txt")
        with open(path, "wb") as f:
            f.write("\n".join(line.replace("\n", " ") for line in lines).encode())
        out = subprocess.run(["java", "-cp", CORENLP_JAR, "edu.stanford.nlp.process.PTBTokenizer",
                              "-preserveLines", "-lowerCase", path],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout.decode()
    result = out.split("\n")
    assert len(result) >= len(lines), (len(result), len(lines))
    return result[:len(lines)]


PUNCTUATIONS = ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--",
                "...", ";"]


def punct_filter(line):
    """pycocoevalcap's filter, restated: the raw output + this must equal its wrapper's result (checked)."""
    return " ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS)


def tokenize_batch(lines):
    """pycocoevalcap's own PTBTokenizer wrapper on one batch; returns the tokenized strings in order."""
    keyed = {i: [{"caption": line}] for i, line in enumerate(lines)}
    out = PTBTokenizer().tokenize(keyed)
    return [out[i][0] for i in range(len(lines))]


def score(ids, gts, res, meteor):
    """All metrics on one corpus, as COCOEvalCap does; returns (corpus, per_case)."""
    corpus, per_case = {}, {i: {} for i in ids}
    g = {i: gts[i] for i in ids}
    r = {i: res[i] for i in ids}
    bleu, bleus = Bleu(4).compute_score(g, r, verbose=0)
    for k in range(4):
        corpus["Bleu_%d" % (k + 1)] = bleu[k]
        for i, v in zip(ids, bleus[k]):
            per_case[i]["Bleu_%d" % (k + 1)] = v
    for name, scorer in (("ROUGE_L", Rouge()), ("CIDEr", Cider()), ("METEOR", meteor)):
        value, values = scorer.compute_score(g, r)
        corpus[name] = float(value)
        for i, v in zip(ids, values):
            per_case[i][name] = float(v)
    return corpus, per_case


def fuzz_lines(count, seed):
    """Seeded random lines built from fragments that stress the lexer: words, numbers, clitics, quotes,
    brackets, dashes, symbols, abbreviations, unicode — glued with and without spaces."""
    words = ["piano", "guitar", "R&B", "r&b", "hip-hop", "lo-fi", "rock/pop", "drum", "bass", "it", "don",
             "do", "can", "won", "is", "a", "A", "I", "the", "The", "An", "etc", "vs", "Mr", "St", "Dr",
             "U.S", "U.K", "e.g", "i.e", "café", "naïve", "ÉLAN", "ΧΟΡΟΣ", "песня", "音楽", "Jazz", "JAZZ",
             "feel-good", "90", "1990s", "4/4", "3/4", "6/8", "3.5", "1,000", "3:45", "120", "50", "5",
             "c", "C", "f", "x", "co", "pty", "ltd", "Inc", "Jan", "fig", "ca", "no", "op",
             "gonna", "wanna", "cannot", "gimme", "tis", "twas", "rock", "n", "roll", "o'clock", "y'all",
             "www.example.com", "http://example.org/a_b", "me@example.com", "@dj", "#lofi", "song.mp3",
             "1-2-3", "555-1234", "7", "1/2", "1", "state-of-the-art", "anti-", "pro-", "s", "t", "ll",
             "ve", "re", "d", "m", "em", "cause", "till", "Cap", "est", "sq", "tel", "C.D.s"]
    glue = ["'", "\u2019", "\u2018", "\"", "\u201c", "\u201d", "``", "''", "`", "(", ")", "[", "]", "{",
            "}", ".", "..", "...", "....", ". . .", "\u2026", ",", ";", ":", "!", "?", "?!", "!!", "-",
            "--", "---", "\u2014", "\u2013", "\u2012", "_", "/", "\\", "$", "%", "#", "&", "&amp;",
            "&quot;", "&apos;", "+", "*", "**", "=", "<", ">", "<<", "|", "~", "^", "@", "\u00a3",
            "\u20ac", "\u00a2", "\u00a5", "\u00bd", "\u00bc", "\u2153", "\u00b2", "\u00b0", "\u00a9",
            "\u2122", "\u266a", "\u266b", "\u2605", "\u2022", "\u00b7", "\U0001F3B5", "\U0001F525",
            "\u00a0", "\t", "\u200b", "\u00ad", ":)", ":-(", ";-)", "^_^", "<b>", "</i>", "<br/>",
            "&nbsp;", "\u2039", "\u203a", "\u00ab", "\u00bb", "\u201a", "\u201e", "\u00bf", "\u00a1"]
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.55:
                w = rng.choice(words)
                if rng.random() < 0.15:
                    w = w.upper()
                elif rng.random() < 0.15:
                    w = w.capitalize()
                parts.append(w)
            else:
                parts.append(rng.choice(glue))
            parts.append(rng.choice(["", "", " ", " ", " ", "  "]))
        line = "".join(parts).strip(" ")
        if line.strip():
            lines.append(line)
    return lines


def noisy_lines(count, seed):
    """Fuzz lines with random characters sprinkled in (any BMP code point but line breaks and surrogates,
    plus Σ and İ often): exercises Unicode classes and Java's lower-casing (final sigma)."""
    rng = random.Random(seed)
    line_breaks = {0x0A, 0x0D, 0x0B, 0x0C, 0x85, 0x2028, 0x2029}
    lines = []
    for line in fuzz_lines(count, seed + 1):
        chars = list(line)
        for _ in range(rng.randint(0, 3)):
            while True:
                cp = rng.choice([rng.randint(0x20, 0x2FFF), rng.randint(0x20, 0x7F), rng.randint(0x80, 0x3FF),
                                 rng.randint(0x2000, 0x2BFF), rng.randint(0xA000, 0xFFFF), 0x3A3, 0x3A3, 0x130])
                if cp not in line_breaks and not 0xD800 <= cp <= 0xDFFF:
                    break
            chars.insert(rng.randrange(len(chars) + 1), chr(cp))
        lines.append("".join(chars))
    return lines


def ranges(values):
    out = []
    for v in values:
        if out and out[-1][1] == v - 1:
            out[-1][1] = v
        else:
            out.append([v, v])
    return out


def bmp_probe():
    """Every BMP character (but line breaks and surrogates) twice through the jar: inside a word ("a?b": one
    token or not) and alone ("?": kept or deleted as untokenizable). Recorded as code-point ranges; this pins
    down the jar's Unicode tables exhaustively."""
    line_breaks = {0x0A, 0x0D, 0x0B, 0x0C, 0x85, 0x2028, 0x2029}
    cps = [cp for cp in range(0x20, 0x10000) if cp not in line_breaks and not 0xD800 <= cp <= 0xDFFF]
    lines = []
    for cp in cps:
        lines += ["a%sb" % chr(cp), chr(cp)]
    raw = raw_ptb(lines)
    in_word = [cp for cp, out in zip(cps, raw[0::2]) if out and " " not in out]
    kept = [cp for cp, out in zip(cps, raw[1::2]) if out != ""]
    return {"first": cps[0], "last": cps[-1], "excluded": sorted(line_breaks),
            "in_word": ranges(in_word), "kept_alone": ranges(kept)}


HAND_LINES = [
    # the notes' list, and neighbours of each trap
    "don't", "it's", "it\u2019s", "90's", "\u201990s", "'90s", "90's-style", "feel-good", "hip-hop",
    "café-style", "rock/pop", "4/4", "3.5", "1,000", "3:45", "u.k.", "U.K.", "c#", "$5", "50%", "#1",
    "a+b", "r&b", "R&B", "AT&T", "R&B/soul", "É", "\U0001F3B8", "a\u00a0b", "a\tb", "a  b",
    "\"quoted\"", "\u201cquoted\u201d", "'single'", "`tick'", "...", "\u2026", ". . .", "\u2014", "\u2013",
    "--", "---", "----", "-----", "!!", "?!", "!!!", "&", "%", "$", "#", "+", "*",
    "(a)", "[a]", "{a}", "<a>", "-LRB-",
    # sentence ends and abbreviations
    "It ends here.", "It ends in a.", "It ends in A.", "Key of E.", "etc.", "etc. and more", "etc. Then",
    "Inc. It", "U.S. The", "U.S. the", "no. 5", "ca. 1990", "fig. 2", "Pty. Ltd.", "co. ltd", "Mr. X",
    "vs. B", "a.k.a. DJ", "Ph.D. student", "e.g.", "i.e.,", "Jan. 5", "Mass. Ave.", "St. Louis blues.",
    # clitics and assimilations
    "I'm you're we've they'll he'd", "can't won't shan't ain't", "CAN'T WON'T", "gonna gotta lemme gimme wanna",
    "Gonna", "cannot", "Cannot", "'tis", "'twas", "y'all", "Y'know", "rock'n'roll", "rock 'n' roll",
    "o'clock", "ol' man", "c'mon", "somethin' good", "'em", "'cause", "'til", "'till", "li'l",
    "O'Neil's", "D'Angelo", "l'amour", "don'ts",
    # numbers, fractions, dates, phones
    "1 1/2", "1/2", "\u00bd", "\u00bc \u00be \u2153 \u2154 \u2155", "12/8/2020", "2020-05-01", "+5", "-5",
    "5-6", "1-800-555-1234", "(555) 123-4567", "555.123.4567", "10.000,5", "x\u00b2", "\u2075",
    "1st 2nd 3rd 4th", "120bpm", "4/4/4", "a/b/c", "a/b/c/d", "ab-cd/ef-gh", "1970s", "70s", "'70s",
    # urls, emails, handles, files
    "http://example.com/a.", "https://x.org/path?q=1,", "www.music.net/list", "example.com", "a@b.com",
    "<a@b.com>", "@user_1", "#tag", "#1tag", "song.mp3", "file.wav,", "readme.txt.",
    # symbols and smileys
    ":)", ":-)", ";)", ":D", ":-(", "^_^", "(^_^)", "=)", "<3", "<<", ">>", "&amp;", "&quot;hi&quot;",
    "&apos;s", "&nbsp;", "&mdash;", "&#8220;", "\u00a9 2020 \u2122", "\u00b0C", "\u00d7", "\u00a7",
    "\u266a\u266b", "\u2605\u2606", "\u2022 bullet", "\u00b7", "\u2190\u2192", "\u00bfQu\u00e9?", "\u00a1Ol\u00e1!",
    "a_b", "__init__", "***", "**bold**", "\\*", "a=b", "a|b", "~x", "^", "\u00ad", "soft\u00adhyphen",
    "\u200bzero\u200bwidth", "\ufeffbom", "\x7fdel", "ctrl\x01char", "ΟΔΟΣ ΣΑΣ Σ", "İstanbul",
    "\u00df STRASSE", "\u0130", "\u01c5", "\ufb01ne", "\u2160 \u2163", "\u0660\u0661", "\u0967",
    "\u3000ideographic\u3000space", "\u2009thin", "\u202fnarrow", "\u2012figure", "\u2011nb-hyphen",
    "\u2010hyphen", "a\u2010b", "a\u2011b", "a\u2212b", "\u00ab\u00bb",
    # letters by Unicode version (the jar's [:letter:] tables are Unicode 6.x: 6.1 letters are letters,
    # 7.0 ones are untokenizable): 4.0, 4.1, 5.0, 5.1, 5.2, 6.0, 6.1, 7.0, 8.0, later
    "a\u0221b a\u0234b", "a\u0238b a\u2c00b a\u1d6cb", "a\u07cab a\u0242b", "a\u1e9eb a\ua640b a\ua78bb",
    "a\u0800b a\u1bc0b", "a\u0526b a\u0527b", "a\ua7aeb a\u08a0b", "\u1e9e\u1e9e", "x\u2c00", "\u2c00",
    "\u0660\u0661 \u07c0\u07c1 \u1090\u1091 \ua8d0",
    "a\u08a1b a\ua7aab a\u0620b a\u1cf5b a\u0d29b", "a\u037fb a\u0528b a\ua7b0b a\u08b3b a\u13f8b a\uab70b",
]


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    ids = [case_id(i) for i in range(len(CASES))]
    assert ids == sorted(ids)
    gts = {i: [{"caption": r} for r in refs] for i, (_, refs) in zip(ids, CASES)}
    res = {i: [{"caption": cand}] for i, (cand, _) in zip(ids, CASES)}

    # Exactly COCOEvalCap: two batches through pycocoevalcap's PTBTokenizer.
    tok = PTBTokenizer()
    gts_tok = tok.tokenize(gts)
    res_tok = tok.tokenize(res)
    # The raw Stanford output for the same two batches (to check the lexer before the filter).
    ref_lines = [r for i in ids for r in (c["caption"] for c in gts[i])]
    cand_lines = [res[i][0]["caption"] for i in ids]
    ref_raw = raw_ptb(ref_lines)
    cand_raw = raw_ptb(cand_lines)
    ref_raw_by_case, k = {}, 0
    for i in ids:
        n = len(gts[i])
        ref_raw_by_case[i] = ref_raw[k:k + n]
        k += n

    meteor = Meteor()
    corpus, per_case = score(ids, gts_tok, res_tok, meteor)
    subsets = []
    for subset in SUBSETS:
        # Sub-corpora are tokenized on their own, as a separate evaluation would be.
        sg = tok.tokenize({i: gts[i] for i in subset})
        sr = tok.tokenize({i: res[i] for i in subset})
        c, p = score(subset, sg, sr, meteor)
        subsets.append({"ids": subset, "corpus": c, "cases": [dict(id=i, scores=p[i]) for i in subset]})
    del meteor

    cases = []
    for i, (cand, refs) in zip(ids, CASES):
        cases.append({
            "id": i, "candidate": cand, "references": refs,
            "tokenized": {"candidate": res_tok[i][0], "references": gts_tok[i]},
            "ptb": {"candidate": cand_raw[ids.index(i)], "references": ref_raw_by_case[i]},
            "scores": per_case[i],
        })

    java = subprocess.run(["java", "-version"], stderr=subprocess.PIPE, check=True).stderr.decode().splitlines()[0]
    provenance = {
        "producer": "Tools/metrics/make_golden.py",
        "command": ".venv-metrics/bin/python Tools/metrics/make_golden.py",
        "reference": "pycocoevalcap %s (COCOEvalCap pipeline: PTBTokenizer, Bleu(4) 'closest', Rouge, Cider "
                     "(CIDEr-D n=4 sigma=6), Meteor)" % "1.2",
        "python": platform.python_version(), "java": java,
        "stanford_corenlp_3_4_1_jar_sha256": sha256(CORENLP_JAR),
        "meteor_1_5_jar_sha256": sha256(METEOR_JAR),
        "paraphrase_en_gz_sha256": sha256(PARAPHRASE),
        "order": "cases by id; references batch = all references of all cases in order, one per line; "
                 "candidates batch likewise",
    }
    golden = dict(provenance, corpus=corpus, cases=cases, subsets=subsets)
    with open(os.path.join(OUT_DIR, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
        f.write("\n")

    # Tokenizer-only fixture: hand-picked traps, then fuzz; one batch, in order.
    lines = HAND_LINES + fuzz_lines(800, seed=20261126) + noisy_lines(600, seed=20261127)
    tokenized = tokenize_batch(lines)
    raw = raw_ptb(lines)
    for t, p, z in zip(lines, raw, tokenized):
        assert punct_filter(p) == z, (t, p, z)
    tok_fixture = dict(provenance, bmp=bmp_probe(), lines=[{"text": t, "ptb": p, "tokenized": z}
                                                           for t, p, z in zip(lines, raw, tokenized)])
    with open(os.path.join(OUT_DIR, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok_fixture, f, ensure_ascii=False, indent=0)
        f.write("\n")

    print("golden.json: %d cases; corpus %s" % (len(cases), json.dumps({k: round(v, 6) for k, v in corpus.items()})))
    print("tokenizer.json: %d lines" % len(lines))


if __name__ == "__main__":
    sys.exit(main())
