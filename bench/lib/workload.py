#!/usr/bin/env python3
"""The benchmark's workload, written out for each tool, and its checks.

One workload, K = 40 tasks per host, no fact gathering:

* 20 INI edits: 10 options in each of two files (``etc/a.conf``,
  ``etc/b.conf``), one option per task. The files are seeded before run 1
  with every option at an old value, in its section, between comment lines
  (like a packaged OpenStack file), so every tool *replaces* a line: oplay
  ``ini_set``, ansible ``community.general.ini_file``, pyinfra
  ``files.line`` with an anchored regex (pyinfra has no INI operation; its
  appended lines would not land in the right section, hence the seed).
* 10 ``copy content=`` tasks (pyinfra: ``files.put`` from a StringIO) to
  ``files/fNN.txt``, about 600 bytes each, different per host.
* 10 ``command`` tasks with ``creates`` (``touch stamps/cNN``). pyinfra has
  no ``creates``: a five-line custom operation checks the ``File`` fact.

Each host alias works in its own directory ``ROOT/<tool>/<host>``.

Subcommands:
  gen TOOL OUTDIR --hosts H --port P --root ROOT --user U --key K --known-hosts F
      writes OUTDIR/inventory.* and OUTDIR/playbook.yml (deploy.py for pyinfra)
  seed ROOT/TOOL --hosts H --user U
      (re)creates the per-host directories with the seeded INI files
  verify ROOT/TOOL --hosts H
      checks every file on every host; exits 1 and says what is wrong
"""

import argparse
import json
import os
import pwd
import shutil
import sys

INI_FILES = {
    # file -> [(section, [option numbers])]
    "a.conf": [("DEFAULT", range(1, 6)), ("database", range(6, 11))],
    "b.conf": [("DEFAULT", range(11, 16)), ("keystone_authtoken", range(16, 21))],
}
N_COPY = 10
N_COMMAND = 10
K = sum(len(r) for secs in INI_FILES.values() for _, r in secs) + N_COPY + N_COMMAND


def host_names(n):
    return [f"h{i:02d}" for i in range(1, n + 1)]


def ini_value(n, host):
    return f"value{n:02d}-{host}"


def copy_content(n, host):
    lines = [f"# file {n:02d} of {host}, written by the benchmark's copy task"]
    lines += [f"line {i:02d} of file {n:02d}: lorem ipsum dolor sit amet" for i in range(12)]
    return "\n".join(lines) + "\n"


def seed_ini(name):
    """A packaged-looking INI file: every option at its old value."""
    out = [f"# {name}: seeded by oplay's benchmark (bench/lib/workload.py)", ""]
    for section, numbers in INI_FILES[name]:
        out += [f"[{section}]", ""]
        for n in numbers:
            out += [
                f"#",
                f"# opt{n:02d}: what option {n} does, as a packaged file explains it.",
                f"# (string value)",
                f"opt{n:02d} = old{n:02d}",
                "",
            ]
    return "\n".join(out)


def expected_ini(name, host):
    text = seed_ini(name)
    for _, numbers in INI_FILES[name]:
        for n in numbers:
            text = text.replace(f"opt{n:02d} = old{n:02d}", f"opt{n:02d} = {ini_value(n, host)}")
    return text


def tasks():
    """The workload as (kind, number, params) with {host} and {dir} placeholders."""
    out = []
    for name, sections in INI_FILES.items():
        for section, numbers in sections:
            for n in numbers:
                out.append(("ini", n, {"path": f"{{dir}}/etc/{name}", "section": section,
                                       "option": f"opt{n:02d}"}))
    out += [("copy", n, {"dest": f"{{dir}}/files/f{n:02d}.txt"}) for n in range(1, N_COPY + 1)]
    out += [("command", n, {"path": f"{{dir}}/stamps/c{n:02d}"}) for n in range(1, N_COMMAND + 1)]
    assert len(out) == K
    return out


# --------------------------------------------------------------------------- generators

def yaml_str(s):
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(s)


def gen_playbook(ini_module, copy_module, command_module):
    """The YAML playbook shared by oplay and ansible (module names differ)."""
    host, d = "{{ inventory_hostname }}", "{{ bench_dir }}"
    lines = ["- name: benchmark workload", "  hosts: all", "  gather_facts: false", "  tasks:"]
    for kind, n, p in tasks():
        if kind == "ini":
            lines += [
                f"    - name: ini {p['option']}",
                f"      {ini_module}:",
                f"        path: {yaml_str(p['path'].format(dir=d))}",
                f"        section: {p['section']}",
                f"        option: {p['option']}",
                f"        value: {yaml_str(ini_value(n, host))}",
            ]
        elif kind == "copy":
            lines += [
                f"    - name: copy f{n:02d}",
                f"      {copy_module}:",
                f"        dest: {yaml_str(p['dest'].format(dir=d))}",
                f"        content: {yaml_str(copy_content(n, host))}",
            ]
        else:
            path = p["path"].format(dir=d)
            lines += [
                f"    - name: command c{n:02d}",
                f"      {command_module}:",
                f"        cmd: {yaml_str('touch ' + path)}",
                f"        creates: {yaml_str(path)}",
            ]
    return "\n".join(lines) + "\n"


PYINFRA_HEAD = '''\
"""Benchmark workload for pyinfra (generated by bench/lib/workload.py)."""
from io import StringIO

from pyinfra import host
from pyinfra.api import operation
from pyinfra.facts.files import File
from pyinfra.operations import files


@operation()
def command_creates(cmd, creates):
    """Runs cmd unless creates exists (Ansible's command creates=)."""
    if host.get_fact(File, path=creates) is None:
        yield cmd


d = host.data.bench_dir
'''


def gen_pyinfra():
    out = [PYINFRA_HEAD]
    for kind, n, p in tasks():
        if kind == "ini":
            opt = p["option"]
            out.append(
                f"files.line(name={opt!r}, path={p['path']!r}.format(dir=d),\n"
                f"           line=r'^{opt} *=.*$',\n"
                f"           replace={opt!r} + ' = ' + {ini_value(n, '{host}')!r}.format(host=host.name))\n"
            )
        elif kind == "copy":
            out.append(
                f"files.put(name='copy f{n:02d}', dest={p['dest']!r}.format(dir=d),\n"
                f"          src=StringIO({copy_content(n, '{host}')!r}.format(host=host.name)))\n"
            )
        else:
            out.append(
                f"command_creates(name='command c{n:02d}', cmd='touch ' + {p['path']!r}.format(dir=d),\n"
                f"                creates={p['path']!r}.format(dir=d))\n"
            )
    return "\n".join(out)


def gen(args):
    os.makedirs(args.outdir, exist_ok=True)
    hosts = host_names(args.hosts)
    base = os.path.join(args.root, args.tool)
    if args.tool in ("oplay", "ansible"):
        extra = ""
        if args.tool == "ansible":
            cp = os.path.join(args.outdir, "cp")
            extra = (
                " ansible_ssh_common_args='-o UserKnownHostsFile={kh} -o StrictHostKeyChecking=yes'"
                " ansible_control_path_dir={cp}/{h}"
            )
        lines = ["[bench]"]
        for h in hosts:
            lines.append(
                f"{h} ansible_host=127.0.0.1 ansible_port={args.port} bench_dir={base}/{h}"
                + extra.format(kh=args.known_hosts, cp=cp if args.tool == "ansible" else "", h=h)
            )
        lines += [
            "",
            "[bench:vars]",
            f"ansible_user={args.user}",
            f"ansible_ssh_private_key_file={args.key}",
            f"ansible_ssh_known_hosts_file={args.known_hosts}",
            "ansible_python_interpreter=/usr/bin/python3",
        ]
        with open(os.path.join(args.outdir, "inventory.ini"), "w") as f:
            f.write("\n".join(lines) + "\n")
        ini = "ini_set" if args.tool == "oplay" else "community.general.ini_file"
        copy = "copy" if args.tool == "oplay" else "ansible.builtin.copy"
        command = "command" if args.tool == "oplay" else "ansible.builtin.command"
        with open(os.path.join(args.outdir, "playbook.yml"), "w") as f:
            f.write(gen_playbook(ini, copy, command))
    else:
        data = {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": args.port,
            "ssh_user": args.user,
            "ssh_key": args.key,
            "ssh_known_hosts_file": args.known_hosts,
            "ssh_strict_host_key_checking": "yes",
            "ssh_connect_retries": 3,
        }
        entries = [(h, dict(data, bench_dir=f"{base}/{h}")) for h in hosts]
        with open(os.path.join(args.outdir, "inventory.py"), "w") as f:
            f.write(f"bench = {entries!r}\n")
        with open(os.path.join(args.outdir, "deploy.py"), "w") as f:
            f.write(gen_pyinfra())


# --------------------------------------------------------------------------- seed and verify

def seed(args):
    user = pwd.getpwnam(args.user)
    shutil.rmtree(args.tooldir, ignore_errors=True)
    for h in host_names(args.hosts):
        d = os.path.join(args.tooldir, h)
        for sub in ("etc", "files", "stamps"):
            os.makedirs(os.path.join(d, sub))
        for name in INI_FILES:
            with open(os.path.join(d, "etc", name), "w") as f:
                f.write(seed_ini(name))
        for root, dirs, names in os.walk(d):
            for p in [root] + [os.path.join(root, n) for n in names]:
                os.chown(p, user.pw_uid, user.pw_gid)
    for p in (os.path.dirname(args.tooldir.rstrip("/")), args.tooldir):
        os.chmod(p, 0o755)


def check_targets(tooldir, n_hosts):
    """What is wrong with the files on the targets, as a list of messages."""
    problems = []
    for h in host_names(n_hosts):
        want = {f"etc/{name}": expected_ini(name, h) for name in INI_FILES}
        want.update({f"files/f{n:02d}.txt": copy_content(n, h) for n in range(1, N_COPY + 1)})
        want.update({f"stamps/c{n:02d}": None for n in range(1, N_COMMAND + 1)})
        for rel, expected in want.items():
            path = os.path.join(tooldir, h, rel)
            try:
                with open(path) as f:
                    got = f.read()
            except OSError as e:
                problems.append(f"{h}: {rel}: {e.strerror}")
                continue
            if expected is not None and got != expected:
                problems.append(f"{h}: {rel}: content differs from the expected "
                                f"({len(got)} bytes, expected {len(expected)})")
    return problems


def verify(args):
    problems = check_targets(args.tooldir, args.hosts)
    if problems:
        print(f"verify {args.tooldir}: {len(problems)} problem(s):", file=sys.stderr)
        for p in problems[:20]:
            print(f"  {p}", file=sys.stderr)
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description="benchmark workload")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("tool", choices=["oplay", "ansible", "pyinfra"])
    g.add_argument("outdir")
    for a in ("--hosts", "--port"):
        g.add_argument(a, type=int, required=True)
    for a in ("--root", "--user", "--key", "--known-hosts"):
        g.add_argument(a, required=True)
    s = sub.add_parser("seed")
    s.add_argument("tooldir")
    s.add_argument("--hosts", type=int, required=True)
    s.add_argument("--user", required=True)
    v = sub.add_parser("verify")
    v.add_argument("tooldir")
    v.add_argument("--hosts", type=int, required=True)
    sub.add_parser("k")
    args = ap.parse_args()
    if args.cmd == "gen":
        gen(args)
    elif args.cmd == "seed":
        seed(args)
    elif args.cmd == "verify":
        verify(args)
    else:
        print(K)


if __name__ == "__main__":
    main()
