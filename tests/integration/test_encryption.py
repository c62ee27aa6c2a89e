"""Issue 4, part 1: encryption at rest (SSE-S3). Objects round-trip through
the block cipher (ranges across blocks and chunks, multipart, copies), the
x-amz-server-side-encryption header is answered, the nodes' disks never hold
the plaintext, and a flipped byte on one replica is caught by its tag while
the GET still answers the right bytes from the other copy."""

import ctypes
import ctypes.util
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from cluster import node_fragments, stored_files
from s3client import boto_client

BLOCK = 64 * 1024
CHUNK = 4 * 1024 * 1024
PATTERN = b"CAIRN-PLAINTEXT-MARKER-0123456789"


def crc32c(data):
    """The node's per-block checksum: ISA-L crc32_iscsi with seed 0."""
    lib = ctypes.CDLL(ctypes.util.find_library("isal") or "libisal.so.2")
    lib.crc32_iscsi.restype = ctypes.c_uint32
    lib.crc32_iscsi.argtypes = [ctypes.c_char_p, ctypes.c_int,
                                ctypes.c_uint32]
    return lib.crc32_iscsi(data, len(data), 0)


def fragments(c):
    """{(node, chunk, index): Fragment}: files and segment images."""
    return {f.key: f
            for f in node_fragments(c.workdir, [n.index for n in c.nodes])}


@pytest.fixture(scope="module")
def s3(cluster):
    client = boto_client(cluster)
    client.create_bucket(Bucket="sse")
    return client


def test_round_trip_sizes_and_ranges(s3):
    rng = __import__("random").Random(4)
    for size in [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, CHUNK + 3 * BLOCK + 7,
                 2 * CHUNK + 1]:
        data = rng.randbytes(size)
        key = f"obj-{size}"
        put = s3.put_object(Bucket="sse", Key=key, Body=data)
        assert put["ServerSideEncryption"] == "AES256"
        got = s3.get_object(Bucket="sse", Key=key)
        assert got["ServerSideEncryption"] == "AES256"
        assert got["Body"].read() == data
        head = s3.head_object(Bucket="sse", Key=key)
        assert head["ServerSideEncryption"] == "AES256"
        if size < 2:
            continue
        for a, b in [(0, 0), (BLOCK - 1, BLOCK), (BLOCK - 3, 3 * BLOCK + 2),
                     (CHUNK - 5, CHUNK + BLOCK + 5), (size - 1, size - 1),
                     (1, size - 2)]:
            if b >= size:
                b = size - 1
            if a > b:
                continue
            r = s3.get_object(Bucket="sse", Key=key, Range=f"bytes={a}-{b}")
            assert r["Body"].read() == data[a:b + 1], (size, a, b)


def test_multipart_and_copies(s3):
    part1, part2 = os.urandom(5 * 1024 * 1024 + 11), os.urandom(BLOCK + 9)
    up = s3.create_multipart_upload(Bucket="sse", Key="mp")
    assert up["ServerSideEncryption"] == "AES256"
    uid = up["UploadId"]
    p1 = s3.upload_part(Bucket="sse", Key="mp", UploadId=uid, PartNumber=1,
                        Body=part1)
    assert p1["ServerSideEncryption"] == "AES256"
    s3.put_object(Bucket="sse", Key="src", Body=part2)
    p2 = s3.upload_part_copy(Bucket="sse", Key="mp", UploadId=uid,
                             PartNumber=2, CopySource="sse/src")
    assert p2["ServerSideEncryption"] == "AES256"
    done = s3.complete_multipart_upload(
        Bucket="sse", Key="mp", UploadId=uid,
        MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": p1["ETag"]},
            {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
    assert done["ServerSideEncryption"] == "AES256"
    whole = part1 + part2
    assert s3.get_object(Bucket="sse", Key="mp")["Body"].read() == whole
    a = len(part1) - 100
    r = s3.get_object(Bucket="sse", Key="mp", Range=f"bytes={a}-{a + 299}")
    assert r["Body"].read() == whole[a:a + 300]
    cp = s3.copy_object(Bucket="sse", Key="mp-copy", CopySource="sse/mp")
    assert cp["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket="sse", Key="mp-copy")["Body"].read() == whole
    # A metadata-only self copy keeps the chunks and their key.
    s3.copy_object(Bucket="sse", Key="mp-copy", CopySource="sse/mp-copy",
                   MetadataDirective="REPLACE", Metadata={"k": "v"})
    got = s3.get_object(Bucket="sse", Key="mp-copy")
    assert got["Metadata"] == {"k": "v"} and got["Body"].read() == whole


def test_unsupported_encryption_is_refused(s3):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="sse", Key="kms", Body=b"x",
                      ServerSideEncryption="aws:kms")
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="sse", Key="ssec", Body=b"x",
                      SSECustomerAlgorithm="AES256",
                      SSECustomerKey="k" * 32)
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    with pytest.raises(ClientError):
        s3.head_object(Bucket="sse", Key="kms")


def test_bucket_encryption_configuration(s3):
    rule = s3.get_bucket_encryption(Bucket="sse")[
        "ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == \
        "AES256"
    s3.put_bucket_encryption(
        Bucket="sse", ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            "BucketKeyEnabled": True}]})
    rule = s3.get_bucket_encryption(Bucket="sse")[
        "ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["BucketKeyEnabled"] is True
    with pytest.raises(ClientError) as e:
        s3.put_bucket_encryption(
            Bucket="sse", ServerSideEncryptionConfiguration={"Rules": [{
                "ApplyServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms"}}]})
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    s3.delete_bucket_encryption(Bucket="sse")
    rule = s3.get_bucket_encryption(Bucket="sse")[
        "ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == \
        "AES256"
    assert not rule.get("BucketKeyEnabled", False)


def test_nodes_hold_no_plaintext(cluster, s3):
    data = PATTERN * (3 * CHUNK // len(PATTERN))
    s3.put_object(Bucket="sse", Key="pattern", Body=data)
    assert s3.get_object(Bucket="sse", Key="pattern")["Body"].read() == data
    small = PATTERN * (100 * 1024 // len(PATTERN))  # a segment image
    s3.put_object(Bucket="sse", Key="small-pattern", Body=small)
    assert s3.get_object(Bucket="sse", Key="small-pattern")["Body"].read() \
        == small
    assert any(f.segment for f in fragments(cluster).values())
    assert any(not f.segment for f in fragments(cluster).values())
    # Every byte the nodes store: fragment files and whole segment files.
    files = stored_files(cluster.workdir, [n.index for n in cluster.nodes])
    assert files
    for path in files:
        with open(path, "rb") as f:
            assert PATTERN[:16] not in f.read(), path


@pytest.mark.parametrize("size,segment", [(CHUNK // 2, False),
                                          (CHUNK // 8, True)])
def test_flipped_byte_is_caught_and_other_copy_served(cluster, s3, size,
                                                      segment):
    """A fragment file (2 MiB) or a segment image (512 KiB)."""
    data = os.urandom(size)
    key = f"flip-{size}"
    caught = cluster.coordinator.log().count("authentication failed")
    before = fragments(cluster)
    s3.put_object(Bucket="sse", Key=key, Body=data)
    after = fragments(cluster)
    new = [after[k] for k in sorted(set(after) - set(before))]
    assert len(new) == 2, new  # one chunk, two replicas
    # Flip a ciphertext byte in the first data block of replica 0 (the copy
    # read first) and fix up the node's own per-block CRC, so that only the
    # AES-GCM tag can catch it.
    frag = [f for f in new if f.index == 0][0]
    assert frag.segment == segment, frag
    raw = bytearray(frag.read())
    raw[64 + 1000] ^= 0x01
    raw[64 + 65536:64 + 65536 + 4] = crc32c(
        bytes(raw[64:64 + 65536])).to_bytes(4, "big")
    frag.write(bytes(raw))
    for _ in range(4):  # whichever replica is asked first
        got = s3.get_object(Bucket="sse", Key=key)["Body"].read()
        assert hashlib.md5(got).digest() == hashlib.md5(data).digest()
        r = s3.get_object(Bucket="sse", Key=key, Range="bytes=500-2000")
        assert r["Body"].read() == data[500:2001]
    assert cluster.coordinator.log().count("authentication failed") > caught


# The largest sealed object whose fragment is still a segment image: 17
# blocks and their tags fill the node's CHUNK_SEGMENT_MAX (1 MiB + 64 KiB).
LARGEST_IMAGE = 1024 * 1024 + 64 * 1024 - 17 * 16
NODE_STRIDE = BLOCK + 4  # a node block and its CRC32C


def test_segment_image_spans_and_a_bad_last_block(cluster, s3):
    """A node reads a segment image's range in one span and sends it
    without its CRCs: 1 MiB (the benchmark's size) and the largest object
    still in an image round-trip whole and in ranges, one byte more is a
    file; a flipped byte in the last node block of the copy read first
    fails only the reads that touch that block, and those are answered
    from the other copy. The coordinator's GCM tag catches it: a sealed
    object's GET asks the node not to check its CRCs (the tags cover every
    byte), and the copy is reported corrupt for repair."""
    rng = __import__("random").Random(9)
    objects = {}
    for size, segment in [(1024 * 1024, True), (LARGEST_IMAGE, True),
                          (LARGEST_IMAGE + 1, False)]:
        data = rng.randbytes(size)
        key = f"span-{size}"
        before = fragments(cluster)
        s3.put_object(Bucket="sse", Key=key, Body=data)
        new = [f for k, f in sorted(fragments(cluster).items())
               if k not in before]
        assert len(new) == 2 and all(f.segment == segment for f in new), new
        objects[size] = (key, data, new)
        assert s3.get_object(Bucket="sse", Key=key)["Body"].read() == data
        for a, b in [(0, 0), (BLOCK - 5, BLOCK + 5), (7, size - 8),
                     (3 * BLOCK + 1, 9 * BLOCK), (size - BLOCK - 3, size - 1)]:
            r = s3.get_object(Bucket="sse", Key=key, Range=f"bytes={a}-{b}")
            assert r["Body"].read() == data[a:b + 1], (size, a, b)
    key, data, new = objects[1024 * 1024]
    frag = [f for f in new if f.index == 0][0]
    log = cluster.coordinator.log
    # The GCM tag catches it (the node skips its CRCs): EAUTH, failover.
    failover = "failed (authentication failed); trying the next"
    failovers = log().count(failover)
    reports = cluster.healthz()["repair"]["corrupt_reports"]
    # 1 MiB sealed is 16 x 65,552 bytes: 17 node blocks, the last 256 long.
    frag.flip(64 + 16 * NODE_STRIDE + 10)
    r = s3.get_object(Bucket="sse", Key=key, Range="bytes=0-1000")
    assert r["Body"].read() == data[:1001]
    assert log().count(failover) == failovers
    assert s3.get_object(Bucket="sse", Key=key)["Body"].read() == data
    assert log().count(failover) > failovers
    assert cluster.healthz()["repair"]["corrupt_reports"] > reports
    r = s3.get_object(Bucket="sse", Key=key, Range="bytes=1040000-1048575")
    assert r["Body"].read() == data[1040000:]


def _raw_get(url):
    """Opens a socket and sends a GET for a presigned URL; returns it."""
    import socket
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port), timeout=30)
    s.sendall(f"GET {u.path}?{u.query} HTTP/1.1\r\nHost: {u.netloc}\r\n"
              f"\r\n".encode())
    return s


def _read_response(s, chunk=65536, pause=0.0):
    import time
    buf = b""
    while b"\r\n\r\n" not in buf:
        got = s.recv(chunk)
        assert got, "connection closed before the head"
        buf += got
    head, body = buf.split(b"\r\n\r\n", 1)
    length = int([ln.split(b":")[1] for ln in head.split(b"\r\n")
                  if ln.lower().startswith(b"content-length:")][0])
    while len(body) < length:
        if pause:
            time.sleep(pause)
        got = s.recv(chunk)
        assert got, "connection closed mid-body"
        body += got
    return head, body


def test_slow_vanishing_and_concurrent_readers(cluster, s3):
    """The GET path gathers opened blocks into batches, pauses the node
    reads while a client is slow and resumes them as writes complete: a
    slow reader still gets exact bytes, readers that vanish mid-body
    leave nothing stuck, and concurrent (ranged) GETs each get their own
    bytes in order."""
    import concurrent.futures
    data = os.urandom(CHUNK + 3 * BLOCK + 7)  # two chunks
    s3.put_object(Bucket="sse", Key="slow", Body=data)
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "sse", "Key": "slow"})
    # A slow reader: small reads with pauses, so the window fills.
    s = _raw_get(url)
    s.setsockopt(__import__("socket").SOL_SOCKET,
                 __import__("socket").SO_RCVBUF, 16384)
    _, body = _read_response(s, chunk=16384, pause=0.002)
    s.close()
    assert hashlib.md5(body).digest() == hashlib.md5(data).digest()
    # Readers that vanish: after the head, after some of the body.
    for keep in (0, 100000, 3 * BLOCK):
        s = _raw_get(url)
        got = b""
        while len(got) < keep + 200:
            piece = s.recv(65536)
            if not piece:
                break
            got += piece
        s.close()
    # Concurrent whole and ranged GETs, each checked.
    ranges = [(0, len(data) - 1), (BLOCK - 3, 3 * BLOCK + 2),
              (CHUNK - 5, CHUNK + BLOCK + 5), (7, 7), (1, len(data) - 2),
              (2 * BLOCK, 2 * BLOCK + BLOCK - 1)]

    def one(i):
        a, b = ranges[i % len(ranges)]
        r = s3.get_object(Bucket="sse", Key="slow", Range=f"bytes={a}-{b}")
        return r["Body"].read() == data[a:b + 1]

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        assert all(pool.map(one, range(36)))
    # And the server is still answering promptly.
    got = s3.get_object(Bucket="sse", Key="slow")["Body"].read()
    assert got == data
