"""View collation through the API: rows come back in CouchDB's key order (ICU/UCA strings), ties
broken by raw doc id, and key ranges follow the same order.

Case sources:
  REF   /work/shared/reference/couchdb-protocol.md §4.5 "Collation" and §7 item 29
  DOCS  CouchDB docs src/docs/src/ddocs/views/collation.rst (collation specification list, 7-bit
        ASCII sequence, key ranges, complex keys, string ranges)
  VCT   CouchDB test/elixir/test/view_collation_test.exs (the ordered @values list)
  EJC   CouchDB src/couch/test/eunit/couch_ejson_compare_tests.erl (?TEST_VALUES)
The ordered lists are the ones of tests/core/test_collate.py (imported, not copied).
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from tests.core.test_collate import ASCII_ALNUM, DOCS_ASCII_SYMBOLS, EJSON_COMPARE_KEYS, VIEW_COLLATION_KEYS

from .conftest import bulk, ok, put_ddoc, view

BY_K = {"views": {"k": {"map": "function (doc) { if ('k' in doc) emit(doc.k, null); }"}}}


def _json_safe(v: Any) -> bool:
    try:
        orjson.dumps(v)  # no infinities, no integers beyond 64 bits
    except (TypeError, orjson.JSONEncodeError):
        return False
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53:
        return False  # not a JavaScript number: the map function would see another value
    return not (isinstance(v, float) and (v != v or abs(v) == float("inf")))


async def emit_keys(c: TestClient, db: str, keys: list[Any], *, seed: int = 7) -> list[str]:
    """Stores one doc per key under shuffled ids (so id order says nothing about key order);
    returns the ids in the order of ``keys``."""
    order = list(range(len(keys)))
    random.Random(seed).shuffle(order)
    ids = [f"d{order[i]:03d}" for i in range(len(keys))]
    await bulk(c, db, [{"_id": doc_id, "k": k} for doc_id, k in zip(ids, keys, strict=True)])
    await put_ddoc(c, db, "coll", BY_K)
    return ids


async def test_reference_mixed_keys(client: TestClient, db: str) -> None:
    """REF §7 item 29: emit keys ["b","A","a","B",1,null,[],{}] → null,1,a,A,b,B,[],{}; and
    ``_all_docs`` orders ids raw: A,B,a,b."""
    docs = [{"_id": k, "k": k} for k in ["b", "A", "a", "B"]] + [
        {"_id": "one", "k": 1},
        {"_id": "null", "k": None},
        {"_id": "arr", "k": []},
        {"_id": "obj", "k": {}},
    ]
    await bulk(client, db, docs)
    await put_ddoc(client, db, "coll", BY_K)
    res = await view(client, db, "coll", "k")
    assert [r["key"] for r in res["rows"]] == [None, 1, "a", "A", "b", "B", [], {}]
    assert [r["id"] for r in res["rows"]] == ["null", "one", "a", "A", "b", "B", "arr", "obj"]
    res = await view(client, db, "coll", "k", {"descending": True})
    assert [r["key"] for r in res["rows"]] == [{}, [], "B", "b", "A", "a", 1, None]
    all_docs = await ok(client, "GET", f"/{db}/_all_docs?keys=%5B%22b%22%2C%22A%22%2C%22a%22%2C%22B%22%5D")
    assert [r["id"] for r in all_docs["rows"]] == ["b", "A", "a", "B"]  # keys: request order
    all_docs = await ok(client, "GET", f"/{db}/_all_docs?startkey=%22A%22&endkey=%22b%22")
    assert [r["id"] for r in all_docs["rows"]] == ["A", "B", "_design/coll", "a", "arr", "b"]


@pytest.mark.parametrize(
    "keys",
    [VIEW_COLLATION_KEYS, [k for k in EJSON_COMPARE_KEYS if _json_safe(k)]],
    ids=["VCT-docs-list", "EJC"],
)
async def test_ordered_key_lists(client: TestClient, db: str, keys: list[Any]) -> None:
    """DOCS/VCT/EJC: the canonical ascending key lists come back in list order, ascending and
    descending; every key finds exactly its own row with ``key=``."""
    ids = await emit_keys(client, db, keys)
    res = await view(client, db, "coll", "k")
    assert [r["id"] for r in res["rows"]] == ids
    res = await view(client, db, "coll", "k", {"descending": True})
    assert [r["id"] for r in res["rows"]] == ids[::-1]
    # VCT "lookup each key": key= matches exactly that row (1 == 1.0 == 3.0 style numbers too)
    for doc_id, k in list(zip(ids, keys, strict=True))[:: max(1, len(keys) // 12)]:
        res = await view(client, db, "coll", "k", {"key": k})
        assert [r["id"] for r in res["rows"]] == [doc_id], k


async def test_ordered_key_list_ranges(client: TestClient, db: str) -> None:
    """VCT: ``startkey``/``endkey``/``inclusive_end`` over the collation list cut at positions."""
    keys = VIEW_COLLATION_KEYS
    ids = await emit_keys(client, db, keys)
    for i, j in [(0, len(keys) - 1), (3, 10), (7, 14), (13, 20), (19, 25)]:
        res = await view(client, db, "coll", "k", {"startkey": keys[i], "endkey": keys[j]})
        assert [r["id"] for r in res["rows"]] == ids[i : j + 1], (keys[i], keys[j])
        res = await view(
            client, db, "coll", "k", {"startkey": keys[i], "endkey": keys[j], "inclusive_end": False}
        )
        assert [r["id"] for r in res["rows"]] == ids[i:j], (keys[i], keys[j])
        res = await view(
            client, db, "coll", "k", {"startkey": keys[j], "endkey": keys[i], "descending": True}
        )
        assert [r["id"] for r in res["rows"]] == ids[i : j + 1][::-1], (keys[j], keys[i])


async def test_ascii_sequence_from_docs(client: TestClient, db: str) -> None:
    """DOCS "collation sequence for 7-bit ASCII characters": symbols, digits, then aAbB…zZ (the
    docs' leading "` ^" moved among the symbols in current CLDR; see tests/core/test_collate)."""
    chars = [chr(i) for i in range(32, 127)]
    ids = await emit_keys(client, db, chars)
    by_id = dict(zip(ids, chars, strict=True))
    res = await view(client, db, "coll", "k")
    got = [by_id[r["id"]] for r in res["rows"]]
    assert [c for c in got if c not in "`^"] == list(" " + DOCS_ASCII_SYMBOLS + ASCII_ALNUM)
    assert got.index("`") < got.index("0") and got.index("^") < got.index("0")


async def test_key_ranges_from_docs(client: TestClient, db: str) -> None:
    """DOCS "Key ranges": abc < Abc < ABC < abc1 < AbcZZZZZ, and ``startkey="Abc"&endkey="AbcZZZZ"``
    matches ABC and abc1, not abc; "String ranges": ``endkey="abc\\ufff0"`` is above every
    ``abc…`` string."""
    keys = ["abc", "Abc", "ABC", "abc1", "abcz", "AbcZZZZZ", "abd"]
    ids = await emit_keys(client, db, keys)
    res = await view(client, db, "coll", "k")
    assert [r["id"] for r in res["rows"]] == ids
    res = await view(client, db, "coll", "k", {"startkey": "Abc", "endkey": "AbcZZZZ"})
    assert [r["id"] for r in res["rows"]] == ids[1:5]
    await ok(client, "PUT", f"/{db}/emoji", 201, json={"k": "abc😀"})
    res = await view(client, db, "coll", "k", {"startkey": "abc", "endkey": "abc\ufff0"})
    assert sorted(r["id"] for r in res["rows"]) == sorted([*ids[:6], "emoji"])


async def test_complex_key_ranges_from_docs(client: TestClient, db: str) -> None:
    """DOCS "Complex keys": ``startkey=["foo"]&endkey=["foo",{}]`` holds every ``["foo", …]``."""
    inside = [["foo"], ["foo", None], ["foo", 1], ["foo", "bar"], ["foo", ["bar", "baz"]]]
    outside = [["fo"], "foo", ["foo", {"an": "object"}], ["foo", {}, 1], ["fop"]]
    ids = await emit_keys(client, db, inside + outside)
    res = await view(client, db, "coll", "k", {"startkey": ["foo"], "endkey": ["foo", {}]})
    assert [r["id"] for r in res["rows"]] == ids[: len(inside)]
    assert [r["key"] for r in res["rows"]] == inside


async def test_equal_keys_tie_on_raw_doc_id(client: TestClient, db: str) -> None:
    """REF §4.5: rows with equal keys are ordered by doc id in raw byte order (not ICU)."""
    ids = ["b", "B", "a", "A", "_x", "é", "z", "Z"]
    await bulk(client, db, [{"_id": i, "k": "same"} for i in ids if not i.startswith("_")])
    await put_ddoc(client, db, "coll", BY_K)
    res = await view(client, db, "coll", "k")
    assert [r["id"] for r in res["rows"]] == ["A", "B", "Z", "a", "b", "z", "é"]
    res = await view(client, db, "coll", "k", {"descending": True})
    assert [r["id"] for r in res["rows"]] == ["é", "z", "b", "a", "Z", "B", "A"]


async def test_string_equivalence_in_key_lookups(client: TestClient, db: str) -> None:
    """REF §4.5 (ICU, tertiary strength): ``key="a"`` does not match "A"; canonically equivalent
    spellings ("é" precomposed and "e" + combining acute) are the same key; 1 == 1.0."""
    docs = [
        {"_id": "lower", "k": "a"},
        {"_id": "upper", "k": "A"},
        {"_id": "nfc", "k": "\u00e9"},
        {"_id": "nfd", "k": "e\u0301"},
        {"_id": "e", "k": "e"},
        {"_id": "f", "k": "f"},
        {"_id": "int", "k": 1},
        {"_id": "float", "k": 1.5},
    ]
    await bulk(client, db, docs)
    await put_ddoc(client, db, "coll", BY_K)
    res = await view(client, db, "coll", "k", {"key": "a"})
    assert [r["id"] for r in res["rows"]] == ["lower"]
    res = await view(client, db, "coll", "k", {"key": "\u00e9"})
    assert [r["id"] for r in res["rows"]] == ["nfc", "nfd"]
    res = await view(client, db, "coll", "k", {"key": 1.0})
    assert [r["id"] for r in res["rows"]] == ["int"]
    res = await view(client, db, "coll", "k", {"startkey": "e", "endkey": "f"})
    assert [r["id"] for r in res["rows"]] == ["e", "nfc", "nfd", "f"]
