#!/usr/bin/env python3
"""Turn the benchmark's measurements (JSON lines) into bench/RESULTS.md.

  report.py --one-line < RECORD            one run, one line (for the log)
  report.py --results FILE [--results FILE2] --versions FILE --hosts 1,10 --reps N --tools T
            [--profile FILE] [--note TEXT]

Every number in the tables is the MEDIAN over the repetitions of one
(tool, H, run) cell; a cell whose runs failed their checks says so.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys

TOOLS = ("oplay", "ansible", "pyinfra")
METRICS = [
    # key, heading, format
    ("wall_s", "wall s", "{:.2f}"),
    ("machine_cpu_s", "machine CPU s", "{:.2f}"),
    ("control_cpu_s", "control CPU s", "{:.2f}"),
    ("target_cpu_s", "target CPU s", "{:.2f}"),
    ("tree_peak_rss_kib", "tree peak RSS MiB", "{:.1f}"),
    ("main_peak_rss_kib", "main peak RSS MiB", "{:.1f}"),
    ("tree_peak_procs", "peak procs", "{:.0f}"),
]
RATIO_METRICS = ["wall_s", "machine_cpu_s", "control_cpu_s", "target_cpu_s", "tree_peak_rss_kib"]


def one_line(record):
    r = record
    text = (f"wall {r['wall_s']:.2f}s machine-cpu {r['machine_cpu_s']:.2f}s "
            f"control-cpu {r['control_cpu_s']:.2f}s target-cpu {r.get('target_cpu_s', 0):.2f}s "
            f"tree-rss {r['tree_peak_rss_kib'] / 1024:.0f}MiB changed {r['changed_total']}")
    if r["problems"]:
        text += "\n  " + "\n  ".join(r["problems"][:10])
    return text


def value(record, key):
    v = record.get(key)
    if v is None:
        return None
    return v / 1024 if key.endswith("_kib") else v


def cells(records):
    """(tool, hosts, phase) -> list of records."""
    out = {}
    for r in records:
        out.setdefault((r["tool"], r["hosts"], r["phase"]), []).append(r)
    return out


def median(records, key):
    vals = [value(r, key) for r in records if not r["problems"] and value(r, key) is not None]
    return statistics.median(vals) if vals else None


def machine():
    def first(path, prefix):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(prefix):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "?"

    mem_kib = int(first("/proc/meminfo", "MemTotal").split()[0])
    return [
        f"- CPU: {first('/proc/cpuinfo', 'model name')}, nproc = {os.cpu_count()}",
        f"- memory: {mem_kib / 1024 / 1024:.1f} GiB",
        f"- kernel: {platform.system()} {platform.release()}",
        f"- OS: {os_name()}",
    ]


def os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "?"


def table(by_cell, hosts, tools):
    lines = []
    for phase, title in ((1, "run 1 (fresh directories, every task changes)"),
                         (2, "run 2 (same workload again, nothing changes)")):
        lines += [f"### {title}", ""]
        lines.append("| H | tool | " + " | ".join(h for _, h, _ in METRICS) + " | runs ok |")
        lines.append("|---|---|" + "---:|" * len(METRICS) + "---|")
        for h in hosts:
            for t in tools:
                recs = by_cell.get((t, h, phase), [])
                if not recs:
                    continue
                ok = sum(not r["problems"] for r in recs)
                row = []
                for key, _, fmt in METRICS:
                    m = median(recs, key)
                    row.append("—" if m is None else fmt.format(m))
                lines.append(f"| {h} | {t} | " + " | ".join(row) + f" | {ok}/{len(recs)} |")
        lines.append("")
    return lines


def ratios(by_cell, hosts, tools):
    others = [t for t in ("pyinfra", "ansible") if t in tools]
    if "oplay" not in tools or not others:
        return []
    lines = ["## Ratios (oplay / other tool, medians; below 1 = oplay is better)", ""]
    lines.append("| H | run | vs | " + " | ".join(
        next(h for k, h, _ in METRICS if k == key) for key in RATIO_METRICS) + " |")
    lines.append("|---|---|---|" + "---:|" * len(RATIO_METRICS))
    for h in hosts:
        for phase in (1, 2):
            for other in others:
                row = []
                for key in RATIO_METRICS:
                    a = median(by_cell.get(("oplay", h, phase), []), key)
                    b = median(by_cell.get((other, h, phase), []), key)
                    row.append("—" if a is None or not b else f"{a / b:.3f}")
                lines.append(f"| {h} | {phase} | {other} | " + " | ".join(row) + " |")
    return lines + [""]


def reduced_note(reps, hosts):
    """The issue asks for 5 repetitions at H = 1, 10, 50: say when this is less."""
    if reps >= 5 and set(hosts) >= {1, 10, 50}:
        return []
    return [f"**Reduced run:** {reps} repetition(s) (the full matrix is 5) at H = "
            f"{', '.join(map(str, hosts))}. With one repetition each number is a single "
            "measurement, not a median; treat differences under ~10 % as noise.", ""]


def failures(records):
    bad = [r for r in records if r["problems"]]
    if not bad:
        return ["All runs passed their checks (exit code, per-host summary, files on the targets).", ""]
    lines = [f"**{len(bad)} run(s) failed their checks** (excluded from the medians):", ""]
    for r in bad:
        lines.append(f"- {r['tool']} H={r['hosts']} rep {r['rep']} run {r['phase']}: "
                     + "; ".join(r["problems"][:5]))
    return lines + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one-line", action="store_true")
    ap.add_argument("--results", action="append", help="JSON lines (repeatable: merged)")
    ap.add_argument("--versions")
    ap.add_argument("--profile")
    ap.add_argument("--args", default="")
    ap.add_argument("--note", help="a paragraph put under the title")
    ap.add_argument("--hosts")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--tools")
    args = ap.parse_args()
    if args.one_line:
        print(one_line(json.loads(sys.stdin.readline())))
        return

    records = []
    for path in args.results:
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    hosts = [int(h) for h in args.hosts.split(",")]
    tools = [t for t in args.tools.split(",")]
    by_cell = cells(records)
    loads = [float(r["loadavg_before"][0]) for r in records]
    with open(args.versions) as f:
        versions = [f"- {line.strip()}" for line in f if line.strip()]
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "METHOD.md")) as f:
        method = f.read().strip()

    out = [
        "# oplay benchmark results",
        "",
        f"Written by `bench/run.sh {args.args}`".rstrip() + f" on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC: "
        f"H = {args.hosts}, {args.reps} repetition(s) of each (tool, H) cell, tools run interleaved "
        f"({', '.join(tools)}, then again). Medians of the repetitions.",
        "",
        *([args.note, ""] if args.note else []),
        *reduced_note(args.reps, hosts),
        "## Machine",
        "",
        *machine(),
        f"- 1-minute load average before each run: min {min(loads):.2f}, median "
        f"{statistics.median(loads):.2f}, max {max(loads):.2f} (the machine is shared with "
        "other builds; `machine CPU s` includes their work, `control` + `target` CPU do not)",
        *versions,
        "",
        "## Results",
        "",
        *table(by_cell, hosts, tools),
        *ratios(by_cell, hosts, tools),
        "## Checks",
        "",
        *failures(records),
    ]
    if args.profile and os.path.exists(args.profile):
        with open(args.profile) as f:
            out += [f.read().rstrip(), ""]
    out += [method, ""]
    print("\n".join(out))


if __name__ == "__main__":
    main()
