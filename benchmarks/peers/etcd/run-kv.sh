#!/usr/bin/env bash
# KV latency side by side: starts a three-member etcd 3.4 cluster on loopback (its defaults:
# heartbeat 100 ms, election 1000 ms; data directories in a temporary folder, fsync on as etcd
# always does), then runs, in one JMH invocation, KvBenchmark (Baton: three nodes in the JMH
# JVM) and EtcdKvBenchmark (jetcd against this cluster). Stops and removes the cluster at the end.
# Usage: run-kv.sh CLASSPATH OUT_DIR [MAIN ARGS...]   (scripts/bench etcd-kv calls it; with MAIN,
# scripts/bench kv-phases: runs that class's main against the same cluster instead of JMH)
set -euo pipefail
CP=$1
OUT=$2
WORK=$(mktemp -d /tmp/baton-etcd-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
declare -a CLIENT PEER
cluster=""
for i in 1 2 3; do
  CLIENT[$i]=$(port)
  PEER[$i]=$(port)
  cluster+="e$i=http://127.0.0.1:${PEER[$i]},"
done
cluster=${cluster%,}
endpoints=""
for i in 1 2 3; do
  etcd --name "e$i" --data-dir "$WORK/e$i" \
    --listen-client-urls "http://127.0.0.1:${CLIENT[$i]}" \
    --advertise-client-urls "http://127.0.0.1:${CLIENT[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${PEER[$i]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${PEER[$i]}" \
    --initial-cluster "$cluster" --initial-cluster-state new \
    --initial-cluster-token baton-bench >"$WORK/e$i.log" 2>&1 &
  pids+=($!)
  endpoints+="http://127.0.0.1:${CLIENT[$i]},"
done
endpoints=${endpoints%,}
for i in 1 2 3; do
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:${CLIENT[$i]}/health" 2>/dev/null | grep -q '"health":"true"' && break
    sleep 0.1
  done
done
ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint status -w table
echo "etcd-kv: $(cat /proc/loadavg)"
if [ $# -gt 2 ]; then
  java -Dlogback.configurationFile=logback.xml -Dbaton.bench.etcd="$endpoints" -cp "$CP" "${@:3}"
else
  java -Dlogback.configurationFile=logback.xml -Dbaton.bench.etcd="$endpoints" -cp "$CP" \
    org.openjdk.jmh.Main -rf json -rff "$OUT/jmh-kv-$(date +%Y%m%d-%H%M%S).json" \
    'dev.baton.benchmarks.jmh.(KvBenchmark|EtcdKvBenchmark)'
fi
echo "etcd-kv: $(cat /proc/loadavg)"
