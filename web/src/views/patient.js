// One patient: the edit form (name, birth date, gender, status), the conflict panel when the
// document has `_conflicts`, and the patient's encounters and observations (pouchdb-find on
// `subject.reference`), with forms to add them. Also the "new patient" form.
import { h, mount, notice, formValues, formatDate } from '../lib/dom.js';
import { describe } from '../lib/api.js';
import {
  GENDERS, STATUSES, ENCOUNTER_STATUSES, ENCOUNTER_CLASSES, applyPatientFields, conceptText, displayName,
  newEncounter, newObservation, newPatient, observationValue, patientFields, subjectRef, validatePatient,
} from '../lib/fhir.js';
import { FIELDS, differingFields, mergeVersions, resolution } from '../lib/conflicts.js';

const select = (name, options, value) => h('select', { name },
  options.map((o) => h('option', { value: o, selected: o === value }, o)));

function patientForm(fields, onSubmit, submitLabel) {
  const error = h('div');
  const form = h('form.card.patient-form', { on: { submit, input: () => { form.dataset.dirty = '1'; } } },
    h('div.grid',
      h('label', 'Given name(s)', h('input', { name: 'given', value: fields.given, autocomplete: 'off' })),
      h('label', 'Family name', h('input', { name: 'family', value: fields.family, autocomplete: 'off' })),
      h('label', 'Birth date', h('input', { name: 'birthDate', type: 'date', value: fields.birthDate })),
      h('label', 'Gender', select('gender', GENDERS, fields.gender)),
      h('label', 'Status', select('status', STATUSES, fields.status)),
    ),
    error,
    h('div.actions', h('button.primary', { type: 'submit' }, submitLabel)),
  );
  async function submit(ev) {
    ev.preventDefault();
    const f = formValues(form);
    const problems = validatePatient(f);
    if (Object.keys(problems).length) return mount(error, notice('error', Object.values(problems).join(' ')));
    mount(error);
    try {
      await onSubmit(f);
      delete form.dataset.dirty;
    } catch (e) {
      mount(error, notice('error', e.status === 409
        ? 'This patient changed meanwhile (another device synced). Reload it and edit again.' : describe(e)));
    }
  }
  return { form, error };
}

export function newPatientView(app, hospital) {
  const { form } = patientForm({ given: '', family: '', birthDate: '', gender: 'unknown', status: 'active' }, async (f) => {
    const doc = newPatient(hospital, f);
    await app.store.put(doc);
    app.navigate(`#/h/${encodeURIComponent(hospital)}/p/${encodeURIComponent(doc._id)}`);
  }, 'Create patient');
  return {
    el: h('section',
      h('p', h('a', { href: `#/h/${encodeURIComponent(hospital)}` }, '← Patients')),
      h('h1', 'New patient ', h('span.muted', hospital)),
      form),
  };
}

export function patientView(app, hospital, id) {
  const el = h('section.patient');
  let form = null;
  let savedNote = ''; // survives the refresh that follows a save
  const back = `#/h/${encodeURIComponent(hospital)}`;
  const isDirty = () => !!(form && form.dataset.dirty);

  async function refresh() {
    if (isDirty()) return; // never overwrite what the user is typing
    const db = app.store.db;
    const doc = await db.get(id, { conflicts: true }).catch((e) => (e.status === 404 ? null : Promise.reject(e)));
    if (!doc) {
      mount(el, h('p', h('a', { href: back }, '← Patients')), notice('error', 'This patient does not exist on this device (deleted, or not synced yet).'));
      return;
    }
    const [encounters, observations, conflicts] = await Promise.all([
      related(db, doc, 'Encounter', (d) => (d.period && d.period.start) || ''),
      related(db, doc, 'Observation', (d) => d.effectiveDateTime || d.issued || ''),
      doc._conflicts ? conflictPanel(app, doc, refresh) : null,
    ]);
    if (isDirty()) return; // the user started typing while we read
    const saved = h('span.saved', { 'aria-live': 'polite', dataset: { testid: 'saved' } }, savedNote);
    ({ form } = patientForm(patientFields(doc), async (f) => {
      await app.store.put(applyPatientFields(doc, f));
      savedNote = 'Saved on this device.';
      form = null;
      await refresh();
    }, 'Save'));
    form.addEventListener('input', () => { savedNote = ''; saved.textContent = ''; });
    form.querySelector('.actions').append(saved);
    mount(el,
      h('p', h('a', { href: back }, '← Patients')),
      h('h1', displayName(doc) || '(no name)', ' ', h('span.muted.small', id)),
      conflicts,
      form,
      encounterSection(app, hospital, doc, encounters),
      observationSection(app, hospital, doc, observations, encounters),
    );
  }
  return { el, refresh };
}

/** The patient's `type` resources in this hospital, newest first (pouchdb-find). */
async function related(db, patient, type, dateOf) {
  const res = await db.find({
    selector: { 'subject.reference': subjectRef(patient), resourceType: type },
  });
  const hospital = patient._id.split(':')[0];
  return res.docs.filter((d) => d._id.startsWith(`${hospital}:`)).sort((a, b) => dateOf(b).localeCompare(dateOf(a)));
}

/** A compact table of `rows`, the first `n` shown and a button revealing the others. */
function limited(rows, n = 8) {
  rows.slice(n).forEach((r) => { r.hidden = true; });
  const more = rows.length > n && h('button.link', { type: 'button', on: { click: () => {
    rows.forEach((r) => { r.hidden = false; });
    more.remove();
  } } }, `Show ${rows.length - n} older`);
  return [h('table.list.compact', h('tbody', rows)), more];
}

function encounterSection(app, hospital, patient, encounters) {
  const error = h('div');
  const form = h('form.inline', { on: { submit } },
    h('input', { name: 'type', placeholder: 'Reason / type of visit', required: true }),
    h('input', { name: 'date', type: 'date', value: new Date().toISOString().slice(0, 10) }),
    h('select', { name: 'cls' }, Object.entries(ENCOUNTER_CLASSES).map(([k, v]) => h('option', { value: k }, v))),
    select('status', ENCOUNTER_STATUSES, 'finished'),
    h('button', { type: 'submit' }, 'Add encounter'),
  );
  async function submit(ev) {
    ev.preventDefault();
    try {
      await app.store.put(newEncounter(hospital, patient, formValues(form)));
    } catch (e) {
      mount(error, notice('error', describe(e)));
    }
  }
  return h('div.card',
    h('h2', `Encounters (${encounters.length})`),
    limited(encounters.map((e) => h('tr', { dataset: { testid: 'encounter' } },
      h('td', formatDate(e.period && e.period.start)),
      h('td', conceptText(e.type) || '—'),
      h('td.muted', ENCOUNTER_CLASSES[e.class && e.class.code] || (e.class && e.class.code) || ''),
      h('td', h('span.badge', e.status || ''))))),
    form, error,
  );
}

function observationSection(app, hospital, patient, observations, encounters) {
  const error = h('div');
  const form = h('form.inline', { on: { submit } },
    h('input', { name: 'text', placeholder: 'Observation (e.g. Body weight)', required: true }),
    h('input', { name: 'value', placeholder: 'Value', size: 6 }),
    h('input', { name: 'unit', placeholder: 'Unit', size: 5 }),
    h('select', { name: 'encounter' }, h('option', { value: '' }, 'no encounter'),
      encounters.slice(0, 20).map((e) => h('option', { value: e.id }, `${formatDate(e.period && e.period.start)} ${conceptText(e.type)}`))),
    h('button', { type: 'submit' }, 'Add observation'),
  );
  async function submit(ev) {
    ev.preventDefault();
    try {
      await app.store.put(newObservation(hospital, patient, formValues(form)));
    } catch (e) {
      mount(error, notice('error', describe(e)));
    }
  }
  return h('div.card',
    h('h2', `Observations (${observations.length})`),
    limited(observations.map((o) => h('tr', { dataset: { testid: 'observation' } },
      h('td', formatDate(o.effectiveDateTime || o.issued)),
      h('td', conceptText(o.code) || '—'),
      h('td', observationValue(o))))),
    form, error,
  );
}

/** Side-by-side versions of a conflicted patient; keep one, or merge field by field. */
async function conflictPanel(app, doc, refresh) {
  const revs = [doc._rev, ...doc._conflicts];
  const got = await app.store.db.get(doc._id, { open_revs: revs });
  const byRev = new Map(got.filter((r) => r.ok).map((r) => [r.ok._rev, r.ok]));
  const versions = revs.filter((r) => byRev.has(r)).map((r) => byRev.get(r));
  const differ = differingFields(versions);
  const error = h('div');
  const choice = {};

  async function resolve(base, picks) {
    const merged = mergeVersions(versions, base, picks);
    try {
      await app.store.bulk(resolution(doc._id, doc._rev, doc._conflicts, merged));
      await refresh();
    } catch (e) {
      mount(error, notice('error', `Could not resolve: ${describe(e)}`));
    }
  }

  const table = h('table.versions',
    h('thead', h('tr', h('th', ''), versions.map((v, i) => h('th', i === 0 ? 'Current version' : `Competing version ${i}`,
      h('div.muted.small', v._rev.slice(0, 12) + '…'))))),
    h('tbody',
      FIELDS.map((f) => h('tr', { class: differ.includes(f.key) ? 'differs' : '' },
        h('th', f.label),
        versions.map((v, i) => h('td',
          differ.includes(f.key)
            ? h('label', h('input', { type: 'radio', name: `pick-${f.key}`, value: String(i), checked: i === 0,
              on: { change: () => { choice[f.key] = i; } } }), ' ', String(f.show(v)))
            : String(f.show(v)))))),
      h('tr', h('th', 'Last updated'), versions.map((v) => h('td.muted', (v.meta && v.meta.lastUpdated) || '—'))),
      h('tr', h('th', ''), versions.map((v, i) => h('td',
        h('button', { type: 'button', dataset: { testid: 'keep-version' }, on: { click: () => resolve(i) } }, 'Keep this version')))),
    ),
  );
  return h('div.card.conflict', { dataset: { testid: 'conflict-panel' } },
    h('h2', '⚠ Conflicting versions'),
    h('p', 'This patient was changed on two devices before they synced. Keep one version, or pick a value for each field that differs and save the merge. The other versions are then deleted everywhere.'),
    table,
    h('div.actions', h('button.primary', { type: 'button', dataset: { testid: 'save-merge' }, on: { click: () => resolve(0, choice) } }, 'Save merged version')),
    error,
  );
}
