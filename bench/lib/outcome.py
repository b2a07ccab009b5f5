#!/usr/bin/env python3
"""Judge one measured run: what the tool reported, and what is on the targets.

Reads the tool's output (its PLAY RECAP, or pyinfra's per-host lines) and
the measurement (measure.py's JSON), checks the files on every target
(workload.verify), and prints ONE JSON line with all of it. Exits 1 when
anything is wrong: a non-zero exit code, a host missing, failed or
unreachable, run 1 not changing all K tasks on every host, run 2 changing
anything, or a file on a target not as expected.
"""

import argparse
import json
import re
import sys

import workload

RECAP = re.compile(
    r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M
)
PYINFRA_HOST_LINE = re.compile(r"^\s*\[(\S+)\] (Success|No changes|Error)\b", re.M)


def parse_recap(text):
    """oplay and ansible print the same PLAY RECAP lines."""
    hosts = {}
    for name, ok, changed, unreachable, failed in RECAP.findall(text):
        hosts[name] = {"ok": int(ok), "changed": int(changed),
                       "unreachable": int(unreachable), "failed": int(failed)}
    return hosts


def parse_pyinfra(text):
    """pyinfra -y prints one '[host] Success|No changes|Error' line per operation."""
    hosts = {}
    for name, word in PYINFRA_HOST_LINE.findall(text):
        h = hosts.setdefault(name, {"ok": 0, "changed": 0, "unreachable": 0, "failed": 0})
        if word == "Error":
            h["failed"] += 1
        else:
            h["ok"] += 1
            h["changed"] += word == "Success"
    if re.search(r"Could not connect|Failed to connect", text):
        for h in hosts.values():
            h["unreachable"] = h["unreachable"] or int(h["ok"] == 0)
    return hosts


def judge(args, measured, hosts):
    problems = []
    if measured["rc"] != 0:
        problems.append(f"exit code {measured['rc']}")
    want_changed = workload.K if args.phase == 1 else 0
    for name in workload.host_names(args.hosts):
        h = hosts.get(name)
        if h is None:
            problems.append(f"{name}: not in the tool's summary")
            continue
        if h["failed"] or h["unreachable"]:
            problems.append(f"{name}: failed={h['failed']} unreachable={h['unreachable']}")
        if h["changed"] != want_changed:
            problems.append(f"{name}: changed={h['changed']}, expected {want_changed} in run {args.phase}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", required=True)
    ap.add_argument("--hosts", type=int, required=True)
    ap.add_argument("--phase", type=int, required=True)
    ap.add_argument("--rep", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--measure", required=True)
    ap.add_argument("--tooldir", required=True)
    args = ap.parse_args()

    with open(args.measure) as f:
        measured = json.load(f)
    with open(args.log, errors="replace") as f:
        text = f.read()
    hosts = parse_pyinfra(text) if args.tool == "pyinfra" else parse_recap(text)
    problems = judge(args, measured, hosts)
    problems += workload.check_targets(args.tooldir, args.hosts)
    record = {"tool": args.tool, "hosts": args.hosts, "rep": args.rep, "phase": args.phase,
              **measured,
              "changed_total": sum(h["changed"] for h in hosts.values()),
              "problems": problems}
    print(json.dumps(record))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
