// The server restarts (SIGTERM, then SIGKILL) in the middle of a live, retrying sync. The sync
// recovers by itself, resumes from its checkpoints (no rescan from 0, no re-sending of old docs)
// and writes made on either side after the restart (and during the outage) still arrive.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/server.mjs';
import { Dbs, logged, waitConverged, waitFor, withTimeout } from './lib/pouch.mjs';

const DB = 'restart-live';
const ARRIVAL_MS = 20_000; // includes the server's restart and PouchDB's retry back-off

let server;
const dbs = new Dbs();
const L = (fn) => logged(dbs, () => server, fn);

before(async () => {
  server = await startServer({ persistent: true });
});
after(async () => {
  await dbs.closeAll();
  await server?.cleanup();
});

const range = (prefix, from, to) =>
  Array.from({ length: to - from }, (_, i) => ({ _id: `${prefix}-${String(from + i).padStart(4, '0')}`, n: from + i }));

async function countPrefix(db, prefix) {
  return (await db.allDocs({ startkey: `${prefix}-`, endkey: `${prefix}-\uffff` })).rows.length;
}

/** Requests logged since `mark` that touch our db, parsed. */
function requestsSince(mark) {
  return dbs.log.entries.slice(mark).filter((e) => e.url.includes(`/${DB}/`));
}

function checkResumed(mark, newIds, label) {
  const reqs = requestsSince(mark);
  // pull side: every _changes request after the restart continues from a checkpoint, never from 0
  const sinces = reqs
    .filter((e) => e.url.includes(`/${DB}/_changes`) && e.status !== undefined)
    .map((e) => new URL(e.url).searchParams.get('since'));
  assert.ok(sinces.length > 0, `${label}: pull made _changes requests after the restart`);
  assert.ok(!sinces.includes('0'), `${label}: pull restarted from since=0 (${sinces.join(', ')})`);
  // push side: only the new docs are offered to the server (old ones would mean a rescan from 0)
  const offered = new Set();
  for (const e of reqs.filter((e) => e.url.endsWith('/_revs_diff') && e.reqBodyFull)) {
    for (const id of Object.keys(JSON.parse(e.reqBodyFull))) offered.add(id);
  }
  const unexpected = [...offered].filter((id) => !newIds.has(id));
  assert.deepEqual(unexpected, [], `${label}: push re-sent old docs after the restart`);
  // the checkpoints were found on the restarted server
  const ckptReads = reqs.filter((e) => e.method === 'GET' && e.url.includes(`/${DB}/_local/`));
  assert.ok(ckptReads.some((e) => e.status === 200), `${label}: no checkpoint read back from the server`);
}

test('live sync survives server restarts and resumes from its checkpoints', { timeout: 120_000 }, L(async () => {
  const a = dbs.mem('restart-a');
  const r = dbs.remote(server, DB);
  const direct = dbs.remote(server, DB);

  const handler = dbs.track(a.sync(r, { live: true, retry: true, back_off_function: () => 250 }));
  const completed = new Promise((res) => handler.on('complete', res));
  const fatal = [];
  handler.on('error', (e) => fatal.push(e));

  // phase 1: normal operation
  await a.bulkDocs(range('a', 0, 100));
  await direct.bulkDocs(range('s', 0, 20));
  await waitFor(async () => (await countPrefix(direct, 'a')) === 100, { timeoutMs: ARRIVAL_MS, what: '100 A docs on the server' });
  await waitFor(async () => (await countPrefix(a, 's')) === 20, { timeoutMs: ARRIVAL_MS, what: '20 server docs on A' });
  await waitConverged([direct, a], { timeoutMs: ARRIVAL_MS, what: 'convergence before restart' });
  await new Promise((res) => setTimeout(res, 1000)); // let the last checkpoints land

  for (const [round, kill] of [[1, false], [2, true]]) {
    const label = kill ? 'after SIGKILL' : 'after SIGTERM';
    const mark = dbs.log.entries.length;
    const before = await direct.allDocs();

    if (kill) await server.kill();
    else await server.stop();
    // writes on A while the server is down
    const offline = range(`a${round}off`, 0, 5);
    await a.bulkDocs(offline);
    await new Promise((res) => setTimeout(res, 500));
    await server.start();

    // everything the server had before going down is still there (the sync may already be
    // pushing the offline writes, so compare by key rather than by doc_count)
    const after1 = await direct.allDocs({ keys: before.rows.map((r) => r.id) });
    assert.deepStrictEqual(
      after1.rows.map((r) => [r.id, r.value?.rev]),
      before.rows.map((r) => [r.id, r.value.rev]),
      `${label}: docs survived the restart`,
    );

    // writes after the restart, both sides
    const online = range(`a${round}on`, 0, 5);
    await a.bulkDocs(online);
    const fromServer = range(`s${round}`, 0, 5);
    await direct.bulkDocs(fromServer);

    await waitFor(async () => (await countPrefix(direct, `a${round}off`)) === 5, { timeoutMs: ARRIVAL_MS, what: `${label}: offline A writes on the server` });
    await waitFor(async () => (await countPrefix(direct, `a${round}on`)) === 5, { timeoutMs: ARRIVAL_MS, what: `${label}: new A writes on the server` });
    await waitFor(async () => (await countPrefix(a, `s${round}`)) === 5, { timeoutMs: ARRIVAL_MS, what: `${label}: new server writes on A` });
    await waitConverged([direct, a], { timeoutMs: ARRIVAL_MS, what: `${label}: convergence` });

    // (docs pulled into A are legitimately offered back to the server by the push side)
    checkResumed(mark, new Set([...offline, ...online, ...fromServer].map((d) => d._id)), label);
    await new Promise((res) => setTimeout(res, 500));
  }

  handler.cancel();
  await withTimeout(completed, 10_000, "'complete' after cancel()");
  assert.deepEqual(fatal, [], 'no fatal replication error');
  const info = await direct.info();
  assert.equal(info.doc_count, 100 + 20 + 2 * 15);
}));
