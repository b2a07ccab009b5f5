#!/usr/bin/env bash
# The test command: installs and starts what the tests need on a fresh
# Debian 12 machine (sshd, MariaDB, Keystone, Glance, RabbitMQ, memcached),
# then runs the whole suite, clippy and rustfmt.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
echo "== services"
bash tests/services/setup.sh

echo "== build"
cargo build --all-targets

echo "== tests"
cargo test --all-targets -- --test-threads="${OPLAY_TEST_THREADS:-4}"

echo "== clippy and rustfmt"
cargo clippy --all-targets -- -D warnings
cargo fmt --all -- --check

echo "== all tests passed in $(( $(date +%s) - started ))s"
