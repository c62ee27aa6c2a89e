"""The PUT body's CPU work (ETag MD5, x-amz-checksum, sealing, CRC32C) runs
on the coordinator's worker threads, one ordered lane per upload
(coordinator/data/cpu_pool.c): bodies of many pieces, several uploads at
once, still get exact ETags and checksums; a mismatch found only after
the last piece still refuses the write; a client that vanishes while
pieces wait for the workers leaves nothing committed."""

import base64
import hashlib
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from cluster import BUILD_DIR
from s3client import boto_client

MIB = 1 << 20


@pytest.fixture(scope="module")
def s3(cluster):
    client = boto_client(cluster)
    client.create_bucket(Bucket="pipeline")
    return client


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def signed_headers(cluster, method, key, body, headers=None):
    url = f"{cluster.endpoint}/pipeline/{key}"
    req = AWSRequest(method=method, url=url, data=body,
                     headers=dict(headers or {}))
    S3SigV4Auth(Credentials(cluster.access_key, cluster.secret_key), "s3",
                "us-east-1").add_auth(req)
    return url, dict(req.headers.items())


def raw_put(cluster, key, body, headers=None, sent=None):
    """A signed PUT of body; sent: other bytes to send under its
    signature (x-amz-content-sha256 and all)."""
    url, h = signed_headers(cluster, "PUT", key, body, headers)
    r = urllib.request.Request(url, data=body if sent is None else sent,
                               method="PUT", headers=h)
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()


def test_parallel_uploads_exact_etags(s3):
    """Eight uploads of 9 MiB (three chunks, 36 pieces each) at once: each
    lane hashes its own bytes in order."""
    bodies = {f"par-{i}": os.urandom(9 * MIB + 1234 * i) for i in range(8)}
    errors = []

    def put(key):
        try:
            got = s3.put_object(Bucket="pipeline", Key=key, Body=bodies[key])
            want = '"%s"' % hashlib.md5(bodies[key]).hexdigest()
            if got["ETag"] != want:
                errors.append((key, got["ETag"], want))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((key, repr(e)))

    threads = [threading.Thread(target=put, args=(k,)) for k in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for key, body in bodies.items():
        got = s3.get_object(Bucket="pipeline", Key=key)["Body"].read()
        assert got == body, key


def test_checksum_of_large_body(cluster, s3):
    body = os.urandom(5 * MIB + 77)
    want = base64.b64encode(hashlib.sha256(body).digest()).decode()
    status, headers, _ = raw_put(cluster, "sum-ok", body,
                                 {"x-amz-checksum-sha256": want})
    assert status == 200
    assert headers.get("x-amz-checksum-sha256") == want
    assert headers.get("ETag") == '"%s"' % hashlib.md5(body).hexdigest()


def test_mismatch_after_last_piece_refuses(cluster, s3):
    """The digests are final only after the workers saw every byte: a wrong
    Content-MD5 or checksum of a multi-chunk body is BadDigest and nothing
    is stored."""
    body = os.urandom(6 * MIB)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="pipeline", Key="bad-md5", Body=body,
                      ContentMD5=base64.b64encode(b"\0" * 16).decode())
    assert error_code(e) == "BadDigest"
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    status, _, text = raw_put(cluster, "bad-sum", body,
                              {"x-amz-checksum-sha256": wrong})
    assert status == 400 and b"BadDigest" in text
    for key in ("bad-md5", "bad-sum"):
        with pytest.raises(ClientError) as e:
            s3.head_object(Bucket="pipeline", Key=key)
        assert e.value.response["Error"]["Code"] in ("404", "NoSuchKey")


def test_signed_payload_mismatch_refuses(cluster, s3):
    """The payload hash of a signed body is checked on the workers, after
    the last byte: bytes that are not the signed ones are
    XAmzContentSHA256Mismatch, the key keeps its old object, and a part
    sent that way is not recorded; the right bytes still go through."""
    old = os.urandom(1000)
    s3.put_object(Bucket="pipeline", Key="payload", Body=old)
    signed = os.urandom(3 * MIB + 5)
    sent = bytearray(signed)
    sent[-1] ^= 1  # one bit off, in the last piece
    status, _, text = raw_put(cluster, "payload", signed, sent=bytes(sent))
    assert status == 400 and b"XAmzContentSHA256Mismatch" in text, text
    got = s3.get_object(Bucket="pipeline", Key="payload")["Body"].read()
    assert got == old
    upload = s3.create_multipart_upload(Bucket="pipeline", Key="mp-payload")
    uid = upload["UploadId"]
    status, _, text = raw_put(cluster,
                              f"mp-payload?partNumber=1&uploadId={uid}",
                              signed, sent=bytes(sent))
    assert status == 400 and b"XAmzContentSHA256Mismatch" in text, text
    parts = s3.list_parts(Bucket="pipeline", Key="mp-payload", UploadId=uid)
    assert not parts.get("Parts")
    status, _, _ = raw_put(cluster, "payload", signed)
    assert status == 200
    got = s3.get_object(Bucket="pipeline", Key="payload")["Body"].read()
    assert got == signed


def test_client_gone_mid_body_commits_nothing(cluster, s3):
    """A signed 8 MiB PUT cut off after some MiB (pieces queued for the
    workers or being sealed): no object, and the coordinator goes on."""
    body = os.urandom(8 * MIB)

    def send(key, cut):
        _, headers = signed_headers(cluster, "PUT", key, body)
        headers = {k: v for k, v in headers.items()
                   if k.lower() not in ("host", "content-length")}
        head = f"PUT /pipeline/{key} HTTP/1.1\r\n" \
            f"Host: 127.0.0.1:{cluster.s3_port}\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in headers.items()) + \
            f"Content-Length: {len(body)}\r\n\r\n"
        s = socket.create_connection(("127.0.0.1", cluster.s3_port),
                                     timeout=30)
        s.sendall(head.encode() + body[:cut])
        if cut == len(body):  # the control: the same request, whole
            answer = s.recv(4096)
            s.close()
            return answer
        time.sleep(0.2)
        s.close()
        return None

    assert send("control", len(body)).startswith(b"HTTP/1.1 200")
    for i, cut in enumerate((MIB // 2, 2 * MIB + 5, 5 * MIB, 8 * MIB - 1)):
        send(f"gone-{i}", cut)
    time.sleep(1.0)
    for i in range(4):
        with pytest.raises(ClientError) as e:
            s3.head_object(Bucket="pipeline", Key=f"gone-{i}")
        assert e.value.response["Error"]["Code"] in ("404", "NoSuchKey")
    assert cluster.coordinator.alive()
    again = os.urandom(3 * MIB)
    got = s3.put_object(Bucket="pipeline", Key="gone-0", Body=again)
    assert got["ETag"] == '"%s"' % hashlib.md5(again).hexdigest()
    assert s3.get_object(Bucket="pipeline",
                         Key="gone-0")["Body"].read() == again


def test_copy_fails_cleanly_when_a_node_dies_mid_copy(fresh_cluster):
    """Two nodes, two copies of every chunk: a node killed while a
    CopyObject streams (its reader paused on the writer's full window)
    fails the writer while the reader still runs. The copy is answered
    with a server error (not a hang), nothing of it is committed, the PUT
    budget is given back, and the coordinator keeps serving (its
    sanitizers, checked when the cluster stops, saw no use of the finished
    copy's state: the writer's failure used to free the copy through the
    reader's cancel, then read it)."""
    c = fresh_cluster(nodes=2).start()
    s3 = boto_client(c)
    s3.create_bucket(Bucket="copies")
    data = os.urandom(160 * MIB)
    s3.put_object(Bucket="copies", Key="src", Body=data)
    outcome = {}

    def copy():
        try:
            s3.copy_object(Bucket="copies", Key="dst",
                           CopySource={"Bucket": "copies", "Key": "src"})
            outcome["ok"] = True
        except ClientError as e:
            outcome["error"] = e.response["ResponseMetadata"]["HTTPStatusCode"]

    t = threading.Thread(target=copy)
    t.start()
    deadline = time.time() + 30
    while c.healthz()["puts"]["held_bytes"] == 0 and time.time() < deadline:
        time.sleep(0.005)
    time.sleep(0.3)  # well into the copy: the writer's window is full
    if c.healthz()["puts"]["held_bytes"] == 0:
        t.join(120)
        pytest.skip("the copy ended before a node could be killed under it")
    c.nodes[1].kill()
    t.join(120)
    assert not t.is_alive(), "the copy hung"
    assert outcome.get("error", 0) >= 500, outcome
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket="copies", Key="dst")
    assert e.value.response["Error"]["Code"] in ("404", "NoSuchKey")
    assert c.healthz()["puts"]["held_bytes"] == 0
    assert hashlib.md5(s3.get_object(Bucket="copies", Key="src")["Body"]
                       .read()).digest() == hashlib.md5(data).digest()


def test_six_hundred_puts_at_once(cluster):
    """600 PUTs in flight at once from cairn-bench (the project's load
    generator, a real S3 client): 1,200 fragment writes over three nodes.
    None is refused: a node used to take 256 connections and refused a
    quarter of these."""
    bench = os.path.join(BUILD_DIR, "tools", "cairn-bench", "cairn-bench")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=cluster.access_key,
               AWS_SECRET_ACCESS_KEY=cluster.secret_key)
    r = subprocess.run(
        [bench, "put", "--endpoint", cluster.endpoint, "--bucket", "crowd",
         "--size", "64k", "--concurrency", "600", "--ops", "1200", "--json"],
        env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout)
    assert result["errors"]["total"] == 0, result["errors"]
    assert result["ops"] == 1200, result
