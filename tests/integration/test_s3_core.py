"""Issue 3: buckets, objects and listings through real clients against a
real cluster, bytes stored on the storage nodes."""

import hashlib
import os
import subprocess
import urllib.parse
import urllib.request

import pytest
from botocore.exceptions import ClientError

from s3client import (DEBIAN_AWS, IMAGE_AWS, IMAGE_PYTHON, boto_client,
                      client_env, rclone_config, run, s3cmd_config)


@pytest.fixture(scope="module")
def s3(cluster):
    return boto_client(cluster)


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_bucket_lifecycle(s3):
    s3.create_bucket(Bucket="life-cycle")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "life-cycle" in names
    s3.head_bucket(Bucket="life-cycle")
    loc = s3.get_bucket_location(Bucket="life-cycle")
    assert loc.get("LocationConstraint") in (None, "")
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="life-cycle")
    assert error_code(e) == "BucketAlreadyOwnedByYou"
    s3.put_object(Bucket="life-cycle", Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="life-cycle")
    assert error_code(e) == "BucketNotEmpty"
    s3.delete_object(Bucket="life-cycle", Key="k")
    s3.delete_bucket(Bucket="life-cycle")
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket="life-cycle")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="Bad_Name")
    assert error_code(e) == "InvalidBucketName"


@pytest.mark.parametrize("size", [0, 1, 5 * 1024 * 1024 + 1])
def test_object_round_trip(s3, size):
    s3.create_bucket(Bucket=f"rt-{size}")
    data = os.urandom(size)
    put = s3.put_object(Bucket=f"rt-{size}", Key="obj", Body=data,
                        ContentType="text/x-cairn", Metadata={"color": "blue"},
                        CacheControl="max-age=60", ContentDisposition="inline")
    assert put["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    got = s3.get_object(Bucket=f"rt-{size}", Key="obj")
    assert got["Body"].read() == data
    assert got["ContentType"] == "text/x-cairn"
    assert got["Metadata"] == {"color": "blue"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == "inline"
    head = s3.head_object(Bucket=f"rt-{size}", Key="obj")
    assert head["ContentLength"] == size
    assert head["ETag"] == put["ETag"]


def test_ranges_and_conditions(s3):
    s3.create_bucket(Bucket="ranges")
    data = bytes(range(256)) * 40000  # ~10 MiB, spans chunks
    etag = s3.put_object(Bucket="ranges", Key="r", Body=data)["ETag"]
    for rng, want in [("bytes=0-9", data[0:10]),
                      ("bytes=100-", data[100:]),
                      ("bytes=-7", data[-7:]),
                      ("bytes=4194300-4194310", data[4194300:4194311])]:
        got = s3.get_object(Bucket="ranges", Key="r", Range=rng)
        assert got["Body"].read() == want, rng
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="ranges", Key="r", Range=f"bytes={len(data)}-")
    assert error_code(e) == "InvalidRange"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="ranges", Key="r", IfMatch='"nope"')
    assert error_code(e) in ("PreconditionFailed", "412")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="ranges", Key="r", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    got = s3.get_object(Bucket="ranges", Key="r", IfMatch=etag,
                        ResponseContentType="application/x-override")
    assert got["ContentType"] == "application/x-override"
    got["Body"].read()


def test_errors(s3, cluster):
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="no-such-bucket", Key="k")
    assert error_code(e) == "NoSuchBucket"
    s3.create_bucket(Bucket="errors")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="errors", Key="missing")
    assert error_code(e) == "NoSuchKey"
    bad = boto_client(cluster)
    bad._request_signer._credentials.secret_key = "wrong-secret-key-0000"
    with pytest.raises(ClientError) as e:
        bad.list_buckets()
    assert error_code(e) == "SignatureDoesNotMatch"
    bad._request_signer._credentials.access_key = "AKIAUNKNOWNKEY000000"
    with pytest.raises(ClientError) as e:
        bad.list_buckets()
    assert error_code(e) == "InvalidAccessKeyId"
    # No signature at all: nothing is public.
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(cluster.endpoint + "/errors/missing")
    assert e.value.code == 403
    assert b"AccessDenied" in e.value.read()


def test_presigned_urls(cluster):
    # Older botocore presigns with SigV2 unless told: SigV4 is what we test.
    s3 = boto_client(cluster, signature_version="s3v4")
    s3.create_bucket(Bucket="presigned")
    s3.put_object(Bucket="presigned", Key="p", Body=b"presigned body")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "presigned", "Key": "p"},
        ExpiresIn=300)
    with urllib.request.urlopen(url) as r:
        assert r.read() == b"presigned body"
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "presigned", "Key": "up"},
        ExpiresIn=300)
    req = urllib.request.Request(put_url, data=b"uploaded", method="PUT")
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
    assert s3.get_object(Bucket="presigned", Key="up")["Body"].read() == \
        b"uploaded"
    tampered = url.replace("presigned/p", "presigned/up")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(tampered)
    assert e.value.code == 403
    # A lifetime of zero or less has expired (403); over a week is a
    # malformed request (400). Both are decided before the signature.
    assert "X-Amz-Expires=300" in url
    for expires, status in (("0", 403), ("-1000", 403), ("604801", 400)):
        bad = url.replace("X-Amz-Expires=300", "X-Amz-Expires=" + expires)
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(bad)
        assert e.value.code == status, expires


KEYS = ["unicode-é中文🙂", "with space", "plus+sign", "percent%25sign",
        "question?mark", "double//slash", "trailing/", "a" * 1024,
        "tab\there", "amp&lt;"]


def test_awkward_keys(s3):
    s3.create_bucket(Bucket="keys")
    for k in KEYS:
        s3.put_object(Bucket="keys", Key=k, Body=k.encode())
    for k in KEYS:
        assert s3.get_object(Bucket="keys", Key=k)["Body"].read() == k.encode()
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="keys"):
        listed += [o["Key"] for o in page.get("Contents", [])]
    assert listed == sorted(KEYS, key=lambda k: k.encode())
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="keys", Key="b" * 1025, Body=b"")
    assert error_code(e) == "KeyTooLongError"


def test_listing_pages_and_delimiters(s3):
    s3.create_bucket(Bucket="listing")
    keys = [f"dir{d:02d}/file{f:03d}" for d in range(10) for f in range(30)]
    keys += [f"top{i:03d}" for i in range(50)]
    for k in keys:
        s3.put_object(Bucket="listing", Key=k, Body=b"")
    # Paginated, no delimiter: every key once, in byte order.
    seen, pages = [], 0
    for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket="listing", PaginationConfig={"PageSize": 77}):
        pages += 1
        seen += [o["Key"] for o in page.get("Contents", [])]
    assert seen == sorted(keys) and pages == -(-len(keys) // 77)
    # With a delimiter: the ten directories and the top-level keys.
    r = s3.list_objects_v2(Bucket="listing", Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == \
        [f"dir{d:02d}/" for d in range(10)]
    assert len(r["Contents"]) == 50 and r["KeyCount"] == 60
    # Prefix + delimiter + start-after.
    r = s3.list_objects_v2(Bucket="listing", Prefix="dir03/", Delimiter="/",
                           StartAfter="dir03/file010", MaxKeys=5)
    assert [o["Key"] for o in r["Contents"]] == \
        [f"dir03/file{f:03d}" for f in range(11, 16)]
    assert r["IsTruncated"]
    # An empty continuation token starts at the beginning, echoed back.
    r = s3.list_objects_v2(Bucket="listing", ContinuationToken="", MaxKeys=2)
    assert r["ContinuationToken"] == ""
    assert [o["Key"] for o in r["Contents"]] == sorted(keys)[:2]
    # v1 with markers.
    r = s3.list_objects(Bucket="listing", Marker="top047")
    assert [o["Key"] for o in r["Contents"]] == ["top048", "top049"]
    # encoding-type=url: keys come back URL-encoded (asked explicitly,
    # botocore leaves them as they are).
    s3.put_object(Bucket="listing", Key="enc key+é", Body=b"")
    r = s3.list_objects_v2(Bucket="listing", Prefix="enc", EncodingType="url")
    assert [urllib.parse.unquote_plus(o["Key"]) for o in r["Contents"]] == \
        ["enc key+é"]
    assert "+" not in r["Contents"][0]["Key"].replace("%2B", "")
    # v1 (botocore asks encoding-type=url itself): keys decoded by the SDK,
    # the Prefix element comes back as given.
    r = s3.list_objects(Bucket="listing", Prefix="enc key\n")
    assert r["Prefix"] == "enc key\n" and "Contents" not in r
    r = s3.list_objects(Bucket="listing", Prefix="enc ")
    assert [o["Key"] for o in r["Contents"]] == ["enc key+é"]


def test_delete_objects(s3):
    s3.create_bucket(Bucket="multi-delete")
    for i in range(20):
        s3.put_object(Bucket="multi-delete", Key=f"k{i}", Body=b"v")
    r = s3.delete_objects(Bucket="multi-delete", Delete={
        "Objects": [{"Key": f"k{i}"} for i in range(10)] + [{"Key": "absent"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == \
        sorted([f"k{i}" for i in range(10)] + ["absent"])
    r = s3.delete_objects(Bucket="multi-delete", Delete={
        "Objects": [{"Key": f"k{i}"} for i in range(10, 20)], "Quiet": True})
    assert not r.get("Deleted")
    assert s3.list_objects_v2(Bucket="multi-delete")["KeyCount"] == 0


def test_overwrite_replaces_whole_object(s3):
    s3.create_bucket(Bucket="overwrite")
    first, second = os.urandom(9 << 20), os.urandom(3 << 20)
    s3.put_object(Bucket="overwrite", Key="o", Body=first)
    s3.put_object(Bucket="overwrite", Key="o", Body=second)
    assert s3.get_object(Bucket="overwrite", Key="o")["Body"].read() == second


def test_content_md5_and_sha256_mismatch(s3, cluster):
    s3.create_bucket(Bucket="digests")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="digests", Key="bad", Body=b"hello",
                      ContentMD5="XrY7u+Ae7tCTyyK7j1rNww==")
    assert error_code(e) == "BadDigest"
    with pytest.raises(ClientError) as e:  # not 16 bytes of base64
        s3.put_object(Bucket="digests", Key="bad", Body=b"hello",
                      ContentMD5="c2hvcnQ=")
    assert error_code(e) == "InvalidDigest"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="digests", Key="bad")
    assert error_code(e) == "NoSuchKey"


@pytest.mark.skipif(not IMAGE_PYTHON, reason="no newer boto3 on this machine")
def test_current_boto3_streaming_checksums(cluster, tmp_path):
    """boto3 1.4x sends STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32
    trailer by default; also try each checksum algorithm."""
    script = tmp_path / "new_boto.py"
    script.write_text(f"""
import boto3, os, hashlib
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url="{cluster.endpoint}", region_name="us-east-1",
    aws_access_key_id="{cluster.access_key}", aws_secret_access_key="{cluster.secret_key}",
    config=Config(s3={{"addressing_style": "path"}}))
s3.create_bucket(Bucket="new-boto")
data = os.urandom(6 * 1024 * 1024 + 3)
s3.put_object(Bucket="new-boto", Key="default", Body=data)
assert s3.get_object(Bucket="new-boto", Key="default")["Body"].read() == data
for alg in ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]:
    try:
        r = s3.put_object(Bucket="new-boto", Key=alg, Body=data[:100000], ChecksumAlgorithm=alg)
    except Exception as e:
        if "MissingDependency" in type(e).__name__:
            continue  # botocore computes CRC32C/CRC64NVME only with awscrt
        raise
    h = s3.head_object(Bucket="new-boto", Key=alg, ChecksumMode="ENABLED")
    assert h.get("Checksum" + alg) == r["Checksum" + alg], (alg, h, r)
# ListBuckets pages (MaxBuckets, ContinuationToken, Prefix: boto3 1.35+).
for b in ("page-a", "page-b", "page-c"):
    s3.create_bucket(Bucket=b)
names, token = [], None
while True:
    kw = {{"ContinuationToken": token}} if token else {{}}
    r = s3.list_buckets(MaxBuckets=1, Prefix="page-", **kw)
    assert len(r["Buckets"]) == 1 and r["Prefix"] == "page-"
    names.append(r["Buckets"][0]["Name"])
    token = r.get("ContinuationToken")
    if not token:
        break
assert names == ["page-a", "page-b", "page-c"], names
print("ok")
""")
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)
    p = subprocess.run([IMAGE_PYTHON, str(script)], capture_output=True,
                       text=True, timeout=300, env=env)
    assert p.returncode == 0 and "ok" in p.stdout, p.stderr[-3000:]


@pytest.mark.parametrize("aws", [a for a in (IMAGE_AWS, DEBIAN_AWS) if a])
def test_aws_cli(cluster, tmp_path, aws):
    env = client_env(cluster, str(tmp_path))
    bucket = "cli-" + ("v1" if aws == IMAGE_AWS else "v2")
    ep = ["--endpoint-url", cluster.endpoint]
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(7 * 1024 * 1024 + 5))
    run([aws] + ep + ["s3", "mb", f"s3://{bucket}"], env)
    run([aws] + ep + ["s3", "cp", str(src), f"s3://{bucket}/dir/file.bin"],
        env)
    out = run([aws] + ep + ["s3", "ls", f"s3://{bucket}/dir/"], env).stdout
    assert "file.bin" in out
    run([aws] + ep + ["s3", "cp", f"s3://{bucket}/dir/file.bin",
                      str(tmp_path / "back.bin")], env)
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()
    run([aws] + ep + ["s3", "rm", f"s3://{bucket}/dir/file.bin"], env)
    run([aws] + ep + ["s3", "rb", f"s3://{bucket}"], env)


def test_s3cmd(cluster, tmp_path):
    env = client_env(cluster, str(tmp_path))
    cfg = s3cmd_config(cluster, str(tmp_path))
    base = ["s3cmd", "-c", cfg]
    src = tmp_path / "s3cmd.bin"
    src.write_bytes(os.urandom(300000))
    run(base + ["mb", "s3://s3cmd-bucket"], env)
    run(base + ["put", str(src), "s3://s3cmd-bucket/x/y.bin"], env)
    assert "y.bin" in run(base + ["ls", "s3://s3cmd-bucket/x/"], env).stdout
    run(base + ["get", "s3://s3cmd-bucket/x/y.bin", str(tmp_path / "g.bin")],
        env)
    assert (tmp_path / "g.bin").read_bytes() == src.read_bytes()
    run(base + ["del", "s3://s3cmd-bucket/x/y.bin"], env)
    run(base + ["rb", "s3://s3cmd-bucket"], env)


def test_rclone_sync_and_check(cluster, tmp_path):
    env = client_env(cluster, str(tmp_path))
    cfg = rclone_config(cluster, str(tmp_path))
    tree = tmp_path / "tree"
    for d in range(4):
        (tree / f"d{d}" / "sub").mkdir(parents=True)
        for f in range(5):
            (tree / f"d{d}" / f"f{f}.txt").write_bytes(os.urandom(1000 * f))
            (tree / f"d{d}" / "sub" / f"g{f}").write_bytes(os.urandom(77 * f))
    (tree / "big.bin").write_bytes(os.urandom(6 * 1024 * 1024))
    base = ["rclone", "--config", cfg]
    run(base + ["mkdir", "cairn:rclone-sync"], env)
    run(base + ["sync", str(tree), "cairn:rclone-sync"], env)
    run(base + ["check", str(tree), "cairn:rclone-sync"], env)


def test_multipart_upload(s3, tmp_path):
    from boto3.s3.transfer import TransferConfig
    s3.create_bucket(Bucket="multipart")
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(1 << 20))
    cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=16 << 20,
                         max_concurrency=4)
    s3.upload_file(str(src), "multipart", "big", Config=cfg)
    head = s3.head_object(Bucket="multipart", Key="big")
    assert head["ContentLength"] == 100 << 20
    assert head["ETag"].endswith('-7"')  # 6 x 16 MiB + 4 MiB
    s3.download_file("multipart", "big", str(tmp_path / "back.bin"), Config=cfg)
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()
    part2 = s3.get_object(Bucket="multipart", Key="big", PartNumber=2)
    assert part2["ContentLength"] == 16 << 20
    assert part2["PartsCount"] == 7
    assert part2["Body"].read() == src.read_bytes()[16 << 20:32 << 20]


def test_multipart_errors_and_listing(s3):
    s3.create_bucket(Bucket="mp-errors")
    up = s3.create_multipart_upload(Bucket="mp-errors", Key="k",
                                    ContentType="text/x-mp")["UploadId"]
    small = s3.upload_part(Bucket="mp-errors", Key="k", UploadId=up,
                           PartNumber=1, Body=b"a" * 1000)
    s3.upload_part(Bucket="mp-errors", Key="k", UploadId=up, PartNumber=2,
                   Body=b"b" * 1000)
    parts = s3.list_parts(Bucket="mp-errors", Key="k", UploadId=up)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1, 2]
    uploads = s3.list_multipart_uploads(Bucket="mp-errors")["Uploads"]
    assert [u["UploadId"] for u in uploads] == [up]
    with pytest.raises(ClientError) as e:  # part 1 is under 5 MiB
        s3.complete_multipart_upload(
            Bucket="mp-errors", Key="k", UploadId=up,
            MultipartUpload={"Parts": [
                {"PartNumber": 1, "ETag": small["ETag"]},
                {"PartNumber": 2, "ETag": parts[1]["ETag"]}]})
    assert error_code(e) == "EntityTooSmall"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket="mp-errors", Key="k", UploadId=up,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0"'}]})
    assert error_code(e) == "InvalidPart"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket="mp-errors", Key="k", UploadId=up,
            MultipartUpload={"Parts": [
                {"PartNumber": 2, "ETag": parts[1]["ETag"]},
                {"PartNumber": 1, "ETag": small["ETag"]}]})
    assert error_code(e) == "InvalidPartOrder"
    # A single small part is a valid (last) part.
    done = s3.complete_multipart_upload(
        Bucket="mp-errors", Key="k", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": small["ETag"]}]})
    assert done["ETag"].endswith('-1"')
    got = s3.get_object(Bucket="mp-errors", Key="k")
    assert got["Body"].read() == b"a" * 1000
    assert got["ContentType"] == "text/x-mp"
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket="mp-errors", Key="k", UploadId=up, PartNumber=3,
                       Body=b"c")
    assert error_code(e) == "NoSuchUpload"
    up2 = s3.create_multipart_upload(Bucket="mp-errors", Key="k2")["UploadId"]
    s3.upload_part(Bucket="mp-errors", Key="k2", UploadId=up2, PartNumber=1,
                   Body=b"z" * 100)
    s3.abort_multipart_upload(Bucket="mp-errors", Key="k2", UploadId=up2)
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket="mp-errors", Key="k2", UploadId=up2)
    assert error_code(e) == "NoSuchUpload"
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket="mp-errors", Key="k", UploadId=up,
                       PartNumber=10001, Body=b"c")
    assert error_code(e) in ("InvalidArgument", "NoSuchUpload")


def test_copy_object(s3):
    s3.create_bucket(Bucket="copy-src")
    s3.create_bucket(Bucket="copy-dst")
    data = os.urandom(9 * 1024 * 1024 + 11)
    etag = s3.put_object(Bucket="copy-src", Key="a b+c", Body=data,
                         ContentType="text/x-src", Metadata={"m": "1"})["ETag"]
    r = s3.copy_object(Bucket="copy-dst", Key="copy",
                       CopySource={"Bucket": "copy-src", "Key": "a b+c"})
    assert r["CopyObjectResult"]["ETag"] == etag
    got = s3.get_object(Bucket="copy-dst", Key="copy")
    assert got["Body"].read() == data
    assert got["ContentType"] == "text/x-src" and got["Metadata"] == {"m": "1"}
    # REPLACE takes the request's metadata.
    s3.copy_object(Bucket="copy-dst", Key="replaced",
                   CopySource="copy-src/a b+c", MetadataDirective="REPLACE",
                   ContentType="text/x-new", Metadata={"n": "2"})
    h = s3.head_object(Bucket="copy-dst", Key="replaced")
    assert h["ContentType"] == "text/x-new" and h["Metadata"] == {"n": "2"}
    # Onto itself: only with REPLACE; changes metadata, keeps the bytes.
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket="copy-src", Key="a b+c",
                       CopySource="copy-src/a b+c")
    assert error_code(e) == "InvalidRequest"
    s3.copy_object(Bucket="copy-src", Key="a b+c", CopySource="copy-src/a b+c",
                   MetadataDirective="REPLACE", Metadata={"self": "yes"})
    got = s3.get_object(Bucket="copy-src", Key="a b+c")
    assert got["Metadata"] == {"self": "yes"} and got["Body"].read() == data
    # Conditions on the source.
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket="copy-dst", Key="x", CopySource="copy-src/a b+c",
                       CopySourceIfMatch='"nope"')
    assert error_code(e) == "PreconditionFailed"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket="copy-dst", Key="x",
                       CopySource="copy-src/missing")
    assert error_code(e) == "NoSuchKey"
    # UploadPartCopy with ranges builds an object from another's bytes.
    up = s3.create_multipart_upload(Bucket="copy-dst", Key="parts")["UploadId"]
    p1 = s3.upload_part_copy(Bucket="copy-dst", Key="parts", UploadId=up,
                             PartNumber=1, CopySource="copy-src/a b+c",
                             CopySourceRange="bytes=0-5242879")
    p2 = s3.upload_part_copy(Bucket="copy-dst", Key="parts", UploadId=up,
                             PartNumber=2, CopySource="copy-src/a b+c",
                             CopySourceRange="bytes=5242880-5242899")
    s3.complete_multipart_upload(
        Bucket="copy-dst", Key="parts", UploadId=up, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": p1["CopyPartResult"]["ETag"]},
            {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]}]})
    got = s3.get_object(Bucket="copy-dst", Key="parts")["Body"].read()
    assert got == data[:5242900]
    # A malformed source range is InvalidArgument; one past the end of the
    # source is InvalidRange.
    up = s3.create_multipart_upload(Bucket="copy-dst", Key="bad")["UploadId"]
    for rng, code in (("0-2", "InvalidArgument"), ("bytes=0", "InvalidArgument"),
                      ("bytes=hello-world", "InvalidArgument"),
                      ("bytes=0-2,3-5", "InvalidArgument"),
                      ("bytes=%d-%d" % (len(data), len(data) + 5),
                       "InvalidRange")):
        with pytest.raises(ClientError) as e:
            s3.upload_part_copy(Bucket="copy-dst", Key="bad", UploadId=up,
                                PartNumber=1, CopySource="copy-src/a b+c",
                                CopySourceRange=rng)
        assert error_code(e) == code, rng


def test_delete_bucket_aborts_unfinished_uploads(s3):
    s3.create_bucket(Bucket="mp-leftover")
    up = s3.create_multipart_upload(Bucket="mp-leftover", Key="k")["UploadId"]
    s3.upload_part(Bucket="mp-leftover", Key="k", UploadId=up, PartNumber=1,
                   Body=b"x" * 100)
    s3.put_object(Bucket="mp-leftover", Key="obj", Body=b"o")
    with pytest.raises(ClientError) as e:  # an object keeps it
        s3.delete_bucket(Bucket="mp-leftover")
    assert error_code(e) == "BucketNotEmpty"
    assert s3.list_multipart_uploads(Bucket="mp-leftover")["Uploads"]
    s3.delete_object(Bucket="mp-leftover", Key="obj")
    s3.delete_bucket(Bucket="mp-leftover")  # the upload alone does not
    assert "mp-leftover" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_content_encoding_keeps_all_but_aws_chunked(cluster):
    s3 = boto_client(cluster)
    s3.create_bucket(Bucket="encoding")
    s3.put_object(Bucket="encoding", Key="e", Body=b"x",
                  ContentEncoding="gzip, aws-chunked")
    assert s3.head_object(Bucket="encoding", Key="e")["ContentEncoding"] == \
        "gzip"


def test_conditional_put(s3):
    s3.create_bucket(Bucket="cond-put")

    def put_with(headers, key, body=b"x"):
        def add(request, **kwargs):
            for k, v in headers.items():
                request.headers[k] = v
        s3.meta.events.register_first("before-sign.s3.PutObject", add)
        try:
            return s3.put_object(Bucket="cond-put", Key=key, Body=body)
        finally:
            s3.meta.events.unregister("before-sign.s3.PutObject", add)

    first = put_with({"If-None-Match": "*"}, "k", b"first")
    with pytest.raises(ClientError) as e:  # exists now
        put_with({"If-None-Match": "*"}, "k", b"second")
    assert error_code(e) == "PreconditionFailed"
    with pytest.raises(ClientError) as e:
        put_with({"If-Match": '"0123"'}, "k", b"third")
    assert error_code(e) == "PreconditionFailed"
    put_with({"If-Match": first["ETag"]}, "k", b"fourth")
    assert s3.get_object(Bucket="cond-put", Key="k")["Body"].read() == b"fourth"
    with pytest.raises(ClientError) as e:
        put_with({"If-Match": first["ETag"]}, "missing", b"x")
    assert error_code(e) == "NoSuchKey"


def b64(raw):
    import base64
    return base64.b64encode(raw).decode()


def with_headers(s3, event, headers):
    """Adds headers to every request of one operation until removed."""
    def add(request, **kwargs):
        for k, v in headers.items():
            request.headers[k] = v
    s3.meta.events.register_first(f"before-sign.s3.{event}", add)
    return lambda: s3.meta.events.unregister(f"before-sign.s3.{event}", add)


def test_multipart_checksums(s3):
    """Checksum of checksums (COMPOSITE, SHA256 sent by the client) and the
    whole-object CRC (FULL_OBJECT, CRC32 computed by the server for parts
    sent without one); part checksums in ListParts and GET ?partNumber;
    wrong values refused; conditional completion."""
    import zlib
    s3.create_bucket(Bucket="mp-sums")
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1000)]
    up = s3.create_multipart_upload(Bucket="mp-sums", Key="composite",
                                    ChecksumAlgorithm="SHA256")
    assert up["ChecksumAlgorithm"] == "SHA256"
    uid = up["UploadId"]
    listed = []
    for i, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket="mp-sums", Key="composite", UploadId=uid,
                           PartNumber=i, Body=data, ChecksumAlgorithm="SHA256")
        want = b64(hashlib.sha256(data).digest())
        assert r["ChecksumSHA256"] == want
        listed.append({"ETag": r["ETag"], "PartNumber": i,
                       "ChecksumSHA256": want})
    got = s3.list_parts(Bucket="mp-sums", Key="composite", UploadId=uid)
    assert [p["ChecksumSHA256"] for p in got["Parts"]] == \
        [p["ChecksumSHA256"] for p in listed]
    composite = b64(hashlib.sha256(b"".join(
        hashlib.sha256(d).digest() for d in parts)).digest()) + "-2"
    wrong = [dict(listed[0]), dict(listed[1], ChecksumSHA256=b64(b"\0" * 32))]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket="mp-sums", Key="composite",
                                     UploadId=uid,
                                     MultipartUpload={"Parts": wrong})
    assert error_code(e) == "InvalidPart"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket="mp-sums", Key="composite",
                                     UploadId=uid, ChecksumSHA256="bad",
                                     MultipartUpload={"Parts": listed})
    assert error_code(e) == "BadDigest"
    done = s3.complete_multipart_upload(Bucket="mp-sums", Key="composite",
                                        UploadId=uid, ChecksumSHA256=composite,
                                        MultipartUpload={"Parts": listed})
    assert done["ChecksumSHA256"] == composite
    assert "ChecksumSHA256" not in s3.head_object(Bucket="mp-sums",
                                                  Key="composite")
    head = s3.head_object(Bucket="mp-sums", Key="composite",
                          ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == composite
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"] \
        == "COMPOSITE"
    part2 = s3.get_object(Bucket="mp-sums", Key="composite", PartNumber=2,
                          ChecksumMode="ENABLED")
    assert part2["Body"].read() == parts[1]
    assert part2["ChecksumSHA256"] == listed[1]["ChecksumSHA256"]

    # FULL_OBJECT CRC32; the parts carry no checksum: the server computes
    # each, and the object's is the CRC32 of all the bytes.
    undo = with_headers(s3, "CreateMultipartUpload",
                        {"x-amz-checksum-type": "FULL_OBJECT"})
    try:
        up = s3.create_multipart_upload(Bucket="mp-sums", Key="full",
                                        ChecksumAlgorithm="CRC32")
    finally:
        undo()
    assert up["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"] \
        == "FULL_OBJECT"
    uid = up["UploadId"]
    listed = []
    for i, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket="mp-sums", Key="full", UploadId=uid,
                           PartNumber=i, Body=data)
        assert r["ChecksumCRC32"] == b64(zlib.crc32(data).to_bytes(4, "big"))
        listed.append({"ETag": r["ETag"], "PartNumber": i})
    whole = b64(zlib.crc32(b"".join(parts)).to_bytes(4, "big"))
    done = s3.complete_multipart_upload(Bucket="mp-sums", Key="full",
                                        UploadId=uid,
                                        MultipartUpload={"Parts": listed})
    assert done["ChecksumCRC32"] == whole
    head = s3.head_object(Bucket="mp-sums", Key="full", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == whole
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"] \
        == "FULL_OBJECT"

    # Conditional completion: If-None-Match: * refuses an existing key.
    uid = s3.create_multipart_upload(Bucket="mp-sums", Key="full")["UploadId"]
    etag = s3.upload_part(Bucket="mp-sums", Key="full", UploadId=uid,
                          PartNumber=1, Body=b"late")["ETag"]
    undo = with_headers(s3, "CompleteMultipartUpload", {"If-None-Match": "*"})
    try:
        with pytest.raises(ClientError) as e:
            s3.complete_multipart_upload(
                Bucket="mp-sums", Key="full", UploadId=uid,
                MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]})
    finally:
        undo()
    assert error_code(e) == "PreconditionFailed"
    assert s3.head_object(Bucket="mp-sums", Key="full")["ContentLength"] == \
        sum(map(len, parts))


def test_get_object_attributes(s3):
    s3.create_bucket(Bucket="attrs")
    put = s3.put_object(Bucket="attrs", Key="plain", Body=b"foo",
                        ChecksumAlgorithm="SHA256")
    got = s3.get_object_attributes(
        Bucket="attrs", Key="plain",
        ObjectAttributes=["ETag", "Checksum", "ObjectParts", "StorageClass",
                          "ObjectSize"])
    assert got["ETag"] == put["ETag"].strip('"')
    assert got["ObjectSize"] == 3
    assert got["StorageClass"] == "STANDARD"
    assert got["Checksum"]["ChecksumSHA256"] == \
        b64(hashlib.sha256(b"foo").digest())
    assert "ObjectParts" not in got

    uid = s3.create_multipart_upload(Bucket="attrs", Key="mp",
                                     ChecksumAlgorithm="SHA256")["UploadId"]
    sizes = [5 * 1024 * 1024, 5 * 1024 * 1024, 7]
    listed = []
    for i, size in enumerate(sizes, 1):
        data = bytes([i]) * size
        r = s3.upload_part(Bucket="attrs", Key="mp", UploadId=uid,
                           PartNumber=i, Body=data, ChecksumAlgorithm="SHA256")
        listed.append({"ETag": r["ETag"], "PartNumber": i,
                       "ChecksumSHA256": r["ChecksumSHA256"]})
    done = s3.complete_multipart_upload(Bucket="attrs", Key="mp",
                                        UploadId=uid,
                                        MultipartUpload={"Parts": listed})
    got = s3.get_object_attributes(Bucket="attrs", Key="mp", MaxParts=2,
                                   ObjectAttributes=["ObjectParts", "Checksum",
                                                     "ObjectSize"])
    assert got["ObjectSize"] == sum(sizes)
    assert got["Checksum"]["ChecksumSHA256"] == done["ChecksumSHA256"]
    parts = got["ObjectParts"]
    assert parts["TotalPartsCount"] == 3 and parts["IsTruncated"]
    assert [p["PartNumber"] for p in parts["Parts"]] == [1, 2]
    assert [p["Size"] for p in parts["Parts"]] == sizes[:2]
    assert parts["Parts"][1]["ChecksumSHA256"] == listed[1]["ChecksumSHA256"]
    rest = s3.get_object_attributes(Bucket="attrs", Key="mp",
                                    PartNumberMarker=2,
                                    ObjectAttributes=["ObjectParts"])
    assert [p["Size"] for p in rest["ObjectParts"]["Parts"]] == [7]
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket="attrs", Key="missing",
                                 ObjectAttributes=["ETag"])
    assert error_code(e) == "NoSuchKey"


def test_virtual_hosted_style(fresh_cluster, monkeypatch):
    """With --domain, BUCKET.DOMAIN addresses the bucket from the Host
    header (names under the test domain resolve to loopback here)."""
    import socket

    import boto3
    from botocore.config import Config
    cluster = fresh_cluster(coordinator_args=["--domain", "s3.cairn.test"])
    cluster.start()
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith("s3.cairn.test"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    vs3 = boto3.client(
        "s3", endpoint_url=f"http://s3.cairn.test:{cluster.s3_port}",
        region_name="us-east-1", aws_access_key_id=cluster.access_key,
        aws_secret_access_key=cluster.secret_key,
        config=Config(s3={"addressing_style": "virtual"},
                      retries={"max_attempts": 1}))
    seen_hosts = []
    vs3.meta.events.register(
        "before-send.s3.*",
        lambda request, **kw: seen_hosts.append(request.url))
    vs3.create_bucket(Bucket="vhost")
    vs3.put_object(Bucket="vhost", Key="dir/a b+c", Body=b"virtual")
    assert vs3.get_object(Bucket="vhost", Key="dir/a b+c")["Body"].read() == \
        b"virtual"
    assert [o["Key"] for o in vs3.list_objects_v2(Bucket="vhost")["Contents"]] \
        == ["dir/a b+c"]
    assert all(u.startswith(f"http://vhost.s3.cairn.test:{cluster.s3_port}/")
               for u in seen_hosts), seen_hosts
    # The same bucket path-style, on the same endpoint.
    path = boto_client(cluster)
    assert path.get_object(Bucket="vhost", Key="dir/a b+c")["Body"].read() \
        == b"virtual"


def test_complete_multipart_upload_retry_and_empty(s3):
    """A retried completion answers the first result (clients retry after a
    lost response); a completion without parts is MalformedXML; once
    another upload replaced the object, the old id is NoSuchUpload."""
    s3.create_bucket(Bucket="mp-retry")
    uid = s3.create_multipart_upload(Bucket="mp-retry", Key="k")["UploadId"]
    etag = s3.upload_part(Bucket="mp-retry", Key="k", UploadId=uid,
                          PartNumber=1, Body=b"only part")["ETag"]
    parts = {"Parts": [{"ETag": etag, "PartNumber": 1}]}
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket="mp-retry", Key="k", UploadId=uid,
                                     MultipartUpload={"Parts": []})
    assert error_code(e) == "MalformedXML"
    first = s3.complete_multipart_upload(Bucket="mp-retry", Key="k",
                                         UploadId=uid, MultipartUpload=parts)
    again = s3.complete_multipart_upload(Bucket="mp-retry", Key="k",
                                         UploadId=uid, MultipartUpload=parts)
    assert again["ETag"] == first["ETag"] and first["ETag"].endswith('-1"')
    s3.put_object(Bucket="mp-retry", Key="k", Body=b"replaced")
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket="mp-retry", Key="k", UploadId=uid,
                                     MultipartUpload=parts)
    assert error_code(e) == "NoSuchUpload"
