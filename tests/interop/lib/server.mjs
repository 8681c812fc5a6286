// Start/stop the server under test as a subprocess on a free port with its own data dir.
//
//   const server = await startServer();            // couchsync (default)
//   COUCHSYNC_TEST_SERVER=pouchdb-server ...       // the reference peer (bench/peer/pouchdb-server.mjs)
//
// Other env knobs:
//   COUCHSYNC_PYTHON      python used to run couchsync (default <repo>/.venv/bin/python)
//   COUCHSYNC_TEST_LOG=1  copy the server's stdout/stderr to this process's stderr
//
// startServer({env: {COUCHSYNC_BCRYPT_ROUNDS: '4'}}) adds environment variables for the child.
//
// The handle offers url/dbUrl(), auth (PouchDB `auth` option), authHeader, fetch(path, init)
// (Basic auth added), stop() (SIGTERM), kill() (SIGKILL), start() / restart() (same port and
// data dir) and cleanup() (stop + delete the data dir). Every live child is SIGKILLed if this
// process exits without stopping it.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SERVER_KIND = process.env.COUCHSYNC_TEST_SERVER === 'pouchdb-server' ? 'pouchdb-server' : 'couchsync';
export const IS_PEER = SERVER_KIND === 'pouchdb-server';
export const ADMIN = { username: 'admin', password: 'secret' };
export const AUTH_HEADER = 'Basic ' + Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64');

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
});

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

export class TestServer {
  constructor({ kind = SERVER_KIND, persistent = false, startTimeoutMs = 30_000, env = {} } = {}) {
    this.kind = kind;
    this.env = { ...env }; // extra environment for the server process
    this.isPeer = kind === 'pouchdb-server';
    // The in-memory peer loses everything on restart; tests that restart ask for persistence.
    this.persistent = persistent;
    this.startTimeoutMs = startTimeoutMs;
    this.baseDir = mkdtempSync(join(tmpdir(), `couchsync-interop-${kind}-`));
    this.dataDir = join(this.baseDir, 'data');
    mkdirSync(this.dataDir); // fresh, empty
    this.port = null;
    this.child = null;
    this.output = []; // tail of the server's stdout+stderr
    this.auth = { ...ADMIN };
    this.authHeader = AUTH_HEADER;
    this.starts = 0;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  dbUrl(name) {
    return `${this.url}/${encodeURIComponent(name)}`;
  }

  /** fetch against the server with Basic auth (and JSON content type when a string body is given). */
  async fetch(path, init = {}) {
    const headers = new Headers(init.headers || {});
    if (!headers.has('Authorization')) headers.set('Authorization', this.authHeader);
    if (typeof init.body === 'string' && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
    if (!headers.has('Accept')) headers.set('Accept', 'application/json');
    return fetch(this.url + path, { ...init, headers });
  }

  /** fetch + JSON parse; returns {status, body, headers}. */
  async json(path, init = {}) {
    const r = await this.fetch(path, init);
    const text = await r.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: r.status, body, headers: r.headers };
  }

  _command() {
    if (this.isPeer) {
      const args = [join(REPO_ROOT, 'bench', 'peer', 'pouchdb-server.mjs'), '--port', String(this.port), '--host', '127.0.0.1'];
      if (this.persistent) args.push('--dir', this.dataDir);
      return { cmd: process.execPath, args, readyPath: '/' };
    }
    const python = process.env.COUCHSYNC_PYTHON || join(REPO_ROOT, '.venv', 'bin', 'python');
    return {
      cmd: python,
      args: ['-m', 'couchsync', 'serve', '--host', '127.0.0.1', '--port', String(this.port), '--data-dir', this.dataDir],
      readyPath: '/_up',
    };
  }

  async start() {
    if (this.child) throw new Error('server already running');
    if (this.port == null) this.port = await freePort();
    const { cmd, args, readyPath } = this._command();
    const env = { ...process.env, COUCHSYNC_ADMIN: `${ADMIN.username}:${ADMIN.password}`, ...this.env };
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.starts++;
    live.add(child);
    const exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
    child.exitPromise = exited;
    exited.then(() => {
      live.delete(child);
      if (this.child === child) this.child = null;
    });
    const collect = (chunk) => {
      const s = chunk.toString();
      if (process.env.COUCHSYNC_TEST_LOG) process.stderr.write(`[${this.kind}:${this.port}] ${s}`);
      this.output.push(s);
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (e) => collect(`spawn error: ${e.message}\n`));

    const deadline = Date.now() + this.startTimeoutMs;
    let exitInfo = null;
    exited.then((x) => (exitInfo = x));
    for (;;) {
      if (exitInfo) {
        throw new Error(
          `${this.kind} exited before becoming ready (code ${exitInfo.code}, signal ${exitInfo.signal}):\n${this.tail()}`,
        );
      }
      try {
        const r = await fetch(this.url + readyPath, {
          headers: { Authorization: this.authHeader },
          signal: AbortSignal.timeout(2000),
        });
        await r.arrayBuffer();
        if (r.status === 200) return this;
      } catch {}
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`${this.kind} not ready after ${this.startTimeoutMs} ms:\n${this.tail()}`);
      }
      await sleep(100);
    }
  }

  tail(n = 40) {
    return this.output.join('').split('\n').slice(-n).join('\n');
  }

  /** SIGTERM and wait (escalates to SIGKILL after timeoutMs). Resolves to {code, signal}. */
  async stop(timeoutMs = 10_000) {
    const child = this.child;
    if (!child) return null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const res = await child.exitPromise;
    clearTimeout(timer);
    return res;
  }

  /** SIGKILL and wait for the process to be gone. */
  async kill() {
    const child = this.child;
    if (!child) return null;
    child.kill('SIGKILL');
    return child.exitPromise;
  }

  /** Stop (SIGTERM, or SIGKILL with {kill: true}) and start again on the same port and data dir. */
  async restart({ kill = false } = {}) {
    if (kill) await this.kill();
    else await this.stop();
    // The port is ours again once the process is gone; retry a little if the bind races.
    let lastErr;
    for (let i = 0; i < 5; i++) {
      try {
        return await this.start();
      } catch (e) {
        lastErr = e;
        if (!/EADDRINUSE|address already in use/i.test(e.message)) throw e;
        await sleep(300);
      }
    }
    throw lastErr;
  }

  async cleanup() {
    await this.stop();
    rmSync(this.baseDir, { recursive: true, force: true });
  }
}

export async function startServer(opts = {}) {
  const s = new TestServer(opts);
  try {
    await s.start();
  } catch (e) {
    rmSync(s.baseDir, { recursive: true, force: true });
    throw e;
  }
  return s;
}
