#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the main job on the embedded
# default (local folder, CPU, a small generated sample corpus).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
./infra/scripts/setup.sh
./infra/scripts/videodata doctor
# The main job end to end: a generated corpus preprocessed to out/demo/features on the CPU.
./infra/scripts/videodata demo --out out/demo "$@"
