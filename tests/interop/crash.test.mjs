// Crash safety: writers send _bulk_docs batches (plain fetch, Basic auth) while the test SIGKILLs
// the server. After a restart on the same data dir every acknowledged write (201 + ok entry) is
// there with the acknowledged rev and body, and the database metadata is consistent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer } from './lib/server.mjs';
import { loadSyntheaDocs } from './lib/synthea.mjs';

const DB = 'crash';
const WRITERS = 2;
const BATCH = 25;

let server;
before(async () => {
  server = await startServer({ persistent: true });
});
after(async () => {
  await server?.cleanup();
});

/** GET/POST that retries on network errors (stale keep-alive sockets right after a restart). */
async function reliable(path, init) {
  let lastErr;
  for (let i = 0; i < 4; i++) {
    try {
      return await server.json(path, init);
    } catch (e) {
      lastErr = e;
      await sleep(200);
    }
  }
  throw lastErr;
}

function withDiagnostics(fn) {
  return async (t) => {
    try {
      await fn(t);
    } catch (e) {
      process.stderr.write(`\n===== FAILED: ${t.name} =====\n----- ${server?.kind} output tail -----\n${server?.tail(40)}\n`);
      throw e;
    }
  };
}

test('acknowledged _bulk_docs writes survive SIGKILL', { timeout: 120_000 }, withDiagnostics(async () => {
  const synthea = loadSyntheaDocs();
  const created = await reliable(`/${DB}`, { method: 'PUT' });
  assert.ok([201, 202].includes(created.status), `PUT /${DB}: ${created.status} ${JSON.stringify(created.body)}`);

  const acked = new Map(); // id -> {rev, body}: acknowledged state
  const unacked = new Map(); // id -> body sent in a batch that got no answer (in flight at the kill)
  let serial = 0;

  for (const [cycle, killAfterBatches] of [[1, 6], [2, 11], [3, 3]]) {
    let ackedBatches = 0;
    let stop = false;
    let killed = false;
    const failures = [];

    const writer = async (w) => {
      for (let i = 0; !stop; i++) {
        // fresh docs with Synthea bodies, plus updates of a few previously acknowledged docs
        const docs = [];
        for (let k = 0; k < BATCH; k++) {
          const src = synthea[serial++ % synthea.length];
          const { _id, ...body } = src;
          docs.push({ _id: `c${cycle}-w${w}-b${String(i).padStart(4, '0')}-${k}-${_id}`, ...body });
        }
        const old = [...acked.entries()].filter(([id]) => !id.startsWith(`c${cycle}-`)).slice((i * WRITERS + w) * 3, (i * WRITERS + w) * 3 + 3); // disjoint per writer
        for (const [id, { rev, body }] of old) docs.push({ ...body, _id: id, _rev: rev, updatedInCycle: cycle });

        for (const d of docs) {
          const { _rev, ...body } = d;
          unacked.set(d._id, body);
        }
        let res;
        try {
          res = await server.json(`/${DB}/_bulk_docs`, { method: 'POST', body: JSON.stringify({ docs }) });
        } catch (e) {
          if (!killed) failures.push(`writer ${w}: ${e.message}`);
          return; // the server is gone
        }
        if (res.status !== 201) {
          if (!killed) failures.push(`writer ${w}: _bulk_docs -> ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
          return;
        }
        assert.ok(Array.isArray(res.body) && res.body.length === docs.length, `bad _bulk_docs answer ${JSON.stringify(res.body).slice(0, 300)}`);
        // ids are unique within a batch, so match answers by id. CouchDB answers in request order
        // (checked on couchsync); pouchdb-server 4.2.0's leveldb backend sometimes swaps neighbours.
        const byId = new Map(docs.map((d) => [d._id, d]));
        for (const [j, r] of res.body.entries()) {
          if (!server.isPeer) assert.equal(r.id, docs[j]._id, `_bulk_docs answer #${j} is not in request order`);
          const sent = byId.get(r.id);
          assert.ok(sent, `_bulk_docs answered for an id that was not sent: ${JSON.stringify(r)}`);
          unacked.delete(r.id);
          if (r.ok) {
            const { _rev, ...body } = sent;
            acked.set(r.id, { rev: r.rev, body });
          } else if (!killed) {
            failures.push(`writer ${w}: entry ${JSON.stringify(r)}`);
          }
        }
        ackedBatches++;
      }
    };

    const killer = (async () => {
      while (ackedBatches < killAfterBatches) await sleep(5);
      killed = true;
      await server.kill(); // requests of the other writer are in flight right now
      stop = true;
    })();

    await Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), killer]);
    assert.deepEqual(failures, [], `cycle ${cycle}: failures before the kill`);
    assert.ok(ackedBatches >= killAfterBatches);

    await server.start();

    // every acknowledged write is there, with its acknowledged winning rev and body
    const ids = [...acked.keys()];
    const res = await reliable(`/${DB}/_all_docs?include_docs=true`, { method: 'POST', body: JSON.stringify({ keys: ids }) });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    const missing = [];
    const wrong = [];
    const gen = (rev) => parseInt(rev, 10);
    for (const row of res.body.rows) {
      const want = acked.get(row.key);
      if (!row.value || row.error) {
        missing.push(row.key);
        continue;
      }
      const { _id, _rev, ...got } = row.doc;
      let exp = want.body;
      if (row.value.rev !== want.rev) {
        // allowed only if an update of this doc was in flight (unacknowledged) at the kill and
        // it made it to disk: then the doc is exactly one generation further with that body
        const inflight = unacked.get(row.key);
        if (inflight && gen(row.value.rev) === gen(want.rev) + 1) {
          exp = inflight;
          acked.set(row.key, { rev: row.value.rev, body: inflight });
        } else {
          wrong.push(`${row.key}: ${row.value.rev} != acked ${want.rev}`);
          continue;
        }
      }
      const { _id: _i, ...expBody } = exp;
      assert.deepStrictEqual(got, expBody, `body of ${row.key}`);
    }
    unacked.clear();
    assert.deepEqual(missing, [], `cycle ${cycle}: acknowledged docs lost (${missing.length} of ${ids.length})`);
    assert.deepEqual(wrong, [], `cycle ${cycle}: acknowledged revs lost`);

    // database metadata agrees with its contents
    const info = await reliable(`/${DB}`);
    assert.equal(info.status, 200);
    const all = await reliable(`/${DB}/_all_docs`);
    assert.equal(all.status, 200);
    assert.equal(all.body.rows.length, all.body.total_rows, '_all_docs rows vs total_rows');
    assert.equal(info.body.doc_count, all.body.total_rows, `GET /${DB} doc_count vs _all_docs`);
    assert.ok(info.body.doc_count >= acked.size, 'doc_count covers every acknowledged doc');
    const changes = await reliable(`/${DB}/_changes`);
    assert.equal(changes.status, 200);
    const changeIds = new Set(changes.body.results.map((r) => r.id));
    assert.equal(changeIds.size, changes.body.results.length, 'each doc once in _changes');
    assert.equal(changeIds.size, info.body.doc_count + (info.body.doc_del_count || 0), '_changes vs doc_count');

    // the acknowledged rev is the current one: updating with it must not conflict
    const [probeId, probe] = [...acked.entries()][cycle * 7];
    const upd = await reliable(`/${DB}/${encodeURIComponent(probeId)}`, {
      method: 'PUT',
      body: JSON.stringify({ ...probe.body, _rev: probe.rev, probe: cycle }),
    });
    assert.equal(upd.status, 201, `update with the acknowledged rev: ${JSON.stringify(upd.body)}`);
    acked.set(probeId, { rev: upd.body.rev, body: { ...probe.body, probe: cycle } });
  }
}));
