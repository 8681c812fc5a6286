"""Render stored revisions as CouchDB JSON, as bytes spliced around the stored body.

A stored body is the JSON object of the user's fields (no special members). A document is
``{"_id", "_rev", <body fields>, "_deleted"?, "_revisions"?, "_revs_info"?, "_conflicts"?,
"_deleted_conflicts"?, "_local_seq"?, "_attachments"?}`` — CouchDB's member order
(``couch_doc:to_json_obj``). Splicing avoids decoding and re-encoding bodies on the hot paths
(``_changes?include_docs``, ``_bulk_get``).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import orjson


def render_doc(doc_id: str, rev: str, deleted: bool, body: bytes, extras: Sequence[tuple[str, Any]] = ()) -> bytes:
    """``{"_id","_rev",…body,"_deleted"?,…extras}`` as bytes; ``extras`` values may be pre-encoded bytes."""
    head = orjson.dumps({"_id": doc_id, "_rev": rev})[:-1]
    has_fields = len(body) > 2  # stored bodies are compact JSON: ``{}`` when empty
    if not deleted and not extras:  # the hot path: one copy of the body
        return head + (b"," + body[1:] if has_fields else b"}")
    parts = [head]
    if has_fields:
        parts += [b",", body[1:-1]]
    if deleted:
        parts.append(b',"_deleted":true')
    for key, value in extras:
        parts += [b",", orjson.dumps(key), b":", value if isinstance(value, bytes) else orjson.dumps(value)]
    parts.append(b"}")
    return b"".join(parts)


def attachment_json(meta: dict[str, Any], data: bytes | None = None, *, follows: bool = False,
                    encoding_info: bool = False) -> dict[str, Any]:
    """One ``_attachments`` member: a stub, inline ``data`` (base64), or ``follows`` (multipart).

    Stub ``{"content_type","revpos","digest","length","stub":true}``; inline
    ``{"content_type","revpos","digest","data"}``; multipart ``{…,"length","follows":true}``.
    CouchDB: couch_att ``to_json``.
    """
    out: dict[str, Any] = {"content_type": meta["content_type"], "revpos": meta["revpos"], "digest": meta["digest"]}
    if data is not None:
        out["data"] = base64.b64encode(data).decode()
    elif follows:
        out["length"] = meta["length"]
        out["follows"] = True
    else:
        out["length"] = meta["length"]
        out["stub"] = True
    if encoding_info and meta.get("encoding"):
        out["encoding"] = meta["encoding"]
        out["encoded_length"] = meta.get("encoded_length", meta["length"])
    return out
