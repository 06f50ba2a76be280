#!/usr/bin/env bash
# The lab's fault battery: break one thing on purpose, and undo it.
#
#   bash lab/lab.sh fault <name> on|off [node]
#   bash lab/lab.sh fault list           the faults, and which are on
#   bash lab/lab.sh fault clear          undo every fault that is on
#
# Each fault that stays on leaves a marker in $LAB_DIR/faults/, which `lab status` shows.
# One-shot faults (replica-killed, job-requeued, ssh-dropped) leave none: what they break, the
# system itself repairs (or the suite's single retry does).
# `off` puts the component back the way `lab up` would (it reruns the idempotent up step).
set -euo pipefail
LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=slurm/lib.sh
source "$LAB/slurm/lib.sh"
FAULTS=$LAB_DIR/faults
CLOUD_RUN=$LAB_DIR/run

declare -A WHAT=(
  [slurmctld-down]='slurmctld killed (SIGKILL), as a crash: while a job runs, or before a run'
  [slurmctld-hung]='slurmctld stopped with SIGSTOP: it accepts connections and never answers'
  [rollout-unsafe]='the cloud lab moves traffic to a new revision before it is ready, with no activator: requests get 503 during a rollout'
  [slurmdbd-down]='slurmdbd (accounting) killed'
  [node-lost]='a node lost: its slurmd and every job process on it killed (default node2)'
  [node-drained]='a node drained by an administrator (default node2)'
  [gres-missing]='3 of the 4 GPUs of a node vanish (slurmd restarted with 1 device); node name or "all"'
  [node-python-broken]='the target Python on one node dies at start, as a half-upgraded node image would; SLURM still sees the node idle (default node2)'
  [shared-ro]="the shared filesystem $SHARED remounted read-only"
  [no-torch]='the target Python (MLV_PYTHON in the lab target) is a venv without torch'
  [sshd-down]="sshd on 127.0.0.1:$SSH_PORT stopped"
  [host-key-changed]="the server's host key is not the one in the lab's known_hosts"
  [replica-killed]='one-shot: every model-server replica process killed (SIGKILL); the controller restarts them'
  [apiserver-down]='the cloud lab API server stopped'
  [job-requeued]="one-shot: every running job of $LAB_USER requeued (scontrol requeue), as after a preemption"
  [prometheus-double-scrape]='the cloud lab Prometheus scrapes every predictor pod twice (a second job), as a PodMonitor beside an annotation-based scrape job does'
  [mlflow-artifact-corrupted]="the lab MLflow's artifact store serves every file with its last byte flipped, as bit rot would"
  [ssh-dropped]="one-shot: every SSH session of $LAB_USER cut (its sshd session processes killed), as a restarted sshd or a firewall reset would"
)

usage() {
  echo "usage: bash lab/lab.sh fault <name> on|off [node] | list | clear" >&2
  echo "faults: ${!WHAT[*]}" >&2
  exit 2
}

mark() { install -d -m 755 "$FAULTS"; printf '%s\n' "${2:-on}" >"$FAULTS/$1"; }
unmark() { rm -f "$FAULTS/$1"; }
# The SLURM up step rewrites its own keys of the target file (MLV_CAPABILITIES among them, which
# the cloud lab extends): keep the file as it was.
slurm_up() {
  local keep
  keep=$(mktemp)
  cp -p "$TARGET_ENV" "$keep"
  "$LAB/slurm/up.sh" >/dev/null || { rm -f "$keep"; return 1; }
  resume_duplicate_drains
  cp -p "$keep" "$TARGET_ENV"
  rm -f "$keep"
}

# The cloud lab's Prometheus with the config the fault markers make (lab/cloud/prometheus.sh).
restart_prometheus() {
  # shellcheck source=cloud/lib.sh
  (source "$LAB/cloud/lib.sh" && source "$LAB/cloud/prometheus.sh" && start_prometheus >/dev/null)
}

# Every process in a node's network namespace: its slurmd, slurmstepd and job tasks.
kill_node() { ip netns pids "$1" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true; }

# The job id of a slurmstepd process ("slurmstepd: [12.batch]"), or nothing.
stepd_job() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | sed -n 's/^slurmstepd: \[\([0-9]*\)\..*/\1/p'; }

# After a controller crash lost its recent state, job processes it no longer knows keep running
# on the nodes, and a new job given the same id finds "Duplicate jobid" and drains the node.
# slurmctld kills such jobs when their node re-registers; do it at once so the lab comes back clean.
reap_unknown_jobs() {
  local n pid id
  for n in "${NODES[@]}"; do
    for pid in $(ip netns pids "$n" 2>/dev/null); do
      id=$(stepd_job "$pid")
      [[ -n $id ]] || continue
      [[ -n $(squeue -h -j "$id" -o %i 2>/dev/null </dev/null) ]] && continue
      say "killing job $id's processes on $n: slurmctld no longer knows the job"
      pkill -KILL -P "$pid" 2>/dev/null || true # the job script under the step daemon
      kill -KILL "$pid" 2>/dev/null || true
    done
  done
}

# A job that slurmctld recovered after its crash and started again while the job's old processes
# still ran on a node drains that node ("Duplicate jobid"). Kill, on such a node, the processes of
# jobs that are not running there by slurmctld's account, and resume it: the lab comes back clean.
resume_duplicate_drains() {
  local n pid id
  for n in $(sinfo -h -N -R -o '%N|%E' </dev/null 2>/dev/null | awk -F'|' '$2 ~ /Duplicate jobid/ {print $1}' | sort -u); do
    for pid in $(ip netns pids "$n" 2>/dev/null); do
      id=$(stepd_job "$pid")
      [[ -n $id && -z $(squeue -h -j "$id" -t RUNNING -w "$n" -o %i 2>/dev/null </dev/null) ]] || continue
      pkill -KILL -P "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    done
    say "resuming $n, drained for a duplicate job id after the controller crash"
    scontrol update nodename="$n" state=resume </dev/null || true
  done
}

gres_nodes() { if [[ $1 == all ]]; then echo "${NODES[@]}"; else echo "$1"; fi; }

fault_on() {
  local name=$1 node=${2:-node2} n pid
  case $name in
    slurmctld-down)
      # Killed for sure: a fault that did not take would let a control pass for the wrong reason.
      pid=$(daemon_pid slurmctld slurmctld)
      [[ -n $pid ]] || die "fault slurmctld-down: slurmctld is not running (no live pid in $RUN/slurmctld.pid)"
      kill -KILL "$pid"
      for _ in $(seq 50); do pid_alive "$pid" || break; sleep 0.1; done ;;
    slurmctld-hung) kill -STOP "$(daemon_pid slurmctld slurmctld)" ;;
    slurmdbd-down) stop_daemon slurmdbd slurmdbd 5 >/dev/null ;;
    node-lost) kill_node "$node"; mark "$name" "$node"; return ;;
    node-drained)
      scontrol update nodename="$node" state=drain reason="lab fault: node-drained" </dev/null
      mark "$name" "$node"; return ;;
    gres-missing)
      # A GPU falls off the bus: slurmd finds fewer devices than slurm.conf declares (Gres=gpu:4),
      # and slurmctld drains the node with "gres/gpu count reported lower than configured".
      for n in $(gres_nodes "$node"); do
        sed -i "s|^NodeName=$n Name=gpu File=.*|NodeName=$n Name=gpu File=$LAB_DIR/dev/$n/nvidia0|" "$SLURM_ETC/gres.conf"
        stop_daemon "slurmd-$n" slurmd 5 >/dev/null
        start_daemon "slurmd-$n" slurmd nsenter --net="/run/netns/$n" unshare --uts \
          sh -c "hostname $n && exec /usr/sbin/slurmd -D" >/dev/null
      done
      mark "$name" "$node"; return ;;
    node-python-broken)
      # slurmd restarted in its own mount namespace, where the target Python is a program that
      # fails to load: the node stays idle to SLURM, and every job it starts gets that Python.
      local py
      py=$(readlink -f "$(sed -n 's/^MLV_PYTHON=//p' "$TARGET_ENV")")
      install -d -m 755 "$FAULTS"
      printf '%s\n' '#!/bin/sh' 'echo "python3: error while loading shared libraries: libpython3.11.so.1.0: cannot open shared object file: No such file or directory" >&2' 'exit 127' >"$FAULTS/broken-python"
      chmod 755 "$FAULTS/broken-python"
      stop_daemon "slurmd-$node" slurmd 5 >/dev/null
      start_daemon "slurmd-$node" slurmd nsenter --net="/run/netns/$node" unshare --uts --mount --propagation private \
        sh -c "mount --bind $FAULTS/broken-python $py && hostname $node && exec /usr/sbin/slurmd -D" >/dev/null
      for _ in $(seq 30); do [[ $(sinfo -h -n "$node" -o %T </dev/null 2>/dev/null) == idle ]] && break; sleep 0.5; done
      mark "$name" "$node"; return ;;
    shared-ro)
      mountpoint -q "$SHARED" || mount --bind "$SHARED" "$SHARED"
      mount -o remount,bind,ro "$SHARED" ;;
    no-torch)
      rm -rf "$SHARED/venvs/no-torch"; /usr/bin/python3 -m venv --without-pip "$SHARED/venvs/no-torch" # no site packages: no torch
      [[ -e $FAULTS/no-torch ]] || mark "$name" "$(grep -E '^MLV_PYTHON=' "$TARGET_ENV")"
      sed -i "s|^MLV_PYTHON=.*|MLV_PYTHON=$SHARED/venvs/no-torch/bin/python|" "$TARGET_ENV"
      return ;;
    sshd-down) stop_daemon sshd sshd 5 >/dev/null ;;
    host-key-changed)
      install -d -m 700 "$FAULTS/host-key"
      rm -f "$FAULTS/host-key/other"*
      ssh-keygen -q -t ed25519 -N '' -C lab-fault-other-host -f "$FAULTS/host-key/other" </dev/null
      printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$FAULTS/host-key/other.pub")" >"$LAB_DIR/ssh/known_hosts" ;;
    replica-killed)
      local f killed=0
      for f in "$CLOUD_RUN"/runtime-*.pid; do
        [[ -s $f ]] && kill -KILL "$(<"$f")" 2>/dev/null && killed=$((killed + 1))
      done
      say "killed $killed model-server replica(s)"
      return ;;
    apiserver-down)
      # shellcheck source=cloud/lib.sh
      (source "$LAB/cloud/lib.sh" && stop_pidfile apiserver 5 >/dev/null) ;;
    job-requeued)
      local id
      for id in $(squeue -h -u "$LAB_USER" -t RUNNING -o %i </dev/null); do scontrol requeue "$id" </dev/null && say "requeued job $id"; done
      return ;;
    mlflow-artifact-corrupted) ;; # the stand-in reads the marker (lab/mlflow/standin/artifacts.py)
    prometheus-double-scrape) mark "$name"; restart_prometheus; return ;;
    rollout-unsafe) ;; # the controller reads the marker (lab/cloud/controller/controller.ts unsafeRollout)
    ssh-dropped)
      # The per-connection processes ("sshd: user@notty", "sshd-session: …" on OpenSSH 10), not the listener.
      pkill -KILL -f "^sshd(-session)?: $LAB_USER[@ ]" && say "cut the SSH sessions of $LAB_USER" || say "no SSH session of $LAB_USER to cut"
      return ;;
    *) usage ;;
  esac
  mark "$name"
}

fault_off() {
  local name=$1 node n
  node=$(cat "$FAULTS/$name" 2>/dev/null || echo node2)
  case $name in
    slurmctld-hung) kill -CONT "$(daemon_pid slurmctld slurmctld)" 2>/dev/null || true ;;
    slurmctld-down | slurmdbd-down | sshd-down | node-lost) ;;
    node-drained) scontrol update nodename="$node" state=resume </dev/null || true ;;
    gres-missing) ;; # up.sh renders gres.conf again and restarts the daemons
    node-python-broken) stop_daemon "slurmd-$node" slurmd 5 >/dev/null; rm -f "$FAULTS/broken-python" ;; # up.sh starts it again
    shared-ro) while mountpoint -q "$SHARED"; do umount "$SHARED"; done ;;
    no-torch)
      [[ -s $FAULTS/no-torch ]] && sed -i "s|^MLV_PYTHON=.*|$(<"$FAULTS/no-torch")|" "$TARGET_ENV"
      rm -rf "$SHARED/venvs/no-torch" ;;
    host-key-changed) rm -rf "$FAULTS/host-key" ;;
    replica-killed | job-requeued | ssh-dropped) return ;; # one-shot: nothing to undo
    mlflow-artifact-corrupted | rollout-unsafe) unmark "$name"; return ;;
    prometheus-double-scrape) unmark "$name"; restart_prometheus; return ;;
    apiserver-down)
      # The lab's API server keeps no state across a restart (a real one has etcd): restart the
      # controller too, so it registers its GPU node and resyncs, as `lab up` brings it up.
      unmark "$name"
      (source "$LAB/cloud/lib.sh" && stop_pidfile controller 15 >/dev/null)
      "$LAB/cloud/up.sh" >/dev/null
      return ;;
    *) usage ;;
  esac
  unmark "$name"
  case $name in apiserver-down | replica-killed | no-torch) ;; *) slurm_up ;; esac
  if [[ $name == slurmctld-down ]]; then reap_unknown_jobs; fi
}

cmd=${1:-list}
case $cmd in
  list)
    for f in "${!WHAT[@]}"; do printf '%-17s %-3s %s\n' "$f" "$([[ -e $FAULTS/$f ]] && echo on || echo -)" "${WHAT[$f]}"; done | sort ;;
  clear)
    shopt -s nullglob
    for f in "$FAULTS"/*; do [[ -f $f ]] && { say "undoing fault $(basename "$f")"; fault_off "$(basename "$f")"; }; done ;;
  *)
    [[ -n ${WHAT[$cmd]:-} ]] || usage
    require_root fault
    case ${2:-} in
      on) fault_on "$cmd" "${3:-node2}"; say "fault $cmd on: ${WHAT[$cmd]}" ;;
      off) fault_off "$cmd"; say "fault $cmd off" ;;
      *) usage ;;
    esac ;;
esac
