// The clinic app as the demo staff user sees it, in real Chromium against a real `couchsync serve`
// with the Synthea demo tenant:
//
//   1. sign in; the local database holds exactly her hospitals' documents, never another hospital's
//   2. create a patient, an encounter and an observation; they reach the server
//   3. offline: reload (the service worker serves the shell), create and edit; online again: the
//      changes reach the server without any user action
//   4. an expired session asks to sign in again and keeps the unsynced edit, which then syncs
//   5. a write outside her hospitals is refused by the server and shown as such
//   6. signing out asks first while an edit is unsynced, then deletes the local data
//
// The tests run in order and share one server, one browser context and its page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  UI_MS, inApp, launchBrowser, openApp, screenshot, signIn, startAppServer, until, waitForState, waitServiceWorker, waitSynced,
} from './lib/app.mjs';

let server;
let browser;
let context;
let page;
const st = {}; // carried between tests

before(async () => {
  server = await startAppServer();
  browser = await launchBrowser();
});
after(async () => {
  if (page) await screenshot(page, 'clinic-last', { docs: false }).catch(() => {}); // the last screen, for failures
  await browser?.close();
  await server?.cleanup();
});

const enc = encodeURIComponent;
const db = () => server.demo.db;
const serverDoc = async (id, q = '') => server.json(`/${db()}/${enc(id)}${q}`);
const localIds = () => inApp(page, async (app) => (await app.store.db.allDocs()).rows.map((r) => r.id));

async function serverPartitionIds(hospital) {
  const r = await server.get(`/${db()}/_partition/${enc(hospital)}/_all_docs`);
  return r.rows.map((row) => row.id);
}

async function fillPatient(values) {
  for (const [name, value] of Object.entries(values)) {
    const sel = `form.patient-form [name=${name}]`;
    if ((await page.$eval(sel, (el) => el.tagName)) === 'SELECT') await page.selectOption(sel, value);
    else await page.fill(sel, value);
  }
}

test('sign in as the demo nurse: her hospitals, and only theirs, are on the device', { timeout: 90_000 }, async () => {
  ({ context, page } = await openApp(browser, server));
  await screenshot(page, 'sign-in');
  await signIn(page, server.demo.nurse);
  await waitSynced(page);
  const { nurseHospitals, hospitals } = server.demo;
  const shown = await page.$$eval('.choices a', (as) => as.map((a) => a.textContent));
  assert.deepEqual(shown, [...nurseHospitals].sort());

  const expected = new Set();
  for (const h of nurseHospitals) for (const id of await serverPartitionIds(h)) expected.add(id);
  const local = (await localIds()).filter((id) => !id.startsWith('_design/'));
  assert.deepEqual(local.sort(), [...expected].sort(), 'the device holds exactly her hospitals\' documents');
  const others = hospitals.filter((h) => !nurseHospitals.includes(h));
  let otherPatients = 0;
  for (const h of others) otherPatients += (await serverPartitionIds(h)).filter((id) => id.includes(':Patient-')).length;
  assert.ok(otherPatients > 0, 'other hospitals do have patients on the server');

  st.hospital = nurseHospitals[0];
  await page.click(`.choices a:has-text("${st.hospital}")`);
  await page.waitForSelector('[data-testid=patient-row]');
  const rows = await page.$$eval('[data-testid=patient-row]', (trs) => trs.map((tr) => tr.dataset.id));
  const serverPatients = (await serverPartitionIds(st.hospital)).filter((id) => id.includes(':Patient-'));
  assert.deepEqual(rows.sort(), serverPatients.sort());
  st.existing = rows[0];
  await screenshot(page, 'patients');
});

test('create a patient with an encounter and an observation: they reach the server', { timeout: 60_000 }, async () => {
  await page.click('a:has-text("New patient")');
  await fillPatient({ given: 'Ada', family: 'Lovelace', birthDate: '1990-12-10', gender: 'female', status: 'active' });
  await page.click('form.patient-form button[type=submit]');
  await page.waitForURL(/#\/h\/[^/]+\/p\//);
  st.created = decodeURIComponent(page.url().split('/p/')[1]);
  assert.match(st.created, new RegExp(`^${st.hospital}:Patient-[0-9a-f-]{36}$`));
  await page.fill('form.inline [name=type]', 'Annual check-up');
  await page.click('button:has-text("Add encounter")');
  await page.waitForSelector('[data-testid=encounter]');
  await page.fill('form.inline [name=text]', 'Body weight');
  await page.fill('form.inline [name=value]', '61.5');
  await page.fill('form.inline [name=unit]', 'kg');
  await page.click('button:has-text("Add observation")');
  await page.waitForSelector('[data-testid=observation]:has-text("61.5 kg")');
  await waitSynced(page);

  const doc = await serverDoc(st.created);
  assert.equal(doc.status, 200);
  assert.deepEqual(doc.body.name[0], { use: 'official', given: ['Ada'], family: 'Lovelace' });
  assert.equal(doc.body.birthDate, '1990-12-10');
  const ref = `urn:uuid:${doc.body.id}`;
  const found = await server.json(`/${db()}/_partition/${enc(st.hospital)}/_all_docs?include_docs=true`);
  const related = found.body.rows.map((r) => r.doc).filter((d) => d.subject && d.subject.reference === ref);
  assert.deepEqual(related.map((d) => d.resourceType).sort(), ['Encounter', 'Observation']);
  assert.equal(related.find((d) => d.resourceType === 'Observation').valueQuantity.value, 61.5);
  await screenshot(page, 'patient');
});

test('offline: the app reloads from the service worker; edits sync when back online', { timeout: 90_000 }, async () => {
  await waitServiceWorker(page);
  await context.setOffline(true);
  const [worker] = context.serviceWorkers();
  assert.ok(worker, 'a service worker runs');
  const reach = await worker.evaluate(() => fetch('/_up').then(() => 'reached', () => 'offline'));
  assert.equal(reach, 'offline', 'the service worker has no network either');
  const response = await page.reload();
  assert.ok(response.fromServiceWorker(), 'the page came from the service worker cache');
  await page.waitForSelector('html[data-ready="1"]');
  await waitForState(page, 'offline');
  await page.waitForSelector('form.patient-form'); // the patient page, from local data

  // edit the patient created online
  await fillPatient({ birthDate: '1991-01-02', status: 'inactive' });
  await page.click('form.patient-form button[type=submit]');
  await page.waitForSelector('.saved:has-text("Saved")');
  // create another one
  await page.goto(`${server.url}/_app/#/h/${enc(st.hospital)}/new`).catch(() => {}); // hash navigation: no request
  await page.waitForSelector('form.patient-form');
  await fillPatient({ given: 'Grace', family: 'Hopper', birthDate: '1906-12-09', gender: 'female' });
  await page.click('form.patient-form button[type=submit]');
  await page.waitForURL(/\/p\//);
  st.offline = decodeURIComponent(page.url().split('/p/')[1]);
  await page.waitForSelector('[data-testid=pending][data-count="2"]');
  await page.click('a:has-text("← Patients")');
  await page.waitForSelector(`[data-testid=patient-row][data-id="${st.offline}"]`);
  await screenshot(page, 'offline');
  assert.equal((await serverDoc(st.offline)).status, 404, 'nothing reached the server while offline');

  await context.setOffline(false); // and nothing else: the app syncs by itself
  await waitSynced(page);
  const edited = await serverDoc(st.created);
  assert.equal(edited.body.birthDate, '1991-01-02');
  assert.equal(edited.body.active, false);
  const created = await serverDoc(st.offline);
  assert.equal(created.status, 200);
  assert.equal(created.body.name[0].family, 'Hopper');
});

test('an expired session asks to sign in again and keeps the unsynced edit', { timeout: 60_000 }, async () => {
  await page.click(`[data-testid=patient-row][data-id="${st.offline}"] a`);
  await page.waitForSelector('form.patient-form');
  await context.setOffline(true);
  await waitForState(page, 'offline');
  await fillPatient({ given: 'Grace Brewster' });
  await page.click('form.patient-form button[type=submit]');
  await page.waitForSelector('[data-testid=pending][data-count="1"]');
  await context.clearCookies(); // the AuthSession cookie is gone, as after its timeout
  await context.setOffline(false);
  await page.waitForSelector('[data-testid=relogin]', { timeout: UI_MS });
  await waitForState(page, 'expired');
  assert.match(await page.textContent('[data-testid=relogin]'), /1 unsynced change is kept/);
  await screenshot(page, 'session-expired');
  await page.fill('[data-testid=relogin] input[name=password]', 'wrong password');
  await page.click('[data-testid=relogin] button[type=submit]');
  await page.waitForSelector('[data-testid=relogin] .notice.error');
  await page.fill('[data-testid=relogin] input[name=password]', server.demo.nurse.password);
  await page.click('[data-testid=relogin] button[type=submit]');
  await page.waitForSelector('[data-testid=relogin]', { state: 'detached' });
  await waitSynced(page);
  const doc = await serverDoc(st.offline);
  assert.deepEqual(doc.body.name[0].given, ['Grace', 'Brewster']);
});

test('a write outside her hospitals is refused by the server and shown', { timeout: 60_000 }, async () => {
  const other = server.demo.hospitals.find((h) => !server.demo.nurseHospitals.includes(h));
  const id = `${other}:Patient-intruder`;
  // the UI offers only her hospitals: write directly into the local database, as a stale or
  // tampered client would
  await inApp(page, (app, docId) => app.store.put({ _id: docId, resourceType: 'Patient', id: 'intruder', name: [{ family: 'Intruder' }] }), id);
  await page.waitForSelector(`[data-testid=denied] li:has-text("${id}")`, { timeout: UI_MS });
  assert.match(await page.textContent('[data-testid=denied]'), /forbidden|not allowed|may not/i);
  assert.equal((await serverDoc(id)).status, 404);
  await screenshot(page, 'denied');
  await page.click('[data-testid=denied] button:has-text("Dismiss")');
  await page.waitForSelector('[data-testid=denied]', { state: 'detached' });
});

test('signing out asks first while edits are unsynced, then deletes the local data', { timeout: 60_000 }, async () => {
  await context.setOffline(true);
  await page.waitForSelector('form.patient-form');
  await fillPatient({ family: 'Hopper-Murray' });
  await page.click('form.patient-form button[type=submit]');
  await page.waitForSelector('[data-testid=pending][data-count="1"]');
  await page.click('button:has-text("Sign out")');
  await page.waitForSelector('[data-testid=signout-confirm]:has-text("1 change has not reached the server")');
  await page.click('[data-testid=signout-confirm] button:has-text("Cancel")');
  await page.waitForSelector('form.patient-form');
  await context.setOffline(false);
  await waitSynced(page);
  assert.equal((await serverDoc(st.offline)).body.name[0].family, 'Hopper-Murray');

  const before = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  assert.ok(before.some((n) => n.includes('couchsync-')), `local databases exist: ${before}`);
  await page.click('button:has-text("Sign out")');
  await page.waitForSelector('form.login');
  await until(async () => {
    const names = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
    return !names.some((n) => n.includes('couchsync-'));
  }, { what: 'the local databases to be deleted' });
  assert.equal(await page.evaluate(() => localStorage.getItem('couchsync.profile')), null);
  const s = await page.evaluate(() => fetch('/_session').then((r) => r.json()));
  assert.equal(s.userCtx.name, null, 'the server session ended');
  const errors = page.consoleErrors.filter((e) => !/Failed to load resource|ERR_INTERNET_DISCONNECTED/.test(e));
  assert.deepEqual(errors, [], 'no JavaScript errors');
});
