// Sign-in with the server's /_session (cookie), choosing the tenant for a server admin, and the
// re-login dialog shown when the session expired (local data and unsynced edits are kept).
import { h, mount, notice, formValues } from '../lib/dom.js';
import { signIn, session, tenants, describe } from '../lib/api.js';
import { makeProfile, tenantsFromRoles } from '../lib/profile.js';

/** Profiles the signed-in user may use: one per tenant (server admins: every tenant). */
export async function profilesFor(userCtx) {
  const { name, roles } = userCtx;
  if (roles.includes('_admin')) {
    const list = await tenants.list();
    return list.map((t) => makeProfile(name, t.db, { role: 'admin', hospitals: t.hospitals, tenantName: t.name, serverAdmin: true }));
  }
  const out = [];
  for (const [db, t] of Object.entries(tenantsFromRoles(roles))) {
    if (t.role === 'admin') {
      const info = await tenants.get(db);
      out.push(makeProfile(name, db, { role: 'admin', hospitals: info.hospitals, tenantName: info.name }));
    } else {
      out.push(makeProfile(name, db, { role: 'staff', hospitals: t.hospitals }));
    }
  }
  return out;
}

export function loginView(app) {
  const error = h('div');
  const form = h('form.card.login', { on: { submit } },
    h('h1', 'Sign in'),
    h('p.muted', 'Patient records of your clinic, available offline.'),
    h('label', 'User name', h('input', { name: 'name', autocomplete: 'username', required: true, autofocus: true })),
    h('label', 'Password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    error,
    h('button.primary', { type: 'submit' }, 'Sign in'),
  );
  const el = h('section.center', form);

  async function submit(ev) {
    ev.preventDefault();
    const { name, password } = formValues(form);
    const button = form.querySelector('button');
    button.disabled = true;
    mount(error);
    try {
      await signIn(name.trim(), password);
      const { userCtx } = await session();
      const profiles = await profilesFor(userCtx);
      if (profiles.length === 0) throw new Error('This account belongs to no tenant.');
      if (profiles.length === 1) return app.signedIn(profiles[0]);
      mount(el, chooser(profiles, (p) => app.signedIn(p)));
    } catch (e) {
      mount(error, notice('error', e.status === 0 ? 'The server cannot be reached: signing in needs a connection.' : describe(e)));
    } finally {
      button.disabled = false;
    }
  }
  return { el };
}

function chooser(profiles, choose) {
  return h('div.card.login',
    h('h1', 'Choose a tenant'),
    h('ul.choices', profiles.map((p) => h('li', h('button', { type: 'button', on: { click: () => choose(p) } },
      h('strong', p.tenantName), h('span.muted', ` ${p.db}`))))),
  );
}

/** The modal asking the same user to sign in again; `done()` once the session is back. */
export function reloginDialog(app, pending, done) {
  const error = h('div');
  const form = h('form.card', { on: { submit } },
    h('h2', 'Your session has expired'),
    h('p', `Sign in again as `, h('strong', app.profile.name), ' to resume syncing.',
      pending ? ` Your ${pending} unsynced change${pending === 1 ? ' is' : 's are'} kept on this device.` : ''),
    h('input', { type: 'hidden', name: 'name', value: app.profile.name, autocomplete: 'username' }),
    h('label', 'Password', h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    error,
    h('div.actions',
      h('button.primary', { type: 'submit' }, 'Sign in'),
      h('button', { type: 'button', on: { click: () => app.signOutFlow() } }, 'Sign out'),
    ),
  );
  const el = h('div.modal', { role: 'dialog', 'aria-modal': 'true', dataset: { testid: 'relogin' } }, form);

  async function submit(ev) {
    ev.preventDefault();
    mount(error);
    try {
      await signIn(app.profile.name, formValues(form).password);
      const { userCtx } = await session();
      if (userCtx.name !== app.profile.name) throw new Error('Signed in as someone else.');
      done(userCtx);
    } catch (e) {
      mount(error, notice('error', describe(e)));
    }
  }
  return el;
}
