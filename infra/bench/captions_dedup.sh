#!/usr/bin/env bash
# Caption dedup benchmark (issue 18): the reference dedup's overlap search before (quadratic, kept in the tests as
# the oracle) and after (prefix function), side by side in one process (infra/bench/CaptionsBench):
#   1. a generated HowTo100M-style corpus (captions_peer.py generate, default 100,000 videos): time of each, and
#      the SHA-256 of every segment of each, which must be equal; then how many segments each dedup mode
#      (none, reference, words) leaves starting or ending inside a word;
#   2. an adversarial SRT of two cues "a…ab" and "a…ac" (default 2 MB): time of each with the cue cap off,
#      the ratio, and the time with the default cap.
#   infra/bench/captions_dedup.sh [VIDEOS] [ADVERSARIAL_BYTES]   (work files in $BENCH_DIR or /tmp/videodata-bench-captions)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
videos="${1:-100000}"
adversarial_bytes="${2:-2000000}"
work="${BENCH_DIR:-/tmp/videodata-bench-captions}"
python=/usr/bin/python3
mkdir -p "$work"

echo "building CaptionsBench (Release)..."
dotnet build "$root/infra/bench/CaptionsBench" -c Release -nologo -v quiet -clp:ErrorsOnly -m:1 -nodeReuse:false
bench="$root/infra/bench/CaptionsBench/bin/Release/net10.0/CaptionsBench"

corpus="$work/raw_caption_$videos.json"
if [[ ! -s "$corpus" ]]; then
  echo "generating $videos videos into $corpus..."
  "$python" "$root/infra/bench/captions_peer.py" generate "$videos" "$corpus" 1
fi

adversarial="$work/adversarial_$adversarial_bytes.srt"
if [[ ! -s "$adversarial" ]]; then
  "$python" - "$adversarial" "$adversarial_bytes" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
n = max(2, (size - 100) // 2)
with open(path, "w") as out:
    out.write("1\n00:00:01,000 --> 00:00:02,000\n" + "a" * (n - 1) + "b\n\n")
    out.write("2\n00:00:02,000 --> 00:00:03,000\n" + "a" * (n - 1) + "c\n")
PY
fi

echo
echo "== corpus: $corpus ($(du -h "$corpus" | cut -f1))"
"$bench" corpus "$corpus"
echo
echo "== adversarial SRT: $adversarial"
"$bench" adversarial "$adversarial"
