#!/usr/bin/env bash
# Stop everything the SLURM lab started (idempotent). Called by lab/lab.sh down [--purge].
# Installed packages and data are kept unless --purge is given.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
require_root down
take_lock
PURGE=0
[[ ${1:-} == --purge ]] && PURGE=1
T0=$(now)
[[ -d $RUN ]] || install -d "$RUN"

stop_daemon sshd sshd

# Nodes: the slurmd, then whatever is left in the node's namespace (slurmstepd, job
# processes). Only processes inside the lab's own namespaces are touched.
for n in "${NODES[@]}"; do
  stop_daemon "slurmd-$n" slurmd 10
  if [[ -e /run/netns/$n ]]; then
    pids=$(ip netns pids "$n" 2>/dev/null || true)
    if [[ -n $pids ]]; then
      say "stopping $(wc -w <<<"$pids") leftover process(es) in netns $n"
      # shellcheck disable=SC2086
      kill -TERM $pids 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        [[ -z $(ip netns pids "$n" 2>/dev/null) ]] && break
        sleep 0.1
      done
      pids=$(ip netns pids "$n" 2>/dev/null || true)
      # shellcheck disable=SC2086
      [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
    fi
  fi
done
stop_daemon slurmctld slurmctld

if ((PURGE)) && [[ ! -e $RUN/mariadb.external ]] && mariadb_works; then
  stop_daemon slurmdbd slurmdbd
  say "dropping database slurm_acct_db"
  mariadb --protocol=socket -uroot </dev/null -e "DROP DATABASE IF EXISTS slurm_acct_db; DROP USER IF EXISTS 'slurm'@'localhost';"
fi
stop_daemon slurmdbd slurmdbd
if [[ -e $RUN/mariadb.external ]]; then
  say "MariaDB was not started by the lab: left running"
else
  stop_daemon mariadb mariadbd 60
fi
if [[ -e $RUN/munged.external ]]; then
  say "munged was not started by the lab: left running"
else
  stop_daemon munged munged
fi

# Network: veths, namespaces, bridge, /etc/hosts block.
for n in "${NODES[@]}"; do
  ip link del "mlv-$n" 2>/dev/null || true
  if [[ -e /run/netns/$n ]]; then ip netns del "$n" 2>/dev/null || true; fi
done
ip link del "$BRIDGE" 2>/dev/null || true
if grep -qxF "$HOSTS_BEGIN" /etc/hosts; then
  others=$(hosts_without_lab_block) || die "cannot read /etc/hosts"
  printf '%s\n' "$others" >/etc/hosts
fi

if ((PURGE)); then
  say "purging $LAB_DIR $LAB_SRV and the lab's SLURM configs"
  rm -rf "$LAB_DIR" "$LAB_SRV"
  rm -f "$SLURM_ETC/slurm.conf" "$SLURM_ETC/gres.conf" "$SLURM_ETC/cgroup.conf" "$SLURM_ETC/slurmdbd.conf"
fi
say "down took $(elapsed_since "$T0") s"
