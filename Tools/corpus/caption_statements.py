#!/usr/bin/env python3
"""What a caption states about a clip's attributes, read with the corpus's own attribute lexicon.

    python3 Tools/corpus/caption_statements.py "A mid-tempo pop ballad in a major key for band"
    {"ensemble": [["band"]], "families": [], "mode": [["major"]], "tempo_band": [["medium"]], ...}

Prints one JSON object: for each scored attribute (families, tempo_band, mode, ensemble, groove), the list of
statements the caption makes, each the set of values one phrase states (`muscorpus.attributes.Matcher`,
longest phrase first, over `muscorpus.captions.lexicon()`). Standard library only, so the Swift tests
(ShippedModelTests) can run it with the system python3.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from muscorpus import attributes, captions  # noqa: E402


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: caption_statements.py CAPTION")
    found = attributes.Matcher(captions.lexicon()).statements(argv[1])
    print(json.dumps({a: [sorted(v) for v in found.get(a, [])] for a in attributes.ATTRIBUTES}, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv)
