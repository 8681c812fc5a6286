// PouchDB's db.query('ddoc/view', opts) against the server equals db.query on a local memory
// PouchDB holding the same documents (replicated, so revisions match) and the same design doc.
//
// Keys stick to what CouchDB and PouchDB collate alike: null, booleans, numbers, lowercase ASCII
// strings, arrays and objects (PouchDB compares strings by code unit, CouchDB with ICU, so mixed
// case would differ by design; that ordering is covered by tests/views_api/test_collation.py).
// `offset` is checked separately (see checkOffset).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { startServer } from './lib/server.mjs';
import { Dbs, logged } from './lib/pouch.mjs';

let server;
let remote;
let local;
const dbs = new Dbs();
const L = (fn) => logged(dbs, () => server, fn);

const WORDS = ['apple', 'banana', 'cherry', 'date', 'elder', 'fig'];
const DDOC = {
  _id: '_design/v',
  views: {
    by_k: { map: 'function (doc) { if (doc.type === "item") emit(doc.k, doc.n); }' },
    mixed: { map: 'function (doc) { if (doc.type === "item") emit(doc.mixed, null); }' },
    count: { map: 'function (doc) { if (doc.type === "item") emit(doc.k, doc.n); }', reduce: '_count' },
    sum: { map: 'function (doc) { if (doc.type === "item") emit(doc.k, doc.n); }', reduce: '_sum' },
    stats: { map: 'function (doc) { if (doc.type === "item") emit(doc.k, doc.n); }', reduce: '_stats' },
    arr: { map: 'function (doc) { if (doc.type === "item") emit([doc.g, doc.k, doc.n], doc.n); }', reduce: '_sum' },
    arrcount: { map: 'function (doc) { if (doc.type === "item") emit([doc.g, doc.k], 1); }', reduce: '_count' },
    multi: { map: 'function (doc) { if (doc.type === "item") { emit(doc.g, 1); emit(doc.g, 2); } }' },
    link: { map: 'function (doc) { if (doc.type === "item" && doc.n % 7 === 0) emit(doc.n, {_id: doc.link}); }' },
  },
};
const MIXED = [null, false, true, -3, 0, 2.5, 10, 'a', 'b', 'ba', ['a'], ['a', 1], ['b'], { a: 1 }, { b: 0 }];

function makeDocs() {
  const docs = [];
  for (let i = 0; i < 60; i++) {
    docs.push({
      _id: `item-${String(i).padStart(3, '0')}`,
      type: 'item',
      k: WORDS[(i * 7) % WORDS.length],
      n: i,
      g: `g${i % 4}`,
      mixed: MIXED[i % MIXED.length],
      link: `item-${String((i + 1) % 60).padStart(3, '0')}`,
    });
  }
  docs.push({ _id: 'other', type: 'other', k: 'apple', n: 1000 });
  return docs;
}

before(async () => {
  server = await startServer();
  local = dbs.mem('views-local');
  await local.bulkDocs([...makeDocs(), DDOC]);
  // a conflict, for include_docs + conflicts
  await local.bulkDocs([{ _id: 'item-005', _rev: '1-00000000000000000000000000000001', type: 'item', k: 'fig', n: 5, g: 'g1', mixed: 1, link: 'item-006' }], { new_edits: false });
  remote = dbs.remote(server, 'views-interop');
  const res = await local.replicate.to(remote);
  assert.equal(res.ok, true);
  assert.equal(res.doc_write_failures, 0);
});
after(async () => {
  await dbs.closeAll();
  await server?.cleanup();
});

// PouchDB's local mapreduce reports `offset` as the `skip`; CouchDB (and the server) report the
// position of the first row returned in the whole view (in the query's direction). So offsets are
// taken out of the comparison and the server's is checked against the local view's full row list.
async function checkOffset(view, opts, got) {
  if (!('offset' in got) || 'keys' in opts || got.rows.length === 0) return;
  const all = (await local.query(`v/${view}`, { reduce: false, descending: !!opts.descending })).rows;
  const first = got.rows[0];
  const pos = all.findIndex((r) => r.id === first.id && isDeepStrictEqual(r.key, first.key) && isDeepStrictEqual(r.value, first.value));
  assert.equal(got.offset, pos, `offset of ${view} ${JSON.stringify(opts)}`);
}

async function same(view, opts) {
  const [got, want] = await Promise.all([remote.query(`v/${view}`, { ...opts }), local.query(`v/${view}`, { ...opts })]);
  const gotOffset = { ...got };
  delete got.offset;
  delete want.offset;
  assert.deepStrictEqual(got, want, `${view} ${JSON.stringify(opts)}`);
  await checkOffset(view, opts, gotOffset);
  return got;
}

const MAP_CASES = [
  {},
  { key: 'cherry' },
  { key: 'nope' },
  { keys: ['fig', 'apple', 'nope', 'fig'] },
  { keys: ['date'] },
  { startkey: 'banana', endkey: 'date' },
  { start_key: 'banana', end_key: 'date' },
  { startkey: 'banana', endkey: 'date', inclusive_end: false },
  { startkey: 'bb', endkey: 'dz' },
  { startkey: 'cherry', startkey_docid: 'item-030' },
  { endkey: 'cherry', endkey_docid: 'item-030' },
  { endkey: 'cherry', endkey_docid: 'item-030', inclusive_end: false },
  { descending: true },
  { descending: true, startkey: 'date', endkey: 'banana' },
  { descending: true, startkey: 'date', endkey: 'banana', inclusive_end: false },
  { descending: true, startkey: 'cherry', startkey_docid: 'item-030' },
  { limit: 5 },
  { limit: 0 },
  { skip: 7, limit: 5 },
  { skip: 100 },
  { descending: true, skip: 3, limit: 4 },
  { key: 'fig', skip: 2, limit: 3 },
  { keys: ['fig', 'apple'], skip: 3, limit: 4 },
  { include_docs: true, limit: 6 },
  { include_docs: true, key: 'fig' },
  { include_docs: true, conflicts: true, key: 'fig' },
  { include_docs: true, keys: ['banana', 'elder'] },
];

test('map queries: server equals local PouchDB', { timeout: 30_000 }, L(async () => {
  for (const opts of MAP_CASES) await same('by_k', opts);
}));

test('collation of mixed key types and multiple emits', { timeout: 30_000 }, L(async () => {
  const res = await same('mixed', {});
  assert.equal(res.rows.length, 60);
  await same('mixed', { descending: true, limit: 20 });
  await same('mixed', { startkey: false, endkey: 'b' });
  await same('mixed', { startkey: ['a'], endkey: ['a', {}] });
  await same('mixed', { key: { a: 1 } });
  await same('mixed', { keys: [null, ['b'], 2.5, 'ba'] });
  await same('multi', {});
  await same('multi', { key: 'g2', limit: 5, skip: 1 });
  await same('multi', { descending: true, key: 'g1' });
}));

test('include_docs follows emitted {_id} links', { timeout: 30_000 }, L(async () => {
  const res = await same('link', { include_docs: true });
  assert.ok(res.rows.length > 0 && res.rows.every((r) => r.doc && r.doc._id === r.value._id));
}));

const REDUCE_CASES = [
  ['count', {}],
  ['count', { group: true }],
  ['count', { key: 'fig' }],
  ['count', { keys: ['fig', 'apple'], group: true }],
  ['count', { startkey: 'banana', endkey: 'date' }],
  ['count', { group: true, descending: true }],
  ['count', { group: true, limit: 2, skip: 1 }],
  ['count', { reduce: false, limit: 4 }],
  ['sum', {}],
  ['sum', { group: true }],
  ['sum', { group: true, startkey: 'cherry' }],
  ['sum', { key: 'date' }],
  ['stats', {}],
  ['stats', { group: true }],
  ['arr', {}],
  ['arr', { group_level: 1 }],
  ['arr', { group_level: 2 }],
  ['arr', { group_level: 2, startkey: ['g1'], endkey: ['g2', {}] }],
  ['arr', { group_level: 1, descending: true }],
  ['arr', { group_level: 3, limit: 5 }],
  ['arr', { group: true, limit: 3, skip: 2 }],
  ['arrcount', { group_level: 1 }],
  ['arrcount', { group: true }],
  ['arrcount', { keys: [['g0', 'fig'], ['g3', 'apple'], ['g9', 'x']], group: true }],
];

test('reduce queries (_count, _sum, _stats, group, group_level): server equals local PouchDB', { timeout: 30_000 }, L(async () => {
  for (const [view, opts] of REDUCE_CASES) await same(view, opts);
}));

// CouchDB's query_parse_error reaches PouchDB's http adapter as an error with status 400 and name
// query_parse_error (PouchDB's own local checks are laxer for some of these, so only the server is
// asserted).
test('query errors reach PouchDB as 400 query_parse_error', { timeout: 30_000 }, L(async () => {
  for (const [view, opts] of [
    ['by_k', { reduce: true }],
    ['count', { keys: ['a', 'b'] }],
    ['count', { include_docs: true }],
    ['by_k', { group: true }],
    ['by_k', { startkey: 'z', endkey: 'a' }],
    ['arrcount', { group_level: 2, keys: [['g0', 'fig'], ['g3', 'apple']], group: true }],
  ]) {
    const got = await remote.query(`v/${view}`, opts).then(() => null, (e) => e);
    assert.ok(got, `${view} ${JSON.stringify(opts)} should fail`);
    assert.equal(got.status, 400, `${view} ${JSON.stringify(opts)}: ${got.message}`);
    assert.equal(got.name, 'query_parse_error');
  }
  const missing = await remote.query('v/nope').then(() => null, (e) => e);
  assert.equal(missing?.status, 404);
}));
