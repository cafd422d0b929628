#!/usr/bin/env bash
# A single-node Slurm cluster on loopback, for the test suite and for trying the Slurm scripts by hand.
#
#   infra/slurm/local-cluster.sh up [STATE_DIR]     install slurm-wlm + munge if missing, start munged (unless one
#                                                   already answers), slurmctld and slurmd; prints SLURM_CONF=...
#   infra/slurm/local-cluster.sh down [STATE_DIR]   stop what `up` started (slurmd, slurmctld, munged) and forget its state
#   infra/slurm/local-cluster.sh env [STATE_DIR]    prints `export SLURM_CONF=...` for a shell: eval "$(... env)"
#
# Then, from the repository root:
#   eval "$(infra/slurm/local-cluster.sh env)"
#   sbatch --array=0-3 --cpus-per-task=1 --mem=1G infra/slurm/preprocess.sbatch pipelines/demo.json out/slurm
#
# Needs root (or sudo): the daemons run as root (SlurmUser=root) and munged as the munge user. Everything
# this cluster writes (config, state, spool, logs, pid files) lives in STATE_DIR (default
# /tmp/videodata-slurm); only munged uses the system's /etc/munge/munge.key, /run/munge and /var/log/munge.
# Ports are private (VIDEODATA_SLURMCTLD_PORT, default 16817; slurmd on the next port), so a real Slurm
# installation on the same machine is not disturbed. Plugins are the ones that need no cgroups or accounting
# daemon: proctrack/linuxproc, task/none, jobacct_gather/none, no accounting storage.
set -euo pipefail

command="${1:-}"
state="${2:-${VIDEODATA_SLURM_STATE:-/tmp/videodata-slurm}}"
ctld_port="${VIDEODATA_SLURMCTLD_PORT:-16817}"
slurmd_port=$((ctld_port + 1))
conf="$state/slurm.conf"

say() { printf '[slurm] %s\n' "$*" >&2; }
die() { printf '[slurm] error: %s\n' "$*" >&2; exit 1; }

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || die "the Slurm daemons run as root: run this script as root or install sudo"
  as_root=(sudo)
fi

install_missing() {
  local missing=() p
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  say "installing Debian packages: ${missing[*]}"
  "${as_root[@]}" apt-get update -qq
  # The packages' own services are not wanted (they would start on the default ports with /etc/slurm).
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

munge_answers() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munged() {
  if munge_answers; then
    say "munged already answers; using it"
    return 0
  fi
  # munged refuses to start when /dev/null is not the character device (something replaced it with a file).
  [[ -c /dev/null ]] || die "/dev/null is not a character device (ls -l /dev/null); restore it: rm -f /dev/null && mknod -m 666 /dev/null c 1 3"
  [[ -s /etc/munge/munge.key ]] || "${as_root[@]}" runuser -u munge -- mungekey --create --keyfile /etc/munge/munge.key
  # munged insists that its socket and log folders belong to the user it runs as.
  "${as_root[@]}" install -d -o munge -g munge -m 0755 /run/munge
  "${as_root[@]}" install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  "${as_root[@]}" runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do
    munge_answers && { touch "$state/munged.ours"; say "munged started"; return 0; }
    sleep 0.1
  done
  die "munged did not answer within 5 s (see /var/log/munge/munged.log)"
}

write_conf() {
  local host cpus memory
  host="$(hostname -s)"
  cpus="$(nproc --all)"
  memory=$(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 * 9 / 10 ))
  mkdir -p "$state/ctld" "$state/spool" "$state/log"
  cat >"$conf" <<CONF
# Written by infra/slurm/local-cluster.sh: one node on loopback, no cgroups, no accounting.
ClusterName=videodata
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MaxArraySize=10001
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

wait_node_idle() {
  local state_now=""
  for _ in $(seq 150); do
    state_now="$(SLURM_CONF="$conf" sinfo -h -N -o '%T' 2>/dev/null | head -n 1 || true)"
    case "$state_now" in
      idle*|mixed*|allocated*) say "node is $state_now"; return 0 ;;
    esac
    sleep 0.2
  done
  die "the node did not become idle within 30 s (state '${state_now:-none}'); logs in $state/log"
}

up() {
  install_missing
  mkdir -p "$state"
  if pid_alive "$state/slurmctld.pid" && pid_alive "$state/slurmd.pid"; then
    say "already running (state $state)"
    echo "SLURM_CONF=$conf"
    return 0
  fi
  start_munged
  write_conf
  # -c: start clean, without jobs a previous cluster in this folder left behind.
  "${as_root[@]}" /usr/sbin/slurmctld -c -f "$conf"
  "${as_root[@]}" /usr/sbin/slurmd -f "$conf"
  wait_node_idle
  echo "SLURM_CONF=$conf"
}

stop_pid_file() {
  local file=$1 name=$2 pid
  pid_alive "$file" || return 0
  pid="$(cat "$file")"
  "${as_root[@]}" kill "$pid"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { say "$name stopped"; return 0; }
    sleep 0.1
  done
  "${as_root[@]}" kill -KILL "$pid" 2>/dev/null || true
  say "$name killed"
}

down() {
  [[ -d $state ]] || { say "nothing to stop in $state"; return 0; }
  if [[ -f $conf ]] && pid_alive "$state/slurmctld.pid"; then
    SLURM_CONF="$conf" scancel --full --quiet --partition=local 2>/dev/null || true
  fi
  stop_pid_file "$state/slurmd.pid" slurmd
  stop_pid_file "$state/slurmctld.pid" slurmctld
  if [[ -f $state/munged.ours ]]; then
    local pid
    pid="$(cat /run/munge/munged.pid 2>/dev/null || true)"
    [[ -n $pid ]] && { "${as_root[@]}" kill "$pid" 2>/dev/null || true; say "munged stopped"; }
  fi
  "${as_root[@]}" rm -rf "$state"
}

case "$command" in
  up) up ;;
  down) down ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) echo "usage: $0 up|down|env [STATE_DIR]" >&2; exit 2 ;;
esac
