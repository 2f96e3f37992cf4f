# Sourced by test-vm/bench-move, bench-lazy, bench-stall and bench-flood: the two-node test bed (torn down on exit,
# also on failure), helpers, and the plain-CRIU script a user would write instead of svcmove.
# The sourcing script sets bench (its name, for messages) and defines workload KIND VIP (the
# service's command line, as words for bash -c); it may redefine the hooks below. Root only.
home=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cluster="$home/test-vm/cluster"
svcmove="$home/bin/svcmove"
criu=$(readlink -f "$home/native/build/criu-bin")
[ "$(id -u)" -eq 0 ] || { echo "$bench: must run as root (it builds the netns test bed): sudo make $bench" >&2; exit 77; }

# Hosts are named with the bed's prefix (env SVCMOVE_BED_PREFIX, which cluster reads too), so that a
# benchmark can run beside another bed; the images in /dev/shm carry it too.
P=${SVCMOVE_BED_PREFIX:-}
shm=/dev/shm/svcmove-bench-${P:-default}
work=$(mktemp -d /tmp/svcmove-bench.XXXXXX)
client_pid=
plain_pid= plain_name= plain_from= plain_to=
cleanup() {
  [ -n "$client_pid" ] && kill "$client_pid" 2>/dev/null || true
  [ -n "$plain_name" ] && ip netns del "$plain_to.$plain_name" 2>/dev/null || true   # a move cut short
  plain_stop
  "$cluster" down >/dev/null 2>&1 || true
  rm -rf "$work" "$shm"-*
}
trap cleanup EXIT

"$cluster" down >/dev/null 2>&1 || true
"$cluster" up --nodes 2 >/dev/null
on() { local host=$1; shift; "$cluster" exec "$host" "$@"; }
addr() { "$cluster" status --json | python3 -c 'import json,sys; print([h["address"] for h in json.load(sys.stdin)["hosts"] if h["name"]==sys.argv[1]][0])' "$1"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { # [FORMAT] (printf's, default %.0f): the median of the numbers on stdin, "-" if none
  sort -n | awk -v f="${1:-%.0f}" '{v[NR]=$1} END {if (NR==0) {print "-"; exit} m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf f, m}'
}
# "N cores, kernel K, CRIU V": the machine the figures come from.
machine() { echo "$(nproc) cores, kernel $(uname -r), CRIU $("$criu" --version | awk '/Version/{print $2}')"; }

# Hooks: after a workload has started (svcmove or plain, given as METHOD) and after its last move.
bench_started() { :; }   # KIND VIP METHOD
bench_stopped() { :; }   # KIND
# Where the plain-CRIU service's output goes (a file it only appends to restores fine).
plain_output() { echo /dev/null; }   # KIND

# --- the plain-CRIU script a user would write ---------------------------------------------------
# Cells made by hand with ip (a netns with a macvlan and the VIP), the process started in it with
# unshare, CRIU's command line with its default network lock, images sent over TCP with tar and nc.
# One plain service at a time: plain_start, plain_move (as often as wanted), plain_stop.
plain_cell() { # NODE NAME VIP
  local ns=$1.$2 mac
  mac=$(printf '02:5c:%02x:%02x:%02x:%02x' ${3//./ })
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$1" link add link eth0 name eth0 netns "$ns" address "$mac" type macvlan mode bridge
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$3/24" dev eth0
  ip -n "$ns" link set eth0 up
}
plain_start() { # KIND VIP: the workload started in a cell of node1 by hand
  plain_name=p$1 plain_vip=$2 plain_from=${P}node1 plain_to=${P}node2
  plain_cell "$plain_from" "$plain_name" "$2"
  # The tree's root must be PID 1 of its namespace and its own session leader, or CRIU refuses it.
  # It runs on the node (its mount namespace), as the user's script would on that server: in this
  # machine's own mount namespace CRIU refuses the netns mounts ("unreachable sharing").
  # Its stdio is opened there too, and nothing else inherited: CRIU cannot place a file opened in
  # another mount namespace.
  # shellcheck disable=SC2016 # $0 and $1 belong to the inner bash
  "$cluster" exec "$plain_from" bash -c 'for f in /proc/$$/fd/*; do f=${f##*/}; [ "$f" -gt 2 ] && eval "exec $f>&-"; done
    exec nsenter --net="$0" unshare --pid --uts --ipc --fork setsid bash -c "exec $1" </dev/null >>"$2" 2>&1' \
    "/run/netns/$plain_from.$plain_name" "$(workload "$1" "$2")" "$(plain_output "$1")" &
  local unshare_pid=$!
  sleep 2
  ip netns exec "$plain_from.$plain_name" arping -q -U -c 1 -I eth0 "$2" || true   # the switch learns the cell's port
  plain_pid=$(cat "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null | awk '{print $1}')
  [ -n "$plain_pid" ] || { echo "$bench: the plain $1 process did not start" >&2; exit 1; }
}
plain_move() { # -> "freeze total" in ms: the plain service moved to the other node (not in a subshell: it keeps where it went)
  local from=$plain_from to=$plain_to name=$plain_name img=$shm-plain inode t0 t1 t2 t3
  t0=$(now_ms)
  plain_cell "$to" "$name" "$plain_vip"                       # ready before the freeze, as a careful user would
  inode=$(stat -L -c %i "/run/netns/$from.$name")
  mkdir -p -m 0700 "$img.src" "$img.dst"
  t1=$(now_ms)
  nsenter --mount="/proc/$plain_pid/ns/mnt" --net="/run/netns/$from" "$criu" dump -t "$plain_pid" --tcp-established -D "$img.src" \
    --external "net[$inode]:cellnet" -o dump.log
  # The copy a user's script makes between machines: tar over a plain TCP stream (no TLS, so cheaper
  # than svcmove's). -d: the receiver's stdin is /dev/null, and nc would quit at its EOF before the data.
  "$cluster" exec "$to" bash -c "nc -l -d -p 7399 | tar -C $img.dst -xf -" &
  local receiver=$!
  for _ in $(seq 1 100); do "$cluster" exec "$to" ss -ltn 2>/dev/null | grep -q ':7399 ' && break; sleep 0.01; done
  "$cluster" exec "$from" bash -c "tar -C $img.src -cf - . | nc -N $(addr "$to") 7399"
  wait "$receiver"
  exec 7<"/run/netns/$to.$name"
  on "$to" "$criu" restore -d --tcp-established -D "$img.dst" \
    --inherit-fd "fd[7]:cellnet" --pidfile "$img.dst/pid" -o restore.log 7<&7
  exec 7<&-
  t2=$(now_ms)
  ip netns exec "$to.$name" arping -q -U -c 1 -I eth0 "$plain_vip" || true
  t3=$(now_ms)
  echo "$((t2 - t1)) $((t3 - t0))"
  plain_pid=$(cat "$img.dst/pid")
  ip netns del "$from.$name"
  rm -rf "$img.src" "$img.dst"
  plain_from=$to plain_to=$from
}
plain_stop() {
  [ -n "$plain_pid" ] && kill -9 "$plain_pid" 2>/dev/null || true
  plain_pid=
  [ -n "$plain_name" ] && ip netns del "$plain_from.$plain_name" 2>/dev/null || true
  plain_name=
}
bench_plain() { # KIND VIP RUNS -> "freeze total" lines in $work/plain-KIND
  local i
  plain_start "$1" "$2"
  bench_started "$1" "$2" plain
  : > "$work/plain-$1"
  for ((i = 0; i < $3; i++)); do plain_move >> "$work/plain-$1"; done
  bench_stopped "$1"
  plain_stop
}
