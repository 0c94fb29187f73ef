// net.mjs — a live vigil network for the browser tests, made and run the
// way an administrator would: `vigilctl init` in a scratch directory, the
// real vigil-broker on a free 127.0.0.1 port, the real vigil-gateway of
// each agency under test (--listen 127.0.0.1:0, its URL read from its
// gateway.ready line), officers made with `vigil-gateway officer add`
// (password on stdin), alerts published and receipted with vigil-agent.
//
// Every wait is bounded; processes are stopped by pid; each process's
// output goes to a log file in the scratch directory, and dump() prints the
// logs of a failed test. The binaries come from VG_BIN_DIR.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls fn (sync or async) until it returns a truthy value, at most ms.
export async function waitFor(fn, ms, what, every = 50) {
  const until = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
    } catch (err) {
      last = undefined;
      if (Date.now() >= until) throw new Error(`timed out after ${ms} ms waiting for ${what}: ${err.message}`);
    }
    if (last) return last;
    if (Date.now() >= until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export class Net {
  // opts: {bin, agencies: [...], deadline: 'high=4s', keep: false}
  static async create(opts) {
    const n = new Net();
    n.bin = opts.bin || process.env.VG_BIN_DIR;
    if (!n.bin) throw new Error('set VG_BIN_DIR to the directory of the vigil binaries');
    n.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-webconsole-'));
    n.dir = path.join(n.tmp, 'net');
    n.port = await freePort();
    n.endpoint = `tcp://127.0.0.1:${n.port}`;
    n.procs = new Map(); // name -> {child, log}
    n.gateways = new Map(); // agency -> {url, log}
    const args = ['init', n.dir, '--agencies', opts.agencies.join(','), '--oversight', 'oversight', '--endpoint', n.endpoint];
    if (opts.deadline) args.push('--deadline', opts.deadline);
    n.run('vigilctl', args);
    return n;
  }

  logPath(name) {
    return path.join(this.tmp, `${name}.log`);
  }

  conf(agency) {
    return path.join(this.dir, 'agents', agency, 'agent.conf');
  }

  // Runs a binary to completion; throws with its output when it fails.
  run(binary, args, input) {
    const r = spawnSync(path.join(this.bin, binary), args, { input, encoding: 'utf8', timeout: 30000 });
    if (r.status !== 0) {
      throw new Error(`${binary} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
    }
    return r.stdout.trim();
  }

  agent(agency, ...args) {
    return this.run('vigil-agent', ['-c', this.conf(agency), ...args]);
  }

  // Appends keys to the [gateway] section (the last one vigilctl writes).
  setGateway(agency, keys) {
    const lines = Object.entries(keys).map(([k, v]) => `${k} = ${v}`);
    fs.appendFileSync(this.conf(agency), `\n${lines.join('\n')}\n`);
  }

  officerAdd(agency, name, role, password) {
    return this.run('vigil-gateway', ['-c', this.conf(agency), 'officer', 'add', name, '--role', role], `${password}\n`);
  }

  spawnLogged(name, binary, args) {
    const log = this.logPath(name);
    const fd = fs.openSync(log, 'a');
    const child = spawn(path.join(this.bin, binary), args, { stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    this.procs.set(name, { child, log });
    return { child, log };
  }

  async startBroker() {
    const log = this.logPath('broker');
    const before = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').length : 0;
    const { child } = this.spawnLogged('broker', 'vigil-broker', ['-c', path.join(this.dir, 'broker', 'broker.conf')]);
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`the broker exited: ${fs.readFileSync(log, 'utf8')}`);
      return fs.readFileSync(log, 'utf8').slice(before).includes(' broker.ready ');
    }, 10000, 'broker.ready');
  }

  // SIGKILL: a crash, nothing flushed.
  async killBroker() {
    await this.killProc('broker', 'SIGKILL');
  }

  // Stops a process by pid; its exit status (null when it was not running).
  async killProc(name, signal = 'SIGTERM') {
    const p = this.procs.get(name);
    if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return null;
    const exited = new Promise((resolve) => p.child.once('exit', (code, sig) => resolve({ code, sig })));
    p.child.kill(signal);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 10000);
    const st = await exited;
    clearTimeout(timer);
    return st;
  }

  // A gateway for agency on a free port: {url}.
  async startGateway(agency) {
    const name = `gateway-${agency}`;
    const log = this.logPath(name);
    const before = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').length : 0;
    const { child } = this.spawnLogged(name, 'vigil-gateway', ['-c', this.conf(agency), 'run', '--listen', '127.0.0.1:0']);
    const url = await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`the gateway exited: ${fs.readFileSync(log, 'utf8')}`);
      const m = / gateway\.ready .*url=(\S+)/.exec(fs.readFileSync(log, 'utf8').slice(before));
      return m ? m[1] : null;
    }, 15000, `${agency}'s gateway.ready`);
    // Until it knows where the agency's event stream stands (GET /v1/health events.head).
    this.gateways.set(agency, { url, log });
    return { url, log };
  }

  gatewayLog(agency) {
    return fs.readFileSync(this.logPath(`gateway-${agency}`), 'utf8');
  }

  // A vigil-agent listen for agency in the background (its inbox fills).
  startListener(agency) {
    this.spawnLogged(`listen-${agency}`, 'vigil-agent', ['-c', this.conf(agency), 'listen']);
  }

  // Publishes as agency; returns the alert id.
  publish(agency, args) {
    return this.agent(agency, 'publish', '--timeout', '10s', ...args).split('\n').pop().trim();
  }

  // vigil-agent status --json of id as agency.
  status(agency, id) {
    return JSON.parse(this.agent(agency, 'status', id, '--json'));
  }

  // Waits until agency's recipient state of id is one of states (as agency `as` sees it).
  async waitState(as, id, agency, states, ms = 10000) {
    await waitFor(() => {
      const st = this.status(as, id);
      const r = st.recipients.find((x) => x.agency === agency);
      return r && states.includes(r.state);
    }, ms, `${agency} ${states.join('|')} on ${id}`, 200);
  }

  dump() {
    for (const f of fs.readdirSync(this.tmp).filter((x) => x.endsWith('.log'))) {
      process.stderr.write(`---- ${f} ----\n${fs.readFileSync(path.join(this.tmp, f), 'utf8').slice(-20000)}\n`);
    }
  }

  // Stops every process with SIGTERM. Each must exit 0 by itself: under
  // AddressSanitizer a leak or a memory error is a non-zero exit, which
  // fails the test (the logs say what). Throws then, after cleaning up.
  async stop({ failed = false } = {}) {
    const bad = [];
    for (const name of [...this.procs.keys()].reverse()) {
      const st = await this.killProc(name);
      if (st && st.code !== 0) bad.push(`${name} exited ${st.code === null ? `by ${st.sig}` : st.code}`);
    }
    if (failed || bad.length > 0) this.dump();
    if (!process.env.VG_KEEP_NET) fs.rmSync(this.tmp, { recursive: true, force: true });
    else process.stderr.write(`net kept in ${this.tmp}\n`);
    if (bad.length > 0 && !failed) throw new Error(`not a clean stop: ${bad.join(', ')}`);
  }
}
