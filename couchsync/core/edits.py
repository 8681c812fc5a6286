"""The rev-tree policy for writes: which edits are accepted, and where they go in the tree.

Interactive edits (``new_edits=true``: PUT, POST, DELETE, ``_bulk_docs`` by default), protocol
reference §2.4, CouchDB ``couch_db:prep_and_validate_update``:

* no ``_rev`` on an unknown doc → a new root ``1-x``;
* no ``_rev`` on a deleted doc (winning leaf deleted) → re-creation: the new rev is a child of the
  deleted winner, ``(pos+1)-x``; a ``_deleted`` body here is a conflict;
* no ``_rev`` on a live doc → ``Conflict`` (409);
* ``_rev`` must name an existing leaf, else ``Conflict``; a deleted leaf may be extended only while
  the doc has a live leaf (a fully deleted doc only accepts re-creation, as CouchDB; PouchDB's local
  adapters also accept the tombstone's rev — a known divergence).

Replicated edits (``new_edits=false``, §2.5) never conflict: the path is merged by
:func:`couchsync.core.revtree.merge_path` and the tree stemmed.

Pure: no I/O.
"""

from __future__ import annotations

from ..errors import Conflict
from .revtree import RevNode, RevTree, is_leaf, winning_rev


def interactive_parent(tree: RevTree | None, rev: str | None, deleted: bool) -> RevNode | None:
    """The node a new interactive revision descends from (``None`` for a new root).

    ``tree`` is the document's rev tree (``None``/empty if unknown), ``rev`` the normalised ``_rev``
    the client named, ``deleted`` whether the new revision is a deletion. Raises ``Conflict`` (409).
    """
    if not tree:
        if rev is not None:
            raise Conflict()
        return None
    winner = winning_rev(tree)
    if rev is None:
        if winner.deleted and not deleted:
            return winner
        raise Conflict()
    node = tree.get(rev)
    if node is None or not is_leaf(tree, rev) or (node.deleted and winner.deleted):
        raise Conflict()
    return node


def add_child(tree: RevTree, parent: RevNode | None, revid: str, deleted: bool) -> RevNode:
    """Adds the new revision below ``parent`` (a root if ``None``) in place and returns it."""
    node = RevNode(parent.pos + 1 if parent else 1, revid, parent.rev if parent else None, deleted, True)
    tree[node.rev] = node
    return node
