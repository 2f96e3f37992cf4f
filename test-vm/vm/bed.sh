# shellcheck shell=bash
# The VM bed's part of test-vm/cluster (sourced by it; uses its variables and functions): server
# nodes as QEMU virtual machines (TCG: /dev/kvm here is kvm_pvm, under which a stock Debian kernel
# does not boot), each with its own kernel, boot, clocks and copy-on-write root disk; the switch,
# client and DNS hosts stay network namespaces, and a storage host (a netns too) serves /srv/shared
# over NFSv4 to every node.
#
# Node k: a tap "nodek" in the switch netns's bridge (the port name a netns node's veth has),
# MAC 52:54:00:53:00:k, address $net.(10+k), its files in $run/NAME: disk.qcow2 (over the image's
# base.raw), qga.sock (qemu-guest-agent: how the bed runs commands there), qmp.sock, console.log,
# qemu.pid. QEMU runs in the switch netns, so it opens its tap there; it reaches nothing else.
#
# NFS: the kernel here has no nfsd (CONFIG_NFSD off, no modules), so the storage host runs
# NFS-Ganesha (a userspace NFSv4 server, Debian's nfs-ganesha + nfs-ganesha-vfs); the guests' own
# kernel NFS client mounts it, as a node in a data center mounts its filer.

vmdir="$home/test-vm/vm"
qga="$vmdir/qga"
storage_addr=$net.4
vm_mem=${SVCMOVE_VM_MEM:-768}
# Seconds between two nodes' power-on: real servers do not boot in the same second, and the clock
# tests want boot times at least 30 s apart; the first node also boots with the CPUs to itself.
vm_stagger=${SVCMOVE_VM_STAGGER:-30}
# Seconds between two settings of the guests' wall clocks (vm_keep_clocks).
vm_clock_every=${SVCMOVE_VM_CLOCK_EVERY:-10}
shared_export=/srv/shared

vm_node_dir() { echo "$run/$(node_name "$1")"; }
vm_mac() { printf '52:54:00:53:00:%02x' "$1"; }
vm_is_node() { [ "$(sed -n 's/^kind=//p' "$state" 2>/dev/null)" = vm ] && [[ "$1" =~ ^${prefix}node[0-9]+$ ]]; }
vm_k_of() { local n=${1#"$prefix"node}; echo "$n"; }

# PID of NAME's QEMU if it runs: the pidfile's, checked against /proc (a reused PID is not ours).
vm_pid() {
  local dir pid
  dir="$run/$1"
  pid=$(cat "$dir/qemu.pid" 2>/dev/null) || return 0
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' '\n' < "/proc/$pid/cmdline" | grep -qxF "guest=$1,debug-threads=off"; then
    echo "$pid"
  fi
}

# VMs take most of this machine's 2 cores, so they boot only while their caller holds the machine's
# bed lock (test-vm/vm/bed-lock): `flock /work/bed.lock test-vm/cluster up --vm ...`.
vm_check_lock() {
  "$vmdir/bed-lock" check || die "VMs boot only under the bed lock: flock ${SVCMOVE_BED_LOCK-/work/bed.lock} $0 $cmd --vm ..."
}

vm_check_tools() {
  local t
  for t in qemu-system-x86_64 qemu-img ganesha.nfsd mmdebstrap python3; do
    command -v "$t" >/dev/null || die "$t is missing: apt-get install qemu-system-x86 qemu-utils nfs-ganesha nfs-ganesha-vfs mmdebstrap"
  done
  [ -c /dev/net/tun ] || die "/dev/net/tun is missing (the VMs' NICs are taps)"
}

# The node image (built once, cached; see build-image). Before anything of the bed exists.
vm_image() {
  vm_image_dir=$("$vmdir/build-image") || die "the node image could not be built (test-vm/vm/build-image)"
}

vm_cmdline() {
  local k=$1
  printf '%s' "console=ttyS0 root=/dev/vda rw net.ifnames=0 mitigations=off init_on_alloc=0 quiet loglevel=3"
  printf ' %s' "systemd.hostname=$(node_name "$k")" "svcmove.ip=$(node_addr "$k")/$plen" "svcmove.dns=$dns_addr" \
    "svcmove.search=${zone%.}" "svcmove.nfs=$storage_addr:$shared_export"
}

# Starts node k's VM (its disk must exist); returns once QEMU runs, not when the guest is up.
vm_start() {
  local k=$1 name dir img
  name=$(node_name "$k"); dir=$(vm_node_dir "$k"); img=$(sed -n 's/^image=//p' "$state")
  [ -z "$(vm_pid "$name")" ] || return 0
  rm -f "$dir/qga.sock" "$dir/qmp.sock" "$dir/qemu.pid"
  : > "$dir/console.log"
  nsenter --net="/run/netns/$switch" -- qemu-system-x86_64 -name "guest=$name,debug-threads=off" \
    -machine q35 -accel tcg,tb-size=256 -cpu max -smp 1 -m "$vm_mem" \
    -nodefaults -no-user-config -display none -rtc base=utc \
    -kernel "$img/vmlinux" -initrd "$img/initrd.img" -append "$(vm_cmdline "$k")" \
    -drive "file=$dir/disk.qcow2,if=none,id=root,format=qcow2,cache=unsafe,discard=unmap" \
    -device virtio-blk-pci,drive=root \
    -netdev "tap,id=net0,ifname=node$k,script=no,downscript=no,vhost=off" \
    -device "virtio-net-pci,netdev=net0,mac=$(vm_mac "$k")" \
    -device virtio-rng-pci \
    -device virtio-serial-pci \
    -chardev "socket,id=qga0,path=$dir/qga.sock,server=on,wait=off" \
    -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
    -qmp "unix:$dir/qmp.sock,server=on,wait=off" \
    -serial "file:$dir/console.log" \
    -pidfile "$dir/qemu.pid" -daemonize </dev/null >>"$dir/qemu.log" 2>&1 \
    || { tail -n 20 "$dir/qemu.log" >&2; die "QEMU did not start for $name (log above)"; }
  date +%s.%N > "$dir/started"
}

# Waits until node k's guest agent answers (boot), at most $2 seconds.
vm_wait_guest() {
  local k=$1 limit=${2:-240} name dir
  name=$(node_name "$k"); dir=$(vm_node_dir "$k")
  if ! "$qga" "$dir/qga.sock" ping --wait "$limit"; then
    echo "cluster: $name's guest agent did not answer within $limit s; the end of $dir/console.log:" >&2
    tail -n 30 "$dir/console.log" >&2
    return 1
  fi
  # Its wall clock from this machine's (the RTC gives whole seconds only): the bed's stand-in for
  # NTP, within a few ms; TCG's clocks follow this machine's, so they stay close.
  "$qga" "$dir/qga.sock" settime || echo "cluster: warning: could not set $name's clock" >&2
}

vm_exec() {
  local name=$1; shift
  local dir="$run/$name"
  [ -n "$(vm_pid "$name")" ] || die "$name is powered off (cluster boot $name)"
  exec "$qga" "$dir/qga.sock" exec -- "$@"
}

# Runs CMD on node k, no stdin; output to the caller; fails with CMD.
vm_run() {
  local k=$1; shift
  "$qga" "$(vm_node_dir "$k")/qga.sock" exec --no-stdin -- "$@"
}

start_storage() {
  local name="${prefix}storage" dir="$run/storage" i
  mkdir -p "$dir/export" "$dir/recovery"
  chmod 0755 "$dir/export"
  add_host "$name" storage "$storage_addr"
  cat > "$dir/ganesha.conf" <<EOF
# NFS-Ganesha of the VM bed's storage host: $shared_export (NFSv4 only, no rpcbind, no locking
# daemon: v4 locks are in the protocol) from $dir/export.
NFS_CORE_PARAM {
  Protocols = 4;
  NFS_Port = 2049;
  Bind_addr = $storage_addr;
  Enable_RQUOTA = false;
  Enable_NLM = false;
}
NFSv4 {
  Graceless = true;
  RecoveryBackend = fs;
  RecoveryRoot = "$dir/recovery";
  Lease_Lifetime = 15;
}
EXPORT {
  Export_Id = 1;
  Path = "$dir/export";
  Pseudo = "$shared_export";
  Access_Type = RW;
  Squash = No_Root_Squash;
  SecType = sys;
  Protocols = 4;
  Transports = TCP;
  FSAL { Name = VFS; }
}
LOG { Default_Log_Level = WARN; }
EOF
  (in_host "$name" ganesha.nfsd -F -f "$dir/ganesha.conf" -L "$dir/ganesha.log" -p "$dir/ganesha.pid.own") \
    </dev/null >"$dir/ganesha.out" 2>&1 &
  echo $! > "$dir/ganesha.pid"
  for ((i = 0; i < 40; i++)); do
    if ip netns exec "$name" ss -Hltn "sport = :2049" 2>/dev/null | grep -q .; then return 0; fi
    kill -0 "$(cat "$dir/ganesha.pid")" 2>/dev/null || break
    sleep 0.25
  done
  tail -n 20 "$dir/ganesha.log" "$dir/ganesha.out" >&2
  die "the storage host's NFS server did not listen on $storage_addr:2049"
}

# What installs svcmove on a node: the .deb when one is there (env SVCMOVE_BED_DEB, or the newest
# svcmove_*.deb that `make deb` left in the checkout), else a tarball of what `make install` puts
# on a machine (jar, launcher, CRIU, the unit), made from this checkout's build.
vm_find_deb() {
  if [ -n "${SVCMOVE_BED_DEB:-}" ]; then echo "$SVCMOVE_BED_DEB"; return; fi
  find "$home" -maxdepth 3 -name 'svcmove_*.deb' -newer "$jar" -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d' ' -f2-
}

vm_stage_tarball() {
  local stage="$run/stage" lib=/usr/local/lib/svcmove
  rm -rf "$stage"
  mkdir -p "$stage/root$lib" "$stage/root/usr/local/bin" "$stage/root/etc/systemd/system"
  install -m 0644 "$jar" "$stage/root$lib/svcmove.jar"
  install -m 0755 "$launcher" "$stage/root$lib/svcmove-launch"
  install -m 0755 "$(readlink -f "$home/native/build/criu-bin")" "$stage/root$lib/criu"
  printf '#!/bin/sh\nexport SVCMOVE_LIB=%s\nexec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC ${SVCMOVE_JAVA_OPTS:-} -jar %s "$@"\n' \
    "$lib" "$lib/svcmove.jar" > "$stage/root/usr/local/bin/svcmove"
  chmod 0755 "$stage/root/usr/local/bin/svcmove"
  sed 's|@BIN@|/usr/local/bin/svcmove|' "$home/migrator/svcmove-agent.service" > "$stage/root/etc/systemd/system/svcmove-agent.service"
  tar -C "$stage/root" -czf "$stage/svcmove.tar.gz" .
}

# /etc/svcmove of node k: agent.toml, its certificate and key, the CA, the DNS key.
vm_node_etc() {
  local k=$1 name dir j
  name=$(node_name "$k"); dir=$(vm_node_dir "$k")
  rm -rf "$dir/etc"
  mkdir -p "$dir/etc/pki"
  cp "$run/pki/ca.crt" "$dir/etc/pki/ca.crt"
  cp "$run/pki/$name.crt" "$run/pki/$name.key" "$dir/etc/pki/"
  cp "$run/dns/tsig.key" "$dir/etc/tsig.key"
  {
    printf 'node = "%s"\nlisten = "%s:%s"\nsocket = "/run/svcmove/agent.sock"\n' "$name" "$(node_addr "$k")" "$agent_port"
    printf 'state_dir = "/var/lib/svcmove"\nlog_dir = "/var/log/svcmove"\ninterface = "eth0"\n'
    printf '\n[metrics]\nlisten = "%s:%s"\n' "$(node_addr "$k")" "$metrics_port"
    printf '\n[tls]\nca = "/etc/svcmove/pki/ca.crt"\ncert = "/etc/svcmove/pki/%s.crt"\nkey = "/etc/svcmove/pki/%s.key"\n' "$name" "$name"
    printf '\n[dns]\nserver = "%s"\nzone = "%s"\nkey_file = "/etc/svcmove/tsig.key"\n' "$dns_addr" "$zone"
    for ((j = 1; j <= nodes; j++)); do
      [ "$j" -eq "$k" ] && continue
      printf '\n[[peers]]\nname = "%s"\naddress = "%s:%s"\n' "$(node_name "$j")" "$(node_addr "$j")" "$agent_port"
    done
  } > "$dir/etc/agent.toml"
  chmod -R go-rwx "$dir/etc"
  tar -C "$dir/etc" -czf "$dir/etc.tar.gz" .
}

# Gives node k its configuration and starts its agent under systemd, after installing svcmove from a
# tarball when there is no .deb (a .deb is installed in the node's disk already: see vm_up).
vm_install_agent() {
  local k=$1 name dir sock
  name=$(node_name "$k"); dir=$(vm_node_dir "$k"); sock="$dir/qga.sock"
  if [ -z "$vm_deb" ]; then
    "$qga" "$sock" put "$run/stage/svcmove.tar.gz" /root/svcmove.tar.gz
    vm_run "$k" sh -c 'tar -C / --no-same-owner -xzf /root/svcmove.tar.gz && rm /root/svcmove.tar.gz && systemctl daemon-reload'
  fi
  # The package's /etc/svcmove/agent.toml is a conffile, which this node's replaces.
  "$qga" "$sock" put "$dir/etc.tar.gz" /root/svcmove-etc.tar.gz 0600
  vm_run "$k" sh -c 'mkdir -p -m 0700 /etc/svcmove && tar -C /etc/svcmove --no-same-owner -xzf /root/svcmove-etc.tar.gz && rm /root/svcmove-etc.tar.gz &&
    systemctl enable --now svcmove-agent.service 2>/dev/null'
}

vm_wait_agent() {
  local k=$1 limit=${2:-180} name deadline
  name=$(node_name "$k"); deadline=$((SECONDS + limit))
  until vm_run "$k" svcmove status >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "cluster: the agent of $name did not answer 'svcmove status' within $limit s; its journal:" >&2
      vm_run "$k" journalctl -u svcmove-agent -n 30 --no-pager >&2 || true
      return 1
    fi
    sleep 2
  done
}

# Runs FN k for every node at once, waits for all; fails when any failed.
vm_each() {
  local fn=$1 k rc=0
  local -a pids=()
  for ((k = 1; k <= nodes; k++)); do
    "$fn" "$k" "${@:2}" &
    pids+=($!)
  done
  for k in "${pids[@]}"; do wait "$k" || rc=1; done
  return "$rc"
}

vm_secs_since() { local now; now=$(date +%s%3N); printf '%d.%03d' $(( (now - $1) / 1000 )) $(( (now - $1) % 1000 )); }
vm_timing() { printf '%s=%s\n' "$1" "$2" >> "$run/timings.env"; }

# `up --vm`: called by cmd_up once the switch, DNS and client hosts exist.
vm_up() {
  local k name dir t0 disk_base
  t0=$(date +%s%3N)
  vm_deb=
  [ "$agents" = 0 ] || vm_deb=$(vm_find_deb)
  disk_base="$vm_image_dir/base.raw"
  # The .deb goes into the nodes' root image here, by dpkg on this machine (seconds; under emulation
  # minutes a node): every node boots with it installed, as if installed and not yet configured.
  if [ -n "$vm_deb" ]; then
    disk_base=$("$vmdir/build-image" --svcmove "$vm_deb") || die "$vm_deb could not be installed into the node image (test-vm/vm/build-image --svcmove)"
    vm_timing image_with_svcmove_s "$(vm_secs_since "$t0")"
  fi
  printf 'kind=vm\nimage=%s\ndisk_base=%s\n' "$vm_image_dir" "$disk_base" >> "$state"
  start_storage
  for ((k = 1; k <= nodes; k++)); do
    name=$(node_name "$k"); dir=$(vm_node_dir "$k")
    mkdir -p "$dir"
    ip -n "$switch" tuntap add dev "node$k" mode tap
    ip -n "$switch" link set "node$k" master br0 up
    qemu-img create -q -f qcow2 -F raw -b "$disk_base" "$dir/disk.qcow2"
  done
  start_dns
  vm_start_staggered &
  local starter=$!
  if [ "$agents" = 1 ]; then
    if [ -z "$vm_deb" ]; then
      [ -f "$jar" ] && [ -x "$launcher" ] || die "$jar or $launcher is missing (make build), and no svcmove_*.deb (make deb)"
      echo "cluster: no svcmove_*.deb newer than $jar (make deb): the nodes get this checkout's build as 'make install' lays it out"
      vm_stage_tarball
    else
      echo "cluster: the nodes boot with $vm_deb installed"
    fi
    make_certs
    for ((k = 1; k <= nodes; k++)); do vm_node_etc "$k"; done
  fi
  vm_each vm_bring_up "$t0" || { kill "$starter" 2>/dev/null; wait "$starter" 2>/dev/null; die "not every node came up (see above)"; }
  wait "$starter" || die "not every node VM could be started"
  vm_timing all_nodes_s "$(vm_secs_since "$t0")"
  setsid bash -c "$(declare -f vm_keep_clocks vm_node_dir vm_pid node_name); run='$run' nodes=$nodes qga='$qga' prefix='$prefix' \
    vm_clock_every=$vm_clock_every vm_keep_clocks" </dev/null >/dev/null 2>&1 &
  echo $! > "$run/clocks.pid"
  if [ "$agents" = 0 ]; then echo "cluster: agents and certificates skipped (--no-agents or SVCMOVE_BED_AGENTS=0)"; fi
}

vm_start_staggered() {
  local k
  for ((k = 1; k <= nodes; k++)); do
    [ "$k" -eq 1 ] || sleep "$vm_stagger"
    vm_start "$k"
    vm_timing "$(node_name "$k")_poweron_s" "$(vm_secs_since "$t0")"
  done
}

# One node from power-on to its agent answering; nodes go through this side by side, each at its
# own pace (an install starts as soon as its guest answers).
vm_bring_up() {
  local k=$1 t0=$2 name i=0
  name=$(node_name "$k")
  vm_wait_guest "$k" 300 || return 1
  vm_timing "${name}_guest_s" "$(vm_secs_since "$t0")"
  until ip netns exec "${prefix}client" ping -q -c 1 -W 1 "$(node_addr "$k")" >/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 30 ] || { echo "cluster: the client cannot reach $name at $(node_addr "$k") over the bridge" >&2; return 1; }
  done
  [ "$agents" = 1 ] || return 0
  vm_install_agent "$k" || { echo "cluster: svcmove could not be installed or configured on $name" >&2; return 1; }
  vm_timing "${name}_configured_s" "$(vm_secs_since "$t0")"
  vm_wait_agent "$k" 300 || return 1
  vm_timing "${name}_agent_s" "$(vm_secs_since "$t0")"
}

# Powers NAME off at once, like a server that loses power: QEMU SIGKILLed, no guest shutdown.
vm_crash() {
  local name=$1 pid i
  pid=$(vm_pid "$name")
  [ -n "$pid" ] || { echo "cluster: $name is already off"; return 0; }
  kill -KILL "$pid"
  for ((i = 0; i < 50; i++)); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
  rm -f "$run/$name/qemu.pid"
  echo "cluster: $name powered off (QEMU pid $pid killed)"
}

# Starts NAME again from its own disk; returns once its guest agent and svcmove agent answer.
vm_boot() {
  local name=$1 k
  k=$(vm_k_of "$name")
  [ -z "$(vm_pid "$name")" ] || { echo "cluster: $name is already running"; return 0; }
  vm_check_lock
  vm_start "$k"
  vm_wait_guest "$k" 300 || die "$name did not come up"
  if [ -e "$run/$name/etc.tar.gz" ]; then vm_wait_agent "$k" 240 || die "$name's agent did not come back"; fi
  echo "cluster: $name booted"
}

# The bed's stand-in for NTP: under emulation the guests' clocks drift apart (140 ms within
# minutes, past the agents' max_clock_offset_ms of 50, so moves were refused), so every
# vm_clock_every seconds each running node's wall clock is set again from this machine's, as at
# boot. Bounded: it ends with the bed's run directory, or after a day.
vm_keep_clocks() {
  local i k
  for ((i = 0; i < 86400 / vm_clock_every; i++)); do
    sleep "$vm_clock_every"
    [ -d "$run" ] || return 0
    for ((k = 1; k <= nodes; k++)); do
      if [ -n "$(vm_pid "$(node_name "$k")")" ]; then "$qga" "$(vm_node_dir "$k")/qga.sock" settime || true; fi
    done
  done
}

# Every QEMU of the bed, by the PIDs in its pidfiles: SIGTERM (QEMU exits at once), then SIGKILL;
# and the clock keeper, by its PID.
vm_kill_all() {
  local d name pid i
  if [ -e "$run/clocks.pid" ]; then kill -TERM "$(cat "$run/clocks.pid")" 2>/dev/null || true; rm -f "$run/clocks.pid"; fi
  for d in "$run"/*/; do
    [ -e "$d/qemu.pid" ] || continue
    name=$(basename "$d")
    pid=$(vm_pid "$name")
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
    if [ -e "/proc/$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
}

vm_status_fields() {
  local name=$1 dir pid
  dir="$run/$name"; pid=$(vm_pid "$name")
  printf ',"vm":{"pid":%s,"running":%s,"qga":%s,"qmp":%s,"console":%s,"disk":%s,"mac":"%s"}' \
    "${pid:-null}" "$([ -n "$pid" ] && echo true || echo false)" "$(json_str "$dir/qga.sock")" "$(json_str "$dir/qmp.sock")" \
    "$(json_str "$dir/console.log")" "$(json_str "$dir/disk.qcow2")" "$(vm_mac "$(vm_k_of "$name")")"
}

# The agent of a running VM node, as status --json lists agents (its PID is the guest's).
vm_agent_json() {
  local name=$1 k pid
  k=$(vm_k_of "$name")
  [ -n "$(vm_pid "$name")" ] || return 0
  pid=$(timeout 20 "$qga" "$run/$name/qga.sock" exec --no-stdin -- systemctl show -P MainPID svcmove-agent.service 2>/dev/null) || return 0
  [ -n "$pid" ] && [ "$pid" != 0 ] || return 0
  printf '{"node":%s,"pid":%s,"config":"/etc/svcmove/agent.toml","log":"journalctl -u svcmove-agent","socket":"/run/svcmove/agent.sock","metrics":"%s:%s","in_vm":true}' \
    "$(json_str "$name")" "$pid" "$(node_addr "$k")" "$metrics_port"
}

# The switch port of a bed host (given with or without the prefix): its veth or tap in br0.
bed_port() {
  local h=${1#"$prefix"}
  case "$h" in
    dns | client | storage | node[0-9]*) ;;
    *) die "no host '$1' in bed '${prefix:-default}' (see: cluster status)" ;;
  esac
  ip -n "$switch" link show "$h" >/dev/null 2>&1 || die "no host '$1' in bed '${prefix:-default}' (see: cluster status)"
  echo "$h"
}

# cut A B: the switch drops every frame between A's and B's ports, both ways (ARP too), while
# both still reach every other host; heal A B lifts it. Rules in an nft bridge table of the switch
# netns, one pair per cut, named by a comment.
bed_cut() {
  local a b
  a=$(bed_port "$1"); b=$(bed_port "$2")
  [ "$a" != "$b" ] || usage_error "cut needs two different hosts"
  ip netns exec "$switch" nft 'add table bridge bed; add chain bridge bed forward { type filter hook forward priority 0; policy accept; }'
  bed_heal_rules "$a" "$b"
  ip netns exec "$switch" nft add rule bridge bed forward iifname "$a" oifname "$b" drop comment "\"cut $a $b\""
  ip netns exec "$switch" nft add rule bridge bed forward iifname "$b" oifname "$a" drop comment "\"cut $a $b\""
  echo "cluster: the network between $1 and $2 is cut"
}

bed_heal_rules() {
  local a=$1 b=$2 h
  for h in $(ip netns exec "$switch" nft -a list chain bridge bed forward 2>/dev/null \
               | grep -E "comment \"cut ($a $b|$b $a)\"" | sed -n 's/.*# handle \([0-9]\+\)$/\1/p'); do
    ip netns exec "$switch" nft delete rule bridge bed forward handle "$h"
  done
}

bed_heal() {
  local a b
  a=$(bed_port "$1"); b=$(bed_port "$2")
  bed_heal_rules "$a" "$b"
  echo "cluster: the network between $1 and $2 is healed"
}

vm_cmd() {
  local cmd=$1; shift
  is_up || { echo "cluster: bed '${prefix:-default}' is not up" >&2; exit 3; }
  case "$cmd" in
    cut | heal)
      [ $# -eq 2 ] || usage_error "$cmd needs two hosts"
      "bed_$cmd" "$1" "$2" ;;
    crash | boot)
      [ $# -eq 1 ] || usage_error "$cmd needs one node"
      local name=$1
      vm_is_node "$name" || name="$prefix$name"
      vm_is_node "$name" || die "$cmd: '$1' is not a VM node of bed '${prefix:-default}'"
      "vm_$cmd" "$name" ;;
  esac
}
