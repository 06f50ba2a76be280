#!/usr/bin/env bash
# Print the state of every SLURM lab component; exit 1 when anything is down.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
bad=0
row() { printf '%-14s %-5s %s\n' "$1" "$2" "$3"; [[ $2 == up ]] || bad=1; }
comp() { # label name binary detail [external-check]
  local pid
  pid=$(daemon_pid "$2" "$3")
  if [[ -n $pid ]]; then row "$1" up "pid $pid  $4"
  elif [[ -e $RUN/$2.external ]] && ${5:-false}; then row "$1" up "not started by the lab  $4"
  else row "$1" down "$4"; fi
}
comp munge munged munged "/run/munge" munge_works
comp mariadb mariadb mariadbd "127.0.0.1:3306 db slurm_acct_db" mariadb_works
comp slurmdbd slurmdbd slurmdbd "$CTL_IP:6819"
comp slurmctld slurmctld slurmctld "$CTL_IP:6817"
for n in "${NODES[@]}"; do comp "slurmd $n" "slurmd-$n" slurmd "netns $n $(node_ip "$n"):6818"; done
comp sshd sshd sshd "127.0.0.1:$SSH_PORT user $LAB_USER"
if [[ $(ip -br addr show dev "$BRIDGE" 2>/dev/null) == *" $CTL_IP/24"* ]]; then row bridge up "$BRIDGE $CTL_IP/24"
else row bridge down "$BRIDGE"; fi
if [[ -s $TARGET_ENV ]]; then row target up "$TARGET_ENV"; else row target down "$TARGET_ENV"; fi
echo
if out=$(timeout 10 sinfo -N -o '%N %P %T %c %m %G' </dev/null 2>&1); then
  echo "$out"
  # healthy node states only, and no '*' (not responding) suffix on the state
  awk 'NR > 1 && $3 !~ /^(idle|mixed|allocated|completing)$/ { bad = 1 } END { exit bad }' <<<"$out" || bad=1
  [[ $(awk 'NR > 1' <<<"$out" | wc -l) -eq ${#NODES[@]} ]] || bad=1
else
  echo "sinfo failed: $out"; bad=1
fi
exit "$bad"
