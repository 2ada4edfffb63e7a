#!/usr/bin/env bash
# bench-rooms.sh: measure the rooms under load through a real daemon.
#
# Builds oneonone, and for each room count starts a fresh daemon (temp data
# dir, free HTTP and media ports, e-mail sign-in mode so personal links
# work) pinned to core 0, runs `oneonone bench rooms` pinned to core 1, and
# prints one table row per count. Then it steps up (60, 90, 120, …) until
# loss exceeds 0.5 % or a core saturates, and says which resource ran out.
#
#   scripts/bench-rooms.sh                 # 10, 30, 60 rooms, 60 s each, then the step-up
#   DURATION=30s COUNTS="10 30" STEP=0 scripts/bench-rooms.sh
#   PPROF=127.0.0.1:6060 COUNTS=60 STEP=0 scripts/bench-rooms.sh   # profile the daemon meanwhile
#
# Daemon CPU is % of one core over the window; MB/room is RSS over the
# idle daemon's, both read from /proc/<pid>. rcvbuf_err is the delta of
# /proc/net/snmp Udp RcvbufErrors (kernel drops on full sockets).
set -euo pipefail

DURATION=${DURATION:-60s}
STEP_DURATION=${STEP_DURATION:-$DURATION}
COUNTS=${COUNTS:-"10 30 60"}
STEP=${STEP:-1}            # 0: no step-up search
STEP_FROM=${STEP_FROM:-60}
STEP_BY=${STEP_BY:-30}
STEP_MAX=${STEP_MAX:-300}
DAEMON_CPU=${DAEMON_CPU:-0}
GEN_CPU=${GEN_CPU:-1}

cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/oneonone" ./cmd/oneonone
bin=$work/oneonone

freeport() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, getattr(socket,"SOCK_"+sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }

daemon_pid=""
stop_daemon() {
	if [ -n "$daemon_pid" ]; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
		daemon_pid=""
	fi
}
trap 'stop_daemon; rm -rf "$work"' EXIT

# run_rooms N DURATION [--header]: one fresh daemon, one generator run.
run_rooms() {
	local n=$1 dur=$2 header=${3:-}
	local dir http udp tcp
	dir=$(mktemp -d -p "$work")
	http=$(freeport STREAM); udp=$(freeport DGRAM); tcp=$(freeport STREAM)
	cat >"$dir/oneonone.yaml" <<YAML
listen: 127.0.0.1:$http
public_url: http://127.0.0.1:$http
data_dir: $dir
store:
  dsn: sqlite:$dir/oneonone.db
media:
  udp_port: $udp
  tcp_port: $tcp
smtp:
  host: 127.0.0.1
  port: 1
  from: oneonone@example.com
log:
  level: warn
YAML
	ONEONONE_PPROF=${PPROF:-} taskset -c "$DAEMON_CPU" "$bin" serve --config "$dir/oneonone.yaml" >"$dir/daemon.out" 2>"$dir/daemon.log" &
	daemon_pid=$!
	for _ in $(seq 100); do
		if "$bin" healthcheck --server "http://127.0.0.1:$http" >/dev/null 2>&1; then break; fi
		sleep 0.1
	done
	sleep 1 # let the idle daemon settle before its baseline is read
	taskset -c "$GEN_CPU" "$bin" bench rooms --server "http://127.0.0.1:$http" --token-file "$dir/admin.token" \
		--rooms "$n" --duration "$dur" --pid "$daemon_pid" --loopback --table $header 2>"$dir/gen.err" || {
		echo "rooms $n: generator failed:" >&2; cat "$dir/gen.err" >&2; tail -5 "$dir/daemon.log" >&2
	}
	stop_daemon
}

echo "# $(nproc) cores, daemon on core $DAEMON_CPU, generator on core $GEN_CPU, window $DURATION, $(date -u +%FT%TZ)"
echo "# net.core.rmem_max=$(cat /proc/sys/net/core/rmem_max) wmem_max=$(cat /proc/sys/net/core/wmem_max)"
first=--header
for n in $COUNTS; do
	run_rooms "$n" "$DURATION" $first
	first=""
done

[ "$STEP" = 0 ] && exit 0
echo "# step-up: until loss > 0.5 % or a core saturates (window $STEP_DURATION)"
run_rooms "$STEP_FROM" "$STEP_DURATION" --header | tee "$work/step"
n=$STEP_FROM
while :; do
	row=$(tail -1 "$work/step")
	read -r rooms cpu mb loss jit ttfpm ttfpx rcvbuf dcpu gcpu ddrops _ <<<"$row"
	verdict=$(awk -v loss="$loss" -v rcv="$rcvbuf" -v dd="$ddrops" -v d="$dcpu" -v g="$gcpu" -v want="$n" -v got="$rooms" 'BEGIN{
		out = ""
		if (loss+0 > 0.5) {
			why = "loss " loss "% > 0.5% at " want " rooms: "
			if (dd+0 > 0 && d+0 >= 90) why = why "the daemon core is saturated (" d "%), so its socket receive buffer overflowed (drops +" dd ", RcvbufErrors +" rcv ")"
			else if (dd+0 > 0) why = why "the daemon socket receive buffer overflowed with its core at " d "% (drops +" dd ", RcvbufErrors +" rcv ")"
			else if (rcv+0 > 0) why = why "the generator sockets overflowed (RcvbufErrors +" rcv ", none on the daemon)"
			else if (d+0 >= 90) why = why "the daemon core is saturated (" d "%)"
			else if (g+0 >= 90) why = why "the generator core is saturated (" g "%)"
			else why = why "no core saturated and no kernel drops: loss inside the processes"
			out = why
		} else if (g+0 >= 95) out = "generator core saturated (" g "%) at " want " rooms with loss " loss "%: the machine cannot drive more"
		else if (d+0 >= 98) out = "daemon core saturated (" d "%) at " want " rooms with loss " loss "%"
		else if (got+0 < want+0) out = "only " got " of " want " rooms connected"
		print out }')
	if [ -n "$verdict" ]; then
		echo "# $verdict"
		break
	fi
	n=$((n + STEP_BY))
	if [ "$n" -gt "$STEP_MAX" ]; then
		echo "# no threshold up to $STEP_MAX rooms"
		break
	fi
	run_rooms "$n" "$STEP_DURATION" | tee -a "$work/step"
done
