#!/usr/bin/env bash
# Measures the foundation's figures that are not Go benchmarks:
#   - idle RSS of `oneonone serve` after start with N series (default 1,000)
#   - start-up time to /readyz 200 with M series (default 10,000), median of R runs
# Usage: scripts/measure-foundation.sh [N_IDLE] [N_START] [RUNS]
# Everything runs on loopback in a temporary directory; nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin

n_idle=${1:-1000}
n_start=${2:-10000}
runs=${3:-5}

work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -trimpath -o "$work/oneonone" ./cmd/oneonone
bin=$work/oneonone
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
server=http://127.0.0.1:$port

# csv N FILE: N manager/report pairs spread over 20 teams and 4 zones.
csv() {
	awk -v n="$1" 'BEGIN {
		split("Asia/Tokyo America/New_York Europe/Berlin UTC", tz, " ")
		split("weekly biweekly monthly weekly", cad, " ")
		print "manager_email,report_email,team,start,timezone,cadence,duration"
		for (i = 0; i < n; i++)
			printf "m%d@example.com,r%d@example.com,team%d,2026-12-%02dT10:00,%s,%s,30m\n",
				int(i/8), i, i%20, 1+i%28, tz[1+i%4], cad[1+i%4]
	}' > "$2"
}

# start DATA: starts the daemon, sets $pid, prints seconds until /readyz is 200.
start() {
	local t0 t1
	t0=$(date +%s%N)
	"$bin" serve --data "$1" --listen "127.0.0.1:$port" >"$work/serve.out" 2>>"$work/serve.err" &
	pid=$!
	until curl -fsS -o /dev/null "$server/readyz" 2>/dev/null; do
		kill -0 "$pid" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
		sleep 0.005
	done
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; }
seed() {
	local data=$1 n=$2
	start "$data" >/dev/null
	csv "$n" "$work/org.csv"
	"$bin" series import --server "$server" --data "$data" "$work/org.csv" | tail -1
	stop
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "== idle RSS with $n_idle series"
seed "$work/idle" "$n_idle"
start "$work/idle" >/dev/null
curl -fsS -o /dev/null -H "Authorization: Bearer $(cat "$work/idle/admin.token")" "$server/api/v1/series?limit=1000"
sleep 5
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "idle RSS: $((rss / 1024)) MiB (peak $((hwm / 1024)) MiB)"
stop

echo "== start-up to /readyz with $n_start series ($runs runs)"
seed "$work/start" "$n_start"
empty=(); full=()
for _ in $(seq "$runs"); do
	rm -rf "$work/empty"
	start "$work/start" >"$work/t"; stop; full+=("$(cat "$work/t")")
	start "$work/empty" >"$work/t"; stop; empty+=("$(cat "$work/t")")
done
echo "empty store: median $(printf '%s\n' "${empty[@]}" | median) ms  (runs: ${empty[*]})"
echo "$n_start series: median $(printf '%s\n' "${full[@]}" | median) ms  (runs: ${full[*]})"
