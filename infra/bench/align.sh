#!/usr/bin/env bash
# Caption alignment and token dropout benchmark (issue 21), on the synthetic corpus whose truth is known.
# The tiny model (pipelines/videoclip-tiny.json) is trained on the config's synthetic corpus with SHIFT of the training
# caption segments moved 2-6 s (earlier or later) and UNRELATED replaced by words the video does not show; held-out
# captions stay true. Three runs per seed, from the same initial weights:
#   plain    the reference behaviour (no alignment, no token dropout)
#   aligned  "alignment": {"enabled": true, "every": 1}: captions re-aligned with the current model before epochs 1..
#   dropout  "streamer": {"token_dropout": P}
# Reported (means over SEEDS run seeds): held-out text->video R@1 after EPOCHS epochs for each run; for the plain and
# aligned runs' final models, `align` over the training captions (W = 8 s): the fraction of shifted segments whose
# offset is recovered within +-1 s (chance 3/17 for a uniform pick in the window), the fraction of true segments
# left within +-1 s, and the ROC AUC of the alignability score for related vs unrelated segments; and the training
# step time (forward + backward) with and without token dropout, measured side by side on the same batches.
#   infra/bench/align.sh [EPOCHS] [SHIFT] [UNRELATED] [P] [SEEDS] [STEP_REPEATS]     (defaults 4, 0.3, 0.2, 0.5, 3, 60)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
epochs="${1:-4}"
shift_fraction="${2:-0.3}"
unrelated="${3:-0.2}"
p="${4:-0.5}"
seeds="${5:-3}"
repeats="${6:-60}"
work="${BENCH_DIR:-$(mktemp -d /tmp/videodata-align-bench.XXXXXX)}"
mkdir -p "$work"

echo "[bench] building the bench driver (Release)"
dotnet build infra/bench/AlignBench -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
echo "[bench] machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
dotnet "$root/infra/bench/AlignBench/bin/Release/net10.0/AlignBench.dll" \
  pipelines/videoclip-tiny.json "$work" "$epochs" "$shift_fraction" "$unrelated" "$p" "$seeds" "$repeats" | tee "$work/align-bench.log"
echo "[bench] machine: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; output in $work"
