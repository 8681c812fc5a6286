// The patients of one hospital: counts from the design document's `by_hospital` reduce view, the
// list from its `by_status` view (name and status as the server computes them), conflicts from the
// documents' `_conflicts`; search filters by name, birth date or id as you type.
import { h, mount, formatDate } from '../lib/dom.js';

export async function loadPatients(db, hospital) {
  const res = await db.query('patient/by_status', { startkey: ['Patient'], endkey: ['Patient', {}] });
  const rows = res.rows.filter((r) => r.id.startsWith(`${hospital}:`));
  const docs = await db.allDocs({ keys: rows.map((r) => r.id), include_docs: true, conflicts: true });
  const byId = new Map(docs.rows.filter((r) => r.doc).map((r) => [r.id, r.doc]));
  return rows
    .filter((r) => byId.has(r.id))
    .map((r) => ({ id: r.id, name: r.value || '(no name)', status: r.key[1], doc: byId.get(r.id) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function loadCounts(db, hospital) {
  const res = await db.query('patient/by_hospital', { startkey: [hospital], endkey: [hospital, {}], group: true });
  return Object.fromEntries(res.rows.map((r) => [r.key[1], r.value]));
}

export function patientsView(app, hospital) {
  let query = '';
  let patients = [];
  const counts = h('p.muted.counts');
  const tbody = h('tbody');
  const search = h('input', {
    type: 'search', placeholder: 'Search by name, birth date or id', 'aria-label': 'Search patients',
    on: { input: (e) => { query = e.target.value.trim().toLowerCase(); draw(); } },
  });
  const el = h('section.patients',
    h('div.toolbar',
      h('h1', 'Patients ', h('span.muted', hospital)),
      search,
      h('a.button.primary', { href: `#/h/${encodeURIComponent(hospital)}/new` }, 'New patient'),
    ),
    counts,
    h('table.list',
      h('thead', h('tr', h('th', 'Name'), h('th', 'Birth date'), h('th', 'Gender'), h('th', 'Status'), h('th', ''))),
      tbody,
    ),
  );

  function draw() {
    const shown = patients.filter((p) => !query || p.name.toLowerCase().includes(query) ||
      (p.doc.birthDate || '').includes(query) || p.id.toLowerCase().includes(query));
    mount(tbody, shown.length === 0
      ? h('tr', h('td.muted', { colSpan: 5 }, patients.length ? 'No patient matches.' : 'No patients yet.'))
      : shown.map((p) => h('tr', { dataset: { id: p.id, testid: 'patient-row' }, class: p.doc._conflicts ? 'has-conflict' : '' },
        h('td', h('a', { href: `#/h/${encodeURIComponent(hospital)}/p/${encodeURIComponent(p.id)}` }, p.name)),
        h('td', formatDate(p.doc.birthDate)),
        h('td', p.doc.gender || '—'),
        h('td', h(`span.badge.${p.status}`, p.status)),
        h('td', p.doc._conflicts ? h('span.badge.conflict', { title: 'Edited in two places: open to resolve' }, '⚠ conflict') : ''),
      )));
  }

  async function refresh() {
    const [list, c] = await Promise.all([loadPatients(app.store.db, hospital), loadCounts(app.store.db, hospital)]);
    patients = list;
    const n = (k, word) => `${c[k] || 0} ${word}${c[k] === 1 ? '' : 's'}`;
    mount(counts, `${n('Patient', 'patient')} · ${n('Encounter', 'encounter')} · ${n('Observation', 'observation')}`);
    draw();
  }
  return { el, refresh };
}
