"""S3 clients pointed at a test cluster: boto3 (whichever Python runs the
tests), and command lines for the AWS CLIs, s3cmd and rclone."""

import os
import shutil
import subprocess

import boto3
from botocore.config import Config

IMAGE_PYTHON = shutil.which("python3", path="/root/.pyenv/shims") or None
IMAGE_AWS = shutil.which("aws", path="/root/.pyenv/shims") or None
DEBIAN_AWS = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else None


def boto_client(cluster, **config):
    return boto3.client(
        "s3", endpoint_url=cluster.endpoint, region_name="us-east-1",
        aws_access_key_id=cluster.access_key,
        aws_secret_access_key=cluster.secret_key,
        config=Config(s3={"addressing_style": "path"},
                      retries={"max_attempts": 1}, **config))


def client_env(cluster, home):
    env = dict(os.environ)
    env.update({
        "AWS_ACCESS_KEY_ID": cluster.access_key,
        "AWS_SECRET_ACCESS_KEY": cluster.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.path.join(home, "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "aws-creds"),
        "HOME": home,
    })
    env.pop("AWS_CA_BUNDLE", None)  # rclone refuses plain HTTP with it set
    return env


def run(argv, env, timeout=300, check=True, stdin=None):
    p = subprocess.run(argv, env=env, capture_output=True, text=True,
                       timeout=timeout, stdin=stdin or subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError(f"{argv[0]} failed ({p.returncode}):\n"
                             f"{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


def s3cmd_config(cluster, home):
    host = cluster.endpoint.replace("http://", "")
    path = os.path.join(home, "s3cfg")
    with open(path, "w") as f:
        f.write(f"""[default]
access_key = {cluster.access_key}
secret_key = {cluster.secret_key}
host_base = {host}
host_bucket = {host}
use_https = False
signature_v2 = False
bucket_location = us-east-1
""")
    return path


def rclone_config(cluster, home):
    path = os.path.join(home, "rclone.conf")
    with open(path, "w") as f:
        f.write(f"""[cairn]
type = s3
provider = Other
access_key_id = {cluster.access_key}
secret_access_key = {cluster.secret_key}
endpoint = {cluster.endpoint}
region = us-east-1
force_path_style = true
""")
    return path
