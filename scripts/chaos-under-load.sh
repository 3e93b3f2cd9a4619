#!/usr/bin/env bash
# chaos-under-load.sh [RUNS]: runs ingest's TestChaos RUNS times (default 10)
# while COMMPULSE_BUSY_LOOPS CPU-bound shell loops (default 2, one per core
# of the reference machine) compete for the cores, and prints each run's
# verdict, duration and chaos summary, then the pass count. This is the
# command behind the "10 of 10 under CPU pressure" figure of issue 11:
#
#   scripts/chaos-under-load.sh 10
#
# Logs of every run are kept in $COMMPULSE_CHAOS_LOGS (default a temp dir).
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
busy=${COMMPULSE_BUSY_LOOPS:-2}
logs=${COMMPULSE_CHAOS_LOGS:-$(mktemp -d)}
mkdir -p "$logs"
bin="$logs/ingest.test"
go test -c -o "$bin" ./pipeline/ingest || exit 1

pids=()
for _ in $(seq "$busy"); do
	(while :; do :; done) &
	pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT

pass=0
for i in $(seq "$runs"); do
	start=$(date +%s)
	log="$logs/run-$i.log"
	if (cd pipeline/ingest && "$bin" -test.run '^TestChaos$' -test.count=1 -test.v -test.timeout 20m) >"$log" 2>&1; then
		verdict=PASS
		pass=$((pass + 1))
	else
		verdict=FAIL
	fi
	echo "run $i/$runs: $verdict in $(($(date +%s) - start)) s (load $(cut -d' ' -f1 /proc/loadavg)); log $log"
	grep -h "chaos: lost\|chaos: time from" "$log" | sed 's/^ */    /'
	[ "$verdict" = FAIL ] && grep -h -m3 "FAIL\|timed out\|panic" "$log" | sed 's/^ */    /'
done
echo "TestChaos under $busy busy loops: $pass of $runs passed"
[ "$pass" -eq "$runs" ]
