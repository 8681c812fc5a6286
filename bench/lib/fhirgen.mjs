// Seeded generator of ~1 KB FHIR-shaped CouchDB documents, built from the Synthea R4 sample
// bundles (entry[].resource). Each generated doc is a clone of a real resource whose JSON is
// 600..1,500 bytes (Encounter, Observation, Condition, Organization, Claim, ...), with:
//   - a fresh id (seeded UUID) and _id = `${resourceType}-${id}`,
//   - every urn:uuid:<x> reference re-mapped to a seeded UUID (shared within a synthetic
//     "patient" group of 50 docs, so references still point at each other consistently),
//   - every ISO date / dateTime string shifted by a per-group whole number of days (times and
//     zone offsets kept, so period.start <= period.end still holds),
//   - numeric valueQuantity.value jittered by ±10 %.
// Same seed + count + source files => byte-identical documents.
//
//   import { generateDocs } from '../lib/fhirgen.mjs';
//   const { docs, meanBytes } = generateDocs(10_000, { seed: 42 });
//
// Source directory: $SYNTHEA_DIR or <repo>/../shared/data/synthea-fhir-r4.

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SYNTHEA_DIR = process.env.SYNTHEA_DIR || join(REPO_ROOT, '..', 'shared', 'data', 'synthea-fhir-r4');

const MIN_BYTES = 600;
const MAX_BYTES = 1500;
const GROUP = 50; // docs per synthetic patient (shared reference map and date shift)

/** mulberry32: small, fast, good-enough seeded PRNG returning floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uuid(rand) {
  const hex = [];
  for (let i = 0; i < 32; i++) hex.push(Math.floor(rand() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

export function loadTemplates(dir = SYNTHEA_DIR) {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (!files.length) throw new Error(`no Synthea bundles in ${dir}`);
  const out = [];
  for (const f of files) {
    const bundle = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    for (const e of bundle.entry || []) {
      const r = e.resource;
      if (!r || !r.resourceType || !r.id) continue;
      const n = JSON.stringify(r).length;
      if (n >= MIN_BYTES && n <= MAX_BYTES) out.push(r);
    }
  }
  if (!out.length) throw new Error(`no resources of ${MIN_BYTES}..${MAX_BYTES} bytes in ${dir}`);
  return out;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(T.*)?$/;
const REF_RE = /^urn:uuid:([0-9a-f-]{36})$/;

function shiftDate(s, days) {
  const m = DATE_RE.exec(s);
  if (!m) return s;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]) + days * 86_400_000);
  if (Number.isNaN(d.getTime())) return s;
  return d.toISOString().slice(0, 10) + (m[4] || '');
}

function transform(value, ctx, key) {
  if (typeof value === 'string') {
    const ref = REF_RE.exec(value);
    if (ref) {
      let mapped = ctx.refs.get(ref[1]);
      if (!mapped) ctx.refs.set(ref[1], (mapped = uuid(ctx.rand)));
      return `urn:uuid:${mapped}`;
    }
    return DATE_RE.test(value) ? shiftDate(value, ctx.days) : value;
  }
  if (typeof value === 'number') {
    return key === 'value' && !Number.isInteger(value) ? Math.round(value * (0.9 + ctx.rand() * 0.2) * 1000) / 1000 : value;
  }
  if (Array.isArray(value)) return value.map((v) => transform(v, ctx, key));
  if (value && typeof value === 'object') {
    const o = {};
    for (const k of Object.keys(value)) o[k] = transform(value[k], ctx, k);
    return o;
  }
  return value;
}

/** `count` docs ({_id, resourceType, id, ...}), plus their mean JSON size in bytes. */
export function generateDocs(count, { seed = 42, dir = SYNTHEA_DIR } = {}) {
  const templates = loadTemplates(dir);
  const rand = prng(seed);
  const docs = [];
  let ctx = null;
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    if (i % GROUP === 0) ctx = { rand, refs: new Map(), days: Math.floor(rand() * 7300) - 3650 };
    const t = templates[Math.floor(rand() * templates.length)];
    const body = transform(t, ctx, '');
    body.id = uuid(rand);
    const doc = { _id: `${body.resourceType}-${body.id}`, ...body };
    bytes += JSON.stringify(doc).length;
    docs.push(doc);
  }
  return { docs, meanBytes: count ? bytes / count : 0, templates: templates.length };
}
