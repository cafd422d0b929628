#!/usr/bin/env bash
# Builds the videodata container image with podman and checks that it runs: `videodata doctor`, `videodata demo`,
# and a preprocess that reads its corpus from and writes its shards to a local S3 server (s3rver on the host's
# loopback, reached through --network=host). Needs root (or sudo) for apt and podman; run from anywhere:
#
#   infra/docker/build-and-check.sh                 # build + check; the image is localhost/videodata:0.1.0
#   IMAGE=localhost/videodata:dev infra/docker/build-and-check.sh
#   REUSE_PUBLISH=1 infra/docker/build-and-check.sh    # keep artifacts/publish/linux-x64 from the last run
#   BASE_IMAGE=docker.io/library/debian:bookworm-slim infra/docker/build-and-check.sh   # where a registry is reachable
#
# Without BASE_IMAGE the base is made from Debian's own packages (no registry needed): mmdebstrap --variant=minbase
# bookworm into a tarball, imported as localhost/videodata-base:bookworm (once; reused while it exists).
# Podman runs with the runc runtime and its own containers.conf (default_ulimits = [], cgroup_manager = "cgroupfs"):
# crun fails here on setrlimit and on hybrid cgroups. Everything temporary lives in WORK (default
# artifacts/container), and the s3rver it starts is stopped on exit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
image="${IMAGE:-localhost/videodata:0.1.0}"
work="${WORK:-$root/artifacts/container}"
base="${BASE_IMAGE:-}"
start_time=$SECONDS

say() { printf '\033[1m[image]\033[0m %s (%ds)\n' "$*" "$((SECONDS - start_time))" >&2; }
die() { printf '[image] error: %s\n' "$*" >&2; exit 1; }

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || die "podman and apt need root here: run as root or install sudo"
  as_root=(sudo)
fi

missing=()
for p in podman runc mmdebstrap curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[[ -c /dev/null ]] || die "/dev/null is not a character device; restore it: rm -f /dev/null && mknod -m 666 /dev/null c 1 3"

mkdir -p "$work"
cat >"$work/containers.conf" <<'CONF'
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
export CONTAINERS_CONF="$work/containers.conf"
podman=("${as_root[@]}" env "CONTAINERS_CONF=$CONTAINERS_CONF" podman)

if [[ -z $base ]]; then
  base=localhost/videodata-base:bookworm
  if ! "${podman[@]}" image exists "$base"; then
    say "building the Debian 12 base from Debian's packages (mmdebstrap --variant=minbase bookworm)"
    "${as_root[@]}" mmdebstrap --quiet --variant=minbase bookworm "$work/base.tar"
    "${podman[@]}" import "$work/base.tar" "$base" >/dev/null
    rm -f "$work/base.tar"
  fi
fi

if [[ ${REUSE_PUBLISH:-0} == 1 && -x artifacts/publish/linux-x64/videodata ]]; then
  say "reusing artifacts/publish/linux-x64 (REUSE_PUBLISH=1)"
else
  say "publishing src/VideoData.Cli (Release, linux-x64, self-contained)"
  rm -rf artifacts/publish/linux-x64
  dotnet publish src/VideoData.Cli -c Release -r linux-x64 --self-contained -o artifacts/publish/linux-x64 \
    -nologo -v quiet -clp:ErrorsOnly -m:1 -nodeReuse:false
fi
foreign=$(find artifacts/publish/linux-x64 \( -name '*.dll' -path '*runtimes/win*' -o -name '*.dylib' \) | head -n 3)
[[ -z $foreign ]] || die "the linux-x64 publish carries other platforms' native libraries: $foreign"

say "building $image from infra/docker/Dockerfile (base $base)"
"${podman[@]}" build --pull=never --network=host --build-arg "BASE_IMAGE=$base" -f infra/docker/Dockerfile -t "$image" . >"$work/build.log" 2>&1 \
  || { tail -n 40 "$work/build.log" >&2; die "podman build failed (log: $work/build.log)"; }
say "image size: $("${podman[@]}" image inspect --format '{{.Size}}' "$image" | awk '{ printf "%.0f MB", $1 / 1e6 }')"

run=("${podman[@]}" run --rm --network=host)
user="$("${run[@]}" --entrypoint /usr/bin/id "$image" -u)"
[[ $user == 10001 ]] || die "the image runs as uid $user, not the non-root 10001"

say "videodata doctor"
"${run[@]}" "$image" doctor

say "videodata demo"
"${run[@]}" "$image" demo --out /home/videodata/demo

# A preprocess through S3: s3rver on the host's loopback; the corpus is generated and uploaded from inside the
# image's own tool run (demo's corpus generator) and curl's SigV4 (no AWS CLI needed).
[[ -f .tools/node_modules/s3rver/bin/s3rver.js ]] || die "s3rver is not installed: run infra/scripts/setup.sh --tests"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rm -rf "$work/s3" && mkdir -p "$work/s3" "$work/corpus"
node --openssl-legacy-provider .tools/node_modules/s3rver/bin/s3rver.js --directory "$work/s3" --address 127.0.0.1 --port "$port" --silent &
s3rver_pid=$!
trap 'kill "$s3rver_pid" 2>/dev/null || true' EXIT
endpoint="http://127.0.0.1:$port"
s3() { curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
for _ in $(seq 100); do curl -s -o /dev/null "$endpoint" && break; sleep 0.1; done
s3 -X PUT "$endpoint/corpus" >/dev/null
s3 -X PUT "$endpoint/features" >/dev/null

say "generating a corpus with the image (videodata demo) and uploading it to s3rver"
chmod 0777 "$work/corpus"
"${run[@]}" -v "$work/corpus:/data" "$image" demo --out /data/demo >/dev/null
( cd "$work/corpus/demo/corpus" && find . -type f ! -name manifest.csv | while read -r f; do s3 -T "$f" "$endpoint/corpus/${f#./}" >/dev/null; done )
awk -F, 'NR == 1 { print; next } { printf "%s,s3://corpus/%s,%s\n", $1, $2, ($3 == "" ? "" : "s3://corpus/" $3) }' \
  "$work/corpus/demo/corpus/manifest.csv" >"$work/manifest-s3.csv"
s3 -T "$work/manifest-s3.csv" "$endpoint/corpus/manifest-s3.csv" >/dev/null
expected=$(($(wc -l <"$work/manifest-s3.csv") - 1))

say "videodata preprocess: s3://corpus -> s3://features through $endpoint"
"${run[@]}" -e AWS_ACCESS_KEY_ID=S3RVER -e AWS_SECRET_ACCESS_KEY=S3RVER "$image" preprocess \
  --pipeline /app/pipelines/demo.json --manifest s3://corpus/manifest-s3.csv --output s3://features/demo --progress json \
  --set "s3.endpoint_url=\"$endpoint\"" --set s3.force_path_style=true --set s3.use_chunk_encoding=false --set 's3.checksum_mode="when_required"' \
  --set s3.region='"us-east-1"'
listing="$(s3 "$endpoint/features?list-type=2&prefix=demo/")"
shards=$(grep -o '<Key>demo/shards/[^<]*\.parquet</Key>' <<<"$listing" | wc -l)
ledgers=$(grep -o '<Key>demo/ledger/[^<]*\.json</Key>' <<<"$listing" | wc -l)
((shards > 0 && ledgers == shards)) || die "expected shards and one ledger per shard in s3://features/demo/, found $shards shards and $ledgers ledgers"
say "preprocess wrote $shards shards and $ledgers ledgers for a manifest of $expected videos"
say "done: $image built and checked in $((SECONDS - start_time)) s"
