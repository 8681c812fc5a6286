// PouchDB 9 (node build) + memory adapter + pouchdb-find, with helpers to track and close every
// instance a test creates, and an HTTP log of what remote instances sent and got back (dumped when
// a test fails, so a server bug report can quote the exact request/response).

import PouchDB from 'pouchdb';
import memoryAdapter from 'pouchdb-adapter-memory';
import findPlugin from 'pouchdb-find';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

PouchDB.plugin(memoryAdapter);
PouchDB.plugin(findPlugin);

export { PouchDB };

let counter = 0;

const MAX_BODY = 600;
function clip(s) {
  if (s == null) return s;
  s = String(s);
  return s.length > MAX_BODY ? s.slice(0, MAX_BODY) + `...[${s.length} chars]` : s;
}

/** Ring buffer of HTTP exchanges made by remote PouchDB instances. */
export class HttpLog {
  constructor(limit = 300) {
    this.limit = limit;
    this.entries = [];
  }

  push(e) {
    this.entries.push(e);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
  }

  /** A fetch function for PouchDB's `fetch` option that records each exchange. */
  fetchFn() {
    return async (url, opts = {}) => {
      const entry = { t: new Date().toISOString(), method: opts.method || 'GET', url: String(url) };
      if (typeof opts.body === 'string') {
        entry.reqBody = clip(opts.body);
        if (opts.body.length <= 100_000) entry.reqBodyFull = opts.body; // for tests that inspect requests
      }
      else if (opts.body) entry.reqBody = `[${opts.body.constructor?.name} body]`;
      this.push(entry);
      let resp;
      try {
        resp = await PouchDB.fetch(url, opts);
      } catch (e) {
        entry.error = `${e.name}: ${e.message}`;
        throw e;
      }
      entry.status = resp.status;
      const ctype = resp.headers.get('content-type') || '';
      // Only buffer bodies we can read without disturbing streaming (_changes longpolls) or
      // attachment downloads: errors, and JSON answers to POSTs (bulk_get/bulk_docs/revs_diff).
      const isChanges = /\/_changes(\?|$)/.test(entry.url);
      if ((!resp.ok || (entry.method === 'POST' && !isChanges)) && ctype.includes('json')) {
        const clone = resp.clone();
        clone.text().then(
          (t) => {
            entry.respBody = clip(t);
            // per-entry errors inside a 2xx bulk answer are worth flagging too
            if (resp.ok && /"error"\s*:/.test(t)) entry.flag = 'error-in-body';
          },
          () => {},
        );
      } else if (!resp.ok) {
        entry.respBody = `[content-type ${ctype}]`;
      }
      return resp;
    };
  }

  /** Entries worth looking at: non-2xx, network errors, errors inside bulk answers. */
  problems() {
    return this.entries.filter((e) => e.error || (e.status && e.status >= 400) || e.flag);
  }

  format(entries = this.entries, n = 60) {
    return entries
      .slice(-n)
      .map((e) => {
        let s = `${e.t} ${e.method} ${e.url} -> ${e.error ? 'NETWORK ' + e.error : e.status}`;
        if (e.reqBody) s += `\n    req: ${e.reqBody}`;
        if (e.respBody) s += `\n    resp: ${e.respBody}`;
        return s;
      })
      .join('\n');
  }

  dump(label = 'HTTP log') {
    const probs = this.problems();
    let out = `----- ${label}: ${this.entries.length} requests, ${probs.length} problems -----\n`;
    if (probs.length) out += `problem requests:\n${this.format(probs, 30)}\n`;
    out += `last requests:\n${this.format(this.entries, 40)}\n`;
    return out;
  }
}

/**
 * Tracks PouchDB instances made for one test file: mem() -> fresh in-memory db, remote(server,
 * name) -> http db on the server with Basic auth and the HTTP log. closeAll() closes everything.
 */
export class Dbs {
  constructor() {
    this.all = [];
    this.replications = [];
    this.log = new HttpLog();
  }

  /** Remember a replication/sync handler so closeAll() cancels it (even when a test failed). */
  track(handler) {
    this.replications.push(handler);
    return handler;
  }

  mem(prefix = 'local') {
    const db = new PouchDB(`${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`, {
      adapter: 'memory',
    });
    this.all.push(db);
    return db;
  }

  remote(server, name, opts = {}) {
    const db = new PouchDB(server.dbUrl(name), { auth: { ...server.auth }, fetch: this.log.fetchFn(), ...opts });
    this.all.push(db);
    return db;
  }

  async closeAll() {
    for (const h of this.replications.splice(0)) {
      try {
        h.cancel();
      } catch {}
    }
    const dbs = this.all.splice(0);
    await Promise.allSettled(dbs.map((db) => db.close()));
  }
}

/**
 * Run a test body; on failure print the HTTP log (and the server's output tail) to stderr so the
 * failing exchange is visible in the test report.
 */
export function logged(dbs, getServer, fn) {
  return async (t) => {
    try {
      await fn(t);
    } catch (e) {
      const server = typeof getServer === 'function' ? getServer() : getServer;
      let msg = `\n===== FAILED: ${t.name} =====\n${dbs.log.dump()}`;
      if (server) msg += `----- ${server.kind} output tail -----\n${server.tail(30)}\n`;
      process.stderr.write(msg);
      throw e;
    }
  };
}

/** Poll fn() until it returns a truthy value (or doesn't throw); fail after timeoutMs. */
export async function waitFor(fn, { timeoutMs = 5000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${lastErr.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * Normalise a doc for cross-database comparison: _conflicts / _deleted_conflicts are sorted (their
 * order is not semantic: CouchDB lists them by (pos, revid) descending, PouchDB's adapters differ).
 * Key order never matters for deepStrictEqual.
 */
export function normDoc(doc) {
  if (!doc || typeof doc !== 'object') return doc;
  const out = { ...doc };
  for (const k of ['_conflicts', '_deleted_conflicts']) if (Array.isArray(out[k])) out[k] = [...out[k]].sort();
  return out;
}

/** allDocs rows with include_docs+conflicts, normalised for deepStrictEqual across dbs. */
export async function snapshot(db, opts = {}) {
  const res = await db.allDocs({ include_docs: true, conflicts: true, ...opts });
  return res.rows.map((r) => ({ id: r.id, rev: r.value?.rev, doc: normDoc(r.doc) }));
}

/** Wait until every db has the same snapshot as the first; on timeout fail with the diff. */
export async function waitConverged(dbList, { timeoutMs = 5000, what = 'databases to converge' } = {}) {
  let snaps;
  try {
    await waitFor(
      async () => {
        snaps = await Promise.all(dbList.map((db) => snapshot(db)));
        return snaps.every((s) => isDeepStrictEqual(s, snaps[0]));
      },
      { timeoutMs, what },
    );
  } catch (e) {
    for (const [i, s] of snaps.entries()) {
      const a = new Map(snaps[0].map((r) => [r.id, r]));
      const b = new Map(s.map((r) => [r.id, r]));
      const diff = [...new Set([...a.keys(), ...b.keys()])].filter((id) => !isDeepStrictEqual(a.get(id), b.get(id)));
      if (diff.length) {
        assert.deepStrictEqual(
          diff.slice(0, 3).map((id) => b.get(id)),
          diff.slice(0, 3).map((id) => a.get(id)),
          `${e.message}: ${dbList[i].name} differs from ${dbList[0].name} in ${diff.length} docs (first: ${diff.slice(0, 3)})`,
        );
      }
    }
    throw e;
  }
  return snaps[0];
}

/** Wrap a promise with a timeout so nothing can hang a test forever. */
export async function withTimeout(promise, ms, what = 'operation') {
  let timer;
  const t = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, t]);
  } finally {
    clearTimeout(timer);
  }
}
