// Live sync (live: true, retry: true) in both directions: a write on either side shows up on the
// other within a few seconds; cancel() fires 'complete' and a process doing this exits by itself.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.mjs';
import { Dbs, logged, waitConverged, waitFor, withTimeout } from './lib/pouch.mjs';

const ARRIVAL_MS = 5000;

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

function arrives(db, id, what) {
  return waitFor(() => db.get(id), { timeoutMs: ARRIVAL_MS, what: `${id} ${what}` });
}

test('live sync carries writes both ways and cancels cleanly', { timeout: 60_000 }, L(async () => {
  const a = dbs.mem('live-a');
  const b = dbs.mem('live-b');
  const ra = dbs.remote(server, 'live');
  const rb = dbs.remote(server, 'live');
  const direct = dbs.remote(server, 'live'); // "another client" writing straight to the server

  await a.put({ _id: 'seed', n: 0 });
  const ha = dbs.track(a.sync(ra, { live: true, retry: true }));
  const hb = dbs.track(b.sync(rb, { live: true, retry: true }));
  const errors = [];
  for (const h of [ha, hb]) h.on('error', (e) => errors.push(e));
  const completeA = new Promise((res) => ha.on('complete', res));
  const completeB = new Promise((res) => hb.on('complete', res));

  await arrives(direct, 'seed', 'A -> server');
  await arrives(b, 'seed', 'A -> server -> B');

  // local write on A
  await a.put({ _id: 'from-a', n: 1 });
  await arrives(direct, 'from-a', 'A -> server');
  await arrives(b, 'from-a', 'A -> server -> B');

  // write on the server side
  await direct.put({ _id: 'from-server', n: 2 });
  await arrives(a, 'from-server', 'server -> A');
  await arrives(b, 'from-server', 'server -> B');

  // write on B, and an update of an existing doc on B
  await b.put({ _id: 'from-b', n: 3 });
  const fa = await b.get('from-a');
  await b.put({ ...fa, n: 10 });
  await arrives(a, 'from-b', 'B -> server -> A');
  await waitFor(async () => (await a.get('from-a')).n === 10, { timeoutMs: ARRIVAL_MS, what: 'update of from-a on A' });

  // a small burst from the server side
  const burst = Array.from({ length: 50 }, (_, i) => ({ _id: `burst-${String(i).padStart(2, '0')}`, i }));
  const res = await direct.bulkDocs(burst);
  assert.ok(res.every((r) => r.ok));
  await waitFor(async () => (await a.allDocs({ startkey: 'burst-', endkey: 'burst-\uffff' })).rows.length === 50, {
    timeoutMs: ARRIVAL_MS,
    what: '50-doc burst on A',
  });

  // everything converges
  await waitConverged([direct, a, b], { timeoutMs: ARRIVAL_MS, what: 'A, B and server to converge' });

  ha.cancel();
  hb.cancel();
  const [ia, ib] = await withTimeout(Promise.all([completeA, completeB]), 10_000, "'complete' after cancel()");
  for (const info of [ia, ib]) {
    assert.equal(info.push.status, 'cancelled');
    assert.equal(info.pull.status, 'cancelled');
  }
  assert.deepEqual(errors, []);
}));

test('a process running a live sync exits by itself after cancel()', { timeout: 60_000 }, L(async () => {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('./fixtures/live-cancel-child.mjs', import.meta.url)), server.url, 'live-child', server.auth.username, server.auth.password],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  let result;
  try {
    result = await withTimeout(exited, 30_000, 'child process exit');
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${e.message}; child output:\n${out}`);
  }
  assert.match(out, /PUSHED/, out);
  assert.match(out, /PULLED/, out);
  assert.match(out, /COMPLETE .*"push":"cancelled".*"pull":"cancelled"/, out);
  assert.match(out, /CLOSED/, out);
  assert.doesNotMatch(out, /STILL-ALIVE/, `handles left open after cancel:\n${out}`);
  assert.deepEqual(result, { code: 0, signal: null }, out);
}));
