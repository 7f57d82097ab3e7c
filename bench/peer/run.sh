#!/usr/bin/env bash
# Loopback benchmark of the S5 peer node. Builds `peerbench` in release mode, then reports:
#   - query -> answer latency p50/p99, direct (answered from cache) and over 3 hops (relayed twice)
#   - answered queries per second by one node (pipelined queries from several client connections)
#   - the node's RSS with 1,000 connected, handshaken peers (node in its own process)
# Usage: bench/peer/run.sh [samples] [connections] [seconds] [peers]
set -euo pipefail
cd "$(dirname "$0")/../.."
SAMPLES=${1:-5000}
CONNS=${2:-8}
SECONDS_=${3:-5}
PEERS=${4:-1000}

scripts/build-release --product peerbench >/dev/null
BIN=$(scripts/build-release --show-bin-path)/peerbench

echo "== latency ($SAMPLES samples each)"
"$BIN" latency "$SAMPLES"

PORT=$(( 40000 + RANDOM % 20000 ))
"$BIN" node "$PORT" 2000 > /tmp/peerbench-node.log 2>&1 &
NODE=$!
trap 'kill $NODE 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q listening /tmp/peerbench-node.log && break; sleep 0.1; done

rss() { awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$NODE/status"; }

# CPU seconds the node process used so far (utime + stime, in clock ticks).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$NODE/stat"; }

echo "== throughput ($CONNS connections, $SECONDS_ s, node in its own process)"
BEFORE=$(cpu)
OUT=$("$BIN" throughput "$PORT" "$CONNS" "$SECONDS_" 64)
AFTER=$(cpu)
echo "$OUT"
ANSWERS=$(echo "$OUT" | awk '{print $2}')
awk -v a="$ANSWERS" -v b="$BEFORE" -v c="$AFTER" \
    'BEGIN { printf "node CPU: %.2f s for %d answers = %.0f answers per node CPU-second\n", c - b, a, a / (c - b) }'

echo "== RSS with $PEERS peers"
echo "node RSS before: $(rss)"
"$BIN" peers "$PORT" "$PEERS" 8 > /tmp/peerbench-peers.log 2>&1 &
LOAD=$!
for _ in $(seq 1 600); do grep -q holding /tmp/peerbench-peers.log && break; sleep 0.1; done
cat /tmp/peerbench-peers.log
sleep 1
echo "node RSS with peers: $(rss)"
wait $LOAD || true
