#!/usr/bin/env bash
# Decode benchmark (issue 5). On a generated 640x360 30 fps H.264 video of DURATION seconds (default 120),
# with the same decoder thread count everywhere (THREADS, default: the core count):
#   1. `videodata decode` vs the ffmpeg CLI running the reference filters (fps=30,scale=398:224,crop=224:224,
#      rgb24) vs a PyAV loop (Debian python3-av: frame threading, swscale bicubic resize, crop);
#   2. N videos decoded concurrently in one process (DecodeBench, through VideoData.Media) vs N ffmpeg CLI
#      processes in parallel, N = 2, 4, 8, one decoder thread per video on both sides.
#      DecodeBench reads every pixel of every chunk (a checksum), as the CLI side pipes every byte to `wc -c`.
# Whole-process wall and CPU times (user+sys, start-up included; GNU time), medians of RUNS runs, run
# alternately; frames/s, the cores each side kept busy (cpu/wall), the load average and ratios (ours/peer:
# > 1 means ours is faster, or cheaper per frame for CPU) are printed.
# Reading the wall figures on a shared machine: when the load average is above the core count, the wall
# time of a run is set by the share of the cores the kernel gives it, not by how fast it decodes. With
# autogroup scheduling (one group per session, /proc/sys/kernel/sched_autogroup_enabled) a group whose
# threads keep waking up preempts the other sessions' groups on each wake-up and gets a larger share than a
# group whose threads never block. Each ffmpeg CLI process wakes two rawvideo encoder threads (output
# threads default to auto) about once a frame and blocks on its pipe to `wc`; the in-process decode threads
# never block. Measured here at load 14-21, alternating runs of 4 decodes of a 30 s video, all with the same
# CPU time (9.3-9.7 s): 4 ffmpeg processes took 10-12 s to /dev/null, but 17-22 s with `-threads 1` on the
# output too (no helper threads, same work), 5.3-6.2 s piped to wc; our 4 decode threads 15-24 s, as did
# 4 plain CPU-spinning threads or processes. So the alternate runs' wall ratio is only meaningful on a quiet
# machine (load below the core count). The "same time" lines start both sides together (same session, same
# load), which removes most of the bias (the wake-ups still preempt the other side's threads within the
# group); one side finishing first leaves the other the cores, so that wall ratio is pulled towards 1. The
# CPU ratios compare the work itself.
#   infra/bench/decode.sh [RUNS] [DURATION] [THREADS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
runs="${1:-3}"
duration="${2:-120}"
threads="${3:-$(nproc)}"

source "$root/infra/bench/lib.sh"
ensure_debian_packages python3-av

echo "[bench] building videodata and the bench driver (Release)"
dotnet build src/VideoData.Cli -c Release -nologo -v quiet -clp:ErrorsOnly
dotnet build infra/bench/DecodeBench -c Release -nologo -v quiet -clp:ErrorsOnly
videodata="$root/src/VideoData.Cli/bin/Release/net10.0/videodata.dll"
bench_dll="$root/infra/bench/DecodeBench/bin/Release/net10.0/DecodeBench.dll"

work="$(mktemp -d "${TMPDIR:-/tmp}/videodata-decode-bench-XXXXXX")"
trap 'rm -rf "$work"' EXIT
video="$work/bench_640x360_30fps.mp4"
echo "[bench] generating a ${duration} s 640x360 30 fps H.264 video"
# testsrc2 with temporal noise so the bitstream is closer to camera footage than a clean test pattern.
ffmpeg -hide_banner -loglevel error -nostdin -f lavfi -i "testsrc2=size=640x360:rate=30:duration=$duration" \
  -vf "noise=alls=10:allf=t" -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p "$video"
filters="fps=30,scale=398:224,crop=224:224"

# time_it OUTFILE CMD...: runs CMD with stdout to OUTFILE, prints "wall_seconds,cpu_seconds" (children included).
time_it() {
  local out=$1; shift
  /usr/bin/time -f '%e %U %S' -o "$out.time" "$@" >"$out" 2>>"$work/log"
  awk '{ printf "%.3f,%.3f\n", $1, $2 + $3 }' "$out.time"
}
wall() { printf '%s\n' "$@" | cut -d, -f1 | median; }
cpu() { printf '%s\n' "$@" | cut -d, -f2 | median; }
load() { cut -d' ' -f1 /proc/loadavg; }

frames_ref=$(ffmpeg -hide_banner -loglevel error -nostdin -i "$video" -vf "$filters" -pix_fmt rgb24 -f rawvideo - | wc -c)
frames_ref=$((frames_ref / (224 * 224 * 3)))

echo "[bench] single video, $threads decoder threads, $runs runs each"
ours=(); cli=(); pyav=()
for _ in $(seq "$runs"); do
  ours+=("$(time_it "$work/ours.out" dotnet "$videodata" decode "$video" --out - --decoder cpu --threads "$threads")")
  cli+=("$(time_it "$work/cli.out" ffmpeg -hide_banner -loglevel error -nostdin -threads "$threads" -i "$video" -filter_threads "$threads" -vf "$filters" -pix_fmt rgb24 -f rawvideo -)")
  pyav+=("$(time_it "$work/pyav.out" /usr/bin/python3 infra/bench/decode_pyav.py "$threads" 224 "$video")")
done
frames_ours=$(( $(stat -c %s "$work/ours.out") / (224 * 224 * 3) ))
frames_pyav=$(sed -n 's/^frames=\([0-9]*\).*/\1/p' "$work/pyav.out")
cmp -s "$work/ours.out" "$work/cli.out" && same="identical bytes" || same="bytes differ (the parity tests bound them at >= 40 dB PSNR)"
echo "[bench] frames: videodata $frames_ours, ffmpeg CLI $frames_ref, PyAV $frames_pyav; videodata vs CLI output: $same"

awk -v f="$frames_ref" -v o="$(wall "${ours[@]}")" -v c="$(wall "${cli[@]}")" -v p="$(wall "${pyav[@]}")" \
    -v oc="$(cpu "${ours[@]}")" -v cc="$(cpu "${cli[@]}")" -v pc="$(cpu "${pyav[@]}")" 'BEGIN {
  printf "single   wall: videodata decode %7.2f s (%6.0f frames/s)   ffmpeg CLI %7.2f s (%6.0f frames/s)   PyAV %7.2f s (%6.0f frames/s)\n", o, f / o, c, f / c, p, f / p
  printf "single   cpu:  videodata decode %7.2f s   ffmpeg CLI %7.2f s   PyAV %7.2f s\n", oc, cc, pc
  printf "single   ratio wall videodata/CLI %.2f   videodata/PyAV %.2f   (PyAV/CLI %.2f)\n", c / o, p / o, c / p
  printf "single   ratio cpu  videodata/CLI %.2f   videodata/PyAV %.2f   (PyAV/CLI %.2f)\n", cc / oc, pc / oc, cc / pc }'

# N ffmpeg CLI processes at once, one decoder thread each, each piping its frames to `wc -c`: n_ffmpeg N VIDEO FILTERS.
n_ffmpeg=(bash -c 'for i in $(seq "$1"); do ffmpeg -hide_banner -loglevel error -nostdin -threads 1 -i "$2" -filter_threads 1 -vf "$3" -pix_fmt rgb24 -f rawvideo - | wc -c & done; wait' n_ffmpeg)

echo "[bench] many videos: N concurrent decodes, one decoder thread each, $runs runs each (load average now $(load) on $(nproc) cores)"
for n in 2 4 8; do
  files=(); for _ in $(seq "$n"); do files+=("$video"); done
  ours=(); cli=(); ours_together=(); cli_together=(); loads=()
  for _ in $(seq "$runs"); do
    loads+=("$(load)")
    ours+=("$(time_it "$work/ours.out" dotnet "$bench_dll" 1 "${files[@]}")")
    cli+=("$(time_it "$work/cli.out" "${n_ffmpeg[@]}" "$n" "$video" "$filters")")
  done
  for _ in $(seq "$runs"); do
    time_it "$work/together_ours.out" dotnet "$bench_dll" 1 "${files[@]}" >"$work/together_ours.t" &
    time_it "$work/together_cli.out" "${n_ffmpeg[@]}" "$n" "$video" "$filters" >"$work/together_cli.t" &
    wait
    ours_together+=("$(cat "$work/together_ours.t")")
    cli_together+=("$(cat "$work/together_cli.t")")
  done
  got=$(sed -n 's/^frames=//p' "$work/ours.out")
  [[ "$got" == $((n * frames_ref)) ]] || echo "[bench] warning: DecodeBench produced $got frames, expected $((n * frames_ref))"
  awk -v n="$n" -v f="$((n * frames_ref))" -v o="$(wall "${ours[@]}")" -v c="$(wall "${cli[@]}")" -v oc="$(cpu "${ours[@]}")" -v cc="$(cpu "${cli[@]}")" \
      -v to="$(wall "${ours_together[@]}")" -v tc="$(wall "${cli_together[@]}")" -v toc="$(cpu "${ours_together[@]}")" -v tcc="$(cpu "${cli_together[@]}")" -v l="$(printf '%s\n' "${loads[@]}" | median)" 'BEGIN {
    printf "N=%-2d alternate  in-process %7.2f s wall (%6.0f frames/s), %7.2f s cpu (%.2f cores)   %d ffmpeg processes %7.2f s wall (%6.0f frames/s), %7.2f s cpu (%.2f cores)   ratio wall %.2f cpu %.2f   (load %s)\n", n, o, f / o, oc, oc / o, n, c, f / c, cc, cc / c, c / o, cc / oc, l
    printf "N=%-2d same time  in-process %7.2f s wall (%6.0f frames/s), %7.2f s cpu   %d ffmpeg processes %7.2f s wall (%6.0f frames/s), %7.2f s cpu   ratio wall %.2f cpu %.2f\n", n, to, f / to, toc, n, tc, f / tc, tcc, tc / to, tcc / toc }'
done
