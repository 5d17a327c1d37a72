#!/usr/bin/env python3
"""bench/summarize.py RESULT.json -- the issue-4 targets against one harness run.

Reads the JSON that shared/bench writes (--json) and prints, for every workload, the
ratio of each overlayfuse column to the kernel (median / median, same run), the target
of issue 4 and whether it is met; then the daemon peak RSS per workload against
fuse-overlayfs, and the errors that were NOT expected. The read-only column cannot run
the mutating workloads (EROFS): those are shown as n/a, not as failures.
Standard library only."""
import json, statistics, sys

# workload key -> max ratio to the kernel (issue 4, "Targets")
TARGETS = {
    'mount-debian': 1.5, 'mount-deep': 1.5, 'mount-deep-cold': 1.5,
    'walk-cold': 1.5, 'walk-warm': 1.2,
    'readall-cold': 1.3, 'readall-warm': 1.2,
    'bigread-cold': 1.2, 'bigread-warm': 1.2,
    'stat-deep': None,          # no target in the issue; reported only
    'stat-miss': 1.2,
    'readdir-cold': 2.0, 'readdir-warm': 2.0,
    'copyup': 1.2, 'create': 3.0, 'rm-usr-share': 3.0,
    'chroot': 1.2,
}
MUTATING = {'copyup', 'create', 'rm-usr-share'}
ORDER = list(TARGETS)


def erofs(errors):
    return errors and all('Read-only file system' in e or 'EROFS' in e or 'read-only' in e.lower()
                          for e in errors)


def main(path):
    with open(path) as f:
        d = json.load(f)
    res, base = d['results'], d.get('baseline', 'kernel')
    impls = list(d['impls'])
    ours = [n for n in impls if n.startswith('overlayfuse')]
    peers = [n for n in impls if n not in ours and n != base]
    med = lambda w, n: (statistics.median(res[w][n]['samples'])
                        if res.get(w, {}).get(n, {}).get('samples') else None)
    print(f"\n# issue-4 targets, {'QUICK' if d.get('quick') else 'full'} run "
          f"({'quick data: smaller targets, fewer reps' if d.get('quick') else 'full data'}); "
          f"ratio = median / median of {base}, same run")
    cols = ['workload', 'target'] + [f'{n}/{base}' for n in ours + peers] + ['met by']
    rows, unexpected = [], []
    for w in [k for k in ORDER if k in res] + [k for k in res if k not in ORDER]:
        t = TARGETS.get(w)
        kb = med(w, base)
        row, met = [w, f'<= {t}' if t else '-'], []
        for n in ours + peers:
            r = res[w].get(n, {})
            m = med(w, n)
            if n in ours and w in MUTATING and n.endswith('-ro') and not m and erofs(r.get('errors')):
                row.append('n/a (ro)')
                continue
            if m is None or not kb:
                row.append('ERR' if r.get('errors') else '-')
                if n in ours and r.get('errors'):
                    met.append(f'{n}: ERR')
                continue
            ratio = m / kb
            mark = '' if t is None or n not in ours else (' ok' if ratio <= t else ' MISS')
            row.append(f'{ratio:.2f}{mark}' + ('!' if r.get('errors') else ''))
            if n in ours and t is not None:
                met.append(('yes' if ratio <= t else 'no') + f' {n[len("overlayfuse-"):]}')
        row.append(', '.join(met) if met else '-')
        rows.append(row)
        for n in impls:
            errs = res[w].get(n, {}).get('errors', [])
            if errs and not (n.endswith('-ro') and w in MUTATING and erofs(errs)):
                unexpected += [(w, n, e) for e in errs]
    widths = [max(len(str(r[i])) for r in rows + [cols]) for i in range(len(cols))]
    fmt = lambda r: '  '.join(str(c).ljust(widths[i]) if i in (0, len(cols) - 1) else str(c).rjust(widths[i])
                              for i, c in enumerate(r))
    print(fmt(cols))
    print('-' * len(fmt(cols)))
    for r in rows:
        print(fmt(r))

    # daemon peak RSS: no higher than fuse-overlayfs' on every workload
    hwm = {n: d['impls'][n].get('daemon_hwm_kib', {}) for n in impls}
    peer = 'fuse-overlayfs' if 'fuse-overlayfs' in impls else None
    if peer:
        print(f'\n# daemon peak RSS (VmHWM before unmount, max over the mounts) [MiB]; '
              f'target: overlayfuse <= {peer} on every workload')
        cols2 = ['workload', peer] + ours + ['met']
        rows2 = []
        for w in [k for k in ORDER if k in res] + [k for k in res if k not in ORDER]:
            p = hwm[peer].get(w)
            r = [w, f'{p / 1024:.1f}' if p else '-']
            ok = []
            for n in ours:
                v = hwm[n].get(w)
                r.append(f'{v / 1024:.1f}' if v else '-')
                if v and p:
                    ok.append(('yes' if v <= p else 'no') + f' {n[len("overlayfuse-"):]}')
            r.append(', '.join(ok) or '-')
            rows2.append(r)
        widths = [max(len(str(r[i])) for r in rows2 + [cols2]) for i in range(len(cols2))]
        fmt2 = lambda r: '  '.join(str(c).ljust(widths[i]) if i in (0, len(cols2) - 1) else str(c).rjust(widths[i])
                                   for i, c in enumerate(r))
        print(fmt2(cols2))
        for r in rows2:
            print(fmt2(r))

    sem = d.get('semantics', {})
    for n, sets in sem.items():
        for s, bad in sets.items():
            for b in bad:
                print(f'# SEMANTICS {n} {s}: {b}')
    if sem and not any(b for sets in sem.values() for b in sets.values()):
        print('\n# semantics check: ok for every column')
    if unexpected:
        print(f'\n# {len(unexpected)} unexpected error(s):')
        for w, n, e in unexpected:
            print(f'#   {w} {n}: {e}')
    else:
        print('# no unexpected errors' + (' (the read-only column\'s EROFS on mutating workloads is expected)'
                                          if any(n.endswith('-ro') for n in ours) else ''))


if __name__ == '__main__':
    if len(sys.argv) != 2 or sys.argv[1] in ('-h', '--help'):
        sys.exit(__doc__)
    main(sys.argv[1])
