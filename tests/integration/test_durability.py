"""Issue 3: acknowledged writes survive a SIGKILL of the coordinator or of a
node, and no half-written object ever becomes visible."""

import concurrent.futures
import hashlib
import os
import random
import threading
import time

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from cluster import node_fragments
from s3client import boto_client


def put_stream(s3, bucket, stop, acked, prefix):
    """PUTs objects of mixed sizes until stop; records acknowledged ones."""
    rng = random.Random(prefix)
    i = 0
    while not stop.is_set():
        key = f"{prefix}{i:05d}"
        size = rng.choice([0, 1, 1000, 300000, 4 * 1024 * 1024 + 17,
                           9 * 1024 * 1024])
        data = os.urandom(size)
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            acked[key] = hashlib.md5(data).hexdigest()
        except (ClientError, BotoCoreError, OSError):
            pass  # not acknowledged: may or may not exist, never half
        i += 1


def check_consistent(s3, bucket, acked):
    """Every acknowledged object reads back bit-exact; every listed object
    reads back whole with the size and ETag the listing claims."""
    for key, md5 in acked.items():
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.md5(body).hexdigest() == md5, key
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            assert len(body) == o["Size"], o["Key"]
            assert '"%s"' % hashlib.md5(body).hexdigest() == o["ETag"]


def test_coordinator_sigkill_during_puts(fresh_cluster):
    c = fresh_cluster(heartbeat_ms=300).start()
    s3 = boto_client(c)
    s3.create_bucket(Bucket="durable")
    acked, stop = {}, threading.Event()
    writers = [threading.Thread(target=put_stream,
                                args=(s3, "durable", stop, acked, f"w{n}-"))
               for n in range(3)]
    for w in writers:
        w.start()
    time.sleep(3)
    c.coordinator.kill()
    c.retired.append(c.coordinator)
    stop.set()
    for w in writers:
        w.join(60)
    assert len(acked) > 5, "the writers should have stored something"
    c.start_coordinator()
    c.wait_nodes_up(3)
    check_consistent(boto_client(c), "durable", acked)


def test_node_sigkill_during_puts(fresh_cluster):
    c = fresh_cluster(heartbeat_ms=300).start()
    s3 = boto_client(c)
    s3.create_bucket(Bucket="node-loss")
    acked, stop = {}, threading.Event()
    writer = threading.Thread(target=put_stream,
                              args=(s3, "node-loss", stop, acked, "n-"))
    writer.start()
    time.sleep(2)
    victim = c.nodes[1]
    victim.kill()
    c.retired.append(victim)
    time.sleep(3)  # writes go on with the two nodes left
    stop.set()
    writer.join(60)
    assert len(acked) > 5
    # With one of three nodes gone, every object still has a live copy.
    check_consistent(s3, "node-loss", acked)
    c.nodes[1] = c.start_node(victim.index, port=victim.port)
    c.wait_nodes_up(3)
    check_consistent(s3, "node-loss", acked)


def test_listing_ten_thousand_keys(cluster):
    s3 = boto_client(cluster)
    s3.create_bucket(Bucket="ten-thousand")
    keys = [f"d{d:02d}/s{s:02d}/k{k:03d}" for d in range(20) for s in range(5)
            for k in range(100)]
    assert len(keys) == 10000

    def put(k):
        s3.put_object(Bucket="ten-thousand", Key=k, Body=b"")

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(put, keys))
    # Every key, in order, in pages of 1000.
    seen, pages = [], 0
    for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket="ten-thousand"):
        pages += 1
        assert page["KeyCount"] == len(page.get("Contents", []))
        seen += [o["Key"] for o in page["Contents"]]
    assert seen == sorted(keys) and pages == 10
    # Delimited at the top: the twenty directories, one page.
    r = s3.list_objects_v2(Bucket="ten-thousand", Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == \
        [f"d{d:02d}/" for d in range(20)]
    assert "Contents" not in r and not r["IsTruncated"]
    # Delimited inside one directory, paginated by 2: exact pages.
    prefixes, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = s3.list_objects_v2(Bucket="ten-thousand", Prefix="d07/",
                               Delimiter="/", MaxKeys=2, **kw)
        prefixes.append([p["Prefix"] for p in r.get("CommonPrefixes", [])])
        if not r["IsTruncated"]:
            break
        token = r["NextContinuationToken"]
    assert prefixes == [["d07/s00/", "d07/s01/"], ["d07/s02/", "d07/s03/"],
                        ["d07/s04/"]]


def fragment_files(c):
    """Fragments on the nodes' disks: files and live segment images."""
    return len(node_fragments(c.workdir, range(1, c.node_count + 1)))


def test_orphans_of_a_crashed_upload_are_collected(fresh_cluster):
    """A coordinator killed mid-upload leaves fragments on the nodes that no
    object refers to; their write intents get them deleted after the grace
    period, while every committed object keeps all its fragments."""
    import http.client
    import urllib.parse
    c = fresh_cluster(heartbeat_ms=300,
                      coordinator_args=["--write-intent-grace-ms", "1500"])
    c.start()
    s3 = boto_client(c, signature_version="s3v4")
    s3.create_bucket(Bucket="orphans")
    sizes = {"a": 5 * 1024 * 1024, "b": 100, "c": 9 * 1024 * 1024}
    for k, n in sizes.items():
        s3.put_object(Bucket="orphans", Key=k, Body=os.urandom(n))
    chunk = 4 * 1024 * 1024
    live = sum(2 * -(-n // chunk) for n in sizes.values())  # 2 replicas
    assert fragment_files(c) == live
    # A 24 MiB upload: send 17 MiB (four whole chunks), then kill.
    url = urllib.parse.urlparse(s3.generate_presigned_url(
        "put_object", Params={"Bucket": "orphans", "Key": "big"},
        ExpiresIn=300))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("PUT", url.path + "?" + url.query)
    conn.putheader("Content-Length", str(24 << 20))
    conn.endheaders()
    block = os.urandom(1 << 20)
    for _ in range(17):
        conn.send(block)
    wait_for_fragments = time.monotonic() + 20
    while fragment_files(c) < live + 8 and time.monotonic() < wait_for_fragments:
        time.sleep(0.1)
    assert fragment_files(c) >= live + 8, "the upload's chunks reached nodes"
    c.coordinator.kill()
    c.retired.append(c.coordinator)
    conn.close()
    c.start_coordinator()
    c.wait_nodes_up(3)
    deadline = time.monotonic() + 40
    while fragment_files(c) != live and time.monotonic() < deadline:
        time.sleep(0.5)
    assert fragment_files(c) == live
    for k, n in sizes.items():
        assert len(s3.get_object(Bucket="orphans", Key=k)["Body"].read()) == n
    with pytest.raises(ClientError):
        s3.head_object(Bucket="orphans", Key="big")
