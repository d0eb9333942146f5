#!/usr/bin/env bash
# TCP Lab's local virtual lab: H1 and H2 as network namespaces on this Linux machine.
#
#   virtual-lab.sh up | down | status        (as root; `tcplab lab ...` wraps this)
#
# Each host gets its own network namespace, UTS namespace (hostname H1/H2), sshd with its own
# host key, and a management veth to this machine. A second veth pair links H1 and H2 for
# experiment traffic. Addresses come from 198.18.0.0/15 (RFC 2544, reserved for benchmarking),
# so they never collide with a real network, and nothing outside the lab is ever targeted.
#
# H1 logs in as root; H2 logs in as the unprivileged account `tcplab`, whose sudo asks for a
# password every time, so both of the engine's privilege paths are exercised.
#
# Everything `up` makes, `down` removes, also after a crash: it finds things by name, not by
# remembered state.
set -euo pipefail

LAB_DIR=${TCPLAB_LAB_DIR:-/var/lib/tcplab/lab}
LAB_USER=tcplab
LAB_USER_GECOS="TCP Lab virtual lab account"
SUDOERS_FILE=/etc/sudoers.d/tcplab-lab
EXPERIMENT_NET=198.18.77
H1_EXP=${EXPERIMENT_NET}.1
H2_EXP=${EXPERIMENT_NET}.2
# Management links: this machine <-> H1 on 198.18.78.0/30, <-> H2 on 198.18.78.4/30.
H1_MGMT_LOCAL=198.18.78.1 H1_MGMT=198.18.78.2
H2_MGMT_LOCAL=198.18.78.5 H2_MGMT=198.18.78.6

die() { echo "virtual-lab: $*" >&2; exit 1; }

ns_of() { echo "tcplab-${1,,}"; }           # H1 -> tcplab-h1
mgmt_addr_of() { [ "$1" = H1 ] && echo "$H1_MGMT" || echo "$H2_MGMT"; }
mgmt_local_of() { [ "$1" = H1 ] && echo "$H1_MGMT_LOCAL" || echo "$H2_MGMT_LOCAL"; }
exp_addr_of() { [ "$1" = H1 ] && echo "$H1_EXP" || echo "$H2_EXP"; }
user_of() { [ "$1" = H1 ] && echo root || echo "$LAB_USER"; }

require_root() {
  [ "$(id -u)" = 0 ] || die "must run as root (try: sudo $0 $*)"
  local tool
  for tool in ip sshd ssh-keygen unshare useradd sudo; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
      die "$tool is missing; install it (Debian: apt-get install iproute2 openssh-server openssh-client util-linux passwd sudo)"
  done
}

sshd_pid() {
  local pidfile="$LAB_DIR/${1,,}/sshd.pid"
  [ -s "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || return 1
  # A killed daemon whose parent does not reap it (PID 1 in a container) lingers as a zombie.
  grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null && return 1
  echo "$pid"
}

host_is_up() {
  ip netns list 2>/dev/null | grep -qw "$(ns_of "$1")" && sshd_pid "$1" >/dev/null
}

lab_is_up() {
  host_is_up H1 && host_is_up H2 && [ -f "$LAB_DIR/hosts.yaml" ] && [ -f "$LAB_DIR/known_hosts" ]
}

print_paths() {
  echo "hosts file:  $LAB_DIR/hosts.yaml"
  echo "known_hosts: $LAB_DIR/known_hosts"
}

make_account() {
  if id "$LAB_USER" >/dev/null 2>&1; then
    [ "$(getent passwd "$LAB_USER" | cut -d: -f5)" = "$LAB_USER_GECOS" ] ||
      die "a user named $LAB_USER exists and was not made by TCP Lab; remove or rename it first"
  else
    useradd --create-home --shell /bin/bash --comment "$LAB_USER_GECOS" "$LAB_USER"
  fi
  # A real password: sshd (UsePAM no) refuses locked accounts, and sudo asks for it.
  local password; password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  echo "$LAB_USER:$password" | chpasswd
  (umask 077; printf '%s\n' "$password" >"$LAB_DIR/sudo-password")
  # timestamp_timeout=0: sudo asks every time, so the engine's password path runs every time.
  printf '%s\n' "# Made by TCP Lab's virtual lab; removed by 'tcplab lab down'." \
    "Defaults:$LAB_USER timestamp_timeout=0, !lecture" \
    "$LAB_USER ALL=(ALL:ALL) ALL" >"$SUDOERS_FILE.tmp"
  chmod 0440 "$SUDOERS_FILE.tmp"
  visudo -cf "$SUDOERS_FILE.tmp" >/dev/null || die "generated sudoers file failed visudo's check"
  mv "$SUDOERS_FILE.tmp" "$SUDOERS_FILE"
}

make_host() {
  local label=$1 ns; ns=$(ns_of "$label")
  local dir="$LAB_DIR/${label,,}"
  mkdir -p "$dir"
  ip netns add "$ns"
  ip -n "$ns" link set lo up

  # Management link: the host end is called mgmt0 inside the namespace.
  ip link add "tlm-${label,,}" type veth peer name mgmt0 netns "$ns"
  ip addr add "$(mgmt_local_of "$label")/30" dev "tlm-${label,,}"
  ip link set "tlm-${label,,}" up
  ip -n "$ns" addr add "$(mgmt_addr_of "$label")/30" dev mgmt0
  ip -n "$ns" link set mgmt0 up

  # `ip netns exec` bind-mounts /etc/netns/<ns>/* over /etc: per-host name resolution, so
  # sudo can resolve the host's own name and experiments may say H1/H2.
  mkdir -p "/etc/netns/$ns"
  printf '127.0.0.1\tlocalhost\n%s\tH1\n%s\tH2\n' "$H1_EXP" "$H2_EXP" >"/etc/netns/$ns/hosts"

  ssh-keygen -q -t ed25519 -N '' -C "tcplab-virtual-$label" -f "$dir/ssh_host_ed25519_key" <<<y >/dev/null
  cat >"$dir/sshd_config" <<EOF
# TCP Lab virtual lab host $label
Port 22
ListenAddress $(mgmt_addr_of "$label")
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $LAB_DIR/authorized_keys
AllowUsers $(user_of "$label")
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
EOF
  mkdir -p /run/sshd
  # A UTS namespace for the hostname, and tracefs mounted in the mount namespace that
  # `ip netns exec` makes (its fresh /sys has none), so the engine's tracer works over SSH.
  ip netns exec "$ns" unshare --uts sh -c "
    hostname $label
    mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
    exec /usr/sbin/sshd -f '$dir/sshd_config' -E '$dir/sshd.log'
  "
  local i
  for i in $(seq 50); do sshd_pid "$label" >/dev/null && return 0; sleep 0.1; done
  die "sshd for $label did not start; see $dir/sshd.log"
}

write_hosts_file() {
  local h1key h2key
  h1key=$(cut -d' ' -f1,2 "$LAB_DIR/h1/ssh_host_ed25519_key.pub")
  h2key=$(cut -d' ' -f1,2 "$LAB_DIR/h2/ssh_host_ed25519_key.pub")
  printf '%s %s\n%s %s\n' "$H1_MGMT" "$h1key" "$H2_MGMT" "$h2key" >"$LAB_DIR/known_hosts"
  cat >"$LAB_DIR/hosts.yaml" <<EOF
# TCP Lab hosts file for the local virtual lab (written by 'tcplab lab up').
# Same format as a hosts file for physical hosts; paths are relative to this file.
knownHosts: known_hosts
hosts:
  H1:
    address: $H1_MGMT
    port: 22
    experimentAddress: $H1_EXP
    user: root
    auth: { type: key, keyFile: id_ed25519 }
    sudo: none
  H2:
    address: $H2_MGMT
    port: 22
    experimentAddress: $H2_EXP
    user: $LAB_USER
    auth: { type: key, keyFile: id_ed25519 }
    sudo: password
    sudoPasswordFile: sudo-password
EOF
}

cmd_up() {
  require_root
  if lab_is_up; then echo "virtual lab is already up"; print_paths; return 0; fi
  cmd_down --quiet
  # The lab directory holds the login key: root-owned and not world-writable (sshd StrictModes).
  install -d -m 0755 "$(dirname "$LAB_DIR")" "$LAB_DIR"
  ssh-keygen -q -t ed25519 -N '' -C "tcplab-controller" -f "$LAB_DIR/id_ed25519" <<<y >/dev/null
  install -m 0644 "$LAB_DIR/id_ed25519.pub" "$LAB_DIR/authorized_keys"
  make_account
  make_host H1
  make_host H2
  # The experiment link: lab0 in each namespace.
  ip link add lab0 netns "$(ns_of H1)" type veth peer name lab0 netns "$(ns_of H2)"
  ip -n "$(ns_of H1)" addr add "$H1_EXP/24" dev lab0
  ip -n "$(ns_of H2)" addr add "$H2_EXP/24" dev lab0
  ip -n "$(ns_of H1)" link set lab0 up
  ip -n "$(ns_of H2)" link set lab0 up
  write_hosts_file
  echo "virtual lab is up: H1 $H1_MGMT (root), H2 $H2_MGMT ($LAB_USER, sudo with password)"
  echo "experiment link: H1 $H1_EXP <-> H2 $H2_EXP"
  print_paths
}

remove_tracefs_instances() {
  # Tracefs instances are kernel-wide; ours are named tcplab-*. Mount tracefs privately if this
  # mount namespace has none, so nothing here changes the machine's mounts.
  unshare --mount sh -c '
    t=/sys/kernel/tracing
    mountpoint -q $t || mount -t tracefs nodev $t 2>/dev/null || exit 0
    for i in $t/instances/tcplab-*; do
      [ -d "$i" ] || continue
      echo 0 > "$i/tracing_on" 2>/dev/null || true
      rmdir "$i" 2>/dev/null || true
    done' || true
}

cmd_down() {
  local quiet=${1:-}
  require_root
  local label ns pids
  for label in H1 H2; do
    ns=$(ns_of "$label")
    if ip netns list 2>/dev/null | grep -qw "$ns"; then
      # Every process in the namespace: sshd, its sessions, and anything an experiment left.
      pids=$(ip netns pids "$ns" 2>/dev/null || true)
      [ -n "$pids" ] && kill -TERM $pids 2>/dev/null || true
      sleep 0.2
      pids=$(ip netns pids "$ns" 2>/dev/null || true)
      [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
      ip netns del "$ns"
    fi
    pids=$(sshd_pid "$label" 2>/dev/null || true)
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
    ip link del "tlm-${label,,}" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  remove_tracefs_instances
  rm -f "$SUDOERS_FILE" "$SUDOERS_FILE.tmp"
  if id "$LAB_USER" >/dev/null 2>&1 && [ "$(getent passwd "$LAB_USER" | cut -d: -f5)" = "$LAB_USER_GECOS" ]; then
    pkill -KILL -u "$LAB_USER" 2>/dev/null || true
    userdel --remove "$LAB_USER" 2>/dev/null || userdel "$LAB_USER"
  fi
  rm -rf "$LAB_DIR"
  [ "$quiet" = --quiet ] || echo "virtual lab is down: namespaces, links, sshd, account, tracefs instances and $LAB_DIR removed"
}

cmd_status() {
  local label state=0
  for label in H1 H2; do
    if host_is_up "$label"; then
      echo "$label: up (namespace $(ns_of "$label"), sshd pid $(sshd_pid "$label"), ssh $(user_of "$label")@$(mgmt_addr_of "$label"), experiment address $(exp_addr_of "$label"))"
    elif ip netns list 2>/dev/null | grep -qw "$(ns_of "$label")"; then
      echo "$label: broken (namespace exists, sshd not running): run 'tcplab lab up' to rebuild"; state=2
    else
      echo "$label: down"; state=${state/0/1}
    fi
  done
  if lab_is_up; then print_paths; fi
  return "$state"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 64 ;;
esac
