// Tenants and hospital-scoped staff (issue 3) through PouchDB 9: one partitioned tenant database with
// hospitals HOSP-A/B/C holding the Synthea resources (`<H>:<ResourceType>-<id>`) and a design doc.
//
//   1. setup: tenant, hospitals, documents (server admin), tenant admin, staff of A, staff of A+B
//   2. staff live syncs (live, retry) hold exactly their hospitals' documents + the design doc
//   3. a local write to another partition (or to the design doc) is `denied`, the sync goes on
//   4. the tenant admin's one-shot sync gets (and may write) everything
//   5. hospitals change (PATCH as tenant admin): new C changes reach the running live sync, after
//      -B its B changes stop, and a new local db pulls exactly A + C
//   6. the next one-shot pull into the *same* local db brings C's earlier docs
//
// The tests run in order and share state (the server, the users, the staff's local dbs and live syncs).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { IS_PEER, startServer } from './lib/server.mjs';
import { Dbs, logged, snapshot, waitFor, withTimeout } from './lib/pouch.mjs';
import { loadSyntheaDocs } from './lib/synthea.mjs';

const SKIP = IS_PEER && 'pouchdb-server has no tenants';
const ARRIVAL_MS = 10_000;
const TEST_TIMEOUT = 60_000;

const H = { A: 'HOSP-A', B: 'HOSP-B', C: 'HOSP-C' };
const DDOC_ID = '_design/fhir';
const USERS = {
  boss: { name: 'boss', password: 'boss-pw-1', role: 'admin', hospitals: [] },
  nurseA: { name: 'nurse-a', password: 'nurse-a-pw', role: 'staff', hospitals: [H.A] },
  nurseAB: { name: 'nurse-ab', password: 'nurse-ab-pw', role: 'staff', hospitals: [H.A, H.B] },
};

let server;
let tenantDb;
const dbs = new Dbs();
const L = (fn) => logged(dbs, () => server, fn);

// state carried from one test to the next
const st = {
  nurseA: null, // { local, remote, handler, denied: [], errors: [], pulled: [] }
  nurseAB: null,
  intruderId: `${H.C}:Note-intruder`,
};

before(async () => {
  if (SKIP) return;
  server = await startServer({ env: { COUCHSYNC_BCRYPT_ROUNDS: '4' } });
});
after(async () => {
  await dbs.closeAll();
  await server?.cleanup();
});

// -- helpers -------------------------------------------------------------------------------------

const basic = (u) => 'Basic ' + Buffer.from(`${u.name}:${u.password}`).toString('base64');

/** A JSON request as the server admin (or as `as`); asserts the status when `expect` is given. */
async function api(method, path, { body, as, expect } = {}) {
  const init = { method, headers: {} };
  if (as) init.headers.Authorization = basic(as);
  if (body !== undefined) init.body = JSON.stringify(body);
  const r = await server.json(path, init);
  if (expect !== undefined) {
    assert.equal(r.status, expect, `${method} ${path}${as ? ` as ${as.name}` : ''} -> ${r.status} ${JSON.stringify(r.body)}`);
  }
  return r;
}

const dbPath = (rest = '') => `/${encodeURIComponent(tenantDb)}${rest}`;
const q = (v) => encodeURIComponent(JSON.stringify(v));
const partitionOf = (id) => (id.startsWith('_design/') ? '_design' : id.split(':')[0]);

/** id -> rev of the server's documents in `hospitals` (+ design docs), read as the server admin. */
async function serverRows(hospitals, { design = true } = {}) {
  const m = new Map();
  for (const h of hospitals) {
    const r = await api('GET', dbPath(`/_partition/${encodeURIComponent(h)}/_all_docs`), { expect: 200 });
    for (const row of r.body.rows) m.set(row.id, row.value.rev);
  }
  if (design) {
    const r = await api('GET', dbPath(`/_all_docs?startkey=${q('_design/')}&endkey=${q('_design0')}`), { expect: 200 });
    for (const row of r.body.rows) m.set(row.id, row.value.rev);
  }
  return m;
}

async function serverAllRows() {
  const r = await api('GET', dbPath('/_all_docs'), { expect: 200 });
  return new Map(r.body.rows.map((row) => [row.id, row.value.rev]));
}

async function localRows(db) {
  const r = await db.allDocs();
  return new Map(r.rows.map((row) => [row.id, row.value.rev]));
}

function rowsDiff(actual, expected) {
  const missing = [...expected.keys()].filter((id) => !actual.has(id));
  const extra = [...actual.keys()].filter((id) => !expected.has(id));
  const differ = [...expected.keys()].filter((id) => actual.has(id) && actual.get(id) !== expected.get(id));
  return { missing, extra, differ, same: !missing.length && !extra.length && !differ.length };
}

function diffMessage(d, label) {
  const few = (a) => `${a.length}${a.length ? ` (${a.slice(0, 3).join(', ')}${a.length > 3 ? ', …' : ''})` : ''}`;
  return `${label}: missing ${few(d.missing)}, extra ${few(d.extra)}, other rev ${few(d.differ)}`;
}

/** Wait until `db` holds exactly the id/rev pairs of `expected` (a Map or an async fn giving one). */
async function waitSameRows(db, expected, label, timeoutMs = ARRIVAL_MS) {
  let d;
  try {
    await waitFor(
      async () => {
        const exp = typeof expected === 'function' ? await expected() : expected;
        d = rowsDiff(await localRows(db), exp);
        return d.same;
      },
      { timeoutMs, what: label },
    );
  } catch (e) {
    assert.fail(d ? diffMessage(d, `${label} (after ${timeoutMs} ms)`) : e.message);
  }
}

function assertSameRows(actual, expected, label) {
  const d = rowsDiff(actual, expected);
  assert.ok(d.same, diffMessage(d, label));
}

const arrives = (db, id, what) => waitFor(() => db.get(id), { timeoutMs: ARRIVAL_MS, what: `${id} ${what}` });

async function serverHas(id) {
  const r = await api('GET', dbPath(`/${encodeURIComponent(id)}`));
  return r.status === 200 ? r.body : null;
}

/** A staff member's in-memory db in live sync with the tenant db; records events. */
function liveSync(user, prefix) {
  const local = dbs.mem(prefix);
  const remote = dbs.remote(server, tenantDb, { auth: { username: user.name, password: user.password } });
  const handler = dbs.track(local.sync(remote, { live: true, retry: true }));
  const s = { user, local, remote, handler, denied: [], errors: [], pulled: [] };
  handler.on('denied', (ev) => s.denied.push(ev));
  handler.on('error', (e) => s.errors.push(e));
  handler.on('change', (info) => {
    if (info.direction === 'pull') for (const d of info.change.docs) s.pulled.push(d._id);
  });
  s.complete = new Promise((res) => handler.on('complete', res));
  return s;
}

async function cancelSync(s) {
  s.handler.cancel();
  await withTimeout(s.complete, 10_000, `'complete' after cancel() of ${s.user.name}'s sync`);
}

// -- 1. setup ------------------------------------------------------------------------------------

test('setup: tenant, hospitals A/B/C with Synthea docs and a design doc, tenant admin and staff', { timeout: TEST_TIMEOUT, skip: SKIP }, L(async () => {
  const t = await api('POST', '/_tenants', { body: { name: 'Interop Care' }, expect: 201 });
  tenantDb = t.body.db;
  assert.match(tenantDb, /^interop-care-[a-z0-9]{7}$/);
  const info = await api('GET', dbPath(), { expect: 200 });
  assert.equal(info.body.props?.partitioned, true);

  // the tenant admin is created by the server admin; it registers hospitals and staff itself
  await api('POST', `/_tenants/${tenantDb}/users`, { body: USERS.boss, expect: 201 });
  for (const h of Object.values(H)) {
    await api('POST', `/_tenants/${tenantDb}/hospitals`, { body: { name: h }, as: USERS.boss, expect: 201 });
  }
  for (const u of [USERS.nurseA, USERS.nurseAB]) {
    const r = await api('POST', `/_tenants/${tenantDb}/users`, { body: u, as: USERS.boss, expect: 201 });
    assert.deepEqual(r.body.hospitals, u.hospitals);
  }

  // documents, split round-robin across the hospitals, written by the server admin
  const keys = Object.keys(H);
  const docs = loadSyntheaDocs().map((d, i) => ({ ...d, _id: `${H[keys[i % 3]]}:${d._id}` }));
  const bulk = await api('POST', dbPath('/_bulk_docs'), { body: { docs }, expect: 201 });
  assert.equal(bulk.body.filter((r) => r.ok).length, docs.length, JSON.stringify(bulk.body.find((r) => !r.ok)));
  await api('PUT', dbPath(`/${DDOC_ID}`), {
    body: { language: 'javascript', views: { by_type: { map: 'function (doc) { emit(doc.resourceType, null); }' } } },
    expect: 201,
  });

  const hs = await api('GET', `/_tenants/${tenantDb}/hospitals`, { as: USERS.boss, expect: 200 });
  const counts = Object.fromEntries(hs.body.map((h) => [h.name, h.doc_count]));
  for (const [i, k] of keys.entries()) {
    assert.equal(counts[H[k]], docs.filter((_, j) => j % 3 === i).length, `doc_count of ${H[k]}`);
    assert.ok(counts[H[k]] > 300);
  }
}));

// -- 2. staff live sync: exactly their hospitals -------------------------------------------------

test("staff live syncs hold exactly their hospitals' documents and the design doc", { timeout: TEST_TIMEOUT, skip: SKIP }, L(async () => {
  st.nurseA = liveSync(USERS.nurseA, 'nurse-a');
  st.nurseAB = liveSync(USERS.nurseAB, 'nurse-ab');

  for (const s of [st.nurseA, st.nurseAB]) {
    const expected = await serverRows(s.user.hospitals);
    assert.ok(expected.has(DDOC_ID));
    await waitSameRows(s.local, expected, `${s.user.name}'s local db = server's ${s.user.hospitals} + design docs`, 30_000);
    // bodies too, not just revs
    const ids = [...expected.keys()].sort();
    const admin = dbs.remote(server, tenantDb);
    assert.deepStrictEqual(await snapshot(s.local), await snapshot(admin, { keys: ids }));
    // nothing from elsewhere was ever handed to this replication
    const foreign = s.pulled.filter((id) => !s.user.hospitals.includes(partitionOf(id)) && partitionOf(id) !== '_design');
    assert.deepEqual(foreign, [], `${s.user.name} pulled foreign docs`);
    assert.deepEqual(s.denied, []);
    assert.deepEqual(s.errors, []);
  }
  // the A+B user's partitions really are different from the A user's
  assert.ok((await st.nurseAB.local.allDocs()).rows.length > (await st.nurseA.local.allDocs()).rows.length + 300);
}));

// -- 3. denied writes, sync continues ------------------------------------------------------------

test('a write to another partition (or the design doc) is denied and the sync goes on', { timeout: TEST_TIMEOUT, skip: SKIP }, L(async () => {
  const ab = st.nurseAB;
  const a = st.nurseA;
  assert.ok(ab && a, 'live syncs from the previous test');

  // A+B staff writes into C
  const intr = await ab.local.put({ _id: st.intruderId, resourceType: 'Note', text: 'not my hospital' });
  await waitFor(() => ab.denied.some((ev) => ev.doc?.id === st.intruderId), { timeoutMs: ARRIVAL_MS, what: `'denied' for ${st.intruderId}` });
  const ev = ab.denied.find((e) => e.doc?.id === st.intruderId);
  assert.equal(ev.direction, 'push');
  assert.equal(ev.doc.name, 'forbidden');
  // on the wire: the _bulk_docs batch answered 201 with a per-document forbidden error
  // (PouchDB itself fills in `status: 500` for per-document errors that carry none, as CouchDB's don't)
  const wire = await waitFor(
    () => dbs.log.entries.find((e) => /\/_bulk_docs$/.test(e.url) && e.reqBody?.includes(st.intruderId) && e.respBody),
    { timeoutMs: ARRIVAL_MS, what: 'the _bulk_docs exchange carrying the intruder' },
  );
  assert.equal(wire.status, 201);
  const entry = JSON.parse(wire.respBody).find((r) => r.id === st.intruderId);
  assert.equal(entry.error, 'forbidden', wire.respBody);
  st.intruderRev = intr.rev;

  // A staff edits the design doc locally: read-only for staff
  const ddoc = await a.local.get(DDOC_ID);
  const serverDdocRev = ddoc._rev;
  await a.local.put({ ...ddoc, touched_by: 'nurse-a' });
  await waitFor(() => a.denied.some((e) => e.doc?.id === DDOC_ID), { timeoutMs: ARRIVAL_MS, what: `'denied' for ${DDOC_ID}` });
  assert.equal(a.denied.find((e) => e.doc?.id === DDOC_ID).direction, 'push');

  // the replications keep going: an allowed local write reaches the server and the other staff
  await ab.local.put({ _id: `${H.A}:Note-after-denied`, resourceType: 'Note', text: 'allowed' });
  await waitFor(() => serverHas(`${H.A}:Note-after-denied`), { timeoutMs: ARRIVAL_MS, what: 'allowed write on the server' });
  await arrives(a.local, `${H.A}:Note-after-denied`, 'nurse-ab -> server -> nurse-a');
  await a.local.put({ _id: `${H.A}:Note-from-nurse-a`, resourceType: 'Note' });
  await arrives(ab.local, `${H.A}:Note-from-nurse-a`, 'nurse-a -> server -> nurse-ab');

  // server-side writes: B then A; A reaches both, B only the A+B staff
  await api('PUT', dbPath(`/${H.B}:Note-from-server`), { body: { resourceType: 'Note', n: 1 }, expect: 201 });
  await api('PUT', dbPath(`/${H.A}:Note-from-server`), { body: { resourceType: 'Note', n: 2 }, expect: 201 });
  await arrives(ab.local, `${H.A}:Note-from-server`, 'server -> nurse-ab');
  await arrives(ab.local, `${H.B}:Note-from-server`, 'server -> nurse-ab');
  await arrives(a.local, `${H.A}:Note-from-server`, 'server -> nurse-a');

  // the refused writes never reached the server
  assert.equal(await serverHas(st.intruderId), null);
  assert.equal((await serverHas(DDOC_ID))._rev, serverDdocRev);
  assert.equal((await api('GET', dbPath(`/${encodeURIComponent(st.intruderId)}`))).status, 404);

  // both live syncs are still in step with the server (modulo their refused local edits)
  const expAB = await serverRows(USERS.nurseAB.hospitals);
  expAB.set(st.intruderId, st.intruderRev);
  await waitSameRows(ab.local, expAB, 'nurse-ab after the denied write');
  const expA = await serverRows(USERS.nurseA.hospitals);
  expA.set(DDOC_ID, (await a.local.get(DDOC_ID))._rev);
  await waitSameRows(a.local, expA, 'nurse-a after the denied design doc edit');
  assert.ok(!(await a.local.allDocs()).rows.some((r) => r.id.startsWith(`${H.B}:`)), 'no B docs at nurse-a');

  assert.equal(ab.denied.length, 1, JSON.stringify(ab.denied));
  assert.equal(a.denied.length, 1, JSON.stringify(a.denied));
  assert.deepEqual(ab.errors, []);
  assert.deepEqual(a.errors, []);
  assert.ok(!ab.handler.canceled && !a.handler.canceled);
}));

// -- 4. tenant admin gets everything -------------------------------------------------------------

test("the tenant admin's one-shot sync gets every document and may write anywhere", { timeout: TEST_TIMEOUT, skip: SKIP }, L(async () => {
  const local = dbs.mem('boss');
  const remote = dbs.remote(server, tenantDb, { auth: { username: USERS.boss.name, password: USERS.boss.password } });
  await local.put({ _id: `${H.C}:Note-from-boss`, resourceType: 'Note' });
  const denied = [];
  const rep = local.sync(remote);
  rep.on('denied', (e) => denied.push(e));
  const res = await withTimeout(rep, 40_000, "tenant admin's one-shot sync");
  assert.equal(res.push.ok, true);
  assert.equal(res.pull.ok, true);
  assert.equal(res.push.docs_written, 1);
  assert.deepEqual(denied, []);

  const all = await serverAllRows();
  assert.ok(all.has(`${H.C}:Note-from-boss`));
  for (const h of Object.values(H)) assert.ok([...all.keys()].some((id) => id.startsWith(`${h}:`)), `server has ${h} docs`);
  assertSameRows(await localRows(local), all, "tenant admin's local db = the whole tenant db");
}));

// -- 5. hospitals change -------------------------------------------------------------------------

test('after the hospitals change, the running live sync and a fresh pull reflect it', { timeout: TEST_TIMEOUT, skip: SKIP }, L(async () => {
  const ab = st.nurseAB;
  assert.ok(ab, 'live sync from the previous tests');
  const boss = USERS.boss;
  const userPath = `/_tenants/${tenantDb}/users/${USERS.nurseAB.name}`;

  // + C: the running live feed carries new C changes
  let r = await api('PATCH', userPath, { body: { hospitals: [H.A, H.B, H.C] }, as: boss, expect: 200 });
  assert.deepEqual([...r.body.hospitals].sort(), [H.A, H.B, H.C]);
  await api('PUT', dbPath(`/${H.C}:Note-after-add`), { body: { resourceType: 'Note' }, expect: 201 });
  await arrives(ab.local, `${H.C}:Note-after-add`, 'server -> running live sync after adding C');

  // - B: the running live feed no longer carries B changes
  r = await api('PATCH', userPath, { body: { hospitals: [H.A, H.C] }, as: boss, expect: 200 });
  assert.deepEqual([...r.body.hospitals].sort(), [H.A, H.C]);
  await api('PUT', dbPath(`/${H.B}:Note-after-remove`), { body: { resourceType: 'Note' }, expect: 201 });
  await api('PUT', dbPath(`/${H.A}:Note-after-remove`), { body: { resourceType: 'Note' }, expect: 201 });
  await arrives(ab.local, `${H.A}:Note-after-remove`, 'server -> running live sync after removing B');
  await assert.rejects(ab.local.get(`${H.B}:Note-after-remove`), { status: 404 });
  assert.deepEqual(ab.errors, []);
  await cancelSync(ab);

  // a new local db pulling as the (now A+C) staff member: exactly A + C + design docs, no B
  const fresh = dbs.mem('nurse-ab-fresh');
  const res = await withTimeout(fresh.replicate.from(ab.remote), 30_000, 'fresh pull after the hospital changes');
  assert.equal(res.ok, true);
  const rows = await localRows(fresh);
  assert.deepEqual([...rows.keys()].filter((id) => id.startsWith(`${H.B}:`)), [], 'B docs in a fresh pull');
  assertSameRows(rows, await serverRows([H.A, H.C]), 'fresh pull as A+C staff = server A + C + design docs');
}));

// The replica that existed before C was added resumes from its checkpoint. Staff seqs carry a tag of
// their partition set (couchsync/api/changes.py access_tag), so that old `since` no longer matches and
// the feed restarts from 0: C's earlier documents arrive too.
test("the next one-shot pull into the same local db brings a newly added hospital's earlier documents", { timeout: TEST_TIMEOUT, skip: SKIP }, async () => {
  const ab = st.nurseAB;
  assert.ok(ab?.handler.canceled, 'the live sync was cancelled by the previous test');
  const seen = new Set(dbs.log.entries); // (the log is a ring buffer: indexes shift)
  const res = await withTimeout(ab.local.replicate.from(ab.remote), 30_000, 'one-shot pull after adding C');
  const changesReqs = dbs.log.entries.filter((e) => !seen.has(e) && /\/_changes\?/.test(e.url)).map((e) => `GET ${e.url.replace(server.url, '')}`);
  assert.equal(res.ok, true);
  const expC = await serverRows([H.C], { design: false });
  assert.ok(expC.size > 300);
  const haveC = new Map([...(await localRows(ab.local))].filter(([id]) => partitionOf(id) === H.C && id !== st.intruderId));
  assertSameRows(haveC, expC, `nurse-ab's C documents after the next one-shot pull [${changesReqs.join('; ')}]`);
});
