"""The server's persistent identity in ``<data_dir>/server.json``: uuid, cookie secret, admins.

The ``uuid`` (``GET /``) is created once and never changes: PouchDB derives replication ids from
it, so a new uuid would make every client rescan from seq 0 (protocol reference §1.2). Admin
passwords are stored only as bcrypt hashes.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

import bcrypt
import orjson


@dataclass
class ServerConfig:
    """``uuid`` (32 hex), ``secret`` (hex, HMAC key for AuthSession cookies), ``admins`` name → hash."""

    path: str
    uuid: str
    secret: str
    admins: dict[str, str] = field(default_factory=dict)

    def save(self) -> None:
        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(orjson.dumps({"uuid": self.uuid, "secret": self.secret, "admins": self.admins},
                                 option=orjson.OPT_INDENT_2))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        os.chmod(self.path, 0o600)


def load_server_config(data_dir: str, admin: str | None, rounds: int = 12) -> tuple[ServerConfig, str | None]:
    """Loads or creates ``server.json``; applies ``admin`` (``name:password``).

    Returns ``(config, generated)`` where ``generated`` is a new ``name:password`` to print once,
    when no admin was configured or given. Raises ``ValueError`` for an ``admin`` without ``:``.
    """
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, "server.json")
    if os.path.exists(path):
        with open(path, "rb") as f:
            raw = orjson.loads(f.read())
        cfg = ServerConfig(path, raw["uuid"], raw["secret"], dict(raw.get("admins", {})))
    else:
        cfg = ServerConfig(path, secrets.token_hex(16), secrets.token_hex(32))
    generated = None
    if admin:
        name, sep, password = admin.partition(":")
        if not sep or not name or not password:
            raise ValueError("admin must be given as name:password")
        current = cfg.admins.get(name)
        if current is None or not bcrypt.checkpw(password.encode(), current.encode()):
            cfg.admins[name] = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()
    elif not cfg.admins:
        password = secrets.token_urlsafe(12)
        cfg.admins["admin"] = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()
        generated = f"admin:{password}"
    cfg.save()
    return cfg, generated
