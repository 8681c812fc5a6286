"""Rev-tree core (couchsync.core.revtree), table-driven.

Cases are ported from CouchDB ``src/couch/test/eunit/couch_key_tree_tests.erl`` (marked ``CDB``, with the
eunit function name) and PouchDB ``tests/unit/test.merge.js`` (marked ``PDB``, with the ``it(...)`` title),
plus our own cases (``own``) for behaviour those suites do not pin (values, deletion, expansion, stemming
at several limits, reporting). Where the two sources disagree we follow CouchDB and say so on the case.

The sources merge whole trees as well as paths; :func:`treeutil.merge_nested` folds a tree in as its
root-to-leaf paths. Their trees write ``{}``/"foo" for every value, so merge results are compared on
structure and deleted flags (:func:`treeutil.shape`); value/status rules have their own cases.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from couchsync.core import revtree as rt
from couchsync.core.revtree import RevNode

from .treeutil import chain, edges, from_couch, from_pouch, merge_nested, shape, to_pouch

CDB = "couch_key_tree_tests.erl"
PDB = "test.merge.js"

# -- fixtures, in each source's own notation --------------------------------------------------------

# couch_key_tree_tests.erl (values: "foo"/"bar" available, [] missing)
C_ONE = (1, ("1", "foo", []))
C_TWO_SIBS = [(1, ("1", "foo", [])), (1, ("2", "foo", []))]
C_THREE = (1, ("3", "foo", []))
C_THREE_SIBS = [(1, ("1", "foo", [])), (1, ("2", "foo", [])), (1, ("3", "foo", []))]
C_TWO_CHILD = (1, ("1", "foo", [("1a", "bar", [("1aa", "bar", [])])]))
C_TWO_CHILD_SIBS = (1, ("1", "foo", [("1a", "bar", []), ("1b", "bar", [])]))
C_TWO_CHILD_PLUS_SIBS = (1, ("1", "foo", [("1a", "bar", [("1aa", "bar", [])]), ("1b", "bar", [])]))
C_ONE_CHILD = (1, ("1", "foo", [("1a", "bar", [])]))
C_FOO = (1, ("foo", "val1", [("foo2", "val2", []), ("foo3", "val3", [])]))
C_BAR = (1, ("foo", [], [("foo3", [], [("foo4", "val4", [])])]))
C_FOO_BAR = (1, ("foo", "val1", [("foo2", "val2", []), ("foo3", "val3", [("foo4", "val4", [])])]))
# pos-0 trees used by the find_missing / get / stem groups
C0_TWO_CHILD_SIBS = [(0, ("1", "foo", [("1a", "bar", []), ("1b", "bar", [])]))]
C0_ONE_CHILD = [(0, ("1", "foo", [("1a", "bar", [])]))]
C0_TWO_CHILD = [(0, ("1", "foo", [("1a", "bar", [("1aa", "bar", [])])]))]
C_STEMMED1 = [(1, ("1a", "bar", [("1aa", "bar", [])]))]
C_STEMMED2 = [(2, ("1aa", "bar", []))]


def _p(pos: int, ids: list[Any]) -> dict[str, Any]:
    return {"pos": pos, "ids": ids}


# test.merge.js beforeEach fixtures
P_SIMPLE = _p(1, ["1", {}, []])
P_TWO0 = _p(1, ["1", {}, [["2_0", {}, []]]])
P_TWO1 = _p(1, ["1", {}, [["2_1", {}, []]]])
P_NEWLEAF = _p(2, ["2_0", {}, [["3", {}, []]]])
P_WITHNEWLEAF = _p(1, ["1", {}, [["2_0", {}, [["3", {}, []]]]]])
P_NEWBRANCH = _p(1, ["1", {}, [["2_0", {}, []], ["2_1", {}, []]]])
P_NEWDEEPBRANCH = _p(2, ["2_0", {}, [["3_1", {}, []]]])
P_STEMMEDEDIT = _p(3, ["3", {}, []])
P_NEWBRANCHLEAF = _p(1, ["1", {}, [["2_0", {}, [["3", {}, []]]], ["2_1", {}, []]]])
P_NEWBRANCHLEAFBRANCH = _p(1, ["1", {}, [["2_0", {}, [["3", {}, []], ["3_1", {}, []]]], ["2_1", {}, []]]])
P_STEMMED2 = [_p(1, ["1", {}, [["2_1", {}, []]]]), _p(2, ["2_0", {}, [["3", {}, []], ["3_1", {}, []]]])]
P_STEMMED3 = [_p(2, ["2_1", {}, []]), _p(3, ["3", {}, []]), _p(3, ["3_1", {}, []])]
P_PARTIALRECOVER = [
    _p(1, ["1", {}, [["2_0", {}, [["3", {}, []]]]]]),
    _p(2, ["2_1", {}, []]),
    _p(3, ["3_1", {}, []]),
]
# the kt-merging block further down test.merge.js
P_ONE = _p(1, ["1", {}, []])
P_TWO = _p(1, ["2", {}, []])
P_THREE = _p(1, ["3", {}, []])
P_TWOCHILD = _p(1, ["1", {}, [["1a", {}, [["1aa", {}, []]]]]])
P_TWOCHILDSIBS = _p(1, ["1", {}, [["1a", {}, []], ["1b", {}, []]]])
P_TWOCHILDPLUSSIBS = _p(1, ["1", {}, [["1a", {}, [["1aa", {}, []]]], ["1b", {}, []]]])
P_STEMMED1B = _p(2, ["1a", {}, []])
P_TWOCHILDPLUSSIBS2 = _p(1, ["1", {}, [["1a", {}, []], ["1b", {}, [["1bb", {}, []]]]]])
P_STEMMED1BB = _p(3, ["1bb", {}, []])
P_STEMMEDTWOCHILDSIBS2 = [_p(2, ["1a", {}, []]), _p(2, ["1b", {}, [["1bb", {}, []]]])]
P_STEMMED1AA = _p(3, ["1aa", {}, []])
P_STEMMED1A = _p(2, ["1a", {}, [["1aa", {}, []]]])
P_ONECHILD = _p(1, ["1", {}, [["1a", {}, []]]])
P_FOO = _p(1, ["foo", {}, [["foo2", {}, []], ["foo3", {}, []]]])
P_BAR = _p(1, ["foo", {}, [["foo3", {}, [["foo4", {}, []]]]]])
P_FOOBAR = _p(1, ["foo", {}, [["foo2", {}, []], ["foo3", {}, [["foo4", {}, []]]]]])


def _c(trees: Any) -> rt.RevTree:
    return from_couch(copy.deepcopy(trees)) if trees else {}


def _pt(trees: Any) -> rt.RevTree:
    return from_pouch(copy.deepcopy(trees)) if trees else {}


# -- merge ------------------------------------------------------------------------------------------
# (source, test name, tree before, incoming, revs limit, expected tree, expected result)
# fmt: off
MERGE_CASES: list[tuple[str, str, rt.RevTree, rt.RevTree, int, rt.RevTree, str]] = [
    # couch_key_tree_tests.erl, key_tree_merge_test_ (merge_and_stem with ?DEPTH = 10)
    (CDB, "should_merge_with_empty_tree", {}, _c(C_ONE), 10, _c(C_ONE), "new_leaf"),
    (CDB, "should_merge_reflexive", _c(C_ONE), _c(C_ONE), 10, _c(C_ONE), "internal_node"),
    (CDB, "should_merge_prefix_of_a_tree_with_tree", _c(C_TWO_SIBS), _c(C_ONE), 10, _c(C_TWO_SIBS), "internal_node"),
    (CDB, "should_produce_conflict_on_merge_with_unrelated_branch", _c(C_TWO_SIBS), _c(C_THREE), 10, _c(C_THREE_SIBS),
     "new_branch"),
    (CDB, "should_merge_reflexive_for_child_nodes", _c(C_TWO_CHILD), _c(C_TWO_CHILD), 10, _c(C_TWO_CHILD),
     "internal_node"),
    (CDB, "should_merge_tree_to_itself", _c(C_TWO_CHILD_SIBS), _c(C_TWO_CHILD_SIBS), 10, _c(C_TWO_CHILD_SIBS),
     "internal_node"),
    (CDB, "should_merge_tree_of_odd_length", _c(C_TWO_CHILD_SIBS), _c(C_TWO_CHILD), 10, _c(C_TWO_CHILD_PLUS_SIBS),
     "new_leaf"),
    (CDB, "should_merge_tree_with_stem", _c(C_TWO_CHILD_SIBS), _c((2, ("1a", "bar", []))), 10, _c(C_TWO_CHILD_SIBS),
     "internal_node"),
    (CDB, "should_merge_with_stem_at_deeper_level",
     _c((1, ("1", "foo", [("1a", "bar", []), ("1b", "bar", [("1bb", "boo", [])])]))), _c((3, ("1bb", "boo", []))), 10,
     _c((1, ("1", "foo", [("1a", "bar", []), ("1b", "bar", [("1bb", "boo", [])])]))), "internal_node"),
    (CDB, "should_merge_with_stem_at_deeper_level_with_deeper_paths",
     _c([(2, ("1a", "bar", [])), (2, ("1b", "bar", [("1bb", "boo", [])]))]), _c((3, ("1bb", "boo", []))), 10,
     _c([(2, ("1a", "bar", [])), (2, ("1b", "bar", [("1bb", "boo", [])]))]), "internal_node"),
    (CDB, "should_merge_single_tree_with_deeper_stem", _c(C_TWO_CHILD), _c((3, ("1aa", "bar", []))), 10,
     _c(C_TWO_CHILD), "internal_node"),
    (CDB, "should_merge_tree_with_large_stem", _c(C_TWO_CHILD), _c((2, ("1a", "bar", [("1aa", "bar", [])]))), 10,
     _c(C_TWO_CHILD), "internal_node"),
    (CDB, "should_merge_stems", _c((2, ("1a", "bar", [("1aa", "bar", [])]))), _c((3, ("1aa", "bar", []))), 10,
     _c((2, ("1a", "bar", [("1aa", "bar", [])]))), "internal_node"),
    (CDB, "should_create_conflicts_on_merge", _c(C_ONE_CHILD), _c((3, ("1aa", "bar", []))), 10,
     _c([C_ONE_CHILD, (3, ("1aa", "bar", []))]), "new_branch"),
    (CDB, "should_create_no_conflicts_on_merge", _c([C_ONE_CHILD, (3, ("1aa", "bar", []))]), _c(C_TWO_CHILD), 10,
     _c(C_TWO_CHILD), "new_leaf"),
    (CDB, "should_ignore_conflicting_branch (COUCHDB-902)", _c(C_FOO), _c(C_BAR), 10, _c(C_FOO_BAR), "new_leaf"),
    # test.merge.js (merge(tree, path, depth))
    (PDB, "Merging a path into an empty tree is the path", {}, _pt(P_SIMPLE), 10, _pt(P_SIMPLE), "new_leaf"),
    (PDB, "Remerge path into path is reflexive", _pt(P_SIMPLE), _pt(P_SIMPLE), 10, _pt(P_SIMPLE), "internal_node"),
    (PDB, "Merging a path with multiple entries is the path", {}, _pt(P_TWO0), 10, _pt(P_TWO0), "new_leaf"),
    (PDB, "Merging a path with multiple entries is reflexive", _pt(P_TWO0), _pt(P_TWO0), 10, _pt(P_TWO0),
     "internal_node"),
    (PDB, "Merging a subpath into a path results in the path", _pt(P_TWO0), _pt(P_SIMPLE), 10, _pt(P_TWO0),
     "internal_node"),
    (PDB, "Merging a new leaf gives us a new leaf", _pt(P_TWO0), _pt(P_NEWLEAF), 10, _pt(P_WITHNEWLEAF), "new_leaf"),
    (PDB, "Merging a new branch returns a proper tree", _pt(P_TWO0), _pt(P_TWO1), 10, _pt(P_NEWBRANCH), "new_branch"),
    (PDB, "Order of merging does not affect the resulting tree", _pt(P_TWO1), _pt(P_TWO0), 10, _pt(P_NEWBRANCH),
     "new_branch"),
    (PDB, "Merging a new_leaf doesnt return new_branch when branches exist", _pt(P_NEWBRANCH), _pt(P_NEWLEAF), 10,
     _pt(P_NEWBRANCHLEAF), "new_leaf"),
    (PDB, "Merging a deep branch with branches works", _pt(P_NEWBRANCHLEAF), _pt(P_NEWDEEPBRANCH), 10,
     _pt(P_NEWBRANCHLEAFBRANCH), "new_branch"),
    (PDB, "New information reconnects steming induced conflicts", _pt([P_SIMPLE, P_STEMMEDEDIT]), _pt(P_WITHNEWLEAF),
     10, _pt(P_WITHNEWLEAF), "new_leaf"),
    (PDB, "Simple stemming works", _pt(P_TWO0), _pt(P_NEWLEAF), 2, _pt(P_NEWLEAF), "new_leaf"),
    # PouchDB expects P_STEMMED2 here ({1: 1->2_1}, {2: 2_0->{3,3_1}}): its stem truncates each
    # root-to-leaf path and re-merges without expansion, so the 1->2_0 link is lost although 1 is
    # kept (for 2_1). CouchDB's stem (couch_key_tree:stem_tree) keeps a node within Limit of *some*
    # leaf together with its kept children: every node here is within 2 of a leaf -> tree unchanged.
    (PDB, "Merge with stemming works correctly for branches [CouchDB stem: tree unchanged]", _pt(P_NEWBRANCHLEAFBRANCH),
     _pt(P_SIMPLE), 2, _pt(P_NEWBRANCHLEAFBRANCH), "internal_node"),
    (PDB, "Merge with stemming to leaves works fine", _pt(P_NEWBRANCHLEAFBRANCH), _pt(P_SIMPLE), 1, _pt(P_STEMMED3),
     "internal_node"),
    (PDB, "Merging unstemmed recovers as much as possible without losing info", _pt(P_STEMMED3), _pt(P_WITHNEWLEAF), 10,
     _pt(P_PARTIALRECOVER), "internal_node"),
    (PDB, "The empty tree is the identity for merge.", {}, _pt(P_ONE), 10, _pt(P_ONE), "new_leaf"),
    (PDB, "Merging is reflexive", _pt(P_ONE), _pt(P_ONE), 10, _pt(P_ONE), "internal_node"),
    (PDB, "Merging a prefix of a tree with the tree yields the tree.", _pt([P_ONE, P_TWO]), _pt(P_ONE), 10,
     _pt([P_ONE, P_TWO]), "internal_node"),
    # PouchDB answers internal_node for a disconnected new root; CouchDB (merge_tree/3 falling through
    # every root) answers new_branch -- same case as CDB should_produce_conflict_on_merge_with_unrelated_branch.
    (PDB, "Merging a third unrelated branch leads to a conflict. [CouchDB: new_branch]", _pt([P_ONE, P_TWO]),
     _pt(P_THREE), 10, _pt([P_ONE, P_TWO, P_THREE]), "new_branch"),
    (PDB, "Merging two children is still reflexive.", _pt(P_TWOCHILD), _pt(P_TWOCHILD), 10, _pt(P_TWOCHILD),
     "internal_node"),
    (PDB, "Merging a tree to itself is itself.", _pt(P_TWOCHILDSIBS), _pt(P_TWOCHILDSIBS), 10, _pt(P_TWOCHILDSIBS),
     "internal_node"),
    (PDB, "Merging tree of uneven length at node 2.", _pt(P_TWOCHILD), _pt(P_TWOCHILDSIBS), 10, _pt(P_TWOCHILDPLUSSIBS),
     "new_branch"),
    (PDB, "Merging a tree with a stem.", _pt(P_TWOCHILDSIBS), _pt(P_STEMMED1B), 10, _pt(P_TWOCHILDSIBS),
     "internal_node"),
    (PDB, "Merging a stem at a deeper level.", _pt(P_TWOCHILDPLUSSIBS2), _pt(P_STEMMED1BB), 10,
     _pt(P_TWOCHILDPLUSSIBS2), "internal_node"),
    (PDB, "Merging a stem at a deeper level against paths at deeper levels.", _pt(P_STEMMEDTWOCHILDSIBS2),
     _pt(P_STEMMED1BB), 10, _pt(P_STEMMEDTWOCHILDSIBS2), "internal_node"),
    (PDB, "Merging a single tree with a deeper stem.", _pt(P_TWOCHILD), _pt(P_STEMMED1AA), 10, _pt(P_TWOCHILD),
     "internal_node"),
    (PDB, "Merging a larger stem.", _pt(P_TWOCHILD), _pt(P_STEMMED1A), 10, _pt(P_TWOCHILD), "internal_node"),
    (PDB, "More merging.", _pt(P_STEMMED1A), _pt(P_STEMMED1AA), 10, _pt(P_STEMMED1A), "internal_node"),
    # PouchDB: internal_node (disconnected root); CouchDB should_create_conflicts_on_merge: new_branch.
    (PDB, "Merging should create conflicts. [CouchDB: new_branch]", _pt(P_ONECHILD), _pt(P_STEMMED1AA), 10,
     _pt([P_ONECHILD, P_STEMMED1AA]), "new_branch"),
    (PDB, "Merging should have no conflicts.", _pt([P_ONECHILD, P_STEMMED1AA]), _pt(P_TWOCHILD), 10, _pt(P_TWOCHILD),
     "new_leaf"),
    (PDB, "Merging trees with conflicts ought to behave.", _pt(P_FOO), _pt(P_BAR), 10, _pt(P_FOOBAR), "new_leaf"),
    # own: a linear path crossing two disconnected roots links both (CouchDB: merge into the first
    # root, then stem's dupe_keys repair_tree re-merges the duplicated subtree into one tree)
    ("own", "path through two disconnected roots reconnects them",
     _pt([_p(1, ["a", {}, [["x", {}, []]]]), _p(2, ["b", {}, [["c", {}, []]]])]),
     _pt(_p(1, ["a", {}, [["b", {}, [["c", {}, [["d", {}, []]]]]]]])), 10,
     _pt(_p(1, ["a", {}, [["b", {}, [["c", {}, [["d", {}, []]]]]], ["x", {}, []]]])), "new_branch"),
    ("own", "path ending at an existing root reparents it (CouchDB: new_leaf)",
     _pt([_p(1, ["a", {}, []]), _p(2, ["b", {}, []])]), _pt(_p(1, ["a", {}, [["b", {}, []]]])), 10,
     _pt(_p(1, ["a", {}, [["b", {}, []]]])), "new_leaf"),
    ("own", "path from a stemmed root down to a new leaf expands above it", _pt(_p(3, ["c", {}, [["d", {}, []]]])),
     _pt(_p(1, ["a", {}, [["b", {}, [["c", {}, [["e", {}, []]]]]]]])), 10,
     _pt(_p(1, ["a", {}, [["b", {}, [["c", {}, [["d", {}, []], ["e", {}, []]]]]]]])), "new_branch"),
    ("own", "expansion then stem keeps the limit", _pt(_p(3, ["c", {}, [["d", {}, []]]])),
     _pt(_p(1, ["a", {}, [["b", {}, [["c", {}, [["d", {}, [["e", {}, []]]]]]]]]])), 3,
     _pt(_p(3, ["c", {}, [["d", {}, [["e", {}, []]]]]])), "new_leaf"),
    ("own", "deleted leaf keeps its flag through merge", _pt(P_TWO0),
     _pt(_p(2, ["2_0", {}, [["3", {"deleted": True}, []]]])), 10,
     _pt(_p(1, ["1", {}, [["2_0", {}, [["3", {"deleted": True}, []]]]]])), "new_leaf"),
]
# fmt: on


@pytest.mark.parametrize(
    ("source", "name", "before", "incoming", "limit", "expected", "result"),
    MERGE_CASES,
    ids=[f"{c[0]}:{c[1]}" for c in MERGE_CASES],
)
def test_merge(source, name, before, incoming, limit, expected, result):
    tree = copy.deepcopy(before)
    assert merge_nested(tree, incoming, limit) == result
    assert shape(to_pouch(tree)) == shape(to_pouch(expected))


def test_merge_tree_to_itself_path_by_path():
    """CDB should_merge_tree_to_itself: every leaf path of a tree merges back as internal_node."""
    tree = _c(C_TWO_CHILD_SIBS)
    for start, ids, deleted in [(2, ["1a", "1"], False), (2, ["1b", "1"], False)]:
        assert rt.merge_path(tree, start, ids, deleted) == "internal_node"
    assert edges(tree) == edges(_c(C_TWO_CHILD_SIBS))


# -- merge: values (available beats missing) and the deleted flag ----------------------------------

# fmt: off
VALUE_CASES = [
    # (name, tree before, path (start, ids, deleted), expected {rev: (available, deleted)}, result)
    ("new path: leaf available, ancestors missing", {}, (3, ["c", "b", "a"], False),
     {"3-c": (True, False), "2-b": (False, False), "1-a": (False, False)}, "new_leaf"),
    ("new deleted leaf", {}, (2, ["b", "a"], True), {"2-b": (True, True), "1-a": (False, False)}, "new_leaf"),
    ("missing node named as leaf becomes available (value_pref)",
     _pt(_p(1, ["a", {"status": "missing"}, [["b", {}, []]]])), (1, ["a"], False),
     {"1-a": (True, False), "2-b": (True, False)}, "internal_node"),
    ("missing node takes the path's deleted flag", _pt(_p(1, ["a", {"status": "missing"}, [["b", {}, []]]])),
     (1, ["a"], True), {"1-a": (True, True), "2-b": (True, False)}, "internal_node"),
    ("available node keeps its own value (existing value wins)", _pt(_p(1, ["a", {}, [["b", {"deleted": True}, []]]])),
     (2, ["b", "a"], False), {"1-a": (True, False), "2-b": (True, True)}, "internal_node"),
    ("ancestor placeholder never downgrades an available node", _pt(_p(1, ["a", {}, []])), (2, ["b", "a"], False),
     {"1-a": (True, False), "2-b": (True, False)}, "new_leaf"),
    ("expansion never downgrades an available older root", _pt([_p(1, ["a", {}, []]), _p(3, ["c", {}, []])]),
     (3, ["c", "b", "a"], False), {"1-a": (True, False), "2-b": (False, False), "3-c": (True, False)}, "new_leaf"),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "before", "path", "expected", "result"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES]
)
def test_merge_values(name, before, path, expected, result):
    tree = copy.deepcopy(before)
    assert rt.merge_path(tree, *path) == result
    assert {rev: (n.available, n.deleted) for rev, n in tree.items()} == expected


def test_expansion_links_the_old_root():
    """own: a path reaching above a stemmed tree's root adds the older revs above it (couch_key_tree
    merge_at/3, ``Pos > 0`` clause), and the old root gets the path's parent."""
    tree = chain(4, "d", "c")
    assert rt.merge_path(tree, 4, ["d", "c", "b", "a"], False) == "internal_node"
    assert edges(tree) == {"1-a": None, "2-b": "1-a", "3-c": "2-b", "4-d": "3-c"}
    assert rt.revisions(tree, "4-d") == {"start": 4, "ids": ["d", "c", "b", "a"]}
    assert [n.available for n in rt.ancestry(tree, "4-d")] == [True, True, False, False]


def test_merge_without_expand_keeps_the_root():
    tree = chain(4, "d", "c")
    assert rt.merge_path(tree, 5, ["e", "d", "c", "b"], False, expand=False) == "new_leaf"
    assert edges(tree) == {"3-c": None, "4-d": "3-c", "5-e": "4-d"}


# -- stem ------------------------------------------------------------------------------------------

# fmt: off
STEM_CASES = [
    # (source, name, tree, limit, expected tree, expected dropped revs)
    (CDB, "should_have_no_effect_for_stemming_more_levels_than_exists", _c(C0_TWO_CHILD), 3, _c(C0_TWO_CHILD), []),
    (CDB, "should_return_one_deepest_node", _c(C0_TWO_CHILD), 1, _c([(2, ("1aa", "bar", []))]), ["0-1", "1-1a"]),
    (CDB, "should_return_two_deepest_nodes", _c(C0_TWO_CHILD), 2, _c([(1, ("1a", "bar", [("1aa", "bar", [])]))]),
     ["0-1"]),
    (PDB, "Simple stemming works (stem part)", _pt(P_WITHNEWLEAF), 2, _pt(P_NEWLEAF), ["1-1"]),
    (PDB, "Merge with stemming to leaves works fine (stem part)", _pt(P_NEWBRANCHLEAFBRANCH), 1, _pt(P_STEMMED3),
     ["1-1", "2-2_0"]),
    # the divergence: PouchDB gives P_STEMMED2 (link 1->2_0 cut); CouchDB keeps every node within
    # 2 of some leaf *with* its links
    (PDB, "Merge with stemming works correctly for branches (stem part) [CouchDB: unchanged]",
     _pt(P_NEWBRANCHLEAFBRANCH), 2, _pt(P_NEWBRANCHLEAFBRANCH), []),
    ("own", "branch point dropped: its children become roots",
     _pt(_p(1, ["a", {}, [["b", {}, [["c", {}, [["d", {}, []]]], ["e", {}, [["f", {}, []]]]]]]])), 2,
     _pt([_p(3, ["c", {}, [["d", {}, []]]]), _p(3, ["e", {}, [["f", {}, []]]])]), ["1-a", "2-b"]),
    ("own", "a short branch keeps the branch point, the long one is cut below it",
     _pt(_p(1, ["a", {}, [["b", {}, [["c", {}, [["d", {}, [["e", {}, []]]]]], ["x", {}, []]]]]])), 2,
     _pt([_p(2, ["b", {}, [["x", {}, []]]]), _p(4, ["d", {}, [["e", {}, []]]])]), ["1-a", "3-c"]),
    ("own", "limit 1 keeps only leaves (deleted ones too)",
     _pt(_p(1, ["a", {}, [["b", {"deleted": True}, []], ["c", {}, [["d", {}, []]]]]])), 1,
     _pt([_p(2, ["b", {"deleted": True}, []]), _p(3, ["d", {}, []])]), ["1-a", "2-c"]),
    ("own", "several roots are stemmed independently",
     _pt([_p(1, ["a", {}, [["b", {}, [["c", {}, []]]]]]), _p(5, ["m", {}, [["n", {}, []]]])]), 2,
     _pt([_p(2, ["b", {}, [["c", {}, []]]]), _p(5, ["m", {}, [["n", {}, []]]])]), ["1-a"]),
    ("own", "1000-deep linear history at the default limit", chain(1001, *[f"r{i}" for i in range(1001, 0, -1)]), 1000,
     chain(1001, *[f"r{i}" for i in range(1001, 1, -1)]), ["1-r1"]),
]
# fmt: on


@pytest.mark.parametrize(
    ("source", "name", "before", "limit", "expected", "dropped"),
    STEM_CASES,
    ids=[f"{c[0]}:{c[1]}" for c in STEM_CASES],
)
def test_stem(source, name, before, limit, expected, dropped):
    tree = copy.deepcopy(before)
    assert sorted(rt.stem(tree, limit)) == sorted(dropped)
    assert edges(tree) == edges(expected)


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 6, 7, 100])
def test_stem_keeps_last_limit_revs_of_every_leaf_path(limit):
    """own: the kept node set is exactly the union of the last ``limit`` revs of every leaf's path."""
    # fmt: off
    tree = _pt(_p(1, ["a", {}, [
        ["b", {}, [["c", {}, [["d", {}, [["e", {}, [["f", {}, []]]]]]]], ["x", {}, [["y", {}, []]]]]],
        ["z", {"deleted": True}, []],
    ]]))
    # fmt: on
    paths = [rt.ancestry(tree, leaf.rev) for leaf in rt.leaves(tree)]
    keep = {n.rev for path in paths for n in path[:limit]}
    before = copy.deepcopy(tree)
    rt.stem(tree, limit)
    assert set(tree) == keep
    for rev, node in tree.items():
        assert node.parent == (before[rev].parent if before[rev].parent in keep else None)


# -- winner, leaves, conflicts ---------------------------------------------------------------------

# fmt: off
WINNER_CASES = [
    # (source, name, tree, winner, conflicts, deleted_conflicts)
    (PDB, "winningRev returns the longest leaf",
     _pt([_p(1, ["bfe70372c90ded1087239e5191984f76", {}, [["44d71a718b90e4696c06a90e08912c8f", {}, []], ["56e657612d55ab1a402dcb281c874f2a", {}, [["93c3db16462f656f7172ccabd3cf6cd6", {}, []]]]]])]),
     "3-93c3db16462f656f7172ccabd3cf6cd6", ["2-44d71a718b90e4696c06a90e08912c8f"], []),
    (PDB, "winningRev returns the longest leaf again (issue #293)",
     _pt([_p(1, ["203db1a1810a838895d561f67b224b5d", {}, [["bf5e08a4f9fa6d33a53f4a00ae3ea399", {}, [["28cd77a3ca30f79e1cfffcd6a41ca308", {}, []]]]]]), _p(1, ["c6d5cce35bcfbef90b20f140d723cbdb", {}, [["1b8dfbb1267e213328920bae43f2f597", {}, []], ["59ed830b84b276ab776c3c51aaf93a16", {}, [["64a9842c6aea50bf24660378e496e853", {}, []]]]]])]),
     "3-64a9842c6aea50bf24660378e496e853", ["3-28cd77a3ca30f79e1cfffcd6a41ca308", "2-1b8dfbb1267e213328920bae43f2f597"],
     []),
    ("own", "non-deleted beats a longer deleted branch (§7 item 7)",
     _pt(_p(1, ["a", {}, [["x", {}, [["y", {"deleted": True}, []]]], ["b", {}, []]]])), "2-b", [], ["3-y"]),
    ("own", "higher pos wins among live leaves", _pt(_p(1, ["a", {}, [["z", {}, []], ["b", {}, [["c", {}, []]]]]])),
     "3-c", ["2-z"], []),
    ("own", "same pos: greater revid wins", _pt(_p(1, ["a", {}, [["0f", {}, []], ["f0", {}, []], ["a1", {}, []]]])),
     "2-f0", ["2-a1", "2-0f"], []),
    ("own", "all leaves deleted: deleted winner by pos then revid",
     _pt(_p(1, ["a", {}, [["b", {"deleted": True}, []], ["c", {}, [["d", {"deleted": True}, []]]]]])), "3-d", [],
     ["2-b"]),
    ("own", "conflicts and deleted conflicts together",
     _pt(_p(1, ["a", {}, [["b", {}, []], ["c", {}, []], ["d", {"deleted": True}, [["e", {"deleted": True}, []]]], ["f", {}, [["g", {}, []]]]]])),
     "3-g", ["2-c", "2-b"], ["3-e"]),
    ("own", "disconnected roots compete like any leaves",
     _pt([_p(1, ["a", {}, []]), _p(4, ["d", {"deleted": True}, []]), _p(2, ["b", {}, []])]), "2-b", ["1-a"], ["4-d"]),
    ("own", "a missing (compacted) leaf still counts", _pt(_p(1, ["a", {}, [["b", {"status": "missing"}, []]]])), "2-b",
     [], []),
]
# fmt: on


@pytest.mark.parametrize(
    ("source", "name", "tree", "winner", "conflicts", "deleted_conflicts"),
    WINNER_CASES,
    ids=[f"{c[0]}:{c[1]}" for c in WINNER_CASES],
)
def test_winner_and_conflicts(source, name, tree, winner, conflicts, deleted_conflicts):
    assert rt.winning_rev(tree).rev == winner
    assert rt.conflicts(tree) == conflicts
    assert rt.deleted_conflicts(tree) == deleted_conflicts
    assert rt.is_deleted(tree) == tree[winner].deleted
    lv = rt.leaves(tree)
    assert lv[0].rev == winner
    assert {n.rev for n in lv} == {winner, *conflicts, *deleted_conflicts}


def test_winning_rev_of_empty_tree_raises():
    with pytest.raises(ValueError):
        rt.winning_rev({})


# fmt: off
LEAF_CASES = [
    # (source, name, tree, leaves as (pos, [revid newest..oldest]) like get_all_leafs)
    (CDB, "should_retrieve_all_leaves (stemmed)", _c(C_STEMMED1), [(2, ["1aa", "1a"])]),
    (CDB, "should_retrieve_all_leaves (two child sibs)", _c(C0_TWO_CHILD_SIBS), [(1, ["1a", "1"]), (1, ["1b", "1"])]),
    (CDB, "should_have_no_leaves_for_empty_tree", {}, []),
    (CDB, "should_have_single_leaf_for_tree_with_single_node", _c([(0, ("1", "foo", []))]), [(0, ["1"])]),
    (CDB, "should_have_two_leaves_for_tree_with_chindler_siblings", _c(C0_TWO_CHILD_SIBS),
     [(1, ["1a", "1"]), (1, ["1b", "1"])]),
    (CDB, "should_not_affect_on_leaf_counting_for_stemmed_tree", _c([(2, ("1bb", "boo", []))]), [(2, ["1bb"])]),
]
# fmt: on


@pytest.mark.parametrize(
    ("source", "name", "tree", "expected"), LEAF_CASES, ids=[f"{c[0]}:{c[1]}" for c in LEAF_CASES]
)
def test_leaves_and_full_paths(source, name, tree, expected):
    got = sorted((n.pos, rt.revisions(tree, n.rev)["ids"]) for n in rt.leaves(tree))
    assert got == sorted(expected)
    assert all(rt.is_leaf(tree, n.rev) for n in rt.leaves(tree))


def test_leaves_order_is_winner_order():
    tree = _pt(
        _p(
            1,
            [
                "a",
                {},
                [["b", {"deleted": True}, [["c", {"deleted": True}, []]]], ["d", {}, []], ["e", {}, []]],
            ],
        )
    )
    assert [n.rev for n in rt.leaves(tree)] == ["2-e", "2-d", "3-c"]


# -- get / full key paths / _revisions / _revs_info ---------------------------------------------------

# fmt: off
PATH_CASES = [
    # (source, name, tree, rev, _revisions)
    (CDB, "should_extract_subtree", _c(C0_TWO_CHILD_SIBS), "0-1", {"start": 0, "ids": ["1"]}),
    (CDB, "should_extract_subsubtree", _c(C0_TWO_CHILD_SIBS), "1-1a", {"start": 1, "ids": ["1a", "1"]}),
    (CDB, "should_retrieve_full_key_path", _c(C0_TWO_CHILD_SIBS), "0-1", {"start": 0, "ids": ["1"]}),
    (CDB, "should_retrieve_full_key_path_for_node", _c(C0_TWO_CHILD_SIBS), "1-1a", {"start": 1, "ids": ["1a", "1"]}),
    (CDB, "should_retrieve_leaves_with_parent_node", _c(C_STEMMED1), "2-1aa", {"start": 2, "ids": ["1aa", "1a"]}),
    ("own", "stemmed history stops at the root", chain(7, "g", "f", "e"), "7-g", {"start": 7, "ids": ["g", "f", "e"]}),
]
# fmt: on


@pytest.mark.parametrize(
    ("source", "name", "tree", "rev", "expected"), PATH_CASES, ids=[f"{c[0]}:{c[1]}" for c in PATH_CASES]
)
def test_revisions(source, name, tree, rev, expected):
    assert rt.revisions(tree, rev) == expected
    assert [n.rev for n in rt.ancestry(tree, rev)] == [
        f"{expected['start'] - k}-{i}" for k, i in enumerate(expected["ids"])
    ]


def test_ancestry_of_unknown_rev_is_empty():
    assert rt.ancestry(_c(C0_TWO_CHILD_SIBS), "5-zz") == []


def test_revs_info_statuses():
    """own (§2.7): available / deleted / missing, newest first, along the rev's own path only."""
    tree = _pt(
        _p(
            1,
            [
                "a",
                {"status": "missing"},
                [
                    ["b", {"deleted": True}, [["c", {}, []]]],
                    ["x", {}, []],
                ],
            ],
        )
    )
    assert rt.revs_info(tree, "3-c") == [
        {"rev": "3-c", "status": "available"},
        {"rev": "2-b", "status": "deleted"},
        {"rev": "1-a", "status": "missing"},
    ]
    assert rt.revs_info(tree, "2-x") == [
        {"rev": "2-x", "status": "available"},
        {"rev": "1-a", "status": "missing"},
    ]
    # a missing deleted node reports missing (no body to call deleted)
    tree["2-b"].available = False
    assert rt.revs_info(tree, "2-b") == [
        {"rev": "2-b", "status": "missing"},
        {"rev": "1-a", "status": "missing"},
    ]


# -- latest (get_key_leafs) ----------------------------------------------------------------------------

# fmt: off
LATEST_CASES = [
    # (source, name, tree, revs asked, leaves expected (union over the revs))
    (CDB, "should_gather_non_existant_leaf", _c(C0_TWO_CHILD_SIBS), ["0-x"], []),
    (CDB, "should_gather_leaf", _c(C0_TWO_CHILD_SIBS), ["1-1a"], ["1-1a"]),
    (CDB, "shoul_gather_multiple_leaves", _c(C0_TWO_CHILD_SIBS), ["0-1"], ["1-1a", "1-1b"]),
    (CDB, "should_gather_single_leaf_for_multiple_revs", _c(C0_ONE_CHILD), ["0-1", "1-1a"], ["1-1a"]),
    (CDB, "should_gather_multiple_for_multiple_revs", _c(C0_TWO_CHILD_SIBS), ["0-1", "1-1a"], ["1-1a", "1-1b"]),
    ("own", "internal node of a deep branch", _pt(P_NEWBRANCHLEAFBRANCH), ["2-2_0"], ["3-3", "3-3_1"]),
    ("own", "deleted leaves are leaves too", _pt(_p(1, ["a", {}, [["b", {"deleted": True}, []], ["c", {}, []]]])),
     ["1-a"], ["2-b", "2-c"]),
]
# fmt: on


@pytest.mark.parametrize(
    ("source", "name", "tree", "revs", "expected"), LATEST_CASES, ids=[f"{c[0]}:{c[1]}" for c in LATEST_CASES]
)
def test_latest(source, name, tree, revs, expected):
    got = {leaf for rev in revs for leaf in rt.latest(tree, rev)}
    assert got == set(expected)


def test_latest_is_in_winner_order():
    tree = _pt(
        _p(
            1,
            [
                "a",
                {},
                [["b", {"deleted": True}, [["bb", {"deleted": True}, []]]], ["c", {}, []], ["d", {}, []]],
            ],
        )
    )
    assert rt.latest(tree, "1-a") == ["2-d", "2-c", "3-bb"]
    assert rt.latest(tree, "2-c") == ["2-c"]


# -- find_missing / possible_ancestors -----------------------------------------------------------------

# fmt: off
FIND_MISSING_CASES = [
    # (source, name, tree, revs asked, missing)
    (CDB, "should_not_find_missing_leaves", _c(C0_TWO_CHILD_SIBS), ["0-1", "1-1a"], []),
    (CDB, "should_find_missing_leaves (two child sibs)", _c(C0_TWO_CHILD_SIBS), ["0-1", "0-10", "1-1a", "100-x"],
     ["0-10", "100-x"]),
    (CDB, "should_find_missing_leaves (stemmed1)", _c(C_STEMMED1), ["0-1", "1-1a", "100-x"], ["0-1", "100-x"]),
    (CDB, "should_find_missing_leaves (stemmed2)", _c(C_STEMMED2), ["0-1", "1-1a", "100-x"], ["0-1", "1-1a", "100-x"]),
    ("own", "internal node is present (§7 item 4)", _pt(P_WITHNEWLEAF), ["1-1", "2-2_0"], []),
    ("own", "a missing (placeholder) node is present", _pt(_p(1, ["a", {"status": "missing"}, [["b", {}, []]]])),
     ["1-a"], []),
    ("own", "stemmed rev is missing (§7 item 32)", chain(5, "e", "d", "c"), ["1-a", "2-b", "3-c"], ["1-a", "2-b"]),
    ("own", "same revid at another pos is missing", chain(2, "b", "a"), ["1-b", "2-a"], ["1-b", "2-a"]),
]
# fmt: on


@pytest.mark.parametrize(
    ("source", "name", "tree", "revs", "expected"),
    FIND_MISSING_CASES,
    ids=[f"{c[0]}:{c[1]}" for c in FIND_MISSING_CASES],
)
def test_find_missing(source, name, tree, revs, expected):
    assert rt.find_missing(tree, revs) == expected


@pytest.mark.parametrize("seed", [1647, 841737])
def test_find_missing_large(seed):
    """CDB should_not_find_missing_leaves_large_test / should_find_missing_leaves_large_test (with a
    generator of our own in place of test_util:revtree_generate): every rev of a 1000-node tree is
    present, in any order; random revs are all missing."""
    import random

    rnd = random.Random(seed)
    tree: rt.RevTree = {}
    revs: list[str] = []
    for i in range(1000):
        parent = rnd.choice(revs) if revs and rnd.random() > 0.2 else None
        pos = tree[parent].pos + 1 if parent else rnd.randint(1, 5)
        node = RevNode(pos, f"{rnd.getrandbits(128):032x}{i}", parent)
        tree[node.rev] = node
        revs.append(node.rev)
    rnd.shuffle(revs)
    assert rt.find_missing(tree, revs) == []
    asked = [f"{rnd.randint(1, 1000)}-{rnd.getrandbits(128):032x}" for _ in range(1000)]
    assert sorted(rt.find_missing(tree, asked)) == sorted(asked)


# fmt: off
POSSIBLE_ANCESTOR_CASES = [
    # (name, tree, missing revs, possible ancestors (set))
    ("leaves below the highest missing pos", _pt(_p(1, ["a", {}, [["b", {}, []], ["c", {}, [["d", {}, []]]]]])),
     ["3-x"], {"2-b"}),
    ("any missing rev counts (lists:any)", _pt(_p(1, ["a", {}, [["b", {}, []], ["c", {}, [["d", {}, []]]]]])),
     ["1-y", "4-x"], {"2-b", "3-d"}),
    ("deleted leaves are candidates", _pt(_p(1, ["a", {}, [["b", {"deleted": True}, []]]])), ["3-x"], {"2-b"}),
    ("internal nodes never are", chain(3, "c", "b", "a"), ["5-x"], {"3-c"}),
    ("nothing below", chain(3, "c", "b", "a"), ["2-x"], set()),
    ("no missing revs", chain(3, "c", "b", "a"), [], set()),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "tree", "missing", "expected"),
    POSSIBLE_ANCESTOR_CASES,
    ids=[c[0] for c in POSSIBLE_ANCESTOR_CASES],
)
def test_possible_ancestors(name, tree, missing, expected):
    """own, after CouchDB couch_db:find_missing (a leaf whose pos is below any missing rev's pos)."""
    assert set(rt.possible_ancestors(tree, missing)) == expected


# -- serialisation / helpers ---------------------------------------------------------------------------


def test_json_round_trip():
    tree = _pt(
        [
            _p(1, ["a", {"status": "missing"}, [["b", {"deleted": True}, []], ["c", {}, []]]]),
            _p(4, ["d", {}, []]),
        ]
    )
    data = rt.to_json(tree)
    assert data == [["1-a", None, 0, 0], ["2-b", "1-a", 1, 1], ["2-c", "1-a", 0, 1], ["4-d", None, 0, 1]]
    assert rt.from_json(data) == tree


def test_treeutil_round_trip():
    nested = [
        _p(1, ["a", {"status": "missing"}, [["b", {"deleted": True}, []], ["c", {}, []]]]),
        _p(4, ["d", {}, []]),
    ]
    assert to_pouch(from_pouch(nested)) == nested
    with pytest.raises(ValueError):
        from_pouch([_p(1, ["a", {}, []]), _p(1, ["a", {}, []])])
