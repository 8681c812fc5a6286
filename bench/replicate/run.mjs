#!/usr/bin/env node
// bench/replicate — PouchDB 9 replication throughput and raw server capacity of couchsync,
// compared in the same run with pouchdb-server 4.2.0 and a memory-to-memory PouchDB ceiling, and the
// cost of couchsync's audit trail: a second couchsync with COUCHSYNC_AUDIT=false runs the same
// measurements, interleaved, and the report compares audit on with audit off (target: within 15%).
// Run on demand (never part of the test suite); prints a table, asserts nothing.
//
//   node --expose-gc bench/replicate/run.mjs [--docs 10000] [--reps 3] [options]   (or run.sh)
//
// See bench/README.md for what each figure means. --help lists the options.

import http from 'node:http';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import PouchDB from 'pouchdb';
import memoryAdapter from 'pouchdb-adapter-memory';
import { parseOptions } from '../lib/options.mjs';
import { generateDocs, REPO_ROOT } from '../lib/fhirgen.mjs';
import { ADMIN, Server, installCleanupHandlers, stopAll } from '../lib/servers.mjs';

PouchDB.plugin(memoryAdapter);

const HELP = `Usage: node --expose-gc bench/replicate/run.mjs [options]   (or bench/replicate/run.sh [options])

  --docs N              documents per run (default 10000)
  --reps N              repetitions per measurement (default 3); the median is reported
  --seed N              generator seed (default 42)
  --batch-size N        PouchDB replication batch_size (default 100 = PouchDB's default)
  --batches-limit N     PouchDB replication batches_limit (default 10 = PouchDB's default)
  --bulk-batch N        docs per raw _bulk_docs request (default 1000)
  --conns N             concurrent connections for raw _bulk_docs (default 4)
  --changes-limit N     page size (limit=) of the raw _changes reads, 0 = unlimited (default 10000)
  --changes-readers N   concurrent readers for the "N readers" _changes row (default 4; 0 skips it)
  --skip LIST           comma list of: peer, ceiling, pouch (push/pull), raw (bulk_docs/_changes),
                        noaudit (the second couchsync, audit off, for the audit-cost comparison)
  --python PATH         python running couchsync (default <repo>/.venv/bin/python)
  --py-spy FILE         run couchsync under "py-spy record" and write FILE (speedscope JSON if it
                        ends in .json, flamegraph SVG if .svg, else collapsed stacks, summarised
                        after the table by bench/lib/pyspy_summary.py); needs py-spy on PATH or in
                        the venv. Profiling slows couchsync: read its rates as relative only
  --py-spy-args "..."   extra py-spy record arguments, e.g. "--native" or "--rate 500"
  --keep-alive          give PouchDB's HTTP client a keep-alive agent. By default PouchDB 9 in Node
                        (node-fetch 2 without an agent) sends "Connection: close", i.e. one new TCP
                        connection per request; browsers keep connections alive
  --trace-http          time every HTTP request PouchDB makes during push/pull (request → body
                        fully read) and print per-endpoint totals: where replication wall time goes
                        (adds a little client overhead; the main table is then slightly pessimistic)
  --timeout S           give up on one measurement after S seconds (default 300)
  --json FILE           also write every measurement as JSON to FILE
  -h, --help
`;

const { opt, int } = parseOptions({
  docs: { type: 'string', default: '10000' },
  reps: { type: 'string', default: '3' },
  seed: { type: 'string', default: '42' },
  'batch-size': { type: 'string', default: '100' },
  'batches-limit': { type: 'string', default: '10' },
  'bulk-batch': { type: 'string', default: '1000' },
  conns: { type: 'string', default: '4' },
  'changes-limit': { type: 'string', default: '10000' },
  'changes-readers': { type: 'string', default: '4' },
  skip: { type: 'string', default: '' },
  python: { type: 'string', default: join(REPO_ROOT, '.venv', 'bin', 'python') },
  'py-spy': { type: 'string' },
  'py-spy-args': { type: 'string', default: '' },
  timeout: { type: 'string', default: '300' },
  'trace-http': { type: 'boolean', default: false },
  'keep-alive': { type: 'boolean', default: false },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
}, HELP);
const N = int('docs', 1);
const REPS = int('reps', 1);
const SEED = int('seed');
const BATCH_SIZE = int('batch-size', 1);
const BATCHES_LIMIT = int('batches-limit', 1);
const BULK_BATCH = int('bulk-batch', 1);
const CONNS = int('conns', 1);
const CHANGES_LIMIT = int('changes-limit');
const CHANGES_READERS = int('changes-readers');
const TIMEOUT_MS = int('timeout', 1) * 1000;
const SKIP = new Set(opt.skip.split(',').map((s) => s.trim()).filter(Boolean));
for (const s of SKIP) {
  if (!['peer', 'ceiling', 'pouch', 'raw', 'noaudit'].includes(s)) {
    console.error(`--skip: unknown phase ${s}`);
    process.exit(2);
  }
}

const KINDS = ['couchsync', 'couchsync-noaudit', 'pouchdb-server'];
const gc = globalThis.gc || (() => {});
const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const fmt = (n) => (n == null || Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US'));
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

let aborted = false;
installCleanupHandlers(() => (aborted = true));
// After Ctrl-C the servers (same process group) die first; in-flight PouchDB requests then fail.
// Ignore those while the cleanup handler stops everything.
process.on('unhandledRejection', (e) => {
  if (!aborted) throw e;
});
process.on('uncaughtException', (e) => {
  if (aborted) return;
  console.error(e);
  process.exit(1); // the 'exit' hook in bench/lib/servers.mjs kills the servers
});

// ---------------------------------------------------------------------------------------------
// Measurements. Each returns {rate, seconds, n, serverCpu, clientCpu}; failures throw and are
// recorded per phase.

let memCounter = 0;
const memDb = (tag) => new PouchDB(`bench-${tag}-${process.pid}-${++memCounter}`, { adapter: 'memory' });
const keepAliveAgent = opt['keep-alive'] ? new http.Agent({ keepAlive: true, maxSockets: 16 }) : null;
const pouchFetch = keepAliveAgent ? (url, opts = {}) => PouchDB.fetch(url, { ...opts, agent: keepAliveAgent }) : null;
const remoteDb = (server, name, trace = null) => {
  const fetchFn = trace ? tracingFetch(trace) : pouchFetch;
  return new PouchDB(server.dbUrl(name), { auth: { ...ADMIN }, skip_setup: true, ...(fetchFn ? { fetch: fetchFn } : {}) });
};

/** Endpoint key for a PouchDB request URL: "POST _bulk_docs", "GET _local", "GET db", ... */
function endpointOf(method, url) {
  const path = new URL(url).pathname.split('/').slice(2); // drop '' and the db name
  const first = decodeURIComponent(path[0] || '');
  return `${method} ${first === '' ? 'db' : first.startsWith('_') ? first : 'doc'}`;
}

/** PouchDB `fetch` option that times each request until its body is fully read, into trace. */
function tracingFetch(trace) {
  return async (url, opts = {}) => {
    const t0 = performance.now();
    const resp = await (pouchFetch || PouchDB.fetch)(url, opts);
    const buf = await resp.arrayBuffer();
    const ms = performance.now() - t0;
    const key = endpointOf(opts.method || 'GET', String(url));
    const e = (trace[key] ||= { count: 0, ms: 0, reqBytes: 0, respBytes: 0 });
    e.count++;
    e.ms += ms;
    e.reqBytes += typeof opts.body === 'string' ? Buffer.byteLength(opts.body) : 0;
    e.respBytes += buf.byteLength;
    const nullBody = [101, 204, 205, 304].includes(resp.status);
    return new Response(nullBody ? null : buf, { status: resp.status, statusText: resp.statusText, headers: [...resp.headers] });
  };
}

const repOpts = () => ({ batch_size: BATCH_SIZE, batches_limit: BATCHES_LIMIT });

/** Wall time plus CPU seconds of the server process and of this (client) process. */
function startClock(server) {
  gc();
  const s0 = server?.cpuSeconds() ?? null;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return (n) => {
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const s1 = server?.cpuSeconds() ?? null;
    return { rate: n / seconds, seconds, n, serverCpu: s0 != null && s1 != null ? s1 - s0 : null, clientCpu: (c.user + c.system) / 1e6 };
  };
}

async function withTimeout(promise, what, onTimeout = () => {}) {
  let timer;
  const t = new Promise((_, rej) => {
    timer = setTimeout(() => {
      onTimeout();
      rej(new Error(`${what}: no result after ${TIMEOUT_MS / 1000} s`));
    }, TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, t]);
  } finally {
    clearTimeout(timer);
  }
}

async function createRemote(server, name) {
  const r = await server.fetch(`/${encodeURIComponent(name)}`, { method: 'PUT' });
  const body = await r.text();
  if (r.status !== 201) throw new Error(`PUT /${name} on ${server.label}: ${r.status} ${body}`);
}

async function deleteRemote(server, name) {
  try {
    const r = await server.fetch(`/${encodeURIComponent(name)}`, { method: 'DELETE' });
    await r.arrayBuffer();
  } catch {}
}

async function remoteDocCount(server, name) {
  const { status, body } = await server.json(`/${encodeURIComponent(name)}`);
  if (status !== 200) throw new Error(`GET /${name}: ${status} ${JSON.stringify(body)}`);
  return body.doc_count;
}

/** Timed replication source -> target; checks that all N docs were written. */
async function timedReplication(source, target, what, server = null, trace = null) {
  for (const k of Object.keys(trace || {})) delete trace[k];
  const clock = startClock(server);
  const rep = PouchDB.replicate(source, target, repOpts());
  const res = await withTimeout(rep, what, () => rep.cancel());
  const m = clock(N);
  if (trace) m.http = structuredClone(trace);
  if (res.status !== 'complete' || res.doc_write_failures || res.docs_written !== N) {
    throw new Error(
      `${what}: status ${res.status}, docs_written ${res.docs_written}/${N}, failures ${res.doc_write_failures}` +
        (res.errors?.length ? `, first error ${JSON.stringify(res.errors[0])}` : ''),
    );
  }
  return m;
}

async function measureCeiling(source) {
  const target = memDb('ceiling');
  try {
    const r = await timedReplication(source, target, 'memory->memory');
    const info = await target.info();
    if (info.doc_count !== N) throw new Error(`memory->memory: target has ${info.doc_count}/${N} docs`);
    return r;
  } finally {
    await target.destroy();
  }
}

/** Push source -> fresh remote db, then pull that db -> fresh memory db. Returns {push, pull}. */
async function measurePushPull(server, source, name, out) {
  await createRemote(server, name);
  const trace = opt['trace-http'] ? {} : null;
  const remote = remoteDb(server, name, trace);
  try {
    try {
      out.push = await timedReplication(source, remote, `push to ${server.label}`, server, trace);
      const count = await remoteDocCount(server, name);
      if (count !== N) throw new Error(`push to ${server.label}: server has ${count}/${N} docs`);
    } catch (e) {
      out.push = { error: e.message };
      return;
    }
    const local = memDb('pull');
    try {
      out.pull = await timedReplication(remote, local, `pull from ${server.label}`, server, trace);
      const info = await local.info();
      if (info.doc_count !== N) throw new Error(`pull from ${server.label}: local has ${info.doc_count}/${N} docs`);
    } catch (e) {
      out.pull = { error: e.message };
    } finally {
      await local.destroy();
    }
  } finally {
    await remote.close();
    await deleteRemote(server, name);
  }
}

/** Raw _bulk_docs new_edits:false: `bodies` (pre-serialised) over CONNS concurrent connections. */
async function measureBulkDocs(server, name, bodies) {
  await createRemote(server, name);
  let next = 0;
  const errors = [];
  const worker = async () => {
    while (next < bodies.length && !aborted) {
      const body = bodies[next++];
      const r = await server.fetch(`/${encodeURIComponent(name)}/_bulk_docs`, { method: 'POST', body });
      const text = await r.text();
      if (r.status !== 201 && r.status !== 200) errors.push(`${r.status} ${text.slice(0, 300)}`);
      else if (text.includes('"error"')) errors.push(`per-doc error: ${text.slice(0, 300)}`);
    }
  };
  const clock = startClock(server);
  await withTimeout(Promise.all(Array.from({ length: CONNS }, worker)), `_bulk_docs on ${server.label}`);
  const m = clock(N);
  if (errors.length) throw new Error(`_bulk_docs on ${server.label}: ${errors.length} failed requests, first: ${errors[0]}`);
  const count = await remoteDocCount(server, name);
  if (count !== N) throw new Error(`_bulk_docs on ${server.label}: server has ${count}/${N} docs`);
  return m;
}

const LAST_SEQ_RE = /"last_seq"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)/;
const EMPTY_RESULTS_RE = /^\s*\{\s*"results"\s*:\s*\[\s*\]/;

/**
 * One full read of the _changes feed with include_docs, in pages of CHANGES_LIMIT (0 = one
 * unlimited request). Only the transfer is timed: each page is read as text and its last_seq taken
 * from the tail; the pages are JSON-parsed and checked afterwards.
 */
async function readChangesFeed(server, name) {
  const pages = [];
  let since = '0';
  for (;;) {
    const q = `include_docs=true&since=${encodeURIComponent(since)}` + (CHANGES_LIMIT ? `&limit=${CHANGES_LIMIT}` : '');
    const r = await server.fetch(`/${encodeURIComponent(name)}/_changes?${q}`);
    const text = await r.text();
    if (r.status !== 200) throw new Error(`_changes on ${server.label}: ${r.status} ${text.slice(0, 300)}`);
    if (EMPTY_RESULTS_RE.test(text)) break;
    pages.push(text);
    if (!CHANGES_LIMIT) break;
    const m = LAST_SEQ_RE.exec(text.slice(-400)) || LAST_SEQ_RE.exec(text);
    if (!m) throw new Error(`_changes on ${server.label}: no last_seq in page`);
    since = JSON.parse(m[1]);
    if (typeof since !== 'string') since = String(since);
    if (pages.length > N + 1) throw new Error(`_changes on ${server.label}: feed does not end`);
  }
  return pages;
}

function checkChangesPages(server, pages) {
  const ids = new Set();
  for (const p of pages) {
    for (const row of JSON.parse(p).results) {
      if (!row.doc || row.doc._id !== row.id) throw new Error(`_changes on ${server.label}: row ${row.id} without its doc`);
      ids.add(row.id);
    }
  }
  if (ids.size !== N) throw new Error(`_changes on ${server.label}: ${ids.size}/${N} docs in the feed`);
}

async function measureChanges(server, name, readers) {
  const clock = startClock(server);
  const all = await withTimeout(
    Promise.all(Array.from({ length: readers }, () => readChangesFeed(server, name))),
    `_changes on ${server.label}`,
  );
  const m = clock(N * readers);
  for (const pages of all) checkChangesPages(server, pages);
  return m;
}

async function measureRaw(server, name, bodies, out) {
  try {
    out.bulk = await measureBulkDocs(server, name, bodies);
  } catch (e) {
    out.bulk = { error: e.message };
    await deleteRemote(server, name);
    return;
  }
  try {
    out.changes = await measureChanges(server, name, 1);
  } catch (e) {
    out.changes = { error: e.message };
  }
  if (CHANGES_READERS > 0) {
    try {
      out.changesN = await measureChanges(server, name, CHANGES_READERS);
    } catch (e) {
      out.changesN = { error: e.message };
    }
  }
  await deleteRemote(server, name);
}

// ---------------------------------------------------------------------------------------------

function versionOf(pkgDir) {
  try {
    return createRequire(join(REPO_ROOT, 'package.json'))(`${pkgDir}/package.json`).version;
  } catch {
    return '?';
  }
}

let pySpyRate = '200';
function pySpyCommand(file) {
  const candidates = [join(REPO_ROOT, '.venv', 'bin', 'py-spy'), 'py-spy'];
  for (const c of candidates) {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      const format = file.endsWith('.json') ? 'speedscope' : file.endsWith('.svg') ? 'flamegraph' : 'raw';
      const extra = opt['py-spy-args'].split(/\s+/).filter(Boolean);
      const i = extra.findIndex((a) => a === '--rate' || a === '-r' || a.startsWith('--rate='));
      pySpyRate = i < 0 ? '200' : extra[i].startsWith('--rate=') ? extra[i].slice(7) : extra[i + 1];
      const rate = i < 0 ? ['--rate', pySpyRate] : [];
      return [c, 'record', ...rate, ...extra, '--format', format, '-o', file, '--'];
    } catch {}
  }
  throw new Error('--py-spy: py-spy not found (pip install py-spy into the venv)');
}

async function main() {
  const t00 = performance.now();
  const loadStart = loadavg()[0];
  log(`generating ${N.toLocaleString('en-US')} docs (seed ${SEED})`);
  const { docs, meanBytes } = generateDocs(N, { seed: SEED });

  // One client-side source db, loaded once (untimed) and reused by every push and ceiling run:
  // fixed revs, so every server receives the very same documents.
  const source = memDb('source');
  for (let i = 0; i < docs.length; i += 1000) {
    const res = await source.bulkDocs(structuredClone(docs.slice(i, i + 1000)));
    if (res.some((r) => r.error)) throw new Error(`loading the source db: ${JSON.stringify(res.find((r) => r.error))}`);
  }
  const withRevs = (await source.allDocs({ include_docs: true })).rows.map((r) => r.doc);
  const bodies = [];
  for (let i = 0; i < withRevs.length; i += BULK_BATCH) {
    bodies.push(JSON.stringify({ new_edits: false, docs: withRevs.slice(i, i + BULK_BATCH) }));
  }

  const wrap = opt['py-spy'] ? pySpyCommand(opt['py-spy']) : null;
  const cs = new Server('couchsync', { python: opt.python, wrap, env: { COUCHSYNC_AUDIT: 'true' } });
  cs.label = 'couchsync';
  const csOff = SKIP.has('noaudit') ? null
    : new Server('couchsync', { python: opt.python, env: { COUCHSYNC_AUDIT: 'false' } });
  if (csOff) csOff.label = 'couchsync-noaudit';
  const peer = SKIP.has('peer') ? null : new Server('pouchdb-server');
  if (peer) peer.label = 'pouchdb-server';
  log('starting couchsync' + (csOff ? ' (audit on and off)' : '') + (peer ? ' and pouchdb-server' : ''));
  await Promise.all([cs.start({ timeoutMs: wrap ? 60_000 : 30_000 }), csOff?.start(), peer?.start()]);
  const servers = [cs, csOff, peer].filter(Boolean);
  const csVersion = (await cs.json('/')).body?.version ?? '?';

  // Warm-up (untimed): a small push + _changes read on each server, and one memory replication.
  const warmN = Math.min(500, N);
  const warmSrc = memDb('warm');
  await warmSrc.bulkDocs(structuredClone(docs.slice(0, warmN)));
  for (const s of servers) {
    const name = `bench-warmup-${process.pid}`;
    await createRemote(s, name);
    const w = await PouchDB.replicate(warmSrc, remoteDb(s, name), repOpts());
    if (w.docs_written !== warmN) throw new Error(`warm-up push to ${s.label}: ${w.docs_written}/${warmN} docs written`);
    const r = await s.fetch(`/${name}/_changes?include_docs=true`);
    await r.text();
    await deleteRemote(s, name);
  }
  const warmDst = memDb('warm-dst');
  await PouchDB.replicate(warmSrc, warmDst, repOpts());
  await warmSrc.destroy();
  await warmDst.destroy();

  // {rep, ceiling, couchsync: {push,pull,bulk,changes,changesN}, 'couchsync-noaudit': {...}, 'pouchdb-server': {...}}
  const runs = [];
  for (let rep = 1; rep <= REPS && !aborted; rep++) {
    const row = { rep, ceiling: null };
    for (const s of servers) row[s.label] = {};
    runs.push(row);
    // Alternate which server goes first, so slow drift (thermal, GC, page cache) hits both alike.
    const order = rep % 2 ? servers : [...servers].reverse();
    if (!SKIP.has('ceiling')) {
      log(`rep ${rep}/${REPS}: memory->memory ceiling`);
      try {
        row.ceiling = await measureCeiling(source);
      } catch (e) {
        row.ceiling = { error: e.message };
      }
    }
    if (!SKIP.has('pouch')) {
      for (const s of order) {
        if (aborted) break;
        log(`rep ${rep}/${REPS}: PouchDB push + pull, ${s.label}`);
        await measurePushPull(s, source, `bench-pouch-r${rep}-${process.pid}`, row[s.label]);
        if (!s.alive()) throw new Error(`${s.label} died:\n${s.tail()}`);
      }
    }
    if (!SKIP.has('raw')) {
      for (const s of order) {
        if (aborted) break;
        log(`rep ${rep}/${REPS}: raw _bulk_docs + _changes, ${s.label}`);
        await measureRaw(s, `bench-raw-r${rep}-${process.pid}`, bodies, row[s.label]);
        if (!s.alive()) throw new Error(`${s.label} died:\n${s.tail()}`);
      }
    }
  }

  await source.destroy();
  log('stopping servers');
  await stopAll();
  if (opt['py-spy']) log(`py-spy profile written to ${opt['py-spy']}`);
  const wall = (performance.now() - t00) / 1000;

  report({ meanBytes, csVersion, runs, wall, load: [loadStart, loadavg()[0]] });
  if (wrap && wrap.includes('raw')) {
    try {
      const summary = execFileSync(opt.python, [join(REPO_ROOT, 'bench', 'lib', 'pyspy_summary.py'), opt['py-spy'], '--rate', pySpyRate], {
        encoding: 'utf8',
      });
      process.stdout.write('\n' + summary);
    } catch (e) {
      log(`py-spy summary failed: ${e.message}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

function perRep(m) {
  if (!m) return '—';
  if (m.error) return 'FAILED';
  const cpu = (v) => (v == null ? '–' : v.toFixed(2));
  return `${fmt(m.rate)} (${m.seconds.toFixed(2)} s; ${cpu(m.serverCpu)}/${cpu(m.clientCpu)})`;
}

function report({ meanBytes, csVersion, runs, wall, load }) {
  const pick = (kind, key) => runs.map((r) => (kind === 'ceiling' ? r.ceiling : r[kind]?.[key]) || null);
  const med = (kind, key) => median(pick(kind, key).map((m) => m?.rate));
  const errs = [];
  for (const r of runs) {
    if (r.ceiling?.error) errs.push(`rep ${r.rep} ceiling: ${r.ceiling.error}`);
    for (const kind of KINDS) {
      for (const [k, m] of Object.entries(r[kind] || {})) if (m?.error) errs.push(`rep ${r.rep} ${kind} ${k}: ${m.error}`);
    }
  }
  const hasPeer = runs.some((r) => r['pouchdb-server']);
  const ceiling = median(pick('ceiling').map((m) => m?.rate));
  const ratio = (a, b) => (a != null && b ? a / b : null);
  const x = (v) => (v == null ? '—' : `${v.toFixed(2)}×`);
  const pct = (v) => (v == null ? '—' : `${Math.round(v * 100)}%`);
  const mark = (ok) => (ok == null ? ' ' : ok ? '✓' : '✗');

  const lines = [];
  const w = (s = '') => lines.push(s);
  const col = (s, n) => String(s).padStart(n);
  const label = (s) => s.padEnd(44);

  w();
  w(`bench/replicate — ${N.toLocaleString('en-US')} docs (mean ${Math.round(meanBytes)} B JSON, seed ${SEED}), ` +
    `${REPS} repetition${REPS > 1 ? 's' : ''}, median of each`);
  w(`client: PouchDB ${versionOf('pouchdb')} (memory adapter), node ${process.version}, batch_size ${BATCH_SIZE}, ` +
    `batches_limit ${BATCHES_LIMIT}, ${opt['keep-alive'] ? 'keep-alive agent' : 'Connection: close (PouchDB default)'}` +
    `${opt['trace-http'] ? ', --trace-http' : ''}`);
  w(`machine: ${cpus().length} CPUs, 1-min load average ${load[0].toFixed(1)} at start / ${load[1].toFixed(1)} at end ` +
    `(other load skews the figures; interleaving spreads it over both servers); wall ${wall.toFixed(0)} s`);
  w(`servers: couchsync ${csVersion} (sqlite, fresh tmp dir)` +
    (hasPeer ? ` vs pouchdb-server ${versionOf('pouchdb-server')} (in-memory)` : ''));
  w();
  w(label('') + col('couchsync', 11) + col('pouchdb-srv', 13) + col('mem→mem', 10) + col('cs/peer', 9) + col('cs/ceiling', 12) +
    col('cs per CPU-s', 14) + col('peer per CPU-s', 16));
  const perCpu = (kind, key) => median(pick(kind, key).map((m) => (m?.serverCpu ? m.n / m.serverCpu : null)));
  const ran = (key) => runs.some((r) => r.couchsync?.[key] || r['pouchdb-server']?.[key]);
  const rowFor = (title, key, unit, withCeiling) => {
    const c = med('couchsync', key);
    const p = hasPeer ? med('pouchdb-server', key) : null;
    if (!ran(key)) return { c, p };
    w(label(`${title} (${unit})`) + col(fmt(c), 11) + col(hasPeer ? fmt(p) : '—', 13) +
      col(withCeiling ? fmt(ceiling) : '', 10) + col(x(ratio(c, p)), 9) + col(withCeiling ? pct(ratio(c, ceiling)) : '', 12) +
      col(fmt(perCpu('couchsync', key)), 14) + col(hasPeer ? fmt(perCpu('pouchdb-server', key)) : '—', 16));
    return { c, p };
  };
  const push = rowFor('PouchDB push  (local → server)', 'push', 'docs/s', true);
  const pull = rowFor('PouchDB pull  (server → local)', 'pull', 'docs/s', true);
  const bulk = rowFor(`_bulk_docs new_edits:false ×${CONNS} conns`, 'bulk', 'docs/s', false);
  const limitTxt = CHANGES_LIMIT ? `limit=${CHANGES_LIMIT}` : 'unlimited';
  const changes = rowFor(`_changes include_docs ${limitTxt}`, 'changes', 'rows/s', false);
  if (CHANGES_READERS > 0) rowFor(`_changes include_docs ×${CHANGES_READERS} readers`, 'changesN', 'rows/s', false);

  w();
  w('targets (reported, not asserted)                measured   ok');
  // A target whose inputs were not measured (skipped phase) is left out; one whose measurement
  // failed shows "—" and ✗.
  const t = (title, shown, ok, value, ...needs) => {
    if (needs.every(Boolean)) w(label(title) + col(shown(value), 11) + '   ' + mark(value != null && ok(value)));
  };
  const hasCeiling = runs.some((r) => r.ceiling);
  t('push ≥ 3× pouchdb-server', x, (v) => v >= 3, ratio(push.c, push.p), hasPeer, ran('push'));
  t('push ≥ 80% of memory→memory ceiling', pct, (v) => v >= 0.8, ratio(push.c, ceiling), hasCeiling, ran('push'));
  t('pull ≥ 3× pouchdb-server', x, (v) => v >= 3, ratio(pull.c, pull.p), hasPeer, ran('pull'));
  t('pull ≥ 80% of memory→memory ceiling', pct, (v) => v >= 0.8, ratio(pull.c, ceiling), hasCeiling, ran('pull'));
  t('raw _bulk_docs ≥ 20,000 docs/s', fmt, (v) => v >= 20_000, bulk.c, ran('bulk'));
  t('_changes with docs ≥ 50,000 rows/s', fmt, (v) => v >= 50_000, changes.c, ran('bulk'));

  // The audit trail's cost: the same measurements on couchsync with COUCHSYNC_AUDIT=false.
  const audit = {};
  if (runs.some((r) => r['couchsync-noaudit'])) {
    w();
    w('audit trail cost: couchsync audit on vs off (COUCHSYNC_AUDIT=false), same run, interleaved');
    w(label('') + col('audit on', 11) + col('audit off', 11) + col('on/off', 9) + col('on per CPU-s', 14) +
      col('off per CPU-s', 15) + col('CPU on/off', 12));
    for (const [title, key, unit] of [['PouchDB push', 'push', 'docs/s'], ['PouchDB pull', 'pull', 'docs/s'],
      [`_bulk_docs new_edits:false ×${CONNS} conns`, 'bulk', 'docs/s'], [`_changes include_docs ${limitTxt}`, 'changes', 'rows/s']]) {
      if (!ran(key)) continue;
      const on = med('couchsync', key);
      const off = med('couchsync-noaudit', key);
      const cpuOn = perCpu('couchsync', key);
      const cpuOff = perCpu('couchsync-noaudit', key);
      audit[key] = { on, off, ratio: ratio(on, off), cpuOn, cpuOff };
      w(label(`${title} (${unit})`) + col(fmt(on), 11) + col(fmt(off), 11) + col(x(ratio(on, off)), 9) +
        col(fmt(cpuOn), 14) + col(fmt(cpuOff), 15) + col(x(ratio(cpuOff, cpuOn)), 12));
    }
    w('(CPU on/off = server CPU per doc with audit on / with audit off)');
    for (const key of ['push', 'pull']) {
      if (audit[key]) t(`${key} with audit ≥ 85% of audit off`, pct, (v) => v >= 0.85, audit[key].ratio, true);
    }
  }

  w();
  w('per repetition: rate (wall s; CPU s used meanwhile by the server / by the client process):');
  const series = [['memory→memory', 'ceiling', null]];
  for (const kind of KINDS) {
    if (!runs.some((r) => r[kind])) continue;
    for (const key of ['push', 'pull', 'bulk', 'changes', 'changesN']) series.push([`${kind} ${key}`, kind, key]);
  }
  for (const [name, kind, key] of series) {
    const ms = pick(kind, key);
    if (ms.every((m) => !m)) continue;
    w(`  ${name.padEnd(28)} ` + ms.map(perRep).join(', '));
  }
  w('  (server CPU ≈ wall: the server is the bottleneck; client CPU ≈ wall: PouchDB/Node is)');
  w('per CPU-s = docs (rows) per second of server CPU (median): what the server would sustain with a core to itself');
  w('and a free client; less sensitive to other load on the machine than the wall-clock rates.');
  if (opt['trace-http']) {
    w();
    w('HTTP time during push/pull (--trace-http), median repetition: requests × mean ms = total s, timed from');
    w('request to body fully read, so it includes client-side event-loop delays; pull overlaps _changes with');
    w('_bulk_get (batches_limit), so the sum can exceed the wall time.');
    for (const kind of KINDS) {
      for (const key of ['push', 'pull']) {
        const ms = pick(kind, key).filter((m) => m?.http);
        if (!ms.length) continue;
        const m = [...ms].sort((a, b) => a.seconds - b.seconds)[ms.length >> 1];
        const entries = Object.entries(m.http).sort((a, b) => b[1].ms - a[1].ms);
        const httpS = entries.reduce((a, [, e]) => a + e.ms, 0) / 1000;
        w(`  ${kind} ${key}: wall ${m.seconds.toFixed(2)} s, sum of request times ${httpS.toFixed(2)} s ` +
          `(${Math.round((100 * httpS) / m.seconds)}% of wall)`);
        for (const [ep, e] of entries) {
          w(`    ${ep.padEnd(18)} ${String(e.count).padStart(5)} × ${(e.ms / e.count).toFixed(1).padStart(6)} ms = ` +
            `${(e.ms / 1000).toFixed(2).padStart(5)} s   req ${(e.reqBytes / 1e6).toFixed(1)} MB, resp ${(e.respBytes / 1e6).toFixed(1)} MB`);
        }
      }
    }
  }
  if (errs.length) {
    w();
    w('errors:');
    for (const e of errs) w(`  ${e}`);
  }
  w();
  process.stdout.write(lines.join('\n'));

  if (opt.json) {
    writeFileSync(opt.json, JSON.stringify({ docs: N, meanBytes, seed: SEED, reps: REPS, batchSize: BATCH_SIZE,
      conns: CONNS, bulkBatch: BULK_BATCH, changesLimit: CHANGES_LIMIT, csVersion, runs,
      medians: { ceiling, push, pull, bulk, changes }, audit }, null, 2));
    log(`wrote ${opt.json}`);
  }
}

main().then(
  () => process.exit(0),
  async (e) => {
    console.error(`bench/replicate failed: ${e.stack || e}`);
    await stopAll();
    process.exit(1);
  },
);
