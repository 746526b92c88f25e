"""General MIDI instruments used by the arranger: caption names, families, ranges.

Each entry: GM program (0-based) -> (key, family, (low, high) MIDI range, caption phrases).
The first caption phrase is the canonical name; the others are synonyms.
Drum kits are not programs: they use key "drums" (channel 10).
"""

FAMILIES = {
    "keyboard": ["keyboard", "keys"],
    "organ": ["organ"],
    "accordion": ["accordion", "free reed"],
    "mallet": ["mallet percussion", "tuned percussion"],
    "guitar": ["guitar", "guitars"],
    "bass": ["bass"],
    "strings": ["strings", "string"],
    "harp": ["harp"],
    "brass": ["brass"],
    "woodwind": ["woodwind", "woodwinds", "winds"],
    "voice": ["voices", "vocal", "choir", "choral"],
    "synth": ["synth", "synths", "synthesizer", "electronic"],
    "plucked": ["plucked", "folk strings"],
    "drums": ["drums", "drum kit", "percussion", "beat"],
}

# program: (key, family, (lo, hi), [caption phrases])
GM = {
    0: ("piano", "keyboard", (21, 108), ["piano", "grand piano", "acoustic piano"]),
    1: ("bright_piano", "keyboard", (21, 108), ["bright piano", "piano"]),
    3: ("honky_tonk", "keyboard", (28, 100), ["honky-tonk piano", "saloon piano", "old upright piano"]),
    4: ("electric_piano", "keyboard", (28, 103), ["electric piano", "rhodes", "mellow electric piano"]),
    5: ("electric_piano_2", "keyboard", (28, 103), ["electric piano", "fm electric piano", "glassy keys"]),
    6: ("harpsichord", "keyboard", (29, 89), ["harpsichord"]),
    7: ("clavinet", "keyboard", (36, 96), ["clavinet", "funky clavinet"]),
    8: ("celesta", "mallet", (60, 108), ["celesta"]),
    9: ("glockenspiel", "mallet", (72, 108), ["glockenspiel", "bells"]),
    10: ("music_box", "mallet", (60, 96), ["music box"]),
    11: ("vibraphone", "mallet", (53, 89), ["vibraphone", "vibes"]),
    12: ("marimba", "mallet", (45, 96), ["marimba"]),
    13: ("xylophone", "mallet", (65, 108), ["xylophone"]),
    14: ("tubular_bells", "mallet", (60, 77), ["tubular bells", "chimes"]),
    15: ("dulcimer", "plucked", (48, 84), ["hammered dulcimer", "dulcimer"]),
    16: ("drawbar_organ", "organ", (36, 96), ["hammond organ", "drawbar organ", "organ"]),
    17: ("percussive_organ", "organ", (36, 96), ["percussive organ", "organ"]),
    19: ("church_organ", "organ", (24, 96), ["church organ", "pipe organ", "organ"]),
    20: ("reed_organ", "organ", (36, 96), ["reed organ", "harmonium"]),
    21: ("accordion", "accordion", (41, 89), ["accordion"]),
    22: ("harmonica", "accordion", (60, 84), ["harmonica", "blues harp"]),
    23: ("bandoneon", "accordion", (41, 89), ["bandoneon", "tango accordion"]),
    24: ("nylon_guitar", "guitar", (40, 83), ["nylon guitar", "classical guitar", "acoustic guitar"]),
    25: ("steel_guitar", "guitar", (40, 83), ["acoustic guitar", "steel-string guitar", "strummed guitar"]),
    26: ("jazz_guitar", "guitar", (40, 86), ["jazz guitar", "hollow-body guitar"]),
    27: ("clean_guitar", "guitar", (40, 86), ["clean electric guitar", "electric guitar"]),
    28: ("muted_guitar", "guitar", (40, 86), ["muted guitar", "palm-muted guitar"]),
    29: ("overdriven_guitar", "guitar", (40, 86), ["overdriven guitar", "crunchy guitar", "electric guitar"]),
    30: ("distorted_guitar", "guitar", (40, 86), ["distorted guitar", "heavy guitar", "electric guitar"]),
    32: ("acoustic_bass", "bass", (28, 55), ["upright bass", "double bass", "acoustic bass"]),
    33: ("fingered_bass", "bass", (28, 60), ["bass guitar", "electric bass", "fingered bass"]),
    34: ("picked_bass", "bass", (28, 60), ["picked bass", "electric bass", "bass guitar"]),
    35: ("fretless_bass", "bass", (28, 60), ["fretless bass", "smooth bass"]),
    36: ("slap_bass", "bass", (28, 60), ["slap bass", "funky bass"]),
    38: ("synth_bass", "bass", (28, 60), ["synth bass", "deep synth bass"]),
    39: ("synth_bass_2", "bass", (28, 60), ["synth bass", "electronic bass"]),
    40: ("violin", "strings", (55, 103), ["violin"]),
    41: ("viola", "strings", (48, 88), ["viola"]),
    42: ("cello", "strings", (36, 76), ["cello"]),
    43: ("contrabass", "strings", (28, 55), ["double bass", "contrabass"]),
    45: ("pizzicato", "strings", (28, 96), ["pizzicato strings", "plucked strings"]),
    46: ("harp", "harp", (24, 103), ["harp", "concert harp"]),
    47: ("timpani", "drums", (36, 57), ["timpani", "kettle drums"]),
    48: ("strings", "strings", (28, 96), ["strings", "string section", "string ensemble"]),
    49: ("slow_strings", "strings", (28, 96), ["lush strings", "slow strings", "string section"]),
    50: ("synth_strings", "synth", (36, 96), ["synth strings", "string pad"]),
    52: ("choir_aahs", "voice", (48, 81), ["choir", "voices", "choral voices"]),
    53: ("voice_oohs", "voice", (48, 79), ["wordless voices", "vocal oohs", "voices"]),
    54: ("synth_voice", "voice", (48, 84), ["synth choir", "synthetic voices"]),
    56: ("trumpet", "brass", (54, 86), ["trumpet"]),
    57: ("trombone", "brass", (34, 72), ["trombone"]),
    58: ("tuba", "brass", (26, 58), ["tuba"]),
    59: ("muted_trumpet", "brass", (54, 84), ["muted trumpet"]),
    60: ("french_horn", "brass", (41, 77), ["french horn", "horn"]),
    61: ("brass_section", "brass", (36, 84), ["brass section", "brass"]),
    64: ("soprano_sax", "woodwind", (56, 88), ["soprano saxophone", "soprano sax"]),
    65: ("alto_sax", "woodwind", (49, 81), ["alto saxophone", "alto sax", "saxophone"]),
    66: ("tenor_sax", "woodwind", (44, 76), ["tenor saxophone", "tenor sax", "saxophone"]),
    67: ("baritone_sax", "woodwind", (36, 69), ["baritone saxophone", "bari sax"]),
    68: ("oboe", "woodwind", (58, 91), ["oboe"]),
    69: ("english_horn", "woodwind", (52, 81), ["english horn", "cor anglais"]),
    70: ("bassoon", "woodwind", (34, 72), ["bassoon"]),
    71: ("clarinet", "woodwind", (50, 91), ["clarinet"]),
    72: ("piccolo", "woodwind", (74, 108), ["piccolo"]),
    73: ("flute", "woodwind", (60, 96), ["flute"]),
    74: ("recorder", "woodwind", (60, 96), ["recorder"]),
    75: ("pan_flute", "woodwind", (60, 96), ["pan flute", "pan pipes"]),
    78: ("whistle", "woodwind", (62, 98), ["tin whistle", "penny whistle", "whistle"]),
    79: ("ocarina", "woodwind", (60, 96), ["ocarina"]),
    80: ("square_lead", "synth", (36, 96), ["square lead", "chiptune lead", "synth lead"]),
    81: ("saw_lead", "synth", (36, 96), ["sawtooth lead", "synth lead", "buzzy synth"]),
    88: ("new_age_pad", "synth", (36, 96), ["warm pad", "synth pad", "ambient pad"]),
    89: ("warm_pad", "synth", (36, 96), ["warm pad", "soft synth pad", "pad"]),
    90: ("polysynth", "synth", (36, 96), ["polysynth", "analog synth"]),
    91: ("choir_pad", "synth", (36, 96), ["choir pad", "airy pad"]),
    94: ("halo_pad", "synth", (36, 96), ["halo pad", "shimmering pad", "ethereal pad"]),
    95: ("sweep_pad", "synth", (36, 96), ["sweeping pad", "synth pad"]),
    104: ("sitar", "plucked", (48, 84), ["sitar"]),
    105: ("banjo", "plucked", (48, 84), ["banjo"]),
    106: ("shamisen", "plucked", (50, 84), ["shamisen"]),
    107: ("koto", "plucked", (55, 91), ["koto"]),
    108: ("kalimba", "mallet", (60, 96), ["kalimba", "thumb piano"]),
    109: ("bagpipe", "woodwind", (67, 81), ["bagpipes", "highland pipes"]),
    110: ("fiddle", "strings", (55, 96), ["fiddle"]),
    111: ("shanai", "woodwind", (60, 91), ["shanai", "reed pipe"]),
}

KEY_TO_PROGRAM = {v[0]: k for k, v in GM.items()}


def info(program: int):
    """(key, family, range, phrases) for a GM program; unknown programs get a generic entry."""
    if program in GM:
        return GM[program]
    groups = [
        (0, 8, "keyboard", "keyboard"), (8, 16, "mallet", "tuned percussion"), (16, 24, "organ", "organ"),
        (24, 32, "guitar", "electric guitar"), (32, 40, "bass", "bass"), (40, 48, "strings", "strings"),
        (48, 56, "strings", "strings"), (56, 64, "brass", "brass"), (64, 72, "woodwind", "reeds"),
        (72, 80, "woodwind", "flute"), (80, 88, "synth", "synth lead"), (88, 96, "synth", "synth pad"),
        (96, 104, "synth", "synth effects"), (104, 112, "plucked", "folk instrument"),
        (112, 120, "drums", "percussion"), (120, 128, "synth", "sound effects"),
    ]
    for lo, hi, fam, name in groups:
        if lo <= program < hi:
            return (f"gm{program}", fam, (36, 96), [name])
    return (f"gm{program}", "synth", (36, 96), ["synth"])


DRUMS_INFO = ("drums", "drums", (35, 81), ["drums", "drum kit"])
