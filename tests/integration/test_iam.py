"""Issue 5 (first part): IAM users, access keys, groups and policies through
the admin API and the `cairn` CLI, enforced on real S3 clients (boto3)
against a real cluster."""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from cluster import CLI
from s3client import boto_client

GRACE_MS = 2000  # key-rotation-grace-ms of this module's coordinator
ADMIN = "/_cairn/admin/v1/"


CLUSTER_OPTIONS = {"nodes": 2, "coordinator_args": [
    "--key-rotation-grace-ms", str(GRACE_MS)]}


@pytest.fixture(scope="module")
def root(cluster):
    s3 = boto_client(cluster)
    s3.create_bucket(Bucket="shared")
    s3.put_object(Bucket="shared", Key="pub/a.txt", Body=b"public")
    s3.put_object(Bucket="shared", Key="secret/b.txt", Body=b"secret")
    return s3


def cli(cluster, *args, key=None, secret=None, check=True, stdin=None):
    env = dict(os.environ, CAIRN_ENDPOINT=cluster.endpoint,
               CAIRN_ACCESS_KEY=key or cluster.access_key,
               CAIRN_SECRET_KEY=secret or cluster.secret_key)
    p = subprocess.run([CLI, "admin", *args, "--json"], env=env, input=stdin,
                       capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        raise AssertionError(f"cairn admin {args}: {p.returncode}\n"
                             f"{p.stdout}\n{p.stderr}")
    return json.loads(p.stdout) if p.stdout.strip() else None, p.returncode


def make_user(cluster, name, policy=None):
    cli(cluster, "user", "add", name)
    if policy is not None:
        cli(cluster, "policy", "set", name, "-", stdin=json.dumps(policy))
    doc, _ = cli(cluster, "key", "add", name)
    return doc["access_key_id"], doc["secret_access_key"]


def client_as(cluster, key, secret):
    class Creds:
        pass
    c = Creds()
    c.endpoint, c.access_key, c.secret_key = cluster.endpoint, key, secret
    return boto_client(c)


def code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def denied(fn, *args, want="AccessDenied", **kwargs):
    with pytest.raises(ClientError) as e:
        fn(*args, **kwargs)
    assert code(e) == want, e.value.response
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_read_only_user(cluster, root):
    s3 = client_as(cluster, *make_user(
        cluster, "reader", [{"bucket": "shared", "actions": ["list", "read"]}]))
    assert s3.get_object(Bucket="shared", Key="pub/a.txt")["Body"].read() \
        == b"public"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="shared")["Contents"]]
    assert "pub/a.txt" in keys
    denied(s3.put_object, Bucket="shared", Key="pub/new", Body=b"x")
    denied(s3.delete_object, Bucket="shared", Key="pub/a.txt")
    denied(s3.create_bucket, Bucket="reader-made")
    assert root.head_object(Bucket="shared", Key="pub/a.txt")


def test_single_bucket_user(cluster, root):
    root.create_bucket(Bucket="mine")
    s3 = client_as(cluster, *make_user(
        cluster, "single",
        [{"bucket": "mine", "actions": ["list", "read", "write", "delete"]}]))
    s3.put_object(Bucket="mine", Key="k", Body=b"mine")
    assert s3.get_object(Bucket="mine", Key="k")["Body"].read() == b"mine"
    assert s3.list_objects_v2(Bucket="mine")["KeyCount"] == 1
    s3.delete_object(Bucket="mine", Key="k")
    # Other buckets: neither listed nor touched; no s3:ListAllMyBuckets on
    # every bucket, so no ListBuckets either (as AWS).
    denied(s3.list_objects_v2, Bucket="shared")
    denied(s3.get_object, Bucket="shared", Key="pub/a.txt")
    denied(s3.put_object, Bucket="shared", Key="x", Body=b"x")
    denied(s3.copy_object, Bucket="mine", Key="stolen",
           CopySource={"Bucket": "shared", "Key": "pub/a.txt"})
    denied(s3.list_buckets)


def test_explicit_deny_beats_allow(cluster, root):
    s3 = client_as(cluster, *make_user(cluster, "denied", {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::shared/secret/*"}]}))
    assert s3.get_object(Bucket="shared", Key="pub/a.txt")["Body"].read()
    denied(s3.get_object, Bucket="shared", Key="secret/b.txt")
    # A Deny in a group policy wins over the user's own Allow too.
    cli(cluster, "group", "add", "no-lists")
    cli(cluster, "group", "policy", "set", "no-lists", "-", stdin=json.dumps(
        {"Statement": {"Effect": "Deny", "Action": "s3:ListBucket",
                       "Resource": "*"}}))
    s3.list_objects_v2(Bucket="shared")
    cli(cluster, "group", "join", "no-lists", "denied")
    denied(s3.list_objects_v2, Bucket="shared")
    cli(cluster, "group", "leave", "no-lists", "denied")
    s3.list_objects_v2(Bucket="shared")


def ip_policy(cidr):
    return {"Statement": [{"Effect": "Allow", "Action": "s3:*",
                           "Resource": "*", "Condition": {
                               "IpAddress": {"aws:SourceIp": cidr}}}]}


def test_source_ip_condition(cluster, root):
    s3 = client_as(cluster, *make_user(cluster, "iponly",
                                       ip_policy("127.0.0.1/32")))
    assert s3.get_object(Bucket="shared", Key="pub/a.txt")["Body"].read()
    cli(cluster, "policy", "set", "iponly", "-",
        stdin=json.dumps(ip_policy("10.0.0.0/8")))
    denied(s3.get_object, Bucket="shared", Key="pub/a.txt")


def test_key_rotation_grace(cluster, root):
    old_key, old_secret = make_user(cluster, "rotor", [
        {"bucket": "*", "actions": ["list", "read"]}])
    old = client_as(cluster, old_key, old_secret)
    old.list_objects_v2(Bucket="shared")
    doc, _ = cli(cluster, "key", "rotate", "rotor", old_key)
    rotated_at = time.monotonic()
    new = client_as(cluster, doc["access_key_id"], doc["secret_access_key"])
    new.list_objects_v2(Bucket="shared")
    old.list_objects_v2(Bucket="shared")  # still inside the grace
    assert time.monotonic() - rotated_at < GRACE_MS / 1000
    keys, _ = cli(cluster, "key", "ls", "rotor")
    assert {k["access_key_id"]: k["expires"] is not None
            for k in keys["keys"]} == {old_key: True,
                                       doc["access_key_id"]: False}
    time.sleep(GRACE_MS / 1000 + 0.3)
    denied(old.list_objects_v2, Bucket="shared", want="InvalidAccessKeyId")
    new.list_objects_v2(Bucket="shared")


def test_disabled_user_and_inactive_key(cluster, root):
    key, secret = make_user(cluster, "sleeper", [
        {"bucket": "*", "actions": ["list", "read"]}])
    s3 = client_as(cluster, key, secret)
    s3.list_objects_v2(Bucket="shared")
    cli(cluster, "user", "disable", "sleeper")
    denied(s3.list_objects_v2, Bucket="shared")
    cli(cluster, "user", "enable", "sleeper")
    s3.list_objects_v2(Bucket="shared")
    cli(cluster, "key", "disable", "sleeper", key)
    denied(s3.list_objects_v2, Bucket="shared", want="InvalidAccessKeyId")
    cli(cluster, "key", "enable", "sleeper", key)
    s3.list_objects_v2(Bucket="shared")
    cli(cluster, "user", "rm", "sleeper")
    denied(s3.list_objects_v2, Bucket="shared", want="InvalidAccessKeyId")


def test_admin_errors_through_cli(cluster, root):
    doc, rc = cli(cluster, "policy", "set", "reader", "-",
                  stdin='{"Statement": {"Effect": "Perhaps"}}', check=False)
    assert rc == 1 and doc["error"]["code"] == "MalformedPolicy"
    assert "Effect" in doc["error"]["message"]
    doc, rc = cli(cluster, "user", "add", "reader", check=False)
    assert rc == 1 and doc["error"]["code"] == "EntityAlreadyExists"
    doc, rc = cli(cluster, "user", "add", "bad!name", check=False)
    assert rc == 1 and doc["error"]["code"] == "InvalidInput"
    doc, rc = cli(cluster, "key", "ls", "nobody", check=False)
    assert rc == 1 and doc["error"]["code"] == "NoSuchEntity"
    # a user with iam:* administers, without being root
    key, secret = make_user(cluster, "admin2", [
        {"bucket": "*", "actions": ["iam:*"]}])
    doc, _ = cli(cluster, "user", "ls", key=key, secret=secret)
    assert "reader" in [u["name"] for u in doc["users"]]
    # the table view works too
    env = dict(os.environ, CAIRN_ENDPOINT=cluster.endpoint,
               CAIRN_ACCESS_KEY=key, CAIRN_SECRET_KEY=secret)
    out = subprocess.run([CLI, "admin", "user", "ls"], env=env, text=True,
                         capture_output=True, timeout=30, check=True).stdout
    assert out.splitlines()[0].split()[:2] == ["USER", "STATE"]


def raw_call(cluster, method, url, headers=None, key=None, secret=None,
             body=b"", sign=True):
    """One HTTP request, SigV4-signed unless sign is False (with key and
    secret, or the cluster's root); returns (status, body bytes)."""
    headers = dict(headers or {})
    if sign:
        req = AWSRequest(method=method, url=url, data=body, headers=headers)
        S3SigV4Auth(Credentials(key or cluster.access_key,
                                secret or cluster.secret_key),
                    "s3", "us-east-1").add_auth(req)
        headers = dict(req.headers.items())
    r = urllib.request.Request(url, data=body if method in ("PUT", "POST")
                               else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def admin_call(cluster, method, path, key=None, secret=None, body=b"",
               sign=True):
    status, text = raw_call(cluster, method, cluster.endpoint + ADMIN + path,
                            key=key, secret=secret, body=body, sign=sign)
    return status, json.loads(text or b"{}")


def test_admin_route_walk(cluster, root):
    """Every admin route refuses no auth, a bad signature and a user whose
    policy does not allow the route's action; none leaks state."""
    status, doc = admin_call(cluster, "GET", "routes")
    assert status == 200
    routes = doc["routes"]
    assert len(routes) >= 20
    nobody_key, nobody_secret = make_user(cluster, "nobody-admin", [
        {"bucket": "*", "actions": ["list", "read", "write", "delete"]}])
    fill = {"{user}": "reader", "{group}": "no-lists", "{key}": nobody_key,
            "{bucket}": "shared", "{node}": "0" * 32}
    for route in routes:
        path = route["path"]
        for k, v in fill.items():
            path = path.replace(k, v)
        body = b'{"Statement":[]}' if route["body"] else b""
        status, doc = admin_call(cluster, route["method"], path, body=body,
                                 sign=False)
        assert (status, doc["error"]["code"]) == (403, "AccessDenied"), route
        status, doc = admin_call(cluster, route["method"], path, body=body,
                                 secret="wrong-secret-0123456789")
        assert (status, doc["error"]["code"]) == \
            (403, "SignatureDoesNotMatch"), route
        if route["action"] is None:
            continue  # any signed-in caller (tokens: within its own rights)
        status, doc = admin_call(cluster, route["method"], path, body=body,
                                 key=nobody_key, secret=nobody_secret)
        assert (status, doc["error"]["code"]) == (403, "AccessDenied"), route
    # the reserved prefix answers JSON errors, never S3 or a crash
    assert admin_call(cluster, "GET", "nope")[0] == 404
    assert admin_call(cluster, "PATCH", "users")[0] == 405
    status, doc = admin_call(cluster, "PUT", "users/reader/policy",
                             body=b"x" * (21 * 1024))
    assert status == 413
    # the state is unchanged: reader still exists with its policy
    status, doc = admin_call(cluster, "GET", "users/reader/policy")
    assert status == 200 and doc["policy"][0]["bucket"] == "shared"


def s3_call(cluster, method, path, query, headers, key=None, secret=None,
            sign=True, body=b""):
    """One raw S3 request; returns (status, the first <Code> in the answer
    or None)."""
    import re
    url = cluster.endpoint + path + ("?" + query if query else "")
    status, text = raw_call(cluster, method, url, headers, key=key,
                            secret=secret, body=body, sign=sign)
    m = re.search(rb"<Code>([^<]*)</Code>", text or b"")
    return status, m.group(1).decode() if m else None


def test_s3_route_walk(cluster, root):
    """Every S3 operation of the one table (S3_OP_MAP, listed by the admin
    API), implemented or not, refuses no auth, a bad signature and a user
    without the permission, and changes nothing."""
    status, doc = admin_call(cluster, "GET", "routes")
    assert status == 200
    ops = doc["s3"]
    assert len(ops) >= 80 and sum(o["implemented"] for o in ops) >= 20
    root.create_bucket(Bucket="walk-bkt")
    root.put_object(Bucket="walk-bkt", Key="walk-key", Body=b"untouched")
    nobody_key, nobody_secret = make_user(cluster, "nobody-s3", [
        {"bucket": "unrelated", "actions": ["list", "read", "write",
                                            "delete"]}])
    paths = {"service": "/", "bucket": "/walk-bkt",
             "object": "/walk-bkt/walk-key"}
    for op in ops:
        sub = op["subresource"]
        query = "" if not sub else sub if "=" in sub else \
            sub + ("=0123456789abcdef0123456789abcdef" if sub == "uploadId"
                   else "")
        headers = {"x-amz-copy-source": "/walk-bkt/walk-key"} \
            if op["copy"] else {}
        args = (cluster, op["method"], paths[op["target"]], query, headers)
        want = (403, None if op["method"] == "HEAD" else "AccessDenied")
        body = b""
        if op["name"] == "DeleteObjects":
            # Judged key by key, as AWS does: 200, each key AccessDenied.
            body = b"<Delete><Object><Key>walk-key</Key></Object></Delete>"
            want = (200, "AccessDenied")
        assert s3_call(*args, sign=False, body=body) == want, ("anonymous", op)
        assert s3_call(*args, secret="wrong-secret-0123456789",
                       body=body) == \
            (403, None if op["method"] == "HEAD" else
             "SignatureDoesNotMatch"), ("bad signature", op)
        assert s3_call(*args, key=nobody_key, secret=nobody_secret,
                       body=body) == want, ("no permission", op)
    got = root.get_object(Bucket="walk-bkt", Key="walk-key")["Body"].read()
    assert got == b"untouched"
    assert [b["Name"] for b in root.list_buckets()["Buckets"]].count(
        "walk-bkt") == 1


def test_cli_profile_and_policy_attach(cluster, root, tmp_path):
    """The CLI takes credentials from a profile file like the AWS CLI's
    (flags and CAIRN_* variables win over it), refuses one others may read,
    and `policy attach` gives a user or a group a policy."""
    creds = tmp_path / "credentials"
    creds.write_text(f"""# cairn profiles
[default]
access_key = WRONGKEY000000000000
secret_key = wrong

[ops]
endpoint = {cluster.endpoint}
access_key = {cluster.access_key}
secret_key = {cluster.secret_key}
""")
    os.chmod(creds, 0o600)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CAIRN_")}
    env["CAIRN_CREDENTIALS_FILE"] = str(creds)

    def run(*args, extra=None):
        return subprocess.run([CLI, *args], env=dict(env, **(extra or {})),
                              capture_output=True, text=True, timeout=30)
    p = run("--profile", "ops", "admin", "user", "add", "profiled", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["user"]["name"] == "profiled"
    p = run("admin", "user", "ls", extra={"CAIRN_PROFILE": "ops"})
    assert p.returncode == 0 and "profiled" in p.stdout, p.stderr
    # The default profile's wrong key is used when nothing else is said.
    p = run("--endpoint", cluster.endpoint, "admin", "user", "ls")
    assert p.returncode == 1 and "InvalidAccessKeyId" in p.stderr
    # Environment variables win over the profile.
    p = run("--profile", "ops", "admin", "user", "ls",
            extra={"CAIRN_ACCESS_KEY": "WRONGKEY000000000000",
                   "CAIRN_SECRET_KEY": "x"})
    assert p.returncode == 1 and "InvalidAccessKeyId" in p.stderr
    p = run("--profile", "nope", "admin", "user", "ls")
    assert p.returncode == 2 and "no profile [nope]" in p.stderr
    os.chmod(creds, 0o644)
    p = run("--profile", "ops", "admin", "user", "ls")
    assert p.returncode == 2 and "chmod 600" in p.stderr
    os.chmod(creds, 0o600)
    # policy attach, to a user and to a group.
    doc = tmp_path / "p.json"
    doc.write_text('[{"bucket": "shared", "actions": ["read"]}]')
    p = run("--profile", "ops", "admin", "policy", "attach", str(doc),
            "--user", "profiled")
    assert p.returncode == 0, p.stderr
    p = run("--profile", "ops", "--json", "admin", "policy", "get", "profiled")
    assert json.loads(p.stdout)["policy"][0]["bucket"] == "shared"
    assert run("--profile", "ops", "admin", "group", "add", "attached")\
        .returncode == 0
    assert run("--profile", "ops", "admin", "policy", "attach", str(doc),
               "--group", "attached").returncode == 0
    p = run("--profile", "ops", "--json", "admin", "group", "policy", "get",
            "attached")
    assert json.loads(p.stdout)["policy"][0]["actions"] == ["read"]


def test_policy_changes_apply_to_the_next_request(cluster, root):
    """The coordinator keeps parsed policies and bucket ACLs between
    requests; every change must still decide the very next request: a
    user's policy replaced or removed, a group policy, group membership, a
    bucket policy put and deleted, a bucket ACL, a disabled user. Each step
    first warms the caches with an allowed request."""
    root.create_bucket(Bucket="flip")
    root.put_object(Bucket="flip", Key="k", Body=b"v")
    read = [{"bucket": "flip", "actions": ["list", "read"]}]
    s3 = client_as(cluster, *make_user(cluster, "flipper", read))

    def allowed():
        for _ in range(3):
            assert s3.get_object(Bucket="flip", Key="k")["Body"].read() == b"v"

    allowed()
    # The user's own policy: replaced by one that grants another bucket.
    cli(cluster, "policy", "set", "flipper", "-", stdin=json.dumps(
        [{"bucket": "shared", "actions": ["read"]}]))
    denied(s3.get_object, Bucket="flip", Key="k")
    cli(cluster, "policy", "set", "flipper", "-", stdin=json.dumps(read))
    allowed()
    # A group's policy: a Deny through membership, then through an edit.
    cli(cluster, "group", "add", "flip-group")
    cli(cluster, "group", "policy", "set", "flip-group", "-", stdin=json.dumps(
        {"Statement": {"Effect": "Allow", "Action": "s3:ListBucket",
                       "Resource": "*"}}))
    cli(cluster, "group", "join", "flip-group", "flipper")
    allowed()
    cli(cluster, "group", "policy", "set", "flip-group", "-", stdin=json.dumps(
        {"Statement": {"Effect": "Deny", "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::flip/*"}}))
    denied(s3.get_object, Bucket="flip", Key="k")
    cli(cluster, "group", "leave", "flip-group", "flipper")
    allowed()
    # A bucket policy that denies the user, then its deletion.
    arn = "arn:aws:iam::000000000000:user/flipper"
    root.put_bucket_policy(Bucket="flip", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": {"AWS": arn},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flip/*"}]}))
    denied(s3.get_object, Bucket="flip", Key="k")
    root.delete_bucket_policy(Bucket="flip")
    allowed()
    # A bucket policy that allows a user without any policy of its own,
    # then one that no longer names it.
    cli(cluster, "policy", "set", "flipper", "-", stdin=json.dumps(
        [{"bucket": "shared", "actions": ["read"]}]))
    denied(s3.get_object, Bucket="flip", Key="k")
    root.put_bucket_policy(Bucket="flip", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": arn},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flip/*"}]}))
    allowed()
    root.put_bucket_policy(Bucket="flip", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": arn},
            "Action": "s3:PutObject", "Resource": "arn:aws:s3:::flip/*"}]}))
    denied(s3.get_object, Bucket="flip", Key="k")
    root.delete_bucket_policy(Bucket="flip")
    # A bucket ACL grant to authenticated users, then its removal.
    root.put_bucket_acl(Bucket="flip", ACL="authenticated-read")
    s3.list_objects_v2(Bucket="flip")
    root.put_bucket_acl(Bucket="flip", ACL="private")
    denied(s3.list_objects_v2, Bucket="flip")
    # A disabled user is refused at once.
    cli(cluster, "policy", "set", "flipper", "-", stdin=json.dumps(read))
    allowed()
    cli(cluster, "user", "disable", "flipper")
    denied(s3.get_object, Bucket="flip", Key="k")
