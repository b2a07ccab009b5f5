#!/usr/bin/env bash
# bench/run.sh — benchmark oplay against ansible-core and pyinfra on one
# workload (bench/lib/workload.py) over SSH to H aliases of a private sshd,
# and write bench/RESULTS.md. See bench/README.md.
#
#   bench/run.sh [--hosts 1,10,50] [--reps 5] [--tools oplay,ansible,pyinfra]
#                [--oplay PATH] [--nice N] [--quick] [--netem]
#
# --nice N runs the tools and the sshd at that niceness (e.g. -10 on a
# machine shared with builds, so that they take less of the benchmark's CPU).
# --quick: H=2, one repetition, oplay only, no RESULTS.md; fails when
# oplay's results are wrong (the CI smoke test). Needs root (useradd, sshd).
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$BENCH")
LIB=$BENCH/lib
PY=/usr/bin/python3
STATE=${OPLAY_BENCH_CACHE:-$HOME/.cache/oplay-bench}
VENV=$STATE/venv
ROOT=/tmp/oplay-bench           # targets: $ROOT/<tool>/hNN
WORK=$ROOT/_work                # generated inventories, logs, measurements
BENCH_USER=oplaybench
ANSIBLE_CORE_SPEC='ansible-core>=2.19,<2.20'
PYINFRA_SPEC='pyinfra>=3,<4'
ANSIBLE_PKG_SPEC='ansible>=12,<13'   # only its community.general is used (ini_file)

ARGS="$*"
HOSTS=1,10,50 REPS=5 TOOLS=oplay,ansible,pyinfra QUICK=0 NETEM=0 OPLAY_BIN= NICE=0
die() { echo "bench/run.sh: error: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*"; }

while [ $# -gt 0 ]; do
  case $1 in
    --hosts) HOSTS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --tools) TOOLS=$2; shift 2 ;;
    --oplay) OPLAY_BIN=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --nice) NICE=$2; shift 2 ;;
    --netem) NETEM=1; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
if [ "$QUICK" = 1 ]; then HOSTS=2 REPS=1 TOOLS=oplay; fi
[ "$(id -u)" = 0 ] || die "run as root (it creates the bench user and starts an sshd)"
# A 5 ms netem delay on the loopback of a private network namespace would make
# round trips visible; this machine's kernel has no netem qdisc ("Specified
# qdisc kind is unknown"), so it is not implemented.
[ "$NETEM" = 0 ] || die "--netem is not implemented (this kernel has no netem qdisc)"
IFS=, read -r -a HOST_LIST <<<"$HOSTS"
IFS=, read -r -a TOOL_LIST <<<"$TOOLS"
for t in "${TOOL_LIST[@]}"; do
  case $t in oplay|ansible|pyinfra) ;; *) die "unknown tool $t" ;; esac
done
wants() { [[ ",$TOOLS," == *",$1,"* ]]; }

# ------------------------------------------------------------------ setup

oplay_binary() {
  [ -n "$OPLAY_BIN" ] && return 0
  local target=${CARGO_TARGET_DIR:-$REPO/target}
  if [ "$QUICK" = 1 ]; then
    # The smoke test takes whatever build is there (CI has built debug).
    for OPLAY_BIN in "$target/release/oplay" "$target/debug/oplay"; do
      [ -x "$OPLAY_BIN" ] && return 0
    done
    (cd "$REPO" && cargo build --quiet) && OPLAY_BIN=$target/debug/oplay
  else
    log "building oplay (release)"
    (cd "$REPO" && cargo build --release --quiet) && OPLAY_BIN=$target/release/oplay
  fi
}

setup_venv() {
  if [ ! -x "$VENV/bin/ansible-playbook" ] || [ ! -x "$VENV/bin/pyinfra" ]; then
    log "installing ansible-core and pyinfra into $VENV"
    $PY -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "$ANSIBLE_CORE_SPEC" "$PYINFRA_SPEC"
  fi
  if [ ! -d "$STATE/collections/ansible_collections/community/general" ]; then
    # The ansible package is 54 MB; community.general is extracted from its wheel.
    log "extracting community.general from PyPI's ansible package"
    rm -rf "$STATE/dl"
    "$VENV/bin/pip" download --quiet --no-deps -d "$STATE/dl" "$ANSIBLE_PKG_SPEC"
    $PY - "$STATE" <<'EOF'
import glob, sys, zipfile
state = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(f"{state}/dl/ansible-*.whl")[0])
prefix = "ansible_collections/community/general/"
for member in wheel.infolist():
    if member.filename.startswith(prefix):
        wheel.extract(member, f"{state}/collections")
EOF
    rm -rf "$STATE/dl"
  fi
}

. "$LIB/sshd.sh"
. "$LIB/profile.sh"
cleanup() { stop_sshd; }
trap cleanup EXIT

mkdir -p "$STATE"
wants oplay && oplay_binary
if wants ansible || wants pyinfra; then setup_venv; fi
NICE_CMD=()
[ "$NICE" = 0 ] || NICE_CMD=(nice -n "$NICE")
start_sshd
log "sshd on 127.0.0.1:$SSH_PORT (pid $SSHD_PID), bench user $BENCH_USER"
rm -rf "$WORK"
mkdir -p "$WORK"
RESULTS=$WORK/results.jsonl
: >"$RESULTS"

# ------------------------------------------------------------------ one run

# gen TOOL H -> generated files in $WORK/TOOL-hH
gen() {
  local dir=$WORK/$1-h$2
  $PY "$LIB/workload.py" gen "$1" "$dir" --hosts "$2" --port "$SSH_PORT" --root "$ROOT" \
    --user "$BENCH_USER" --key "$CLIENT_KEY" --known-hosts "$KNOWN_HOSTS"
  if [ "$1" = ansible ]; then
    cat >"$dir/ansible.cfg" <<EOF
[defaults]
host_key_checking = True
retry_files_enabled = False
collections_path = $STATE/collections
local_tmp = $dir/tmp
[ssh_connection]
pipelining = True
retries = 3
EOF
  fi
}

# command_for TOOL H -> the command line, in the array CMD
command_for() {
  local dir=$WORK/$1-h$2
  case $1 in
    oplay) CMD=("$OPLAY_BIN" run -i "$dir/inventory.ini" -f "$2" "$dir/playbook.yml") ;;
    ansible) CMD=(env "ANSIBLE_CONFIG=$dir/ansible.cfg" ANSIBLE_NOCOLOR=1
                  "$VENV/bin/ansible-playbook" -i "$dir/inventory.ini" -f "$2" "$dir/playbook.yml") ;;
    pyinfra) CMD=(env -C "$dir" "$VENV/bin/pyinfra" -y --parallel "$2" inventory.py deploy.py) ;;
  esac
}

FAILURES=0
# run_pair TOOL H REP: fresh directories, run 1 (all change), run 2 (no change)
run_pair() {
  local tool=$1 h=$2 rep=$3 phase
  $PY "$LIB/workload.py" seed "$ROOT/$tool" --hosts "$h" --user "$BENCH_USER"
  command_for "$tool" "$h"
  for phase in 1 2; do
    local tag=$tool-h$h-r$rep-p$phase
    $PY "$LIB/measure.py" --json "$WORK/$tag.json" --log "$WORK/$tag.log" --sshd-pid "$SSHD_PID" \
      ${SSHD_CGROUP:+--sshd-cgroup "$SSHD_CGROUP"} -- "${NICE_CMD[@]}" "${CMD[@]}"
    local verdict
    if verdict=$($PY "$LIB/outcome.py" --tool "$tool" --hosts "$h" --phase "$phase" \
                   --log "$WORK/$tag.log" --measure "$WORK/$tag.json" --tooldir "$ROOT/$tool" \
                   --rep "$rep" >>"$RESULTS"); then
      log "$tag: $(tail -n 1 "$RESULTS" | $PY "$LIB/report.py" --one-line)"
    else
      FAILURES=$((FAILURES + 1))
      log "$tag: FAILED (log: $WORK/$tag.log)"
      tail -n 1 "$RESULTS" | $PY "$LIB/report.py" --one-line >&2 || true
    fi
  done
}

# ------------------------------------------------------------------ the matrix

for h in "${HOST_LIST[@]}"; do
  for t in "${TOOL_LIST[@]}"; do gen "$t" "$h"; done
  for ((rep = 1; rep <= REPS; rep++)); do
    for t in "${TOOL_LIST[@]}"; do run_pair "$t" "$h" "$rep"; done
  done
done

if [ "$QUICK" = 1 ]; then
  [ "$FAILURES" = 0 ] || die "$FAILURES run(s) of oplay gave wrong results (logs in $WORK)"
  log "quick: oplay's results are right"
  exit 0
fi

if wants oplay; then
  log "profiling oplay at H=10"
  profile_oplay 10 "$WORK/profile.md"
fi

versions() {
  wants oplay && echo "oplay: $("$OPLAY_BIN" --version) ($(git -C "$REPO" rev-parse --short HEAD))"
  wants ansible && echo "ansible: $("$VENV/bin/ansible-playbook" --version | sed -n 1p), community.general $($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['collection_info']['version'])" "$STATE/collections/ansible_collections/community/general/MANIFEST.json")"
  wants pyinfra && echo "pyinfra: $("$VENV/bin/pyinfra" --version)"
  echo "python: $("$VENV/bin/python" --version 2>/dev/null || $PY --version)"
  echo "openssh: $(ssh -V 2>&1)"
}
versions >"$WORK/versions.txt"
$PY "$LIB/report.py" --results "$RESULTS" --versions "$WORK/versions.txt" \
  --args "$ARGS" --profile "$WORK/profile.md" --hosts "$HOSTS" --reps "$REPS" --tools "$TOOLS" >"$BENCH/RESULTS.md"
cp "$RESULTS" "$BENCH/results.jsonl"
log "wrote $BENCH/RESULTS.md"
[ "$FAILURES" = 0 ] || die "$FAILURES run(s) failed their checks (logs in $WORK)"
