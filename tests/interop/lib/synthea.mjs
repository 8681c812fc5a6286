// Synthea FHIR R4 sample data as CouchDB documents: one document per FHIR resource,
// _id = `${resourceType}-${id}` (no colon: the databases are not partitioned), body = the
// resource unchanged.
//
// The 12 bundles hold 1,000 resources but only 962 distinct ids: 34 Organization/Practitioner
// resources appear both inside a patient bundle and in hospitalInformation*/practitionerInformation*
// (with different, richer bodies there). loadSyntheaResources() gives all 1,000 in file order
// (files sorted by name, so the shared "Information" bundles come last); loadSyntheaDocs() gives
// the 962 documents with the last occurrence winning; loadSyntheaEditRounds() splits the 1,000
// resources into rounds (round k = k-th occurrence of each id) to apply as successive edits.
//
// Directory: $SYNTHEA_DIR or <repo>/../shared/data/synthea-fhir-r4.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './server.mjs';

export const SYNTHEA_DIR = process.env.SYNTHEA_DIR || join(REPO_ROOT, '..', 'shared', 'data', 'synthea-fhir-r4');

let cache = null;

export function docIdFor(resource) {
  return `${resource.resourceType}-${resource.id}`;
}

/** All resources, in bundle-file (sorted) then entry order: [{_id, resource}] (1,000 of them). */
export function loadSyntheaResources() {
  if (!cache) {
    const files = readdirSync(SYNTHEA_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort();
    if (files.length === 0) throw new Error(`no Synthea bundles in ${SYNTHEA_DIR}`);
    cache = [];
    for (const f of files) {
      const bundle = JSON.parse(readFileSync(join(SYNTHEA_DIR, f), 'utf8'));
      for (const entry of bundle.entry || []) {
        if (entry.resource) cache.push({ _id: docIdFor(entry.resource), resource: entry.resource, file: f });
      }
    }
  }
  return cache;
}

function toDoc({ _id, resource }) {
  // structuredClone so callers may mutate (PouchDB adds _rev to docs it is given).
  return { _id, ...structuredClone(resource) };
}

/** One doc per distinct id (962), last occurrence wins, in first-occurrence order. */
export function loadSyntheaDocs() {
  const byId = new Map();
  for (const r of loadSyntheaResources()) byId.set(r._id, r);
  return [...byId.values()].map(toDoc);
}

/** [[first occurrences (962 docs)], [second occurrences], ...]; apply in order as edits. */
export function loadSyntheaEditRounds() {
  const seen = new Map();
  const rounds = [];
  for (const r of loadSyntheaResources()) {
    const k = seen.get(r._id) || 0;
    seen.set(r._id, k + 1);
    (rounds[k] ||= []).push(toDoc(r));
  }
  return rounds;
}
