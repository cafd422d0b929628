#!/usr/bin/env bash
# Clustering benchmark (issue 10): exact k-nearest-neighbour search for clustered batches, ours (TorchSharp
# tiled products + running top-k, ExactNearestNeighbours via infra/bench/ClusterBench) vs FAISS (Debian
# python3-faiss on OpenBLAS, infra/bench/cluster_faiss.py) on the same vectors and queries, the same thread
# count: IndexFlatL2 (exact) and IndexIVFFlat(512) as the reference uses it (train + add + search, nprobe 1).
# N standard-normal vectors of dimension D, N/32 queries drawn without replacement, K neighbours besides the
# query. Prints the time ratios (> 1: ours is faster) and recall@K against a float64 ground truth.
# Then `videodata cluster` on the same vectors (as an embeddings file) in 1 process with 1 thread vs 2 MPI ranks with
# 1 thread each (mpirun -np 2): search time, speed-up, per-rank query rate, and whether the two plans are identical.
#   infra/bench/cluster.sh [N] [D] [K] [THREADS] [PARTS]     (defaults 200000, 768, 64, 2, all; PARTS=ranks: only the 1-vs-2-rank part)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
n="${1:-200000}"
d="${2:-768}"
k="${3:-64}"
threads="${4:-2}"
parts="${5:-all}"
work="${BENCH_DIR:-$(mktemp -d /tmp/videodata-cluster-bench.XXXXXX)}"

# Without OpenBLAS the peer runs on Debian's reference BLAS, ~10x slower, and every ratio would flatter us.
source "$root/infra/bench/lib.sh"
ensure_debian_packages python3-faiss python3-numpy libopenblas0-pthread
blas="$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | sed -n 's/^Value: //p')"
echo "[bench] peer BLAS: ${blas:-unknown}"
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"

echo "[bench] building the bench driver (Release)"
dotnet build infra/bench/ClusterBench -c Release -nologo -v quiet -clp:ErrorsOnly | { grep -v -e "^$" -e "Build succeeded" -e "Warning(s)" -e "Error(s)" -e "Time Elapsed" || true; }
bench=(dotnet "$root/infra/bench/ClusterBench/bin/Release/net10.0/ClusterBench.dll")

if [[ ! -f "$work/vectors.f32" ]]; then
  echo "[bench] writing $n x $d float32 vectors and $((n / 32)) query rows to $work"
  /usr/bin/python3 infra/bench/cluster_faiss.py gen "$work/vectors.f32" "$work/queries.i32" "$n" "$d" 7 >/dev/null
fi

if [[ "$parts" == all ]]; then
echo "[bench] ours: ExactNearestNeighbours, $threads threads, k $k"
ours_out="$("${bench[@]}" search "$work/vectors.f32" "$work/queries.i32" "$n" "$d" "$k" "$threads" "$work/ours.i32")"
printf '%s\n' "$ours_out"
ours="$(grep '^RESULT' <<<"$ours_out")"
echo "[bench] peer: FAISS IndexFlatL2 and IndexIVFFlat(512), $threads threads, k $((k + 1)) with the query dropped"
peer_out="$(/usr/bin/python3 infra/bench/cluster_faiss.py search "$work/vectors.f32" "$work/queries.i32" "$n" "$d" "$k" "$threads" "$work/ours.i32")"
printf '%s\n' "$peer_out"
peer="$(grep '^RESULT' <<<"$peer_out")"

field() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p"; }
o="$(field search_s <<<"$ours")"; oc="$(field search_cpu_s <<<"$ours")"
g="$(field gemm_only_s <<<"$ours")"; gc="$(field gemm_only_cpu_s <<<"$ours")"
f="$(field faiss_flat_s <<<"$peer")"; fc="$(field faiss_flat_cpu_s <<<"$peer")"
i="$(field faiss_ivf_s <<<"$peer")"; ic="$(field faiss_ivf_cpu_s <<<"$peer")"
awk -v o="$o" -v oc="$oc" -v g="$g" -v gc="$gc" -v f="$f" -v fc="$fc" -v i="$i" -v ic="$ic" -v n="$n" -v d="$d" -v q="$((n / 32))" 'BEGIN {
  printf "[bench] N %d, d %d, %d queries (wall s / CPU s): ours %.2f / %.2f (%.1f GFLOP/s wall); its bare matrix products %.2f / %.2f; FAISS IndexFlatL2 %.2f / %.2f; IndexIVFFlat(512) train+add+search %.2f / %.2f\n", n, d, q, o, oc, 2 * q * n * d / o / 1e9, g, gc, f, fc, i, ic
  printf "[bench] ratio vs IndexFlatL2 (theirs / ours; > 1: ours faster): wall %.2fx, CPU %.2fx; vs IndexIVFFlat(512): wall %.2fx, CPU %.2fx; top-k share of our CPU time: %.0f%%\n", f / o, fc / oc, i / o, ic / oc, (1 - gc / oc) * 100
}'
echo "[bench] recall@$k vs float64 truth ($(field truth_queries <<<"$peer") queries): ours $(field recall_ours <<<"$peer"), IndexFlatL2 $(field recall_flat <<<"$peer"), IndexIVFFlat(512) $(field recall_ivf <<<"$peer"); ours vs IndexFlatL2 on all queries: $(field ours_vs_flat_all <<<"$peer")"
echo "[bench] load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (a shared machine: compare ratios, not absolute times)"
fi

echo "[bench] videodata cluster: 1 process x 1 thread vs mpirun -np 2 x 1 thread, same embeddings, k $k"
command -v mpirun >/dev/null || { echo "[bench] mpirun is missing: run infra/scripts/setup.sh (openmpi-bin)" >&2; exit 1; }
dotnet build src/VideoData.Cli -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
videodata=(dotnet "$root/src/VideoData.Cli/bin/Release/net10.0/videodata.dll")
mpi=(mpirun --oversubscribe -np 2)
[[ $(id -u) -ne 0 ]] || mpi=(mpirun --allow-run-as-root --oversubscribe -np 2)
[[ -f "$work/embeddings.parquet" ]] || "${bench[@]}" embeddings "$work/vectors.f32" "$n" "$d" "$work/embeddings.parquet"
cluster_args=(cluster --embeddings "$work/embeddings.parquet" --k "$k" --threads 1 --seed 1 --epoch 1 --json)
# Only the JSON summary: mpirun may hand rank 0 a terminal, and .NET then writes a terminal-mode sequence first.
one="$("${videodata[@]}" "${cluster_args[@]}" --out "$work/plan-1.parquet" 2>/dev/null | grep -o '{.*}')"
two="$("${mpi[@]}" "${videodata[@]}" "${cluster_args[@]}" --out "$work/plan-2.parquet" 2>/dev/null | grep -o '{.*}')"
same="differ"; cmp -s "$work/plan-1.parquet" "$work/plan-2.parquet" && same="identical"
/usr/bin/python3 -c 'import json, sys
one, two = json.loads(sys.argv[1]), json.loads(sys.argv[2])
q = one["queries"]
print("[bench] 1 rank: %.1f s search (%.0f queries/s); 2 ranks: %.1f s (ranks %s s; %.0f queries/s per rank); speed-up %.2fx; plans %s" % (
    one["search_s"], q / one["search_s"], two["search_s"], ", ".join("%.1f" % t for t in two["rank_search_s"]),
    q / 2 / max(two["rank_search_s"]), one["search_s"] / two["search_s"], sys.argv[3]))' "$one" "$two" "$same"
echo "[bench] load average after the rank runs: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
