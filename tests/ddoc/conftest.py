"""Fixtures: a real couchsync server on a loopback port (shared with tests/api)."""

from tests.api.conftest import ADMIN, data_dir, server, settings  # noqa: F401
