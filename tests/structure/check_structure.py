#!/usr/bin/env python3
"""The broker's shape (issue 13), checked on every test run:

- no file in broker/ is over 800 lines;
- no include cycle inside broker/ (a module is its .c and .h together);
- no SQL outside the store modules: only broker/store_sqlite*, broker/store_pg*,
  the agent's own store (agents/lib/src/agent_store.c) and the gateway's
  (agents/gateway/gw_db*.c, gateway.db) speak SQL; a test
  that damages a store on purpose says so with a "store-tamper:" comment, and
  a test that reads an agent's own agent.db (which has no read interface for
  tests) with an "agent-store:" comment (a gateway's gateway.db:
  "gateway-store:"), and test support that runs a database server with a
  "store-server:" comment;
- vigilctl does not link the broker's loop (no vgb_broker_* symbol in it).

Usage: check_structure.py SOURCE_DIR [VIGILCTL_BINARY]
"""
import os
import re
import subprocess
import sys

MAX_LINES = 800
SQL = re.compile(r'"\s*((SELECT|INSERT|UPDATE|DELETE)\s+[\w*(]|CREATE (TABLE|INDEX|UNIQUE)|PRAGMA|ALTER TABLE|'
                 r'DROP (TABLE|INDEX)|BEGIN IMMEDIATE)\b|\bsqlite3_[a-z_]+\(|\bPQ[a-z]+\(')
STORE_FILE = re.compile(r'^(broker/store_(sqlite|pg)[a-z_]*|agents/gateway/gw_db[a-z_]*)\.[ch]$')
SQL_ALLOWED = {'agents/lib/src/agent_store.c'}
SKIP_DIRS = {'build', '.git', 'node_modules', '.cache'}


def rel_files(root, exts):
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.startswith('build')]
        for f in files:
            if f.endswith(exts):
                yield os.path.relpath(os.path.join(d, f), root)


def check_sizes(root):
    bad = []
    for rel in sorted(rel_files(os.path.join(root, 'broker'), ('.c', '.h'))):
        with open(os.path.join(root, 'broker', rel), encoding='utf-8') as fh:
            n = sum(1 for _ in fh)
        if n > MAX_LINES:
            bad.append(f'broker/{rel}: {n} lines (at most {MAX_LINES})')
    return bad


def check_cycles(root):
    bdir = os.path.join(root, 'broker')
    headers = {f[:-2] for f in os.listdir(bdir) if f.endswith('.h')}
    edges = {}
    inc = re.compile(r'^\s*#\s*include\s+"([a-z0-9_]+)\.h"', re.M)
    for f in os.listdir(bdir):
        if not f.endswith(('.c', '.h')):
            continue
        node = f[:-2]
        with open(os.path.join(bdir, f), encoding='utf-8') as fh:
            for m in inc.finditer(fh.read()):
                if m.group(1) in headers and m.group(1) != node:
                    edges.setdefault(node, set()).add(m.group(1))
    bad, state, stack = [], {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                bad.append('include cycle: ' + ' -> '.join(stack[stack.index(m):] + [m]))
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(edges):
        if n not in state:
            visit(n)
    return bad


def check_sql(root):
    bad = []
    for rel in sorted(rel_files(root, ('.c', '.h', '.sh', '.py'))):
        if STORE_FILE.match(rel) or rel in SQL_ALLOWED or rel.startswith('tests/structure/'):
            continue
        with open(os.path.join(root, rel), encoding='utf-8', errors='replace') as fh:
            text = fh.read()
        if any(m in text for m in ('store-tamper:', 'agent-store:', 'gateway-store:',
                                   'store-server:')):
            continue
        for i, line in enumerate(text.splitlines(), 1):
            if SQL.search(line):
                bad.append(f'{rel}:{i}: SQL outside the store modules: {line.strip()[:80]}')
                break
    return bad


def check_vigilctl(binary):
    out = subprocess.run(['nm', '--defined-only', binary], capture_output=True, text=True,
                         check=True).stdout
    loop = sorted({l.split()[-1] for l in out.splitlines() if ' vgb_broker_' in l})
    return [f'{binary}: vigilctl links the broker loop ({", ".join(loop)})'] if loop else []


def main():
    root = sys.argv[1]
    bad = check_sizes(root) + check_cycles(root) + check_sql(root)
    if len(sys.argv) > 2:
        bad += check_vigilctl(sys.argv[2])
    for b in bad:
        print(b)
    print(f'structure: {len(bad)} problem(s)')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
