# bench/lib/profile.sh — sourced by bench/run.sh: where oplay's time goes.
#
# profile_oplay H OUT: runs oplay's workload at H hosts under `perf stat`
# (run 1 and run 2, software counters: this VM has no hardware counters) and
# under `perf record -e cpu-clock -g` (run 1), and writes a Markdown section
# to OUT. Needs perf; writes a one-line note instead when it is missing.

profile_oplay() {
  local h=$1 out=$2 dir=$WORK/oplay-h$1 phase
  if ! perf stat -e task-clock true >/dev/null 2>&1; then
    printf '## Where oplay'"'"'s time goes\n\n`perf` does not work here; no profile.\n' >"$out"
    return 0
  fi
  [ -f "$dir/playbook.yml" ] || gen oplay "$h"
  command_for oplay "$h"
  {
    echo "## Where oplay's time goes (H = $h, \`perf\`)"
    echo
    echo "Software counters only (this VM exposes no hardware counters, so no"
    echo "instructions or cycles). The oplay process is the whole control side; the"
    echo "sshd side is the *target CPU* column above."
    $PY "$LIB/workload.py" seed "$ROOT/oplay" --hosts "$h" --user "$BENCH_USER"
    for phase in 1 2; do
      echo
      echo "\`perf stat\`, run $phase:"
      echo
      echo '```'
      perf stat -e task-clock,context-switches,cpu-migrations,page-faults -- "${NICE_CMD[@]}" "${CMD[@]}" \
        2>&1 >/dev/null | sed -n '/Performance counter stats/,$p' | sed '/^$/d'
      echo '```'
    done
    $PY "$LIB/workload.py" seed "$ROOT/oplay" --hosts "$h" --user "$BENCH_USER"
    perf record -q -e cpu-clock -F 999 --call-graph dwarf,16384 -o "$WORK/perf.data" \
      -- "${NICE_CMD[@]}" "${CMD[@]}" >/dev/null 2>&1
    local report=(perf report -i "$WORK/perf.data" --no-inline --stdio -g none)
    echo
    echo "\`perf record -e cpu-clock -F 999 --call-graph dwarf\`, run 1. CPU samples by"
    echo "shared object; the hottest symbols by self time (over 1 %); then oplay's and"
    echo "its libraries' functions by inclusive time (self + callees, over 3 %):"
    echo
    echo '```'
    "${report[@]}" --no-children --sort dso 2>/dev/null | grep -v '^#' | sed '/^$/d' | head -8
    echo
    "${report[@]}" --no-children --sort symbol --percent-limit 1 2>/dev/null \
      | grep -v '^#' | sed '/^$/d' | cut -c1-110 | head -25
    echo
    "${report[@]}" --children --sort symbol --percent-limit 3 2>/dev/null \
      | grep -E 'oplay::|russh|minijinja|serde|ring::|aws_lc|curve25519|chacha|aes' \
      | sed 's/  *$//' | cut -c1-150 | head -30
    echo '```'
    target_execs "$h"
  } >"$out"
}

# target_execs H: the programs that the sshd side starts for oplay's workload
# (strace on the benchmark sshd), run 1 and run 2. Each is a fork+exec on a
# target host, for every task that needs one.
target_execs() {
  command -v strace >/dev/null || return 0
  local h=$1 phase sp
  echo
  echo "Programs started on the targets (\`strace -f -e execve\` on the sshd, all $h hosts):"
  echo
  echo "| program | run 1 | run 2 |"
  echo "|---|---:|---:|"
  $PY "$LIB/workload.py" seed "$ROOT/oplay" --hosts "$h" --user "$BENCH_USER"
  for phase in 1 2; do
    strace -f -qq -e trace=execve -o "$WORK/execs.$phase" -p "$SSHD_PID" &
    sp=$!
    sleep 0.5   # let strace attach
    "${CMD[@]}" >/dev/null 2>&1
    sleep 0.5
    kill "$sp"
    wait "$sp" 2>/dev/null || true
  done
  $PY "$LIB/execs.py" "$WORK/execs.1" "$WORK/execs.2"
}
