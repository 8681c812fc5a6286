"""Differential test of ``_find``: the server against the independent reference evaluator.

Hypothesis draws random selectors (every operator of the issue, nested ``$and``/``$or``/``$nor``/
``$not``, dotted paths through arrays, an escaped dot, ``_id`` conditions), an optional sort, ``limit``,
``skip`` and ``fields`` over a fixed set of 200 FHIR-shaped documents (Patient-like resources with
names, genders, birth dates, addresses, identifier arrays, numbers of mixed types, nulls and missing
fields, plus some Observations), spread over partitions ``h1:``..``h4:``. Each query runs

(a) on a database without indexes (answered from ``_all_docs``, rows in raw ``_id`` order);
(b) on a copy with json indexes (the planner picks one, or ``_all_docs``);
(c) on a partitioned copy, globally (global indexes only) and in one partition
    (``/{db}/_partition/{p}/_find``, partitioned indexes only);

and the answer must equal :func:`tests.mango.reference.find` exactly: the same documents, in the
same order, projected the same way. The order of a query is the order of the index serving it
(CouchDB streams view rows: index key, then doc id, reversed for ``desc``), so the reference is
told which index ``_explain`` reports for the same query — and independently checks that the chosen
index cannot have lost a matching document (an index on fields the selector does not require would
silently drop documents missing them; a sort may only drop documents lacking a sort field).

Sorts: CouchDB needs an index for any sort other than ``_id``. A sort whose fields exactly form an
index in scope must succeed; a sort with no index in scope holding all its fields must fail with
CouchDB's scope-specific ``no_usable_index`` reason (apache/couchdb#1970); a sort covered by an index
only after ``$eq``-fixed leading fields may go either way (CouchDB ``mango_idx_view:can_use_sort``).

Deterministic: ``derandomize=True`` and no example database; 200 examples per scenario (for a longer
hunt set ``COUCHSYNC_MANGO_EXAMPLES=2000``, and ``COUCHSYNC_MANGO_RANDOM=1`` with ``--hypothesis-seed=N``
for other examples)
(``--hypothesis-show-statistics`` shows how many matched nothing, used an index, hit each sort outcome).
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.mango import reference
from tests.mango.conftest import LiveServer, SyncClient

SORT_NO_INDEX = "No index exists for this sort, try indexing by the sort fields."
SORT_NO_GLOBAL = "No global index exists for this sort, try indexing by the sort fields."
SORT_NO_PARTITIONED = "No partitioned index exists for this sort, try indexing by the sort fields."

PARTITIONS = {"h1": 80, "h2": 60, "h3": 40, "h4": 20}

# --------------------------------------------------------------------------------------------------
# the documents

FAMILY = ["Smith", "Johnson", "García", "Müller", "Nguyen", "O'Brien", "smith", "Lee", "Brown", "Peña", "van Dyke",
          "Smithson", "Lee-Park", "Zoë😀", "SMITH", "Ng"]
GIVEN = ["Ann", "Bob", "Chloé", "Dmitri", "Eve", "Fatima", "Gus", "Hana", "ann"]
CITIES = ["Boston", "Springfield", "Salem", "Worcester", "boston", "Lowell", "Ösby"]
STATES = ["MA", "NH", "VT"]
SYSTEMS = ["urn:mrn", "urn:ssn", "urn:dl"]
TAGS = ["vip", "new", "transfer", "research", "deceased"]
EXT_KEYS = ["race", "ethnicity", "birthsex", "religion"]


def make_docs(seed: int = 20261121) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    docs: list[dict[str, Any]] = []
    n = 0
    for part, count in PARTITIONS.items():
        for _ in range(count):
            n += 1
            if rnd.random() < 0.1:
                docs.append(_observation(rnd, part, n))
                continue
            doc: dict[str, Any] = {"_id": f"{part}:Patient-{n:04d}", "resourceType": "Patient", "id": f"pt-{n}"}
            g = rnd.random()
            if g < 0.4:
                doc["gender"] = "female"
            elif g < 0.75:
                doc["gender"] = "male"
            elif g < 0.82:
                doc["gender"] = rnd.choice(["other", "unknown"])
            elif g < 0.9:
                doc["gender"] = None
            if rnd.random() < 0.85:
                y = rnd.randint(1930, 2024)
                doc["birthDate"] = f"{y}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}" if rnd.random() < 0.93 \
                    else str(y)
            if rnd.random() < 0.9:
                doc["name"] = [
                    {"use": rnd.choice(["official", "nickname", "maiden"]), "family": rnd.choice(FAMILY),
                     "given": rnd.sample(GIVEN, rnd.randint(0, 2))}
                    for _ in range(rnd.choice([0, 1, 1, 1, 2]))
                ]
            if rnd.random() < 0.8:
                doc["address"] = [
                    {"city": rnd.choice(CITIES), "state": rnd.choice(STATES),
                     "postalCode": f"0{rnd.randint(1000, 2999)}", "line": [f"{rnd.randint(1, 99)} Main St"]}
                    for _ in range(rnd.choice([0, 1, 1, 2]))
                ]
            doc["identifier"] = [
                {"system": rnd.choice(SYSTEMS), "value": f"{rnd.choice('ABC')}{rnd.randint(100, 999)}"}
                for _ in range(rnd.randint(1, 3))
            ]
            a = rnd.random()
            if a < 0.7:
                doc["active"] = rnd.random() < 0.7
            elif a < 0.8:
                doc["active"] = None
            doc.update(_score(rnd))
            if rnd.random() < 0.8:
                doc["tags"] = rnd.sample(TAGS, rnd.randint(0, 3))
            doc["meta"] = {"versionId": str(rnd.randint(1, 5)), "lastUpdated": f"2024-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}"}
            if rnd.random() < 0.6:
                doc["ext"] = {k: rnd.choice(["a", "b", "c"]) for k in rnd.sample(EXT_KEYS, rnd.randint(0, 3))}
            if rnd.random() < 0.3:
                doc["ext.code"] = rnd.choice(["X1", "X2", "Y1", 7, None])
            if rnd.random() < 0.2:
                doc["multipleBirth"] = rnd.choice([True, False, 1, 2, 3])
            docs.append(doc)
    return docs


EXTREMES = [2**60, -(2**60) + 1, 1e300, -1e300, 1e-300, 0.1, 2**53 + 1, -7, 120.25]


def _score(rnd: random.Random) -> dict[str, Any]:
    s = rnd.random()
    if s < 0.04:
        return {"score": rnd.choice(EXTREMES)}
    if s < 0.6:
        return {"score": rnd.randint(-20, 120)}
    if s < 0.75:
        return {"score": rnd.randint(-20, 120) + 0.5}
    if s < 0.8:
        return {"score": str(rnd.randint(0, 99))}
    if s < 0.85:
        return {"score": None}
    if s < 0.88:
        return {"score": [rnd.randint(0, 9), rnd.randint(0, 9)]}
    return {}


def _observation(rnd: random.Random, part: str, n: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": f"{part}:Observation-{n:04d}",
        "resourceType": "Observation",
        "id": f"obs-{n}",
        "status": rnd.choice(["final", "amended", "preliminary"]),
        "code": {"text": rnd.choice(["Body Weight", "Heart rate", "Glucose"])},
        "valueQuantity": {"value": round(rnd.uniform(40, 200), 1), "unit": rnd.choice(["kg", "/min", "mg/dL"])},
        "subject": {"reference": f"Patient/pt-{rnd.randint(1, 200)}"},
        "meta": {"versionId": str(rnd.randint(1, 5))},
    }
    doc.update(_score(rnd))
    if rnd.random() < 0.5:
        doc["tags"] = rnd.sample(TAGS, rnd.randint(0, 2))
    return doc


DOCS = make_docs()
DOC_IDS = [d["_id"] for d in DOCS]

# --------------------------------------------------------------------------------------------------
# indexes per scope and the sorts the generator may ask for

PLAIN_INDEXES = [["birthDate"], ["gender", "birthDate"], ["name.0.family"], ["score"], ["address.0.city", "score"],
                 ["ext\\.code"], ["active"], ["meta.versionId", "score"]]
GLOBAL_INDEXES = [["gender", "birthDate"], ["score"], ["tags"]]
PARTITIONED_INDEXES = [["birthDate"], ["name.0.family"], ["address.0.city", "score"], ["gender"]]
SORTS = [["birthDate"], ["gender", "birthDate"], ["name.0.family"], ["score"], ["address.0.city", "score"], ["_id"],
         ["identifier.0.value"], ["gender"], ["tags"]]


def sort_outcome(sort_fields: list[str], scope: list[list[str]]) -> str:
    """``"ok"`` (an index is exactly the sort), ``"fail"`` (no index holds every sort field) or
    ``"either"`` (only usable with ``$eq``-fixed leading fields, CouchDB ``can_use_sort``)."""
    if sort_fields == ["_id"] or sort_fields in scope:
        return "ok"
    if not any(set(sort_fields) <= set(idx) for idx in scope):
        return "fail"
    return "either"


# --------------------------------------------------------------------------------------------------
# selector strategies


def _pool(path: str) -> list[Any]:
    seen: list[Any] = []
    for d in DOCS:
        v = reference.get_path(d, reference.parse_path(path))
        if v is not reference.MISSING and v is not reference.BAD_PATH and v not in seen:
            seen.append(v)
    return seen


CROSS_TYPE = [None, False, True, 0, 50, -1.5, "", "M", "m", "Smith", [], ["vip"], {}, {"race": "a"}]
SCALAR_FIELDS = ["gender", "birthDate", "name.0.family", "name.0.given.0", "name.1.family", "address.0.city",
                 "address.0.state", "identifier.0.system", "identifier.1.value", "active", "score", "meta.versionId",
                 "resourceType", "ext\\.code", "valueQuantity.value", "status", "multipleBirth", "name.0.use",
                 "address.0.postalCode"]
POOLS = {f: _pool(f)[:40] + CROSS_TYPE for f in SCALAR_FIELDS}
POOLS["_id"] = DOC_IDS[::7] + ["h1:", "h2:", "h3:Patient-01", "h4:", "h9", "", None, 5]
ARRAY_FIELDS = {"tags": TAGS + ["other", 3, None], "name": [], "identifier": [], "address": [],
                "name.0.given": GIVEN + ["Zed"], "score": [1, 5, 9]}
OBJECT_FIELDS = ["ext", "meta", "code", "valueQuantity", "name.0"]
REGEXES = ["^S", "son$", "^[a-f]", "(?i)^s", "a", "^$", "e.*e", "[0-9]", "^19[5-8]", "-0[1-6]-", "(?i)garc", "^urn",
           "^A[0-4]", "mith"]
TYPES = ["null", "boolean", "number", "string", "array", "object"]


def _value(draw: Any, field: str) -> Any:
    return draw(st.sampled_from(POOLS[field]))


@st.composite
def scalar_condition(draw: Any, field: str) -> Any:
    """A condition object (or a bare value = implicit $eq) for ``field``."""
    kind = draw(st.sampled_from(
        ["eq", "implicit", "ne", "range", "range", "in", "nin", "exists", "type", "regex", "begins", "mod",
         "not", "or"]
    ))
    v = _value(draw, field)
    if kind == "eq":
        return {"$eq": v}
    if kind == "implicit":
        return v if not isinstance(v, dict) or not v else {"$eq": v}
    if kind == "ne":
        return {"$ne": v}
    if kind == "range":
        ops = draw(st.lists(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), min_size=1, max_size=2, unique=True))
        return {op: _value(draw, field) for op in ops}
    if kind in ("in", "nin"):
        return {f"${kind}": draw(st.lists(st.sampled_from(POOLS[field]), min_size=0, max_size=3))}
    if kind == "exists":
        return {"$exists": draw(st.booleans())}
    if kind == "type":
        return {"$type": draw(st.sampled_from(TYPES))}
    if kind == "regex":
        return {"$regex": draw(st.sampled_from(REGEXES))}
    if kind == "begins":
        s = draw(st.sampled_from([p for p in POOLS[field] if isinstance(p, str)] or ["S"]))
        return {"$beginsWith": s[: draw(st.integers(0, 3))]}
    if kind == "mod":
        return {"$mod": [draw(st.sampled_from([2, 3, 5, -3, 7])), draw(st.integers(-2, 2))]}
    if kind == "not":
        inner = draw(scalar_condition(field))
        return {"$not": inner if isinstance(inner, dict) and inner and all(k.startswith("$") for k in inner)
                else {"$eq": inner}}
    # or
    a, b = draw(scalar_condition(field)), draw(scalar_condition(field))
    wrap = [x if isinstance(x, dict) and x and all(k.startswith("$") for k in x) else {"$eq": x} for x in (a, b)]
    return {"$or": wrap}


@st.composite
def array_condition(draw: Any, field: str) -> Any:
    kind = draw(st.sampled_from(["size", "all", "elem", "allmatch", "in", "exists", "eq"]))
    if kind == "size":
        return {"$size": draw(st.integers(0, 3))}
    if kind == "exists":
        return {"$exists": draw(st.booleans())}
    if field in ("name", "identifier", "address"):
        sub = {
            "name": lambda: {draw(st.sampled_from(["family", "use"])): draw(st.sampled_from(
                FAMILY[:6] + ["official", "nickname"]))},
            "identifier": lambda: {"system": draw(st.sampled_from(SYSTEMS + ["urn:x"]))},
            "address": lambda: {"city": {"$in": draw(st.lists(st.sampled_from(CITIES), max_size=2))}},
        }[field]
        if kind in ("elem", "all", "in", "eq"):
            return {"$elemMatch": sub()}
        return {"$allMatch": sub()}
    pool = ARRAY_FIELDS[field]
    if kind == "all":
        return {"$all": draw(st.lists(st.sampled_from(pool), min_size=0, max_size=2, unique=True))}
    if kind == "elem":
        return {"$elemMatch": draw(st.sampled_from([{"$eq": draw(st.sampled_from(pool))},
                                                    {"$regex": draw(st.sampled_from(REGEXES))},
                                                    {"$in": draw(st.lists(st.sampled_from(pool), max_size=2))},
                                                    {"$gt": draw(st.sampled_from(pool))}]))}
    if kind == "allmatch":
        return {"$allMatch": draw(st.sampled_from([{"$type": "string"}, {"$regex": draw(st.sampled_from(REGEXES))},
                                                   {"$ne": draw(st.sampled_from(pool))},
                                                   {"$gte": draw(st.sampled_from(pool))}]))}
    if kind == "in":
        return {"$in": draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))}
    return draw(st.lists(st.sampled_from(pool), max_size=2))  # implicit $eq on the whole array


@st.composite
def object_condition(draw: Any, field: str) -> Any:
    kind = draw(st.sampled_from(["keymap", "keymap", "type", "exists", "sub"]))
    if kind == "keymap":
        return {"$keyMapMatch": draw(st.sampled_from([
            {"$eq": draw(st.sampled_from(EXT_KEYS + ["versionId", "text", "family"]))},
            {"$in": draw(st.lists(st.sampled_from(EXT_KEYS + ["unit"]), max_size=2))},
            {"$regex": "^r"},
            {"$gt": "m"},
        ]))}
    if kind == "type":
        return {"$type": draw(st.sampled_from(TYPES))}
    if kind == "exists":
        return {"$exists": draw(st.booleans())}
    # nested object = sub-field condition
    key = draw(st.sampled_from(EXT_KEYS + ["versionId", "family", "unit"]))
    return {key: draw(st.sampled_from(["a", "b", "1", "2", "Smith", "kg"]))}


@st.composite
def field_condition(draw: Any) -> tuple[str, Any]:
    group = draw(st.sampled_from(["scalar"] * 6 + ["array"] * 2 + ["object", "id"]))
    if group == "scalar":
        field = draw(st.sampled_from(SCALAR_FIELDS))
        return field, draw(scalar_condition(field))
    if group == "array":
        field = draw(st.sampled_from(sorted(ARRAY_FIELDS)))
        return field, draw(array_condition(field))
    if group == "object":
        field = draw(st.sampled_from(OBJECT_FIELDS))
        return field, draw(object_condition(field))
    return "_id", draw(scalar_condition("_id"))


@st.composite
def selectors(draw: Any, depth: int = 0) -> dict[str, Any]:
    sel: dict[str, Any] = {}
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 2, 3]))):
        field, cond = draw(field_condition())
        sel.setdefault(field, cond)
    if depth < 2 and draw(st.integers(0, 3)) == 0:
        op = draw(st.sampled_from(["$and", "$or", "$nor", "$not"]))
        if op == "$not":
            sel["$not"] = draw(selectors(depth + 1))
        else:
            sel[op] = draw(st.lists(selectors(depth + 1), min_size=1, max_size=3))
    return sel


PROJECTIONS = ["_id", "gender", "name.0.family", "score", "address.0.city", "meta.versionId", "ext\\.code", "tags.0",
               "identifier"]


@st.composite
def queries(draw: Any) -> dict[str, Any]:
    q: dict[str, Any] = {"selector": draw(selectors())}
    if draw(st.integers(0, 2)) == 0:
        fields = draw(st.sampled_from(SORTS))
        desc = draw(st.booleans())
        q["sort"] = [{f: "desc"} for f in fields] if desc else (
            list(fields) if draw(st.booleans()) else [{f: "asc"} for f in fields])
        # a sort usually comes with a condition on its fields, as CouchDB's docs advise
        if draw(st.booleans()):
            q["selector"].setdefault(fields[0], {"$gt": None})
    limit = draw(st.sampled_from([None, None, 0, 1, 3, 10, 50, 1000]))
    if limit is not None:
        q["limit"] = limit
    skip = draw(st.sampled_from([0, 0, 0, 1, 5, 30]))
    if skip:
        q["skip"] = skip
    if draw(st.integers(0, 2)) == 0:
        q["fields"] = draw(st.lists(st.sampled_from(PROJECTIONS), min_size=1, max_size=3, unique=True))
    return q


# --------------------------------------------------------------------------------------------------
# the comparison


def _explained_order(explain: dict[str, Any]) -> list[str]:
    idx = explain["index"]
    if idx["type"] == "special":
        return []
    return [next(iter(f)) for f in idx["def"]["fields"]]


def check(
    c: SyncClient, base: str, docs: list[dict[str, Any]], q: dict[str, Any], scope: list[list[str]] | None,
    no_index_reason: str,
) -> None:
    """Run ``q`` against ``{base}/_find`` and compare with the reference over ``docs``.

    ``scope`` is the list of index field lists usable by this query (``None``: no indexes at all)."""
    sort_fields, _ = reference.sort_spec(q.get("sort", []))
    outcome = sort_outcome(sort_fields, scope or []) if sort_fields else "ok"
    r = c.find(f"{base}/_find", q)
    ctx = f"POST {base}/_find {q}"
    event(f"sort outcome: {outcome if sort_fields else 'no sort'}")
    if r.status == 400 and r.body.get("error") == "no_usable_index":
        event("answer: no_usable_index")
        assert outcome != "ok", f"{ctx}: an index is exactly the sort, yet -> {r}"
        assert r.body["reason"] == no_index_reason, f"{ctx} -> {r}"
        return
    assert r.status == 200, f"{ctx} -> {r}"
    assert outcome != "fail", f"{ctx}: no index holds the sort fields, CouchDB answers 400 no_usable_index; got {r}"
    ex = c.find(f"{base}/_explain", q)
    assert ex.status == 200, f"POST {base}/_explain {q} -> {ex}"
    order_fields = _explained_order(ex.body)
    event(f"index: {'json' if order_fields else 'special'}")
    if scope is None:
        assert order_fields == [], f"{ctx}: no index exists, yet _explain names {ex.body['index']}"
    matched = [d for d in docs if reference.matches(q["selector"], d)] if not reference.is_noop(q["selector"]) else []
    may_drop = [f for f in sort_fields if f != "_id"]
    lost = [d["_id"] for d in matched
            if reference._has_all(d, may_drop) and not reference._has_all(d, order_fields)]
    assert not lost, (
        f"{ctx}: the chosen index {ex.body['index']} cannot hold matching documents {lost[:5]} "
        "(the selector does not require its fields)"
    )
    expected = reference.find(docs, q["selector"], sort=q.get("sort"), order_fields=order_fields,
                              limit=q.get("limit", 25), skip=q.get("skip", 0), fields=q.get("fields"))
    got = r.body["docs"]
    n_matched = len(matched)
    event("matched: " + ("0" if not n_matched else "1-5" if n_matched <= 5 else "6-50" if n_matched <= 50 else ">50"))
    if not q.get("fields"):
        for d in got:
            assert isinstance(d.get("_rev"), str), f"{ctx}: doc without _rev {d}"
        got = [{k: v for k, v in d.items() if k != "_rev"} for d in got]
    if got != expected:
        got_ids = [d.get("_id") for d in r.body["docs"]]
        exp_ids = [d.get("_id") for d in reference.find(docs, q["selector"], sort=q.get("sort"),
                                                          order_fields=order_fields, limit=q.get("limit", 25),
                                                          skip=q.get("skip", 0))]
        raise AssertionError(
            f"{ctx}\n  index: {ex.body['index']}\n  got ids:      {got_ids}\n  expected ids: {exp_ids}\n"
            f"  got docs[:3]: {got[:3]}\n  expected[:3]: {expected[:3]}"
        )


# --------------------------------------------------------------------------------------------------
# fixtures and tests


@pytest.fixture(scope="module")
def dbs(live_server: LiveServer) -> Iterator[SyncClient]:
    c = live_server.client()
    for name in ("diff-noidx", "diff-idx"):
        c.create_db(name)
        for i in range(0, len(DOCS), 100):
            c.bulk(name, [dict(d) for d in DOCS[i : i + 100]])
    for fields in PLAIN_INDEXES:
        c.create_index("diff-idx", fields)
    c.create_db("diff-part", partitioned=True)
    for i in range(0, len(DOCS), 100):
        c.bulk("diff-part", [dict(d) for d in DOCS[i : i + 100]])
    for fields in GLOBAL_INDEXES:
        c.create_index("diff-part", fields, partitioned=False)
    for fields in PARTITIONED_INDEXES:
        c.create_index("diff-part", fields, partitioned=True)
    yield c
    c.close()


COMMON = settings(
    max_examples=int(os.environ.get("COUCHSYNC_MANGO_EXAMPLES", "200")),
    deadline=None,
    derandomize=os.environ.get("COUCHSYNC_MANGO_RANDOM") is None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@COMMON
@given(q=queries())
def test_no_index(dbs: SyncClient, q: dict[str, Any]) -> None:
    """(a) no index: rows in ``_all_docs`` order; any sort but ``_id`` is ``no_usable_index``."""
    check(dbs, "/diff-noidx", DOCS, q, None, SORT_NO_INDEX)


@COMMON
@given(q=queries())
def test_with_indexes(dbs: SyncClient, q: dict[str, Any]) -> None:
    """(b) json indexes on a non-partitioned db."""
    check(dbs, "/diff-idx", DOCS, q, PLAIN_INDEXES, SORT_NO_INDEX)


@COMMON
@given(q=queries(), partition=st.sampled_from(sorted(PARTITIONS)))
def test_partitioned(dbs: SyncClient, q: dict[str, Any], partition: str) -> None:
    """(c) partitioned db: global queries see global indexes, ``_partition/{p}`` queries only the
    partition's documents and partitioned indexes."""
    check(dbs, "/diff-part", DOCS, q, GLOBAL_INDEXES, SORT_NO_GLOBAL)
    part_docs = [d for d in DOCS if d["_id"].startswith(partition + ":")]
    check(dbs, f"/diff-part/_partition/{quote(partition)}", part_docs, q, PARTITIONED_INDEXES, SORT_NO_PARTITIONED)


def test_generated_documents_are_varied() -> None:
    """The fixed document set exercises what the generator relies on."""
    assert len(DOCS) == sum(PARTITIONS.values()) == 200
    kinds = {reference.json_type(d.get("score")) for d in DOCS if "score" in d}
    assert kinds == {"number", "string", "null", "array"}
    assert any("gender" not in d for d in DOCS) and any(d.get("gender", 1) is None for d in DOCS)
    assert any(d.get("name") == [] for d in DOCS) and any(len(d.get("name", [])) == 2 for d in DOCS)
    assert any("ext.code" in d for d in DOCS) and any(d.get("resourceType") == "Observation" for d in DOCS)
    assert any(isinstance(d.get("score"), float) for d in DOCS)
