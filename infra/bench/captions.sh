#!/usr/bin/env bash
# Caption import benchmark: `videodata captions import` against a straightforward Python script
# (captions_peer.py: json.load + the same reference dedup) on the same generated HowTo100M-style
# raw_caption.json, side by side. Prints throughput (videos/s) and peak RSS of both and their ratios
# (targets: ours >= 5x the throughput, <= 1/5 the peak memory), then checks that both produced the
# same segments (count and SHA-256 over every segment, read back from our Parquet with DuckDB).
#   infra/bench/captions.sh [VIDEOS]      (default 100000; work files in $BENCH_DIR or /tmp/videodata-bench-captions)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
videos="${1:-100000}"
work="${BENCH_DIR:-/tmp/videodata-bench-captions}"
python=/usr/bin/python3
peer="$root/infra/bench/captions_peer.py"
mkdir -p "$work"
[[ -x /usr/bin/time ]] || { echo "captions.sh: needs GNU time (apt-get install time)" >&2; exit 1; }

echo "building videodata (Release)..."
dotnet build "$root/src/VideoData.Cli" -c Release -nologo -v quiet -clp:ErrorsOnly
videodata="$root/src/VideoData.Cli/bin/Release/net10.0/videodata"

input="$work/raw_caption_$videos.json"
if [[ ! -s "$input" ]]; then
  echo "generating $videos videos into $input..."
  "$python" "$peer" generate "$videos" "$input" 1
fi
echo "input: $input ($(du -h "$input" | cut -f1))"

# Runs a command under /usr/bin/time -v; prints "seconds peak_kb".
measure() {
  local log="$1"; shift
  /usr/bin/time -v "$@" > "$log.out" 2> "$log.time" || { cat "$log.time" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log.time" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log.time")
  echo "$wall $rss"
}

rm -rf "$work/ours"
echo "running ours:   videodata captions import (shard size 4096, seed 0)..."
read -r ours_s ours_kb < <(measure "$work/ours" "$videodata" captions import "$input" --out "$work/ours" --shard-size 4096 --seed 0)
echo "running python: json.load + reference dedup..."
read -r py_s py_kb < <(measure "$work/python" "$python" "$peer" import "$input" "$work/python.json" 0)

ours_videos=$(grep -o '"videos": [0-9]*' "$work/ours.out" | grep -o '[0-9]*$')
ours_segments=$(grep -o '"segments": [0-9]*' "$work/ours.out" | grep -o '[0-9]*$')
py_videos=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["videos"])' "$work/python.json")
py_segments=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["segments"])' "$work/python.json")
py_sha=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$work/python.json")

# Same digest over our Parquet tables, computed by DuckDB (an independent reader).
ours_sha=""
if [[ -d "$root/.tools/node_modules/@duckdb/node-api" ]]; then
  script="$root/.tools/videodata-bench-captions-$$.mjs"
  cat > "$script" <<JS
import { DuckDBInstance } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
const c = await (await DuckDBInstance.create(':memory:')).connect();
const r = await c.runAndReadAll(\`
  WITH s AS (SELECT video_id, unnest(range(1, len(segments) + 1)) AS i, unnest(segments) AS seg FROM read_parquet('$work/ours/shard-*.parquet'))
  SELECT string_agg(video_id || chr(9) || printf('%.3f', seg.start) || chr(9) || printf('%.3f', seg."end") || chr(9) || seg.text || chr(10), '' ORDER BY video_id, i) AS t FROM s\`);
process.stdout.write(createHash('sha256').update(r.getRowObjects()[0].t, 'utf8').digest('hex'));
JS
  ours_sha=$(node "$script"); rm -f "$script"
fi

awk -v n="$videos" -v os="$ours_s" -v ok="$ours_kb" -v ps="$py_s" -v pk="$py_kb" 'BEGIN {
  printf "\n%-28s %12s %12s %10s\n", "", "ours", "python", "ratio"
  printf "%-28s %12.2f %12.2f\n", "wall time (s)", os, ps
  printf "%-28s %12.0f %12.0f %9.1fx   (target >= 5x)\n", "throughput (videos/s)", n/os, n/ps, ps/os
  printf "%-28s %12.0f %12.0f %9.3f    (target <= 0.2)\n", "peak RSS (MiB)", ok/1024, pk/1024, ok/pk
}'
echo
echo "videos:   ours $ours_videos, python $py_videos"
echo "segments: ours $ours_segments, python $py_segments"
echo "sha256:   ours ${ours_sha:-"(DuckDB not installed: run infra/scripts/setup.sh --tests)"}"
echo "          python $py_sha"
if [[ "$ours_videos" != "$py_videos" || "$ours_segments" != "$py_segments" || ( -n "$ours_sha" && "$ours_sha" != "$py_sha" ) ]]; then
  echo "MISMATCH: the two imports disagree" >&2
  exit 1
fi
echo "outputs agree"
