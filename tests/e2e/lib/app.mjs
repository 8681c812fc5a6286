// End-to-end helpers: the built web app, a real `couchsync serve` with the Synthea demo tenant
// (reusing tests/interop/lib/server.mjs), Debian's Chromium through playwright-core, and the app's
// screens as the tests drive them.
//
//   const server = await startAppServer();       // demo tenant; server.demo = {db, admin, nurse, hospitals}
//   const browser = await launchBrowser();
//   const { context, page } = await openApp(browser, server);
//   await signIn(page, server.demo.nurse);
//
// Env: CHROMIUM (default /usr/bin/chromium), E2E_HEADED=1 to watch, UPDATE_SCREENSHOTS=1 to refresh
// the README's docs/screenshots/ besides tests/e2e/artifacts/.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { REPO_ROOT, TestServer } from '../../interop/lib/server.mjs';
import { SYNTHEA_DIR } from '../../interop/lib/synthea.mjs';

export const APP_DIR = join(REPO_ROOT, 'web', 'dist');
export const ARTIFACTS = join(REPO_ROOT, 'tests', 'e2e', 'artifacts');
export const DOC_SCREENSHOTS = join(REPO_ROOT, 'docs', 'screenshots');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** How long the app may take to reflect something (a sync round trip, a view refresh). */
export const UI_MS = 20_000;

// -- the build ------------------------------------------------------------------------------------

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((f) => newest(join(path, f))));
}

/** Runs `npm run build:web` when web/dist is missing or older than its sources. */
export function ensureBuilt() {
  const index = join(APP_DIR, 'index.html');
  const sources = ['web/src', 'web/static', 'web/build.mjs', 'designdocs/patient.py', 'package-lock.json'].map((p) => join(REPO_ROOT, p));
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newest))) return;
  execFileSync(process.execPath, [join(REPO_ROOT, 'web', 'build.mjs')], { cwd: REPO_ROOT, stdio: 'inherit' });
}

// -- the server -----------------------------------------------------------------------------------

/** `couchsync serve --demo-data …` serving the built app (COUCHSYNC_APP_DIR, as in the Dockerfile). */
class AppServer extends TestServer {
  _command() {
    const c = super._command();
    c.args.push('--demo-data', SYNTHEA_DIR);
    return c;
  }

  /** The Demo Clinic credentials printed once on first start. */
  parseDemo() {
    const out = this.output.join('');
    const db = out.match(/Created tenant 'Demo Clinic': database (\S+),/);
    const admin = out.match(/tenant admin\s+demo-admin:(\S+)/);
    const nurse = out.match(/staff\s+demo-nurse:(\S+) \(hospitals ([^)]+)\)/);
    if (!db || !admin || !nurse) throw new Error(`no demo credentials in the server output:\n${this.tail()}`);
    this.demo = {
      db: db[1],
      admin: { name: 'demo-admin', password: admin[1] },
      nurse: { name: 'demo-nurse', password: nurse[1] },
      nurseHospitals: nurse[2].split(', '),
    };
    return this.demo;
  }

  /** GET as the server admin → parsed body (asserting 2xx). */
  async get(path) {
    const r = await this.json(path);
    if (r.status >= 300) throw new Error(`GET ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }
}

/** Starts the server (on `port`, else a free one) and reads the demo tenant: `server.demo`. */
export async function startAppServer({ env = {}, port = null } = {}) {
  ensureBuilt();
  const server = new AppServer({ env: { COUCHSYNC_BCRYPT_ROUNDS: '4', COUCHSYNC_APP_DIR: APP_DIR, ...env }, startTimeoutMs: 60_000 });
  server.port = port;
  await server.start();
  server.parseDemo();
  const tenant = await server.get(`/_tenants/${server.demo.db}/hospitals`);
  server.demo.hospitals = tenant.map((h) => h.name);
  return server;
}

// -- the browser ----------------------------------------------------------------------------------

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: !process.env.E2E_HEADED,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--disable-domain-reliability',
      '--disable-client-side-phishing-detection',
      '--metrics-recording-only',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-dev-shm-usage',
    ],
  });
}

/** A fresh browser profile (context) with the app open; console errors are collected. */
export async function openApp(browser, server, { viewport = { width: 1200, height: 820 } } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => page.consoleErrors.push(String(e)));
  await page.goto(`${server.url}/_app/`);
  await page.waitForSelector('html[data-ready="1"]');
  return { context, page };
}

export async function signIn(page, { name, password }) {
  await page.fill('input[name=name]', name);
  await page.fill('input[name=password]', password);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('[data-testid=user]', { timeout: UI_MS });
}

/** Waits until the status bar shows `state` (synced, offline, …). */
export async function waitForState(page, state, timeout = UI_MS) {
  await page.waitForSelector(`#status[data-state="${state}"]`, { timeout });
}

/** Waits until the app has no unsynced change and is up to date with the server. */
export async function waitSynced(page, timeout = UI_MS) {
  await page.waitForSelector('#status[data-state="synced"] [data-testid=pending][data-count="0"]', { timeout });
}

/** Waits until the service worker controls the page (the shell is cached). */
export async function waitServiceWorker(page) {
  await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller !== null, null, { timeout: UI_MS });
}

/** Runs `fn(app)` in the page with the app object (window.couchsyncApp). */
export function inApp(page, fn, arg) {
  return page.evaluate(`(${fn})(window.couchsyncApp, ${JSON.stringify(arg)})`);
}

/** Saves tests/e2e/artifacts/<name>.png, and with UPDATE_SCREENSHOTS=1 the README's copy in
 *  docs/screenshots/<name>.png (unless `docs: false`). */
export async function screenshot(page, name, { docs = true } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS && docs) {
    mkdirSync(DOC_SCREENSHOTS, { recursive: true });
    copyFileSync(file, join(DOC_SCREENSHOTS, `${name}.png`));
  }
  return file;
}

/** Polls `fn` until it returns a truthy value; throws after `timeoutMs` with `what`. */
export async function until(fn, { timeoutMs = UI_MS, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
