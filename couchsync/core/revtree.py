"""Revision trees: merge, stem, winning rev, leaves, conflicts, find_missing, latest.

Every edit of a document creates a revision ``pos-revid`` whose parent is the revision it replaced;
the history of a document is therefore a tree, or a forest once old history is stemmed away or
when a replicator brings a branch whose ancestors we never saw. Two edits of the same parent made
on two disconnected replicas become sibling branches: a conflict. Nothing is ever thrown away by a
conflict; every replica keeps every leaf and all of them agree, by a deterministic rule, on which
leaf is the *winning rev* that readers see:

    non-deleted beats deleted, then the higher pos, then the greater revid (string order).

The other non-deleted leaves are the document's ``_conflicts``; the other deleted leaves its
``_deleted_conflicts``. A document is deleted when its winning leaf is (that is, all leaves are).

Representation. CouchDB (``couch_key_tree``) and PouchDB (``pouchdb-merge``) keep the tree nested:
``[{pos, ids: [revid, opts, [children…]]}]``. Here a tree is a flat ``dict`` from rev string to
:class:`RevNode`, each node naming its parent rev. The node set, parent links, leaves and winner are
the same as the nested form; the flat form needs no recursion (a linear history of 1000 revisions
is 1000 levels deep when nested, beyond JSON encoders' limits) and finds a rev in O(1).

A node is *available* when its body is stored, *missing* when it is only known by id (an ancestor
named by a replicated ``_revisions`` list, or a body dropped by compaction).

Merging a replicated path (``new_edits=false``, CouchDB ``couch_key_tree:merge``): the incoming
revisions ``ids`` (newest first, leaf at ``start``) are aligned with the tree by position at the
oldest of them already present, and the path is walked down from there; the first revision that is
not yet a child of the previous one starts the new part. The result is ``new_leaf`` (the path
extended a leaf, or the tree was empty), ``new_branch`` (it added a sibling: a conflict, or a
disconnected root) or ``internal_node`` (nothing new below the alignment point). Every parent link
the path states is kept: when the tree's root is found inside the path, the path's older revisions
are added above it (expansion), and a disconnected root the path passes through is re-attached;
:func:`stem` trims the history again if it exceeds the limit.

Stemming (``_revs_limit``, CouchDB ``couch_key_tree:stem``): keep every node within ``limit``
revisions of one of its descendant leaves (distance < limit); nodes needed by no leaf are dropped,
and nodes whose parent was dropped become roots.

Pure: no I/O. Sources: CouchDB ``src/couch/src/couch_key_tree.erl`` (merge, stem, find_missing,
get_all_leafs), ``couch_doc.erl`` (to_doc_info sort); PouchDB ``pouchdb-merge`` (winningRev.js,
collectConflicts.js, collectLeaves.js, merge.js).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

MergeResult = Literal["new_leaf", "new_branch", "internal_node"]


@dataclass(slots=True)
class RevNode:
    """One revision: ``pos``, ``revid``, its ``parent`` rev (``None`` for a root), flags."""

    pos: int
    revid: str
    parent: str | None = None
    deleted: bool = False
    available: bool = True

    @property
    def rev(self) -> str:
        return f"{self.pos}-{self.revid}"

    def sort_key(self) -> tuple[bool, int, str]:
        """Winner order, ascending: the max is the winning rev."""
        return (not self.deleted, self.pos, self.revid)


RevTree = dict[str, RevNode]


# -- serialisation -------------------------------------------------------------------------------


def to_json(tree: RevTree) -> list[list[object]]:
    """``[[rev, parent_rev|None, deleted 0|1, available 0|1], …]`` ordered by pos."""
    nodes = sorted(tree.values(), key=lambda n: (n.pos, n.revid))
    return [[n.rev, n.parent, int(n.deleted), int(n.available)] for n in nodes]


def from_json(data: Iterable[list[object]]) -> RevTree:
    """Inverse of :func:`to_json`."""
    tree: RevTree = {}
    for rev, parent, deleted, available in data:
        assert isinstance(rev, str)
        pos_s, _, revid = rev.partition("-")
        tree[rev] = RevNode(int(pos_s), revid, parent if isinstance(parent, str) else None,
                            bool(deleted), bool(available))
    return tree


# -- reading -------------------------------------------------------------------------------------


def child_map(tree: RevTree) -> dict[str, list[str]]:
    """rev → child revs, for every node with children."""
    children: dict[str, list[str]] = {}
    for node in tree.values():
        if node.parent is not None:
            children.setdefault(node.parent, []).append(node.rev)
    return children


def leaves(tree: RevTree) -> list[RevNode]:
    """All leaves, winning rev first, then by the same order descending. CouchDB: to_doc_info."""
    parents = {n.parent for n in tree.values()}
    out = [n for rev, n in tree.items() if rev not in parents]
    out.sort(key=RevNode.sort_key, reverse=True)
    return out


def winning_rev(tree: RevTree) -> RevNode:
    """The winning leaf (non-deleted, then pos, then revid). Raises ``ValueError`` on an empty tree."""
    parents = {n.parent for n in tree.values()}
    return max((n for rev, n in tree.items() if rev not in parents), key=RevNode.sort_key)


def is_deleted(tree: RevTree) -> bool:
    """True when every leaf is deleted."""
    return winning_rev(tree).deleted


def conflicts(tree: RevTree) -> list[str]:
    """``_conflicts``: non-deleted leaves other than the winner, descending."""
    lv = leaves(tree)
    return [n.rev for n in lv[1:] if not n.deleted]


def deleted_conflicts(tree: RevTree) -> list[str]:
    """``_deleted_conflicts``: deleted leaves other than the winner, descending."""
    lv = leaves(tree)
    return [n.rev for n in lv[1:] if n.deleted]


def is_leaf(tree: RevTree, rev: str) -> bool:
    return rev in tree and all(n.parent != rev for n in tree.values())


def ancestry(tree: RevTree, rev: str) -> list[RevNode]:
    """The path from ``rev`` up to its root, ``rev`` first (for ``_revisions``/``_revs_info``)."""
    out: list[RevNode] = []
    node = tree.get(rev)
    while node is not None:
        out.append(node)
        node = tree.get(node.parent) if node.parent is not None else None
    return out


def revisions(tree: RevTree, rev: str) -> dict[str, object]:
    """``_revisions`` of ``rev``: ``{"start": pos, "ids": [revid newest … oldest known]}``."""
    path = ancestry(tree, rev)
    return {"start": path[0].pos, "ids": [n.revid for n in path]}


def revs_info(tree: RevTree, rev: str) -> list[dict[str, str]]:
    """``_revs_info``: ``[{"rev", "status": "available"|"deleted"|"missing"}]`` newest first."""
    return [
        {"rev": n.rev, "status": "missing" if not n.available else "deleted" if n.deleted else "available"}
        for n in ancestry(tree, rev)
    ]


def latest(tree: RevTree, rev: str) -> list[str]:
    """Leaves descending from ``rev`` (``[rev]`` if it is a leaf, ``[]`` if unknown), winner order.

    CouchDB: couch_key_tree ``get_key_leafs`` as used by ``open_doc_revs`` with ``latest``.
    """
    if rev not in tree:
        return []
    children = child_map(tree)
    found: list[RevNode] = []
    stack = [rev]
    while stack:
        cur = stack.pop()
        kids = children.get(cur)
        if kids:
            stack.extend(kids)
        else:
            found.append(tree[cur])
    found.sort(key=RevNode.sort_key, reverse=True)
    return [n.rev for n in found]


def find_missing(tree: RevTree, revs: Iterable[str]) -> list[str]:
    """Revs (already normalised) not present anywhere in the tree; an internal node is present.

    CouchDB: couch_key_tree ``find_missing``; used by ``_revs_diff``.
    """
    return [r for r in revs if r not in tree]


def possible_ancestors(tree: RevTree, missing: Iterable[str]) -> list[str]:
    """Leaves (deleted included) whose pos is below that of some missing rev. CouchDB: couch_db."""
    max_pos = max((int(r.partition("-")[0]) for r in missing), default=0)
    return [n.rev for n in leaves(tree) if n.pos < max_pos]


# -- writing -------------------------------------------------------------------------------------


def merge_path(tree: RevTree, start: int, ids: list[str], deleted: bool, *, expand: bool = True) -> MergeResult:
    """Merge the linear path ``ids`` (newest first, newest at pos ``start``) into ``tree`` in place.

    The newest id is the leaf carrying a body (available, ``deleted`` flag); older ids are missing
    placeholders, which never replace a node already present (a stored value beats a missing one;
    CouchDB ``value_pref``). Returns ``new_leaf`` | ``new_branch`` | ``internal_node`` (see module doc).

    As CouchDB ``couch_key_tree:merge/2``: the path is aligned at its oldest rev already in the tree
    (``merge_at``) and walked down while its revs are children of the previous one; at the first rev
    that is not, the rest is inserted there: ``new_leaf`` if that node had no children, else
    ``new_branch``; ``internal_node`` if the whole path was known. Every parent link the path states is
    kept: path revs older than the tree's root are added above it (expansion), and a root found
    further down the path is re-attached to its parent (CouchDB merges into the first matching root
    and its ``stem`` then re-merges the duplicated subtree, ``repair_tree``). With ``expand=False``
    no rev older than the alignment point is added.
    CouchDB: couch_key_tree ``merge/2``; PouchDB: merge.js ``doMerge``.
    """
    revs = [f"{start - k}-{revid}" for k, revid in enumerate(ids)]
    oldest = next((k for k in range(len(revs) - 1, -1, -1) if revs[k] in tree), None)
    if oldest is None:
        result: MergeResult = "new_branch" if tree else "new_leaf"
        first = len(revs) - 1
    else:
        result = "internal_node"
        for k in range(oldest, 0, -1):
            child = tree.get(revs[k - 1])
            if child is None or child.parent != revs[k]:
                has_children = any(n.parent == revs[k] for n in tree.values())
                result = "new_branch" if has_children else "new_leaf"
                break
        first = len(revs) - 1 if expand else oldest
    for k in range(first, -1, -1):
        parent = revs[k + 1] if k + 1 <= first else None
        node = tree.get(revs[k])
        if node is None:
            tree[revs[k]] = RevNode(start - k, ids[k], parent, deleted and k == 0, k == 0)
        elif node.parent is None and parent is not None:
            node.parent = parent
    leaf = tree[revs[0]]
    if not leaf.available:
        leaf.available = True
        leaf.deleted = deleted
    return result


def stem(tree: RevTree, limit: int) -> list[str]:
    """Drop every node not within ``limit`` revs of a descendant leaf, in place; returns dropped revs.

    Nodes whose parent is dropped become roots. CouchDB: couch_key_tree ``stem/2``.
    """
    if len(tree) <= limit:
        return []
    parents = {n.parent for n in tree.values()}
    dist = {rev: 0 for rev in tree if rev not in parents}
    for node in sorted(tree.values(), key=lambda n: n.pos, reverse=True):
        d = dist.get(node.rev)
        if d is not None and node.parent is not None:
            pd = dist.get(node.parent)
            if pd is None or d + 1 < pd:
                dist[node.parent] = d + 1
    dropped = [rev for rev, d in dist.items() if d >= limit]
    dropped += [rev for rev in tree if rev not in dist]
    for rev in dropped:
        del tree[rev]
    for node in tree.values():
        if node.parent is not None and node.parent not in tree:
            node.parent = None
    return dropped
