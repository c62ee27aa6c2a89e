"""Issue 5 (third part): scoped tokens issued through the admin API and the
`cairn token` CLI, used with plain HTTP (?x-cairn-token= and Bearer)
against a real cluster: scope, permissions, expiry, the owner's own
policies, client ranges, tampering and revoke-all."""

import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from cluster import CLI
from s3client import boto_client
from test_iam import make_user

CLUSTER_OPTIONS = {"nodes": 2}


def token_cli(cluster, *args, key=None, secret=None, check=True):
    env = dict(os.environ, CAIRN_ENDPOINT=cluster.endpoint,
               CAIRN_ACCESS_KEY=key or cluster.access_key,
               CAIRN_SECRET_KEY=secret or cluster.secret_key)
    p = subprocess.run([CLI, "token", *args], env=env, capture_output=True,
                       text=True, timeout=30)
    if check and p.returncode != 0:
        raise AssertionError(f"cairn token {args}: {p.returncode}\n"
                             f"{p.stdout}\n{p.stderr}")
    return p


def fetch(cluster, path, token=None, bearer=None, method="GET", body=None):
    url = cluster.endpoint + path
    if token:
        url += ("&" if "?" in url else "?") + "x-cairn-token=" + token
    headers = {"Authorization": "Bearer " + bearer} if bearer else {}
    req = urllib.request.Request(url, data=body, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def refused(result, message):
    status, body = result
    assert status == 403, (status, body)
    assert b"<Code>AccessDenied</Code>" in body, body
    assert message.encode() in body, body


@pytest.fixture(scope="module")
def reader(cluster):
    s3 = boto_client(cluster)
    s3.create_bucket(Bucket="tok")
    s3.put_object(Bucket="tok", Key="shared/x", Body=b"shared x")
    s3.put_object(Bucket="tok", Key="other/x", Body=b"other x")
    return make_user(cluster, "tok-reader",
                     [{"bucket": "tok", "actions": ["list", "read"]}])


def issue(cluster, creds, *args):
    key, secret = creds
    p = token_cli(cluster, "issue", "--bucket", "tok", *args, key=key,
                  secret=secret)
    return p.stdout.strip()


def test_prefix_read_token(cluster, reader):
    tok = issue(cluster, reader, "--prefix", "shared/", "--perm", "read",
                "--expires", "1h")
    assert tok.startswith("cairn1.")
    assert fetch(cluster, "/tok/shared/x", token=tok) == (200, b"shared x")
    assert fetch(cluster, "/tok/shared/x", bearer=tok) == (200, b"shared x")
    refused(fetch(cluster, "/tok/other/x", token=tok),
            "outside the token&apos;s scope")
    refused(fetch(cluster, "/tok/shared/y", token=tok, method="PUT",
                  body=b"no"), "outside the token&apos;s scope")
    refused(fetch(cluster, "/tok?list-type=2&prefix=shared/", token=tok),
            "outside the token&apos;s scope")  # read only, no list
    refused(fetch(cluster, "/", token=tok), "outside the token&apos;s scope")
    # Not a key for the admin API.
    status, body = fetch(cluster, "/_cairn/admin/v1/users", bearer=tok)
    assert status == 403 and b"admin API" in body
    # Inspect shows the fields.
    doc = json.loads(token_cli(cluster, "inspect", tok, "--json").stdout)
    assert doc["valid"] and doc["owner"] == "tok-reader"
    assert doc["prefix"] == "shared/" and doc["permissions"] == "read"


def test_list_token_and_root_cannot_widen(cluster, reader):
    tok = issue(cluster, reader, "--prefix", "shared/", "--perm", "read,list",
                "--expires", "10m")
    status, body = fetch(cluster, "/tok?list-type=2&prefix=shared/",
                         token=tok)
    assert status == 200 and b"shared/x" in body and b"other/x" not in body
    # A scope the issuer does not hold is refused at issue.
    p = token_cli(cluster, "issue", "--bucket", "tok", "--perm", "write",
                  "--expires", "1h", key=reader[0], secret=reader[1],
                  check=False)
    assert p.returncode == 1 and "cannot grant more" in p.stderr


def test_expired_token(cluster, reader):
    tok = issue(cluster, reader, "--key", "shared/x", "--perm", "read",
                "--expires", "1s")
    time.sleep(1.2)
    refused(fetch(cluster, "/tok/shared/x", token=tok), "token expired")


def test_owner_policy_still_applies(cluster, reader):
    """A token never grants more than its owner holds now: withdraw the
    owner's rights and the token grants nothing."""
    creds = make_user(cluster, "tok-fickle",
                      [{"bucket": "tok", "actions": ["read"]}])
    tok = issue(cluster, creds, "--prefix", "shared/", "--perm", "read",
                "--expires", "1h")
    assert fetch(cluster, "/tok/shared/x", token=tok)[0] == 200
    env = dict(os.environ, CAIRN_ENDPOINT=cluster.endpoint,
               CAIRN_ACCESS_KEY=cluster.access_key,
               CAIRN_SECRET_KEY=cluster.secret_key)
    subprocess.run([CLI, "admin", "policy", "set", "tok-fickle", "-"],
                   env=env, check=True, capture_output=True, timeout=30,
                   input=json.dumps({"Version": "2012-10-17", "Statement": [
                       {"Effect": "Deny", "Action": "s3:*",
                        "Resource": "arn:aws:s3:::tok/*"}]}), text=True)
    status, body = fetch(cluster, "/tok/shared/x", token=tok)
    assert status == 403 and b"AccessDenied" in body


def test_cidr_and_tamper(cluster, reader):
    tok = issue(cluster, reader, "--prefix", "shared/", "--perm", "read",
                "--expires", "1h", "--cidr", "10.0.0.0/8")
    refused(fetch(cluster, "/tok/shared/x", token=tok), "client address")
    tok = issue(cluster, reader, "--prefix", "shared/", "--perm", "read",
                "--expires", "1h", "--cidr", "127.0.0.1/32", "--cidr",
                "::1/128")
    assert fetch(cluster, "/tok/shared/x", token=tok)[0] == 200
    # One character of the MAC changed.
    i = len(tok) - 6
    bad = tok[:i] + ("A" if tok[i] != "A" else "B") + tok[i + 1:]
    refused(fetch(cluster, "/tok/shared/x", token=bad),
            "token signature invalid")
    p = token_cli(cluster, "inspect", bad, "--json", check=False)
    assert p.returncode == 1
    assert json.loads(p.stdout)["state"] == "token signature invalid"
    refused(fetch(cluster, "/tok/shared/x", token="cairn1.garbage"),
            "token malformed")
    refused(fetch(cluster, "/tok/shared/x", token="x" * 5000),
            "token malformed")


def test_revoke_all(cluster, reader):
    tok = issue(cluster, reader, "--prefix", "shared/", "--perm", "read",
                "--expires", "1h")
    assert fetch(cluster, "/tok/shared/x", bearer=tok)[0] == 200
    p = token_cli(cluster, "revoke-all", key=reader[0], secret=reader[1],
                  check=False)
    assert p.returncode == 1 and "AccessDenied" in p.stderr
    assert "generation is now" in token_cli(cluster, "revoke-all").stdout
    refused(fetch(cluster, "/tok/shared/x", bearer=tok), "token revoked")
    # New tokens work again.
    tok = issue(cluster, reader, "--prefix", "shared/", "--perm", "read",
                "--expires", "1h")
    assert fetch(cluster, "/tok/shared/x", bearer=tok)[0] == 200
