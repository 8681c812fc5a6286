// couchsync clinic: boot, routing (#/…), header, sign-in/out and session expiry.
//
// Routes: #/login · #/ (choose a hospital) · #/h/<H> (patients) · #/h/<H>/new · #/h/<H>/p/<id>
// · #/admin (tenant admins). The signed-in profile lives in localStorage, so the app starts
// offline; its data lives in the user's local PouchDB (see store.js).
import { h, mount } from './lib/dom.js';
import { signOut, describe } from './lib/api.js';
import { clearProfile, isAdmin, loadProfile, saveProfile } from './lib/profile.js';
import { Store } from './store.js';
import { renderStatus } from './views/status.js';
import { loginView, profilesFor, reloginDialog } from './views/login.js';
import { patientsView } from './views/patients.js';
import { newPatientView, patientView } from './views/patient.js';
import { adminView } from './views/admin.js';

const $ = (id) => document.getElementById(id);

const app = {
  profile: null,
  store: null,
  view: null,
  modal: null,

  navigate(hash) {
    if (location.hash === hash) render();
    else location.hash = hash;
  },

  async signedIn(profile) {
    saveProfile(profile);
    await openStore(profile);
    app.navigate('#/');
  },

  updateHospitals(hospitals) {
    if (!app.profile || JSON.stringify(app.profile.hospitals) === JSON.stringify([...hospitals].sort())) return;
    app.profile = { ...app.profile, hospitals: [...hospitals].sort() };
    saveProfile(app.profile);
    renderHeader();
  },

  /** Sign out: stops syncing, ends the server session, deletes the local database. With unsynced
   *  changes it asks first (they would be lost). */
  async signOutFlow(confirmed = false) {
    const pending = app.store ? app.store.status().pending : 0;
    if (pending && !confirmed) {
      closeModal();
      mount($('main'), h('section.center', h('div.card', { dataset: { testid: 'signout-confirm' } },
        h('h2', 'Sign out and discard unsynced changes?'),
        h('p', `${pending} change${pending === 1 ? ' has' : 's have'} not reached the server yet. Signing out deletes this device's copy of the data, including ${pending === 1 ? 'it' : 'them'}.`),
        h('div.actions',
          h('button.danger', { type: 'button', on: { click: () => app.signOutFlow(true) } }, 'Sign out and discard'),
          h('button', { type: 'button', on: { click: () => { render(); } } }, 'Cancel')))));
      return;
    }
    closeModal();
    const store = app.store;
    app.store = null;
    app.profile = null;
    clearProfile();
    if (store) await store.close({ destroy: true }).catch((e) => console.error('could not delete the local data', e));
    await signOut().catch(() => {});
    renderHeader();
    renderStatus($('status'), null);
    app.navigate('#/login');
  },
};
window.couchsyncApp = app; // for debugging and the end-to-end tests

/** Opens the user's local database and starts syncing; `reset` first deletes the current one. */
async function openStore(profile, { reset = false } = {}) {
  if (app.store) await app.store.close({ destroy: reset });
  app.profile = profile;
  const store = new Store(profile);
  app.store = store;
  await store.open();
  store.addEventListener('status', (e) => {
    renderStatus($('status'), store);
    if (e.detail.state === 'expired') showRelogin();
  });
  store.addEventListener('change', scheduleRefresh);
  store.addEventListener('session', (e) => refreshProfile(e.detail));
  renderHeader();
  renderStatus($('status'), store);
  store.startSync();
}

/** Roles may change on the server (hospitals granted or revoked): follow them. The documents of a
 *  revoked hospital stay on the device (the server sends no deletions for them), so the local
 *  database is deleted and synced again, once no local edit waits for the server. */
async function refreshProfile(userCtx) {
  if (!app.profile) return;
  let fresh;
  try {
    fresh = (await profilesFor(userCtx)).find((p) => p.db === app.profile.db);
  } catch {
    return; // offline: keep the stored profile
  }
  if (!fresh || JSON.stringify(fresh) === JSON.stringify(app.profile)) return;
  const revoked = app.profile.role === 'staff' && app.profile.hospitals.some((x) => !fresh.hospitals.includes(x));
  if (revoked && app.store.status().pending > 0) return; // after the pending edits are synced
  saveProfile(fresh);
  if (revoked) {
    await openStore(fresh, { reset: true });
    await render();
  } else {
    app.profile = fresh;
    app.store.profile = fresh;
    renderHeader();
  }
}

function showRelogin() {
  if (app.modal) return;
  app.modal = reloginDialog(app, app.store.status().pending, async (userCtx) => {
    closeModal();
    await refreshProfile(userCtx);
    app.store.state = 'syncing';
    app.store.startSync();
  });
  document.body.append(app.modal);
  app.modal.querySelector('input[type=password]').focus();
}

function closeModal() {
  if (app.modal) app.modal.remove();
  app.modal = null;
}

// -- header ---------------------------------------------------------------------------------------

function currentHospital() {
  const m = location.hash.match(/^#\/h\/([^/]+)/);
  return m ? decodeURIComponent(m[1]) : null;
}

function renderHeader() {
  const p = app.profile;
  const top = $('top');
  if (!p) return mount(top, h('a.brand', { href: '#/' }, 'couchsync clinic'));
  const here = currentHospital();
  const picker = h('select', { 'aria-label': 'Hospital', dataset: { testid: 'hospital-picker' },
    on: { change: (e) => app.navigate(`#/h/${encodeURIComponent(e.target.value)}`) } },
  here ? null : h('option', { value: '', selected: true, disabled: true }, 'Choose a hospital'),
  p.hospitals.map((x) => h('option', { value: x, selected: x === here }, x)));
  mount(top,
    h('a.brand', { href: '#/' }, 'couchsync clinic'),
    h('span.tenant', p.tenantName),
    p.hospitals.length ? picker : null,
    h('nav',
      isAdmin(p) ? h('a', { href: '#/admin', class: location.hash === '#/admin' ? 'active' : '' }, 'Admin') : null,
      h('span.user', { dataset: { testid: 'user' } }, `${p.name} · ${p.role === 'admin' ? 'tenant admin' : 'staff'}`),
      h('button.link', { type: 'button', on: { click: () => app.signOutFlow() } }, 'Sign out')),
  );
}

// -- routing --------------------------------------------------------------------------------------

function homeView() {
  const p = app.profile;
  if (p.hospitals.length === 1 && !isAdmin(p)) {
    queueMicrotask(() => app.navigate(`#/h/${encodeURIComponent(p.hospitals[0])}`));
  }
  return {
    el: h('section.center', h('div.card',
      h('h1', 'Choose a hospital'),
      p.hospitals.length === 0
        ? h('p.muted', isAdmin(p) ? 'No hospitals yet: add one in the admin console.' : 'You belong to no hospital yet.')
        : h('ul.choices', p.hospitals.map((x) => h('li', h('a.button', { href: `#/h/${encodeURIComponent(x)}` }, x)))),
      isAdmin(p) ? h('p', h('a', { href: '#/admin' }, 'Tenant administration →')) : null)),
  };
}

const ROUTES = [
  [/^#\/admin$/, (m) => (isAdmin(app.profile) ? adminView(app) : null)],
  [/^#\/h\/([^/]+)\/new$/, (m) => newPatientView(app, m[1])],
  [/^#\/h\/([^/]+)\/p\/(.+)$/, (m) => patientView(app, m[1], m[2])],
  [/^#\/h\/([^/]+)$/, (m) => patientsView(app, m[1])],
  [/^(#\/?)?$/, () => homeView()],
];

let renderToken = 0;
async function render() {
  const token = ++renderToken;
  const hash = location.hash;
  if (!app.profile) {
    if (hash !== '#/login') return app.navigate('#/login');
    app.view = loginView(app);
  } else {
    const here = currentHospital();
    if (here && !app.profile.hospitals.includes(here)) return app.navigate('#/'); // revoked, or a stale link
    const route = ROUTES.map(([re, make]) => [hash.match(re), make]).find(([m]) => m);
    app.view = route ? route[1](route[0].map((x, i) => (i ? decodeURIComponent(x) : x))) : null;
    if (!app.view) return app.navigate('#/');
  }
  renderHeader();
  mount($('main'), app.view.el);
  if (app.view.refresh) await guarded(app.view.refresh, token);
}

async function guarded(fn, token) {
  try {
    await fn();
  } catch (e) {
    if (token === renderToken) mount($('main'), h('div.notice.error', { role: 'alert' }, `Something went wrong: ${describe(e)}`));
    console.error(e);
  }
}

let refreshTimer = null;
function scheduleRefresh() {
  const view = app.view;
  if (!view || !view.refresh || view.live === false) return;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => guarded(view.refresh, renderToken), 150);
}

// -- boot -----------------------------------------------------------------------------------------

async function boot() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('./sw.js', { scope: './' }).catch((e) => console.warn('service worker:', e));
  }
  window.addEventListener('hashchange', render);
  window.addEventListener('online', () => app.store && app.store.reconnect());
  window.addEventListener('offline', () => app.store && app.store._setState('offline'));
  const profile = loadProfile();
  if (profile) {
    await openStore(profile);
    app.store.checkSession();
  } else {
    // nobody is signed in on this device: end a session cookie left behind (e.g. signed out offline)
    await Promise.race([signOut().catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
  }
  document.documentElement.dataset.ready = '1';
  await render();
}

boot().catch((e) => {
  mount($('main'), h('div.notice.error', { role: 'alert' }, `The app could not start: ${describe(e)}`));
  console.error(e);
});
