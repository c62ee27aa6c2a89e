#!/usr/bin/env bash
# Installs what Cairn needs to build, run and test, from Debian 12's packages.
# Idempotent: silent and fast when everything is present. Run as root (or
# with sudo available).
set -euo pipefail

# Build and runtime libraries (see README "Dependencies" for why each).
BUILD_PKGS=(
  build-essential cmake pkg-config
  libuv1-dev node-llhttp libssl-dev
  libprotobuf-c-dev protobuf-c-compiler
  librocksdb-dev libzmq3-dev libcmocka-dev libisal-dev
  libexpat1-dev libjansson-dev libcurl4-openssl-dev
)
# Test tools: the real S3 clients and Python test runner.
TEST_PKGS=(python3 python3-boto3 python3-pytest awscli s3cmd rclone curl)
# `make bench`: nginx is the machine's ceiling for serving the same bytes
# over loopback; python3 computes the medians and prints the table.
BENCH_PKGS=(nginx-light python3)

want=("${BUILD_PKGS[@]}")
case "${1:-}" in
  --test) want+=("${TEST_PKGS[@]}") ;;
  --bench) want+=("${BENCH_PKGS[@]}") ;;
  '') ;;
  *) echo "usage: install-deps.sh [--test|--bench]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root or install them with apt-get" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/cairn-apt.log 2>&1; then
  # The package lists may be stale or absent on a fresh machine.
  $SUDO apt-get update -qq >/tmp/cairn-apt.log 2>&1 || true
  if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/cairn-apt.log 2>&1; then
    echo "install-deps: could not install: ${missing[*]}" >&2
    tail -n 20 /tmp/cairn-apt.log >&2
    exit 1
  fi
fi
