#!/usr/bin/env bash
# bench/script_module.sh — what a Rhai script module costs next to native
# modules: H aliases of the benchmark's sshd (default 50) run
#   A. five `command` tasks, and
#   B. one task of a script module that calls host.exec five times,
# each REPS times (default 5), interleaved A B A B ..., and the medians of
# wall time are printed. Needs root (the bench user and sshd of
# bench/lib/sshd.sh); do not run it while bench/run.sh runs (they share the
# bench user's authorized_keys).
#
#   bench/script_module.sh [--hosts 50] [--reps 5] [--oplay PATH]
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$BENCH")
LIB=$BENCH/lib
STATE=${OPLAY_BENCH_CACHE:-$HOME/.cache/oplay-bench}/script-module
BENCH_USER=oplaybench
H=50 REPS=5 OPLAY_BIN=
while [ $# -gt 0 ]; do
  case $1 in
    --hosts) H=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --oplay) OPLAY_BIN=$2; shift 2 ;;
    *) echo "usage: $0 [--hosts N] [--reps N] [--oplay PATH]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
if [ -z "$OPLAY_BIN" ]; then
  (cd "$REPO" && cargo build --release --quiet)
  OPLAY_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/oplay
fi

NICE_CMD=()
. "$LIB/sshd.sh"
trap stop_sshd EXIT
mkdir -p "$STATE"
start_sshd

WORK=$(mktemp -d /tmp/oplay-script-bench.XXXXXX)
{
  echo "[all]"
  for i in $(seq -w 1 "$H"); do
    echo "h$i ansible_host=127.0.0.1 ansible_port=$SSH_PORT"
  done
  echo "[all:vars]"
  echo "ansible_user=$BENCH_USER"
  echo "ansible_ssh_private_key_file=$CLIENT_KEY"
  echo "ansible_ssh_known_hosts_file=$KNOWN_HOSTS"
} >"$WORK/hosts.ini"

mkdir -p "$WORK/modules"
cat >"$WORK/modules/exec5.rhai" <<'EOF'
// Five commands on the host, as five `command` tasks would run them.
const MODULE = #{ doc: "Runs five commands.", params: #{} };

fn run(params) {
    for i in 1..=5 {
        let r = host.exec("echo " + i);
        if r.rc != 0 { fail("echo " + i + " failed"); }
    }
    #{ changed: true }
}
EOF
cat >"$WORK/native.yml" <<'EOF'
- hosts: all
  gather_facts: false
  tasks:
    - command: echo 1
    - command: echo 2
    - command: echo 3
    - command: echo 4
    - command: echo 5
EOF
cat >"$WORK/script.yml" <<'EOF'
- hosts: all
  gather_facts: false
  tasks:
    - exec5:
EOF

run() {  # run PLAYBOOK -> seconds on stdout
  local t0 t1
  t0=$(date +%s.%N)
  "$OPLAY_BIN" run -i "$WORK/hosts.ini" -f "$H" "$WORK/$1" >"$WORK/$1.log" 2>&1 ||
    { echo "oplay failed on $1; see $WORK/$1.log" >&2; exit 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}

native=() script=()
for ((r = 1; r <= REPS; r++)); do
  native+=("$(run native.yml)")
  script+=("$(run script.yml)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "H=$H, $REPS repetitions, oplay $("$OPLAY_BIN" --version)"
echo "five command tasks:           median $(median "${native[@]}") s  (${native[*]})"
echo "one script task, 5 host.exec: median $(median "${script[@]}") s  (${script[*]})"
rm -rf "$WORK"
