"""Issue 4: placement spreads a chunk's copies over failure domains from
the nodes' labels, and nodes on one shared filesystem (fs=ID) count as one
failure domain and once for capacity."""

import json
import os
import subprocess

from cluster import CLI
from s3client import boto_client
from test_erasure_coding import fragments_by_chunk


def holders(c):
    """chunk id -> the node numbers holding a copy, from the nodes' disks."""
    found = {}
    for n in range(1, c.node_count + 1):
        for chunk in fragments_by_chunk(c, nodes=[n]):
            found.setdefault(chunk, set()).add(n)
    return found


def test_shared_filesystem_is_one_failure_domain(fresh_cluster):
    # Nodes 1 and 2 share a filesystem; 3 and 4 are hosts of their own.
    c = fresh_cluster(nodes=4)
    labels = {1: "host=a,fs=nas", 2: "host=b,fs=nas", 3: "host=c", 4: "host=d"}
    c.node_args = {i: ["--labels", v] for i, v in labels.items()}
    c.start()
    s3 = boto_client(c)
    s3.create_bucket(Bucket="domains")
    for i in range(40):  # big enough to be a chunk file of its own
        s3.put_object(Bucket="domains", Key=f"k{i}", Body=os.urandom(70000))
    chunks = holders(c)
    assert len(chunks) >= 40
    for chunk, nodes in chunks.items():
        assert len(nodes) == 2, (chunk, nodes)
        assert nodes != {1, 2}, f"both copies of {chunk} on one filesystem"
    # Capacity: the shared filesystem is counted once.
    env = dict(os.environ, CAIRN_ENDPOINT=c.endpoint,
               CAIRN_ACCESS_KEY=c.access_key, CAIRN_SECRET_KEY=c.secret_key)
    p = subprocess.run([CLI, "--json", "cluster", "status"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    total = json.loads(p.stdout)["capacity_bytes"]
    per_node = [n["capacity_bytes"] for n in c.healthz()["nodes"]]
    # All four data dirs are on this machine's one disk: equal capacities,
    # and the two sharing "nas" count once.
    assert len(set(per_node)) == 1
    assert total == 3 * per_node[0]
