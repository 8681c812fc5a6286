// One-shot push of the Synthea documents from a memory PouchDB to the server, then a one-shot
// pull into a second memory PouchDB: every doc, _rev and revision history identical everywhere.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { Dbs, logged, snapshot } from './lib/pouch.mjs';
import { loadSyntheaEditRounds, loadSyntheaResources } from './lib/synthea.mjs';

let server;
const dbs = new Dbs();
const L = (fn) => logged(dbs, () => server, fn);

before(async () => {
  server = await startServer();
});
after(async () => {
  await dbs.closeAll();
  await server?.cleanup();
});

/** Write all 1,000 resources: first occurrences as new docs, later ones as edits (34 docs get 2+ revs). */
async function loadAll(db) {
  const rounds = loadSyntheaEditRounds();
  for (const docs of rounds) {
    const existing = await db.allDocs({ keys: docs.map((d) => d._id) });
    for (const [i, row] of existing.rows.entries()) if (row.value) docs[i]._rev = row.value.rev;
    const res = await db.bulkDocs(docs);
    for (const r of res) assert.ok(r.ok, `local write failed: ${JSON.stringify(r)}`);
  }
  return rounds;
}

test('one-shot push then pull of the Synthea documents keeps every doc and _rev', { timeout: 90_000 }, L(async () => {
  const resources = loadSyntheaResources();
  assert.equal(resources.length, 1000, 'the data set holds 1,000 FHIR resources');

  const a = dbs.mem('synthea-a');
  const rounds = await loadAll(a);
  const nDocs = rounds[0].length;
  const multiRev = new Set(rounds.slice(1).flat().map((d) => d._id));
  assert.ok(multiRev.size > 0);

  const remote = dbs.remote(server, 'synthea');
  const push = await a.replicate.to(remote);
  assert.equal(push.ok, true);
  assert.equal(push.status, 'complete');
  assert.equal(push.docs_read, nDocs);
  assert.equal(push.docs_written, nDocs);
  assert.equal(push.doc_write_failures, 0);
  assert.deepEqual(push.errors, []);

  const info = await remote.info();
  assert.equal(info.doc_count, nDocs);
  if (!server.isPeer) assert.equal(info.doc_del_count, 0); // pouchdb-server doesn't report it

  const b = dbs.mem('synthea-b');
  const pull = await b.replicate.from(remote);
  assert.equal(pull.ok, true);
  assert.equal(pull.status, 'complete');
  assert.equal(pull.docs_read, nDocs);
  assert.equal(pull.docs_written, nDocs);
  assert.equal(pull.doc_write_failures, 0);

  const snapA = await snapshot(a);
  const snapServer = await snapshot(remote);
  const snapB = await snapshot(b);
  assert.equal(snapA.length, nDocs);
  assert.deepStrictEqual(snapServer, snapA, 'server docs differ from the pushing PouchDB');
  assert.deepStrictEqual(snapB, snapA, 'pulled docs differ from the pushing PouchDB');

  // bodies are the resources unchanged (last occurrence wins)
  const lastById = new Map(resources.map((r) => [r._id, r.resource]));
  for (const { id, rev, doc } of snapB) {
    const { _id, _rev, ...body } = doc;
    assert.equal(_id, id);
    assert.equal(_rev, rev);
    assert.deepStrictEqual(body, lastById.get(id), `body of ${id}`);
  }

  // member order is kept exactly as sent, nested objects included (raw JSON from the server)
  for (const { id } of snapB.filter((_, i) => i % 20 === 0)) {
    const raw = await server.json(`/synthea/${encodeURIComponent(id)}`);
    assert.equal(raw.status, 200);
    const { _id, _rev, ...body } = raw.body;
    assert.equal(JSON.stringify(body), JSON.stringify(lastById.get(id)), `member order of ${id} as served`);
  }

  // revision histories survive the round trip (docs that were edited have 2+ revs)
  for (const id of multiRev) {
    const [da, ds, db] = await Promise.all([a, remote, b].map((d) => d.get(id, { revs: true })));
    assert.ok(da._revisions.start >= 2);
    assert.deepStrictEqual(ds._revisions, da._revisions, `server _revisions of ${id}`);
    assert.deepStrictEqual(db._revisions, da._revisions, `pulled _revisions of ${id}`);
  }

  // a second run of both directions has nothing to do
  const push2 = await a.replicate.to(remote);
  assert.equal(push2.docs_written, 0);
  const pull2 = await b.replicate.from(remote);
  assert.equal(pull2.docs_written, 0);
}));
