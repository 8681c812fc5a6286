"""Documents as clients send them: id rules, special ``_`` members, attachments.

Sources: CouchDB ``couch_doc.erl`` (``validate_docid``, ``transfer_fields``), ``couch_att.erl``
(``from_json``), ``couch_partition.erl``; protocol reference §2.7, §4.3, §5, §1.9.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..errors import BadRequest, CouchError, DocValidation, IllegalDocId, MissingStub
from .revs import normalize_rev, parse_revisions

#: special members accepted on write and dropped (CouchDB ``transfer_fields``)
IGNORED_SPECIALS = frozenset({"_revs_info", "_conflicts", "_deleted_conflicts", "_local_seq"})
#: special members accepted on write and kept in the body
KEPT_SPECIALS = frozenset({"_access"})


def validate_docid(docid: object, *, partitioned: bool = False) -> str:
    """Returns ``docid`` if it is a valid id; raises ``IllegalDocId`` (400) with CouchDB's reason.

    Rules: non-empty string; ``_design/x`` and ``_local/x`` are the only ids starting with ``_``;
    in a partitioned database every other id is ``partition:rest`` with a valid partition.
    CouchDB: couch_doc ``validate_docid``, couch_partition ``validate_docid``.
    """
    if not isinstance(docid, str):
        raise IllegalDocId("Document id must be a string")
    if not docid:
        raise IllegalDocId("Document id must not be empty")
    if docid.startswith("_"):
        for prefix in ("_design/", "_local/"):
            if docid.startswith(prefix):
                if docid == prefix:
                    raise IllegalDocId(f"Illegal document id `{prefix}`")
                return docid
        raise IllegalDocId("Only reserved document ids may start with underscore.")
    if partitioned:
        partition, sep, rest = docid.partition(":")
        if not sep or not rest:
            raise IllegalDocId("Doc id must be of form partition:id")
        validate_partition(partition)
    return docid


def validate_partition(partition: str) -> str:
    """Raises ``CouchError`` 400 ``illegal_partition`` for an empty or ``_``-prefixed partition."""
    if not partition:
        raise CouchError("Partition must not be empty", status=400, error="illegal_partition")
    if partition.startswith("_"):
        raise CouchError("Partition must not start with an underscore", status=400, error="illegal_partition")
    if ":" in partition:
        raise CouchError("Partition must not contain a colon", status=400, error="illegal_partition")
    return partition


def partition_of(docid: str) -> str | None:
    """``"p:x"`` → ``"p"``; ``None`` for design/local docs and ids without a colon."""
    if docid.startswith("_"):
        return None
    p, sep, _ = docid.partition(":")
    return p if sep else None


@dataclass(slots=True)
class DocInput:
    """A document as written by a client, split into its parts.

    ``body`` holds the user fields (and kept specials) in the order received.
    ``revisions`` is ``(start, ids newest first)`` from ``_revisions``; ``rev`` from ``_rev``.
    ``attachments`` is the raw ``_attachments`` object (resolved later by :func:`resolve_attachments`).
    """

    id: str | None
    rev: str | None
    deleted: bool
    body: dict[str, Any]
    revisions: tuple[int, list[str]] | None = None
    attachments: dict[str, Any] | None = None
    #: attachment bytes for ``"follows": true`` entries (multipart bodies, standalone PUTs)
    follows: dict[str, bytes] | None = None
    #: ``body`` as JSON, once encoded (for the size check); reset it whenever ``body`` changes
    encoded: bytes | None = None

    def body_json(self) -> bytes:
        """``body`` as compact JSON (member order kept), encoded once."""
        if self.encoded is None:
            self.encoded = orjson.dumps(self.body)
        return self.encoded


def parse_doc(obj: object, *, docid: str | None = None) -> DocInput:
    """Split a JSON document into a :class:`DocInput`.

    ``docid`` (from the URL) overrides the body's ``_id``. Raises ``BadRequest`` "Document must be a
    JSON object", ``DocValidation`` "Bad special document member: _x", ``InvalidRev``. A
    ``_deleted`` that is not a boolean, or a ``_revisions``/``_attachments`` that is not an object,
    is a bad special member too (no ``transfer_fields`` clause matches it).
    CouchDB: couch_doc ``from_json_obj`` / ``transfer_fields``.
    """
    if not isinstance(obj, dict):
        raise BadRequest("Document must be a JSON object")
    doc_id = obj.get("_id") if docid is None else docid
    specials = [k for k in obj if k[:1] == "_"]
    if not specials:  # the common case: one C-level copy, no per-member Python work
        return DocInput(doc_id, None, False, dict(obj))
    body: dict[str, Any] = {k: v for k, v in obj.items() if k[:1] != "_"}
    rev = None
    deleted = False
    revisions = None
    attachments = None
    for key in specials:
        value = obj[key]
        if key == "_id":
            continue
        elif key == "_rev":
            rev = normalize_rev(value)
        elif key == "_deleted" and isinstance(value, bool):
            deleted = value
        elif key == "_revisions" and isinstance(value, dict):
            revisions = parse_revisions(value)
        elif key == "_attachments" and (value is None or isinstance(value, dict)):
            attachments = value or None
        elif key in IGNORED_SPECIALS:
            continue
        elif key in KEPT_SPECIALS or key.startswith("_replication_"):
            body = {k: v for k, v in obj.items() if k[:1] != "_" or k in KEPT_SPECIALS
                    or k.startswith("_replication_")}  # kept members stay where they were
        else:
            raise DocValidation(f"Bad special document member: {key}")
    return DocInput(doc_id, rev, deleted, body, revisions, attachments)


# -- attachments ---------------------------------------------------------------------------------


def md5_digest(data: bytes) -> str:
    """``"md5-" + base64(md5(data))``, the digest PouchDB and couchsync use."""
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


@dataclass(slots=True)
class ResolvedAttachments:
    """``meta``: name → ``{"content_type","revpos","digest","length"}``; ``blobs``: digest → bytes."""

    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)


def resolve_attachments(
    raw: dict[str, Any] | None,
    *,
    new_pos: int,
    previous: dict[str, dict[str, Any]] | None,
    follows: dict[str, bytes] | None = None,
    replicated: bool = False,
) -> ResolvedAttachments:
    """Turn an incoming ``_attachments`` object into stored metadata and new blobs.

    Forms: ``stub: true`` (must match ``previous`` by name, and by revpos if given, else
    ``MissingStub`` 412), ``data`` (base64; invalid → 400 "Invalid attachment data for <name>"),
    ``follows: true`` (bytes from a multipart body, ``follows[name]``). New data gets ``revpos`` =
    ``new_pos`` unless ``replicated`` and the client supplied one. Names must not start with ``_``.
    CouchDB: couch_att ``from_json``, couch_db ``merge_stubs``.
    """
    out = ResolvedAttachments()
    if not raw:
        return out
    for name, att in raw.items():
        if name.startswith("_"):
            raise BadRequest(f"Attachment name '{name}' starts with prohibited character '_'")
        if not isinstance(att, dict):
            raise BadRequest(f"Invalid attachment stub for {name}")
        if att.get("stub") is True:
            prev = (previous or {}).get(name)
            revpos = att.get("revpos")
            if prev is None or (revpos is not None and revpos != prev.get("revpos")):
                raise MissingStub(f"Invalid attachment stub in {name}")
            out.meta[name] = dict(prev)
            continue
        if "data" in att:
            data = _decode_data(name, att["data"])
        elif att.get("follows") is True and follows is not None and name in follows:
            data = follows[name]
        else:
            raise BadRequest(f"Invalid attachment data for {name}")
        digest = md5_digest(data)
        revpos = att.get("revpos") if replicated and isinstance(att.get("revpos"), int) else new_pos
        ctype = att.get("content_type")
        out.meta[name] = {
            "content_type": ctype if isinstance(ctype, str) else "application/octet-stream",
            "revpos": revpos,
            "digest": digest,
            "length": len(data),
        }
        out.blobs[digest] = data
    return out


def _decode_data(name: str, data: object) -> bytes:
    if not isinstance(data, str):
        raise BadRequest(f"Invalid attachment data for {name}")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(f"Invalid attachment data for {name}") from None


def attachment_digests(meta: dict[str, dict[str, Any]] | None) -> list[tuple[str, str, str]]:
    """``[(name, content_type, digest)]`` for :func:`couchsync.core.revs.new_revid`."""
    return [(n, a["content_type"], a["digest"]) for n, a in (meta or {}).items()]
