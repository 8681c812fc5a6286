"""The view engine service: design docs of a database, compiled sandboxes, indexes, queries, VDUs.

One :class:`ViewEngine` per server. Compiled design documents are cached per (database file,
design doc id, rev), each in its own QuickJS sandbox (nothing is shared between databases, so a
tenant's functions can never see another tenant's data); JavaScript runs in worker threads so the
event loop stays responsive while an index builds.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

import orjson

from ..errors import CouchError, NotFound
from ..storage.database import Database
from ..storage.reader import Found, ReadOptions, open_docs
from ..storage.updater import Proposed
from . import query as view_query
from . import reduce as builtin
from .args import ViewArgs
from .design import DesignDoc, parse_design
from .indexer import Indexer
from .sandbox import CompiledDDoc, ThreadedSandbox

REDUCE_CHUNK = 200  # JS reduce runs over chunks of this many rows, then rereduces their outputs


class ViewEngine:
    """Design docs, sandboxes and indexes of every database of the server."""

    def __init__(self, *, time_limit_ms: int = 5000, memory_limit: int = 64 << 20, max_cached: int = 256):
        self.time_limit_ms = time_limit_ms
        self.memory_limit = memory_limit
        self.max_cached = max_cached
        self._compiled: OrderedDict[tuple[str, str, str], CompiledDDoc] = OrderedDict()
        #: db file → ((instance, update_seq), its design docs): reads between writes share one load
        self._ddocs: dict[str, tuple[tuple[str, int], list[tuple[DesignDoc, str]]]] = {}
        self.indexer = Indexer()

    # -- design documents ------------------------------------------------------------------------

    async def design_doc(self, db: Database, name: str) -> tuple[DesignDoc, str]:
        """The winning revision of ``_design/{name}``; raises ``NotFound`` (404 ``missing``)."""
        doc_id = "_design/" + name
        found = (await open_docs(db, [(doc_id, None)], ReadOptions()))[0][0]
        if not isinstance(found, Found):
            raise NotFound("missing")
        body = orjson.loads(found.json)
        return parse_design(doc_id, body, db_partitioned=db.partitioned), found.rev

    async def design_docs(self, db: Database) -> list[tuple[DesignDoc, str]]:
        """Every live design document of ``db`` (Mango ``query`` ddocs included), read in one batch:
        this runs on every write batch (to find ``validate_doc_update`` functions) and every
        ``_find``; cached until the database's next write."""
        stamp = (db.instance_id, db.update_seq)
        cached = self._ddocs.get(db.path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        rows = await db.read(
            "SELECT doc_id FROM docs WHERE doc_id >= '_design/' AND doc_id < '_design0' AND deleted = 0"
        )
        found = await open_docs(db, [(r[0], None) for r in rows], ReadOptions())
        out = []
        for results in found:
            doc = results[0]
            if not isinstance(doc, Found):
                continue  # deleted meanwhile
            try:
                out.append((parse_design(doc.doc_id, orjson.loads(doc.json), db_partitioned=db.partitioned), doc.rev))
            except CouchError:
                continue  # a ddoc stored before validation existed
        if len(self._ddocs) >= 4 * self.max_cached:
            self._ddocs.clear()
        self._ddocs[db.path] = (stamp, out)
        return out

    async def compiled(self, db: Database, ddoc: DesignDoc, rev: str) -> CompiledDDoc:
        """The compiled sandbox of ``ddoc`` at ``rev`` (compiled once, LRU-cached): its own QuickJS
        runtime on its own worker thread. Raises ``CouchError`` 400 ``compilation_error``."""
        key = (db.path, ddoc.id, rev)
        found = self._compiled.get(key)
        if found is not None:
            self._compiled.move_to_end(key)
            return found
        sandbox = await asyncio.to_thread(
            ThreadedSandbox,
            time_limit_ms=self.time_limit_ms,
            memory_limit=self.memory_limit,
            label=ddoc.name[:20],
        )
        compiled = await sandbox.acompile(ddoc.body)
        self._compiled[key] = compiled
        while len(self._compiled) > self.max_cached:
            self._compiled.popitem(last=False)
        return compiled

    # -- views -----------------------------------------------------------------------------------

    async def update_index(self, db: Database, ddoc: DesignDoc, rev: str) -> int:
        """Brings the index of ``ddoc`` up to date; returns its seq. Mango (``query``) design docs
        are indexed by their Python mapper, JavaScript ones in their sandbox."""
        if ddoc.is_query:
            from ..mango.indexes import from_ddoc, mapper, sql_paths

            indexes = from_ddoc(ddoc)
            return await self.indexer.update(db, ddoc, mapper(indexes), [i.name for i in indexes],
                                             extract=sql_paths(indexes))
        compiled = await self.compiled(db, ddoc, rev)
        names = list(ddoc.views)
        return await self.indexer.update(db, ddoc, lambda docs: compiled.amap_docs(names, docs), names)

    async def query(
        self,
        db: Database,
        ddoc: DesignDoc,
        rev: str,
        view: str,
        args: ViewArgs,
        partitions: frozenset[str] | None,
    ) -> dict[str, Any]:
        """Answers a view query (updating the index first unless ``update=false``/``lazy``)."""
        if view not in ddoc.views:
            raise NotFound("missing_named_view")
        if args.update == "true":
            await self.update_index(db, ddoc, rev)
        elif args.update == "lazy":
            asyncio.get_running_loop().create_task(self.update_index(db, ddoc, rev))
        part = (args.partition or "") if ddoc.partitioned else ""
        if args.reduce:
            reducer = await self._reducer(db, ddoc, rev, view)
            return await view_query.reduce_query(db, ddoc.signature, view, part, args, partitions, reducer)
        return await view_query.map_query(db, ddoc.signature, view, part, args, partitions)

    async def _reducer(self, db: Database, ddoc: DesignDoc, rev: str, view: str) -> view_query.Reducer:
        source = str(ddoc.views[view]["reduce"]).strip()
        if builtin.is_builtin(source):

            async def run_builtin(kvs: list[tuple[Any, str, Any]]) -> Any:
                return builtin.reduce(source, [(k, v) for k, _, v in kvs])

            return run_builtin
        compiled = await self.compiled(db, ddoc, rev)

        def run_js(kvs: list[tuple[Any, str, Any]]) -> Any:
            partial = [
                compiled.reduce(view, [[k, d] for k, d, _ in chunk], [v for _, _, v in chunk], False)
                for chunk in (kvs[i : i + REDUCE_CHUNK] for i in range(0, len(kvs), REDUCE_CHUNK))
            ]
            if len(partial) == 1:
                return partial[0]
            return compiled.reduce(view, None, partial, True)

        async def run(kvs: list[tuple[Any, str, Any]]) -> Any:
            return await asyncio.to_thread(run_js, kvs)

        return run

    # -- validate_doc_update ---------------------------------------------------------------------

    async def validator(self, db: Database, user_ctx: dict[str, Any], sec_obj: dict[str, Any]) -> Any:
        """A ``validate(proposed)`` callable running every ``validate_doc_update`` of ``db``, or
        ``None`` when no design document has one. Design and ``_local`` docs are not validated."""
        vdus = []
        for ddoc, rev in await self.design_docs(db):
            if isinstance(ddoc.body.get("validate_doc_update"), str) and not ddoc.is_query:
                vdus.append(await self.compiled(db, ddoc, rev))
        if not vdus:
            return None

        async def validate(p: Proposed) -> None:
            if str(p.new_doc.get("_id", "")).startswith("_design/"):
                return
            for compiled in vdus:
                await asyncio.to_thread(compiled.validate, p.new_doc, p.old_doc, user_ctx, sec_obj)

        return validate
