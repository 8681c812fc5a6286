// FHIR R4-shaped documents as the app writes them, in the hospital's partition:
// `<HOSPITAL>:Patient-<uuid>`, `<HOSPITAL>:Encounter-<uuid>`, `<HOSPITAL>:Observation-<uuid>`, with
// `id` the uuid and references as the Synthea bundles write them (`urn:uuid:<id>`). Pure functions.

export const GENDERS = ['female', 'male', 'other', 'unknown'];
export const STATUSES = ['active', 'inactive', 'deceased'];
export const ENCOUNTER_STATUSES = ['planned', 'in-progress', 'finished', 'cancelled'];
export const ENCOUNTER_CLASSES = { AMB: 'ambulatory', EMER: 'emergency', IMP: 'inpatient', VR: 'virtual' };

/** A random v4 UUID (crypto.getRandomValues works outside secure contexts, randomUUID does not). */
export function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export const partitionOf = (id) => (id.indexOf(':') > 0 ? id.slice(0, id.indexOf(':')) : null);
export const typeOf = (id) => id.slice(id.indexOf(':') + 1).split('-')[0];
export const subjectRef = (patient) => `urn:uuid:${patient.id}`;

/** 'Given Family' of the first HumanName (as the design document's display_name). */
export function displayName(doc) {
  const n = Array.isArray(doc && doc.name) ? doc.name[0] : null;
  if (!n) return '';
  return [...(n.given || []).filter((g) => typeof g === 'string'), ...(typeof n.family === 'string' ? [n.family] : [])].join(' ');
}

/** 'deceased' | 'inactive' | 'active', as the design document's status_of for a Patient. */
export function patientStatus(doc) {
  if (doc.deceasedDateTime || doc.deceasedBoolean === true) return 'deceased';
  return doc.active === false ? 'inactive' : 'active';
}

/** The editable fields of a Patient: {given, family, birthDate, gender, status}. */
export function patientFields(doc) {
  const n = (Array.isArray(doc.name) && doc.name[0]) || {};
  return {
    given: (n.given || []).join(' '),
    family: n.family || '',
    birthDate: doc.birthDate || '',
    gender: doc.gender || 'unknown',
    status: patientStatus(doc),
  };
}

/** Problems of a field set, as {field: message}; empty when it can be saved. */
export function validatePatient(f) {
  const errors = {};
  if (!f.family.trim() && !f.given.trim()) errors.family = 'A name is required.';
  if (f.birthDate && !/^\d{4}-\d{2}-\d{2}$/.test(f.birthDate)) errors.birthDate = 'Use YYYY-MM-DD.';
  else if (f.birthDate && Number.isNaN(Date.parse(f.birthDate))) errors.birthDate = 'Not a date.';
  if (!GENDERS.includes(f.gender)) errors.gender = 'Choose a gender.';
  if (!STATUSES.includes(f.status)) errors.status = 'Choose a status.';
  return errors;
}

const now = () => new Date().toISOString();
const touch = (doc) => ({ ...doc, meta: { ...(doc.meta || {}), lastUpdated: now() } });

/** `doc` with the fields applied (other FHIR content is kept; the first name becomes official). */
export function applyPatientFields(doc, f) {
  const out = { ...doc };
  const first = { ...((Array.isArray(doc.name) && doc.name[0]) || { use: 'official' }) };
  first.given = f.given.trim() ? f.given.trim().split(/\s+/) : [];
  if (f.family.trim()) first.family = f.family.trim();
  else delete first.family;
  out.name = [first, ...(Array.isArray(doc.name) ? doc.name.slice(1) : [])];
  if (f.birthDate) out.birthDate = f.birthDate;
  else delete out.birthDate;
  out.gender = f.gender;
  if (f.status === 'deceased') {
    if (!out.deceasedDateTime) out.deceasedBoolean = true;
  } else {
    delete out.deceasedBoolean;
    delete out.deceasedDateTime;
    out.active = f.status === 'active';
  }
  return touch(out);
}

export function newPatient(hospital, f) {
  const id = uuid();
  return applyPatientFields({ _id: `${hospital}:Patient-${id}`, resourceType: 'Patient', id, active: true }, f);
}

export function newEncounter(hospital, patient, { type, date, status, cls }) {
  const id = uuid();
  const start = date ? new Date(`${date}T12:00:00`).toISOString() : now();
  return touch({
    _id: `${hospital}:Encounter-${id}`,
    resourceType: 'Encounter',
    id,
    status: status || 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: cls || 'AMB' },
    type: [{ text: type }],
    subject: { reference: subjectRef(patient), display: displayName(patient) },
    period: { start },
  });
}

export function newObservation(hospital, patient, { text, value, unit, encounter }) {
  const id = uuid();
  const doc = {
    _id: `${hospital}:Observation-${id}`,
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { text },
    subject: { reference: subjectRef(patient) },
    effectiveDateTime: now(),
  };
  if (value !== '' && value !== undefined && !Number.isNaN(Number(value))) doc.valueQuantity = { value: Number(value), unit: unit || '' };
  else if (value) doc.valueString = String(value);
  if (encounter) doc.encounter = { reference: `urn:uuid:${encounter}` };
  return touch(doc);
}

/** 'Well child visit' from a FHIR CodeableConcept (text, else the first coding's display). */
export function conceptText(c) {
  if (!c) return '';
  if (Array.isArray(c)) return conceptText(c[0]);
  return c.text || (c.coding && c.coding[0] && (c.coding[0].display || c.coding[0].code)) || '';
}

export function observationValue(o) {
  if (o.valueQuantity) return `${+Number(o.valueQuantity.value).toFixed(2)} ${o.valueQuantity.unit || ''}`.trim();
  if (o.valueString) return o.valueString;
  if (o.valueCodeableConcept) return conceptText(o.valueCodeableConcept);
  if (o.component) return o.component.map((c) => `${conceptText(c.code)} ${observationValue(c)}`).join(', ');
  return '';
}
