// PouchDB side of the design-document parity tests (tests/ddoc/test_parity.py).
// Usage: node tests/ddoc/pouchdb_parity.mjs INPUT.json > OUTPUT.json
// INPUT: {"ddoc": compiled design doc, "docs": [...], "cases": {...}, "filters": [[name, query], ...]}
// OUTPUT: {"engine": harness.js results under V8, "views": {view: {"rows": [[id, key, value]],
//          "groups": [[key, value]] | null}}, "changes": {"name|query": [ids]}, "view_filter": {view: [ids]},
//          "vdu_enforced": bool}
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import vm from "node:vm";
import PouchDB from "pouchdb";
import memory from "pouchdb-adapter-memory";

PouchDB.plugin(memory);
const here = path.dirname(fileURLToPath(import.meta.url));
const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { ddoc, docs, cases } = input;

// 1. The same harness as QuickJS, in a fresh V8 context.
const sandbox = {};
vm.createContext(sandbox);
vm.runInContext(readFileSync(path.join(here, "harness.js"), "utf8"), sandbox);
sandbox.__input = JSON.stringify({ ddoc, docs, cases });
const engine = JSON.parse(vm.runInContext(
  "var __i = JSON.parse(__input); JSON.stringify(runAll(__i.ddoc, __i.docs, __i.cases))", sandbox));

// 2. PouchDB itself: views through db.query, filters through db.changes.
const db = new PouchDB("parity-" + process.pid, { adapter: "memory" });
const put = await db.bulkDocs(docs);
const failed = put.filter((r) => r.error);
if (failed.length) throw new Error("bulkDocs failed: " + JSON.stringify(failed.slice(0, 3)));
await db.put(ddoc);
const name = ddoc._id.slice("_design/".length);

const views = {};
for (const v of Object.keys(ddoc.views)) {
  const hasReduce = Boolean(ddoc.views[v].reduce);
  const res = await db.query(`${name}/${v}`, hasReduce ? { reduce: false } : {});
  const out = { rows: res.rows.map((r) => [r.id, r.key, r.value]), groups: null };
  if (hasReduce) {
    const g = await db.query(`${name}/${v}`, { reduce: true, group: true });
    out.groups = g.rows.map((r) => [r.key, r.value]);
    const all = await db.query(`${name}/${v}`, { reduce: true });
    out.total = all.rows.length ? all.rows[0].value : null;
  }
  views[v] = out;
}

const changes = {};
for (const [filter, query] of input.filters) {
  const res = await db.changes({ since: 0, filter: `${name}/${filter}`, query_params: query });
  changes[`${filter}|${JSON.stringify(query)}`] = res.results.map((r) => r.id).sort();
}
const viewFilter = {};
for (const v of Object.keys(ddoc.views)) {
  const res = await db.changes({ since: 0, filter: "_view", view: `${name}/${v}` });
  viewFilter[v] = res.results.map((r) => r.id).sort();
}

// 3. Does this PouchDB enforce validate_doc_update by itself? (Core PouchDB does not: that is the
//    pouchdb-validation plugin.) Reported, not asserted.
let vduEnforced = false;
try {
  await db.put({ _id: "X:no-resource-type" });
} catch (e) {
  vduEnforced = e.status === 403;
}

process.stdout.write(JSON.stringify({ engine, views, changes, view_filter: viewFilter, vdu_enforced: vduEnforced }));
