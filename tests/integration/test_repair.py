"""Issue 4, part 3: repair. Degraded chunks (fragments missing at write
time, on dead or draining nodes, or corrupt on disk) are rebuilt onto other
nodes by the coordinator's background repairer, and every PUT that got a
200 reads back bit-exact throughout."""

import hashlib
import os
import threading
import time

import pytest
from botocore.exceptions import ClientError

from cluster import find_fragment, node_fragments, wait_for
from s3client import boto_client
from test_erasure_coding import with_layout

KIB = 1024
MIB = 1024 * KIB
SIZES = [10 * KIB, 300 * KIB, 1536 * KIB, 3 * MIB + 12345]
FAST = ["--chunk-size", "1M", "--ec-min-size", "256K",
        "--repair-interval-ms", "100", "--gc-interval-ms", "200",
        "--write-intent-grace-ms", "1000"]


def repair_state(c):
    return c.healthz()["repair"]


def fragments_on_disk(c, indexes=None):
    """{chunk id hex: {fragment index: [node index, ...]}} over data dirs
    (fragment files and segment images alike: a fragment held twice on one
    node, as a file and an image, is listed twice)."""
    found = {}
    for f in node_fragments(c.workdir, indexes or range(1, c.node_count + 1)):
        found.setdefault(f.chunk, {}).setdefault(f.index, []).append(f.node)
    return found


def fully_redundant(c, expect_ec, replicas=2):
    """Every chunk on disk has each fragment exactly once: 0..expect-1
    (EC k+m, or the copies of replica:N) or 0..1 (replica:2)."""
    for chunk, frags in fragments_on_disk(c).items():
        if any(len(v) != 1 for v in frags.values()):
            return False
        if set(frags) not in ({0, 1}, set(range(expect_ec)),
                              set(range(replicas))):
            return False
    return True


def check_all(s3, bucket, stored):
    for key, digest in list(stored.items()):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.md5(body).digest() == digest, key


def restart(c, node):
    c.nodes.remove(node)
    c.retired.append(node)
    fresh = c.start_node(node.index, port=node.port)
    c.nodes.append(fresh)
    return fresh


def test_raid6_repair_after_two_nodes_killed(fresh_cluster):
    # Objects below --ec-min-size are replicated: three copies, so that
    # they too survive two nodes down.
    c = fresh_cluster(nodes=6, heartbeat_ms=200,
                      coordinator_args=FAST + ["--replicas", "3",
                                               "--node-dead-after-ms",
                                               "600000"]).start()
    s3 = boto_client(c)
    with_layout(s3, "raid6:4")
    s3.create_bucket(Bucket="rep")
    stored, errors, stop = {}, [], threading.Event()

    def traffic():
        i = 0
        while not stop.is_set():
            size = SIZES[i % len(SIZES)]
            data = os.urandom(size)
            key = f"obj-{i}"
            try:
                s3.put_object(Bucket="rep", Key=key, Body=data)
                stored[key] = hashlib.md5(data).digest()
            except ClientError:
                pass  # refused (too few nodes): not acknowledged
            i += 1
            for k in list(stored)[-3:]:
                try:
                    body = s3.get_object(Bucket="rep", Key=k)["Body"].read()
                    if hashlib.md5(body).digest() != stored[k]:
                        errors.append(f"bad bytes for {k}")
                except ClientError as e:
                    errors.append(f"GET {k}: {e}")

    t = threading.Thread(target=traffic)
    t.start()
    try:
        time.sleep(1.5)
        a, b = c.nodes[1], c.nodes[4]
        a.kill()
        time.sleep(1.5)  # PUTs now store chunks with one fragment missing
        b.kill()
        time.sleep(1.5)  # EC PUTs refused, small ones replicated
    finally:
        stop.set()
        t.join(60)
    assert not errors, errors[:5]
    check_all(s3, "rep", stored)  # with two nodes down
    wait_for(lambda: repair_state(c)["degraded_chunks"] > 0, 5,
             "degraded chunks indexed", c.coordinator)
    restart(c, a)
    restart(c, b)
    c.wait_nodes_up(6)
    wait_for(lambda: repair_state(c)["degraded_chunks"] == 0, 60,
             "degraded chunks repaired", c.coordinator)
    st = repair_state(c)
    assert st["repaired"] > 0 and st["bytes_repaired"] > 0, st
    wait_for(lambda: fully_redundant(c, 6, 3), 30, "every fragment on disk")
    check_all(s3, "rep", stored)


def with_chunk_size(args, size):
    out = list(args)
    out[out.index("--chunk-size") + 1] = size
    return out


def corrupt_fragment(c, index, offset, segment):
    """Flips a byte of fragment `index` of the only chunk on disk (a
    segment image if `segment`, else a file: asserted); returns the chunk
    id, the fragment's original bytes and its node."""
    frags = fragments_on_disk(c)
    assert len(frags) == 1
    chunk, where = next(iter(frags.items()))
    node = where[index][0]
    frag = find_fragment(c.workdir, node, chunk, index)
    assert frag.segment == segment, frag
    original = frag.read()
    frag.flip(offset)
    assert frag.read() != original
    return chunk, original, node


def stored_bytes(c, node, chunk, index):
    """The bytes of the copy node holds now (None if it holds none)."""
    frag = find_fragment(c.workdir, node, chunk, index)
    return frag.read() if frag else None


@pytest.mark.parametrize("kind", ["segment", "file"])
def test_corrupt_fragment_found_by_get_and_repaired(fresh_cluster, kind):
    """A small fragment is a segment image, one above 1 MiB + 64 KiB a
    file (one chunk of 4 MiB)."""
    segment = kind == "segment"
    c = fresh_cluster(nodes=3, heartbeat_ms=200,
                      coordinator_args=with_chunk_size(FAST, "4M")).start()
    s3 = boto_client(c)
    s3.create_bucket(Bucket="rot")
    data = os.urandom(200 * KIB if segment else 2 * MIB)
    s3.put_object(Bucket="rot", Key="k", Body=data)
    chunk, original, node = corrupt_fragment(c, 0, 64 + 1000, segment)
    # The GET fails over to the good copy and reports the bad one.
    for _ in range(3):
        assert s3.get_object(Bucket="rot", Key="k")["Body"].read() == data
    wait_for(lambda: repair_state(c)["corrupt_reports"] > 0, 10,
             "corruption reported")
    wait_for(lambda: repair_state(c)["degraded_chunks"] == 0 and
             repair_state(c)["repaired"] >= 1, 30, "repair", c.coordinator)

    def restored():
        frags = fragments_on_disk(c)
        if set(frags[chunk]) != {0, 1}:
            return False
        held = stored_bytes(c, node, chunk, 0)
        if held is None:
            return True  # rebuilt on another node, the bad copy collected
        return held == original
    wait_for(restored, 30, "fragment restored")
    assert s3.get_object(Bucket="rot", Key="k")["Body"].read() == data


@pytest.mark.parametrize("kind", ["segment", "file"])
def test_scrubber_finds_and_repair_rewrites_in_place(fresh_cluster, kind):
    """raid6:4 on six nodes: every node holds a fragment, so the corrupt
    one is rewritten in place on its own node, bit-exact. Fragments of a
    1 MiB chunk (256 KiB) are segment images, those of a 6 MiB chunk
    (1.5 MiB) files."""
    segment = kind == "segment"
    c = fresh_cluster(nodes=6, heartbeat_ms=200,
                      coordinator_args=with_chunk_size(
                          FAST, "1M" if segment else "8M"))
    c.node_extra_args = ["--scrub-rate", "64M", "--scrub-interval-ms", "200"]
    c.start()
    s3 = boto_client(c)
    with_layout(s3, "raid6:4")
    s3.create_bucket(Bucket="scrub")
    data = os.urandom((1 if segment else 6) * MIB - 4321)  # one chunk,
    s3.put_object(Bucket="scrub", Key="k", Body=data)  # six fragments
    chunk, original, node = corrupt_fragment(c, 2, 64 + 5000, segment)
    wait_for(lambda: stored_bytes(c, node, chunk, 2) == original, 30,
             "scrubber report and in-place repair", c.coordinator)
    assert repair_state(c)["corrupt_reports"] >= 1
    assert "failed verification" in c.nodes[node - 1].log()
    wait_for(lambda: repair_state(c)["degraded_chunks"] == 0, 10, "index")
    assert s3.get_object(Bucket="scrub", Key="k")["Body"].read() == data


def cli(c, *args, check=True):
    import subprocess
    from cluster import CLI
    env = dict(os.environ, CAIRN_ENDPOINT=c.endpoint,
               CAIRN_ACCESS_KEY=c.access_key, CAIRN_SECRET_KEY=c.secret_key)
    r = subprocess.run([CLI] + list(args), env=env, text=True,
                       capture_output=True, timeout=120)
    if check:
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


def node_id(c, daemon):
    for n in c.healthz()["nodes"]:
        if n["address"].endswith(f":{daemon.port}"):
            return n["id"]
    raise AssertionError("node not registered")


def test_drain_moves_everything_and_rm(fresh_cluster):
    c = fresh_cluster(nodes=4, heartbeat_ms=200,
                      coordinator_args=FAST).start()
    s3 = boto_client(c)
    s3.create_bucket(Bucket="rep2")  # replica:2
    with_layout(s3, "raid5:2")
    s3.create_bucket(Bucket="ec3")  # 2 data + 1 parity
    stored = {}
    for i, size in enumerate(SIZES * 2):
        for bucket in ("rep2", "ec3"):
            data = os.urandom(size)
            s3.put_object(Bucket=bucket, Key=f"o{i}", Body=data)
            stored[(bucket, f"o{i}")] = hashlib.md5(data).digest()
    victim = c.nodes[1]
    vid, other = node_id(c, victim), node_id(c, c.nodes[2])
    assert fragments_on_disk(c, [2])
    # Removing a node that may hold data is refused, clearly.
    r = cli(c, "node", "rm", vid, check=False)
    assert r.returncode == 1 and "drain it first" in r.stderr, r.stderr
    out = cli(c, "node", "drain", vid, "--wait").stdout
    assert "drained" in out.splitlines()[-1], out
    ls = cli(c, "node", "ls").stdout
    row = [line for line in ls.splitlines() if line.startswith(vid)][0]
    assert "drained" in row and row.split()[6] == "0", row
    # New writes avoid the drained node.
    s3.put_object(Bucket="rep2", Key="after", Body=b"x" * 5000)
    stored[("rep2", "after")] = hashlib.md5(b"x" * 5000).digest()
    wait_for(lambda: not fragments_on_disk(c, [2]), 30,
             "old copies collected from the drained node")
    for (bucket, key), digest in stored.items():
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.md5(body).digest() == digest, key
    # Full redundancy on the three others.
    frags = fragments_on_disk(c, [1, 3, 4])
    assert all(set(f) in ({0, 1}, {0, 1, 2}) and
               all(len(v) == 1 for v in f.values())
               for f in frags.values()), frags
    st = cli(c, "cluster", "status", check=False).stdout
    assert "redundancy: full, 0 degraded" in st, st
    doc = cli(c, "--json", "node", "ls").stdout
    assert vid in doc and other in doc
    # Stopped, the drained node can go (a running one would say hello again
    # and be registered afresh, empty).
    victim.stop()
    cli(c, "node", "rm", vid)
    assert vid not in cli(c, "node", "ls").stdout


def test_dead_node_rebuilt_elsewhere_then_removed(fresh_cluster):
    c = fresh_cluster(nodes=4, heartbeat_ms=200,
                      coordinator_args=FAST + ["--node-dead-after-ms",
                                               "1500"]).start()
    s3 = boto_client(c)
    s3.create_bucket(Bucket="dead")
    stored = {}
    for i in range(8):
        data = os.urandom(SIZES[i % 3])
        s3.put_object(Bucket="dead", Key=f"d{i}", Body=data)
        stored[f"d{i}"] = hashlib.md5(data).digest()
    victim = c.nodes[0]
    vid = node_id(c, victim)
    held = len(fragments_on_disk(c, [1]))
    assert held > 0
    victim.kill()
    wait_for(lambda: repair_state(c)["queued"] >= held, 20,
             "dead node's fragments queued", c.coordinator)
    wait_for(lambda: repair_state(c)["degraded_chunks"] == 0, 30,
             "rebuilt elsewhere", c.coordinator)
    frags = fragments_on_disk(c, [2, 3, 4])
    assert all(set(f) == {0, 1} for f in frags.values()), frags
    ls = cli(c, "node", "ls").stdout
    assert [r for r in ls.splitlines() if r.startswith(vid)][0].split()[2] \
        == "dead", ls
    cli(c, "node", "rm", vid)
    check_all(s3, "dead", stored)
