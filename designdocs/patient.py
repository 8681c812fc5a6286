"""The ``_design/patient`` design document (partitioned: one partition per hospital).

Documents are FHIR R4 resources imported with ``couchsync import --hospital-from Organization``:
``_id`` is ``<HOSPITAL>:<ResourceType>-<id>``, so a document's hospital is its id's partition.

Views
  ``by_hospital``   key ``[hospital, resourceType]``, value 1; reduce: a Python count (with rereduce).
  ``by_status``     key ``[resourceType, status]``, value the document's display label (or None).
                    status: Patient ``deceased`` (``deceasedDateTime``/``deceasedBoolean``) else
                    ``active``/``inactive`` from ``active`` (absent = active); Organization and
                    Practitioner ``active``/``inactive``; Condition its ``clinicalStatus`` code;
                    every other resource its ``status`` field. Resources without one emit nothing.
  ``by_birth_date`` Patients only: key ``[year, month, day]`` (ints, so ``group_level=1`` counts per
                    year), value the patient's name; reduce ``_count``.

validate_doc_update (writers: admins = ``_admin``, any role ending with ``:admin`` — the tenant
admin — or a name/role listed in the database's ``_security.admins``; everyone else is *staff*,
whose hospitals are their roles ``<db>:hospital:<H>``):
  1. every live document needs a non-empty string ``resourceType`` (403 forbidden);
  2. the partition is the hospital: a body field ``hospital``, when present, must equal the id's
     partition, for everyone (403) — a document cannot claim another hospital than where it lives;
  3. ``resourceType`` cannot change on update (403);
  4. staff may only write (create, update, delete) documents in partitions of their own hospitals:
     writing into another hospital's partition — e.g. re-creating a patient there, i.e. moving it —
     is forbidden (403); a user with no hospital role at all gets 401 unauthorized.

Filter ``hospital``: ``?hospital=H`` passes the documents of partition H (deletions included).
Filter ``patients``: Patient resources only.
Show ``summary``: a Patient's summary as JSON (404 for a missing doc, 400 for another resource).
Update ``set_status``: ``?status=active|inactive`` on a Patient/Organization/Practitioner sets
``active``; ``?status=<code>`` on other resources sets ``status``; responds with JSON.
"""

from couchsync.ddoc import Design, Forbidden, Unauthorized, emit

ddoc = Design("patient", partitioned=True)


@ddoc.helper
def partition_of(doc_id):
    """The partition (hospital) of a document id, or None for an unpartitioned id."""
    i = doc_id.find(":")
    return doc_id[:i] if i > 0 else None


@ddoc.helper
def status_of(doc):
    """The status of a FHIR resource (see the module docstring), or None."""
    rtype = doc.get("resourceType")
    if rtype == "Patient":
        if doc.get("deceasedDateTime") or doc.get("deceasedBoolean") is True:
            return "deceased"
        return "inactive" if doc.get("active") is False else "active"
    if rtype in ["Organization", "Practitioner"]:
        if doc.get("active") is None:
            return None
        return "active" if doc["active"] else "inactive"
    if rtype == "Condition":
        codings = (doc.get("clinicalStatus") or {}).get("coding") or []
        codes = [c["code"] for c in codings if isinstance(c, dict) and isinstance(c.get("code"), str)]
        return codes[0] if codes else None
    status = doc.get("status")
    return status if isinstance(status, str) else None


@ddoc.helper
def display_name(doc):
    """'Given Family' from the first FHIR HumanName, '' when there is none."""
    names = doc.get("name")
    if not isinstance(names, list) or not names:
        return ""
    first = names[0]
    parts = [g for g in first.get("given") or [] if isinstance(g, str)]
    if isinstance(first.get("family"), str):
        parts.append(first["family"])
    return " ".join(parts)


def count_rows(keys, values, rereduce):
    """Reduce for by_hospital: the number of rows (sums partial counts when rereducing)."""
    if rereduce:
        return sum(values)
    return len(values)


@ddoc.view(reduce=count_rows)
def by_hospital(doc):
    hospital = partition_of(doc["_id"])
    if hospital is not None and isinstance(doc.get("resourceType"), str):
        emit([hospital, doc["resourceType"]], 1)


@ddoc.view
def by_status(doc):
    status = status_of(doc)
    if status is not None:
        label = display_name(doc) if doc["resourceType"] == "Patient" else doc.get("name")
        emit([doc["resourceType"], status], label if isinstance(label, str) else None)


@ddoc.view(reduce="_count")
def by_birth_date(doc):
    if doc.get("resourceType") != "Patient" or not isinstance(doc.get("birthDate"), str):
        return
    parts = doc["birthDate"].split("-")
    if len(parts) == 3 and all(p != "" and all(c in "0123456789" for c in p) for p in parts):
        emit([int(p) for p in parts], display_name(doc))


@ddoc.validate_doc_update
def validate(new_doc, old_doc, user_ctx, sec_obj):
    roles = user_ctx.get("roles") or []
    admins = (sec_obj or {}).get("admins") or {}
    is_admin = (
        "_admin" in roles
        or any(r.endswith(":admin") for r in roles)
        or user_ctx.get("name") in (admins.get("names") or [])
        or any(r in (admins.get("roles") or []) for r in roles)
    )
    partition = partition_of(new_doc["_id"])

    if not new_doc.get("_deleted"):
        rtype = new_doc.get("resourceType")
        if not isinstance(rtype, str) or rtype == "":
            raise Forbidden("resourceType is required")
        hospital = new_doc.get("hospital")
        if hospital is not None and hospital != partition:
            raise Forbidden(f"hospital {hospital} does not match the document's partition {partition}")
        if old_doc is not None and not old_doc.get("_deleted") and old_doc.get("resourceType") != rtype:
            raise Forbidden("resourceType cannot change")

    if is_admin:
        return
    prefix = f"{user_ctx.get('db')}:hospital:"
    hospitals = [r[len(prefix) :] for r in roles if r.startswith(prefix)]
    if not hospitals:
        raise Unauthorized("only hospital staff may write patient data")
    if partition not in hospitals:
        raise Forbidden(f"staff of {', '.join(sorted(hospitals))} may not write to hospital {partition}")


@ddoc.filter
def hospital(doc, req):
    wanted = (req.get("query") or {}).get("hospital")
    return wanted is not None and partition_of(doc["_id"]) == wanted


@ddoc.filter
def patients(doc, req):
    return doc.get("resourceType") == "Patient"


@ddoc.show
def summary(doc, req):
    if doc is None:
        return {"code": 404, "json": {"error": "not_found", "reason": "missing"}}
    if doc.get("resourceType") != "Patient":
        return {"code": 400, "json": {"error": "bad_request", "reason": "not a Patient"}}
    return {
        "code": 200,
        "headers": {"Cache-Control": "no-store"},
        "json": {
            "id": doc["_id"],
            "hospital": partition_of(doc["_id"]),
            "name": display_name(doc),
            "gender": doc.get("gender"),
            "birthDate": doc.get("birthDate"),
            "status": status_of(doc),
            "identifiers": len(doc.get("identifier") or []),
        },
    }


@ddoc.update
def set_status(doc, req):
    status = (req.get("query") or {}).get("status")
    if doc is None:
        return [None, {"code": 404, "json": {"error": "not_found", "reason": "missing"}}]
    if not isinstance(status, str) or status == "":
        return [None, {"code": 400, "json": {"error": "bad_request", "reason": "?status= is required"}}]
    if doc.get("resourceType") in ["Patient", "Organization", "Practitioner"]:
        if status not in ["active", "inactive"]:
            return [
                None,
                {
                    "code": 400,
                    "json": {"error": "bad_request", "reason": "status must be active or inactive"},
                },
            ]
        doc["active"] = status == "active"
    else:
        doc["status"] = status
    return [doc, {"code": 201, "json": {"ok": True, "id": doc["_id"], "status": status}}]
