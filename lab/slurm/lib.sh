# Shared settings and helpers for the SLURM lab. Sourced by up.sh, down.sh, status.sh.
# shellcheck shell=bash

LAB_DIR=${LAB_DIR:-/var/lib/mlops-lab}
LAB_SRV=${LAB_SRV:-/srv/mlops-lab}
SHARED=$LAB_SRV/shared
RUN=$LAB_DIR/run
LOG=$LAB_DIR/log
TARGET_ENV=$LAB_DIR/target.env
SLURM_ETC=/etc/slurm
LAB_USER=mlops
CLUSTER=lab
PARTITION=lab
ACCOUNT=mlops
BRIDGE=mlvbr0
NET_PREFIX=10.199.0
CTL_IP=$NET_PREFIX.1
NODES=(node1 node2)
GPUS_PER_NODE=4
SSH_PORT=2222
READY_TIMEOUT=${LAB_READY_TIMEOUT:-60}
HOSTS_BEGIN='# mlops-lab begin (managed by lab.sh)'
HOSTS_END='# mlops-lab end'

node_ip() { # node1 -> 10.199.0.11
  echo "$NET_PREFIX.$((10 + ${1#node}))"
}

# A process is alive when it exists and is not a zombie (pid 1 here reaps exited
# daemons only every ~2 s, and kill -0 succeeds on a zombie).
pid_alive() {
  local st
  { st=$(<"/proc/$1/stat"); } 2>/dev/null || return 1
  st=${st##*) } st=${st%% *} # state is the field after "(comm)"
  [[ -n $st && $st != Z && $st != X ]]
}

say() { printf '[lab] %s\n' "$*"; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

require_root() { [[ $EUID -eq 0 ]] || die "lab.sh $* must run as root"; }

# One up/down at a time (several people and test runs share the lab). fd 9 holds the
# lock until the script exits; start_daemon closes it for the daemons.
take_lock() {
  mkdir -p /run/lock
  exec 9>/run/lock/mlops-lab-slurm.lock
  flock -w 300 9 || die "another lab.sh up/down has held /run/lock/mlops-lab-slurm.lock for 300 s"
}

# pid of a lab daemon, empty when it is not running. Our own pid files hold the
# pid of the process we started (setsid execs, so it is the daemon itself); the
# pid is only trusted when the process still runs the expected binary.
daemon_pid() { # name binary
  local f=$RUN/$1.pid pid
  [[ -s $f ]] || return 0
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  pid_alive "$pid" || return 0
  [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"$2"* ]] || return 0
  echo "$pid"
}

# start_daemon name binary cmd... : detached (own session), stdin closed, output to the log.
start_daemon() {
  local name=$1 bin=$2; shift 2
  if [[ -n $(daemon_pid "$name" "$bin") ]]; then return 0; fi
  printf '\n==== %s start %s ====\n' "$(date -Is)" "$name" >>"$LOG/$name.log"
  setsid "$@" </dev/null >>"$LOG/$name.log" 2>&1 9>&- & # 9 = the lab lock, not for daemons
  local pid=$! i
  echo "$pid" >"$RUN/$name.pid"
  # Until the child has exec'd, /proc/<pid>/cmdline is still this script's: wait for
  # the exec so that daemon_pid does not mistake a starting daemon for a dead one.
  for ((i = 0; i < 100; i++)); do
    [[ -n $(daemon_pid "$name" "$bin") ]] && break
    [[ -e /proc/$pid ]] || break
    sleep 0.02
  done
  say "started $name (pid $pid)"
}

stop_daemon() { # name binary [grace-seconds]
  local name=$1 bin=$2 grace=${3:-15} pid i
  pid=$(daemon_pid "$name" "$bin")
  if [[ -z $pid ]]; then rm -f "$RUN/$name.pid"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  if pid_alive "$pid"; then
    say "$name (pid $pid) ignored SIGTERM for ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$RUN/$name.pid"
  say "stopped $name (pid $pid)"
}

# wait_for description timeout-seconds cmd... : poll every 0.1 s until cmd succeeds.
# The check command must be quiet itself (so alive_or_fail can still report).
wait_for() {
  local what=$1 timeout=$2 start; shift 2
  start=$(now)
  until "$@"; do
    if awk -v a="$start" -v b="$(now)" -v t="$timeout" 'BEGIN { exit !(b - a > t) }'; then
      return 1
    fi
    sleep 0.1
  done
}

log_tail() { # name [lines]
  local f=$LOG/$1.log
  [[ -f $f ]] || return 0
  printf -- '---- last lines of %s ----\n' "$f" >&2
  tail -n "${2:-25}" "$f" >&2
}

# /etc/hosts without the lab's block (exact-line match, no regex).
hosts_without_lab_block() {
  awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' /etc/hosts
}

munge_works() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }
mariadb_works() { mariadb --protocol=socket -uroot -N -e 'SELECT 1' </dev/null >/dev/null 2>&1; }

# alive_or_fail name binary check-cmd...: for wait_for. Runs the check; when the daemon
# has died meanwhile, exits the whole script at once instead of waiting for the timeout.
alive_or_fail() {
  local name=$1 bin=$2; shift 2
  if [[ -e $RUN/$name.pid && -z $(daemon_pid "$name" "$bin") ]]; then
    log_tail "$name"; die "$name exited (log: $LOG/$name.log)"
  fi
  "$@"
}
