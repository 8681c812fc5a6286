"""Tenant database names: ``slugify(org name)`` + ``-`` + a 7-character random id.

``"Cure"`` → ``cure-k3x9p2a``. The id uses a lowercase alphabet (``shortuuid`` with
``23456789abcdefghijkmnopqrstuvwxyz``) so the name stays a valid CouchDB database name
(``^[a-z][a-z0-9_$()+/-]*$``): tenant databases can then be replicated to and from CouchDB itself.
A slug that does not start with a letter gets the prefix ``org-``. Pure: no I/O.
"""

from __future__ import annotations

import shortuuid
from slugify import slugify

from ..errors import BadRequest

ID_ALPHABET = "23456789abcdefghijkmnopqrstuvwxyz"
ID_LENGTH = 7
MAX_NAME_LENGTH = 200
MAX_SLUG_LENGTH = 64


def tenant_slug(name: object) -> str:
    """The slug of an organisation name; raises ``BadRequest`` (400) for a non-string, empty,
    over-long (> 200 characters) name, or one that slugifies to nothing."""
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("Tenant name must be a non-empty string.")
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequest(f"Tenant name must be at most {MAX_NAME_LENGTH} characters.")
    slug = slugify(name, max_length=MAX_SLUG_LENGTH, word_boundary=True)
    if not slug:
        raise BadRequest(f"Tenant name {name!r} has no letters or digits to build a database name from.")
    if not slug[0].isalpha():
        slug = "org-" + slug
    return slug


def tenant_db_name(name: object) -> str:
    """A new database name for the organisation ``name`` (random; call again on a clash)."""
    return f"{tenant_slug(name)}-{shortuuid.ShortUUID(alphabet=ID_ALPHABET).random(ID_LENGTH)}"
