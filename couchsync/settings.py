"""One frozen :class:`Settings`, built once from CLI flags and ``COUCHSYNC_*`` environment variables.

Every field can be set by the environment variable ``COUCHSYNC_<FIELD NAME IN UPPER CASE>``;
``couchsync serve --help`` lists the flags. Lists are comma-separated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

DEFAULT_CORS_HEADERS = (
    "accept", "accept-language", "authorization", "content-length", "content-range", "content-type",
    "destination", "expires", "if-match", "last-modified", "origin", "pragma", "x-couch-full-commit",
    "x-couch-id", "x-couch-persist", "x-couchdb-www-authenticate", "x-http-method-override",
    "x-requested-with", "x-couchdb-vhost-path",
)


@dataclass(frozen=True)
class Settings:
    """Server settings. Sizes in bytes, times in seconds unless the name says ``_ms``."""

    host: str = "127.0.0.1"
    port: int = 5984
    data_dir: str = "./data"
    #: ``name:password`` of the server admin (stored as a bcrypt hash in the data dir)
    admin: str | None = None
    #: allowed CORS origins (exact match, or ``*`` to echo any origin); empty: CORS off
    cors_origins: tuple[str, ...] = ()
    cors_credentials: bool = True
    cors_headers: tuple[str, ...] = DEFAULT_CORS_HEADERS
    cors_methods: tuple[str, ...] = ("GET", "PUT", "POST", "HEAD", "DELETE", "COPY", "OPTIONS")
    max_document_size: int = 8_000_000
    max_attachment_size: int = 1 << 30
    max_http_request_size: int = 4 << 30
    max_open_dbs: int = 200
    session_timeout: int = 600
    cookie_secure: bool = False
    cookie_same_site: str | None = None
    allow_persistent_cookies: bool = True
    changes_timeout_ms: int = 60_000
    bcrypt_rounds: int = 12
    #: JWT: ``alg-type:kid=key`` entries, e.g. ``hmac:_default=<base64 secret>`` (issue: tenants)
    jwt_keys: tuple[str, ...] = field(default=())
    log_level: str = "INFO"
    #: append an audit entry for every accepted revision and keep history bodies (issue 7); off
    #: only to measure its cost: no entries, and compaction/stemming/purge drop bodies as CouchDB
    audit: bool = True
    #: directory of the built web app served at ``/_app/`` (``npm run build:web``); unset: the
    #: repository's ``web/dist`` next to the package (an editable install)
    app_dir: str | None = None

    @classmethod
    def from_env(cls, overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> Settings:
        """Defaults ← ``COUCHSYNC_*`` environment ← explicit ``overrides`` (non-``None`` flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get("COUCHSYNC_" + f.name.upper())
            if raw is not None:
                values[f.name] = _convert(f.type, raw)
        for k, v in (overrides or {}).items():
            if v is not None:
                values[k] = v
        return cls(**values)


def _convert(type_name: Any, raw: str) -> Any:
    t = str(type_name)
    if t.startswith("int"):
        return int(raw)
    if t.startswith("bool"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if t.startswith("tuple"):
        return tuple(x.strip() for x in raw.split(",") if x.strip())
    return raw
