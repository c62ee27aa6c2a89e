"""A real Cairn cluster for integration tests: one coordinator and N storage
nodes, started from the build under test on free loopback ports in a
temporary directory. Every daemon's stderr goes to a log file; stopping the
cluster fails the test if any log holds a sanitizer report or a daemon did not
exit cleanly on SIGTERM."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

BUILD_DIR = os.environ.get("CAIRN_BUILD_DIR", os.path.abspath("build/sanitize"))
COORDINATOR = os.path.join(BUILD_DIR, "coordinator", "cairn-coordinator")
NODE = os.path.join(BUILD_DIR, "storagenode", "cairn-node")
CLI = os.path.join(BUILD_DIR, "client", "cairn")

ROOT_ACCESS_KEY = "CAIRNTESTROOTKEY0001"
ROOT_SECRET_KEY = "cairn-test-root-secret-key-0123456789abc"
CLUSTER_SECRET = "cairn-test-cluster-secret-0123456789"

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "ERROR: UndefinedBehaviorSanitizer")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, name, argv, log_path, env=None):
        self.name, self.argv, self.log_path = name, argv, log_path
        self.env = env
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        self.stdout_path = self.log_path + ".stdout"
        out = open(self.stdout_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=out, stderr=log,
                                     env=self.env, stdin=subprocess.DEVNULL)
        log.close()
        out.close()
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"{self.name} did not stop on SIGTERM")

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()


def sanitizer_reports(text):
    return [m for m in SANITIZER_MARKERS if m in text]


class Cluster:
    def __init__(self, workdir, nodes=3, heartbeat_ms=500, misses=3,
                 coordinator_args=(), secret=CLUSTER_SECRET):
        self.workdir = str(workdir)
        self.node_count = nodes
        self.heartbeat_ms = heartbeat_ms
        self.misses = misses
        self.secret = secret
        self.coordinator_args = list(coordinator_args)
        self.s3_port = free_port()
        self.cluster_port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.s3_port}"
        self.access_key, self.secret_key = ROOT_ACCESS_KEY, ROOT_SECRET_KEY
        self.coordinator = None
        self.nodes = []
        self.retired = []  # daemons already stopped, logs still checked
        self.node_extra_args = []  # added to every node's command line
        self.node_args = {}  # node index -> extra arguments for that node

    # -- processes ---------------------------------------------------------
    def env(self):
        env = dict(os.environ)
        env["CAIRN_ROOT_ACCESS_KEY"] = ROOT_ACCESS_KEY
        env["CAIRN_ROOT_SECRET_KEY"] = ROOT_SECRET_KEY
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        return env

    def coordinator_argv(self):
        return [COORDINATOR, "--listen", f"127.0.0.1:{self.s3_port}",
                "--cluster-listen", f"tcp://127.0.0.1:{self.cluster_port}",
                "--data-dir", os.path.join(self.workdir, "coord"),
                "--cluster-secret", self.secret,
                "--heartbeat-interval-ms", str(self.heartbeat_ms),
                "--heartbeat-misses", str(self.misses),
                "--log-level", "debug"] + self.coordinator_args

    def start_coordinator(self):
        os.makedirs(os.path.join(self.workdir, "coord"), exist_ok=True)
        self.coordinator = Daemon("coordinator", self.coordinator_argv(),
                                  os.path.join(self.workdir, "coord.log"),
                                  self.env()).start()
        wait_for(lambda: self.healthz_or_none() is not None, 30,
                 "coordinator /healthz", self.coordinator)
        return self.coordinator

    def node_argv(self, index, port, secret=None):
        return [NODE, "--coordinator", f"tcp://127.0.0.1:{self.cluster_port}",
                "--listen", f"127.0.0.1:{port}",
                "--data-dir", os.path.join(self.workdir, f"node{index}"),
                "--cluster-secret", secret or self.secret,
                "--heartbeat-interval-ms", str(self.heartbeat_ms),
                "--log-level", "debug"] + self.node_extra_args + \
            self.node_args.get(index, [])

    def start_node(self, index, port=None, secret=None):
        port = port or free_port()
        os.makedirs(os.path.join(self.workdir, f"node{index}"), exist_ok=True)
        d = Daemon(f"node{index}", self.node_argv(index, port, secret),
                   os.path.join(self.workdir, f"node{index}.log"),
                   self.env()).start()
        d.port, d.index = port, index
        return d

    def start(self):
        self.start_coordinator()
        for i in range(1, self.node_count + 1):
            self.nodes.append(self.start_node(i))
        self.wait_nodes_up(self.node_count)
        return self

    def daemons(self):
        return [d for d in [self.coordinator] + self.nodes if d] + self.retired

    def stop(self):
        """Stops everything; returns a list of problems (empty when clean)."""
        problems = []
        for d in reversed([self.coordinator] + self.nodes):
            if d and d.proc and d.proc.poll() is None:
                try:
                    rc = d.stop()
                    if rc != 0:
                        problems.append(f"{d.name} exited {rc} on SIGTERM")
                except AssertionError as e:
                    problems.append(str(e))
        for d in self.daemons():
            for marker in sanitizer_reports(d.log()):
                problems.append(f"{d.name}: {marker} in {d.log_path}")
        return problems

    # -- observation -------------------------------------------------------
    def healthz_or_none(self):
        try:
            with urllib.request.urlopen(self.endpoint + "/healthz",
                                        timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            return None

    def healthz(self):
        doc = self.healthz_or_none()
        assert doc is not None, "coordinator /healthz did not answer"
        return doc

    def node_states(self):
        return {n["id"]: n for n in self.healthz()["nodes"]}

    def wait_nodes_up(self, count, timeout=30):
        wait_for(lambda: sum(1 for n in self.healthz()["nodes"]
                             if n["state"] == "up") >= count,
                 timeout, f"{count} nodes up", self.coordinator)


def wait_for(predicate, timeout, what, daemon=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon is not None and not daemon.alive():
            raise AssertionError(f"{daemon.name} exited while waiting for "
                                 f"{what}:\n{daemon.log()[-3000:]}")
        try:
            if predicate():
                return
        except (OSError, AssertionError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


HEADER = 64        # a fragment's header (docs/chunk-format.md)
BLOCK = 64 * 1024  # data block, each followed by its CRC32C


def image_length(data_length):
    """Bytes of a fragment of data_length bytes, as a file or an image."""
    return HEADER + data_length + 4 * (-(-data_length // BLOCK))


class Fragment:
    """Where one fragment's bytes are on a node's disk: a file of its own
    (<dir>/chunks/.../<chunk>.<index>) or a live image in a segment file
    (<dir>/segments/<n>.seg, at `offset`). Byte offsets given to read,
    write and flip count from the fragment's first header byte either
    way."""

    def __init__(self, node, chunk, index, path, offset, length, segment):
        self.node, self.chunk, self.index = node, chunk, index
        self.path, self.offset, self.length = path, offset, length
        self.segment = segment

    @property
    def key(self):
        return (self.node, self.chunk, self.index)

    def read(self):
        with open(self.path, "rb") as f:
            if not self.segment:
                return f.read()
            f.seek(self.offset)
            return f.read(self.length)

    def write(self, data, at=0):
        """Overwrites bytes in place (never changes the length)."""
        assert at + len(data) <= self.length
        with open(self.path, "r+b") as f:
            f.seek(self.offset + at)
            f.write(data)

    def flip(self, at, mask=0x55):
        with open(self.path, "r+b") as f:
            f.seek(self.offset + at)
            b = f.read(1)
            f.seek(self.offset + at)
            f.write(bytes([b[0] ^ mask]))

    def __repr__(self):
        where = f"@{self.offset}" if self.segment else ""
        return f"<{self.chunk}.{self.index} on node{self.node}: " \
               f"{self.path}{where}>"


def segment_images(seg_dir):
    """{(chunk id hex, fragment): (path, offset, image length)}: the live
    images of one segments dir, as the node's scan at start finds them:
    segments in order, images and tombstones (bit 0 of header byte 48) in
    file order, a newer image replacing an older one; where no whole
    image starts (a torn tail, a bad header) the scan goes on at the next
    magic that starts one."""
    live = {}
    if not os.path.isdir(seg_dir):
        return live
    for name in sorted(os.listdir(seg_dir)):
        if not name.endswith(".seg"):
            continue
        path = os.path.join(seg_dir, name)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:  # removed meanwhile: nothing live in it
            continue
        at = 0
        while at + HEADER <= len(raw):
            length = int.from_bytes(raw[at + 16:at + 24], "big")
            size = image_length(length)
            if raw[at:at + 8] != b"CAIRNFR1" or at + size > len(raw):
                at = raw.find(b"CAIRNFR1", at + 1)
                if at < 0:
                    break
                continue
            frag = int.from_bytes(raw[at + 12:at + 16], "big")
            key = (raw[at + 32:at + 48].hex(), frag)
            if raw[at + 48] & 1:
                live.pop(key, None)
            else:
                live[key] = (path, at, size)
            at += size
    return live


def node_fragments(workdir, nodes):
    """Every fragment on the disks of the given node numbers (files and
    live segment images), as Fragment objects."""
    out = []
    for n in nodes:
        node_dir = os.path.join(str(workdir), f"node{n}")
        for root, dirs, files in os.walk(node_dir):
            if os.path.basename(root) == "segments":
                for (chunk, index), (path, offset, size) in \
                        segment_images(root).items():
                    out.append(Fragment(n, chunk, index, path, offset, size,
                                        True))
                continue
            if "/chunks" not in root:
                continue
            for f in files:
                if ".tmp-" in f:
                    continue
                chunk, index = f.rsplit(".", 1)
                path = os.path.join(root, f)
                try:
                    size = os.path.getsize(path)
                except FileNotFoundError:
                    continue
                out.append(Fragment(n, chunk, int(index), path, 0, size,
                                    False))
    return out


def find_fragment(workdir, node, chunk, index):
    """The Fragment (chunk hex, index) on node, or None."""
    for f in node_fragments(workdir, [node]):
        if f.chunk == chunk and f.index == index:
            return f
    return None


def stored_files(workdir, nodes):
    """Paths of every file that holds fragment bytes on the given nodes:
    fragment files, temporaries and whole segment files (live or dead
    images alike), for checks that look at every byte on disk."""
    out = []
    for n in nodes:
        for root, _, files in os.walk(os.path.join(str(workdir), f"node{n}")):
            if "/chunks" in root or os.path.basename(root) == "segments":
                out.extend(os.path.join(root, f) for f in files)
    return out


def segment_fragments(node_dir):
    """The (chunk id bytes, fragment) pairs live in a node's segments."""
    return {(bytes.fromhex(chunk), index)
            for chunk, index in segment_images(
                os.path.join(node_dir, "segments"))}
