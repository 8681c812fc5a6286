#!/usr/bin/env node
// bench/views — map/reduce view indexing of couchsync on ~1 KB FHIR-shaped documents, next to
// pouchdb-server 4.2.0 on the same documents (same run) and next to the raw QuickJS map rate of
// couchsync's sandbox in-process (bench/views/raw_map.py). Run on demand, never part of the test
// suite; prints a table with ✓/✗ against the issue-4 targets, asserts nothing.
//
//   node --expose-gc bench/views/run.mjs [--docs 100000] [--reps 3] [options]   (or run.sh)
//
// See bench/README.md ("bench/views") for what each figure means. --help lists the options.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseOptions } from '../lib/options.mjs';
import { generateDocs, prng, REPO_ROOT } from '../lib/fhirgen.mjs';
import { Server, installCleanupHandlers, stopAll } from '../lib/servers.mjs';

const HELP = `Usage: node --expose-gc bench/views/run.mjs [options]   (or bench/views/run.sh [options])

  --docs N              documents per database (default 100000)
  --reps N              repetitions (default 3): each one loads a fresh database into each server and
                        measures build, incremental updates and keyed queries; medians are reported
  --seed N              generator seed (default 42)
  --bulk-batch N        docs per _bulk_docs new_edits:false request when loading (default 1000)
  --conns N             concurrent _bulk_docs requests when loading (default 2)
  --edits N             docs changed per incremental round (default 100)
  --edit-rounds N       incremental rounds per repetition (default 5)
  --query-reps N        timed runs of each keyed query per repetition (default 10)
  --rows N              rows per keyed query (default 1000)
  --skip LIST           comma list of: peer (pouchdb-server), raw (in-process QuickJS ceiling),
                        stages (raw's per-stage indexer breakdown), incremental, keyed
  --python PATH         python running couchsync and raw_map.py (default <repo>/.venv/bin/python)
  --py-spy DIR          attach "py-spy record" to couchsync during each timed couchsync phase (build,
                        incremental, keyed) and write DIR/<phase>-r<rep>.txt (collapsed stacks),
                        summarised after the table; profiling slows couchsync, read its rates as
                        relative only
  --py-spy-args "..."   extra py-spy record arguments, e.g. "--gil" or "--native" or "--rate 500"
  --timeout S           give up on one request after S seconds (default 1200)
  --json FILE           also write every measurement as JSON to FILE
  -h, --help
`;

const { opt, int } = parseOptions({
  docs: { type: 'string', default: '100000' },
  reps: { type: 'string', default: '3' },
  seed: { type: 'string', default: '42' },
  'bulk-batch': { type: 'string', default: '1000' },
  conns: { type: 'string', default: '2' },
  edits: { type: 'string', default: '100' },
  'edit-rounds': { type: 'string', default: '5' },
  'query-reps': { type: 'string', default: '10' },
  rows: { type: 'string', default: '1000' },
  skip: { type: 'string', default: '' },
  python: { type: 'string', default: join(REPO_ROOT, '.venv', 'bin', 'python') },
  'py-spy': { type: 'string' },
  'py-spy-args': { type: 'string', default: '' },
  timeout: { type: 'string', default: '1200' },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
}, HELP);
const N = int('docs', 1);
const REPS = int('reps', 1);
const SEED = int('seed');
const BULK_BATCH = int('bulk-batch', 1);
const CONNS = int('conns', 1);
const EDITS = Math.min(int('edits', 1), N);
const EDIT_ROUNDS = int('edit-rounds', 1);
const QUERY_REPS = int('query-reps', 1);
const ROWS = Math.min(int('rows', 1), N);
const TIMEOUT_MS = int('timeout', 1) * 1000;
const SKIP = new Set(opt.skip.split(',').map((s) => s.trim()).filter(Boolean));
for (const s of SKIP) {
  if (!['peer', 'raw', 'stages', 'incremental', 'keyed'].includes(s)) {
    console.error(`--skip: unknown phase ${s}`);
    process.exit(2);
  }
}
if (EDITS * EDIT_ROUNDS > N && !SKIP.has('incremental')) {
  console.error('--edits × --edit-rounds must not exceed --docs (each round edits different docs)');
  process.exit(2);
}

// The views under test. by_type is the issue's one-emit map (≈7 distinct keys); by_id emits one
// distinct key per doc (the FHIR id, a UUID), for keys=[…] / range queries of exactly ROWS rows.
const MAP_BY_TYPE = 'function(doc){ emit(doc.resourceType, null); }';
const MAP_BY_ID = 'function(doc){ emit(doc.id, null); }';
const DDOC_TYPE = { _id: '_design/bench', language: 'javascript', views: { by_type: { map: MAP_BY_TYPE } } };
const DDOC_ID = { _id: '_design/bench_id', language: 'javascript', views: { by_id: { map: MAP_BY_ID } } };
const EDIT_PREFIX = 'Edited'; // edited docs get resourceType "Edited<type>", so each round's rows can be counted

const TARGETS = { build: 30_000, incrementalMs: 50, keyedMs: 20 };

const gc = globalThis.gc || (() => {});
const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const fmt = (n) => (n == null || Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US'));
const fms = (n) => (n == null || Number.isNaN(n) ? '—' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'));
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const minOf = (xs) => {
  const v = xs.filter((x) => typeof x === 'number');
  return v.length ? Math.min(...v) : null;
};
const maxOf = (xs) => {
  const v = xs.filter((x) => typeof x === 'number');
  return v.length ? Math.max(...v) : null;
};

let aborted = false;
installCleanupHandlers(() => (aborted = true));
process.on('unhandledRejection', (e) => {
  if (!aborted) throw e;
});
const workDir = mkdtempSync(join(tmpdir(), 'couchsync-bench-views-'));
const children = new Set(); // raw_map.py and py-spy processes
process.on('exit', () => {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
  rmSync(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Server CPU with nanosecond resolution: sum of /proc/<pid>/task/*/schedstat over live threads
// (threads that end in between are missed; couchsync's sandbox and aiosqlite threads persist).

function cpuNs(server) {
  const pid = server.child?.pid;
  if (!pid || server.wrap) return null;
  let total = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {}
    }
  } catch {
    return null;
  }
  return total;
}

/** Times fn(): wall ms, server CPU ms (all threads) and client CPU ms. */
async function timed(server, fn) {
  const s0 = cpuNs(server);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  const s1 = cpuNs(server);
  const c = process.cpuUsage(c0);
  return { ms, serverMs: s0 != null && s1 != null ? (s1 - s0) / 1e6 : null, clientMs: (c.user + c.system) / 1e3, result };
}

/** CPU ns per thread (tid → ns) of the server, from /proc/<pid>/task/<tid>/schedstat. */
function threadCpuNs(server) {
  const pid = server.child?.pid;
  const out = new Map();
  if (!pid) return out;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        out.set(t, Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]));
      } catch {}
    }
  } catch {}
  return out;
}

/** Thread roles of couchsync (tid → role) from one `py-spy dump` (names: MainThread,
 * couchsync-js-<ddoc>, Thread-N (_connection_worker_thread), asyncio_N, ...); {} without py-spy. */
let pySpyBin;
function threadRoles(server) {
  if (pySpyBin === undefined) {
    pySpyBin = null;
    for (const c of [join(REPO_ROOT, '.venv', 'bin', 'py-spy'), 'py-spy']) {
      try {
        execFileSync(c, ['--version'], { stdio: 'ignore' });
        pySpyBin = c;
        break;
      } catch {}
    }
  }
  const roles = {};
  if (!pySpyBin || !server.child) return roles;
  try {
    const dump = execFileSync(pySpyBin, ['dump', '--pid', String(server.child.pid)], { encoding: 'utf8', timeout: 20_000 });
    for (const m of dump.matchAll(/^Thread (?:0x)?([0-9a-fA-F]+) \([^)]*\): "([^"]*)"/gm)) {
      const name = m[2];
      roles[m[1]] = name === 'MainThread' ? 'event loop' : name.startsWith('couchsync-js') ? 'JS sandbox'
        : name.includes('_connection_worker_thread') ? 'sqlite' : /asyncio_|ThreadPoolExecutor/.test(name) ? 'to_thread pool' : 'other';
    }
  } catch {}
  return roles;
}

/** Per-role CPU seconds between two threadCpuNs snapshots. */
function cpuByRole(before, after, roles) {
  const out = {};
  for (const [tid, ns] of after) {
    const d = (ns - (before.get(tid) ?? 0)) / 1e9;
    if (d <= 0) continue;
    const role = roles[tid] || 'other';
    out[role] = (out[role] || 0) + d;
  }
  return out;
}

async function request(server, path, init = {}) {
  const r = await server.fetch(path, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const text = await r.text();
  return { status: r.status, text };
}

function parsed(what, { status, text }, okStatus = [200]) {
  if (!okStatus.includes(status)) throw new Error(`${what}: HTTP ${status} ${text.slice(0, 300)}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what}: not JSON: ${text.slice(0, 200)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// py-spy: attach to couchsync's pid around one phase.

let pySpy = null;
function findPySpy() {
  for (const c of [join(REPO_ROOT, '.venv', 'bin', 'py-spy'), 'py-spy']) {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return c;
    } catch {}
  }
  throw new Error('--py-spy: py-spy not found (pip install py-spy into the venv)');
}
const pySpyExtra = opt['py-spy-args'].split(/\s+/).filter(Boolean);
const pySpyRate = (() => {
  const i = pySpyExtra.findIndex((a) => a === '--rate' || a === '-r' || a.startsWith('--rate='));
  return i < 0 ? '200' : pySpyExtra[i].startsWith('--rate=') ? pySpyExtra[i].slice(7) : pySpyExtra[i + 1];
})();
const profiles = [];
let treeInfo = '?';

async function profileStart(server, name) {
  if (!pySpy || server.kind !== 'couchsync') return null;
  const file = join(opt['py-spy'], `${name}.txt`);
  const rate = pySpyExtra.some((a) => a === '--rate' || a === '-r' || a.startsWith('--rate=')) ? [] : ['--rate', pySpyRate];
  const child = spawn(pySpy, ['record', '--pid', String(server.child.pid), ...rate, ...pySpyExtra, '--format', 'raw', '-o', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((res) => child.once('exit', res));
  await new Promise((res) => setTimeout(res, 700)); // let it attach
  return async () => {
    child.kill('SIGINT');
    await Promise.race([exited, new Promise((res) => setTimeout(res, 10_000))]);
    children.delete(child);
    if (existsSync(file)) profiles.push({ name, file });
    else log(`py-spy (${name}) wrote nothing: ${err.trim().split('\n').slice(-2).join(' | ')}`);
  };
}

// ---------------------------------------------------------------------------------------------
// Phases. Each returns plain numbers; failures throw and are recorded per phase.

async function createDb(server, name) {
  const r = await request(server, `/${name}`, { method: 'PUT' });
  if (r.status !== 201) throw new Error(`PUT /${name} on ${server.kind}: ${r.status} ${r.text}`);
}

async function deleteDb(server, name) {
  try {
    await request(server, `/${name}`, { method: 'DELETE' });
  } catch {}
}

/** _bulk_docs new_edits:false of the pre-serialised bodies over CONNS connections. */
async function load(server, name, bodies) {
  let next = 0;
  const errors = [];
  const worker = async () => {
    while (next < bodies.length && !aborted) {
      const body = bodies[next++];
      const r = await request(server, `/${name}/_bulk_docs`, { method: 'POST', body });
      if (r.status !== 201 && r.status !== 200) errors.push(`${r.status} ${r.text.slice(0, 300)}`);
      else if (r.text.includes('"error"')) errors.push(`per-doc error: ${r.text.slice(0, 300)}`);
    }
  };
  const t = await timed(server, () => Promise.all(Array.from({ length: CONNS }, worker)));
  if (errors.length) throw new Error(`load into ${server.kind}: ${errors.length} failed requests, first: ${errors[0]}`);
  const info = parsed(`GET /${name}`, await request(server, `/${name}`));
  if (info.doc_count !== N) throw new Error(`load into ${server.kind}: doc_count ${info.doc_count}/${N}`);
  return { rate: N / (t.ms / 1000), ms: t.ms, serverMs: t.serverMs };
}

async function putDdoc(server, name, ddoc) {
  const r = await request(server, `/${name}/${ddoc._id}`, { method: 'PUT', body: JSON.stringify(ddoc) });
  if (r.status !== 201 && r.status !== 200) throw new Error(`PUT ${ddoc._id} on ${server.kind}: ${r.status} ${r.text}`);
}

const viewPath = (name, ddoc, view) => `/${name}/${ddoc._id}/_view/${view}`;

/** The first query of a view builds its index: wall time of GET ?limit=1, checked against N rows. */
async function build(server, name, ddoc, view, expectRows, profileName) {
  const stop = await profileStart(server, profileName);
  gc();
  const before = server.kind === 'couchsync' ? threadCpuNs(server) : null;
  const t = await timed(server, async () => request(server, `${viewPath(name, ddoc, view)}?limit=1`));
  const after = before ? threadCpuNs(server) : null;
  await stop?.();
  const body = parsed(`${view} build on ${server.kind}`, t.result);
  if (body.total_rows !== expectRows) throw new Error(`${view} on ${server.kind}: total_rows ${body.total_rows}/${expectRows}`);
  const threads = before ? cpuByRole(before, after, threadRoles(server)) : null;
  return { rate: N / (t.ms / 1000), ms: t.ms, serverMs: t.serverMs, cpuRate: t.serverMs ? N / (t.serverMs / 1000) : null, threads };
}

/** GET ?limit=1 on an up-to-date index, a few times: the fixed cost of a query (no indexing). */
async function freshQuery(server, name) {
  const out = [];
  for (let i = 0; i < 5; i++) {
    const t = await timed(server, async () => request(server, `${viewPath(name, DDOC_TYPE, 'by_type')}?limit=1`));
    parsed(`by_type query on ${server.kind}`, t.result);
    out.push(t);
  }
  return { ms: median(out.map((t) => t.ms)), serverMs: median(out.map((t) => t.serverMs)) };
}

/**
 * EDIT_ROUNDS rounds: change EDITS docs (untimed _bulk_docs; each gets resourceType "Edited<type>"),
 * then time the next GET by_type?limit=1, which indexes those changes first. Afterwards (untimed)
 * the rows of the edited keys are counted: 100·round of them, or the update was wrong.
 */
async function incremental(server, name, state, rep) {
  const rounds = [];
  const stop = await profileStart(server, `incremental-r${rep}`);
  try {
    for (let round = 1; round <= EDIT_ROUNDS && !aborted; round++) {
      const idx = state.editOrder.slice((round - 1) * EDITS, round * EDITS);
      const docs = idx.map((i) => {
        const d = { ...state.docs[i], _rev: state.revs[i] };
        d.resourceType = EDIT_PREFIX + state.docs[i].resourceType;
        d.meta = { ...(d.meta || {}), versionId: String(round + 1) };
        return d;
      });
      const res = parsed('edit _bulk_docs', await request(server, `/${name}/_bulk_docs`, { method: 'POST', body: JSON.stringify({ docs }) }), [200, 201]);
      res.forEach((r, j) => {
        if (!r.ok && !r.rev) throw new Error(`edit on ${server.kind}: ${JSON.stringify(r)}`);
        state.revs[idx[j]] = r.rev;
      });
      gc();
      const t = await timed(server, async () => request(server, `${viewPath(name, DDOC_TYPE, 'by_type')}?limit=1`));
      const body = parsed(`incremental query on ${server.kind}`, t.result);
      if (body.total_rows !== N) throw new Error(`incremental on ${server.kind}: total_rows ${body.total_rows}/${N}`);
      rounds.push({ ms: t.ms, serverMs: t.serverMs });
    }
  } finally {
    await stop?.();
  }
  const q = `startkey=${encodeURIComponent(JSON.stringify(EDIT_PREFIX))}&endkey=${encodeURIComponent(JSON.stringify(EDIT_PREFIX + '\ufff0'))}`;
  const check = parsed('edited rows', await request(server, `${viewPath(name, DDOC_TYPE, 'by_type')}?${q}`));
  if (check.rows.length !== EDITS * rounds.length) {
    throw new Error(`incremental on ${server.kind}: ${check.rows.length} rows of edited docs, expected ${EDITS * rounds.length}`);
  }
  return { ms: median(rounds.map((r) => r.ms)), serverMs: median(rounds.map((r) => r.serverMs)), rounds };
}

/**
 * Keyed queries of ROWS rows, QUERY_REPS times each (different keys every time):
 *   keyRange  by_type ?key="<type>"&limit=ROWS      (one key, ROWS of its rows)
 *   idRange   by_id   ?startkey="<id>"&limit=ROWS   (a key range over distinct keys)
 *   idKeys    by_id   POST {"keys":[ROWS ids]}      (ROWS distinct keys, one row each)
 *   keyDocs   keyRange with include_docs=true        (informational)
 */
async function keyed(server, name, state, rep) {
  const rand = prng(SEED + 1000 * rep + 7);
  const out = {};
  const kinds = {
    keyRange: (i) => ({ path: `${viewPath(name, DDOC_TYPE, 'by_type')}?key=${encodeURIComponent(JSON.stringify(state.bigTypes[i % state.bigTypes.length]))}&limit=${ROWS}` }),
    keyDocs: (i) => ({ path: `${viewPath(name, DDOC_TYPE, 'by_type')}?key=${encodeURIComponent(JSON.stringify(state.bigTypes[i % state.bigTypes.length]))}&limit=${ROWS}&include_docs=true` }),
    idRange: () => {
      // UUIDs (lowercase hex, dashes at fixed places) sort alike in ICU and code-unit order, so
      // ≥ ROWS keys follow any of the first length-ROWS+1 ids in sorted order
      const start = state.sortedIds[Math.floor(rand() * (state.sortedIds.length - ROWS + 1))];
      return { path: `${viewPath(name, DDOC_ID, 'by_id')}?startkey=${encodeURIComponent(JSON.stringify(start))}&limit=${ROWS}` };
    },
    idKeys: () => {
      const keys = new Set();
      while (keys.size < ROWS) keys.add(state.fhirIds[Math.floor(rand() * state.fhirIds.length)]);
      return { path: viewPath(name, DDOC_ID, 'by_id'), init: { method: 'POST', body: JSON.stringify({ keys: [...keys] }) } };
    },
  };
  const stop = await profileStart(server, `keyed-r${rep}`);
  try {
    for (const [kind, make] of Object.entries(kinds)) {
      if (kind.startsWith('key') && !state.bigTypes.length) continue;
      const runs = [];
      for (let i = -1; i < QUERY_REPS && !aborted; i++) {
        const { path, init } = make(i + 1);
        const t = await timed(server, () => request(server, path, init));
        const body = parsed(`${kind} on ${server.kind}`, t.result);
        if (body.rows?.length !== ROWS) throw new Error(`${kind} on ${server.kind}: ${body.rows?.length} rows, expected ${ROWS}`);
        if (kind === 'keyDocs' && !body.rows.every((r) => r.doc && r.doc._id === r.id)) throw new Error(`${kind} on ${server.kind}: rows without their doc`);
        if (i >= 0) runs.push(t); // i = -1: an untimed warm-up of this query shape
      }
      out[kind] = { ms: median(runs.map((t) => t.ms)), serverMs: median(runs.map((t) => t.serverMs)), min: minOf(runs.map((t) => t.ms)), max: maxOf(runs.map((t) => t.ms)) };
    }
  } finally {
    await stop?.();
  }
  return out;
}

async function runServer(server, rep, bodies, state, out) {
  const name = `bench-views-r${rep}-${process.pid}`;
  const tag = `rep ${rep}/${REPS} ${server.kind}`;
  await createDb(server, name);
  try {
    log(`${tag}: loading ${N.toLocaleString('en-US')} docs`);
    out.load = await load(server, name, bodies);
    await putDdoc(server, name, DDOC_TYPE);
    await putDdoc(server, name, DDOC_ID);
    log(`${tag}: building by_type (load ${fmt(out.load.rate)} docs/s)`);
    try {
      out.build = await build(server, name, DDOC_TYPE, 'by_type', N, `build-r${rep}`);
    } catch (e) {
      out.build = { error: e.message };
      return;
    }
    log(`${tag}: by_type built in ${(out.build.ms / 1000).toFixed(2)} s (${fmt(out.build.rate)} docs/s)`);
    out.fresh = await freshQuery(server, name);
    state.revs = state.docs.map((d) => d._rev);
    if (!SKIP.has('incremental')) {
      log(`${tag}: incremental, ${EDIT_ROUNDS} × ${EDITS} changed docs`);
      try {
        out.incremental = await incremental(server, name, state, rep);
      } catch (e) {
        out.incremental = { error: e.message };
      }
    }
    if (!SKIP.has('keyed')) {
      log(`${tag}: building by_id`);
      try {
        out.buildId = await build(server, name, DDOC_ID, 'by_id', N, `build-id-r${rep}`);
        log(`${tag}: by_id built in ${(out.buildId.ms / 1000).toFixed(2)} s; keyed queries`);
        out.keyed = await keyed(server, name, state, rep);
      } catch (e) {
        out.keyed = { error: e.message };
      }
    }
  } finally {
    await deleteDb(server, name);
  }
}

function runRawMap(file) {
  return new Promise((resolve, reject) => {
    const args = [join(REPO_ROOT, 'bench', 'views', 'raw_map.py'), file, '--reps', String(REPS)];
    if (SKIP.has('stages')) args.push('--no-stages');
    const child = spawn(opt.python, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.once('exit', (code) => {
      children.delete(child);
      if (code !== 0) return reject(new Error(`raw_map.py exited ${code}`));
      try {
        resolve(JSON.parse(stdout));
      } catch (e) {
        reject(new Error(`raw_map.py output: ${e.message}`));
      }
    });
  });
}

function versionOf(pkgDir) {
  try {
    return createRequire(join(REPO_ROOT, 'package.json'))(`${pkgDir}/package.json`).version;
  } catch {
    return '?';
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const t00 = performance.now();
  const loadStart = loadavg()[0];
  log(`generating ${N.toLocaleString('en-US')} docs (seed ${SEED})`);
  const { docs, meanBytes } = generateDocs(N, { seed: SEED });
  // A fixed first revision per doc (content hash), so both servers store the same revs.
  for (const d of docs) d._rev = '1-' + createHash('md5').update(JSON.stringify(d)).digest('hex');
  const bodies = [];
  for (let i = 0; i < N; i += BULK_BATCH) bodies.push(JSON.stringify({ new_edits: false, docs: docs.slice(i, i + BULK_BATCH) }));
  const typeCounts = {};
  for (const d of docs) typeCounts[d.resourceType] = (typeCounts[d.resourceType] || 0) + 1;
  const rand = prng(SEED + 99);
  const editOrder = [];
  {
    // distinct docs spread over the whole feed, different for every round
    const perm = Array.from({ length: N }, (_, i) => i);
    for (let i = 0; i < Math.min(N, EDITS * EDIT_ROUNDS); i++) {
      const j = i + Math.floor(rand() * (N - i));
      [perm[i], perm[j]] = [perm[j], perm[i]];
      editOrder.push(perm[i]);
    }
  }
  const state = {
    docs,
    editOrder,
    revs: null,
    bigTypes: Object.entries(typeCounts).filter(([, c]) => c >= ROWS + EDITS * EDIT_ROUNDS).map(([t]) => t).sort(),
    fhirIds: docs.map((d) => d.id),
  };
  state.sortedIds = [...state.fhirIds].sort();

  let raw = null;
  if (!SKIP.has('raw')) {
    const file = join(workDir, 'docs.ndjson');
    const ws = createWriteStream(file);
    for (const d of docs) ws.write(JSON.stringify(d) + '\n');
    await new Promise((res, rej) => ws.end((e) => (e ? rej(e) : res())));
    log(`raw QuickJS ceiling in-process (bench/views/raw_map.py, ${REPS} reps)`);
    try {
      raw = await runRawMap(file);
    } catch (e) {
      raw = { error: e.message };
    }
    rmSync(file, { force: true });
  }

  if (opt['py-spy']) {
    pySpy = findPySpy();
    rmSync(opt['py-spy'], { recursive: true, force: true });
    execFileSync('mkdir', ['-p', opt['py-spy']]);
  }
  const cs = new Server('couchsync', { python: opt.python });
  const peer = SKIP.has('peer') ? null : new Server('pouchdb-server');
  log('starting couchsync' + (peer ? ' and pouchdb-server' : ''));
  await Promise.all([cs.start(), peer?.start()]);
  const servers = [cs, peer].filter(Boolean);
  const csVersion = parsed('GET /', await request(cs, '/')).version ?? '?';
  try {
    const head = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--', 'couchsync'], { encoding: 'utf8' }).trim();
    treeInfo = `${head}${dirty ? ` + uncommitted changes in ${dirty.split('\n').length} couchsync/ paths` : ''}`;
  } catch {}

  // Warm-up (untimed): a small db with both ddocs, built and queried once on each server.
  const warmN = Math.min(1000, N);
  for (const s of servers) {
    const name = `bench-views-warmup-${process.pid}`;
    await createDb(s, name);
    const r = await request(s, `/${name}/_bulk_docs`, { method: 'POST', body: JSON.stringify({ new_edits: false, docs: docs.slice(0, warmN) }) });
    if (r.status !== 201 && r.status !== 200) throw new Error(`warm-up load on ${s.kind}: ${r.status} ${r.text.slice(0, 200)}`);
    await putDdoc(s, name, DDOC_TYPE);
    await putDdoc(s, name, DDOC_ID);
    parsed(`warm-up by_type on ${s.kind}`, await request(s, `${viewPath(name, DDOC_TYPE, 'by_type')}?limit=1`));
    parsed(`warm-up by_id on ${s.kind}`, await request(s, `${viewPath(name, DDOC_ID, 'by_id')}?limit=1`));
    await deleteDb(s, name);
  }

  const runs = [];
  for (let rep = 1; rep <= REPS && !aborted; rep++) {
    const row = { rep };
    runs.push(row);
    // Alternate which server goes first, so drift and other load fall on both alike.
    const order = rep % 2 ? servers : [...servers].reverse();
    for (const s of order) {
      if (aborted) break;
      row[s.kind] = {};
      try {
        await runServer(s, rep, bodies, state, row[s.kind]);
      } catch (e) {
        row[s.kind].error = e.message;
      }
      if (!s.alive()) throw new Error(`${s.kind} died:\n${s.tail()}`);
    }
  }

  log('stopping servers');
  await stopAll();
  const wall = (performance.now() - t00) / 1000;
  report({ meanBytes, typeCounts, csVersion, runs, raw, wall, load: [loadStart, loadavg()[0]], bigTypes: state.bigTypes });

  for (const p of profiles) {
    try {
      const summary = execFileSync(opt.python, [join(REPO_ROOT, 'bench', 'views', 'pyspy_views.py'), p.file, '--rate', pySpyRate], { encoding: 'utf8' });
      process.stdout.write(`\n== py-spy ${p.name} (${p.file}) ==\n` + summary);
    } catch (e) {
      log(`py-spy summary of ${p.file} failed: ${e.message}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

function report({ meanBytes, typeCounts, csVersion, runs, raw, wall, load, bigTypes }) {
  const get = (kind, path) => runs.map((r) => path.reduce((o, k) => (o == null ? o : o[k]), r[kind]));
  const med = (kind, ...path) => median(get(kind, path));
  const hasPeer = runs.some((r) => r['pouchdb-server']);
  const rm = raw && !raw.error ? raw.median : null;
  const mark = (ok) => (ok == null ? ' ' : ok ? '✓' : '✗');
  const ratio = (a, b) => (a != null && b ? a / b : null);
  const x = (v) => (v == null ? '—' : `${v.toFixed(2)}×`);
  const pct = (v) => (v == null ? '—' : `${Math.round(v * 100)}%`);

  const lines = [];
  const w = (s = '') => lines.push(s);
  const col = (s, n) => String(s ?? '—').padStart(n);
  const label = (s) => s.padEnd(50);

  w();
  w(`bench/views — ${N.toLocaleString('en-US')} docs (mean ${Math.round(meanBytes)} B JSON, seed ${SEED}; ` +
    `${Object.keys(typeCounts).length} resourceTypes), ${REPS} repetition${REPS > 1 ? 's' : ''}, median of each`);
  w(`map: ${MAP_BY_TYPE}   (keyed queries also use ${MAP_BY_ID})`);
  w(`machine: ${cpus().length} CPUs, 1-min load average ${load[0].toFixed(1)} at start / ${load[1].toFixed(1)} at end ` +
    `(other load skews the figures); wall ${wall.toFixed(0)} s${opt['py-spy'] ? '; couchsync PROFILED (py-spy attached): its rates are relative only' : ''}`);
  w(`servers: couchsync ${csVersion} (sqlite, fresh tmp dir; tree ${treeInfo})` + (hasPeer ? ` vs pouchdb-server ${versionOf('pouchdb-server')} (in-memory)` : ''));
  w();

  // --- view build -------------------------------------------------------------------------
  w(label('view build (first query ?limit=1)') + col('couchsync', 11) + col('pouchdb-srv', 13) + col('cs/peer', 9) + col('cs per CPU-s', 14) + col('peer per CPU-s', 16));
  const build = { c: med('couchsync', 'build', 'rate'), p: hasPeer ? med('pouchdb-server', 'build', 'rate') : null };
  w(label('  by_type one-emit map (docs/s)') + col(fmt(build.c), 11) + col(hasPeer ? fmt(build.p) : '—', 13) + col(x(ratio(build.c, build.p)), 9) +
    col(fmt(med('couchsync', 'build', 'cpuRate')), 14) + col(hasPeer ? fmt(med('pouchdb-server', 'build', 'cpuRate')) : '—', 16));
  if (runs.some((r) => r.couchsync?.buildId)) {
    const c = med('couchsync', 'buildId', 'rate');
    const p = hasPeer ? med('pouchdb-server', 'buildId', 'rate') : null;
    w(label(`  by_id, 1 distinct key/doc, +${EDITS * EDIT_ROUNDS} edits (docs/s)`) + col(fmt(c), 11) + col(hasPeer ? fmt(p) : '—', 13) + col(x(ratio(c, p)), 9) +
      col(fmt(med('couchsync', 'buildId', 'cpuRate')), 14) + col(hasPeer ? fmt(med('pouchdb-server', 'buildId', 'cpuRate')) : '—', 16));
  }
  {
    const roles = ['event loop', 'JS sandbox', 'sqlite', 'to_thread pool', 'other'];
    const per = roles.map((r) => [r, med('couchsync', 'build', 'threads', r)]).filter(([, v]) => v);
    const tot = per.reduce((a, [, v]) => a + v, 0);
    if (per.length) {
      w(`    couchsync build CPU by thread (s per ${N.toLocaleString('en-US')} docs, median): ` +
        per.map(([r, v]) => `${r} ${v.toFixed(2)} (${Math.round((100 * v) / tot)}%)`).join(', ') +
        ` — ${fms(((tot / N) * 1e6))} µs/doc`);
    }
  }
  w(label('  load: _bulk_docs new_edits:false (docs/s, untimed)') + col(fmt(med('couchsync', 'load', 'rate')), 11) + col(hasPeer ? fmt(med('pouchdb-server', 'load', 'rate')) : '—', 13));
  if (rm) {
    w(label('raw QuickJS map, in-process (docs/s)') + col('wall', 11) + col('per CPU-s', 13) + col('cs/raw', 9));
    const rawRow = (title, m) => m && w(label(`  ${title}`) + col(fmt(m.rate), 11) + col(fmt(m.cpu_rate), 13) + col(pct(ratio(build.c, m.rate)), 9));
    rawRow('ThreadedSandbox, dict docs (= server indexer)', rm.threaded_dict);
    rawRow('ThreadedSandbox, JSON bytes docs', rm.threaded_bytes);
    const st = rm.stages;
    if (st) {
      const us = (s) => ((s / raw.docs) * 1e6).toFixed(1);
      w(label('  indexer stages in-process, no HTTP (docs/s)') + col(fmt(st.rate), 11) + col(fmt(st.cpu_rate), 13) + col(pct(ratio(build.c, st.rate)), 9));
      w('      µs/doc wall (CPU): ' + ['render', 'loads', 'map', 'rows', 'sqlite'].map((k) => `${k} ${us(st[k])} (${us(st[`${k} cpu`])})`).join(', '));
      w('      (render = render_doc; loads = orjson.loads of it; map = ThreadedSandbox.map_docs of the dicts; rows = Indexer._rows:');
      w('       sort_key + dumps; sqlite = INSERT OR REPLACE rows + commit, WAL synchronous=FULL)');
    }
  } else if (raw?.error) {
    w(`raw QuickJS map: FAILED (${raw.error})`);
  }
  w();

  // --- incremental + queries ----------------------------------------------------------------
  w(label('queries (ms, wall; server CPU ms in brackets)') + col('couchsync', 16) + col('pouchdb-srv', 16) + col('peer/cs', 9));
  const qrow = (title, path) => {
    const c = med('couchsync', ...path, 'ms');
    const p = hasPeer ? med('pouchdb-server', ...path, 'ms') : null;
    const cc = med('couchsync', ...path, 'serverMs');
    const pc = hasPeer ? med('pouchdb-server', ...path, 'serverMs') : null;
    if (c == null && p == null) return null;
    w(label(`  ${title}`) + col(`${fms(c)} (${fms(cc)})`, 16) + col(hasPeer ? `${fms(p)} (${fms(pc)})` : '—', 16) + col(x(ratio(p, c)), 9));
    return c;
  };
  const fresh = qrow('?limit=1, index up to date (fixed query cost)', ['fresh']);
  const incr = SKIP.has('incremental') ? null : qrow(`incremental: ${EDITS} changed docs, next ?limit=1`, ['incremental']);
  let keyRange = null;
  let idKeys = null;
  let idRange = null;
  if (!SKIP.has('keyed')) {
    const k = bigTypes.length ? bigTypes.join('|') : '—';
    keyRange = qrow(`key="<type>"&limit=${ROWS} on by_type`, ['keyed', 'keyRange']);
    idRange = qrow(`startkey="<id>"&limit=${ROWS} on by_id`, ['keyed', 'idRange']);
    idKeys = qrow(`POST keys=[${ROWS} ids] on by_id`, ['keyed', 'idKeys']);
    qrow(`key="<type>"&limit=${ROWS}&include_docs=true`, ['keyed', 'keyDocs']);
    if (!bigTypes.length) w(`  (no resourceType has ≥ ${ROWS} docs: key= queries skipped)`);
    else w(`  (<type> cycles through ${k}; wall = request sent → body read, Node fetch keep-alive)`);
  }
  w();

  w('targets (reported, not asserted)                       measured   ok');
  const t = (title, shown, ok, value, show = true) => {
    if (show) w(label(title) + '  ' + col(shown(value), 11) + '   ' + mark(value != null && ok(value)));
  };
  t(`view build ≥ ${fmt(TARGETS.build)} docs/s (one-emit map)`, fmt, (v) => v >= TARGETS.build, build.c);
  t(`incremental ${EDITS} changed docs < ${TARGETS.incrementalMs} ms`, (v) => `${fms(v)} ms`, (v) => v < TARGETS.incrementalMs, incr, !SKIP.has('incremental'));
  t(`${ROWS}-row keyed query (key=, one key) < ${TARGETS.keyedMs} ms`, (v) => `${fms(v)} ms`, (v) => v < TARGETS.keyedMs, keyRange, !SKIP.has('keyed') && bigTypes.length > 0);
  t(`${ROWS}-row keyed query (keys=[${ROWS}]) < ${TARGETS.keyedMs} ms`, (v) => `${fms(v)} ms`, (v) => v < TARGETS.keyedMs, idKeys, !SKIP.has('keyed'));
  t(`${ROWS}-row key range (startkey, limit) < ${TARGETS.keyedMs} ms`, (v) => `${fms(v)} ms`, (v) => v < TARGETS.keyedMs, idRange, !SKIP.has('keyed'));
  w(`(for reference: published CouchDB couchjs figures are 5,800–10,800 docs/s on a laptop; fixed query cost above is`);
  w(` part of every incremental/keyed figure)`);

  w();
  w('per repetition (wall s or ms; server CPU in brackets):');
  for (const kind of ['couchsync', 'pouchdb-server']) {
    if (!runs.some((r) => r[kind])) continue;
    const cell = (m, unit) => (m == null ? '—' : m.error ? 'FAILED' : unit === 's' ? `${(m.ms / 1000).toFixed(2)} s (${m.serverMs == null ? '–' : (m.serverMs / 1000).toFixed(2)})` : `${fms(m.ms)} ms (${fms(m.serverMs)})`);
    w(`  ${kind}`);
    w(`    load              ${runs.map((r) => cell(r[kind]?.load, 's')).join(', ')}`);
    w(`    build by_type     ${runs.map((r) => cell(r[kind]?.build, 's')).join(', ')}`);
    if (runs.some((r) => r[kind]?.buildId)) w(`    build by_id       ${runs.map((r) => cell(r[kind]?.buildId, 's')).join(', ')}`);
    if (runs.some((r) => r[kind]?.incremental?.rounds)) {
      w(`    incremental       ${runs.map((r) => (r[kind]?.incremental?.rounds || []).map((x) => fms(x.ms)).join('/') || '—').join(', ')} ms`);
    }
    for (const k of ['keyRange', 'idRange', 'idKeys', 'keyDocs']) {
      if (!runs.some((r) => r[kind]?.keyed?.[k])) continue;
      w(`    ${k.padEnd(17)} ${runs.map((r) => { const m = r[kind]?.keyed?.[k]; return m ? `${fms(m.ms)} (${fms(m.min)}–${fms(m.max)})` : '—'; }).join(', ')} ms`);
    }
  }
  if (rm?.stages) {
    w(`  raw stages (wall s)   ${raw.runs.stages.map((s) => `render ${s.render.toFixed(2)} loads ${s.loads.toFixed(2)} map ${s.map.toFixed(2)} rows ${s.rows.toFixed(2)} sqlite ${s.sqlite.toFixed(2)}`).join(' | ')}`);
    w(`  raw map (docs/s wall) ${raw.runs.threaded_dict.map((m) => fmt(m.rate)).join(', ')} (ThreadedSandbox dict)`);
  }

  const errs = [];
  for (const r of runs) {
    for (const kind of ['couchsync', 'pouchdb-server']) {
      const o = r[kind];
      if (!o) continue;
      if (o.error) errs.push(`rep ${r.rep} ${kind}: ${o.error}`);
      for (const [k, m] of Object.entries(o)) if (m?.error) errs.push(`rep ${r.rep} ${kind} ${k}: ${m.error}`);
    }
  }
  if (raw?.error) errs.push(`raw: ${raw.error}`);
  if (errs.length) {
    w();
    w('errors:');
    for (const e of errs) w(`  ${e}`);
  }
  w();
  process.stdout.write(lines.join('\n'));

  if (opt.json) {
    writeFileSync(opt.json, JSON.stringify({ docs: N, meanBytes, seed: SEED, reps: REPS, edits: EDITS, editRounds: EDIT_ROUNDS,
      rows: ROWS, csVersion, typeCounts, runs, raw, load }, null, 2));
    log(`wrote ${opt.json}`);
  }
}

main().then(
  () => process.exit(0),
  async (e) => {
    console.error(`bench/views failed: ${e.stack || e}`);
    await stopAll();
    process.exit(1);
  },
);
