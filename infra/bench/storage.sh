#!/usr/bin/env bash
# Storage benchmark: read throughput of our seekable S3 stream vs `aws s3 cp` (Debian's awscli) for the same
# 256 MiB object on a local S3 server (s3rver on loopback), run side by side, alternating; plus upload
# throughput (our multipart writer vs `aws s3 cp` up) and the seek cost of our stream (requests per seek).
# Whole-process wall times (start-up included) are compared; medians of RUNS runs. Ratio > 1: ours is faster.
#   infra/bench/storage.sh [RUNS]        (default 3; needs infra/scripts/setup.sh --tests for s3rver)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
runs="${1:-3}"
size_mib=256

s3rver="$root/.tools/node_modules/s3rver/bin/s3rver.js"
[[ -f "$s3rver" ]] || { echo "[bench] s3rver is missing: run infra/scripts/setup.sh --tests" >&2; exit 1; }
source "$root/infra/bench/lib.sh"
ensure_debian_packages awscli
aws=/usr/bin/aws

echo "[bench] building the bench driver (Release)"
dotnet build infra/bench/StorageBench -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
bench_dll="$root/infra/bench/StorageBench/bin/Release/net10.0/StorageBench.dll"

work="$(mktemp -d "${TMPDIR:-/tmp}/videodata-storage-bench-XXXXXX")"
out_dir=/dev/shm; [[ -d $out_dir && -w $out_dir ]] || out_dir="$work"
out_file="$(mktemp "$out_dir/videodata-bench-out-XXXXXX")"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work" "$out_file"
}
trap cleanup EXIT

port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
endpoint="http://127.0.0.1:$port"
mkdir -p "$work/data"
# DES continuation tokens need OpenSSL 3's legacy provider.
node --openssl-legacy-provider "$s3rver" --directory "$work/data" --address 127.0.0.1 --port "$port" --silent &
server_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_CONFIG_FILE="$work/aws-config"
printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' > "$AWS_CONFIG_FILE"
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 VIDEODATA_S3_ENDPOINT || true

echo "[bench] making a ${size_mib} MiB object on $endpoint"
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/object.bin"
source_sha="$(sha256sum "$work/object.bin" | cut -d' ' -f1)"
"$aws" --endpoint-url "$endpoint" s3 mb s3://bench >/dev/null
"$aws" --endpoint-url "$endpoint" s3 cp "$work/object.bin" s3://bench/object.bin --only-show-errors

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_it() { local t0 t1; t0=$(now); "$@" >>"$work/log" 2>&1; t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'; }

ours_read=(); aws_read=(); ours_write=(); aws_write=()
for i in $(seq "$runs"); do
  ours_read+=("$(time_it dotnet "$bench_dll" "$endpoint" s3://bench/object.bin read)")
  aws_read+=("$(time_it "$aws" --endpoint-url "$endpoint" s3 cp s3://bench/object.bin "$out_file" --only-show-errors)")
  ours_write+=("$(time_it dotnet "$bench_dll" "$endpoint" "s3://bench/up-ours-$i.bin" write "$work/object.bin")")
  aws_write+=("$(time_it "$aws" --endpoint-url "$endpoint" s3 cp "$work/object.bin" "s3://bench/up-aws-$i.bin" --only-show-errors)")
done

# Sanity: both sides moved the right bytes.
[[ "$(sha256sum "$out_file" | cut -d' ' -f1)" == "$source_sha" ]] || { echo "[bench] aws download differs from the source" >&2; exit 1; }
"$aws" --endpoint-url "$endpoint" s3 cp "s3://bench/up-ours-1.bin" "$out_file" --only-show-errors
[[ "$(sha256sum "$out_file" | cut -d' ' -f1)" == "$source_sha" ]] || { echo "[bench] our upload differs from the source" >&2; exit 1; }

seek_line="$(dotnet "$bench_dll" "$endpoint" s3://bench/object.bin seek 200 65536)"

report() {
  local name=$1 ours=$2 theirs=$3
  local mo mt
  mo=$(printf '%s\n' $ours | median); mt=$(printf '%s\n' $theirs | median)
  awk -v n="$name" -v o="$mo" -v t="$mt" -v m="$size_mib" 'BEGIN {
    printf "%-8s ours %6.2f s (%7.1f MiB/s)   aws s3 cp %6.2f s (%7.1f MiB/s)   ratio (ours/aws throughput) %.2f\n", n, o, m / o, t, m / t, t / o }'
}
echo
echo "storage bench: ${size_mib} MiB object, s3rver on loopback, median of $runs whole-process runs, $(nproc) cores"
report read "${ours_read[*]}" "${aws_read[*]}"
report write "${ours_write[*]}" "${aws_write[*]}"
echo "seek     $seek_line"
echo "in-process (last run): $(grep '^read ' "$work/log" | tail -1)"
