#!/usr/bin/env bash
# Installs what VideoData needs on Debian 12 and builds it.
#   setup.sh            FFmpeg 5.1 runtime libraries + CLI, Open MPI 4.1 (mpirun), restore, build (what `videodata` needs)
#   setup.sh --tests    also the FFmpeg and Open MPI headers and a C compiler (struct-offset and constant tests), and the pinned
#                       npm test tools (s3rver, DuckDB, the Kubernetes schema) into .tools/ (never globally),
#                       Slurm and munge (a loopback cluster), Chromium (the report tests load the HTML reports headless)
# Safe to run again: it installs only what is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
with_tests=0
[[ "${1:-}" == "--tests" ]] && with_tests=1

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

packages=(ffmpeg libavformat59 libavcodec59 libavutil57 libswscale6)
packages+=(openmpi-bin)  # Open MPI 4.1 (mpirun, libmpi.so.40): data-parallel `videodata train`/`cluster` under mpirun or srun --mpi=pmix
if ((with_tests)); then
  packages+=(libavformat-dev libavcodec-dev libavutil-dev libswscale-dev pkg-config gcc libc6-dev)
  packages+=(slurm-wlm munge)  # the single-node Slurm cluster of SlurmClusterTests (infra/slurm/local-cluster.sh)
  packages+=(libopenmpi-dev)  # mpi.h: the MPI binding's constants are checked against it
  packages+=(chromium)  # the report tests load the HTML reports in headless Chromium
  command -v npm >/dev/null || packages+=(nodejs npm)  # s3rver and DuckDB run on Node.js (Debian 12: Node 18)
  packages+=(python3-torch python3-numpy)  # the training export test loads our .pth with PyTorch itself
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "[setup] need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

if ((with_tests)); then
  if [[ ! -d .tools/node_modules/s3rver || ! -d .tools/node_modules/@duckdb/node-api || ! -d .tools/node_modules/kubernetes-models || infra/tools/package.json -nt .tools/package.json ]]; then
    say "installing pinned npm test tools into .tools/"
    mkdir -p .tools
    cp infra/tools/package.json .tools/package.json
    (cd .tools && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  else
    say "npm test tools present in .tools/"
  fi
fi

say "restoring and building (Release)"
dotnet build VideoData.sln -c Release -nologo -v quiet -clp:ErrorsOnly
