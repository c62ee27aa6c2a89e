#!/usr/bin/env bash
# Starts a local Cairn cluster in the foreground: one coordinator and
# CAIRN_NODES (default 3) storage nodes on loopback, data under ./data/.
# Ctrl-C stops everything cleanly; running it again keeps the data and the
# node ids.
#
#   usage: deploy/run-local.sh BUILD_DIR
set -euo pipefail

build=${1:-build/release}
nodes=${CAIRN_NODES:-3}
data=${CAIRN_LOCAL_DATA:-./data}
s3_port=${CAIRN_S3_PORT:-9000}
cluster_port=${CAIRN_CLUSTER_PORT:-9100}
node_base_port=${CAIRN_NODE_BASE_PORT:-9200}

case "$nodes" in (*[!0-9]*|'') echo "CAIRN_NODES must be a number" >&2; exit 1;; esac
[ "$nodes" -ge 1 ] || { echo "CAIRN_NODES must be at least 1" >&2; exit 1; }

mkdir -p "$data/coord"
chmod 700 "$data/coord"
pids=()

stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping cluster..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped; data kept in $data"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

setsid "$build/coordinator/cairn-coordinator" \
  --listen "127.0.0.1:$s3_port" \
  --cluster-listen "tcp://127.0.0.1:$cluster_port" \
  --data-dir "$data/coord" 2>>"$data/coord.log" &
pids+=($!)

# The coordinator creates the cluster secret on its first start, and the
# root credentials unless they come from the environment.
if [ -n "${CAIRN_ROOT_ACCESS_KEY:-}" ] && [ -n "${CAIRN_ROOT_SECRET_KEY:-}" ]; then
  creds="$CAIRN_ROOT_ACCESS_KEY:$CAIRN_ROOT_SECRET_KEY"
fi
for _ in $(seq 100); do
  [ -s "$data/coord/cluster.secret" ] &&
    { [ -n "${creds:-}" ] || [ -s "$data/coord/root.credentials" ]; } && break
  kill -0 "${pids[0]}" 2>/dev/null || { tail -n 5 "$data/coord.log" >&2; exit 1; }
  sleep 0.1
done

for i in $(seq "$nodes"); do
  mkdir -p "$data/node$i"
  setsid "$build/storagenode/cairn-node" \
    --coordinator "tcp://127.0.0.1:$cluster_port" \
    --listen "127.0.0.1:$((node_base_port + i))" \
    --data-dir "$data/node$i" \
    --cluster-secret-file "$data/coord/cluster.secret" 2>>"$data/node$i.log" &
  pids+=($!)
done

[ -n "${creds:-}" ] || creds=$(cat "$data/coord/root.credentials")
cat <<INFO

Cairn is running: 1 coordinator, $nodes storage nodes (logs in $data/*.log)

  S3 endpoint:  http://127.0.0.1:$s3_port
  access key:   ${creds%%:*}
  secret key:   ${creds#*:}
  health:       curl http://127.0.0.1:$s3_port/healthz

  export AWS_ACCESS_KEY_ID=${creds%%:*} AWS_SECRET_ACCESS_KEY=${creds#*:}
  aws --endpoint-url http://127.0.0.1:$s3_port s3 ls

Press Ctrl-C to stop.
INFO

# The daemons run in their own sessions, so Ctrl-C reaches only this script,
# which stops each of them once, gracefully. Wait until one exits (or Ctrl-C).
wait -n "${pids[@]}" || true
echo "a cluster process exited; see $data/*.log" >&2
