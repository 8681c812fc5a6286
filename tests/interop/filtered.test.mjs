// Filtered pull replication: doc_ids (POST _changes?filter=_doc_ids) and selector
// (POST _changes?filter=_selector) bring exactly the matching documents, and a second run with the
// same filter resumes from its own checkpoint.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { IS_PEER, startServer } from './lib/server.mjs';
import { Dbs, logged, snapshot } from './lib/pouch.mjs';
import { loadSyntheaDocs } from './lib/synthea.mjs';

let server;
let remote;
const dbs = new Dbs();
const L = (fn) => logged(dbs, () => server, fn);
const DB = 'filtered';
let docs;

before(async () => {
  server = await startServer();
  docs = loadSyntheaDocs();
  const seed = dbs.mem('filtered-seed');
  await seed.bulkDocs(docs.map((d) => ({ ...d })));
  remote = dbs.remote(server, DB);
  const res = await seed.replicate.to(remote);
  assert.equal(res.docs_written, docs.length);
});
after(async () => {
  await dbs.closeAll();
  await server?.cleanup();
});

const ids = async (db) => (await db.allDocs()).rows.map((r) => r.id).sort();

test('doc_ids filtered pull brings only the listed docs', { timeout: 60_000 }, L(async () => {
  const wanted = [docs[0]._id, docs[17]._id, docs[400]._id, docs[961]._id, 'does-not-exist'];
  const local = dbs.mem('doc-ids');
  const r1 = await local.replicate.from(remote, { doc_ids: wanted });
  assert.equal(r1.ok, true);
  assert.equal(r1.docs_written, 4);
  assert.deepStrictEqual(await ids(local), wanted.slice(0, 4).sort());
  const reqs = dbs.log.entries.filter((e) => e.url.includes(`/${DB}/_changes`) && e.url.includes('filter=_doc_ids'));
  assert.ok(reqs.length > 0, 'used POST _changes?filter=_doc_ids');
  assert.equal(reqs[0].method, 'POST');

  // same docs as on the server
  const server4 = await snapshot(remote, { keys: wanted.slice(0, 4).sort() });
  assert.deepStrictEqual(await snapshot(local), server4);

  // edit one listed and one unlisted doc on the server; only the listed one comes over
  for (const id of [docs[17]._id, docs[18]._id]) {
    const cur = await remote.get(id);
    await remote.put({ ...cur, touched: true });
  }
  const r2 = await local.replicate.from(remote, { doc_ids: wanted });
  assert.equal(r2.docs_read, 1);
  assert.equal(r2.docs_written, 1);
  assert.equal((await local.get(docs[17]._id)).touched, true);
  await assert.rejects(local.get(docs[18]._id), { status: 404 });
}));

const selectorSkip = IS_PEER && 'pouchdb-server 4.2.0 has no _selector changes filter (404)';
test('selector filtered pull brings only the matching docs', { timeout: 60_000, skip: selectorSkip }, L(async () => {
  const patients = docs.filter((d) => d.resourceType === 'Patient').map((d) => d._id).sort();
  assert.equal(patients.length, 10);
  const local = dbs.mem('selector');
  const r1 = await local.replicate.from(remote, { selector: { resourceType: 'Patient' } });
  assert.equal(r1.ok, true);
  assert.equal(r1.docs_written, 10);
  assert.deepStrictEqual(await ids(local), patients);
  const reqs = dbs.log.entries.filter((e) => e.url.includes(`/${DB}/_changes`) && e.url.includes('filter=_selector'));
  assert.ok(reqs.length > 0, 'used POST _changes?filter=_selector');
  assert.equal(reqs[0].method, 'POST');
  assert.deepStrictEqual(await snapshot(local), await snapshot(remote, { keys: patients }));

  // a more complex selector: immunizations with a given status for one patient
  const someImm = docs.find((d) => d.resourceType === 'Immunization');
  const sel = { resourceType: 'Immunization', 'patient.reference': someImm.patient.reference, status: { $eq: 'completed' } };
  const expected = docs
    .filter((d) => d.resourceType === 'Immunization' && d.patient?.reference === someImm.patient.reference && d.status === 'completed')
    .map((d) => d._id)
    .sort();
  assert.ok(expected.length > 1);
  const local2 = dbs.mem('selector2');
  const r2 = await local2.replicate.from(remote, { selector: sel });
  assert.equal(r2.docs_written, expected.length);
  assert.deepStrictEqual(await ids(local2), expected);

  // new matching + non-matching docs on the server: only the match arrives, from the checkpoint on
  await remote.put({ _id: 'Patient-new-one', resourceType: 'Patient', id: 'new-one', active: true });
  await remote.put({ _id: 'Observation-new-one', resourceType: 'Observation', id: 'new-one' });
  const r3 = await local.replicate.from(remote, { selector: { resourceType: 'Patient' } });
  assert.equal(r3.docs_read, 1);
  assert.equal(r3.docs_written, 1);
  assert.deepStrictEqual(await ids(local), [...patients, 'Patient-new-one'].sort());
}));
