"""Load the Synthea demo data into a database on first start (``couchsync serve --demo-data``)."""

from __future__ import annotations

import glob
import os

from ..core.documents import parse_doc
from ..storage.registry import Registry
from ..storage.updater import update_docs
from .importer import bundle_docs


async def load_demo(data_dir: str, source: str, db_name: str = "demo") -> int:
    """Creates ``db_name`` and imports every bundle under ``source``; returns the documents written.

    Does nothing (returns 0) when the database already exists, so restarts keep user edits.
    """
    registry = Registry(data_dir)
    try:
        if registry.exists(db_name):
            return 0
        db = await registry.create(db_name)
        count = 0
        for path in sorted(glob.glob(os.path.join(source, "*.json"))):
            docs = [parse_doc(d) for d in bundle_docs(path)]
            results = await update_docs(db, docs, new_edits=True)
            count += sum(1 for r in results if r.get("ok"))
        return count
    finally:
        await registry.close_all()
