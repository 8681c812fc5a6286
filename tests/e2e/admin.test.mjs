// The tenant admin console (real Chromium, real `couchsync serve` with the demo tenant): the demo
// tenant admin adds a hospital and a staff user, sees the server's errors (a bad hospital name, a
// taken user name), resets the user's password; the new user signs in on another device and syncs
// exactly that hospital; moved to another hospital, her device drops the old hospital's documents
// and syncs the new one's; disabled, her session ends.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { UI_MS, inApp, launchBrowser, openApp, screenshot, signIn, startAppServer, until, waitForState, waitSynced } from './lib/app.mjs';

let server;
let browser;
let admin; // {context, page}
const NEW_USER = { name: 'nurse-jo', password: 'first-password-1' };
const NEW_PASSWORD = 'second-password-2';

before(async () => {
  server = await startAppServer();
  browser = await launchBrowser();
});
after(async () => {
  if (admin) await screenshot(admin.page, 'admin-last', { docs: false }).catch(() => {}); // the last screen, for failures
  await browser?.close();
  await server?.cleanup();
});

/** The text of the console's message once it is of `kind` ('ok' | 'error'). */
const message = (page, kind) => page.waitForSelector(`[data-testid=admin-message] .notice.${kind}`, { timeout: UI_MS }).then((el) => el.textContent());

test('the tenant admin manages hospitals and users; errors are shown', { timeout: 90_000 }, async () => {
  admin = await openApp(browser, server);
  const { page } = admin;
  await signIn(page, server.demo.admin);
  await page.click('a:has-text("Admin")');
  await page.waitForSelector('[data-testid=hospital-row]');
  const shown = await page.$$eval('[data-testid=hospital-row]', (rows) => rows.map((r) => r.dataset.name));
  assert.deepEqual(shown, server.demo.hospitals);

  await page.fill('[data-testid=add-hospital] input[name=name]', '_bad');
  await page.click('[data-testid=add-hospital] button');
  assert.match(await message(page, 'error'), /underscore \(400 illegal_partition\)/);

  await page.fill('[data-testid=add-hospital] input[name=name]', 'NEW-CLINIC');
  await page.click('[data-testid=add-hospital] button');
  await page.waitForSelector('[data-testid=hospital-row][data-name="NEW-CLINIC"]');
  assert.match(await message(page, 'ok'), /NEW-CLINIC added/);

  const hospital = server.demo.hospitals.find((h) => !server.demo.nurseHospitals.includes(h) && h !== 'DIRECTORY');
  const addUser = async (user) => {
    await page.fill('[data-testid=add-user] input[name=name]', user.name);
    await page.fill('[data-testid=add-user] input[name=password]', user.password);
    await page.check('[data-testid=add-user] input[name=role][value=staff]');
    await page.check(`[data-testid=add-user] input[name=hospitals][value="${hospital}"]`);
    await page.click('[data-testid=add-user] button[type=submit]');
  };
  await addUser(NEW_USER);
  await page.waitForSelector(`[data-testid=user-row][data-name="${NEW_USER.name}"]`);
  const u = await server.get(`/_tenants/${server.demo.db}/users/${NEW_USER.name}`);
  assert.deepEqual([u.role, u.hospitals, u.disabled], ['staff', [hospital], false]);

  await addUser(NEW_USER); // again: the name is taken
  assert.match(await message(page, 'error'), /already exists.*\(409 conflict\)/);

  const row = `[data-testid=user-row][data-name="${NEW_USER.name}"]`;
  await page.click(`${row} button:has-text("Reset password")`);
  const reset = page.locator(`${row} + tr form.reset`);
  await reset.locator('input[name=password]').fill(NEW_PASSWORD);
  await reset.locator('button').click();
  await page.waitForSelector(`[data-testid=admin-message] .notice.ok:has-text("Password of ${NEW_USER.name} reset")`);
  await waitSynced(page, 60_000); // the admin's device holds the whole tenant database
  await screenshot(page, 'admin');
  admin.hospital = hospital;
});

test('the new staff user signs in elsewhere and syncs her hospital only; hospital change; disabled', { timeout: 90_000 }, async () => {
  const { context, page } = await openApp(browser, server);
  await page.fill('input[name=name]', NEW_USER.name);
  await page.fill('input[name=password]', NEW_USER.password); // the old password no longer works
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('form.login .notice.error');

  await signIn(page, { name: NEW_USER.name, password: NEW_PASSWORD });
  await waitSynced(page);
  await page.waitForSelector('[data-testid=patient-row]'); // one hospital: straight to its patients
  const local = await inApp(page, async (app) => (await app.store.db.allDocs()).rows.map((r) => r.id));
  const data = local.filter((id) => !id.startsWith('_design/'));
  const onServer = await server.get(`/${server.demo.db}/_partition/${encodeURIComponent(admin.hospital)}/_all_docs`);
  assert.deepEqual(data.sort(), onServer.rows.map((r) => r.id).sort());
  assert.ok(data.length > 0);

  // her hospital changes on the server: at the next session check the device drops the old
  // hospital's documents and syncs the new one's
  const next = server.demo.hospitals.find((h) => h !== admin.hospital && !server.demo.nurseHospitals.includes(h) && h !== 'DIRECTORY');
  const patch = await server.json(`/_tenants/${server.demo.db}/users/${NEW_USER.name}`, { method: 'PATCH', body: JSON.stringify({ hospitals: [next] }) });
  assert.equal(patch.status, 200);
  await inApp(page, (app) => app.store.checkSession());
  const nextIds = (await server.get(`/${server.demo.db}/_partition/${encodeURIComponent(next)}/_all_docs`)).rows.map((r) => r.id).sort();
  await until(async () => {
    const ids = await inApp(page, async (app) => (await app.store.db.allDocs()).rows.map((r) => r.id));
    return JSON.stringify(ids.filter((x) => !x.startsWith('_design/')).sort()) === JSON.stringify(nextIds);
  }, { what: `the device to hold exactly ${next}'s documents` });
  await page.waitForSelector(`[data-testid=hospital-picker] option[value="${next}"]`, { state: 'attached' });
  assert.equal(await page.$(`[data-testid=hospital-picker] option[value="${admin.hospital}"]`), null);

  // disabled by the admin: the next session check ends the session on that device
  await admin.page.click(`[data-testid=user-row][data-name="${NEW_USER.name}"] button:has-text("Disable")`);
  await admin.page.waitForSelector(`[data-testid=user-row][data-name="${NEW_USER.name}"].disabled`);
  await inApp(page, (app) => app.store.checkSession());
  await waitForState(page, 'expired');
  await page.waitForSelector('[data-testid=relogin]');
  await page.fill('[data-testid=relogin] input[name=password]', NEW_PASSWORD);
  await page.click('[data-testid=relogin] button[type=submit]');
  await page.waitForSelector('[data-testid=relogin] .notice.error');
  await context.close();
  const errors = admin.page.consoleErrors.filter((e) => !/Failed to load resource/.test(e));
  assert.deepEqual(errors, []);
});
