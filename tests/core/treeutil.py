"""Test helpers: convert between our flat :data:`RevTree` and the nested notations of the sources.

* PouchDB (``pouchdb-merge``, ``tests/unit/test.merge.js``): ``[{"pos": 1, "ids": [id, opts, [child…]]}]``
  with each child ``[id, opts, [child…]]``; ``opts`` may carry ``"status": "available"|"missing"`` and
  ``"deleted": true``. :func:`from_pouch` / :func:`to_pouch`.
* CouchDB (``couch_key_tree_tests.erl``): ``[(pos, (key, value, [child…]))]`` with each child
  ``(key, value, [child…])``; ``value`` ``[]`` (``?REV_MISSING``) is a missing node, anything else an
  available one. :func:`from_couch`.

Trees in the sources are merged with whole trees as well as with paths; our core merges linear paths
(``merge_path``), so :func:`merge_nested` splits the incoming tree into its root-to-leaf paths (as
CouchDB's own ``should_merge_tree_to_itself`` does) and folds them in.
"""

from __future__ import annotations

from typing import Any

from couchsync.core.revtree import MergeResult, RevNode, RevTree, child_map, merge_path, stem

Nested = list[dict[str, Any]]


# -- PouchDB notation ----------------------------------------------------------------------------


def from_pouch(nested: Nested | dict[str, Any]) -> RevTree:
    """Nested PouchDB rev tree (a list of roots, or one root) → flat tree.

    Raises ``ValueError`` if a rev appears twice (PouchDB can produce such trees; see
    :func:`pouch_union`).
    """
    roots = [nested] if isinstance(nested, dict) else nested
    tree: RevTree = {}
    for root in roots:
        stack: list[tuple[int, list[Any], str | None]] = [(root["pos"], root["ids"], None)]
        while stack:
            pos, (revid, opts, children), parent = stack.pop()
            node = _pouch_node(pos, revid, opts, parent)
            if node.rev in tree:
                raise ValueError(f"duplicate rev {node.rev}")
            tree[node.rev] = node
            stack.extend((pos + 1, child, node.rev) for child in children)
    return tree


def _pouch_node(pos: int, revid: str, opts: dict[str, Any], parent: str | None) -> RevNode:
    return RevNode(pos, revid, parent, bool(opts.get("deleted")), opts.get("status") != "missing")


def pouch_union(nested: Nested) -> tuple[RevTree, list[str]]:
    """Like :func:`from_pouch`, but tolerates a rev that occurs under several roots.

    Returns the union (a node keeps a parent if any occurrence has one; available if any occurrence is)
    and the list of duplicated revs.
    """
    tree: RevTree = {}
    dups: list[str] = []
    for root in nested:
        stack: list[tuple[int, list[Any], str | None]] = [(root["pos"], root["ids"], None)]
        while stack:
            pos, (revid, opts, children), parent = stack.pop()
            node = _pouch_node(pos, revid, opts, parent)
            old = tree.get(node.rev)
            if old is None:
                tree[node.rev] = node
            else:
                dups.append(node.rev)
                if old.parent is None:
                    old.parent = node.parent
                old.available = old.available or node.available
                old.deleted = old.deleted or node.deleted
            stack.extend((pos + 1, child, node.rev) for child in children)
    return tree, sorted(set(dups))


def to_pouch(tree: RevTree, *, status: bool = False) -> Nested:
    """Flat tree → nested PouchDB form; roots by (pos, revid), children by revid.

    ``opts`` is ``{}`` for a plain node, with ``"deleted": True`` for a deleted one and, when ``status``
    is true, ``"status": "available"|"missing"`` on every node (else only ``"missing"`` is written).
    """
    kids = child_map(tree)

    def opts(node: RevNode) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if status or not node.available:
            out["status"] = "available" if node.available else "missing"
        if node.deleted:
            out["deleted"] = True
        return out

    def build(rev: str) -> list[Any]:
        node = tree[rev]
        children = sorted(kids.get(rev, []), key=lambda r: tree[r].revid)
        return [node.revid, opts(node), [build(c) for c in children]]

    roots = sorted((n for n in tree.values() if n.parent is None), key=lambda n: (n.pos, n.revid))
    return [{"pos": r.pos, "ids": build(r.rev)} for r in roots]


def shape(nested: Nested | dict[str, Any]) -> Nested:
    """A nested tree with every ``opts`` reduced to its ``deleted`` flag and siblings sorted: the
    structure the sources' merge tests compare (they write ``{}`` for every node)."""
    roots = [nested] if isinstance(nested, dict) else nested

    def norm(node: list[Any]) -> list[Any]:
        revid, opts, children = node
        o = {"deleted": True} if opts.get("deleted") else {}
        return [revid, o, sorted((norm(c) for c in children), key=lambda c: c[0])]

    return sorted(
        ({"pos": r["pos"], "ids": norm(r["ids"])} for r in roots), key=lambda r: (r["pos"], r["ids"][0])
    )


# -- CouchDB notation ----------------------------------------------------------------------------

CouchNode = tuple[str, Any, list[Any]]


def from_couch(trees: list[tuple[int, CouchNode]] | tuple[int, CouchNode]) -> RevTree:
    """``[(pos, (key, value, children))]`` → flat tree; ``value == []`` is a missing node."""
    roots = [trees] if isinstance(trees, tuple) else trees
    tree: RevTree = {}
    for pos0, root in roots:
        stack: list[tuple[int, CouchNode, str | None]] = [(pos0, root, None)]
        while stack:
            pos, (key, value, children), parent = stack.pop()
            node = RevNode(pos, key, parent, False, value != [])
            if node.rev in tree:
                raise ValueError(f"duplicate rev {node.rev}")
            tree[node.rev] = node
            stack.extend((pos + 1, child, node.rev) for child in children)
    return tree


# -- paths ---------------------------------------------------------------------------------------


def leaf_paths(tree: RevTree) -> list[tuple[int, list[str], bool]]:
    """Every root-to-leaf path as ``(start, ids newest first, leaf deleted)``, sorted."""
    kids = child_map(tree)
    out = []
    for rev, node in tree.items():
        if rev in kids:
            continue
        ids = []
        cur: RevNode | None = node
        while cur is not None:
            ids.append(cur.revid)
            cur = tree.get(cur.parent) if cur.parent is not None else None
        out.append((node.pos, ids, node.deleted))
    return sorted(out, key=lambda p: (p[0] - len(p[1]), p[1][::-1]))


def merge_nested(tree: RevTree, incoming: RevTree, limit: int | None = None) -> MergeResult:
    """Merge every root-to-leaf path of ``incoming`` into ``tree`` (then stem to ``limit``).

    The result is the strongest of the per-path results (new_branch > new_leaf > internal_node).
    """
    rank = {"internal_node": 0, "new_leaf": 1, "new_branch": 2}
    result: MergeResult = "internal_node"
    for start, ids, deleted in leaf_paths(incoming):
        r = merge_path(tree, start, ids, deleted)
        if rank[r] > rank[result]:
            result = r
    if limit is not None:
        stem(tree, limit)
    return result


def chain(start: int, *ids: str) -> RevTree:
    """A linear tree whose newest rev is ``start-ids[0]`` (ids newest first), all available."""
    tree: RevTree = {}
    parent = None
    for k in range(len(ids) - 1, -1, -1):
        node = RevNode(start - k, ids[k], parent)
        tree[node.rev] = node
        parent = node.rev
    return tree


def edges(tree: RevTree) -> dict[str, str | None]:
    """rev → parent rev: the structure of a tree, for comparisons."""
    return {rev: n.parent for rev, n in tree.items()}
