#!/usr/bin/env bash
# `make bench`: a fixed benchmark suite against a throw-away local cluster
# (1 coordinator + 3 nodes on free loopback ports, in a temporary directory
# removed on exit), with nginx serving the same bytes from a directory as
# the machine's ceiling, measured by the same client (cairn-bench).
#
#   usage: tools/bench.sh BUILD_DIR
#
#   BENCH_RUNS=3           runs; every figure is the median over them
#   BENCH_DURATION=3s      length of each timed test
#   BENCH_LIST_KEYS=100000 keys listed (zero-byte objects), then deleted
#                          for BENCH_DURATION or until none is left
#   BENCH_MULTIPART_OPS=4  64 MiB multipart uploads per run
#   BENCH_QUICK=1          1 run of 1 s, 10,000 list keys, 2 uploads
#   BENCH_KEEP=1           keep the temporary directory (logs, JSON)
#   BENCH_TESTS="a b"      measure only these tests (names as in measure
#                          below, e.g. "put-1m-256 get-1m-256 list delete");
#                          setup writes still run. Default: all
#
# Prints one table. cairn-bench's exit status 1 (a request failed) does not
# stop the suite: the table's error column shows it, and the script exits 1.
set -euo pipefail

build=$(cd "${1:-build/release}" && pwd)
bench="$build/tools/cairn-bench/cairn-bench"
coordinator="$build/coordinator/cairn-coordinator"
node="$build/storagenode/cairn-node"
for exe in "$bench" "$coordinator" "$node"; do
  [ -x "$exe" ] || { echo "bench: $exe missing; run make release" >&2; exit 2; }
done
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] ||
  { echo "bench: nginx missing; run deploy/install-deps.sh --bench" >&2; exit 2; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  runs=${BENCH_RUNS:-1} duration=${BENCH_DURATION:-1s}
  list_keys=${BENCH_LIST_KEYS:-10000} multipart_ops=${BENCH_MULTIPART_OPS:-2}
else
  runs=${BENCH_RUNS:-3} duration=${BENCH_DURATION:-3s}
  list_keys=${BENCH_LIST_KEYS:-100000} multipart_ops=${BENCH_MULTIPART_OPS:-4}
fi
for v in "$runs" "$list_keys" "$multipart_ops"; do
  case "$v" in (*[!0-9]*|''|0) echo "bench: BENCH_RUNS, BENCH_LIST_KEYS and BENCH_MULTIPART_OPS must be positive numbers" >&2; exit 2;; esac
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cairn-bench.XXXXXX")
results="$tmp/results.jsonl"
pids=()
failed=0

cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "bench: kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# utime + stime of a process, in clock ticks (fields 14 and 15 of stat,
# counted after the parenthesised command name).
cpu_ticks() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || { echo 0; return; }
  sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

peak_rss_kib() {
  awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# --- the cluster ---------------------------------------------------------
access_key=CAIRNBENCHROOTKEY001
secret_key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
cluster_secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
s3_port=$(free_port)
cluster_port=$(free_port)
endpoint="http://127.0.0.1:$s3_port"
mkdir -p "$tmp/coord" && chmod 700 "$tmp/coord"

CAIRN_ROOT_ACCESS_KEY=$access_key CAIRN_ROOT_SECRET_KEY=$secret_key \
  setsid "$coordinator" --listen "127.0.0.1:$s3_port" \
  --cluster-listen "tcp://127.0.0.1:$cluster_port" --data-dir "$tmp/coord" \
  --cluster-secret "$cluster_secret" --log-level warn 2>"$tmp/coord.log" &
coord_pid=$!
pids+=("$coord_pid")
node_pids=()
for i in 1 2 3; do
  mkdir -p "$tmp/node$i"
  setsid "$node" --coordinator "tcp://127.0.0.1:$cluster_port" \
    --listen "127.0.0.1:$(free_port)" --data-dir "$tmp/node$i" \
    --cluster-secret "$cluster_secret" --log-level warn 2>"$tmp/node$i.log" &
  pids+=($!)
  node_pids+=($!)
done
for _ in $(seq 300); do
  curl -fs "$endpoint/healthz" 2>/dev/null | grep -q '"nodes_up": *3' && break
  kill -0 "$coord_pid" 2>/dev/null || { tail -n 5 "$tmp/coord.log" >&2; exit 1; }
  sleep 0.1
done
curl -fs "$endpoint/healthz" | grep -q '"nodes_up": *3' ||
  { echo "bench: the cluster did not come up; see $tmp/*.log" >&2; BENCH_KEEP=1; exit 1; }

# --- nginx, serving the same sizes from a directory ------------------------
nginx_port=$(free_port)
www="$tmp/www"
mkdir -p "$www/www-bench/4k" "$www/www-bench/1m" "$tmp/nginx"
for i in $(seq 0 99); do
  head -c 4096 /dev/urandom >"$www/www-bench/4k/obj-$(printf %010d "$i")"
done
for i in $(seq 0 31); do
  head -c 1048576 /dev/urandom >"$www/www-bench/1m/obj-$(printf %010d "$i")"
done
chmod -R a+rX "$www" && chmod a+x "$tmp"
cat >"$tmp/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx/body;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$nginx_port; root $www; }
}
CONF
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>>"$tmp/nginx/error.log" &
nginx_pid=$!
pids+=("$nginx_pid")
for _ in $(seq 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$nginx_port/www-bench/4k/obj-0000000000" && break
  sleep 0.05
done
nginx_worker=$(pgrep -P "$nginx_pid" | head -n 1)

# --- the suite -------------------------------------------------------------
export AWS_ACCESS_KEY_ID=$access_key AWS_SECRET_ACCESS_KEY=$secret_key
cairn_cpu_coord=0 cairn_cpu_nodes=0 cairn_bytes=0

# One measurement: NAME then cairn-bench arguments. Appends
# {"run", "test", "result", "cpu_coord", "cpu_nodes", "cpu_nginx",
# "cpu_client_ms", "rss_coord"} to results.jsonl (CPU in clock ticks but
# the client's, in ms); rss_coord is the coordinator's peak RSS (KiB)
# during the test (writing 5 to clear_refs resets VmHWM to the current RSS).
measure() {
  local name=$1 out="$tmp/out.json" rc=0 c0 n0 c1 n1 g0 g1 pid client TIMEFORMAT='%3U %3S'
  shift
  if [ -n "${BENCH_TESTS:-}" ] && [[ " $BENCH_TESTS " != *" $name "* ]]; then
    return 0
  fi
  echo 5 >"/proc/$coord_pid/clear_refs" 2>/dev/null || true
  c0=$(cpu_ticks "$coord_pid")
  n0=0; for pid in "${node_pids[@]}"; do n0=$((n0 + $(cpu_ticks "$pid"))); done
  g0=$(cpu_ticks "$nginx_worker")
  { time "$bench" "$@" --json >"$out" 2>>"$tmp/bench.log"; } 2>"$tmp/client.cpu" || rc=$?
  c1=$(cpu_ticks "$coord_pid")
  n1=0; for pid in "${node_pids[@]}"; do n1=$((n1 + $(cpu_ticks "$pid"))); done
  g1=$(cpu_ticks "$nginx_worker")
  client=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$tmp/client.cpu")
  if [ "$rc" -gt 1 ] || [ ! -s "$out" ]; then
    echo "bench: $name failed (exit $rc); see $tmp/bench.log" >&2
    tail -n 3 "$tmp/bench.log" >&2
    BENCH_KEEP=1
    exit 1
  fi
  [ "$rc" -eq 0 ] || failed=1
  rss=$(peak_rss_kib "$coord_pid")
  [ "$rss" -gt "$coord_rss" ] && coord_rss=$rss
  printf '{"run": %d, "test": "%s", "cpu_coord": %d, "cpu_nodes": %d, "cpu_nginx": %d, "cpu_client_ms": %d, "rss_coord": %d, "result": %s}\n' \
    "$run" "$name" $((c1 - c0)) $((n1 - n0)) $((g1 - g0)) "$client" "$rss" "$(cat "$out")" >>"$results"
}

# Unmeasured setup writes: cairn-bench ARGS, must not fail.
prepare() {
  "$bench" "$@" >>"$tmp/bench.log" 2>&1 ||
    { echo "bench: setup '$*' failed; see $tmp/bench.log" >&2; BENCH_KEEP=1; exit 1; }
}

coord_rss=0 # the largest of the tests' peaks (measure)
common=(--endpoint "$endpoint" --duration "$duration")
nginx=(--endpoint "http://127.0.0.1:$nginx_port" --bucket www-bench --anonymous
       --duration "$duration" --keys random)
echo "bench: $runs run(s), $duration per test, $list_keys list keys; cluster in $tmp" >&2
for run in $(seq "$runs"); do
  p="r$run"
  echo "bench: run $run/$runs" >&2
  measure put-4k put "${common[@]}" --prefix "$p/put4k/" --size 4k --concurrency 32
  prepare put --endpoint "$endpoint" --prefix "$p/get4k/" --size 4k --ops 100 --concurrency 32
  measure get-4k get "${common[@]}" --prefix "$p/get4k/" --existing --prefill 100 --keys random --concurrency 32
  measure nginx-4k get "${nginx[@]}" --prefix 4k/ --prefill 100 --concurrency 32
  measure put-1m put "${common[@]}" --prefix "$p/put1m/" --size 1m --concurrency 16
  prepare put --endpoint "$endpoint" --prefix "$p/get1m/" --size 1m --ops 32 --concurrency 16
  measure get-1m get "${common[@]}" --prefix "$p/get1m/" --existing --prefill 32 --keys random --concurrency 16
  measure nginx-1m get "${nginx[@]}" --prefix 1m/ --prefill 32 --concurrency 16
  # 256 connections at once: what bounds the coordinator's memory.
  measure put-1m-256 put "${common[@]}" --prefix "$p/put1m256/" --size 1m --concurrency 256
  measure get-1m-256 get "${common[@]}" --prefix "$p/get1m/" --existing --prefill 32 --keys random \
    --concurrency 256
  measure put-64m multipart --endpoint "$endpoint" --prefix "$p/mp/" --size 64m --part-size 16m \
    --ops "$multipart_ops" --concurrency 4
  measure get-64m get "${common[@]}" --prefix "$p/mp/" --existing --prefill "$multipart_ops" \
    --keys random --concurrency 4
  prepare put --endpoint "$endpoint" --prefix "$p/list/" --size 0 --ops "$list_keys" --concurrency 32
  measure list list "${common[@]}" --prefix "$p/list/" --existing --prefill "$list_keys" --concurrency 1
  measure delete delete "${common[@]}" --prefix "$p/list/" --existing --prefill "$list_keys" \
    --concurrency 32
  "$bench" speed --json >>"$tmp/speed.jsonl"
  # The nodes' data dirs are under $tmp: the same file system.
  "$bench" disk --dir "$tmp" --json >>"$tmp/disk.jsonl"
done

r=$(peak_rss_kib "$coord_pid"); [ "$r" -gt "$coord_rss" ] && coord_rss=$r
node_rss=0
for pid in "${node_pids[@]}"; do
  r=$(peak_rss_kib "$pid"); [ "$r" -gt "$node_rss" ] && node_rss=$r
done

python3 - "$results" "$tmp/speed.jsonl" "$runs" "$duration" "$list_keys" \
  "$coord_rss" "$node_rss" "$(getconf CLK_TCK)" "$tmp/disk.jsonl" <<'PY'
import json, statistics, sys

results_path, speed_path, runs, duration, list_keys = sys.argv[1:6]
coord_rss, node_rss, clk_tck = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
rows = [json.loads(line) for line in open(results_path)]
speed = [json.loads(line) for line in open(speed_path)]
disk = [json.loads(line) for line in open(sys.argv[9])]

def med(values):
    return statistics.median(values) if values else 0.0

def of(test, field, sub=None):
    vals = []
    for r in rows:
        if r["test"] == test:
            v = r["result"][field]
            vals.append(v[sub] if sub else v)
    return med(vals)

def rss_of(test):
    # The coordinator's peak RSS (MiB) during the test, largest over runs.
    return max((r.get("rss_coord", 0) for r in rows if r["test"] == test), default=0) / 1024

def errors(test):
    return sum(r["result"]["errors"]["total"] for r in rows if r["test"] == test)

tests = [
    ("put-4k", "PUT 4 KiB", 32, None),
    ("get-4k", "GET 4 KiB", 32, "nginx-4k"),
    ("put-1m", "PUT 1 MiB", 16, None),
    ("get-1m", "GET 1 MiB", 16, "nginx-1m"),
    ("put-1m-256", "PUT 1 MiB, 256 connections", 256, None),
    ("get-1m-256", "GET 1 MiB, 256 connections", 256, None),
    ("put-64m", "PUT 64 MiB multipart", 4, None),
    ("get-64m", "GET 64 MiB", 4, None),
    ("list", f"LIST {int(list_keys):,} keys (keys/s)", 1, None),
    ("delete", "DELETE of the listed keys", 32, None),
]
print(f"Cairn benchmark: 1 coordinator + 3 nodes on loopback; median of {runs} "
      f"run(s), {duration} per test")
head = (f"{'test':<30} {'conc':>4} {'ops/s':>10} {'MiB/s':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} {'errors':>6} {'coord MiB':>9}  {'nginx ops/s':>11} {'Cairn/nginx':>11}")
print(head)
print("-" * len(head))
for test, label, conc, ceiling in tests:
    ops = of(test, "keys_per_second") if test == "list" else of(test, "ops_per_second")
    line = (f"{label:<30} {conc:>4} {ops:>10.0f} {of(test, 'mib_per_second'):>9.1f} "
            f"{of(test, 'latency_ms', 'p50'):>8.2f} {of(test, 'latency_ms', 'p99'):>8.2f} "
            f"{of(test, 'latency_ms', 'max'):>8.2f} {errors(test):>6} {rss_of(test):>9.0f}")
    if ceiling:
        nginx_ops = of(ceiling, "ops_per_second")
        ratio = of(test, "ops_per_second") / nginx_ops if nginx_ops else 0.0
        line += f"  {nginx_ops:>11.0f} {ratio:>11.2f}"
    print(line)

data = ("put-4k", "get-4k", "put-1m", "get-1m", "put-1m-256", "get-1m-256",
        "put-64m", "get-64m")
def cpu_per_gib(field):
    gib = sum(r["result"]["gib"] for r in rows if r["test"] in data)
    ticks = sum(r[field] for r in rows if r["test"] in data)
    return ticks / clk_tck / gib if gib else 0.0
print("-" * len(head))
print(f"coordinator: peak RSS {coord_rss / 1024:.0f} MiB (largest of the tests, each in the table's coord column), "
      f"{cpu_per_gib('cpu_coord'):.2f} CPU s per GiB moved (PUT+GET tests)")
print(f"nodes:       peak RSS {node_rss / 1024:.0f} MiB (largest of 3), "
      f"{cpu_per_gib('cpu_nodes'):.2f} CPU s per GiB moved (all 3 together)")
print(f"this machine, one core: AES-256-GCM {med([s['aes_256_gcm_gbps'] for s in speed]):.2f} GB/s, "
      f"MD5 {med([s['md5_gbps'] for s in speed]):.2f} GB/s, "
      f"ISA-L RS(4,2) encode {med([s['rs_4_2_encode_gbps'] for s in speed]):.2f} GB/s")
# What each side of the two GET ratios and the small PUT spends per unit
# moved, all processes together (client included): the CPU the two cores
# must find for every MiB or PUT.
def cpu_of(test, unit):
    # Median over runs of (coordinator, nodes, nginx, client) ms per unit.
    per = []
    for r in rows:
        if r["test"] != test:
            continue
        n = r["result"]["gib"] * 1024 if unit == "MiB" else r["result"]["ops"]
        if n:
            per.append([r["cpu_coord"] / clk_tck * 1e3 / n, r["cpu_nodes"] / clk_tck * 1e3 / n,
                        r.get("cpu_nginx", 0) / clk_tck * 1e3 / n, r.get("cpu_client_ms", 0) / n])
    return [med([p[i] for p in per]) for i in range(4)] if per else [0.0] * 4
cairn, ngx = cpu_of("get-1m", "MiB"), cpu_of("nginx-1m", "MiB")
print(f"CPU per MiB of 1 MiB GET: Cairn {sum(cairn):.2f} ms (coordinator {cairn[0]:.2f}, "
      f"nodes {cairn[1]:.2f}, client {cairn[3]:.2f}), nginx {sum(ngx):.2f} ms "
      f"(nginx {ngx[2]:.2f}, client {ngx[3]:.2f})")
small = cpu_of("put-4k", "op")
print(f"CPU per 4 KiB PUT: {sum(small) * 1e3:.0f} us (coordinator {small[0] * 1e3:.0f}, "
      f"nodes {small[1] * 1e3:.0f}, client {small[3] * 1e3:.0f}): two cores at full use "
      f"allow {2e3 / sum(small) if sum(small) else 0:.0f}/s")
# Every PUT is acknowledged once each of its replica:2 copies (the default
# layout) is fdatasync'd: the disk's durable bandwidth over two bounds it.
durable = med([d["durable_write_mbps"] for d in disk])
print(f"this machine's disk (the nodes' file system): {durable:.0f} MB/s made durable "
      f"(1 MiB appends + fdatasync, {disk[0]['writers']} writers), "
      f"4 KiB append + fdatasync {med([d['append_4k_fdatasync_us'] for d in disk]):.0f} us; "
      f"2 copies per PUT: at most {durable * 1e6 / 2 / 2**20:.0f} MiB/s of PUTs")
PY
exit "$failed"
