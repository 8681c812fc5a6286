// A conflict made by two devices and resolved in the app (real Chromium, real `couchsync serve`):
// two browser contexts signed in as the demo nurse edit the same patient while offline, come back
// online, both show the conflict; one merges the versions field by field; both end with the
// server's winning revision and no `_conflicts`, and the server holds the merge.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { UI_MS, inApp, launchBrowser, openApp, screenshot, signIn, startAppServer, until, waitForState, waitSynced } from './lib/app.mjs';

let server;
let browser;
const devices = [];

before(async () => {
  server = await startAppServer();
  browser = await launchBrowser();
});
after(async () => {
  for (const [i, d] of devices.entries()) await screenshot(d.page, `conflict-last-${i}`, { docs: false }).catch(() => {}); // for failures
  await browser?.close();
  await server?.cleanup();
});

const enc = encodeURIComponent;

async function edit(page, values) {
  for (const [name, value] of Object.entries(values)) await page.fill(`form.patient-form [name=${name}]`, value);
  await page.click('form.patient-form button[type=submit]');
  await page.waitForSelector('.saved:has-text("Saved")');
}

const localState = (page, id) => inApp(page, async (app, docId) => {
  const d = await app.store.db.get(docId, { conflicts: true });
  return { rev: d._rev, conflicts: d._conflicts || [], family: d.name[0].family, birthDate: d.birthDate };
}, id);

test('two devices edit the same patient offline; the conflict shows on both and is resolved once', { timeout: 120_000 }, async () => {
  const hospital = server.demo.nurseHospitals[0];
  for (let i = 0; i < 2; i++) {
    const { context, page } = await openApp(browser, server);
    await signIn(page, server.demo.nurse);
    await waitSynced(page);
    devices.push({ context, page });
  }
  const [a, b] = devices;
  const all = await server.get(`/${server.demo.db}/_partition/${enc(hospital)}/_all_docs`);
  const id = all.rows.map((r) => r.id).find((x) => x.includes(':Patient-'));
  const original = (await server.json(`/${server.demo.db}/${enc(id)}`)).body;
  for (const d of devices) {
    await d.page.goto(`${server.url}/_app/#/h/${enc(hospital)}/p/${enc(id)}`);
    await d.page.waitForSelector('form.patient-form');
    await d.context.setOffline(true);
    await waitForState(d.page, 'offline');
  }
  await edit(a.page, { family: 'Alpha' });
  await edit(b.page, { family: 'Bravo', birthDate: '2001-02-03' });

  for (const d of devices) await d.context.setOffline(false);
  await until(async () => {
    const r = await server.json(`/${server.demo.db}/${enc(id)}?conflicts=true`);
    return r.body._conflicts && r.body._conflicts.length === 1;
  }, { what: 'the server to hold both versions' });
  for (const d of devices) await d.page.waitForSelector('[data-testid=conflict-panel]', { timeout: UI_MS });
  await b.page.click('a:has-text("← Patients")');
  await b.page.waitForSelector(`[data-testid=patient-row][data-id="${id}"].has-conflict`);
  await b.page.waitForSelector('[data-testid=conflict-count]');
  await screenshot(b.page, 'conflict-list');
  await screenshot(a.page, 'conflict');

  // on device A: the name from the "Bravo" version, the original birth date (from the "Alpha" one)
  await a.page.click('[data-testid=conflict-panel] label:has-text("Bravo") input[name=pick-name]');
  await a.page.click(`[data-testid=conflict-panel] label:has-text("${original.birthDate}") input[name=pick-birthDate]`);
  await a.page.click('[data-testid=save-merge]');
  await a.page.waitForSelector('[data-testid=conflict-panel]', { state: 'detached', timeout: UI_MS });

  let server_;
  await until(async () => {
    server_ = (await server.json(`/${server.demo.db}/${enc(id)}?conflicts=true`)).body;
    return !server_._conflicts;
  }, { what: 'the conflict to be gone on the server' });
  assert.equal(server_.name[0].family, 'Bravo');
  assert.equal(server_.birthDate, original.birthDate);
  for (const d of devices) {
    await until(async () => {
      const s = await localState(d.page, id);
      return s.rev === server_._rev && s.conflicts.length === 0;
    }, { what: 'both devices to hold the winning revision without conflicts' });
    await waitSynced(d.page);
  }
  await b.page.waitForSelector(`[data-testid=patient-row][data-id="${id}"]:not(.has-conflict)`);
  await b.page.waitForSelector('[data-testid=conflict-count]', { state: 'detached' });
  await screenshot(a.page, 'conflict-resolved');
  for (const d of devices) {
    const errors = d.page.consoleErrors.filter((e) => !/Failed to load resource|ERR_INTERNET_DISCONNECTED/.test(e));
    assert.deepEqual(errors, []);
  }
});
