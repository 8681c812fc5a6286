"""A line-by-line Python port of CouchDB's ``couch_key_tree`` merge and stem, used as a test oracle.

Source: apache/couchdb ``src/couch/src/couch_key_tree.erl`` (``merge/2``, ``merge_tree/3``,
``merge_at/3``, ``merge_extend/2``, ``stem/2``, ``stem_tree/4``, ``check_key/2``, ``repair_tree/2``,
``get_all_leafs_full/1``, ``value_pref/2``). Kept deliberately close to the Erlang (recursion, clause
order, list building) so that it can be reviewed against it; it is not used by couchsync itself.

Notation: a rev tree is a list of ``(pos, node)``; a node is ``(key, value, [child nodes])`` with
``value`` ``None`` for a missing revision (``?REV_MISSING``) or ``("leaf", deleted)`` for a stored one.
Erlang term order is approximated by ``(pos, key, …)``: keys are unique revids in every use here.
"""

from __future__ import annotations

from typing import Any

from couchsync.core.revtree import RevNode, RevTree, child_map

Value = tuple[str, bool] | None
Node = tuple[str, Value, list[Any]]
Tree = tuple[int, Node]


class _DupeKeys(Exception):
    pass


def value_pref(v1: Value, v2: Value) -> Value:
    """A stored value beats a missing one; otherwise the first (the tree's) wins."""
    if v1 is not None:
        return v1
    return v2


def _node_key(node: Node) -> Any:
    key, value, children = node
    return (key, 0 if value is not None else 1, [_node_key(c) for c in children])


def _sort(trees: list[Tree]) -> list[Tree]:
    return sorted(trees, key=lambda t: (t[0], _node_key(t[1])))


# -- merge ---------------------------------------------------------------------------------------


def merge(rev_tree: list[Tree], tree: Tree) -> tuple[list[Tree], str]:
    merged, result = _merge_tree(rev_tree, tree, [])
    return _sort(merged), result


def _merge_tree(trees: list[Tree], tree: Tree, acc: list[Tree]) -> tuple[list[Tree], str]:
    if not trees:
        return [tree, *acc], ("new_leaf" if not acc else "new_branch")
    (depth, nodes), rest = trees[0], trees[1:]
    idepth, inodes = tree
    r = _merge_at([nodes], depth - idepth, [inodes])
    if r is None:
        return _merge_tree(rest, tree, [(depth, nodes), *acc])
    [merged], result = r
    return [*rest, (min(depth, idepth), merged), *acc], result


def _merge_at(nodes: list[Node], pos: int, inodes: list[Node]) -> tuple[list[Node], str] | None:
    if not inodes or not nodes:
        return None
    if pos > 0:
        (ik, iv, isub) = inodes[0]
        if len(inodes) == 1 and len(isub) == 1:
            r = _merge_at(nodes, pos - 1, isub)
            if r is None:
                return None
            merged, result = r
            return [(ik, iv, merged)], result
        if len(inodes) == 1 and not isub:
            return None
        raise AssertionError("function_clause: merge_at/3 with a branching insert tree")
    if pos < 0:
        (k, v, sub), sibs = nodes[0], nodes[1:]
        r = _merge_at(sub, pos + 1, inodes)
        if r is not None:
            merged, result = r
            return [(k, v, merged), *sibs], result
        r = _merge_at(sibs, pos, inodes)
        if r is not None:
            merged, result = r
            return [(k, v, sub), *merged], result
        return None
    (k1, v1, sub1), sibs = nodes[0], nodes[1:]
    if len(inodes) == 1 and inodes[0][0] == k1:
        (_, v2, isub) = inodes[0]
        merged, result = _merge_extend(sub1, isub)
        return [(k1, value_pref(v1, v2), merged), *sibs], result
    if len(inodes) == 1 and k1 > inodes[0][0]:
        return None
    r = _merge_at(sibs, 0, inodes)
    if r is None:
        return None
    merged, result = r
    return [nodes[0], *merged], result


def _merge_extend(a: list[Node], b: list[Node]) -> tuple[list[Node], str]:
    if not a and b:
        return b, "new_leaf"
    if not b:
        return a, "internal_node"
    (k1, v1, sub_a), next_a = a[0], a[1:]
    if len(b) == 1 and b[0][0] == k1:
        (_, v2, sub_b) = b[0]
        merged, result = _merge_extend(sub_a, sub_b)
        return [(k1, value_pref(v1, v2), merged), *next_a], result
    if len(b) == 1 and k1 > b[0][0]:
        return [b[0], a[0], *next_a], "new_branch"
    merged, result0 = _merge_extend(next_a, b)
    result = result0 if len(merged) == len(next_a) else "new_branch"
    return [a[0], *merged], result


# -- stem ----------------------------------------------------------------------------------------


def stem(trees: list[Tree], limit: int) -> tuple[list[Tree], bool]:
    """Returns the stemmed tree and whether ``repair_tree`` ran (a revid occurred twice)."""
    try:
        seen: set[str] = set()
        branches: list[Tree] = []
        for tree in trees:
            branches = _stem_tree_top(tree, limit, seen) + branches
        return _sort(branches), False
    except _DupeKeys:
        return _repair_tree(trees, limit), True


def _stem_tree_top(tree: Tree, limit: int, seen: set[str]) -> list[Tree]:
    depth, child = tree
    r = _stem_tree(depth, child, limit, seen)
    if r[0] == "kept":
        return [(depth, r[2]), *r[3]]
    return r[2]


def _check_key(key: str, seen: set[str]) -> None:
    if key in seen:
        raise _DupeKeys()
    seen.add(key)


def _stem_tree(depth: int, node: Node, limit: int, seen: set[str]) -> tuple[Any, ...]:
    key, val, children = node
    _check_key(key, seen)
    if not children:
        return ("kept", limit - 1, node, [])
    limit_pos, child_acc, branch_acc = -1, [], []
    for child in children:
        r = _stem_tree(depth + 1, child, limit, seen)
        if r[0] == "kept":
            _, lp, new_child, new_branches = r
            limit_pos = max(lp, limit_pos)
            child_acc = [new_child, *child_acc]
            branch_acc = new_branches + branch_acc
        else:
            _, lp, new_branches = r
            limit_pos = max(lp, limit_pos)
            branch_acc = new_branches + branch_acc
    final_children = list(reversed(child_acc))
    if limit_pos > 0 and final_children:
        return ("kept", limit_pos - 1, (key, val, final_children), branch_acc)
    if limit_pos == 0 and final_children:
        return ("dropped", -1, [(depth + 1, c) for c in final_children] + branch_acc)
    if limit_pos < 0 and not final_children:
        return ("dropped", limit_pos - 1, branch_acc)
    raise AssertionError("case_clause in stem_tree/4")


def get_all_leafs_full(trees: list[Tree]) -> list[tuple[int, list[tuple[str, Value]]]]:
    """Every leaf as ``(leaf pos, [(key, value) leaf first … root])``."""
    out: list[tuple[int, list[tuple[str, Value]]]] = []

    def walk(pos: int, nodes: list[Node], acc: list[tuple[str, Value]]) -> None:
        for key, value, sub in nodes:
            if not sub:
                out.append((pos, [(key, value), *acc]))
            else:
                walk(pos + 1, sub, [(key, value), *acc])

    for pos, node in trees:
        walk(pos, [node], [])
    return out


def _repair_tree(trees: list[Tree], limit: int) -> list[Tree]:
    paths = []
    for pos, path in get_all_leafs_full(trees):
        stemmed = path[:limit]
        paths.append((pos + 1 - len(stemmed), stemmed))
    paths.sort(key=lambda p: (p[0], [(k, 0 if v is not None else 1) for k, v in p[1]]))
    acc: list[Tree] = []
    for start, path in paths:
        single: Node | None = None
        for k, v in path:
            single = (k, v, [single] if single is not None else [])
        assert single is not None
        acc, _ = merge(acc, (start, single))
    return acc


# -- conversions -------------------------------------------------------------------------------------


def path_tree(start: int, ids: list[str], deleted: bool) -> Tree:
    """``couch_doc:to_path``: the leaf carries the value, its ancestors are missing."""
    node: Node | None = None
    for k, revid in enumerate(ids):
        node = (revid, ("leaf", deleted) if k == 0 else None, [node] if node is not None else [])
    assert node is not None
    return (start - len(ids) + 1, node)


def from_flat(tree: RevTree) -> list[Tree]:
    kids = child_map(tree)

    def build(rev: str) -> Node:
        n = tree[rev]
        value: Value = ("leaf", n.deleted) if n.available else None
        children = sorted(kids.get(rev, []), key=lambda r: tree[r].revid)
        return (n.revid, value, [build(c) for c in children])

    roots = [n for n in tree.values() if n.parent is None]
    return _sort([(r.pos, build(r.rev)) for r in roots])


def to_flat(trees: list[Tree]) -> tuple[RevTree, list[str]]:
    """Flat tree (union over duplicates, as :func:`treeutil.pouch_union`) and the duplicated revs."""
    out: RevTree = {}
    dups: list[str] = []

    def walk(pos: int, node: Node, parent: str | None) -> None:
        key, value, children = node
        rev = f"{pos}-{key}"
        n = RevNode(pos, key, parent, bool(value and value[1]), value is not None)
        old = out.get(rev)
        if old is None:
            out[rev] = n
        else:
            dups.append(rev)
            old.parent = old.parent or parent
            if not old.available and n.available:
                old.available, old.deleted = True, n.deleted
        for c in children:
            walk(pos + 1, c, rev)

    for pos, node in trees:
        walk(pos, node, None)
    return out, sorted(set(dups))
