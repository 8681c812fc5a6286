// Builds the web app into web/dist (or --out DIR): `npm run build:web`.
//
//   1. compiles designdocs/patient.py with `couchsync ddoc compile` (Python: $COUCHSYNC_PYTHON, else
//      .venv/bin/python, else python3) and embeds its views, so the app queries locally the very
//      map/reduce functions the server runs;
//   2. bundles web/src/main.js (PouchDB browser + pouchdb-find + the app) and web/src/app.css with
//      esbuild into content-hashed assets/app-<HASH>.js|css;
//   3. writes index.html, the service worker sw.js (its shell list and version are the hashed
//      names, so a new build replaces the cached shell) and the static files of web/static.
//
// The output is a pure function of the sources and package-lock.json (no timestamps). It is
// written to a temporary directory and swapped in, so a running server never serves half a build.
// COUCHSYNC_SERVER_URL bakes another origin for the API (the app served from elsewhere, see the
// README's CORS note); empty = the origin that serves the app.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(WEB, '..');
const args = process.argv.slice(2);
const OUT = resolve(args.includes('--out') ? args[args.indexOf('--out') + 1] : join(WEB, 'dist'));
const SERVER_URL = process.env.COUCHSYNC_SERVER_URL || '';

function python() {
  if (process.env.COUCHSYNC_PYTHON) return process.env.COUCHSYNC_PYTHON;
  const venv = join(ROOT, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

/** The compiled `_design/patient` as the app stores it locally: id, language, options and views. */
function patientDesign() {
  const tmp = mkdtempSync(join(tmpdir(), 'couchsync-ddoc-'));
  try {
    execFileSync(python(), ['-m', 'couchsync', 'ddoc', 'compile', join(ROOT, 'designdocs', 'patient.py'), '--out', tmp],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    const ddoc = JSON.parse(readFileSync(join(tmp, 'patient.json'), 'utf8'));
    return { _id: ddoc._id, language: ddoc.language, options: ddoc.options, views: ddoc.views };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const ddocPlugin = (ddoc) => ({
  name: 'couchsync-ddoc',
  setup(b) {
    b.onResolve({ filter: /^couchsync:patient-ddoc$/ }, (a) => ({ path: a.path, namespace: 'couchsync' }));
    b.onLoad({ filter: /.*/, namespace: 'couchsync' }, () => ({ contents: JSON.stringify(ddoc), loader: 'json' }));
  },
});

const fill = (text, values) => text.replace(/%([A-Z_]+)%/g, (m, k) => (k in values ? values[k] : m));
const attr = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

async function main() {
  const ddoc = patientDesign();
  mkdirSync(dirname(OUT), { recursive: true });
  const tmp = mkdtempSync(join(dirname(OUT), '.dist-'));
  chmodSync(tmp, 0o755); // mkdtemp makes it private; the server may run as another user
  try {
    const result = await build({
      entryPoints: [{ in: join(WEB, 'src', 'main.js'), out: 'app' }, { in: join(WEB, 'src', 'app.css'), out: 'app' }],
      bundle: true,
      minify: true,
      format: 'esm',
      target: ['chrome109', 'firefox115', 'safari16'],
      platform: 'browser',
      entryNames: 'assets/[name]-[hash]',
      outdir: tmp,
      metafile: true,
      legalComments: 'eof',
      logLevel: 'warning',
      plugins: [ddocPlugin(ddoc)],
    });
    const outputs = Object.keys(result.metafile.outputs).map((p) => resolve(p).slice(resolve(tmp).length + 1));
    const js = outputs.find((p) => p.endsWith('.js'));
    const css = outputs.find((p) => p.endsWith('.css'));
    cpSync(join(WEB, 'static'), tmp, { recursive: true });
    writeFileSync(join(tmp, 'index.html'),
      fill(readFileSync(join(WEB, 'src', 'index.html'), 'utf8'), { APP_JS: js, APP_CSS: css, SERVER_URL: attr(SERVER_URL) }));
    const shell = ['./', js, css, ...readdirSync(join(WEB, 'static')).sort()].map((p) => (p === './' ? p : `./${p}`));
    const version = createHash('sha256');
    for (const p of shell.slice(1)) version.update(p).update(readFileSync(join(tmp, p)));
    version.update(readFileSync(join(tmp, 'index.html')));
    writeFileSync(join(tmp, 'sw.js'), fill(readFileSync(join(WEB, 'src', 'sw.js'), 'utf8'), {
      VERSION: JSON.stringify(version.digest('hex').slice(0, 16)),
      SHELL: JSON.stringify(shell),
    }));
    const old = existsSync(OUT) ? `${tmp}-old` : null;
    if (old) renameSync(OUT, old);
    renameSync(tmp, OUT);
    if (old) rmSync(old, { recursive: true, force: true });
    console.error(`web app built into ${OUT}: ${js}, ${css}`);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
