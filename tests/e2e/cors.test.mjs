// The web app served from another origin, as the README's CORS note describes: built with
// COUCHSYNC_SERVER_URL pointing at the sync server, served by a plain static server on another
// port, and the sync server started with COUCHSYNC_CORS_ORIGINS naming the app's origin. The demo
// nurse signs in (cookie, credentials: include), syncs, and a new patient reaches the server.
// Both origins are on `localhost`: same site, so the default SameSite=Lax cookie is sent; an app on
// another *site* also needs COUCHSYNC_COOKIE_SAME_SITE=none and COUCHSYNC_COOKIE_SECURE=true (HTTPS).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { freePort, REPO_ROOT } from '../interop/lib/server.mjs';
import { launchBrowser, screenshot, signIn, startAppServer, until, waitSynced } from './lib/app.mjs';

let server;
let browser;
let appServer;
let appDir;
let appOrigin;

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json' };

before(async () => {
  const syncPort = await freePort();
  const appPort = await freePort();
  appOrigin = `http://localhost:${appPort}`;
  appDir = join(mkdtempSync(join(tmpdir(), 'couchsync-cors-app-')), 'dist');
  execFileSync(process.execPath, [join(REPO_ROOT, 'web', 'build.mjs'), '--out', appDir], {
    cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, COUCHSYNC_SERVER_URL: `http://localhost:${syncPort}` },
  });
  appServer = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, appOrigin).pathname)).replace(/^\/+/, '') || 'index.html';
    try {
      const body = readFileSync(join(appDir, path.endsWith('/') ? `${path}index.html` : path));
      res.writeHead(200, { 'Content-Type': TYPES[extname(path) || '.html'] || 'application/octet-stream', 'Cache-Control': 'no-cache' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => appServer.listen(appPort, '127.0.0.1', r));
  server = await startAppServer({ port: syncPort, env: { COUCHSYNC_CORS_ORIGINS: appOrigin } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.cleanup();
  appServer?.close();
  if (appDir) rmSync(join(appDir, '..'), { recursive: true, force: true });
});

test('the app on another origin signs in and syncs through CORS', { timeout: 90_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${appOrigin}/`);
  await page.waitForSelector('html[data-ready="1"]');
  await signIn(page, server.demo.nurse);
  await waitSynced(page);
  const hospital = server.demo.nurseHospitals[0];
  await page.click(`.choices a:has-text("${hospital}")`);
  await page.waitForSelector('[data-testid=patient-row]');
  await page.click('a:has-text("New patient")');
  await page.fill('form.patient-form [name=family]', 'Cross-Origin');
  await page.click('form.patient-form button[type=submit]');
  await page.waitForURL(/\/p\//);
  const id = decodeURIComponent(page.url().split('/p/')[1]);
  await waitSynced(page);
  const doc = await until(async () => {
    const r = await server.json(`/${server.demo.db}/${encodeURIComponent(id)}`);
    return r.status === 200 && r.body;
  }, { what: 'the patient on the server' });
  assert.equal(doc.name[0].family, 'Cross-Origin');
  await screenshot(page, 'cors-app', { docs: false });
  assert.deepEqual(errors, []);
  await context.close();
});
