// The web app's pure modules (web/src/lib), in Node: FHIR documents, conflict merging, roles → profile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatientFields, newEncounter, newObservation, newPatient, patientFields, patientStatus, uuid, validatePatient } from '../../web/src/lib/fhir.js';
import { differingFields, mergeVersions, resolution } from '../../web/src/lib/conflicts.js';
import { tenantsFromRoles } from '../../web/src/lib/profile.js';

const fields = { given: 'Ada Augusta', family: 'Lovelace', birthDate: '1815-12-10', gender: 'female', status: 'active' };

test('a new patient is a FHIR Patient in the hospital partition', () => {
  const p = newPatient('HOSP-A', fields);
  assert.match(p._id, /^HOSP-A:Patient-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(p._id, `HOSP-A:Patient-${p.id}`);
  assert.equal(p.resourceType, 'Patient');
  assert.deepEqual(p.name, [{ use: 'official', given: ['Ada', 'Augusta'], family: 'Lovelace' }]);
  assert.equal(p.active, true);
  assert.ok(p.meta.lastUpdated);
  assert.deepEqual(patientFields(p), fields);
  assert.notEqual(uuid(), uuid());
});

test('editing keeps other FHIR content; status maps to active / deceased', () => {
  const doc = { _id: 'H:Patient-1', _rev: '1-a', resourceType: 'Patient', id: '1', name: [{ use: 'official', given: ['A'], family: 'B', prefix: ['Ms.'] }, { use: 'maiden', family: 'C' }], telecom: [{ value: '555' }], deceasedDateTime: '2020-01-01' };
  assert.equal(patientStatus(doc), 'deceased');
  const inactive = applyPatientFields(doc, { ...patientFields(doc), status: 'inactive', family: 'D' });
  assert.equal(inactive._rev, '1-a');
  assert.deepEqual(inactive.telecom, [{ value: '555' }]);
  assert.deepEqual(inactive.name, [{ use: 'official', given: ['A'], family: 'D', prefix: ['Ms.'] }, { use: 'maiden', family: 'C' }]);
  assert.equal(inactive.active, false);
  assert.equal('deceasedDateTime' in inactive, false);
  const dead = applyPatientFields(inactive, { ...patientFields(inactive), status: 'deceased' });
  assert.equal(dead.deceasedBoolean, true);
  assert.equal(patientStatus(dead), 'deceased');
});

test('validation', () => {
  assert.deepEqual(validatePatient(fields), {});
  assert.deepEqual(Object.keys(validatePatient({ ...fields, given: '', family: ' ', birthDate: '10/12/1815', gender: 'x', status: 'y' })).sort(),
    ['birthDate', 'family', 'gender', 'status']);
});

test('encounters and observations reference the patient as the Synthea bundles do', () => {
  const p = newPatient('H', fields);
  const e = newEncounter('H', p, { type: 'Check-up', date: '2024-05-01', status: 'finished', cls: 'AMB' });
  assert.match(e._id, /^H:Encounter-/);
  assert.equal(e.subject.reference, `urn:uuid:${p.id}`);
  assert.equal(e.subject.display, 'Ada Augusta Lovelace');
  assert.equal(e.type[0].text, 'Check-up');
  const o = newObservation('H', p, { text: 'Body weight', value: '61.5', unit: 'kg', encounter: e.id });
  assert.deepEqual(o.valueQuantity, { value: 61.5, unit: 'kg' });
  assert.equal(o.encounter.reference, `urn:uuid:${e.id}`);
  assert.equal(newObservation('H', p, { text: 'Smoking', value: 'never', unit: '' }).valueString, 'never');
});

test('conflicts: differing fields, keep one, merge field by field, resolution batch', () => {
  const base = { _id: 'H:Patient-1', resourceType: 'Patient', id: '1', gender: 'female', birthDate: '2000-01-01', active: true, name: [{ family: 'Alpha' }] };
  const v0 = { ...base, _rev: '2-a', _conflicts: ['2-b'] };
  const v1 = { ...base, _rev: '2-b', name: [{ family: 'Bravo' }], birthDate: '2001-02-03', deceasedBoolean: true };
  assert.deepEqual(differingFields([v0, v1]), ['name', 'birthDate', 'status']);
  const keep1 = mergeVersions([v0, v1], 1);
  assert.equal(keep1.name[0].family, 'Bravo');
  assert.equal('_rev' in keep1 || '_conflicts' in keep1, false);
  const merged = mergeVersions([v0, v1], 0, { name: 1 });
  assert.deepEqual([merged.name[0].family, merged.birthDate, merged.deceasedBoolean], ['Bravo', '2000-01-01', undefined]);
  const status = mergeVersions([v0, v1], 0, { status: 1 });
  assert.equal(status.deceasedBoolean, true);
  assert.deepEqual(resolution('H:Patient-1', '2-a', ['2-b'], merged).map((d) => [d._rev, !!d._deleted]), [['2-a', false], ['2-b', true]]);
});

test('roles → tenants', () => {
  assert.deepEqual(tenantsFromRoles(['cure-abc1234:staff', 'cure-abc1234:hospital:AIC-CURE', 'cure-abc1234:hospital:B', 'other']), {
    'cure-abc1234': { role: 'staff', hospitals: ['AIC-CURE', 'B'] },
  });
  assert.deepEqual(tenantsFromRoles(['x-1:admin']), { 'x-1': { role: 'admin', hospitals: [] } });
  assert.deepEqual(tenantsFromRoles(['x-1:hospital:A']), {}, 'a hospital role without staff or admin is no tenant');
  assert.deepEqual(tenantsFromRoles(['_admin']), {});
});
