#!/usr/bin/env python3
"""Count the programs in `strace -e execve` logs: one Markdown table row per
program, one column per log (used by bench/lib/profile.sh)."""

import collections
import re
import sys

counts = []
for path in sys.argv[1:]:
    with open(path) as f:
        counts.append(collections.Counter(re.findall(r'execve\("([^"]+)"', f.read())))
programs = set().union(*counts)
for prog in sorted(programs, key=lambda p: -sum(c[p] for c in counts)):
    print(f"| `{prog}` | " + " | ".join(str(c[prog]) for c in counts) + " |")
