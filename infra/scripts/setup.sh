#!/usr/bin/env bash
# Installs what VideoData needs on Debian 12 and builds it.
#   setup.sh            FFmpeg 5.1 runtime libraries + CLI, restore, build (what `videodata` needs)
#   setup.sh --tests    also the FFmpeg headers and a C compiler (struct-offset test), Chromium (the
#                       report tests load the HTML reports headless), and the pinned
#                       npm test tools (s3rver, DuckDB) into .tools/ (never globally)
# Safe to run again: it installs only what is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
with_tests=0
[[ "${1:-}" == "--tests" ]] && with_tests=1

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

packages=(ffmpeg libavformat59 libavcodec59 libavutil57 libswscale6)
if ((with_tests)); then
  packages+=(libavformat-dev libavcodec-dev libavutil-dev libswscale-dev pkg-config gcc libc6-dev)
  packages+=(chromium)  # the report tests load the HTML reports in headless Chromium
  command -v npm >/dev/null || packages+=(nodejs npm)  # s3rver and DuckDB run on Node.js (Debian 12: Node 18)
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
  if [[ ! -d .tools/node_modules/s3rver || ! -d .tools/node_modules/@duckdb/node-api || infra/tools/package.json -nt .tools/package.json ]]; then
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
