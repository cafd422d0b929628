#!/usr/bin/env bash
# S3D-G feature extraction benchmark: seconds of video encoded per second, ours (TorchSharp, FeaturesBench)
# vs the same architecture in Debian's python3-torch (infra/bench/s3d_reference.py), side by side on the same
# machine, same synthetic 30x224x224 input shape, same batch and thread count, alternating, RUNS rounds,
# medians. Both exclude model load and one warm-up batch; both convert uint8 frames to float /255 and
# L2-normalize in the measured loop. Ratio > 1: ours is faster.
#   infra/bench/features.sh [RUNS] [SECONDS] [BATCH] [THREADS]     (defaults 3, 32, 8, nproc)
#   DEVICE=cuda infra/bench/features.sh ...   also runs ours on CUDA (fp16) when this build has a CUDA backend
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
runs="${1:-3}"
seconds="${2:-32}"
batch="${3:-8}"
threads="${4:-$(nproc)}"
weights="${S3D_WEIGHTS:-$root/../shared/testdata/s3d/s3d_weights.pth}"
golden="$(dirname "$weights")/s3d_golden_io.safetensors"
[[ -f "$weights" ]] || { echo "[bench] weights not found: $weights (set S3D_WEIGHTS)" >&2; exit 1; }

# The peer: Debian's PyTorch, on OpenBLAS (without libopenblas0-pthread it runs on the reference BLAS,
# about 10x slower, and the ratio would be meaningless).
source "$root/infra/bench/lib.sh"
ensure_debian_packages python3-torch libopenblas0-pthread
echo "[bench] BLAS in use by the peer: $(update-alternatives --query libblas.so.3-$(dpkg-architecture -qDEB_HOST_MULTIARCH) 2>/dev/null | awk '/^Value:/ {print $2}')"

echo "[bench] checking that the peer script is the same model (golden outputs)"
/usr/bin/python3 infra/bench/s3d_reference.py parity "$weights" "$golden"

echo "[bench] building the bench driver (Release)"
dotnet build infra/bench/FeaturesBench -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
bench_dll="$root/infra/bench/FeaturesBench/bin/Release/net10.0/FeaturesBench.dll"

rate() { sed -n 's/.* rate=\([0-9.]*\).*/\1/p'; }
ours=(); peer=(); ratios=()
for ((r = 1; r <= runs; r++)); do
  line="$(dotnet "$bench_dll" "$weights" "$seconds" "$batch" "$threads" cpu)"; echo "  round $r: $line"
  ours+=("$(rate <<<"$line")")
  line="$(/usr/bin/python3 infra/bench/s3d_reference.py bench "$weights" "$seconds" "$batch" "$threads")"; echo "  round $r: $line"
  peer+=("$(rate <<<"$line")")
  # Back-to-back pairs share the machine's load at that moment: their ratio is the steadier figure.
  ratios+=("$(awk -v a="${ours[-1]}" -v b="${peer[-1]}" 'BEGIN { printf "%.4f", a / b }')")
  echo "  round $r: ratio ours/peer ${ratios[-1]}"
done
ours_median="$(printf '%s\n' "${ours[@]}" | median)"
peer_median="$(printf '%s\n' "${peer[@]}" | median)"
ratio_median="$(printf '%s\n' "${ratios[@]}" | median)"
echo
echo "S3D-G encode, CPU, ${seconds} s of 30x224x224 video, batch ${batch}, ${threads} thread(s), median of ${runs}:"
printf '  ours (TorchSharp %s)   %8.3f s of video / s\n' "0.107.0" "$ours_median"
printf '  peer (python3-torch)     %8.3f s of video / s\n' "$peer_median"
awk -v a="$ours_median" -v b="$peer_median" 'BEGIN { printf "  ratio of the medians      %8.3f\n", a / b }'
printf '  median of paired ratios  %8.3f  (target >= 0.9)\n' "$ratio_median"

if [[ "${DEVICE:-}" == cuda* ]]; then
  echo
  echo "[bench] CUDA (ours only, float16): $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"
  for ((r = 1; r <= runs; r++)); do
    dotnet "$bench_dll" "$weights" "$((seconds * 8))" "$((batch * 4))" "$threads" "$DEVICE"
  done
fi
