#!/usr/bin/env bash
# The test command: installs and starts what the tests need on a fresh
# Debian 12 machine (sshd, MariaDB, Keystone, Glance, RabbitMQ, memcached),
# then runs the whole suite, clippy and rustfmt, a smoke run of the
# benchmark, and the end-to-end deploy on the two-node Docker lab.
# OPLAY_E2E=0 skips the lab (it needs Docker and about ten minutes).
#
# Each stage has a time limit well above what it takes (the whole run takes
# about 16 minutes): a stage that fails or overruns ends the run at once,
# after tests/services/report.sh has shown the machine and the services.
set -euo pipefail
cd "$(dirname "$0")/.."

# One build, no incremental state: it would only take disk and time here.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

started=$(date +%s)

# stage NAME MINUTES COMMAND... : runs COMMAND with a time limit
stage() {
    local name=$1 minutes=$2 rc=0
    shift 2
    echo "== $name ($(bash tests/services/report.sh --brief))"
    timeout --kill-after=30 "${minutes}m" "$@" || rc=$?
    if ((rc != 0)); then
        if ((rc == 124 || rc == 137)); then
            echo "== $name: still running after $minutes minutes, stopped"
        else
            echo "== $name: failed (exit code $rc)"
        fi
        bash tests/services/report.sh
        exit "$rc"
    fi
}

stage services 20 bash tests/services/setup.sh
stage build 30 cargo build --all-targets
stage tests 25 env OPLAY_E2E=0 cargo test --all-targets -- --test-threads="${OPLAY_TEST_THREADS:-4}"
stage clippy 20 cargo clippy --all-targets -- -D warnings
stage rustfmt 5 cargo fmt --all -- --check
stage "benchmark smoke run (H=2, oplay only)" 10 \
    bash bench/run.sh --quick --oplay "${CARGO_TARGET_DIR:-target}/debug/oplay"
if [[ ${OPLAY_E2E:-1} != 0 ]]; then
    stage "end to end on the lab (lab/lab.sh, playbooks/site.yml)" 30 \
        env OPLAY_E2E=1 cargo test --test e2e_lab -- --nocapture
fi

echo "== all tests passed in $(($(date +%s) - started))s ($(bash tests/services/report.sh --brief))"
