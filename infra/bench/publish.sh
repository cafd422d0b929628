#!/usr/bin/env bash
# Publish cost per shard, before (per-video work files decoded and re-encoded into the shard) and after (segments assembled
# by copying column chunks), side by side in one process, alternating; medians of ROUNDS rounds.
#   infra/bench/publish.sh [VIDEOS] [SECONDS] [ROUNDS]     (defaults 512 120 3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
echo "[bench] building the bench driver (Release)"
dotnet build infra/bench/PublishBench -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
dotnet infra/bench/PublishBench/bin/Release/net10.0/PublishBench.dll "${1:-512}" "${2:-120}" "${3:-3}"
