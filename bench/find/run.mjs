#!/usr/bin/env node
// bench/find — Mango _find on 100,000 ~1 KB FHIR-shaped documents: json index build rate, an
// equality + range query served by the index (100 rows), the same query without an index (full
// scan), and pouchdb-server 4.2.0 (express-pouchdb + pouchdb-find, in memory) on the same documents
// in the same run. Run on demand, never part of the test suite; prints a table with ✓/✗ against
// the issue-5 targets and asserts nothing (a wrong answer marks the figure FAILED).
//
//   node bench/find/run.mjs [--docs 100000] [options]      (or bench/find/run.sh)
//
// See bench/README.md ("bench/find") for what each figure means; --help lists the options.

import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseOptions } from '../lib/options.mjs';
import { generateDocs, prng, REPO_ROOT } from '../lib/fhirgen.mjs';
import { Server, installCleanupHandlers, stopAll } from '../lib/servers.mjs';

const HELP = `Usage: node bench/find/run.mjs [options]   (or bench/find/run.sh [options])

  --docs N            documents (default 100000)
  --seed N            generator seed (default 42)
  --rows N            rows the equality + range query returns (default 100)
  --query-reps N      timed runs of the indexed query per server, each on a different range (default 30)
  --scan-reps N       timed runs of the unindexed query on couchsync (default 3)
  --peer-scan-reps N  timed runs of the unindexed query on pouchdb-server (default 1; 0 skips it)
  --bulk-batch N      docs per _bulk_docs new_edits:false request when loading (default 1000)
  --conns N           concurrent _bulk_docs requests when loading (default 2)
  --skip LIST         comma list of: peer (no pouchdb-server), scan (no unindexed queries)
  --python PATH       python running couchsync (default <repo>/.venv/bin/python)
  --timeout S         give up on one request after S seconds (default 1200)
  --json FILE         also write every measurement as JSON to FILE
  -h, --help
`;

const { opt, int } = parseOptions({
  docs: { type: 'string', default: '100000' },
  seed: { type: 'string', default: '42' },
  rows: { type: 'string', default: '100' },
  'query-reps': { type: 'string', default: '30' },
  'scan-reps': { type: 'string', default: '3' },
  'peer-scan-reps': { type: 'string', default: '1' },
  'bulk-batch': { type: 'string', default: '1000' },
  conns: { type: 'string', default: '2' },
  skip: { type: 'string', default: '' },
  python: { type: 'string', default: join(REPO_ROOT, '.venv', 'bin', 'python') },
  timeout: { type: 'string', default: '1200' },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
}, HELP);
const N = int('docs', 1);
const SEED = int('seed');
const ROWS = int('rows', 1);
const QUERY_REPS = int('query-reps', 1);
const SCAN_REPS = int('scan-reps', 0);
const PEER_SCAN_REPS = int('peer-scan-reps', 0);
const BULK_BATCH = int('bulk-batch', 1);
const CONNS = int('conns', 1);
const TIMEOUT_MS = int('timeout', 1) * 1000;
const SKIP = new Set(opt.skip.split(',').map((s) => s.trim()).filter(Boolean));
for (const s of SKIP) {
  if (!['peer', 'scan'].includes(s)) {
    console.error(`--skip: unknown phase ${s}`);
    process.exit(2);
  }
}

const TARGETS = { indexedMs: 10, ratio: 100, build: 30_000 };
const INDEX = { index: { fields: ['resourceType', 'id'] }, ddoc: 'bench-find', name: 'type-id', type: 'json' };
const NO_INDEX_WARNING = 'No matching index found, create an index to optimize query time.';

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const fmt = (n) => (n == null || Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US'));
const fms = (n) => (n == null || Number.isNaN(n) ? '—' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'));
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && !Number.isNaN(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const pct = (xs, p) => {
  const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))] : null;
};

let aborted = false;
installCleanupHandlers(() => (aborted = true));

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

// Server CPU ms (all threads) from /proc/<pid>/task/<tid>/schedstat; null when unavailable.
function cpuMs(server) {
  const pid = server.child?.pid;
  if (!pid) return null;
  let ns = 0;
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {}
    }
  } catch {
    return null;
  }
  return ns / 1e6;
}

async function timed(server, fn) {
  const c0 = cpuMs(server);
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  const c1 = cpuMs(server);
  return { ms, serverMs: c0 != null && c1 != null ? c1 - c0 : null, result };
}

// ---------------------------------------------------------------------------------------------
// phases

async function load(server, name, bodies) {
  const r = await request(server, `/${name}`, { method: 'PUT' });
  if (r.status !== 201) throw new Error(`PUT /${name} on ${server.kind}: ${r.status} ${r.text}`);
  let next = 0;
  const errors = [];
  const worker = async () => {
    while (next < bodies.length && !aborted) {
      const body = bodies[next++];
      const res = await request(server, `/${name}/_bulk_docs`, { method: 'POST', body });
      if (res.status !== 201 && res.status !== 200) errors.push(`${res.status} ${res.text.slice(0, 300)}`);
      else if (res.text.includes('"error"')) errors.push(`per-doc error: ${res.text.slice(0, 300)}`);
    }
  };
  const t = await timed(server, () => Promise.all(Array.from({ length: CONNS }, worker)));
  if (errors.length) throw new Error(`load into ${server.kind}: ${errors.length} failed requests, first: ${errors[0]}`);
  const info = parsed(`GET /${name}`, await request(server, `/${name}`));
  if (info.doc_count !== N) throw new Error(`load into ${server.kind}: doc_count ${info.doc_count}/${N}`);
  return { rate: N / (t.ms / 1000), ms: t.ms };
}

/** One _find; checks the answer is exactly the expected rows, in index order. */
async function runQuery(server, name, q, { expectWarning }) {
  const body = JSON.stringify({ selector: q.selector, limit: ROWS * 10 });
  const t = await timed(server, () => request(server, `/${name}/_find`, { method: 'POST', body }));
  const res = parsed(`_find on ${server.kind}`, t.result);
  const ids = res.docs.map((d) => d.id);
  if (ids.length !== q.ids.length) throw new Error(`_find on ${server.kind}: ${ids.length} rows, expected ${q.ids.length}`);
  const got = [...ids].sort();
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== q.ids[i]) throw new Error(`_find on ${server.kind}: row ${i} is ${got[i]}, expected ${q.ids[i]}`);
  }
  if (expectWarning === true && !(res.warning || '').startsWith(NO_INDEX_WARNING)) {
    throw new Error(`_find on ${server.kind}: expected the no-index warning, got ${JSON.stringify(res.warning)}`);
  }
  if (expectWarning === false && res.warning) throw new Error(`_find on ${server.kind}: unexpected warning ${res.warning}`);
  return { ms: t.ms, serverMs: t.serverMs, bytes: t.result.text.length };
}

async function runServer(server, bodies, queries, out) {
  const name = `bench-find-${process.pid}`;
  log(`${server.kind}: loading ${N.toLocaleString('en-US')} docs`);
  out.load = await load(server, name, bodies);
  log(`${server.kind}: loaded at ${fmt(out.load.rate)} docs/s`);
  const scanReps = server.kind === 'couchsync' ? SCAN_REPS : PEER_SCAN_REPS;
  if (!SKIP.has('scan') && scanReps > 0) {
    const scans = [];
    for (let i = 0; i < scanReps && !aborted; i++) {
      const q = queries[(i * 7919) % queries.length];
      scans.push(await runQuery(server, name, q, { expectWarning: server.kind === 'couchsync' ? true : null }));
      log(`${server.kind}: unindexed query ${i + 1}/${scanReps}: ${fms(scans.at(-1).ms)} ms`);
    }
    out.scan = { ms: median(scans.map((s) => s.ms)), serverMs: median(scans.map((s) => s.serverMs)), runs: scans.map((s) => s.ms) };
  }
  // index build: POST _index, then the first _find (update=true) builds it
  log(`${server.kind}: building the index`);
  const build = await timed(server, async () => {
    const created = parsed('POST _index', await request(server, `/${name}/_index`, { method: 'POST', body: JSON.stringify(INDEX) }));
    if (created.result !== 'created') throw new Error(`POST _index on ${server.kind}: ${JSON.stringify(created)}`);
    return runQuery(server, name, queries[0], { expectWarning: null });
  });
  out.build = { ms: build.ms, rate: N / (build.ms / 1000), serverMs: build.serverMs };
  log(`${server.kind}: index built in ${fms(build.ms)} ms (${fmt(out.build.rate)} docs/s)`);
  const ex = parsed('_explain', await request(server, `/${name}/_explain`, { method: 'POST', body: JSON.stringify({ selector: queries[0].selector }) }));
  out.explainIndex = ex.index?.name ?? null;
  if (out.explainIndex !== INDEX.name) log(`${server.kind}: _explain names index ${JSON.stringify(ex.index)}`);
  const runs = [];
  for (let i = 0; i < QUERY_REPS && !aborted; i++) {
    runs.push(await runQuery(server, name, queries[1 + (i % (queries.length - 1))], { expectWarning: server.kind === 'couchsync' ? false : null }));
  }
  out.indexed = {
    ms: median(runs.map((r) => r.ms)),
    p90: pct(runs.map((r) => r.ms), 90),
    min: Math.min(...runs.map((r) => r.ms)),
    serverMs: median(runs.map((r) => r.serverMs)),
    bytes: median(runs.map((r) => r.bytes)),
    runs: runs.map((r) => r.ms),
  };
  log(`${server.kind}: indexed query median ${fms(out.indexed.ms)} ms over ${runs.length} runs`);
  await request(server, `/${name}`, { method: 'DELETE' }).catch(() => {});
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const t00 = performance.now();
  const loadStart = loadavg()[0];
  log(`generating ${N.toLocaleString('en-US')} docs (seed ${SEED})`);
  const { docs, meanBytes } = generateDocs(N, { seed: SEED });
  for (const d of docs) d._rev = '1-' + createHash('md5').update(JSON.stringify(d)).digest('hex');
  const bodies = [];
  for (let i = 0; i < N; i += BULK_BATCH) bodies.push(JSON.stringify({ new_edits: false, docs: docs.slice(i, i + BULK_BATCH) }));

  // The query: resourceType = <most common type> and id in [a, b] where [a, b] spans exactly ROWS
  // ids of that type (lowercase hex UUIDs: code unit order = ICU order). Every run uses another range.
  const counts = {};
  for (const d of docs) counts[d.resourceType] = (counts[d.resourceType] || 0) + 1;
  const [type, typeCount] = Object.entries(counts).sort((a, b) => b[1] - a[1])[0];
  if (typeCount < ROWS) throw new Error(`only ${typeCount} docs of the most common type, fewer than --rows ${ROWS}`);
  const typeIds = docs.filter((d) => d.resourceType === type).map((d) => d.id).sort();
  const rand = prng(SEED + 7);
  const queries = [];
  for (let i = 0; i < Math.max(QUERY_REPS + 1, 8); i++) {
    const s = Math.floor(rand() * (typeIds.length - ROWS + 1));
    const ids = typeIds.slice(s, s + ROWS);
    queries.push({ selector: { resourceType: type, id: { $gte: ids[0], $lte: ids[ROWS - 1] } }, ids });
  }
  log(`query: resourceType = ${type} (${typeCount.toLocaleString('en-US')} docs) and id in a ${ROWS}-id range`);

  const cs = new Server('couchsync', { python: opt.python });
  const peer = SKIP.has('peer') ? null : new Server('pouchdb-server');
  log('starting couchsync' + (peer ? ' and pouchdb-server' : ''));
  await Promise.all([cs.start(), peer?.start()]);
  let treeInfo = '?';
  try {
    const head = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--', 'couchsync'], { encoding: 'utf8' }).trim();
    treeInfo = `${head}${dirty ? ` + uncommitted changes in ${dirty.split('\n').length} couchsync/ paths` : ''}`;
  } catch {}

  const results = {};
  for (const s of [cs, peer].filter(Boolean)) {
    if (aborted) break;
    results[s.kind] = {};
    try {
      await runServer(s, bodies, queries, results[s.kind]);
    } catch (e) {
      results[s.kind].error = e.message;
      log(`${s.kind}: FAILED: ${e.message}`);
    }
    if (!s.alive()) results[s.kind].error = (results[s.kind].error || '') + ` (${s.kind} died)\n${s.tail()}`;
  }
  log('stopping servers');
  await stopAll();
  const wall = (performance.now() - t00) / 1000;
  report({ results, meanBytes, type, typeCount, wall, treeInfo, load: [loadStart, loadavg()[0]] });
  if (opt.json) writeFileSync(opt.json, JSON.stringify({ n: N, rows: ROWS, type, results }, null, 2));
}

function report({ results, meanBytes, type, typeCount, wall, treeInfo, load }) {
  const cs = results.couchsync || {};
  const peer = results['pouchdb-server'];
  const w = (s) => process.stdout.write(s + '\n');
  const mark = (ok) => (ok == null ? '' : ok ? ' ✓' : ' ✗');
  const ratio = cs.scan?.ms && cs.indexed?.ms ? cs.scan.ms / cs.indexed.ms : null;
  w('');
  w(`bench/find — ${N.toLocaleString('en-US')} FHIR docs (mean ${fmt(meanBytes)} B), seed ${SEED}; couchsync ${treeInfo}`);
  w(`query: {"resourceType": "${type}", "id": {"$gte": a, "$lte": b}} → ${ROWS} rows (${typeCount.toLocaleString('en-US')} docs of that type); index ["resourceType", "id"]`);
  w(`load average ${load[0].toFixed(2)} → ${load[1].toFixed(2)}, wall ${wall.toFixed(0)} s`);
  w('');
  const rows = [
    ['', 'couchsync', 'pouchdb-server', 'target'],
    ['index build: POST _index + first _find (docs/s)', fmt(cs.build?.rate), fmt(peer?.build?.rate),
      `≥ ${TARGETS.build.toLocaleString('en-US')}${mark(cs.build ? cs.build.rate >= TARGETS.build : null)}`],
    [`indexed eq+range query, ${ROWS} rows (median ms, ${QUERY_REPS} runs)`, fms(cs.indexed?.ms), fms(peer?.indexed?.ms),
      `< ${TARGETS.indexedMs} ms${mark(cs.indexed ? cs.indexed.ms < TARGETS.indexedMs : null)}`],
    ['  p90 / min (ms)', cs.indexed ? `${fms(cs.indexed.p90)} / ${fms(cs.indexed.min)}` : '—',
      peer?.indexed ? `${fms(peer.indexed.p90)} / ${fms(peer.indexed.min)}` : '—', ''],
    ['  server CPU per query (median ms)', fms(cs.indexed?.serverMs), fms(peer?.indexed?.serverMs), ''],
    [`same query unindexed (median ms, ${SKIP.has('scan') ? 0 : SCAN_REPS} / ${SKIP.has('scan') ? 0 : PEER_SCAN_REPS} runs)`,
      fms(cs.scan?.ms), fms(peer?.scan?.ms), ''],
    ['unindexed / indexed', ratio ? `${ratio.toFixed(0)}×` : '—',
      peer?.scan?.ms && peer?.indexed?.ms ? `${(peer.scan.ms / peer.indexed.ms).toFixed(0)}×` : '—',
      `≥ ${TARGETS.ratio}×${mark(ratio != null ? ratio >= TARGETS.ratio : null)}`],
    ['couchsync / pouchdb-server, indexed query', '', cs.indexed && peer?.indexed ? `${(peer.indexed.ms / cs.indexed.ms).toFixed(1)}× faster` : '—', ''],
    ['load: _bulk_docs new_edits:false (docs/s, untimed)', fmt(cs.load?.rate), fmt(peer?.load?.rate), ''],
    ['index named by _explain', cs.explainIndex ?? '—', peer?.explainIndex ?? '—', ''],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const [i, r] of rows.entries()) {
    w(r.map((c, j) => (j === 0 ? String(c).padEnd(widths[j]) : String(c).padStart(widths[j]))).join('  '));
    if (i === 0) w(widths.map((x) => '-'.repeat(x)).join('  '));
  }
  for (const [kind, r] of Object.entries(results)) if (r.error) w(`\n${kind} FAILED: ${r.error}`);
}

main().catch(async (e) => {
  console.error(e);
  await stopAll();
  process.exit(1);
});
