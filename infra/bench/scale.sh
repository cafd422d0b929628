#!/usr/bin/env bash
# Scale rehearsal: how the cost of the corpus-wide steps grows from 10k to HowTo100M's 1.22 M videos.
# For each size N (default 10000 100000 1220000) it generates, once, HowTo100M-shaped inputs with
# infra/bench/ScaleBench (a manifest of N ids, a raw_caption.json of N videos with 10-69 ASR segments each,
# and feature shards of N videos as preprocess writes them), then measures with GNU time -v, each step its own
# process:
#   shards plan    videodata shards plan --manifest M --uri-template ... --json   (read, validate, SHA-256 order, cut)
#   captions import videodata captions import raw_caption.json --out DIR           (stream, dedup, tokenize, Parquet tables)
#   epoch plan     videodata plan --shards DIR --out plan.parquet                  (what train does before an epoch)
#   status scan    videodata status OUTPUT --json over the job's ~N/4096 published ledgers and its plan.json
# and prints wall time, peak RSS, time per video, and the growth from 100k to 1.22 M against linear
# (targets: time within 1.3x of linear, peak memory below 2 GB at 1.22 M for every step).
#   infra/bench/scale.sh [SIZES...]      (work files in $BENCH_DIR or /tmp/videodata-bench-scale; ~6 GB at 1.22 M)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sizes=("$@")
((${#sizes[@]})) || sizes=(10000 100000 1220000)
work="${BENCH_DIR:-/tmp/videodata-bench-scale}"
mkdir -p "$work"
[[ -x /usr/bin/time ]] || { echo "scale.sh: needs GNU time (apt-get install time)" >&2; exit 1; }

echo "building videodata and the input generator (Release)..."
dotnet build "$root/src/VideoData.Cli" -c Release -nologo -v quiet -clp:ErrorsOnly -m:1 -nodeReuse:false
dotnet build "$root/infra/bench/ScaleBench" -c Release -nologo -v quiet -clp:ErrorsOnly -m:1 -nodeReuse:false
videodata="$root/src/VideoData.Cli/bin/Release/net10.0/videodata"
generator="$root/infra/bench/ScaleBench/bin/Release/net10.0/ScaleBench"

# Inputs, largest size first so smaller sizes copy its full shards (identical: every size is a prefix of one id sequence).
mapfile -t descending < <(printf '%s\n' "${sizes[@]}" | sort -rn)
largest=""
for n in "${descending[@]}"; do
  dir="$work/$n"
  mkdir -p "$dir"
  if [[ ! -s "$dir/manifest.csv" ]]; then
    echo "generating the $n-video manifest..."
    "$generator" manifest "$n" "$dir/manifest.csv.tmp" && mv "$dir/manifest.csv.tmp" "$dir/manifest.csv"
  fi
  if [[ ! -s "$dir/raw_caption.json" ]]; then
    echo "generating the $n-video raw_caption.json..."
    "$generator" captions "$n" "$dir/raw_caption.json.tmp" && mv "$dir/raw_caption.json.tmp" "$dir/raw_caption.json"
  fi
  if [[ ! -d "$dir/shards" ]]; then
    echo "generating feature shards of $n videos..."
    rm -rf "$dir/shards.tmp"
    "$generator" shards "$n" "$dir/shards.tmp" ${largest:+"$largest/shards"} && mv "$dir/shards.tmp" "$dir/shards"
  fi
  largest="$dir"
done

# measure LOG COMMAND...: runs it under GNU time; prints "seconds peak_kib".
measure() {
  local log="$1"; shift
  /usr/bin/time -v "$@" > "$log.out" 2> "$log.time" || { echo "failed: $*" >&2; tail -20 "$log.time" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log.time" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log.time")
  echo "$wall $rss"
}

# Results accumulate across runs (one line per size and step); the sizes measured now replace their old lines, so the
# largest size can be run on its own once (infra/bench/scale.sh 1220000) and the table still shows every size.
results="$work/results.tsv"
touch "$results"
for n in "${sizes[@]}"; do
  awk -F'\t' -v n="$n" '$1 != n' "$results" > "$results.tmp" && mv "$results.tmp" "$results"
done
echo "load before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${sizes[@]}"; do
  dir="$work/$n"
  echo "== $n videos"
  read -r s kb < <(measure "$dir/shards-plan" "$videodata" shards plan --manifest "$dir/manifest.csv" --uri-template 's3://howto100m/videos/{video_id}.mp4' --json)
  printf '%s\tshards plan\t%s\t%s\n' "$n" "$s" "$kb" | tee -a "$results"

  rm -rf "$dir/caption-tables"
  read -r s kb < <(measure "$dir/captions-import" "$videodata" captions import "$dir/raw_caption.json" --out "$dir/caption-tables")
  printf '%s\tcaptions import\t%s\t%s\n' "$n" "$s" "$kb" | tee -a "$results"
  rm -rf "$dir/caption-tables"

  read -r s kb < <(measure "$dir/epoch-plan" "$videodata" plan --shards "$dir/shards" --out "$dir/plan-epoch0.parquet" --json)
  printf '%s\tepoch plan\t%s\t%s\n' "$n" "$s" "$kb" | tee -a "$results"

  # Status scan: the published ledgers of a finished job of this size (one ledger per 4,096-video shard: ~300 at
  # 1.22 M, each listing its videos as done), its plan.json, and `videodata status --json` over them: listing and small
  # reads only, never a shard body.
  if [[ ! -s "$dir/status-output/plan.json" ]]; then
    rm -rf "$dir/status-output"
    /usr/bin/python3 - "$dir/manifest.csv" "$dir/status-output" <<'PY'
import csv, json, os, sys
manifest, out = sys.argv[1], sys.argv[2]
with open(manifest, newline="") as f:
    ids = [row["video_id"] for row in csv.DictReader(f)]
os.makedirs(os.path.join(out, "ledger"))
size, shards = 4096, []
for sid, first in enumerate(range(0, len(ids), size)):
    chunk = ids[first:first + size]
    shards.append({"id": sid, "videos": len(chunk)})
    with open(os.path.join(out, "ledger", f"shard-{sid:05d}.json"), "w") as f:
        json.dump({"shard_id": sid, "videos": [{"video_id": v, "status": "done", "attempts": 1, "seconds": 300} for v in chunk]}, f)
with open(os.path.join(out, "plan.json"), "w") as f:
    json.dump({"manifest": manifest, "shard_size": size, "videos": len(ids), "shards": shards}, f)
PY
  fi
  read -r s kb < <(measure "$dir/status" "$videodata" status "$dir/status-output" --json)
  printf '%s\tstatus scan\t%s\t%s\n' "$n" "$s" "$kb" | tee -a "$results"
done

echo
awk -F'\t' '
  { t[$2 SUBSEP $1] = $3; m[$2 SUBSEP $1] = $4; if (!($2 in seen)) { seen[$2] = 1; steps[++ns] = $2 } if (!($1 in sz)) { sz[$1] = 1; sizes[++nz] = $1 } }
  END {
    printf "%-16s %10s %10s %12s %12s\n", "step", "videos", "wall s", "peak MiB", "us/video"
    for (i = 1; i <= ns; i++) for (j = 1; j <= nz; j++) {
      k = steps[i] SUBSEP sizes[j]
      printf "%-16s %10d %10.2f %12.0f %12.1f\n", steps[i], sizes[j], t[k], m[k] / 1024, t[k] * 1e6 / sizes[j]
    }
    if (nz >= 2) {
      a = sizes[nz - 1]; b = sizes[nz]
      printf "\ngrowth from %d to %d videos (%.2fx the videos): time ratio / linear (target <= 1.3), peak MiB at %d (target < 2048)\n", a, b, b / a, b
      for (i = 1; i <= ns; i++) {
        ka = steps[i] SUBSEP a; kb = steps[i] SUBSEP b
        printf "%-16s %8.2fx of linear   %8.0f MiB\n", steps[i], (t[kb] / t[ka]) / (b / a), m[kb] / 1024
      }
    }
  }' <(sort -t$'\t' -k1,1n -s "$results")
