// Bidirectional sync with edit/edit, edit/delete and three-way conflicts: the same winner and the
// same _conflicts / _deleted_conflicts on the server and on both PouchDBs; then resolving them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { Dbs, logged, normDoc, snapshot } from './lib/pouch.mjs';

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

async function sync(a, b) {
  const res = await a.sync(b);
  assert.equal(res.push.ok, true, 'push ok');
  assert.equal(res.pull.ok, true, 'pull ok');
  assert.equal(res.push.doc_write_failures, 0);
  assert.equal(res.pull.doc_write_failures, 0);
  return res;
}

async function update(db, id, fields) {
  const doc = await db.get(id);
  return db.put({ ...doc, ...fields });
}

const IDS = ['edit-edit', 'edit-edit-longer', 'edit-delete', 'three-way', 'untouched'];

async function views(id, ...ends) {
  return Promise.all(ends.map(async (db) => normDoc(await db.get(id, { conflicts: true }))));
}

async function leaves(db, id) {
  const res = await db.get(id, { open_revs: 'all' });
  return res.map((r) => r.ok._rev).sort();
}

test('edit/edit, edit/delete and three-way conflicts resolve identically everywhere', { timeout: 60_000 }, L(async () => {
  const a = dbs.mem('conf-a');
  const b = dbs.mem('conf-b');
  const r = dbs.remote(server, 'conflicts');

  for (const id of IDS) await a.put({ _id: id, v: 0, tag: `initial ${id}` });
  await sync(a, r);
  await sync(b, r);
  assert.deepStrictEqual(await snapshot(b), await snapshot(a));

  // concurrent edits: A and B offline, the server edited directly over HTTP
  await update(a, 'edit-edit', { v: 'A' });
  await update(r, 'edit-edit', { v: 'R' });

  await update(a, 'edit-edit-longer', { v: 'A1' });
  await update(a, 'edit-edit-longer', { v: 'A2' }); // deeper branch must win
  await update(r, 'edit-edit-longer', { v: 'R' });

  const d = await a.get('edit-delete');
  await a.remove(d);
  await update(r, 'edit-delete', { v: 'R' }); // the live edit must beat the deletion

  await update(a, 'three-way', { v: 'A' });
  await update(r, 'three-way', { v: 'R' });
  await update(b, 'three-way', { v: 'B' });

  await sync(a, r);
  await sync(b, r);
  await sync(a, r);

  for (const id of IDS) {
    const [va, vr, vb] = await views(id, a, r, b);
    assert.deepStrictEqual(vr, va, `server vs A for ${id}`);
    assert.deepStrictEqual(vb, va, `B vs A for ${id}`);
    const [la, lr, lb] = await Promise.all([a, r, b].map((db) => leaves(db, id)));
    assert.deepStrictEqual(lr, la, `leaf revs on server vs A for ${id}`);
    assert.deepStrictEqual(lb, la, `leaf revs on B vs A for ${id}`);
  }

  const [ee] = await views('edit-edit', r);
  assert.equal(ee._conflicts?.length, 1, 'edit-edit has one conflict');
  assert.ok(ee._rev.startsWith('2-'));

  const [eel] = await views('edit-edit-longer', r);
  assert.equal(eel.v, 'A2', 'the longer branch wins');
  assert.ok(eel._rev.startsWith('3-'));
  assert.equal(eel._conflicts?.length, 1);

  const [ed] = await views('edit-delete', r);
  assert.equal(ed.v, 'R', 'the non-deleted leaf wins over the tombstone');
  assert.equal(ed._conflicts, undefined, 'deleted leaves are not _conflicts');
  const edLeaves = await r.get('edit-delete', { open_revs: 'all' });
  assert.equal(edLeaves.length, 2);
  assert.equal(edLeaves.filter((x) => x.ok._deleted).length, 1, 'the tombstone is still a leaf');
  if (!server.isPeer) {
    // PouchDB has no deleted_conflicts option; ask the server directly (CouchDB semantics).
    const raw = await server.json('/conflicts/edit-delete?deleted_conflicts=true');
    assert.equal(raw.status, 200);
    assert.deepStrictEqual(
      raw.body._deleted_conflicts,
      edLeaves.filter((x) => x.ok._deleted).map((x) => x.ok._rev),
      'GET ?deleted_conflicts=true lists the tombstone',
    );
  }

  const [tw] = await views('three-way', r);
  assert.equal(tw._conflicts?.length, 2, 'three-way has two conflicts');
  assert.ok(['A', 'B', 'R'].includes(tw.v));

  const [un] = await views('untouched', r);
  assert.equal(un._conflicts, undefined);
  assert.ok(un._rev.startsWith('1-'));

  // whole-db views agree, including the _conflicts arrays from allDocs({conflicts:true})
  const sa = await snapshot(a);
  assert.deepStrictEqual(await snapshot(r), sa, 'server allDocs vs A');
  assert.deepStrictEqual(await snapshot(b), sa, 'B allDocs vs A');

  // resolve on B by deleting the losing leaves, then propagate everywhere
  for (const id of ['edit-edit', 'edit-edit-longer', 'three-way']) {
    const doc = await b.get(id, { conflicts: true });
    for (const rev of doc._conflicts) await b.remove(id, rev);
  }
  await sync(b, r);
  await sync(a, r);
  for (const id of IDS) {
    const [va, vr, vb] = await views(id, a, r, b);
    assert.equal(vr._conflicts, undefined, `${id} still in conflict on the server`);
    assert.deepStrictEqual(vr, va, `server vs A for ${id} after resolution`);
    assert.deepStrictEqual(vb, va, `B vs A for ${id} after resolution`);
  }
  const sa2 = await snapshot(a);
  assert.deepStrictEqual(await snapshot(r), sa2);
  assert.deepStrictEqual(await snapshot(b), sa2);
}));
