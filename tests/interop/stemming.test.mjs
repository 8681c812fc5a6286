// 1,200 edits of one document (more than the default _revs_limit of 1000, so revision histories
// are stemmed) pushed to and pulled from the server: the winning rev and body match everywhere, the
// stemmed histories line up (no spurious conflicts when overlapping histories are merged).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { Dbs, logged } from './lib/pouch.mjs';

let server;
const dbs = new Dbs();
const L = (fn) => logged(dbs, () => server, fn);
const DB = 'stemming';
const EDITS = 1200;
const REVS_LIMIT = 1000;

before(async () => {
  server = await startServer();
});
after(async () => {
  await dbs.closeAll();
  await server?.cleanup();
});

async function editLocally(db, id, from, to) {
  let doc = await db.get(id);
  for (let n = from; n <= to; n++) {
    const res = await db.put({ ...doc, n, note: `edit ${n}` });
    doc = { ...doc, _rev: res.rev, n, note: `edit ${n}` };
  }
  return doc;
}

async function assertSame(id, ...ends) {
  const views = await Promise.all(ends.map((db) => db.get(id, { revs: true, conflicts: true })));
  for (const [i, v] of views.entries()) {
    assert.equal(v._conflicts, undefined, `${id} has _conflicts on ${ends[i].name}: ${v._conflicts}`);
    assert.equal(v._rev, views[0]._rev, `winning rev of ${id} on ${ends[i].name}`);
    const { _revisions: ra, ...ba } = v;
    const { _revisions: r0, ...b0 } = views[0];
    assert.deepStrictEqual(ba, b0, `body of ${id} on ${ends[i].name}`);
    assert.equal(ra.start, r0.start, `_revisions.start of ${id} on ${ends[i].name}`);
    assert.ok(ra.ids.length <= REVS_LIMIT, `${id} history on ${ends[i].name} not stemmed: ${ra.ids.length} revs`);
    assert.deepStrictEqual(ra.ids, r0.ids, `stemmed history of ${id} on ${ends[i].name}`);
  }
  const leaves = await Promise.all(ends.map((db) => db.get(id, { open_revs: 'all' })));
  for (const [i, l] of leaves.entries()) assert.equal(l.length, 1, `${id} has ${l.length} leaves on ${ends[i].name}`);
  return views[0];
}

test('1,200 local edits pushed (in two rounds) and pulled', { timeout: 90_000 }, L(async () => {
  const a = dbs.mem('stem-a');
  const r = dbs.remote(server, DB);
  const id = 'edited-locally';
  await a.put({ _id: id, n: 1, note: 'edit 1' });
  await editLocally(a, id, 2, 600);
  const p1 = await a.replicate.to(r);
  assert.equal(p1.docs_written, 1);
  await editLocally(a, id, 601, EDITS);
  const p2 = await a.replicate.to(r);
  assert.equal(p2.docs_written, 1);
  assert.equal(p2.doc_write_failures, 0);

  const b = dbs.mem('stem-b');
  const q = await b.replicate.from(r);
  assert.equal(q.docs_written, 1);
  const v = await assertSame(id, a, r, b);
  assert.ok(v._rev.startsWith(`${EDITS}-`));
  assert.equal(v.n, EDITS);
  assert.equal(v._revisions.start, EDITS);
  assert.equal(v._revisions.ids.length, REVS_LIMIT);

  // one more edit on B flows back through the server to A without conflicts
  await b.put({ ...(await b.get(id)), n: EDITS + 1 });
  await b.replicate.to(r);
  await a.replicate.from(r);
  const v2 = await assertSame(id, a, r, b);
  assert.ok(v2._rev.startsWith(`${EDITS + 1}-`));
}));

test('1,200 edits made on the server are pulled with a stemmed history', { timeout: 120_000 }, L(async () => {
  const id = 'edited-on-server';
  const path = `/${DB}/${id}`;
  let rev;
  for (let n = 1; n <= EDITS; n++) {
    const body = JSON.stringify(rev ? { _rev: rev, n, note: `server edit ${n}` } : { n, note: `server edit ${n}` });
    const res = await server.json(path, { method: 'PUT', body });
    assert.equal(res.status, 201, `PUT #${n}: ${res.status} ${JSON.stringify(res.body)}`);
    rev = res.body.rev;
  }
  assert.ok(rev.startsWith(`${EDITS}-`));

  const r = dbs.remote(server, DB);
  const raw = await server.json(`${path}?revs=true`);
  assert.equal(raw.status, 200);
  assert.equal(raw.body._rev, rev);
  assert.equal(raw.body._revisions.start, EDITS);
  assert.ok(raw.body._revisions.ids.length <= REVS_LIMIT, `server kept ${raw.body._revisions.ids.length} revs`);

  const c = dbs.mem('stem-c');
  const q = await c.replicate.from(r, { doc_ids: [id] });
  assert.equal(q.docs_written, 1);
  const v = await assertSame(id, r, c);
  assert.equal(v._rev, rev);
  assert.equal(v.n, EDITS);

  // edit on the client, push back: a single leaf at 1201 on the server
  await c.put({ ...(await c.get(id)), n: EDITS + 1 });
  const p = await c.replicate.to(r, { doc_ids: [id] });
  assert.equal(p.docs_written, 1);
  const v2 = await assertSame(id, r, c);
  assert.ok(v2._rev.startsWith(`${EDITS + 1}-`));
}));
