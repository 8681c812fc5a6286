// Oracle for tests/core/test_revtree_differential.py: runs pouchdb-merge on requests read from stdin.
//
// One JSON request per stdin line, one JSON answer per stdout line (the process stays up for the
// whole test module). pouchdb-merge resolves from the repo's node_modules (package.json pins 9.0.0).
//
// Request: {"steps": [{"tree": <rev_tree>, "path": <rev_tree root>, "depth": N, "revs": [rev...]}],
//           "sequence": {"paths": [<root>...], "depth": N}}
// Answer:  {"steps": [{"merged": {tree, conflicts}, "stemmed": {tree, conflicts, stemmedRevs},
//                      "winner", "conflicts", "leaves", "isDeleted", "exists": {rev: bool},
//                      "latest": {rev: leafRev}, "rootToLeaf"}],
//           "sequence": {"tree", "results", "duplicated", "winner", "conflicts", "leaves"}}
// A line {"ping": true} answers {"version": <pouchdb-merge version>}.

import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
const pm = require('pouchdb-merge');
const version = require('pouchdb-merge/package.json').version;

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
    if (exists[rev]) {
      try {
        latest[rev] = pm.latest(rev, metadata);
      } catch (err) {
        latest[rev] = 'error: ' + err.message;
      }
    }
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

function hasDuplicates(tree) {
  const seen = new Set();
  let dup = false;
  pm.traverseRevTree(tree, (isLeaf, pos, id) => {
    const rev = pos + '-' + id;
    if (seen.has(rev)) dup = true;
    seen.add(rev);
  });
  return dup;
}

function sequence({ paths, depth }) {
  let tree = [];
  const results = [];
  let duplicated = false; // did any intermediate tree hold a rev under two roots?
  for (const p of paths) {
    const r = pm.merge(tree, clone(p), depth);
    tree = r.tree;
    results.push(r.conflicts);
    duplicated = duplicated || hasDuplicates(tree);
  }
  const metadata = { id: 'doc', rev_tree: tree };
  return {
    tree,
    results,
    duplicated,
    winner: tree.length ? pm.winningRev(metadata) : null,
    conflicts: tree.length ? pm.collectConflicts(metadata) : [],
    leaves: pm.collectLeaves(tree).map((l) => ({ rev: l.rev, deleted: !!l.opts.deleted })),
  };
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
