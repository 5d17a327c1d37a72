#!/usr/bin/env python3
"""bench/fuse_requests.py CONN < `perf script` output of fuse:fuse_request_send/end

Counts the FUSE requests of one connection (the mount's st_dev minor) by opcode, with the
time each kind spent between send and end (queue + daemon + reply), from the kernel's
fuse tracepoints (Linux 6.16+). Used by bench/profile.sh --tool trace."""
import collections, re, sys

conn = sys.argv[1]
send = re.compile(r'\s(\d+\.\d+):\s+fuse:fuse_request_send:\s+connection (\d+) req (\d+) opcode \d+ \((\w+)\)')
end = re.compile(r'\s(\d+\.\d+):\s+fuse:fuse_request_end:\s+connection (\d+) req (\d+) len \d+ error (-?\d+)')
pending, count, total, errs = {}, collections.Counter(), collections.Counter(), collections.Counter()
first = last = None
for line in sys.stdin:
    m = send.search(line)
    if m and m.group(2) == conn:
        t = float(m.group(1))
        pending[m.group(3)] = (m.group(4), t)
        count[m.group(4)] += 1
        first = first if first is not None else t
        continue
    m = end.search(line)
    if m and m.group(2) == conn and m.group(3) in pending:
        op, t0 = pending.pop(m.group(3))
        t = float(m.group(1))
        total[op] += t - t0
        last = t
        if int(m.group(4)) != 0:
            errs[(op, int(m.group(4)))] += 1
n = sum(count.values())
print(f'{n} requests' + (f' in {last - first:.3f} s' if first is not None and last else ''))
print(f'{"opcode":22s} {"count":>8s} {"sum ms":>9s} {"avg us":>8s}')
for op, c in count.most_common():
    print(f'{op:22s} {c:8d} {total[op] * 1e3:9.1f} {total[op] / c * 1e6:8.1f}')
for (op, e), c in errs.most_common():
    print(f'  errors: {op} {e}: {c}')
