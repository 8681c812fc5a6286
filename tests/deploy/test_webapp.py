"""``/_app/`` static serving (couchsync/api/webapp.py) against a small fake build in a temp dir:
redirect, index, content types, caching headers, ETag revalidation, HEAD, anonymous access, path
traversal, and the hint when the app is not built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from couchsync.api.app import create_app
from couchsync.api.webapp import DEFAULT_APP_DIR, app_dir, resolve_file
from couchsync.errors import NotFound
from couchsync.settings import Settings

ADMIN = ("admin", "secret")


@pytest.fixture
def built(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>couchsync</title>")
    (root / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    (root / "manifest.webmanifest").write_text("{}")
    (root / "icon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "assets" / "app-3F2KX7QA.js").write_text("console.log(1);")
    (root / "assets" / "app-ZQ4M2B6C.css").write_text("body{}")
    (root / ".hidden").write_text("secret")
    (tmp_path / "outside.txt").write_text("outside")
    (root / "link.txt").symlink_to(tmp_path / "outside.txt")
    return root


async def _client(tmp_path: Path, app: Path | None) -> TestClient:
    settings = Settings(data_dir=str(tmp_path / "data"), admin=":".join(ADMIN), bcrypt_rounds=4,
                        app_dir=str(app) if app else None)
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


@pytest.fixture
async def anon(tmp_path: Path, built: Path) -> AsyncIterator[TestClient]:
    client = await _client(tmp_path, built)
    yield client
    await client.close()


async def test_redirect_and_index(anon: TestClient) -> None:
    r = await anon.get("/_app", allow_redirects=False)
    assert r.status == 301
    assert r.headers["Location"] == "/_app/"
    r = await anon.get("/_app/")
    assert r.status == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-cache"
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert "<title>couchsync</title>" in await r.text()
    r = await anon.get("/_app/index.html")
    assert r.status == 200


@pytest.mark.parametrize(("path", "ctype", "cache"), [
    ("/_app/sw.js", "text/javascript; charset=utf-8", "no-cache"),
    ("/_app/manifest.webmanifest", "application/manifest+json", "no-cache"),
    ("/_app/icon.svg", "image/svg+xml", "no-cache"),
    ("/_app/assets/app-3F2KX7QA.js", "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"),
    ("/_app/assets/app-ZQ4M2B6C.css", "text/css; charset=utf-8", "public, max-age=31536000, immutable"),
])
async def test_content_types_and_caching(anon: TestClient, path: str, ctype: str, cache: str) -> None:
    r = await anon.get(path)
    assert r.status == 200
    assert r.headers["Content-Type"] == ctype
    assert r.headers["Cache-Control"] == cache
    assert r.headers["X-Content-Type-Options"] == "nosniff"


async def test_etag_revalidation_and_head(anon: TestClient) -> None:
    r = await anon.get("/_app/sw.js")
    etag = r.headers["ETag"]
    body = await r.read()
    r = await anon.get("/_app/sw.js", headers={"If-None-Match": etag})
    assert r.status == 304
    assert await r.read() == b""
    r = await anon.head("/_app/sw.js")
    assert r.status == 200
    assert int(r.headers["Content-Length"]) == len(body)
    assert await r.read() == b""


async def test_logged_in_users_get_the_same_files(anon: TestClient) -> None:
    r = await anon.get("/_app/", headers={"Authorization": aiohttp.encode_basic_auth(*ADMIN)})
    assert r.status == 200


@pytest.mark.parametrize("path", [
    "/_app/missing.js", "/_app/assets", "/_app/assets/", "/_app/.hidden", "/_app/link.txt",
    "/_app/..%2Foutside.txt", "/_app/assets/..%2F..%2Foutside.txt", "/_app/%2e%2e/outside.txt",
    "/_app/assets/%2e%2e/index.html", "/_app/a%5C..%5Coutside.txt", "/_app/index.html%00",
])
async def test_refused_paths(anon: TestClient, path: str) -> None:
    raw = URL(str(anon.make_url("/")).rstrip("/") + path, encoded=True)  # no client-side dot-segment removal
    r = await anon.session.get(raw, allow_redirects=False)
    assert r.status == 404, path
    assert (await r.json())["error"] == "not_found"


async def test_post_is_not_allowed(anon: TestClient) -> None:
    r = await anon.post("/_app/index.html")
    assert r.status == 405


async def test_not_built_hint(tmp_path: Path) -> None:
    client = await _client(tmp_path, tmp_path / "nowhere")
    try:
        r = await client.get("/_app/")
        assert r.status == 404
        assert "npm run build:web" in (await r.json())["reason"]
    finally:
        await client.close()


def test_resolve_file_and_default_dir(built: Path) -> None:
    assert resolve_file(built, "") == (built / "index.html").resolve()
    assert resolve_file(built, "assets/app-3F2KX7QA.js").name == "app-3F2KX7QA.js"
    for bad in ("../outside.txt", "assets/../../outside.txt", "./index.html", "assets//x"):
        with pytest.raises(NotFound):
            resolve_file(built, bad)
    assert app_dir(Settings()) == DEFAULT_APP_DIR
    assert DEFAULT_APP_DIR.parts[-2:] == ("web", "dist")
