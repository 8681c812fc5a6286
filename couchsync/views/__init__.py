"""Design-document execution: the QuickJS sandbox (:mod:`.sandbox`) and the builtin reducers
(:mod:`.reduce`).

Typical server use (one sandbox per database + design document)::

    sandbox = ThreadedSandbox(time_limit_ms=5000, memory_limit=64 << 20, label="db/_design/x")
    ddoc = await sandbox.acompile(design_doc)          # CouchError 400 on bad functions
    rows = await ddoc.amap_docs(None, docs)            # rows[d][v]: [(key, value)] | MapError
    await ddoc.avalidate(new_doc, old_doc, user_ctx, sec_obj)   # CouchError 401/403/500
    value = reduce.reduce("_sum", [(key, value), ...])           # builtin reducers
"""

from __future__ import annotations

from . import reduce
from .sandbox import CompiledDDoc, MapError, MapResult, Sandbox, SandboxStats, ThreadedSandbox

__all__ = [
    "CompiledDDoc",
    "MapError",
    "MapResult",
    "Sandbox",
    "SandboxStats",
    "ThreadedSandbox",
    "reduce",
]
