"""Smoke test of the fixture: the root answers and a db round-trips a document."""

from aiohttp.test_utils import TestClient


async def test_root_and_doc(client: TestClient, db: str) -> None:
    r = await client.get("/")
    body = await r.json()
    assert body["couchdb"] == "Welcome" and len(body["uuid"]) == 32
    r = await client.put(f"/{db}/a", json={"x": 1})
    assert r.status == 201
    rev = (await r.json())["rev"]
    r = await client.get(f"/{db}/a")
    assert await r.json() == {"_id": "a", "_rev": rev, "x": 1}
