#!/usr/bin/env python3
"""Run one command and measure it: wall time, CPU, peak memory of its tree.

Usage: measure.py --json OUT --log LOG [--sshd-pid PID] -- COMMAND...

What is measured (all written to OUT as one JSON object):

* ``wall_s``: from just before the start to the exit of COMMAND.
* ``machine_cpu_s``: the whole machine's busy CPU time over the run, from
  /proc/stat (user+nice+system+irq+softirq+steal; idle and iowait left
  out). It includes anything else running on the machine, so the harness
  also records the load average next to it.
* ``control_cpu_s``: user+system time of COMMAND and all its descendants
  (getrusage(RUSAGE_CHILDREN) delta). This process is a child subreaper, so
  daemonised descendants (ansible's ssh ControlPersist masters) are still
  ours: they are counted, and they are stopped when COMMAND exits.
* ``target_cpu_s``: CPU time of the sshd tree serving the run, i.e. the
  "remote" side of every tool: the cpuacct counter of --sshd-cgroup (exact,
  every session process and command), else the listener's own and
  reaped-children times from /proc/PID/stat (which misses most of it).
* ``tree_peak_rss_kib``: peak of the SUM of RSS over COMMAND's process tree,
  sampled every 20 ms. Shared pages of forked workers are counted once per
  process, so for a forking tool (ansible) this is an upper bound.
* ``main_peak_rss_kib``: ru_maxrss of COMMAND's own process from wait4 (the
  kernel's exact high-water mark; Linux reports the max over the process
  and the children it reaped itself).
* ``tree_peak_procs``: most processes seen at once in the tree.
* ``sampler_cpu_s``: this script's own CPU time (the sampling's cost, which
  is part of ``machine_cpu_s``), and ``loadavg_before``.
* ``rc``: COMMAND's exit status.

COMMAND's stdout and stderr go to LOG.
"""

import argparse
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time

SAMPLE_S = 0.020
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36


def machine_busy_ticks():
    """Busy jiffies of all CPUs together since boot."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return user + nice + system + irq + softirq + steal


def cpu_s(after, before):
    """User+system seconds between two rusage readings."""
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command name, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    return data[data.rfind(b")") + 2 :].split()


def tree_cpu_ticks(pid):
    """utime+stime+cutime+cstime of one process (its reaped children included)."""
    f = stat_fields(pid)
    if f is None:
        return 0
    # After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return sum(int(x) for x in f[11:15])


def target_cpu_s(args):
    """CPU seconds used so far by the sshd side: its cgroup's counter when
    there is one (exact), else the listener's own + reaped-children times."""
    if args.sshd_cgroup:
        v1 = os.path.join(args.sshd_cgroup, "cpuacct.usage")
        if os.path.exists(v1):
            with open(v1) as f:
                return int(f.read()) / 1e9
        with open(os.path.join(args.sshd_cgroup, "cpu.stat")) as f:
            for line in f:
                if line.startswith("usage_usec"):
                    return int(line.split()[1]) / 1e6
    if args.sshd_pid:
        return tree_cpu_ticks(args.sshd_pid) / CLK_TCK
    return 0.0


class TreeSampler:
    """Finds our descendants and sums their RSS.

    Every process of the tree is created after the tree's root, so only
    PIDs at or above the root's are read (PIDs grow until they wrap; a
    wrap during a run would only make the sample miss processes)."""

    def __init__(self, me, root_pid):
        self.me = me
        self.floor = root_pid
        self.peak_rss_kib = 0
        self.peak_procs = 0

    def members(self):
        parents = {}
        rss = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid < self.floor:
                continue
            f = stat_fields(pid)
            if f is None:
                continue
            parents[pid] = int(f[1])
            rss[pid] = int(f[21])
        ours = set()
        frontier = [self.me]
        children = {}
        for pid, ppid in parents.items():
            children.setdefault(ppid, []).append(pid)
        while frontier:
            p = frontier.pop()
            for c in children.get(p, ()):
                if c not in ours:
                    ours.add(c)
                    frontier.append(c)
        return ours, rss

    def sample(self):
        ours, rss = self.members()
        total = sum(rss.get(p, 0) for p in ours) * PAGE_KIB
        self.peak_rss_kib = max(self.peak_rss_kib, total)
        self.peak_procs = max(self.peak_procs, len(ours))
        return ours


def wait_sessions_gone(sshd_pid, floor, timeout=10.0):
    """Waits until the sshd listener has reaped every session of the run,
    so that their CPU time is in its cutime/cstime."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = False
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) >= floor:
                f = stat_fields(int(name))
                if f is not None and int(f[1]) == sshd_pid:
                    busy = True
                    break
        if not busy:
            return
        time.sleep(0.05)
    print("measure.py: warning: sshd sessions still open, target CPU is short", file=sys.stderr)


def stop_leftovers(sampler):
    """Stops descendants that outlived COMMAND (ssh masters), by PID."""
    ours, _ = sampler.members()
    for pid in ours:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.02)
    for pid in sampler.members()[0]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        while os.waitpid(-1, 0):
            pass
    except ChildProcessError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--sshd-pid", type=int)
    ap.add_argument("--sshd-cgroup")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("no command given")

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("measure.py: prctl(PR_SET_CHILD_SUBREAPER) failed")

    me = os.getpid()
    load_before = open("/proc/loadavg").read().split()[:3]
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    target0 = target_cpu_s(args)
    busy0 = machine_busy_ticks()
    t0 = time.monotonic()
    with open(args.log, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    sampler = TreeSampler(me, proc.pid)
    status = None
    while status is None:
        sampler.sample()
        pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            status, main_ru = st, ru
            break
        time.sleep(SAMPLE_S)
    wall = time.monotonic() - t0
    busy1 = machine_busy_ticks()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stop_leftovers(sampler)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "rc": proc.returncode,
        "wall_s": round(wall, 3),
        "machine_cpu_s": round((busy1 - busy0) / CLK_TCK, 2),
        "control_cpu_s": round(cpu_s(ru1, ru0), 3),
        "tree_peak_rss_kib": sampler.peak_rss_kib,
        "main_peak_rss_kib": main_ru.ru_maxrss,
        "tree_peak_procs": sampler.peak_procs,
        "loadavg_before": load_before,
        "sampler_cpu_s": round(cpu_s(resource.getrusage(resource.RUSAGE_SELF), self0), 3),
    }
    if args.sshd_pid:
        wait_sessions_gone(args.sshd_pid, proc.pid)
        result["target_cpu_s"] = round(target_cpu_s(args) - target0, 3)
    with open(args.json, "w") as f:
        json.dump(result, f)
    sys.exit(0)


if __name__ == "__main__":
    main()
