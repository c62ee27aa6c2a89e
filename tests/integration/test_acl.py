"""Issue 5 (second part): bucket policies, ACLs, object ownership and
anonymous access, on a real cluster with boto3 (signed and unsigned), plain
urllib and the `cairn` CLI."""

import hashlib
import json
import os
import subprocess
import urllib.error
import urllib.request

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cluster import CLI
from s3client import boto_client
from test_iam import client_as, make_user

CLUSTER_OPTIONS = {"nodes": 2}
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def canonical_id(arn):
    return hashlib.sha256(arn.encode()).hexdigest()


def user_id(name):
    return canonical_id(f"arn:aws:iam::000000000000:user/{name}")


@pytest.fixture(scope="module")
def root(cluster):
    return boto_client(cluster)


@pytest.fixture(scope="module")
def anon(cluster):
    return boto3.client(
        "s3", endpoint_url=cluster.endpoint, region_name="us-east-1",
        config=Config(signature_version=botocore.UNSIGNED,
                      s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}))


def error(fn, *args, **kwargs):
    with pytest.raises(ClientError) as e:
        fn(*args, **kwargs)
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def http_get(cluster, path):
    """Anonymous GET with urllib: (status, body)."""
    try:
        with urllib.request.urlopen(cluster.endpoint + path, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def public_read_policy(bucket):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def test_bucket_policy_makes_bucket_public(cluster, root, anon):
    root.create_bucket(Bucket="pol-pub")
    root.create_bucket(Bucket="pol-other")
    root.put_object(Bucket="pol-pub", Key="a.txt", Body=b"hello")
    root.put_object(Bucket="pol-other", Key="b.txt", Body=b"private")
    assert error(anon.get_object, Bucket="pol-pub", Key="a.txt") == (
        "AccessDenied", 403)
    assert error(root.get_bucket_policy, Bucket="pol-pub") == (
        "NoSuchBucketPolicy", 404)

    policy = public_read_policy("pol-pub")
    root.put_bucket_policy(Bucket="pol-pub", Policy=policy)
    assert json.loads(root.get_bucket_policy(Bucket="pol-pub")["Policy"]) \
        == json.loads(policy)
    assert root.get_bucket_policy_status(Bucket="pol-pub")[
        "PolicyStatus"]["IsPublic"] is True

    assert anon.get_object(Bucket="pol-pub", Key="a.txt")["Body"].read() \
        == b"hello"
    assert http_get(cluster, "/pol-pub/a.txt") == (200, b"hello")
    # Only reading was made public.
    assert error(anon.put_object, Bucket="pol-pub", Key="x", Body=b"x") == (
        "AccessDenied", 403)
    assert error(anon.delete_object, Bucket="pol-pub", Key="a.txt") == (
        "AccessDenied", 403)
    assert error(anon.list_objects_v2, Bucket="pol-pub")[1] == 403
    assert error(anon.list_objects_v2, Bucket="pol-other") == (
        "AccessDenied", 403)
    assert error(anon.get_object, Bucket="pol-other", Key="b.txt") == (
        "AccessDenied", 403)
    assert error(anon.list_buckets)[1] == 403
    # A missing bucket is NoSuchBucket to an anonymous caller, as in AWS.
    assert error(anon.get_object, Bucket="pol-none", Key="a")[1] == 404
    # Without s3:ListBucket a missing key is AccessDenied, as in AWS ...
    status, body = http_get(cluster, "/pol-pub/missing")
    assert status == 403 and b"AccessDenied" in body

    root.delete_bucket_policy(Bucket="pol-pub")
    assert error(root.get_bucket_policy, Bucket="pol-pub")[0] == \
        "NoSuchBucketPolicy"
    assert error(anon.get_object, Bucket="pol-pub", Key="a.txt")[1] == 403


def test_conditional_policy_is_not_public(root):
    root.create_bucket(Bucket="pol-cond")
    root.put_bucket_policy(Bucket="pol-cond", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::pol-cond/*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}))
    assert root.get_bucket_policy_status(Bucket="pol-cond")[
        "PolicyStatus"]["IsPublic"] is False


def test_malformed_policy(root):
    root.create_bucket(Bucket="pol-bad")
    for bad in ["{not json", json.dumps({"Statement": [{
            "Effect": "Allow", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::pol-bad/*"}]}),  # no Principal
            json.dumps({"Statement": [{"Effect": "Maybe", "Principal": "*",
                                       "Action": "s3:*", "Resource": "*"}]}),
            json.dumps({"Statement": [{  # another bucket's objects
                "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::pol-other/*"}]})]:
        with pytest.raises(ClientError) as e:
            root.put_bucket_policy(Bucket="pol-bad", Policy=bad)
        r = e.value.response
        assert r["Error"]["Code"] == "MalformedPolicy"
        assert r["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert r["Error"]["Message"]  # says why
    assert error(root.put_bucket_policy, Bucket="pol-bad",
                 Policy="{" + " " * (21 * 1024) + "}")[0] == "MalformedPolicy"


def test_canned_public_read_acl(cluster, root, anon):
    root.create_bucket(Bucket="acl-pub", ACL="public-read")
    root.put_object(Bucket="acl-pub", Key="open.txt", Body=b"open",
                    ACL="public-read")
    root.put_object(Bucket="acl-pub", Key="closed.txt", Body=b"closed")
    # Bucket READ: anyone may list; object READ: anyone may get that one.
    keys = [o["Key"] for o in anon.list_objects_v2(Bucket="acl-pub")[
        "Contents"]]
    assert keys == ["closed.txt", "open.txt"]
    assert anon.get_object(Bucket="acl-pub", Key="open.txt")["Body"].read() \
        == b"open"
    assert http_get(cluster, "/acl-pub/open.txt") == (200, b"open")
    assert error(anon.get_object, Bucket="acl-pub", Key="closed.txt")[1] == 403
    # No object, no object ACL to grant READ: refused.
    assert error(anon.get_object, Bucket="acl-pub", Key="nope") == (
        "AccessDenied", 403)
    assert error(anon.put_object, Bucket="acl-pub", Key="n", Body=b"n")[1] \
        == 403
    assert error(anon.delete_object, Bucket="acl-pub", Key="open.txt")[1] \
        == 403
    assert error(anon.get_bucket_acl, Bucket="acl-pub")[1] == 403
    acl = root.get_bucket_acl(Bucket="acl-pub")
    root_id = canonical_id("arn:aws:iam::000000000000:root")
    assert acl["Owner"]["ID"] == root_id
    assert root.list_buckets()["Owner"]["ID"] == root_id
    assert root.list_objects_v2(Bucket="acl-pub", FetchOwner=True)[
        "Contents"][0]["Owner"] == {"ID": root_id, "DisplayName": "root"}
    grants = {(g["Grantee"]["Type"], g["Grantee"].get("URI") or
               g["Grantee"].get("ID"), g["Permission"]) for g in acl["Grants"]}
    assert grants == {("CanonicalUser", root_id, "FULL_CONTROL"),
                      ("Group", ALL_USERS, "READ")}
    # A copy gets its own ACL (private here), never the source's.
    root.copy_object(Bucket="acl-pub", Key="copy.txt",
                     CopySource="acl-pub/open.txt")
    assert error(anon.get_object, Bucket="acl-pub", Key="copy.txt")[1] == 403
    # A multipart upload's object gets the ACL asked for at its creation.
    up = root.create_multipart_upload(Bucket="acl-pub", Key="mp.txt",
                                      ACL="public-read")
    etag = root.upload_part(Bucket="acl-pub", Key="mp.txt", PartNumber=1,
                            UploadId=up["UploadId"], Body=b"mp")["ETag"]
    root.complete_multipart_upload(
        Bucket="acl-pub", Key="mp.txt", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert anon.get_object(Bucket="acl-pub", Key="mp.txt")["Body"].read() \
        == b"mp"


def test_public_read_write_bucket_takes_anonymous_writes(cluster, root, anon):
    root.create_bucket(Bucket="acl-rw", ACL="public-read-write")
    anon.put_object(Bucket="acl-rw", Key="drop", Body=b"anonymous bytes")
    req = urllib.request.Request(cluster.endpoint + "/acl-rw/plain",
                                 data=b"via urllib", method="PUT")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    # An anonymous writer owns nothing: the bucket owner owns its objects.
    assert root.get_object_acl(Bucket="acl-rw", Key="plain")["Owner"][
        "DisplayName"] == "root"
    assert root.get_object(Bucket="acl-rw", Key="plain")["Body"].read() == \
        b"via urllib"
    assert root.get_object(Bucket="acl-rw", Key="drop")["Body"].read() == \
        b"anonymous bytes"
    anon.delete_object(Bucket="acl-rw", Key="drop")
    assert [o["Key"] for o in root.list_objects_v2(Bucket="acl-rw")[
        "Contents"]] == ["plain"]


def test_acl_round_trips_and_user_grants(cluster, root):
    root.create_bucket(Bucket="acl-rt")
    root.put_object(Bucket="acl-rt", Key="k", Body=b"data")
    bob = client_as(cluster, *make_user(cluster, "aclbob"))  # no policy
    assert error(bob.get_object, Bucket="acl-rt", Key="k")[1] == 403
    owner = root.get_object_acl(Bucket="acl-rt", Key="k")["Owner"]
    root.put_object_acl(Bucket="acl-rt", Key="k", AccessControlPolicy={
        "Owner": owner,
        "Grants": [
            {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]},
             "Permission": "FULL_CONTROL"},
            {"Grantee": {"Type": "CanonicalUser", "ID": user_id("aclbob")},
             "Permission": "READ"}]})
    got = root.get_object_acl(Bucket="acl-rt", Key="k")
    assert got["Owner"]["ID"] == owner["ID"]
    assert {(g["Grantee"].get("ID"), g["Permission"])
            for g in got["Grants"]} == {(owner["ID"], "FULL_CONTROL"),
                                        (user_id("aclbob"), "READ")}
    assert bob.get_object(Bucket="acl-rt", Key="k")["Body"].read() == b"data"
    assert error(bob.get_object_acl, Bucket="acl-rt", Key="k")[1] == 403
    # Grants by header replace the ACL.
    root.put_object_acl(Bucket="acl-rt", Key="k",
                        GrantRead=f'uri="{ALL_USERS}"',
                        GrantReadACP=f'id="{user_id("aclbob")}"')
    got = root.get_object_acl(Bucket="acl-rt", Key="k")["Grants"]
    assert {(g["Grantee"].get("URI") or g["Grantee"].get("ID"),
             g["Permission"]) for g in got} == {
        (ALL_USERS, "READ"), (user_id("aclbob"), "READ_ACP")}
    assert bob.get_object_acl(Bucket="acl-rt", Key="k")["Owner"]["ID"] == \
        owner["ID"]
    # Bucket WRITE by header lets bob write and delete objects.
    root.put_bucket_acl(Bucket="acl-rt",
                        GrantWrite=f'id="{user_id("aclbob")}"',
                        GrantFullControl=f'id="{owner["ID"]}"')
    bob.put_object(Bucket="acl-rt", Key="bobs", Body=b"b")
    # ObjectWriter: the writer owns its object.
    assert root.get_object_acl(Bucket="acl-rt", Key="bobs")["Owner"]["ID"] \
        == user_id("aclbob")
    # Hostile and wrong inputs are S3 errors.
    assert error(root.put_object_acl, Bucket="acl-rt", Key="k",
                 ACL="world-writable") == ("InvalidArgument", 400)
    assert error(root.put_object_acl, Bucket="acl-rt", Key="k",
                 ACL="private", GrantRead=f'uri="{ALL_USERS}"') == (
        "InvalidRequest", 400)
    assert error(root.put_object_acl, Bucket="acl-rt", Key="k",
                 GrantRead='id="nothex"')[0] == "InvalidArgument"
    assert error(root.put_object_acl, Bucket="acl-rt", Key="k",
                 GrantRead='emailAddress="a@b.c"')[0] == \
        "UnresolvableGrantByEmailAddress"
    assert error(root.get_object_acl, Bucket="acl-rt", Key="nope")[0] == \
        "NoSuchKey"


def test_explicit_deny_beats_acl_and_user_policy(cluster, root, anon):
    root.create_bucket(Bucket="deny-b", ACL="public-read")
    for key in ["open/a", "secret/b"]:
        root.put_object(Bucket="deny-b", Key=key, Body=b"x",
                        ACL="public-read")
    carol = client_as(cluster, *make_user(
        cluster, "aclcarol",
        [{"bucket": "deny-b", "actions": ["list", "read"]}]))
    assert carol.get_object(Bucket="deny-b", Key="secret/b")["Body"].read() \
        == b"x"
    root.put_bucket_policy(Bucket="deny-b", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::deny-b/secret/*"}]}))
    assert error(anon.get_object, Bucket="deny-b", Key="secret/b")[1] == 403
    assert error(carol.get_object, Bucket="deny-b", Key="secret/b")[1] == 403
    assert anon.get_object(Bucket="deny-b", Key="open/a")["Body"].read() \
        == b"x"
    assert carol.get_object(Bucket="deny-b", Key="open/a")["Body"].read() \
        == b"x"
    # Root is the account: it is never locked out.
    assert root.get_object(Bucket="deny-b", Key="secret/b")["Body"].read() \
        == b"x"


def test_bucket_owner_enforced_disables_acls(root, anon):
    root.create_bucket(Bucket="own-b")
    assert error(root.get_bucket_ownership_controls, Bucket="own-b")[0] == \
        "OwnershipControlsNotFoundError"
    root.put_object(Bucket="own-b", Key="was-public", Body=b"p",
                    ACL="public-read")
    assert anon.get_object(Bucket="own-b", Key="was-public")["Body"].read() \
        == b"p"
    root.put_bucket_ownership_controls(Bucket="own-b", OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    assert root.get_bucket_ownership_controls(Bucket="own-b")[
        "OwnershipControls"]["Rules"] == [
            {"ObjectOwnership": "BucketOwnerEnforced"}]
    assert error(root.put_bucket_acl, Bucket="own-b", ACL="public-read") == (
        "AccessControlListNotSupported", 400)
    assert error(root.put_object, Bucket="own-b", Key="n", Body=b"n",
                 ACL="public-read") == ("AccessControlListNotSupported", 400)
    assert error(root.put_object_acl, Bucket="own-b", Key="was-public",
                 ACL="public-read")[0] == "AccessControlListNotSupported"
    # The old grant grants nothing any more.
    assert error(anon.get_object, Bucket="own-b", Key="was-public")[1] == 403
    root.put_bucket_acl(Bucket="own-b", ACL="private")
    root.put_object(Bucket="own-b", Key="ok", Body=b"ok",
                    ACL="bucket-owner-full-control")
    root.delete_bucket_ownership_controls(Bucket="own-b")
    assert anon.get_object(Bucket="own-b", Key="was-public")["Body"].read() \
        == b"p"
    with pytest.raises(ClientError) as e:
        root.create_bucket(Bucket="own-c", ObjectOwnership="Nonsense")
    assert e.value.response["Error"]["Code"] == "InvalidArgument"


def test_delete_objects_per_key(cluster, root):
    root.create_bucket(Bucket="del-b")
    for key in ["tmp/a", "tmp/b", "keep/c"]:
        root.put_object(Bucket="del-b", Key=key, Body=b"x")
    dave = client_as(cluster, *make_user(cluster, "acldave", {
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:DeleteObject",
            "Resource": "arn:aws:s3:::del-b/tmp/*"}]}))
    out = dave.delete_objects(Bucket="del-b", Delete={"Objects": [
        {"Key": "tmp/a"}, {"Key": "keep/c"}, {"Key": "tmp/b"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["tmp/a", "tmp/b"]
    assert [(e["Key"], e["Code"]) for e in out["Errors"]] == [
        ("keep/c", "AccessDenied")]
    left = [o["Key"] for o in root.list_objects_v2(Bucket="del-b")["Contents"]]
    assert left == ["keep/c"]


def test_bad_signature_still_refused(cluster, root):
    """A public bucket does not turn a wrong signature into anonymous."""
    root.create_bucket(Bucket="sig-b", ACL="public-read")
    root.put_object(Bucket="sig-b", Key="k", Body=b"x", ACL="public-read")
    bad = client_as(cluster, cluster.access_key, "wrong" * 8)
    assert error(bad.get_object, Bucket="sig-b", Key="k") == (
        "SignatureDoesNotMatch", 403)
    assert error(bad.list_objects_v2, Bucket="sig-b")[1] == 403


def cairn_bucket(cluster, *args, stdin=None):
    env = dict(os.environ, CAIRN_ENDPOINT=cluster.endpoint,
               CAIRN_ACCESS_KEY=cluster.access_key,
               CAIRN_SECRET_KEY=cluster.secret_key)
    return subprocess.run([CLI, "bucket", "policy", *args], env=env,
                          input=stdin, capture_output=True, text=True,
                          timeout=30)


def test_cli_bucket_policy(cluster, root, tmp_path):
    root.create_bucket(Bucket="cli-b")
    root.put_object(Bucket="cli-b", Key="f", Body=b"cli")
    assert http_get(cluster, "/cli-b/f")[0] == 403
    p = cairn_bucket(cluster, "set", "cli-b", "--preset", "public-read")
    assert p.returncode == 0, p.stderr
    assert http_get(cluster, "/cli-b/f") == (200, b"cli")
    assert http_get(cluster, "/cli-b")[0] == 200  # the preset lists too
    # ... so a missing key is NoSuchKey to anyone (with s3:ListBucket).
    assert http_get(cluster, "/cli-b/missing")[0] == 404
    p = cairn_bucket(cluster, "get", "cli-b", "--json")
    assert json.loads(p.stdout)["policy"]["Statement"][1]["Principal"] == "*"
    p = cairn_bucket(cluster, "set", "cli-b", "--preset", "private")
    assert p.returncode == 0, p.stderr
    assert http_get(cluster, "/cli-b/f")[0] == 403
    doc = tmp_path / "policy.json"
    doc.write_text(public_read_policy("cli-b"))
    assert cairn_bucket(cluster, "set", "cli-b", str(doc)).returncode == 0
    assert http_get(cluster, "/cli-b/f") == (200, b"cli")
    p = cairn_bucket(cluster, "set", "cli-b", "-", stdin='{"Statement": 1}')
    assert p.returncode == 1 and "MalformedPolicy" in p.stderr
    p = cairn_bucket(cluster, "set", "cli-b", "-",
                     stdin=public_read_policy("pol-other"))
    assert p.returncode == 1 and "invalid resource" in p.stderr
    assert cairn_bucket(cluster, "rm", "cli-b").returncode == 0
    assert "(no policy)" in cairn_bucket(cluster, "get", "cli-b").stdout
    assert cairn_bucket(cluster, "get", "no-such-bkt").returncode == 1
