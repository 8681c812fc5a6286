"""Interactive edit rules (couchsync.core.edits), protocol reference §2.4 and §7 item 8.

Sources: CouchDB ``couch_db:prep_and_validate_update`` / ``couch_db_updater:merge_rev_tree`` (recreate
from the deleted winner; ``_rev`` must name a leaf), PouchDB ``pouchdb-adapter-utils/updateDoc.js``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from couchsync.core import revtree as rt
from couchsync.core.edits import add_child, interactive_parent
from couchsync.errors import Conflict

from .treeutil import from_pouch


def _p(pos: int, ids: list[Any]) -> dict[str, Any]:
    return {"pos": pos, "ids": ids}


LIVE = from_pouch(_p(1, ["a", {}, [["b", {}, []]]]))  # 1-a -> 2-b
# §7 item 8: deleted at 2-b, tombstone 3-d
DELETED = from_pouch(_p(1, ["a", {}, [["b", {}, [["d", {"deleted": True}, []]]]]]))
# a live leaf 2-c and a deleted conflict branch ending in 3-x
LIVE_WITH_DELETED_CONFLICT = from_pouch(
    _p(1, ["a", {}, [["b", {}, [["x", {"deleted": True}, []]]], ["c", {}, []]]])
)
# two live conflicting leaves 2-b, 2-c
CONFLICTED = from_pouch(_p(1, ["a", {}, [["b", {}, []], ["c", {}, []]]]))
# every leaf deleted; the deleted winner is 4-z (highest pos), 2-y is a deleted conflict
ALL_DELETED = from_pouch(
    _p(1, ["a", {}, [["y", {"deleted": True}, []], ["b", {}, [["c", {}, [["z", {"deleted": True}, []]]]]]]])
)

ACCEPT_CASES = [
    # (name, tree, _rev, new rev deleted, expected parent rev (None = new root))
    ("new doc, no _rev: new root 1-x", None, None, False, None),
    ("new doc in an empty tree", {}, None, False, None),
    ("new doc created already deleted", None, None, True, None),
    ("update the winning leaf", LIVE, "2-b", False, "2-b"),
    ("delete the winning leaf", LIVE, "2-b", True, "2-b"),
    ("recreate after delete: child of the tombstone (§7 item 8)", DELETED, None, False, "3-d"),
    ("recreate chains to the deleted *winner* among several tombstones", ALL_DELETED, None, False, "4-z"),
    ("extend a conflicting (losing) live leaf", CONFLICTED, "2-b", False, "2-b"),
    ("resolve a conflict by deleting the loser", CONFLICTED, "2-b", True, "2-b"),
    (
        "extend a deleted conflict leaf while a live leaf exists",
        LIVE_WITH_DELETED_CONFLICT,
        "3-x",
        False,
        "3-x",
    ),
    (
        "delete again a deleted conflict leaf while a live leaf exists",
        LIVE_WITH_DELETED_CONFLICT,
        "3-x",
        True,
        "3-x",
    ),
]


@pytest.mark.parametrize(
    ("name", "tree", "rev", "deleted", "parent"), ACCEPT_CASES, ids=[c[0] for c in ACCEPT_CASES]
)
def test_accepted(name, tree, rev, deleted, parent):
    tree = copy.deepcopy(tree)
    node = interactive_parent(tree, rev, deleted)
    assert (node.rev if node else None) == parent
    work = tree if tree is not None else {}
    new = add_child(work, node, "n", deleted)
    expected_pos = (work[parent].pos + 1) if parent else 1
    assert new.rev == f"{expected_pos}-n"
    assert new.parent == parent
    assert new.deleted == deleted and new.available
    assert work[new.rev] is new
    assert rt.is_leaf(work, new.rev)
    if parent is not None:
        assert not rt.is_leaf(work, parent)


CONFLICT_CASES = [
    # (name, tree, _rev, new rev deleted)
    ("_rev on an unknown doc", None, "1-a", False),
    ("_rev on an empty tree", {}, "1-a", False),
    ("no _rev on a live doc", LIVE, None, False),
    ("no _rev, deletion of a live doc", LIVE, None, True),
    ("_rev names an internal node", LIVE, "1-a", False),
    ("_rev names an unknown rev", LIVE, "2-zz", False),
    ("_rev names a stemmed-away rev", from_pouch(_p(5, ["e", {}, []])), "4-d", False),
    ("_rev of a leaf at the wrong pos", LIVE, "3-b", False),
    ("no _rev, deleting an already deleted doc", DELETED, None, True),
    # CouchDB 409s a write naming the tombstone of a fully deleted doc; PouchDB's local adapters
    # accept it (known divergence, §2.4/§2.8) -- we follow CouchDB.
    ("_rev names the tombstone of a fully deleted doc (§7 item 8)", DELETED, "3-d", False),
    ("_rev names a deleted conflict when all leaves are deleted", ALL_DELETED, "2-y", False),
    ("_rev names the deleted winner when all leaves are deleted", ALL_DELETED, "4-z", True),
    ("_rev names an internal node of a conflicted doc", CONFLICTED, "1-a", False),
]


@pytest.mark.parametrize(
    ("name", "tree", "rev", "deleted"), CONFLICT_CASES, ids=[c[0] for c in CONFLICT_CASES]
)
def test_conflict(name, tree, rev, deleted):
    with pytest.raises(Conflict) as exc:
        interactive_parent(copy.deepcopy(tree), rev, deleted)
    assert exc.value.status == 409
    assert exc.value.to_json() == {"error": "conflict", "reason": "Document update conflict."}


def test_recreate_after_delete_revisions_chain():
    """§7 item 8: delete at 2-b (tombstone 3-d), PUT without _rev -> 4-x whose _revisions chain to 3-d."""
    tree = copy.deepcopy(DELETED)
    assert rt.is_deleted(tree)
    new = add_child(tree, interactive_parent(tree, None, False), "x", False)
    assert new.rev == "4-x"
    assert rt.revisions(tree, "4-x") == {"start": 4, "ids": ["x", "d", "b", "a"]}
    assert rt.winning_rev(tree).rev == "4-x"
    assert not rt.is_deleted(tree)
    # the old tombstone is no longer a leaf; naming it is now a conflict
    with pytest.raises(Conflict):
        interactive_parent(tree, "3-d", False)


def test_deleting_one_conflict_leaf_resolves_the_conflict():
    """§2.4: deleting a conflicting leaf resolves the conflict; the doc is deleted only when all are."""
    tree = copy.deepcopy(CONFLICTED)
    assert rt.conflicts(tree) == ["2-b"]
    add_child(tree, interactive_parent(tree, "2-b", True), "db", True)
    assert rt.conflicts(tree) == []
    assert rt.deleted_conflicts(tree) == ["3-db"]
    assert rt.winning_rev(tree).rev == "2-c"
    assert not rt.is_deleted(tree)
    add_child(tree, interactive_parent(tree, "2-c", True), "dc", True)
    assert rt.is_deleted(tree)
    assert rt.winning_rev(tree).rev == "3-dc"


def test_extending_a_deleted_conflict_can_make_it_win():
    tree = copy.deepcopy(LIVE_WITH_DELETED_CONFLICT)
    assert rt.winning_rev(tree).rev == "2-c"
    add_child(tree, interactive_parent(tree, "3-x", False), "y", False)
    assert rt.winning_rev(tree).rev == "4-y"
    assert rt.conflicts(tree) == ["2-c"]
    assert rt.revisions(tree, "4-y")["ids"] == ["y", "x", "b", "a"]
