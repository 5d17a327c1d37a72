#!/usr/bin/env python3
"""Write src/hot-text.ld: the input sections holding the functions the daemon ran.

Reads callgrind profiles of the daemon (every function that ran at least once), the binary's
symbol table (addresses, local symbols included) and the linker's map of the same link
(which input section of which object or archive member holds each address). The script
gathers those sections into one output section placed before .text. See bench/hot-text.sh,
which runs the profiles, and "Memory" in docs/performance.md.
"""
import argparse
import bisect
import re
import subprocess
import sys

# glibc picks one of several copies of its string functions for the CPU it runs on (IFUNC),
# and valgrind's CPU is not the machine's: keep every copy of a family that ran.
STRING_FAMILY = re.compile(r'^((?:mem|str|stp|wcs|wmem)[a-z]*)-[a-z0-9_-]+\.o$')
# What runs on the machine but not under valgrind, which refuses system calls newer than it
# (getxattrat and listxattrat go through syscall(); under valgrind the fallback runs).
ALSO = ['*libc.a:syscall.o(.text)']


def functions_run(profiles):
    names = set()
    for path in profiles:
        with open(path, errors='replace') as f:
            for line in f:
                m = re.match(r'c?fn=\(\d+\) (.+?)(?:\'\d+)?$', line.rstrip('\n'))
                if m:
                    names.add(m.group(1))  # without callgrind's recursion suffix 'N
    return names


def symbol_addresses(binary):
    out = subprocess.run(['nm', '--defined-only', binary], capture_output=True, text=True,
                         check=True).stdout
    addr = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in 'tTwWiI':
            addr.setdefault(p[2], int(p[0], 16))
    return addr


def text_input_sections(map_path):
    """(start, size, section, file) of every non-empty .text* input section in ld's map."""
    head = re.compile(r'^ (\.text\S*)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(.+))?$')
    tail = re.compile(r'^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(.+)$')
    sections = []
    with open(map_path) as f:
        lines = f.read().split('\n')
    for i, line in enumerate(lines):
        m = head.match(line)
        if not m:
            continue
        if m.group(2):
            start, size, where = m.group(2), m.group(3), m.group(4)
        elif i + 1 < len(lines) and (t := tail.match(lines[i + 1])):
            start, size, where = t.groups()  # a long section name wraps onto its own line
        else:
            continue
        if int(size, 16) > 0:
            sections.append((int(start, 16), int(size, 16), m.group(1), where.strip()))
    sections.sort()
    return sections


def pattern(section, where):
    """An input section description: 'archive:member(section)' or 'object(section)'."""
    m = re.match(r'(.*)\((.*)\)$', where)
    if not m:
        return f'*{where.split("/")[-1]}({section})'
    archive, member = m.group(1).split('/')[-1], m.group(2)
    family = STRING_FAMILY.match(member) if archive == 'libc.a' else None
    if family:
        return f'*libc.a:{family.group(1)}-*.o(.text .text.*)'
    return f'*{archive}:{member}({section})'


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--binary', required=True)
    ap.add_argument('--map', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('profiles', nargs='+')
    a = ap.parse_args()

    names = functions_run(a.profiles)
    addr = symbol_addresses(a.binary)
    sections = text_input_sections(a.map)
    starts = [s[0] for s in sections]
    chosen, unplaced = {}, 0
    for name in names:
        at = addr.get(name)
        i = bisect.bisect_right(starts, at) - 1 if at is not None else -1
        if i < 0 or at >= sections[i][0] + sections[i][1]:
            unplaced += 1  # not in this binary's text (the vDSO, valgrind's own)
            continue
        chosen.setdefault(pattern(sections[i][2], sections[i][3]), set()).add(i)
    for p in ALSO:
        chosen.setdefault(p, set())

    with open(a.out, 'w') as o:
        o.write('/* The code the daemon runs, gathered in one place (written by bench/hot-text.sh from\n'
                '   callgrind profiles; see "Memory" in docs/performance.md). Only an ordering hint:\n'
                '   a name that no longer exists matches nothing. */\n'
                'SECTIONS\n{\n  .text.hot-path : ALIGN(4096)\n  {\n')
        for p in sorted(chosen):
            o.write(f'    {p}\n')
        o.write('  }\n}\nINSERT BEFORE .text;\n')
    # What the patterns take in this link (a family pattern: every copy of the family).
    placed = sum(s[1] for s in sections if pattern(s[2], s[3]) in chosen)
    print(f'hot_text: {len(names)} functions ran, {unplaced} outside the binary; '
          f'{len(chosen)} input section patterns, {placed // 1024} KiB -> {a.out}', file=sys.stderr)


if __name__ == '__main__':
    main()
