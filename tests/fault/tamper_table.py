#!/usr/bin/env python3
"""tamper_table.py — docs/testing.md's table of tamper cases and verdicts,
made from the `tamper:` lines of one run of test_tamper_sweep.

    build/dev/bin/test_tamper_sweep 2>&1 | python3 tests/fault/tamper_table.py

prints the summary figures and the Markdown table (alert ids as ID) to put
under "The tamper cases and their verdicts"."""
import re
import sys

ROW = re.compile(r'^tamper: (\S+)\s+(delete newest|delete oldest|delete middle|alter|swap column|add row|'
                 r'swap rows|\+1 hour)\s+(\S.*?)\s{2,}(caught|passed\*|n/a|PASSED|ERROR|CRASHED)\s+'
                 r'(yes|no)?\s*(.*)$')
EXC = re.compile(r'^tamper:   (\S+?)(?:\.(\S+)| \(deletions\)): (.*)$')
FAULT = re.compile(r'^(?:audit: )?FAULT (\S+) table=(\S+)[^:]*: (.*)$')
HEX = re.compile(r'\b[0-9a-f]{32}\b')


def main():
    rows, why, summary = [], {}, ''
    in_exceptions = False
    for line in sys.stdin:
        line = line.rstrip('\n')
        if line.startswith('tamper: * = an exception'):
            in_exceptions = True
            continue
        if line.startswith('tamper: cases='):
            summary = line[len('tamper: '):]
            in_exceptions = False
            continue
        m = EXC.match(line) if in_exceptions else None
        if m:
            why[(m.group(1), m.group(2))] = m.group(3)
            continue
        m = ROW.match(line)
        if m and m.group(2) != '+1 hour':
            rows.append(m.groups())
    if not rows:
        sys.exit('tamper_table.py: no tamper case lines on stdin (run test_tamper_sweep)')
    print(summary)
    print()
    print('| table | case | column | verdict |')
    print('|---|---|---|---|')
    for table, case, column, verdict, _named, said in rows:
        column = '' if column == '-' else column
        said = HEX.sub('ID', said)
        if verdict == 'caught':
            f = FAULT.match(said)
            text = (f'caught: `{f.group(1)}`, names `{f.group(2)}`: {f.group(3)}' if f
                    else f'caught: {said}')
        elif verdict == 'passed*':
            reason = why.get((table, column or None)) or why.get((table, None), '')
            text = f'not caught, an exception: {reason}'
        elif verdict == 'n/a':
            text = f'not run: {said}'
        else:
            text = f'{verdict}: {said}'
        print(f'| {table} | {case} | {column} | {text} |')


if __name__ == '__main__':
    main()
