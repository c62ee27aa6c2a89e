"""Issue 2: the cluster comes up, tracks its nodes, refuses impostors, and
the HTTP server survives hostile clients while serving others."""

import os
import re
import socket
import stat
import subprocess
import threading
import time
import urllib.request

import pytest

from cluster import (COORDINATOR, NODE, Cluster, Daemon, free_port, wait_for)


def test_healthz_lists_three_nodes_up(cluster):
    doc = cluster.healthz()
    assert doc["status"] == "ok"
    assert doc["version"]
    assert doc["uptime_seconds"] >= 0
    assert doc["nodes_total"] == 3 and doc["nodes_up"] == 3
    for node in doc["nodes"]:
        assert len(node["id"]) == 32
        assert node["state"] == "up"
        assert node["address"].startswith("127.0.0.1:")
        assert node["last_heartbeat"].endswith("Z")
        assert node["capacity_bytes"] > 0
        assert 0 < node["free_bytes"] <= node["capacity_bytes"]


def test_node_killed_goes_down_then_returns_with_same_id(fresh_cluster):
    c = fresh_cluster(heartbeat_ms=300, misses=3).start()
    victim = c.nodes[0]
    before = c.node_states()
    ids = set(before)
    assert len(ids) == 3

    victim.kill()
    killed_at = time.monotonic()
    wait_for(lambda: sum(n["state"] == "down" for n in
                         c.node_states().values()) == 1, 10, "node down")
    took = time.monotonic() - killed_at
    # Marked down within the heartbeat timeout (plus one check interval).
    assert took <= (0.3 * 3) + 0.3 + 1.5, took
    down = [i for i, n in c.node_states().items() if n["state"] == "down"]
    assert len(down) == 1

    c.retired.append(victim)
    c.nodes[0] = c.start_node(victim.index, port=victim.port)
    c.wait_nodes_up(3)
    after = c.node_states()
    assert set(after) == ids, "the restarted node must keep its id"
    assert after[down[0]]["state"] == "up"


def test_node_with_wrong_secret_is_refused(fresh_cluster):
    c = fresh_cluster(nodes=1).start()
    intruder = c.start_node(9, secret="this-is-not-the-cluster-secret")
    rc = intruder.proc.wait(30)
    c.retired.append(intruder)
    assert rc != 0, "a node with the wrong secret must exit non-zero"
    assert "secret" in intruder.log().lower()
    wait_for(lambda: "bad cluster secret" in c.coordinator.log(), 10,
             "refusal in coordinator log")
    assert len(c.healthz()["nodes"]) == 1
    assert "this-is-not-the-cluster-secret" not in c.coordinator.log()
    assert c.secret not in c.coordinator.log()


def test_coordinator_restart_keeps_nodes(fresh_cluster):
    c = fresh_cluster(nodes=2).start()
    ids = set(c.node_states())
    assert c.coordinator.stop() == 0
    c.retired.append(c.coordinator)
    c.start_coordinator()
    c.wait_nodes_up(2)
    assert set(c.node_states()) == ids


def test_unknown_route_is_s3_xml_error(cluster):
    req = urllib.request.Request(cluster.endpoint + "/some-bucket/some-key")
    try:
        urllib.request.urlopen(req, timeout=5)
        raise AssertionError("expected an error status")
    except urllib.error.HTTPError as e:
        body = e.read().decode()
        assert e.code in (403, 404, 501)  # anonymous: NoSuchBucket, as AWS
        assert body.startswith("<?xml")
        assert "<Code>" in body and "<RequestId>" in body
        assert e.headers["x-amz-request-id"]


# ---- hostile clients -------------------------------------------------------

def raw_exchange(port, payload, read_timeout=15, chunks=None):
    """Sends payload and returns what the server answered before closing."""
    s = socket.create_connection(("127.0.0.1", port), timeout=read_timeout)
    try:
        if chunks:
            for piece in chunks:
                s.sendall(piece)
        else:
            s.sendall(payload)
        data = b""
        while True:
            try:
                got = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not got:
                break
            data += got
        return data
    finally:
        s.close()


def status_of(response):
    if not response.startswith(b"HTTP/1.1 "):
        return None
    return int(response[9:12])


class Background:
    """Another client that keeps making requests during the attacks."""

    def __init__(self, endpoint):
        self.endpoint, self.ok, self.failures = endpoint, 0, []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            try:
                with urllib.request.urlopen(self.endpoint + "/healthz",
                                            timeout=5) as r:
                    assert r.status == 200
                    r.read()
                self.ok += 1
            except Exception as e:  # noqa: BLE001 - record every failure
                self.failures.append(repr(e))
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("hostile"), nodes=1,
                coordinator_args=["--header-timeout-ms", "2000",
                                  "--body-timeout-ms", "2000"])
    try:
        c.start()
        yield c
    finally:
        problems = c.stop()
        assert not problems, "\n".join(problems)


def test_bad_inputs_leave_other_clients_served(hostile):
    port = hostile.s3_port
    with Background(hostile.endpoint) as bg:
        # Garbage bytes.
        r = raw_exchange(port, os.urandom(4096).replace(b"\n", b"x") + b"\r\n\r\n")
        assert status_of(r) in (400, None)
        # A 1 MiB header.
        big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
        r = raw_exchange(port, big)
        assert status_of(r) == 431, r[:200]
        # An invalid method.
        r = raw_exchange(port, b"FROB\x01 / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(r) == 400, r[:200]
        # A body longer than its Content-Length: the excess is not a request.
        r = raw_exchange(port, b"PUT /b/k HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 5\r\n\r\nhelloTHIS IS NOT HTTP\r\n\r\n")
        statuses = [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", r)]
        assert statuses and statuses[-1] == 400, r[:400]
        # A URL that is far too long.
        r = raw_exchange(port, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status_of(r) in (414, 431), r[:200]
        # Slowloris: one byte a second never completes the head.
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        started = time.monotonic()
        closed = False
        for ch in b"GET /healthz HTTP/1.1\r\nHost: slow\r\n":
            try:
                s.sendall(bytes([ch]))
                s.settimeout(1.0)
                got = s.recv(4096)
                if got == b"" or got.startswith(b"HTTP/1.1 408"):
                    closed = True
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        s.close()
        assert closed, "a slowloris client must be cut off"
        assert time.monotonic() - started < 8
        # A client that disconnects mid-body.
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
                      + b"z" * 5000)
            s.close()
        # A stalled body is dropped after the body timeout.
        r = raw_exchange(port, b"PUT /b/k HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 100\r\nExpect: 100-continue\r\n\r\n")
        assert b"HTTP/1.1" in r or r == b""
        time.sleep(0.5)
    assert not bg.failures, bg.failures[:5]
    assert bg.ok > 20
    assert hostile.coordinator.alive()


def test_keepalive_and_pipelining(hostile):
    port = hostile.s3_port
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(req * 3 + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        got = s.recv(65536)
        if not got:
            break
        data += got
    s.close()
    assert data.count(b"HTTP/1.1 200") == 4
    assert data.count(b'"status"') == 4


# ---- configuration errors --------------------------------------------------

def run_once(argv, env=None, timeout=30):
    env = dict(env or os.environ)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       env=env, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def test_config_errors_exit_with_one_clear_line(tmp_path, hostile):
    base = [COORDINATOR, "--cluster-secret", "x" * 32,
            "--cluster-listen", f"tcp://127.0.0.1:{free_port()}"]
    # Port in use (the hostile cluster holds it).
    rc, _, err = run_once(base + ["--listen", f"127.0.0.1:{hostile.s3_port}",
                                  "--data-dir", str(tmp_path / "a")])
    assert rc != 0 and "in use" in err.lower(), err
    assert len(err.strip().splitlines()) >= 1
    assert err.strip().splitlines()[-1].startswith("cairn-coordinator: error:")
    # Unknown option.
    rc, _, err = run_once(base + ["--no-such-option", "1"])
    assert rc != 0 and "unknown option --no-such-option" in err
    # Bad value.
    rc, _, err = run_once(base + ["--heartbeat-misses", "many"])
    assert rc != 0 and "heartbeat-misses" in err
    # Missing parent of the data dir.
    rc, _, err = run_once(base + ["--data-dir", "/nonexistent/dir/coord",
                                  "--listen", f"127.0.0.1:{free_port()}"])
    assert rc != 0 and "/nonexistent/dir/coord" in err
    # A config file with a bad line.
    conf = tmp_path / "bad.conf"
    conf.write_text("listen = 127.0.0.1:1\nbogus line\n")
    rc, _, err = run_once(base + ["--config", str(conf)])
    assert rc != 0 and "bad.conf:2" in err
    # A node without a secret.
    rc, _, err = run_once([NODE, "--data-dir", str(tmp_path / "n")])
    assert rc != 0 and "secret" in err.lower()


def test_generated_root_credentials(tmp_path):
    data = tmp_path / "coord"
    data.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CAIRN_ROOT_")}
    argv = [COORDINATOR, "--data-dir", str(data),
            "--listen", f"127.0.0.1:{free_port()}",
            "--cluster-listen", f"tcp://127.0.0.1:{free_port()}"]
    log = str(tmp_path / "c.log")
    d = Daemon("coordinator", argv, log, env).start()
    creds = data / "root.credentials"
    wait_for(lambda: "S3 endpoint" in d.log(), 20, "coordinator ready", d)
    assert creds.exists() and (data / "cluster.secret").exists()
    assert d.stop() == 0
    assert stat.S_IMODE(os.stat(creds).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(data / "cluster.secret").st_mode) == 0o600
    access, secret = creds.read_text().strip().split(":")
    printed = open(d.stdout_path).read()
    assert access in printed and secret in printed  # printed once...
    assert secret not in d.log()                    # ...never logged
    # A second start reuses them and does not print the secret again.
    d2 = Daemon("coordinator", argv, str(tmp_path / "c2.log"), env).start()
    wait_for(lambda: "S3 endpoint" in d2.log(), 20, "coordinator ready", d2)
    assert "root credentials loaded" in d2.log()
    assert d2.stop() == 0
    assert secret not in open(d2.stdout_path).read()
    assert creds.read_text().strip() == f"{access}:{secret}"
