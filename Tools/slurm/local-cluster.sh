#!/usr/bin/env bash
# A private single-node Slurm cluster (munged + slurmctld + slurmd) in one folder, for trying the sbatch
# script on one machine and for the scale-out tests (Tests/CLITests/BatchScaleOutTests.swift).
#
#   bash Tools/slurm/local-cluster.sh start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`; node idle when it returns
#   SLURM_CONF=DIR/slurm.conf sbatch --array=0-3 Tools/slurm/muscaps-batch.sbatch ...
#   bash Tools/slurm/local-cluster.sh stop DIR    # stops the three daemons by their pid files
#
# Everything lives in DIR: its own munge key and socket, free TCP ports, state, spool, logs, pid files,
# so it neither needs nor touches /etc/slurm or a munged already running. Needs root (slurmd runs jobs as
# their submitting user) and Debian's slurm-wlm and munge (Tools/setup.sh installs them).
set -euo pipefail

command=${1:-}; dir=${2:-}
[ -n "$command" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

stop_pidfile() {
  local file=$1
  [ -f "$file" ] || return 0
  local pid; pid=$(cat "$file" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

if [ "$command" = stop ]; then
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  stop_pidfile "$dir/munge/munged.pid"
  exit 0
fi
[ "$command" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "$0: must run as root (slurmd runs jobs as their submitting user)" >&2; exit 1; }
for tool in munged mungekey slurmctld slurmd sinfo; do
  command -v $tool >/dev/null || { echo "$0: $tool not found; run Tools/setup.sh (Debian packages slurm-wlm, munge)" >&2; exit 1; }
done

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
chmod 755 "$dir"

# munge: a fresh key; munged refuses group/world-writable folders, and runs as the munge user.
[ -f "$dir/munge/munge.key" ] || mungekey -c -k "$dir/munge/munge.key" >/dev/null
chown -R munge:munge "$dir/munge"
chmod 700 "$dir/munge"
chmod 400 "$dir/munge/munge.key"
socket="$dir/munge/munge.socket"
runuser -u munge -- munged --force --socket="$socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"

# Two free TCP ports (a port just released by the kernel is not handed out again at once).
read -r ctld_port slurmd_port < <(python3 - <<'PY' 2>/dev/null || echo "$((20000 + RANDOM % 20000)) $((40000 + RANDOM % 20000))"
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))
PY
)

node=$(hostname -s)
memory=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024 ))
cat > "$dir/slurm.conf" <<CONF
ClusterName=muscaps-local
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld
slurmd
for _ in $(seq 100); do
  if sinfo -h -o %T 2>/dev/null | grep -q '^idle'; then echo "export SLURM_CONF=$SLURM_CONF"; exit 0; fi
  sleep 0.2
done
echo "$0: the node did not become idle within 20 s; logs in $dir/log" >&2
sinfo >&2 || true
exit 1
