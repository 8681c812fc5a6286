// Conflict resolution for a Patient with `_conflicts`. Versions are the document's leaf revisions
// (the winner first); the user keeps one or merges field by field; the result is written on top of
// the winning revision and every other leaf is deleted, so the conflict is gone on every replica
// once it syncs. Pure functions.
import { displayName, patientStatus } from './fhir.js';

/** The fields compared side by side: label, shown value, and the FHIR properties they carry. */
export const FIELDS = [
  { key: 'name', label: 'Name', show: displayName, props: ['name'] },
  { key: 'birthDate', label: 'Birth date', show: (d) => d.birthDate || '—', props: ['birthDate'] },
  { key: 'gender', label: 'Gender', show: (d) => d.gender || '—', props: ['gender'] },
  { key: 'status', label: 'Status', show: patientStatus, props: ['active', 'deceasedBoolean', 'deceasedDateTime'] },
];

/** Keys of FIELDS whose shown value differs between the versions. */
export function differingFields(versions) {
  return FIELDS.filter((f) => new Set(versions.map((v) => JSON.stringify(f.show(v)))).size > 1).map((f) => f.key);
}

/** The body of `versions[base]` with, for each `choice` {fieldKey: versionIndex}, that field's
 *  properties taken from the chosen version (absent there = removed). No `_rev`/`_conflicts`. */
export function mergeVersions(versions, base, choice = {}) {
  const out = { ...versions[base] };
  for (const f of FIELDS) {
    const from = choice[f.key];
    if (from === undefined || from === base) continue;
    for (const p of f.props) {
      if (p in versions[from]) out[p] = versions[from][p];
      else delete out[p];
    }
  }
  delete out._rev;
  delete out._conflicts;
  delete out._revisions;
  out.meta = { ...(out.meta || {}), lastUpdated: new Date().toISOString() };
  return out;
}

/** The `bulkDocs` batch resolving a conflict: `merged` as the child of the winning revision, and
 *  a deletion of every losing leaf. */
export function resolution(id, winnerRev, loserRevs, merged) {
  return [{ ...merged, _id: id, _rev: winnerRev }, ...loserRevs.map((rev) => ({ _id: id, _rev: rev, _deleted: true }))];
}
