#!/usr/bin/env bash
# The test command: installs and starts what the tests need on a fresh
# Debian 12 machine (sshd, MariaDB, Keystone, Glance, RabbitMQ, memcached),
# then runs the whole suite, clippy and rustfmt, a smoke run of the
# benchmark, and the end-to-end deploy on the two-node Docker lab.
# OPLAY_E2E=0 skips the lab (it needs Docker and about ten minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
echo "== services"
bash tests/services/setup.sh

echo "== build"
cargo build --all-targets

echo "== tests"
OPLAY_E2E=0 cargo test --all-targets -- --test-threads="${OPLAY_TEST_THREADS:-4}"

echo "== clippy and rustfmt"
cargo clippy --all-targets -- -D warnings
cargo fmt --all -- --check

echo "== benchmark smoke run (H=2, oplay only)"
bash bench/run.sh --quick --oplay "${CARGO_TARGET_DIR:-target}/debug/oplay"

if [[ ${OPLAY_E2E:-1} != 0 ]]; then
    echo "== end to end on the lab (lab/lab.sh, playbooks/site.yml)"
    OPLAY_E2E=1 cargo test --test e2e_lab -- --nocapture
fi

echo "== all tests passed in $(( $(date +%s) - started ))s"
