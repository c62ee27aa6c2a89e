"""Issue 4, part 2: erasure coding. A 6-node cluster with a raid6:4 bucket
(4 data + 2 parity fragments per chunk): objects of mixed sizes survive the
SIGKILL of two nodes bit-exact (rebuilt from parity on the fly), and PUTs
while nodes are down follow the documented write quorum (k + 1 fragments
durable): refused with 2 of 6 down, stored degraded with 1 down."""

import hashlib
import os
import random
import threading
import time

import pytest
from botocore.exceptions import ClientError

from cluster import node_fragments
from s3client import boto_client

MIB = 1024 * 1024


def with_layout(s3, layout):
    def add(request, **kwargs):
        request.headers["x-cairn-layout"] = layout
    s3.meta.events.register("before-sign.s3.CreateBucket", add)
    return add


def up_count(c):
    return sum(1 for n in c.healthz()["nodes"] if n["state"] == "up")


def wait_up(c, count, timeout=20):
    deadline = time.monotonic() + timeout
    while up_count(c) != count:
        assert time.monotonic() < deadline, f"waiting for {count} nodes up"
        time.sleep(0.1)


def fragments_by_chunk(c, nodes=None):
    """chunk id -> the fragment indexes found on the nodes' disks (all
    nodes, or the node numbers given): files and segment images."""
    found = {}
    for f in node_fragments(c.workdir, nodes or range(1, c.node_count + 1)):
        found.setdefault(f.chunk, set()).add(f.index)
    return found


def fragment_indexes(c):
    return {f.index
            for f in node_fragments(c.workdir, range(1, c.node_count + 1))}


def check(s3, bucket, objects):
    for key, data in objects.items():
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.md5(body).digest() == hashlib.md5(data).digest(), key
        if len(data) > 3 * MIB:
            a = len(data) // 2 - 70000
            r = s3.get_object(Bucket=bucket, Key=key,
                              Range=f"bytes={a}-{a + 200000}")
            assert r["Body"].read() == data[a:a + 200001], key


def test_raid6_survives_two_nodes_down(fresh_cluster):
    c = fresh_cluster(nodes=6, heartbeat_ms=300).start()
    s3 = boto_client(c)
    with pytest.raises(ClientError) as e:  # 8 fragments, 6 nodes
        hook = with_layout(s3, "qrain:4")
        s3.create_bucket(Bucket="too-wide")
    assert e.value.response["Error"]["Code"] == "InvalidArgument"
    s3.meta.events.unregister("before-sign.s3.CreateBucket", hook)
    with pytest.raises(ClientError) as e:
        hook = with_layout(s3, "raid9:4")
        s3.create_bucket(Bucket="bad-layout")
    assert e.value.response["Error"]["Code"] == "InvalidArgument"
    s3.meta.events.unregister("before-sign.s3.CreateBucket", hook)
    hook = with_layout(s3, "raid6:4")
    s3.create_bucket(Bucket="ecb")
    s3.meta.events.unregister("before-sign.s3.CreateBucket", hook)

    rng = __import__("random").Random(6)
    objects = {}
    for size in [0, 1000, MIB - 1, MIB, 4 * MIB + 17, 9 * MIB, 13 * MIB + 5]:
        data = rng.randbytes(size)
        s3.put_object(Bucket="ecb", Key=f"o{size}", Body=data)
        objects[f"o{size}"] = data
    up = s3.create_multipart_upload(Bucket="ecb", Key="mp")
    p1, p2 = rng.randbytes(5 * MIB), rng.randbytes(3 * MIB + 3)
    e1 = s3.upload_part(Bucket="ecb", Key="mp", UploadId=up["UploadId"],
                        PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket="ecb", Key="mp", UploadId=up["UploadId"],
                        PartNumber=2, Body=p2)["ETag"]
    s3.complete_multipart_upload(
        Bucket="ecb", Key="mp", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                   {"PartNumber": 2, "ETag": e2}]})
    objects["mp"] = p1 + p2
    # Parity fragments (indexes 4 and 5) exist: the big objects are coded;
    # the small ones are replicated with m + 1 = 3 copies, so they survive
    # two lost nodes as well.
    assert {4, 5} <= fragment_indexes(c)
    shapes = {frozenset(ix) for ix in fragments_by_chunk(c).values()}
    assert shapes == {frozenset(range(3)), frozenset(range(6))}, shapes
    check(s3, "ecb", objects)

    victims = [c.nodes[1], c.nodes[4]]
    for v in victims:
        v.kill()
        c.retired.append(v)
    check(s3, "ecb", objects)  # before the coordinator even notices
    wait_up(c, 4)
    check(s3, "ecb", objects)

    # 4 of 6 up < quorum 5: an erasure-coded PUT is refused, whole.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="ecb", Key="refused", Body=os.urandom(2 * MIB))
    assert e.value.response["Error"]["Code"] == "ServiceUnavailable"
    with pytest.raises(ClientError):
        s3.head_object(Bucket="ecb", Key="refused")
    # Small objects are replicated (3 copies) and still go in.
    small = os.urandom(5000)
    s3.put_object(Bucket="ecb", Key="small", Body=small)
    objects["small"] = small

    # 5 of 6 up: quorum met, stored degraded with one fragment missing.
    c.nodes[1] = c.start_node(victims[0].index, port=victims[0].port)
    wait_up(c, 5)
    degraded = os.urandom(6 * MIB + 3)
    s3.put_object(Bucket="ecb", Key="degraded", Body=degraded)
    objects["degraded"] = degraded
    assert "stored degraded" in c.coordinator.log()
    check(s3, "ecb", objects)


def test_ec_uploads_wait_for_the_put_budget(fresh_cluster):
    """An erasure-coded upload holds two whole stripes (6 MiB each for
    raid6:4 with 4 MiB chunks) and cannot shrink them as a replicated one
    shrinks its pieces: past the PUT budget (1 MiB here) it waits, body
    paused, until the running ones end. Six at once all complete intact,
    at least one of them waited, and the budget is back to zero. Then the
    same for six CopyObjects of them at once."""
    c = fresh_cluster(nodes=6,
                      coordinator_args=["--put-budget-bytes", "1M"]).start()
    s3 = boto_client(c)
    hook = with_layout(s3, "raid6:4")
    s3.create_bucket(Bucket="ecw")
    s3.meta.events.unregister("before-sign.s3.CreateBucket", hook)
    rng = random.Random(7)
    objects = {f"o{i}": rng.randbytes(6 * MIB + i * 1001) for i in range(6)}

    def at_once(request):
        """request(client, key, data) for every object, each from its own
        thread and client, all released together; returns the errors."""
        start = threading.Barrier(len(objects))
        errors = []

        def run(key, data):
            client = boto_client(c)
            start.wait()
            try:
                request(client, key, data)
            except Exception as e:  # reported by the caller, with the key
                errors.append((key, e))

        threads = [threading.Thread(target=run, args=kv)
                   for kv in objects.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        return errors

    errors = at_once(lambda client, key, data: client.put_object(
        Bucket="ecw", Key=key, Body=data))
    assert not errors, errors
    puts = c.healthz()["puts"]
    assert puts["waited_total"] >= 1, puts
    assert puts["waiting"] == 0 and puts["held_bytes"] == 0, puts
    check(s3, "ecw", objects)

    # Copies write stripes too, and wait the same way.
    errors = at_once(lambda client, key, data: client.copy_object(
        Bucket="ecw", Key=f"copy-{key}",
        CopySource={"Bucket": "ecw", "Key": key}))
    assert not errors, errors
    after = c.healthz()["puts"]
    assert after["waited_total"] > puts["waited_total"], after
    assert after["waiting"] == 0 and after["held_bytes"] == 0, after
    check(s3, "ecw", {f"copy-{k}": v for k, v in objects.items()})
