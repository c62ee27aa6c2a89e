"""Issue 5 (third part): AWS Signature Version 2, header and query string,
with s3cmd --signature-v2 and botocore's HmacV1QueryAuth against a real
cluster; and a coordinator started with `--sigv2 off` refusing it."""

import base64
import email.utils
import hashlib
import hmac
import os
import time
import urllib.error
import urllib.request

from botocore.auth import HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from s3client import boto_client, client_env, run, s3cmd_config

CLUSTER_OPTIONS = {"nodes": 2}


def v2_config(cluster, home):
    path = s3cmd_config(cluster, home)
    with open(path) as f:
        text = f.read().replace("signature_v2 = False", "signature_v2 = True")
    with open(path, "w") as f:
        f.write(text)
    return path


def s3cmd(cluster, tmp_path, *args, check=True):
    env = client_env(cluster, str(tmp_path))
    cfg = v2_config(cluster, str(tmp_path))
    return run(["s3cmd", "-c", cfg, "--signature-v2", *args], env,
               check=check, timeout=60)


def test_s3cmd_signature_v2(cluster, tmp_path):
    src = tmp_path / "v2.bin"
    src.write_bytes(os.urandom(100000))
    s3cmd(cluster, tmp_path, "mb", "s3://v2-bucket")
    s3cmd(cluster, tmp_path, "put", str(src), "s3://v2-bucket/dir/v2.bin")
    assert "v2.bin" in s3cmd(cluster, tmp_path, "ls",
                             "s3://v2-bucket/dir/").stdout
    s3cmd(cluster, tmp_path, "get", "s3://v2-bucket/dir/v2.bin",
          str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()
    s3cmd(cluster, tmp_path, "del", "s3://v2-bucket/dir/v2.bin")
    assert "v2.bin" not in s3cmd(cluster, tmp_path, "ls",
                                 "s3://v2-bucket/dir/").stdout


def fetch(url, headers=None, method="GET"):
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def presign_v2(cluster, path, expires):
    req = AWSRequest(method="GET", url=cluster.endpoint + path)
    creds = Credentials(cluster.access_key, cluster.secret_key)
    HmacV1QueryAuth(creds, expires=expires).add_auth(req)
    return req.url


def test_presigned_v2_url_works_then_expires(cluster):
    boto_client(cluster).create_bucket(Bucket="v2-presign")
    boto_client(cluster).put_object(Bucket="v2-presign", Key="k.txt",
                                    Body=b"presigned v2")
    url = presign_v2(cluster, "/v2-presign/k.txt", 1)
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    assert fetch(url) == (200, b"presigned v2")
    time.sleep(2.1)
    status, body = fetch(url)
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert b"Request has expired" in body
    # A changed signature is SignatureDoesNotMatch.
    url = presign_v2(cluster, "/v2-presign/k.txt", 60)
    status, body = fetch(url.replace("Signature=", "Signature=A"))
    assert status == 403 and b"SignatureDoesNotMatch" in body


def v2_header(secret, method, resource, date, amz=""):
    sts = f"{method}\n\n\n{date}\n{amz}{resource}"
    mac = hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def test_v2_header_errors(cluster):
    s3 = boto_client(cluster)
    s3.create_bucket(Bucket="v2-hdr")
    s3.put_object(Bucket="v2-hdr", Key="a", Body=b"A")
    now = email.utils.formatdate(usegmt=True)
    sig = v2_header(cluster.secret_key, "GET", "/v2-hdr/a", now)
    auth = f"AWS {cluster.access_key}:{sig}"
    assert fetch(cluster.endpoint + "/v2-hdr/a",
                 {"Date": now, "Authorization": auth}) == (200, b"A")
    # x-amz-date instead of Date: signed among the x-amz-* headers.
    sig = v2_header(cluster.secret_key, "GET", "/v2-hdr/a", "",
                    f"x-amz-date:{now}\n")
    assert fetch(cluster.endpoint + "/v2-hdr/a",
                 {"x-amz-date": now,
                  "Authorization": f"AWS {cluster.access_key}:{sig}"}) \
        == (200, b"A")
    # Wrong secret.
    sig = v2_header("not-the-secret", "GET", "/v2-hdr/a", now)
    status, body = fetch(cluster.endpoint + "/v2-hdr/a", {
        "Date": now, "Authorization": f"AWS {cluster.access_key}:{sig}"})
    assert status == 403 and b"SignatureDoesNotMatch" in body
    # Twenty minutes off.
    old = email.utils.formatdate(time.time() - 1200, usegmt=True)
    sig = v2_header(cluster.secret_key, "GET", "/v2-hdr/a", old)
    status, body = fetch(cluster.endpoint + "/v2-hdr/a", {
        "Date": old, "Authorization": f"AWS {cluster.access_key}:{sig}"})
    assert status == 403 and b"RequestTimeTooSkewed" in body


def test_sigv2_off_refuses(fresh_cluster, tmp_path):
    c = fresh_cluster(nodes=1, coordinator_args=["--sigv2", "off"])
    c.start()
    p = s3cmd(c, tmp_path, "ls", check=False)
    assert p.returncode != 0
    assert "AccessDenied" in p.stderr + p.stdout
    status, body = fetch(presign_v2(c, "/any/key", 60))
    assert status == 403 and b"Signature Version 2 is disabled" in body
    # SigV4 still works.
    boto_client(c).list_buckets()
