// Erasure (POST /{db}/_erase) seen by PouchDB 9 clients that had synced the document before: a
// one-shot pull, a live sync and a fresh client all end up without it (the erasure tombstone
// {"_deleted": true, "erased": true} replicates as a deletion of every leaf, conflicts included),
// and a client that edited the document offline before the erasure cannot push the content back
// (its revision is refused with 403, which PouchDB counts as a write failure and carries on).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer } from './lib/server.mjs';
import { Dbs, logged, waitFor } from './lib/pouch.mjs';

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

const SECRET = `SECRET-${randomUUID()}`;
const ATT = `scan of ${SECRET}`;

async function allText(db) {
  const docs = await db.allDocs({ include_docs: true, attachments: true, conflicts: true });
  const changes = await db.changes({ include_docs: true, style: 'all_docs' });
  return JSON.stringify([docs, changes]);
}

async function assertGone(db, id) {
  await assert.rejects(db.get(id), (e) => e.status === 404, `${id} still readable on ${db.name}`);
  const leaves = await db.get(id, { open_revs: 'all' });
  assert.ok(leaves.length >= 1);
  for (const leaf of leaves) {
    assert.equal(leaf.ok._deleted, true, `a live leaf remains on ${db.name}: ${JSON.stringify(leaf)}`);
    assert.equal(leaf.ok.erased, true);
  }
  const text = await allText(db);
  assert.ok(!text.includes(SECRET), `secret visible on ${db.name}`);
  assert.ok(!text.includes(Buffer.from(ATT).toString('base64')), `attachment visible on ${db.name}`);
}

async function erase(dbName, ids) {
  const { status, body } = await server.json(`/${dbName}/_erase`, {
    method: 'POST',
    body: JSON.stringify({ doc_ids: ids, reason: 'patient request' }),
  });
  assert.equal(status, 201, JSON.stringify(body));
  return body;
}

test('clients that synced a document lose it after its erasure', { timeout: 60_000 }, L(async () => {
  const name = 'erase-sync';
  const remote = dbs.remote(server, name);
  const a = dbs.mem('erase-a');
  const live = dbs.mem('erase-live');
  const stale = dbs.mem('erase-stale');

  await a.put({
    _id: 'patient-1', name: SECRET, v: 1,
    _attachments: { 'scan.txt': { content_type: 'text/plain', data: Buffer.from(ATT).toString('base64') } },
  });
  await a.put({ _id: 'patient-2', name: 'kept' });
  let res = await a.replicate.to(remote);
  assert.equal(res.docs_written, 2);
  // replication is audited like any write: by the replicating user, from its address
  const { body: trail } = await server.json(`/${name}/_audit?doc_id=patient-1`);
  assert.deepEqual(trail.entries.map((e) => [e.op, e.user, e.address]), [['replicate', 'admin', '127.0.0.1']]);
  // a second edit on the server and a conflicting branch from another client: several leaves to close
  const onServer = await remote.get('patient-1');
  await remote.put({ ...onServer, v: 2, name: `${SECRET}-2` });
  await stale.replicate.from(remote);
  const forked = await stale.get('patient-1');
  await stale.put({ ...forked, v: 'stale edit', name: `${SECRET}-stale` }); // offline edit, never pushed
  await a.put({ ...(await a.get('patient-1')), v: 'branch', name: `${SECRET}-branch` });
  res = await a.sync(remote);
  assert.equal(res.push.doc_write_failures, 0);
  const serverLeaves = await remote.get('patient-1', { open_revs: 'all' });
  assert.equal(serverLeaves.filter((l) => !l.ok._deleted).length, 2, 'a conflict on the server');

  const handler = dbs.track(live.sync(remote, { live: true, retry: true }));
  await waitFor(async () => (await live.get('patient-1', { conflicts: true }))._conflicts?.length === 1,
    { what: 'the live client to hold the conflicted document', timeoutMs: 10_000 });

  const erased = await erase(name, ['patient-1']);
  assert.equal(erased.results[0].ok, true);

  // one-shot pull
  res = await a.replicate.from(remote);
  assert.equal(res.doc_write_failures, 0);
  await assertGone(a, 'patient-1');
  assert.equal((await a.get('patient-2')).name, 'kept');
  // live sync
  await waitFor(async () => {
    try {
      await live.get('patient-1');
      return false;
    } catch (e) {
      return e.status === 404;
    }
  }, { what: 'the live client to delete the document', timeoutMs: 15_000 });
  await assertGone(live, 'patient-1');
  handler.cancel();
  // a fresh client never sees the content
  const fresh = dbs.mem('erase-fresh');
  await fresh.replicate.from(remote);
  await assertGone(fresh, 'patient-1');

  // the stale client pushes its offline edit: refused, the server stays clean
  res = await stale.replicate.to(remote);
  assert.equal(res.doc_write_failures, 1, JSON.stringify(res));
  assert.equal(res.errors?.[0]?.name ?? res.errors?.[0]?.error, 'forbidden');
  await assertGone(remote, 'patient-1');
  const { body: changes } = await server.json(`/${name}/_changes?include_docs=true&style=all_docs&attachments=true`);
  assert.ok(!JSON.stringify(changes).includes(SECRET));
  const { body: verified } = await server.json(`/${name}/_audit/_verify`);
  assert.equal(verified.ok, true, JSON.stringify(verified));
}));
