"""Reading documents: one rev, ``open_revs``, ``latest``, and batches of them (``_bulk_get``).

Each request is ``(doc_id, revs)`` where ``revs`` is ``None`` (the winning rev), ``"all"`` (every
leaf) or a list of revs. A batch loads all ``docs`` rows in one query and all needed bodies in one
more, then renders each revision with :func:`couchsync.core.render.render_doc`.

Sources: CouchDB ``couch_db:open_doc_revs``, ``chttpd_db`` (``db_doc_req`` GET, ``bulk_get``);
protocol reference §1.7, §1.8, §2.7.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..core import revtree
from ..core.render import attachment_json, render_doc
from ..core.revtree import RevTree
from .database import Database, DocRow, RevBody


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """Doc-read query options (``GET /{db}/{doc}`` and ``_bulk_get``)."""

    revs: bool = False
    revs_info: bool = False
    conflicts: bool = False
    deleted_conflicts: bool = False
    local_seq: bool = False
    attachments: bool = False
    atts_since: tuple[str, ...] | None = None
    att_encoding_info: bool = False
    latest: bool = False
    #: with ``attachments``: render attachment bodies as ``"follows": true`` and hand the bytes back
    #: in :attr:`Found.att_data` (multipart responses) instead of inline base64
    follows: bool = False


@dataclass(slots=True)
class Found:
    """A rendered revision: ``json`` bytes, plus what multipart rendering needs.

    ``meta`` is true when the JSON carries ``_revs_info``/``_conflicts``/``_deleted_conflicts``/
    ``_local_seq`` (CouchDB sends no ETag then); ``att_data`` maps the names of attachments rendered
    as ``"follows": true`` to their bytes, in ``_attachments`` order.
    """

    doc_id: str
    rev: str
    json: bytes
    deleted: bool
    atts: dict[str, dict[str, Any]] | None
    meta: bool = False
    att_data: dict[str, bytes] | None = None


@dataclass(slots=True)
class Missing:
    """A rev that could not be read: ``error`` is ``not_found``, ``reason`` ``missing``/``deleted``."""

    doc_id: str
    rev: str | None
    reason: str = "missing"


Result = Found | Missing
Wanted = None | Literal["all"] | list[str]


async def open_docs(db: Database, requests: list[tuple[str, Wanted]], opts: ReadOptions) -> list[list[Result]]:
    """For each ``(doc_id, revs)`` the list of results, in request order.

    ``revs=None``: ``[Found]`` of the winner, or ``[Missing(reason="deleted"|"missing")]``.
    ``"all"``: every leaf (deleted included), winner first; unknown doc → ``[Missing(rev=None)]``.
    A list: one result per rev (with ``latest``, each rev is replaced by its descendant leaves, each
    leaf reported once).
    """
    rows = await db.get_doc_rows(doc_id for doc_id, _ in requests)
    trees: dict[str, RevTree] = {}
    plan: list[list[tuple[str, str | None, str]]] = []  # per request: (doc_id, rev, kind)
    for doc_id, wanted in requests:
        row = rows.get(doc_id)
        plan.append(_plan(doc_id, row, wanted, opts, trees))
    pairs = [(d, r) for entries in plan for d, r, kind in entries if kind == "ok" and r is not None]
    bodies = await db.get_revs(pairs)
    blobs: dict[str, bytes] = {}
    if opts.attachments:
        blobs = await db.get_attachment_blobs(
            a["digest"] for b in bodies.values() for a in (b.atts or {}).values())
    out: list[list[Result]] = []
    for entries in plan:
        results: list[Result] = []
        for doc_id, rev, kind in entries:
            body = bodies.get((doc_id, rev)) if rev is not None else None
            if kind != "ok" or rev is None or body is None:
                results.append(Missing(doc_id, rev, kind if kind != "ok" else "missing"))
                continue
            results.append(_render(db, doc_id, rev, body, trees[doc_id], rows[doc_id], opts, blobs))
        out.append(results)
    return out


def _plan(doc_id: str, row: DocRow | None, wanted: Wanted, opts: ReadOptions,
          trees: dict[str, RevTree]) -> list[tuple[str, str | None, str]]:
    if row is None:
        if isinstance(wanted, list):
            return [(doc_id, r, "missing") for r in wanted]
        return [(doc_id, None, "missing")]
    tree = trees.setdefault(doc_id, row.tree())
    if wanted is None:
        return [(doc_id, row.winning_rev, "deleted" if row.deleted else "ok")]
    if wanted == "all":
        return [(doc_id, n.rev, "ok") for n in revtree.leaves(tree)]
    entries: list[tuple[str, str | None, str]] = []
    seen: set[str] = set()
    for rev in wanted:
        if opts.latest:  # each leaf once, as couch_key_tree:get_key_leafs drops keys already found
            leafs = revtree.latest(tree, rev)
            entries += [(doc_id, r, "ok") for r in leafs if r not in seen] if leafs else [(doc_id, rev, "missing")]
            seen.update(leafs)
        else:
            entries.append((doc_id, rev, "ok" if rev in tree else "missing"))
    return entries


def _render(db: Database, doc_id: str, rev: str, body: RevBody, tree: RevTree, row: DocRow,
            opts: ReadOptions, blobs: dict[str, bytes]) -> Found:
    extras: list[tuple[str, Any]] = []
    if opts.revs:
        extras.append(("_revisions", revtree.revisions(tree, rev)))
    if opts.revs_info and rev == row.winning_rev:
        extras.append(("_revs_info", revtree.revs_info(tree, rev)))
    if opts.conflicts and rev == row.winning_rev:
        c = revtree.conflicts(tree)
        if c:
            extras.append(("_conflicts", c))
    if opts.deleted_conflicts and rev == row.winning_rev:
        c = revtree.deleted_conflicts(tree)
        if c:
            extras.append(("_deleted_conflicts", c))
    if opts.local_seq:
        extras.append(("_local_seq", row.seq))
    meta = any(key != "_revisions" for key, _ in extras)
    att_data: dict[str, bytes] | None = {} if opts.follows else None
    if body.atts:
        extras.append(("_attachments", attachments_json(body.atts, opts, tree, blobs, att_data)))
    return Found(doc_id, rev, render_doc(doc_id, rev, body.deleted, body.body, extras), body.deleted, body.atts,
                 meta, att_data or None)


def attachments_json(atts: dict[str, dict[str, Any]], opts: ReadOptions, tree: RevTree,
                     blobs: dict[str, bytes], follows: dict[str, bytes] | None = None) -> dict[str, Any]:
    """``_attachments`` as stubs, or with the data of those newer than ``atts_since``: inline base64,
    or — when ``follows`` is given — ``"follows": true`` with the bytes put into ``follows``."""
    since_pos = 0
    if opts.atts_since:
        since_pos = max((tree[r].pos for r in opts.atts_since if r in tree), default=0)
    out: dict[str, Any] = {}
    for name, meta in atts.items():
        inline = opts.attachments and meta["revpos"] > since_pos and meta["digest"] in blobs
        if inline and follows is not None:
            follows[name] = blobs[meta["digest"]]
            out[name] = attachment_json(meta, follows=True, encoding_info=opts.att_encoding_info)
            continue
        out[name] = attachment_json(meta, blobs[meta["digest"]] if inline else None,
                                    encoding_info=opts.att_encoding_info)
    return out
