#!/usr/bin/env bash
# Installs what the tests need (infra/scripts/setup.sh --tests) and runs every test in VideoData.sln.
# Ends with one line "N passed, N failed, N skipped" computed from the TRX result files, and exits
# non-zero if any test failed or any test project did not report.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

./infra/scripts/setup.sh --tests || { echo "0 passed, 1 failed"; echo "[test] setup failed" >&2; exit 1; }

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
