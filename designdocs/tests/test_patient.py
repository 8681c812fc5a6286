"""Native (Python) tests of the patient design document: designdocs/patient.py."""

from __future__ import annotations

from typing import Any

import pytest

from designdocs.patient import ddoc

H, OTHER, DB = "MOUNT-AUBURN-HOSPITAL", "CAPE-COD-HOSPITAL", "clinic"

PATIENT: dict[str, Any] = {
    "_id": f"{H}:Patient-p1",
    "resourceType": "Patient",
    "id": "p1",
    "gender": "female",
    "birthDate": "2009-04-29",
    "name": [{"use": "official", "family": "Schowalter414", "given": ["Bibi254", "Ann"]}],
    "identifier": [{"value": "p1"}, {"value": "999-97-5872"}],
}
ENCOUNTER = {"_id": f"{H}:Encounter-e1", "resourceType": "Encounter", "id": "e1", "status": "finished"}
CONDITION = {
    "_id": f"{H}:Condition-c1",
    "resourceType": "Condition",
    "clinicalStatus": {"coding": [{"system": "x", "code": "resolved"}]},
}
ORG = {"_id": f"{H}:Organization-o1", "resourceType": "Organization", "name": "Mount Auburn", "active": True}


def staff(*hospitals: str) -> dict[str, Any]:
    return {"db": DB, "name": "nurse", "roles": [f"{DB}:staff", *(f"{DB}:hospital:{h}" for h in hospitals)]}


def test_by_hospital_emits_partition_and_type() -> None:
    assert ddoc.run_map("by_hospital", PATIENT) == [([H, "Patient"], 1)]
    assert ddoc.run_map("by_hospital", {"_id": "no-partition", "resourceType": "Patient"}) == []


def test_by_hospital_reduce_counts_and_rereduces() -> None:
    assert ddoc.run_reduce("by_hospital", [[[H, "Patient"], "a"], [[H, "Patient"], "b"]], [1, 1]) == 2
    assert ddoc.run_reduce("by_hospital", None, [2, 3], rereduce=True) == 5


@pytest.mark.parametrize(
    ("doc", "row"),
    [
        (PATIENT, (["Patient", "active"], "Bibi254 Ann Schowalter414")),
        (
            {**PATIENT, "deceasedDateTime": "2020-01-01"},
            (["Patient", "deceased"], "Bibi254 Ann Schowalter414"),
        ),
        ({**PATIENT, "active": False}, (["Patient", "inactive"], "Bibi254 Ann Schowalter414")),
        (ENCOUNTER, (["Encounter", "finished"], None)),
        (CONDITION, (["Condition", "resolved"], None)),
        (ORG, (["Organization", "active"], "Mount Auburn")),
        ({**ORG, "active": False}, (["Organization", "inactive"], "Mount Auburn")),
    ],
)
def test_by_status(doc: dict[str, Any], row: tuple[Any, Any]) -> None:
    assert ddoc.run_map("by_status", doc) == [row]


def test_by_status_skips_resources_without_status() -> None:
    assert ddoc.run_map("by_status", {"_id": f"{H}:Practitioner-x", "resourceType": "Practitioner"}) == []
    assert ddoc.run_map("by_status", {**CONDITION, "clinicalStatus": {}}) == []


def test_by_birth_date_keys_are_int_parts() -> None:
    assert ddoc.run_map("by_birth_date", PATIENT) == [([2009, 4, 29], "Bibi254 Ann Schowalter414")]
    assert ddoc.run_map("by_birth_date", {**PATIENT, "birthDate": "2009-xx-29"}) == []
    assert ddoc.run_map("by_birth_date", ENCOUNTER) == []
    assert ddoc.views["by_birth_date"].reduce == "_count"


def test_validate_accepts_staff_of_the_hospital_and_admins() -> None:
    assert ddoc.run_validate(PATIENT, None, staff(H)) == {"ok": True}
    assert ddoc.run_validate(PATIENT, None, {"db": DB, "name": "a", "roles": [f"{DB}:admin"]}) == {"ok": True}
    assert ddoc.run_validate(PATIENT, None, {"db": DB, "name": "root", "roles": ["_admin"]}) == {"ok": True}
    sec = {"admins": {"names": ["boss"], "roles": []}}
    assert ddoc.run_validate(PATIENT, None, {"db": DB, "name": "boss", "roles": []}, sec) == {"ok": True}


def test_validate_requires_resource_type() -> None:
    doc = {k: v for k, v in PATIENT.items() if k != "resourceType"}
    assert ddoc.run_validate(doc, None, staff(H)) == {"forbidden": "resourceType is required"}
    assert ddoc.run_validate({**PATIENT, "resourceType": ""}, None, staff(H)) == {
        "forbidden": "resourceType is required"
    }


def test_validate_forbids_changing_the_partition() -> None:
    assert ddoc.run_validate({**PATIENT, "hospital": OTHER}, PATIENT, staff(H)) == {
        "forbidden": f"hospital {OTHER} does not match the document's partition {H}"
    }
    assert ddoc.run_validate({**PATIENT, "hospital": H}, PATIENT, staff(H)) == {"ok": True}
    moved = {**PATIENT, "_id": f"{OTHER}:Patient-p1"}
    assert ddoc.run_validate(moved, None, staff(H)) == {
        "forbidden": f"staff of {H} may not write to hospital {OTHER}"
    }
    assert ddoc.run_validate({**PATIENT, "resourceType": "Basic"}, PATIENT, staff(H)) == {
        "forbidden": "resourceType cannot change"
    }


def test_validate_deletions_and_strangers() -> None:
    tombstone = {"_id": PATIENT["_id"], "_deleted": True}
    assert ddoc.run_validate(tombstone, PATIENT, staff(H)) == {"ok": True}
    assert ddoc.run_validate(tombstone, PATIENT, staff(OTHER))["forbidden"].startswith("staff of")
    assert ddoc.run_validate(PATIENT, None, {"db": DB, "name": "x", "roles": []}) == {
        "unauthorized": "only hospital staff may write patient data"
    }


def test_filters() -> None:
    assert ddoc.run_filter("hospital", PATIENT, {"query": {"hospital": H}}) is True
    assert ddoc.run_filter("hospital", PATIENT, {"query": {"hospital": OTHER}}) is False
    assert ddoc.run_filter("hospital", PATIENT, {"query": {}}) is False
    assert ddoc.run_filter("patients", PATIENT) is True
    assert ddoc.run_filter("patients", ENCOUNTER) is False


def test_show_summary() -> None:
    assert ddoc.run_show("summary", PATIENT) == {
        "code": 200,
        "headers": {"Cache-Control": "no-store"},
        "json": {
            "id": PATIENT["_id"],
            "hospital": H,
            "name": "Bibi254 Ann Schowalter414",
            "gender": "female",
            "birthDate": "2009-04-29",
            "status": "active",
            "identifiers": 2,
        },
    }
    assert ddoc.run_show("summary", None)["code"] == 404
    assert ddoc.run_show("summary", ENCOUNTER)["code"] == 400


def test_update_set_status() -> None:
    doc, resp = ddoc.run_update("set_status", PATIENT, {"query": {"status": "inactive"}})
    assert doc["active"] is False and resp == {
        "code": 201,
        "json": {"ok": True, "id": PATIENT["_id"], "status": "inactive"},
    }
    doc, _ = ddoc.run_update("set_status", ENCOUNTER, {"query": {"status": "cancelled"}})
    assert doc["status"] == "cancelled"
    assert ddoc.run_update("set_status", PATIENT, {"query": {"status": "finished"}})[0] is None
    assert ddoc.run_update("set_status", PATIENT, {"query": {}})[1]["code"] == 400
    assert ddoc.run_update("set_status", None, {"query": {"status": "active"}})[1]["code"] == 404
    assert "active" not in PATIENT  # the runner works on a copy
