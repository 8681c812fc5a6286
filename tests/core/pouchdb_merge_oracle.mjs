// Oracle for tests/core/test_revtree_differential.py: runs pouchdb-merge on requests read from stdin.
//
// One JSON request per stdin line, one JSON answer per stdout line (the process stays up for the
// whole test module). pouchdb-merge resolves from the repo's node_modules; POUCHDB_MERGE_DIR may point
// at another copy of the package (development only).
//
// Request: {"steps": [{"tree": <rev_tree>, "path": <rev_tree root>, "depth": N, "revs": [rev...]}],
//           "sequence": {"paths": [<root>...], "depth": N}}
// Answer:  {"steps": [{"merged": {tree, conflicts}, "stemmed": {tree, conflicts, stemmedRevs},
//                      "winner", "conflicts", "leaves", "isDeleted", "exists": {rev: bool},
//                      "latest": {rev: leafRev}, "rootToLeaf"}],
//           "sequence": {"tree", "results"}}
// A line {"ping": true} answers {"version": <pouchdb-merge version>}.

import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import path from 'node:path';

const require = createRequire(import.meta.url);
const dir = process.env.POUCHDB_MERGE_DIR;
const pm = require(dir ? path.resolve(dir) : 'pouchdb-merge');
const version = require(dir ? path.join(path.resolve(dir), 'package.json') : 'pouchdb-merge/package.json').version;

const clone = (x) => JSON.parse(JSON.stringify(x));
const BIG = 1 << 30; // a depth that never truncates: merge() then only re-merges its paths

function step({ tree, path: p, depth, revs }) {
  const merged = pm.merge(clone(tree), clone(p), BIG);
  const stemmed = pm.merge(clone(tree), clone(p), depth);
  const metadata = { id: 'doc', rev_tree: stemmed.tree };
  const winner = pm.winningRev(metadata);
  const exists = {};
  for (const rev of revs) exists[rev] = pm.revExists(stemmed.tree, rev);
  const latest = {};
  for (const rev of revs) {
    if (exists[rev]) latest[rev] = pm.latest(rev, metadata);
  }
  return {
    merged: { tree: merged.tree, conflicts: merged.conflicts },
    stemmed: { tree: stemmed.tree, conflicts: stemmed.conflicts, stemmedRevs: stemmed.stemmedRevs },
    winner,
    conflicts: pm.collectConflicts(metadata),
    leaves: pm.collectLeaves(stemmed.tree).map((l) => ({ rev: l.rev, deleted: !!l.opts.deleted })),
    isDeleted: !!pm.isDeleted(metadata),
    exists,
    latest,
    rootToLeaf: pm.rootToLeaf(stemmed.tree).map((r) => ({ pos: r.pos, ids: r.ids.map((n) => n.id) })),
  };
}

function sequence({ paths, depth }) {
  let tree = [];
  const results = [];
  for (const p of paths) {
    const r = pm.merge(tree, clone(p), depth);
    tree = r.tree;
    results.push(r.conflicts);
  }
  return { tree, results };
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  let answer;
  try {
    const req = JSON.parse(line);
    if (req.ping) {
      answer = { version };
    } else {
      answer = {
        steps: (req.steps || []).map(step),
        sequence: req.sequence ? sequence(req.sequence) : null,
      };
    }
  } catch (err) {
    answer = { error: String(err && err.stack ? err.stack : err) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
