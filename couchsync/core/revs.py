"""Revision strings: parse and format ``"<pos>-<revid>"``, and the deterministic new revid.

A rev is ``"<pos>-<revid>"``: ``pos`` a positive integer (0 only for ``_local`` docs), ``revid``
everything after the first ``-``. A 32-character revid must be hex (CouchDB stores it as 16 bytes);
uppercase hex is accepted and normalised to lowercase; revids of any other length are kept verbatim.

Sources: CouchDB ``couch_doc:parse_rev/1``, ``couch_db:new_revid/1``; PouchDB ``pouchdb-utils/rev``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from ..errors import DocValidation, InvalidRev

_HEX = frozenset("0123456789abcdef")


def parse_rev(rev: object) -> tuple[int, str]:
    """``"3-abc…"`` → ``(3, "abc…")``.

    Raises ``InvalidRev`` (400 bad_request "Invalid rev format") for a non-string, a missing ``-``,
    a non-integer or negative pos, an empty revid, or a 32-char revid that is not hex.
    CouchDB: couch_doc ``parse_rev``.
    """
    if not isinstance(rev, str):
        raise InvalidRev()
    pos_s, sep, revid = rev.partition("-")
    if not sep or not revid or not pos_s.isdigit() or not pos_s.isascii():
        raise InvalidRev()
    if len(revid) == 32:
        revid = revid.lower()
        if not _HEX.issuperset(revid):
            raise InvalidRev()
    return int(pos_s), revid


_CANONICAL = re.compile(r"[1-9][0-9]*-[0-9a-f]{32}")


def normalize_rev(rev: object) -> str:
    """Returns the rev in canonical form (lowercase hex revid); raises ``InvalidRev``."""
    if isinstance(rev, str) and _CANONICAL.fullmatch(rev):  # what PouchDB and CouchDB send
        return rev
    pos, revid = parse_rev(rev)
    return f"{pos}-{revid}"


def format_rev(pos: int, revid: str) -> str:
    """``(3, "abc")`` → ``"3-abc"``."""
    return f"{pos}-{revid}"


def parse_revisions(revisions: object) -> tuple[int, list[str]]:
    """Validates a ``_revisions`` member ``{"start": N, "ids": [newest, …, oldest]}``.

    Returns ``(start, ids)`` with 32-char ids lowercased. Raises ``DocValidation`` (400) with CouchDB's
    reasons ("_revisions.start isn't an integer.", "_revisions.ids isn't a array.", "RevId isn't a string",
    "RevId isn't a valid hexadecimal"). CouchDB: couch_doc ``transfer_fields`` / ``validate_revs``.
    """
    if not isinstance(revisions, dict):
        raise DocValidation("_revisions is not an object")
    start = revisions.get("start")
    ids = revisions.get("ids")
    if not isinstance(start, int) or isinstance(start, bool) or start < 0:
        raise DocValidation("_revisions.start isn't an integer.")
    if not isinstance(ids, list):
        raise DocValidation("_revisions.ids isn't a array.")
    if start < len(ids):
        raise DocValidation("_revisions.start is less than the number of ids")
    out: list[str] = []
    for revid in ids:
        if not isinstance(revid, str):
            raise DocValidation("RevId isn't a string")
        if len(revid) == 32:
            revid = revid.lower()
            if not _HEX.issuperset(revid):
                raise DocValidation("RevId isn't a valid hexadecimal")
        if not revid:
            raise DocValidation("RevId isn't a string")
        out.append(revid)
    return start, out


def new_revid(deleted: bool, parent_rev: str | None, body: dict[str, Any], att_digests: list[tuple[str, str, str]]) -> str:
    """The deterministic revid of an interactive edit: 32 lowercase hex chars.

    ``md5`` over a canonical serialisation (sorted keys) of ``[deleted, parent_rev or 0, body,
    [(name, content_type, digest), …]]``, where ``body`` excludes the special ``_`` members. The same
    edit on the same parent yields the same rev on any couchsync node (not byte-compatible with
    CouchDB's Erlang term hashing, which PouchDB interop does not need). CouchDB: couch_db ``new_revid``.
    """
    term = [deleted, parent_rev or 0, body, sorted(att_digests)]
    return hashlib.md5(orjson.dumps(term, option=orjson.OPT_SORT_KEYS)).hexdigest()
