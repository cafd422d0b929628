#!/usr/bin/env bash
# Installs what the tests need (infra/scripts/setup.sh --tests) and runs every test in VideoData.sln.
# Ends with one line "N passed, N failed, N skipped" computed from the TRX result files, and exits
# non-zero if any test failed or any test project did not report.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

./infra/scripts/setup.sh --tests || { echo "0 passed, 1 failed"; echo "[test] setup failed" >&2; exit 1; }

# oneDNN 3.7 (in TorchSharp's libtorch 2.10) picks AVX-512 kernels for S3D-G's fp32 3-D convolutions on AVX-512
# machines; on the development host (AMD EPYC with AVX-512) they put the golden "small" input 3.3e-4 off the reference
# (the reference is 2.6e-7 off a float64 run), while the AVX2 kernels stay within the parity bound. Capped at AVX2
# unless the caller chose a value: ONEDNN_MAX_CPU_ISA=ALL restores the widest kernels.
export ONEDNN_MAX_CPU_ISA="${ONEDNN_MAX_CPU_ISA:-AVX2}"
results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

# A hung test must not eat CI's time: the blame collector kills a test host stuck for 10 minutes.
dotnet test VideoData.sln -c Release --no-build -nologo \
  --logger "trx;LogFilePrefix=results" --results-directory "$results" \
  --blame-hang-timeout 10m -- RunConfiguration.TreatNoTestsAsError=false
status=$?

passed=0 failed=0 skipped=0 reported=0
attr() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$2"; }
for trx in "$results"/*.trx; do
  [[ -e $trx ]] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  [[ -n $counters ]] || continue
  reported=$((reported + 1))
  passed=$((passed + $(attr passed "$counters")))
  failed=$((failed + $(attr failed "$counters") + $(attr error "$counters") + $(attr timeout "$counters") + $(attr aborted "$counters")))
  skipped=$((skipped + $(attr notExecuted "$counters")))
done

projects=$(ls tests/*.Tests/*.Tests.csproj | wc -l)
if ((reported < projects)); then
  echo "[test] only $reported of $projects test projects reported results (a test host crashed or hung); counting each missing one as a failure" >&2
  failed=$((failed + projects - reported))
fi
if ((status != 0 && failed == 0)); then
  echo "[test] dotnet test exited with $status but no test failed; counting that as a failure" >&2
  failed=1
fi

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
