#!/usr/bin/env bash
# The real-music validation set (issue 10, item 1): real recordings from Debian packages, each with
# genre evidence quoted in Tools/realmusic/labels.json. Downloads the packages with `apt-get download`
# (nothing is installed and nothing is committed), extracts the tracks and lays them out as a MusCaps
# dataset that `muscaps prepare / eval / baseline` read:
#
#   bash Tools/realmusic/fetch.sh [SCRATCH]        # default /tmp/muscaps-realmusic
#
#   SCRATCH/debs/*.deb, SCRATCH/x-<package>/       downloaded and extracted packages
#   SCRATCH/dataset/audio/<id>.{ogg,wav}           whole tracks (stems mixed with sox, tracker modules
#                                                  rendered once, without repeats, by openmpt123)
#   SCRATCH/dataset/audio/<id>@<pct>.wav           live-length excerpts: 9 s (three 2.99 s musicnn
#                                                  windows, the daemon's 10 s context) centred at 25,
#                                                  50 and 75 % of the track, 16 kHz mono
#   SCRATCH/dataset/dataset_realmusic.json         one entry per track (whole-track captions)
#   SCRATCH/dataset/dataset_realmusic_live.json    one entry per excerpt (live captions)
#
# The reference "caption" of each entry is only a placeholder built from the labels (the MusCaps layout
# needs one); Tools/realmusic/score.py scores captions against labels.json, not against it.
# Needs: apt-get, dpkg-deb, sox (with Ogg Vorbis), openmpt123 (Tools/setup.sh installs them), python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
LABELS=Tools/realmusic/labels.json
SCRATCH=${1:-/tmp/muscaps-realmusic}
mkdir -p "$SCRATCH/debs" "$SCRATCH/dataset/audio"
SCRATCH=$(cd "$SCRATCH" && pwd)
for tool in apt-get dpkg-deb sox soxi openmpt123 python3; do
  command -v "$tool" > /dev/null || { echo "fetch.sh: $tool is missing (bash Tools/setup.sh installs it)" >&2; exit 1; }
done

# id <TAB> kind <TAB> package <TAB> path[|path...]  (kind: file, stems or module)
python3 - "$LABELS" > "$SCRATCH/tracks.tsv" <<'PY'
import json, sys
for t in json.load(open(sys.argv[1]))["tracks"]:
    kind = "stems" if "stems" in t else "module" if "module" in t else "file"
    paths = t["stems"] if kind == "stems" else [t[kind]]
    print("\t".join([t["id"], kind, t["package"], "|".join(paths)]))
PY

packages=$(cut -f3 "$SCRATCH/tracks.tsv" | sort -u)
count=$(echo "$packages" | wc -l); n=0
for package in $packages; do
  n=$((n + 1))
  if ! ls "$SCRATCH/debs/${package}"_*.deb > /dev/null 2>&1; then
    echo "[$n/$count] apt-get download $package" >&2
    (cd "$SCRATCH/debs" && apt-get download "$package" > /dev/null) || { echo "fetch.sh: cannot download $package (apt-get update first?)" >&2; exit 1; }
  fi
  [ -d "$SCRATCH/x-$package" ] || dpkg-deb -x "$SCRATCH/debs/${package}"_*.deb "$SCRATCH/x-$package"
done

audio="$SCRATCH/dataset/audio"
total=$(wc -l < "$SCRATCH/tracks.tsv"); n=0
while IFS=$'\t' read -r id kind package paths; do
  n=$((n + 1)); echo "[$n/$total] $id" >&2
  IFS='|' read -r -a parts <<< "$paths"
  for i in "${!parts[@]}"; do
    parts[$i]="$SCRATCH/x-$package/${parts[$i]}"
    [ -f "${parts[$i]}" ] || { echo "fetch.sh: $package has no ${parts[$i]#"$SCRATCH/x-$package/"}" >&2; exit 1; }
  done
  case "$kind" in
    file)   whole="$audio/$id.${parts[0]##*.}"; ln -sf "${parts[0]}" "$whole" ;;
    stems)  whole="$audio/$id.wav"; [ -f "$whole" ] || sox -m "${parts[@]}" "$whole" ;;
    module) whole="$audio/$id.wav"
            if [ ! -f "$whole" ]; then
              tmp=$(mktemp -d); cp "${parts[0]}" "$tmp/"
              timeout 300 openmpt123 --quiet --render --repeat 0 --samplerate 44100 --no-float "$tmp/$(basename "${parts[0]}")" > /dev/null
              mv "$tmp/$(basename "${parts[0]}").wav" "$whole"; rm -rf "$tmp"
            fi ;;
  esac
  duration=$(soxi -D "$whole")
  for pct in 25 50 75; do
    excerpt="$audio/$id@$pct.wav"
    [ -f "$excerpt" ] || sox "$whole" -r 16000 -c 1 "$excerpt" trim "$(python3 -c "print(max(0.0, $duration * $pct / 100 - 4.5))")" 9
  done
done < "$SCRATCH/tracks.tsv"

python3 - "$LABELS" "$SCRATCH/dataset" <<'PY'
import json, os, sys
labels, out = json.load(open(sys.argv[1]))["tracks"], sys.argv[2]
def entry(track_id, t):
    instruments = " and ".join(sorted({i["family"] for i in t["instruments"]}))
    raw = f"{t['family']} music" + (f" with {instruments}" if instruments else "")
    return {"track_id": track_id, "caption": {"raw": raw, "tokens": raw.split()}}
json.dump([entry(t["id"], t) for t in labels], open(os.path.join(out, "dataset_realmusic.json"), "w"), indent=1)
json.dump([entry(f"{t['id']}@{p}", t) for t in labels for p in (25, 50, 75)],
          open(os.path.join(out, "dataset_realmusic_live.json"), "w"), indent=1)
PY
echo "fetch.sh: $total tracks in $SCRATCH/dataset (splits realmusic, realmusic_live)" >&2
