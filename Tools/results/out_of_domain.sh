#!/usr/bin/env bash
# Out-of-domain check (issue 5, item 4): captions and tags for real recorded game music from Debian
# packages, which the corpus (synthesised MIDI) never contains. The audio is downloaded with
# `apt-get download` into a scratch folder and never committed.
#
#   bash Tools/results/out_of_domain.sh [SCRATCH]      # default /tmp/muscaps-ood
#
# Prints a markdown table (track, licence, caption, top-5 MTT tags) for docs/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
SCRATCH=${1:-/tmp/muscaps-ood}
MUSCAPS=${MUSCAPS:-.build/release/muscaps}
MODEL=${MODEL:-}   # empty: the shipped default
mkdir -p "$SCRATCH"

# package | file inside the package | what it is | licence (from the package's debian/copyright)
TRACKS=(
  "warzone2100-music|usr/share/games/warzone2100/music/menu.opus|Warzone 2100 menu theme|GPL-2+"
  "warzone2100-music|usr/share/games/warzone2100/music/albums/original_soundtrack/track1.opus|Warzone 2100 original soundtrack, track 1|GPL-2+"
  "warzone2100-music|usr/share/games/warzone2100/music/albums/legacy_soundtrack/track5.opus|Warzone 2100 legacy soundtrack, track 5|GPL-2+"
  "fretsonfire-songs-muldjord|usr/share/games/fretsonfire/data/songs/muldjord/chaos_god/song.ogg|Muldjord: Chaos God (metal; the mix without the lead-guitar stem)|CC BY-SA 3.0"
  "fretsonfire-songs-muldjord|usr/share/games/fretsonfire/data/songs/muldjord/armygeddon/song.ogg|Muldjord: Armygeddon (metal; the mix without the lead-guitar stem)|CC BY-SA 3.0"
  "singularity-music|usr/share/games/singularity/music/Deprecation.ogg|Endgame: Singularity, Deprecation (Max McCracken)|CC BY-SA 3.0"
  "wesnoth-1.16-music|usr/share/games/wesnoth/1.16/data/core/music/traveling_minstrels.ogg|Wesnoth: Traveling Minstrels|GPL-2+"
  "wesnoth-1.16-music|usr/share/games/wesnoth/1.16/data/core/music/love_theme.ogg|Wesnoth: Love Theme|GPL-2+"
  "wesnoth-1.16-music|usr/share/games/wesnoth/1.16/data/core/music/battle-epic.ogg|Wesnoth: Battle (epic)|GPL-2+"
  "wesnoth-1.16-music|usr/share/games/wesnoth/1.16/data/core/music/elvish-theme.ogg|Wesnoth: Elvish Theme|GPL-2+"
)

for entry in "${TRACKS[@]}"; do
  package=${entry%%|*}
  if ! ls "$SCRATCH/$package"_*.deb > /dev/null 2>&1; then
    (cd "$SCRATCH" && apt-get download "$package" > /dev/null 2>&1) || { echo "cannot download $package" >&2; exit 1; }
  fi
  if [ ! -d "$SCRATCH/x-$package" ]; then
    dpkg-deb -x "$SCRATCH/$package"_*.deb "$SCRATCH/x-$package"
  fi
done

model=(); [ -n "$MODEL" ] && model=(--model "$MODEL")
echo "| track (Debian package) | licence | caption (whole track; default decoding, beam 3) | top-5 MTT tags (mean over the track) |"
echo "|---|---|---|---|"
for entry in "${TRACKS[@]}"; do
  IFS='|' read -r package file title licence <<< "$entry"
  path="$SCRATCH/x-$package/$file"
  caption=$("$MUSCAPS" caption "$path" "${model[@]}")
  summary=$("$MUSCAPS" tag "$path" --summary --json --top 5)
  tags=$(python3 -c 'import json,sys; o=json.loads(sys.argv[1]); print(", ".join(f"{k} {v:.2f}" for k, v in o["tags"].items()))' "$summary")
  duration=$(python3 -c 'import json,sys; s=json.loads(sys.argv[1])["end"]; print(f"{int(s // 60)}:{int(s % 60):02d}")' "$summary")
  echo "| $title, $duration (\`$package\`) | $licence | $caption | $tags |"
done
