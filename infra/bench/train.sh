#!/usr/bin/env bash
# Training-feed benchmark (issue 9).
# 1. Batch streamer: batches per second for reference-size batches (BATCH_VIDEOS x CLIPS = 32 x 16 = 512 clips,
#    [512, 32, 512] float features) from a local set of feature shards, ours (BatchStreamer over
#    FeatureShardVideoStore, TrainBench) vs the reference-style Python loader (infra/bench/train_loader.py: per-shard
#    numpy arrays + a PyTorch DataLoader with WORKERS worker processes, Debian python3-torch), same machine, same
#    videos, same clip sampling, same batch shapes. Epoch 0 of ours reads the Parquet shards cold (its read
#    amplification, bytes read / shard bytes, is printed); epoch 1 is served from the cache. The peer reads
#    memory-mapped .npy files, which the page cache holds after the first pass. Both sides load torch before their
#    clock starts (the peer imports it; ours creates one tensor) and both read files the page cache holds (written
#    just before). Ratio > 1: ours is faster. first_batch_s is the latency to the first batch.
# 2. The tiny trainer on the CPU (pipelines/videoclip-tiny.json): data-wait share of step time.
# 3. Data-parallel tiny trainer: 1 process (2 libtorch threads) vs 2 MPI ranks (mpirun -np 2, 1 thread each) on the
#    same machine and config: step time, the share of it spent in the gradient all-reduce, and clips/s. The TCP
#    exchange the all-reduce replaced was measured the same way before it was removed (README of
#    src/VideoData.Training/Distributed). Also MPI all-reduce throughput for bucket sizes 0.25-64 MiB (256 MiB total).
#   infra/bench/train.sh [VIDEOS] [EPOCHS] [ASSEMBLERS] [WORKERS]     (defaults 640, 2, 2, 2)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
videos="${1:-640}"
epochs="${2:-2}"
assemblers="${3:-2}"
workers="${4:-2}"
batch_videos=32
clips=16
work="${BENCH_DIR:-$(mktemp -d /tmp/videodata-train-bench.XXXXXX)}"

source "$root/infra/bench/lib.sh"
ensure_debian_packages python3-torch python3-numpy libopenblas0-pthread

echo "[bench] building the bench driver (Release)"
dotnet build infra/bench/TrainBench -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
bench=(dotnet "$root/infra/bench/TrainBench/bin/Release/net10.0/TrainBench.dll")

if [[ ! -d "$work/shards" ]]; then
  echo "[bench] writing $videos synthetic videos (60-600 s, 512-d) as feature shards and as .npy for the peer in $work"
  "${bench[@]}" corpus "$work" "$videos" 60 600 256
fi
sync

echo "[bench] ours: BatchStreamer, $assemblers assemblers, prefetch 4, $epochs epochs of ${batch_videos}x${clips}-clip batches"
ours="$("${bench[@]}" stream "$work" "$epochs" "$batch_videos" "$clips" "$assemblers" 4 | tee /dev/stderr | grep '^RESULT')"
echo "[bench] peer: reference-style numpy + DataLoader, $workers workers"
peer="$(/usr/bin/python3 infra/bench/train_loader.py "$work/numpy" "$epochs" "$batch_videos" "$clips" "$workers" | tee /dev/stderr | grep '^RESULT')"

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }
for e in $(seq 0 $((epochs - 1))); do
  o="$(grep "epoch=$e " <<<"$ours" | field batches_per_s)"
  p="$(grep "epoch=$e " <<<"$peer" | field batches_per_s)"
  awk -v e="$e" -v o="$o" -v p="$p" 'BEGIN { printf "[bench] epoch %d: ours %.2f batches/s, peer %.2f batches/s, ratio %.2fx\n", e, o, p, o / p }'
done
read_bytes="$(grep "epoch=0 " <<<"$ours" | field bytes_read)"
shard_bytes="$(grep "epoch=0 " <<<"$ours" | field shard_bytes)"
awk -v r="$read_bytes" -v s="$shard_bytes" 'BEGIN { printf "[bench] cold epoch read amplification (bytes read / shard bytes, every video used once): %.3f\n", r / s }'

echo "[bench] tiny trainer on the CPU (pipelines/videoclip-tiny.json)"
"${bench[@]}" tiny pipelines/videoclip-tiny.json "$work/tiny" | tee /dev/stderr | grep '^RESULT' \
  | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } printf "[bench] tiny trainer: %d steps, data wait %.2f%% of step time\n", v["steps"], 100 * v["wait_share"] }'

echo "[bench] data-parallel tiny trainer: 1 process x 2 threads vs mpirun -np 2 x 1 thread (pipelines/videoclip-tiny.json)"
command -v mpirun >/dev/null || { echo "[bench] mpirun is missing: run infra/scripts/setup.sh (openmpi-bin)" >&2; exit 1; }
dotnet build src/VideoData.Cli -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
videodata=(dotnet "$root/src/VideoData.Cli/bin/Release/net10.0/videodata.dll")
mpi=(mpirun --oversubscribe -np 2)
[[ $(id -u) -ne 0 ]] || mpi=(mpirun --allow-run-as-root --oversubscribe -np 2)
summary() { /usr/bin/python3 -c 'import json, sys
s = json.loads(sys.stdin.read())
steps = [json.loads(l) for l in open(sys.argv[1]) if "\"kind\":\"step\"" in l]
clips = sum(x["clips"] for x in steps) * s["world_size"]
seconds = sum(x["step_ms"] for x in steps) / 1000
print("%d rank(s): %d steps, %.1f ms per step, all-reduce %.2f ms (%.1f%% of step time), %.0f clips/s" % (s["world_size"], s["steps"], s["mean_step_ms"], s["mean_all_reduce_ms"], 100 * s["all_reduce_share"], clips / seconds))' "$1"; }
rm -rf "$work/ddp-1" "$work/ddp-2"
one="$("${videodata[@]}" train --config pipelines/videoclip-tiny.json --output "$work/ddp-1" --threads 2 --json 2>/dev/null | grep -o '{.*}')"
two="$("${mpi[@]}" "${videodata[@]}" train --config pipelines/videoclip-tiny.json --output "$work/ddp-2" --threads 1 --json 2>/dev/null | grep -o '{.*}')"
echo "[bench] tiny trainer, $(summary "$work/ddp-1/train-log.jsonl" <<<"$one")"
echo "[bench] tiny trainer, $(summary "$work/ddp-2/train-log.jsonl" <<<"$two")"
echo "[bench] MPI all-reduce of 256 MiB of floats, 2 ranks, by bucket size (best of 3):"
dotnet build infra/bench/TrainBench -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
"${mpi[@]}" "${bench[@]}" allreduce 256 3 2>/dev/null | grep '^RESULT' | sed 's/^RESULT/[bench]  /'
echo "[bench] load average after the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
[[ -n "${BENCH_DIR:-}" ]] || rm -rf "$work"
