// Start/stop the two servers a benchmark compares, each as a child process on a free port:
//   couchsync       <python> -m couchsync serve --data-dir <fresh tmp dir>   (ready: GET /_up 200)
//   pouchdb-server  node bench/peer/pouchdb-server.mjs (in memory)           (ready: GET / 200)
// Both get the admin admin:secret; every request from the benchmark sends Basic auth.
//
// Every child and tmp dir is registered: stopAll() (async, SIGTERM then SIGKILL) on normal exit,
// and a synchronous SIGKILL + rm on process 'exit', so nothing outlives the benchmark — also on
// Ctrl-C / SIGTERM (installCleanupHandlers()).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from './fhirgen.mjs';

export const ADMIN = { username: 'admin', password: 'secret' };
export const AUTH_HEADER = 'Basic ' + Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64');

const CLK_TCK = 100; // USER_HZ on Linux
const servers = new Set();
const tmpDirs = new Set();

process.on('exit', () => {
  for (const s of servers) {
    try {
      s.child?.kill('SIGKILL');
    } catch {}
  }
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

let handlersInstalled = false;
/** On SIGINT/SIGTERM: stop the servers, delete tmp dirs, exit 130/143. */
export function installCleanupHandlers(onSignal = () => {}) {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ]) {
    process.on(sig, () => {
      onSignal(sig);
      process.stderr.write(`\n${sig}: stopping servers...\n`);
      stopAll(2000).finally(() => process.exit(code));
      setTimeout(() => process.exit(code), 4000).unref(); // the 'exit' hook SIGKILLs what is left
    });
  }
}

export async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

export class Server {
  /** kind: 'couchsync' | 'pouchdb-server'. */
  constructor(kind, { python = join(REPO_ROOT, '.venv', 'bin', 'python'), wrap = null, env = {} } = {}) {
    this.kind = kind;
    this.python = python;
    this.wrap = wrap; // optional [cmd, ...args] prefix for couchsync (e.g. py-spy record ... --)
    this.extraEnv = env;
    this.port = null;
    this.child = null;
    this.output = [];
    this.dataDir = null;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  dbUrl(name) {
    return `${this.url}/${encodeURIComponent(name)}`;
  }

  /** fetch with Basic auth; JSON content type for string bodies. */
  fetch(path, init = {}) {
    const headers = { Authorization: AUTH_HEADER, Accept: 'application/json', ...(init.headers || {}) };
    if (typeof init.body === 'string' && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
    return fetch(this.url + path, { ...init, headers });
  }

  async json(path, init = {}) {
    const r = await this.fetch(path, init);
    const text = await r.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: r.status, body };
  }

  async start({ timeoutMs = 30_000 } = {}) {
    this.port = await freePort();
    let cmd, args, readyPath;
    if (this.kind === 'couchsync') {
      this.dataDir = mkdtempSync(join(tmpdir(), 'couchsync-bench-'));
      tmpDirs.add(this.dataDir);
      cmd = this.python;
      args = ['-m', 'couchsync', 'serve', '--host', '127.0.0.1', '--port', String(this.port), '--data-dir', this.dataDir];
      if (this.wrap) {
        args = [...this.wrap.slice(1), cmd, ...args];
        cmd = this.wrap[0];
      }
      readyPath = '/_up';
    } else {
      cmd = process.execPath;
      args = [join(REPO_ROOT, 'bench', 'peer', 'pouchdb-server.mjs'), '--host', '127.0.0.1', '--port', String(this.port)];
      readyPath = '/';
    }
    const env = { ...process.env, COUCHSYNC_ADMIN: `${ADMIN.username}:${ADMIN.password}`, ...this.extraEnv };
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    servers.add(this);
    let exitInfo = null;
    child.exitPromise = new Promise((res) =>
      child.once('exit', (code, signal) => {
        exitInfo = { code, signal };
        if (this.child === child) this.child = null;
        res(exitInfo);
      }),
    );
    const collect = (chunk) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (e) => collect(`spawn error: ${e.message}\n`));

    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exitInfo) throw new Error(`${this.kind} exited before becoming ready (${JSON.stringify(exitInfo)}):\n${this.tail()}`);
      try {
        const r = await fetch(this.url + readyPath, { headers: { Authorization: AUTH_HEADER }, signal: AbortSignal.timeout(2000) });
        await r.arrayBuffer();
        if (r.status === 200) return this;
      } catch {}
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`${this.kind} not ready after ${timeoutMs} ms:\n${this.tail()}`);
      }
      await sleep(100);
    }
  }

  tail(n = 30) {
    return this.output.join('').split('\n').slice(-n).join('\n');
  }

  /** CPU seconds (user+system) the server process has used so far, or null (not Linux, or the
   * process is wrapped by a profiler so the pid is not the server's). */
  cpuSeconds() {
    if (!this.child || this.wrap) return null;
    try {
      const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / CLK_TCK;
    } catch {
      return null;
    }
  }

  alive() {
    return Boolean(this.child);
  }

  /** SIGTERM (SIGINT for a wrapped process), SIGKILL after timeoutMs; deletes the data dir. */
  async stop(timeoutMs = 8000) {
    const child = this.child;
    if (child) {
      child.kill(this.wrap ? 'SIGINT' : 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await child.exitPromise;
      clearTimeout(timer);
    }
    servers.delete(this);
    if (this.dataDir) {
      rmSync(this.dataDir, { recursive: true, force: true });
      tmpDirs.delete(this.dataDir);
    }
  }
}

export async function stopAll(timeoutMs = 8000) {
  await Promise.allSettled([...servers].map((s) => s.stop(timeoutMs)));
}
