// The tenant admin console: hospitals (list, add) and users (list, add with role and hospitals,
// reset password, disable/enable) through the server's /_tenants API. Online only; every server
// error is shown with its reason.
import { h, mount, notice, formValues } from '../lib/dom.js';
import { tenants, describe } from '../lib/api.js';

export function adminView(app) {
  const db = app.profile.db;
  const message = h('div', { dataset: { testid: 'admin-message' } });
  const hospitalsCard = h('div.card');
  const usersCard = h('div.card');
  const el = h('section.admin',
    h('h1', 'Administration ', h('span.muted', app.profile.tenantName)),
    message,
    h('div.columns', hospitalsCard, usersCard),
  );

  const show = (kind, text) => mount(message, notice(kind, text));
  async function run(action, okText) {
    try {
      await action();
      if (okText) show('ok', okText);
      await refresh();
      return true;
    } catch (e) {
      show('error', describe(e));
      return false;
    }
  }

  async function refresh() {
    let hospitals;
    let users;
    try {
      [hospitals, users] = await Promise.all([tenants.hospitals(db), tenants.users(db)]);
    } catch (e) {
      mount(hospitalsCard);
      mount(usersCard);
      show('error', e.status === 0 ? 'The admin console needs a connection to the server.' : describe(e));
      return;
    }
    app.updateHospitals(hospitals.map((x) => x.name));
    drawHospitals(hospitals);
    drawUsers(users, hospitals.map((x) => x.name));
  }

  function drawHospitals(hospitals) {
    const form = h('form.inline', { dataset: { testid: 'add-hospital' }, on: { submit: async (ev) => {
      ev.preventDefault();
      const { name } = formValues(form);
      if (await run(() => tenants.addHospital(db, name.trim()), `Hospital ${name.trim()} added.`)) form.reset();
    } } },
    h('input', { name: 'name', placeholder: 'HOSPITAL-NAME', required: true, 'aria-label': 'Hospital name' }),
    h('button', { type: 'submit' }, 'Add hospital'));
    mount(hospitalsCard,
      h('h2', 'Hospitals'),
      h('table.list', h('thead', h('tr', h('th', 'Name'), h('th', 'Documents'))),
        h('tbody', hospitals.map((x) => h('tr', { dataset: { testid: 'hospital-row', name: x.name } }, h('td', x.name), h('td', String(x.doc_count)))))),
      form,
      h('p.muted.small', 'A hospital is a partition of the tenant database: letters, digits and hyphens, not starting with "_".'),
    );
  }

  function drawUsers(users, hospitals) {
    const rows = users.map((u) => {
      const reset = h('form.inline.reset', { hidden: true, on: { submit: async (ev) => {
        ev.preventDefault();
        const { password } = formValues(reset);
        await run(() => tenants.updateUser(db, u.name, { password }), `Password of ${u.name} reset.`);
      } } },
      h('input', { name: 'password', type: 'password', placeholder: 'New password (8+ characters)', required: true, autocomplete: 'new-password' }),
      h('button', { type: 'submit' }, 'Set password'));
      return [
        h('tr', { dataset: { testid: 'user-row', name: u.name }, class: u.disabled ? 'disabled' : '' },
          h('td', u.name),
          h('td', u.role),
          h('td', u.role === 'admin' ? 'all' : u.hospitals.join(', ')),
          h('td', u.disabled ? h('span.badge.inactive', 'disabled') : h('span.badge.active', 'active')),
          h('td', h('div.row-actions',
            h('button.link', { type: 'button', on: { click: () => { reset.hidden = !reset.hidden; } } }, 'Reset password'),
            u.name === app.profile.name ? null : h('button.link', { type: 'button', on: { click: () => run(
              () => tenants.updateUser(db, u.name, { disabled: !u.disabled }),
              `${u.name} ${u.disabled ? 'enabled' : 'disabled'}.`) } }, u.disabled ? 'Enable' : 'Disable'),
          )),
        ),
        h('tr.reset-row', h('td', { colSpan: 5 }, reset)),
      ];
    });
    const add = h('form.card.add-user', { dataset: { testid: 'add-user' }, on: { submit: async (ev) => {
      ev.preventDefault();
      const v = formValues(add);
      const user = { name: v.name.trim(), password: v.password, role: v.role, hospitals: v.role === 'admin' ? [] : v.hospitals };
      if (await run(() => tenants.addUser(db, user), `User ${user.name} added.`)) add.reset();
    } } },
    h('h3', 'Add a user'),
    h('div.grid',
      h('label', 'User name', h('input', { name: 'name', required: true, autocomplete: 'off' })),
      h('label', 'Password', h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password', minLength: 8 })),
    ),
    h('fieldset', h('legend', 'Role'),
      h('label.check', h('input', { type: 'radio', name: 'role', value: 'staff', checked: true }), ' staff'),
      h('label.check', h('input', { type: 'radio', name: 'role', value: 'admin' }), ' tenant admin')),
    h('fieldset', h('legend', 'Hospitals (staff)'),
      hospitals.map((name) => h('label.check', h('input', { type: 'checkbox', name: 'hospitals', value: name }), ` ${name}`))),
    h('div.actions', h('button.primary', { type: 'submit' }, 'Add user')));
    mount(usersCard,
      h('h2', 'Users'),
      h('table.list', h('thead', h('tr', h('th', 'Name'), h('th', 'Role'), h('th', 'Hospitals'), h('th', 'State'), h('th', ''))),
        h('tbody', rows)),
      add,
    );
  }

  return { el, refresh, live: false };
}
