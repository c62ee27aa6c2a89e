"""Issue 4, part 3: full disks. A node whose data dir fills up (a real
small file system where the machine lets us mount one, and the
--max-bytes-per-dir fault injection) fails its fragment writes; the
coordinator then places elsewhere, and no PUT that got a 200 is missing
data: every acknowledged object reads back bit-exact and has every copy on
disk. The node reports the dir's state."""

import hashlib
import os
import subprocess

from botocore.exceptions import ClientError

from cluster import node_fragments, wait_for
from s3client import boto_client
from test_repair import FAST, fully_redundant

KIB = 1024


def mount_tmpfs(path, size):
    """A small real file system (tmpfs, size=) at path; False if we may
    not mount here (not root, no CAP_SYS_ADMIN)."""
    os.makedirs(path, exist_ok=True)
    if os.geteuid() != 0:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}",
                        "tmpfs", path], capture_output=True)
    return r.returncode == 0


def put_then_read_back(s3, bucket, size, least):
    """Creates bucket and PUTs 60 objects of about size bytes; at least
    `least` must be acknowledged, and each acknowledged one reads back
    bit-exact. Returns {key: MD5 digest} of those."""
    s3.create_bucket(Bucket=bucket)
    acked, refused = {}, 0
    for i in range(60):
        data = os.urandom(size + i)
        try:
            s3.put_object(Bucket=bucket, Key=f"k{i}", Body=data)
            acked[f"k{i}"] = hashlib.md5(data).digest()
        except ClientError:
            refused += 1
    assert len(acked) >= least, (len(acked), refused)
    for key, digest in acked.items():
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.md5(body).digest() == digest, key
    return acked


def test_full_disk_fails_over_and_never_acknowledges_lost_data(
        fresh_cluster, tmp_path):
    small = str(tmp_path / "node3")  # the cluster's dir for node 3
    mounted = mount_tmpfs(small, "18m")  # 16 MiB reserve + ~2 MiB usable
    try:
        c = fresh_cluster(nodes=4, heartbeat_ms=200, coordinator_args=FAST)
        c.node_args[2] = ["--max-bytes-per-dir", "600K"]
        if not mounted:
            c.node_args[3] = ["--max-bytes-per-dir", "2M"]
        c.start()
        put_then_read_back(boto_client(c), "full", 100 * KIB, least=40)
        # The injected node's dir is out of service, the node still up.
        nodes = {n["address"].rsplit(":", 1)[1]: n
                 for n in c.healthz()["nodes"]}
        n2 = nodes[str(c.nodes[1].port)]
        assert n2["state"] == "up"
        wait_for(lambda: {n["address"].rsplit(":", 1)[1]: n for n in
                          c.healthz()["nodes"]}[str(c.nodes[1].port)]
                 ["dirs_writable"] == 0, 10, "node 2 dir out of service")
        assert "out of service for writes" in c.nodes[1].log()
        # Failed puts' fragments are collected: every chunk left on disk
        # has both copies.
        wait_for(lambda: fully_redundant(c, 2), 30, "no partial chunks")
    finally:
        for d in c.nodes:
            if d.alive():
                d.stop()
        if mounted:
            subprocess.run(["umount", small])


def test_segment_dir_full_small_puts_go_to_files_in_another_dir(
        fresh_cluster):
    """Node 1 has two data dirs; the first (which holds the segment log)
    runs out of its byte budget: small fragments then go to files in the
    second dir, no acknowledged object is lost, and each copy is stored
    once."""
    c = fresh_cluster(nodes=3, heartbeat_ms=200, coordinator_args=FAST)
    first = os.path.join(c.workdir, "node1")
    second = os.path.join(c.workdir, "node1", "second-dir")
    c.node_args[1] = ["--data-dir", f"{first},{second}",
                      "--max-bytes-per-dir", "150K"]
    c.start()
    put_then_read_back(boto_client(c), "spill", 20 * KIB, least=45)
    on_node1 = node_fragments(c.workdir, [1])
    images = [f for f in on_node1 if f.segment]
    files = [f for f in on_node1 if not f.segment]
    assert images, "small fragments went to the segment log first"
    assert files and all(f.path.startswith(second + "/") for f in files), \
        files
    assert "out of service for writes" in c.nodes[0].log()
    wait_for(lambda: fully_redundant(c, 2), 30, "no partial chunks")
