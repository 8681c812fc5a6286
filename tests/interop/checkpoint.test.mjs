// Checkpoint resume: a second replication (push or pull) only transfers what changed since the
// first one, using the _local checkpoint documents stored on the server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { Dbs, logged, snapshot } from './lib/pouch.mjs';
import { loadSyntheaDocs } from './lib/synthea.mjs';

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

function changesRequestsSince(fromIndex, dbName) {
  return dbs.log.entries
    .slice(fromIndex)
    .filter((e) => e.url.includes(`/${dbName}/_changes`))
    .map((e) => new URL(e.url).searchParams.get('since'));
}

test('push: second replication sends only new and edited docs', { timeout: 60_000 }, L(async () => {
  const all = loadSyntheaDocs();
  const first = all.slice(0, 300);
  const later = all.slice(300, 320);
  const a = dbs.mem('ckpt-push');
  const r = dbs.remote(server, 'ckpt-push');

  await a.bulkDocs(first);
  const p1 = await a.replicate.to(r);
  assert.equal(p1.docs_read, 300);
  assert.equal(p1.docs_written, 300);

  const p2 = await a.replicate.to(r);
  assert.equal(p2.docs_read, 0, 'nothing new to read');
  assert.equal(p2.docs_written, 0, 'nothing new to write');

  // 20 new docs + 5 edits
  await a.bulkDocs(later);
  for (const d of first.slice(0, 5)) {
    const cur = await a.get(d._id);
    await a.put({ ...cur, meta: { ...(cur.meta || {}), edited: true } });
  }
  const p3 = await a.replicate.to(r);
  assert.equal(p3.docs_read, 25);
  assert.equal(p3.docs_written, 25);

  // the checkpoint lives on the server as a _local doc (PouchDB reads it back)
  const p4 = await a.replicate.to(r);
  assert.equal(p4.docs_written, 0);
  assert.deepStrictEqual(await snapshot(r), await snapshot(a));
}));

test('pull: second replication reads only docs changed on the server', { timeout: 60_000 }, L(async () => {
  const all = loadSyntheaDocs();
  const r = dbs.remote(server, 'ckpt-pull');
  const res = await r.bulkDocs(all.slice(0, 250));
  assert.ok(res.every((x) => x.ok), JSON.stringify(res.find((x) => !x.ok)));

  const b = dbs.mem('ckpt-pull');
  const q1 = await b.replicate.from(r);
  assert.equal(q1.docs_read, 250);
  assert.equal(q1.docs_written, 250);

  const mark = dbs.log.entries.length;
  const q2 = await b.replicate.from(r);
  assert.equal(q2.docs_read, 0);
  assert.equal(q2.docs_written, 0);
  const since2 = changesRequestsSince(mark, 'ckpt-pull');
  assert.ok(since2.length >= 1, 'a _changes request was made');
  assert.notEqual(since2[0], '0', `second pull must resume from the checkpoint, asked since=${since2[0]}`);
  assert.equal(String(since2[0]), String(q1.last_seq), 'resumes exactly at the last checkpointed seq');

  // 7 new docs, 3 edits, 2 deletions on the server
  await r.bulkDocs(all.slice(250, 257));
  for (const d of all.slice(0, 3)) {
    const cur = await r.get(d._id);
    await r.put({ ...cur, edited: 1 });
  }
  for (const d of all.slice(3, 5)) {
    const cur = await r.get(d._id);
    await r.remove(cur);
  }
  const mark3 = dbs.log.entries.length;
  const q3 = await b.replicate.from(r);
  assert.equal(q3.docs_read, 12);
  assert.equal(q3.docs_written, 12);
  assert.equal(String(changesRequestsSince(mark3, 'ckpt-pull')[0]), String(q2.last_seq));

  // a brand-new local db (no checkpoint) starts from 0 and gets the current state only
  const c = dbs.mem('ckpt-pull-fresh');
  const q4 = await c.replicate.from(r);
  assert.equal(q4.docs_written, 257, 'current docs incl. 2 tombstones');
  assert.deepStrictEqual(await snapshot(c), await snapshot(b));
  assert.deepStrictEqual(await snapshot(b), await snapshot(r));
  assert.equal((await b.info()).doc_count, 255);
}));
