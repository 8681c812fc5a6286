"""Fixtures of the audit tests: the API fixtures (``server``, ``client`` = server admin, ``anon``,
``db``, ``settings``, ``data_dir``) from :mod:`tests.api.conftest`."""

from __future__ import annotations

from tests.api.conftest import anon, client, data_dir, db, server, settings  # noqa: F401
