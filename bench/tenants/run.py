#!/usr/bin/env python3
"""bench/tenants: tenant administration at scale, and staff ``_changes`` over a partitioned database.

Run by hand (``bench/tenants/run.sh --help``); prints tables, asserts nothing. See bench/README.md.

1. **Tenant creation.** ``--tenants`` organisations through the HTTP API, each with
   ``--hospitals-per-tenant`` hospitals and ``--users-per-tenant`` users (the first a tenant admin,
   the rest staff of one hospital each), ``--concurrency`` tenants at a time, against a fresh server
   per bcrypt cost (``--bcrypt-rounds``, plus ``--low-rounds`` to show the cost of everything but
   bcrypt). Reports tenants/s, request latencies, the server's CPU, open file descriptors and RSS.
2. **Staff ``_changes``.** A tenant database of ``--docs`` documents in ``--hospitals`` hospitals,
   of which the staff member's hospital holds ``--share`` (every 1/share-th seq, spread over the
   whole feed), read by that staff member, against a separate database holding only those
   documents, read by the server admin (and, as a control, by that database's own staff member).
   Median wall time and server CPU of full ``include_docs`` reads, of small ``since=<recent>``
   reads and of empty ``since=now`` polls, and the ratio staff / small db.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import contextlib
import glob
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import orjson

REPO_ROOT = Path(__file__).resolve().parents[2]
SYNTHEA_DIR = Path(os.environ.get("SYNTHEA_DIR") or REPO_ROOT.parent / "shared" / "data" / "synthea-fhir-r4")
ADMIN = ("admin", "secret")
CLK_TCK = os.sysconf("SC_CLK_TCK")
COUCHSYNC_DEFAULT_ROUNDS = 12
PASSWORD = "bench-password-1"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- the server ----------------------------------------------------------------------------------

_servers: list[Server] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """couchsync as a child process on a free port with a fresh data dir (removed on stop)."""

    def __init__(self, python: str, label: str, rounds: int, py_spy: list[str] | None = None):
        self.python, self.label, self.rounds, self.py_spy = python, label, rounds, py_spy
        self.tmp = tempfile.mkdtemp(prefix="couchsync-bench-tenants-")
        self.data_dir = os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "server.log")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None  # couchsync's own pid (differs from proc.pid under py-spy)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 30.0) -> Server:
        cmd = [
            self.python,
            "-m",
            "couchsync",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            self.data_dir,
        ]
        if self.py_spy:
            cmd = [*self.py_spy, *cmd]
        env = {**os.environ, "COUCHSYNC_ADMIN": ":".join(ADMIN), "COUCHSYNC_BCRYPT_ROUNDS": str(self.rounds)}
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        _servers.append(self)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as s:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"couchsync exited ({self.proc.returncode}) before ready:\n{self.tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with s.get(self.url + "/_up", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        await r.read()
                        if r.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"couchsync not ready after {timeout:.0f} s:\n{self.tail()}")
                await asyncio.sleep(0.1)
        self.pid = self._find_pid()
        return self

    def _find_pid(self) -> int | None:
        assert self.proc is not None
        if not self.py_spy:
            return self.proc.pid
        # under py-spy, couchsync is py-spy's child
        with contextlib.suppress(OSError):
            for t in os.listdir(f"/proc/{self.proc.pid}/task"):
                kids = Path(f"/proc/{self.proc.pid}/task/{t}/children").read_text().split()
                if kids:
                    return int(kids[0])
        return None

    def tail(self, n: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-n:])
        return ""

    # /proc figures of couchsync's process (all threads)
    def cpu_seconds(self) -> float | None:
        with contextlib.suppress(OSError, TypeError):
            stat = Path(f"/proc/{self.pid}/stat").read_text()
            f = stat[stat.rindex(")") + 2 :].split()
            return (int(f[11]) + int(f[12])) / CLK_TCK
        return None

    def cpu_ns(self) -> int | None:
        """CPU ns of couchsync's live threads (schedstat: ns resolution, unlike /proc/<pid>/stat's
        10 ms ticks; threads that ended in between are missed, fine around a single read)."""
        total = 0
        try:
            tasks = os.listdir(f"/proc/{self.pid}/task")
        except (OSError, TypeError):
            return None
        for t in tasks:
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int(Path(f"/proc/{self.pid}/task/{t}/schedstat").read_text().split()[0])
        return total

    def status_kb(self, field: str) -> int | None:
        with contextlib.suppress(OSError, TypeError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return None

    def fds(self) -> dict[str, int] | None:
        """Open file descriptors by kind: sqlite files (db / -wal / -shm), sockets, other; and
        ``dbs``: how many distinct database files those sqlite fds belong to."""
        out: Counter[str] = Counter()
        files: set[str] = set()
        try:
            names = os.listdir(f"/proc/{self.pid}/fd")
        except (OSError, TypeError):
            return None
        for fd in names:
            try:
                target = os.readlink(f"/proc/{self.pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith(self.data_dir):
                out["sqlite"] += 1
                files.add(target.removesuffix("-wal").removesuffix("-shm").removesuffix("-journal"))
            elif target.startswith("socket:"):
                out["socket"] += 1
            else:
                out["other"] += 1
        out["total"] = sum(out.values())
        out["dbs"] = len(files)
        return dict(out)

    def fd_limit(self) -> int | None:
        """The soft RLIMIT_NOFILE of couchsync's process."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in Path(f"/proc/{self.pid}/limits").read_text().splitlines():
                if line.startswith("Max open files"):
                    return int(line.split()[3])
        return None

    def data_mb(self) -> float:
        total = 0
        for root, _, files in os.walk(self.data_dir):
            for f in files:
                with contextlib.suppress(OSError):
                    total += os.path.getsize(os.path.join(root, f))
        return total / 1e6

    def stop(self, timeout: float = 15.0) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            # SIGTERM to couchsync itself; under py-spy, py-spy then writes its profile and exits
            target = self.pid if self.pid else proc.pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                if self.py_spy:
                    proc.send_signal(signal.SIGINT)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(10)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                if self.pid and self.pid != proc.pid:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(self.pid, signal.SIGKILL)
        self.proc = None
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self in _servers:
            _servers.remove(self)


def _stop_all() -> None:
    for s in list(_servers):
        with contextlib.suppress(Exception):
            s.stop(5)


atexit.register(_stop_all)


def _on_sigterm(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _on_sigterm)
# also when started in the background, where SIGINT arrives ignored
signal.signal(signal.SIGINT, signal.default_int_handler)


# -- HTTP helpers --------------------------------------------------------------------------------


def session(conns: int, auth: tuple[str, str] = ADMIN) -> aiohttp.ClientSession:
    basic = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    return aiohttp.ClientSession(
        headers={"Authorization": basic},
        connector=aiohttp.TCPConnector(limit=conns),
        timeout=aiohttp.ClientTimeout(total=600),
        json_serialize=lambda o: orjson.dumps(o).decode(),
    )


async def call(s: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> tuple[int, Any, float]:
    """``(status, parsed body, seconds)``: time from sending to the body fully read."""
    t0 = time.perf_counter()
    async with s.request(method, url, json=body) as r:
        raw = await r.read()
    dt = time.perf_counter() - t0
    try:
        return r.status, orjson.loads(raw), dt
    except orjson.JSONDecodeError:
        return r.status, raw.decode(errors="replace"), dt


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))]


def load_avg() -> str:
    with contextlib.suppress(OSError):
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return "?"


# -- phase 1: tenant creation --------------------------------------------------------------------


async def create_tenants(srv: Server, args: argparse.Namespace) -> dict[str, Any]:
    n, hpt, upt = args.tenants, args.hospitals_per_tenant, args.users_per_tenant
    lat: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    dbs: list[str] = []
    done = 0
    next_i = 0
    res: dict[str, Any] = {
        "rounds": srv.rounds,
        "start_fds": srv.fds(),
        "start_rss_kb": srv.status_kb("VmRSS"),
        "fd_limit": srv.fd_limit(),
    }

    async def one(s: aiohttp.ClientSession, i: int) -> None:
        st, body, dt = await call(s, "POST", f"{srv.url}/_tenants", {"name": f"Bench Org {i:05d}"})
        lat["tenant"].append(dt)
        if st != 201:
            errors.append(f"POST /_tenants #{i}: {st} {body}")
            return
        db = body["db"]
        dbs.append(db)
        hospitals = [f"HOSP-{k + 1}" for k in range(hpt)]
        for h in hospitals:
            st, body, dt = await call(s, "POST", f"{srv.url}/_tenants/{db}/hospitals", {"name": h})
            lat["hospital"].append(dt)
            if st != 201:
                errors.append(f"POST /_tenants/{db}/hospitals {h}: {st} {body}")
        for j in range(upt):
            role = "admin" if j == 0 else "staff"
            user = {
                "name": f"{db}-u{j}",
                "password": PASSWORD,
                "role": role,
                "hospitals": [] if role == "admin" or not hospitals else [hospitals[(j - 1) % hpt]],
            }
            st, body, dt = await call(s, "POST", f"{srv.url}/_tenants/{db}/users", user)
            lat["user"].append(dt)
            if st != 201:
                errors.append(f"POST /_tenants/{db}/users {user['name']}: {st} {body}")

    async def worker(s: aiohttp.ClientSession) -> None:
        nonlocal next_i, done
        while next_i < n:
            i = next_i
            next_i += 1
            try:
                await one(s, i)
            except (TimeoutError, aiohttp.ClientError) as e:
                errors.append(f"tenant #{i}: {type(e).__name__}: {e}")
            done += 1

    async def progress(t0: float) -> None:
        while True:
            await asyncio.sleep(10)
            el = time.perf_counter() - t0
            log(
                f"  [{srv.label}] {done}/{n} tenants, {el:.0f} s, {done / el:.1f} tenants/s, "
                f"fds {(srv.fds() or {}).get('total')}, RSS {(srv.status_kb('VmRSS') or 0) / 1024:.0f} MB"
            )

    cpu0 = srv.cpu_seconds()
    t0 = time.perf_counter()
    async with session(args.concurrency) as s:
        prog = asyncio.create_task(progress(t0))
        try:
            await asyncio.gather(*(worker(s) for _ in range(args.concurrency)))
        finally:
            prog.cancel()
        wall = time.perf_counter() - t0
        cpu1 = srv.cpu_seconds()
        res.update(
            wall=wall,
            tenants=n,
            requests=sum(len(v) for v in lat.values()),
            server_cpu=None if cpu0 is None or cpu1 is None else cpu1 - cpu0,
            fds=srv.fds(),
            rss_kb=srv.status_kb("VmRSS"),
            hwm_kb=srv.status_kb("VmHWM"),
            data_mb=srv.data_mb(),
            errors=errors,
            lat={k: {"p50": pct(v, 50), "p95": pct(v, 95), "n": len(v)} for k, v in lat.items()},
        )
        # admin reads whose cost grows with the number of tenants / users (informational)
        if dbs:
            st, body, dt = await call(s, "GET", f"{srv.url}/_tenants")
            res["list_tenants"] = dt
            if st != 200 or len(body) != len(dbs):
                got = f"{len(body)} entries" if isinstance(body, list) else body
                errors.append(f"GET /_tenants: {st}, {got} (want {len(dbs)} entries)")
            times = []
            for db in random.Random(1).sample(dbs, min(5, len(dbs))):
                st, body, dt = await call(s, "GET", f"{srv.url}/_tenants/{db}")
                times.append(dt)
                if st != 200 or body.get("user_count") != upt:
                    errors.append(f"GET /_tenants/{db}: {st} {body}")
            res["get_tenant"] = statistics.median(times)
    res["fds_after_reads"] = srv.fds()
    res["rss_after_reads_kb"] = srv.status_kb("VmRSS")
    return res


# -- phase 2: staff _changes ---------------------------------------------------------------------


def load_templates() -> list[dict[str, Any]]:
    """Synthea R4 Observations (600..1,500 bytes) as body templates; a built-in one if none."""
    out = []
    for f in sorted(glob.glob(str(SYNTHEA_DIR / "*.json")))[:40]:
        with contextlib.suppress(OSError, ValueError):
            for e in json.loads(Path(f).read_text()).get("entry", []):
                r = e.get("resource") or {}
                if r.get("resourceType") == "Observation" and 600 <= len(orjson.dumps(r)) <= 1500:
                    out.append(r)
    if not out:
        out.append(
            {
                "resourceType": "Observation",
                "id": "x",
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "vital-signs",
                                "display": "vital-signs",
                            }
                        ]
                    }
                ],
                "code": {
                    "coding": [
                        {"system": "http://loinc.org", "code": "8310-5", "display": "Body temperature"},
                        {"system": "http://loinc.org", "code": "8331-1", "display": "Oral temperature"},
                    ],
                    "text": "Body temperature",
                },
                "subject": {"reference": "urn:uuid:475d72ca-91c7-7211-97e3-f000af33fc04"},
                "encounter": {"reference": "urn:uuid:f260943e-446f-ee65-f356-90f890a251cf"},
                "effectiveDateTime": "2020-03-06T20:20:23-08:00",
                "issued": "2020-03-06T20:20:23.175-08:00",
                "valueQuantity": {
                    "value": 40.894,
                    "unit": "Cel",
                    "system": "http://unitsofmeasure.org",
                    "code": "Cel",
                },
                "note": [{"text": "x" * 120}],
            }
        )
    return out


def make_doc(rng: random.Random, templates: list[dict[str, Any]], hospital: str, n: int) -> dict[str, Any]:
    doc = orjson.loads(orjson.dumps(rng.choice(templates)))
    rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    doc["id"] = rid
    doc["subject"] = {"reference": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"}
    vq = doc.get("valueQuantity")
    if isinstance(vq, dict) and isinstance(vq.get("value"), (int, float)):
        vq["value"] = round(vq["value"] * rng.uniform(0.9, 1.1), 3)
    doc_id = f"{hospital}:Observation-{n}"
    return {"_id": doc_id, "_rev": "1-" + hashlib.md5(doc_id.encode()).hexdigest(), **doc}


async def bulk_load(
    s: aiohttp.ClientSession, url: str, bodies: list[bytes], conns: int
) -> tuple[float, list[str]]:
    errors: list[str] = []
    queue = list(reversed(bodies))

    async def worker() -> None:
        while queue:
            body = queue.pop()
            async with s.post(
                url + "/_bulk_docs", data=body, headers={"Content-Type": "application/json"}
            ) as r:
                raw = await r.read()
            if r.status != 201:
                errors.append(f"_bulk_docs {r.status}: {raw[:200]!r}")
                continue
            bad = [x for x in orjson.loads(raw) if "error" in x]
            if bad:
                errors.append(f"_bulk_docs: {len(bad)} errors, e.g. {bad[0]}")

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    return time.perf_counter() - t0, errors


async def timed_get(s: aiohttp.ClientSession, url: str) -> tuple[float, bytes, int]:
    t0 = time.perf_counter()
    async with s.get(url) as r:
        raw = await r.read()
    return time.perf_counter() - t0, raw, r.status


async def staff_changes_plan(db_path: str, partition: str) -> str | None:
    """EXPLAIN QUERY PLAN of the SQL couchsync runs for a staff `_changes` page (captured from
    couchsync.storage.changes with a recording stand-in for the database). Informational."""
    try:
        from couchsync.storage.changes import changes_page
    except ImportError:
        return None

    class Recorder:
        sql: tuple[str, list[Any]] | None = None

        async def read(self, sql: str, params: Any) -> list[Any]:
            Recorder.sql = (sql, list(params))
            return []

    try:
        await changes_page(
            Recorder(),
            0,
            1000,
            with_bodies=True,  # type: ignore[arg-type]
            partitions=frozenset({partition}),
        )
        if Recorder.sql is None:
            return None
        sql, params = Recorder.sql
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            rows = con.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        finally:
            con.close()
        return "; ".join(r[-1] for r in rows)
    except Exception as e:  # informational only
        return f"(could not explain: {type(e).__name__}: {e})"


async def staff_changes(srv: Server, args: argparse.Namespace) -> dict[str, Any]:
    errors: list[str] = []
    every = max(1, round(1 / args.share))
    target = "HOSP-00"
    others = [f"HOSP-{k:02d}" for k in range(1, max(2, args.hospitals))]
    res: dict[str, Any] = {
        "docs": args.docs,
        "every": every,
        "hospitals": 1 + len(others),
        "target": target,
        "errors": errors,
    }

    async with session(args.bulk_conns) as s:
        st, body, _ = await call(s, "POST", f"{srv.url}/_tenants", {"name": "Bench Changes Org"})
        if st != 201:
            raise RuntimeError(f"POST /_tenants: {st} {body}")
        big = body["db"]
        for h in [target, *others]:
            st, body, _ = await call(s, "POST", f"{srv.url}/_tenants/{big}/hospitals", {"name": h})
            if st != 201:
                raise RuntimeError(f"POST hospitals {h}: {st} {body}")
        staff = (f"{big}-staff", PASSWORD)
        st, body, _ = await call(
            s,
            "POST",
            f"{srv.url}/_tenants/{big}/users",
            {"name": staff[0], "password": PASSWORD, "role": "staff", "hospitals": [target]},
        )
        if st != 201:
            raise RuntimeError(f"POST users: {st} {body}")
        # the small db: a tenant db too (same hospital), so its own staff member can read it as a control
        st, body, _ = await call(s, "POST", f"{srv.url}/_tenants", {"name": "Bench Changes Small"})
        if st != 201:
            raise RuntimeError(f"POST /_tenants: {st} {body}")
        small = body["db"]
        st, body, _ = await call(s, "POST", f"{srv.url}/_tenants/{small}/hospitals", {"name": target})
        if st != 201:
            raise RuntimeError(f"POST hospitals {target}: {st} {body}")
        staff_small = (f"{small}-staff", PASSWORD)
        st, body, _ = await call(
            s,
            "POST",
            f"{srv.url}/_tenants/{small}/users",
            {"name": staff_small[0], "password": PASSWORD, "role": "staff", "hospitals": [target]},
        )
        if st != 201:
            raise RuntimeError(f"POST users: {st} {body}")

        log(f"  generating {args.docs:,} docs ...")
        rng = random.Random(args.seed)
        templates = load_templates()
        big_batches: list[bytes] = []
        small_docs: list[dict[str, Any]] = []
        batch: list[dict[str, Any]] = []
        total_bytes = 0
        k = 0
        for n in range(args.docs):
            if n % every == 0:
                h = target
            else:
                h = others[k % len(others)]
                k += 1
            doc = make_doc(rng, templates, h, n)
            if h == target:
                small_docs.append(doc)
            batch.append(doc)
            if len(batch) == args.bulk_batch or n == args.docs - 1:
                raw = orjson.dumps({"new_edits": False, "docs": batch})
                total_bytes += len(raw)
                big_batches.append(raw)
                batch = []
        small_batches = [
            orjson.dumps({"new_edits": False, "docs": small_docs[i : i + args.bulk_batch]})
            for i in range(0, len(small_docs), args.bulk_batch)
        ]
        res["mean_doc_bytes"] = total_bytes / max(1, args.docs)
        res["target_docs"] = len(small_docs)

        log(f"  loading {args.docs:,} docs into {big} ({args.bulk_batch}/batch, {args.bulk_conns} conns) ...")
        cpu0 = srv.cpu_seconds()
        wall, errs = await bulk_load(s, f"{srv.url}/{big}", big_batches, args.bulk_conns)
        cpu1 = srv.cpu_seconds()
        errors += errs
        res["load"] = {
            "wall": wall,
            "rate": args.docs / wall,
            "server_cpu": None if cpu0 is None or cpu1 is None else cpu1 - cpu0,
        }
        _, errs = await bulk_load(s, f"{srv.url}/{small}", small_batches, 1)
        errors += errs
        for db, want in ((big, args.docs), (small, len(small_docs))):
            st, body, _ = await call(s, "GET", f"{srv.url}/{db}")
            if st != 200 or body.get("doc_count") != want:
                errors.append(
                    f"GET /{db}: {st} doc_count {body.get('doc_count') if isinstance(body, dict) else body}"
                    f", want {want}"
                )
        del big_batches, small_batches

    res["plan"] = await staff_changes_plan(os.path.join(srv.data_dir, "dbs", f"{big}.sqlite"), target)

    want_ids = {d["_id"] for d in small_docs}
    nt = len(small_docs)
    recent = min(args.recent, nt)
    async with session(2, staff) as st_s, session(2) as ad_s, session(2, staff_small) as st2_s:
        sides = {
            "staff": (st_s, f"{srv.url}/{big}/_changes"),
            "small": (ad_s, f"{srv.url}/{small}/_changes"),
            "staff_small": (st2_s, f"{srv.url}/{small}/_changes"),
        }

        # warm-up (staff login: one bcrypt check, then cached) and the seqs for the small reads
        since: dict[str, dict[str, str]] = {}
        for side, (sess, url) in sides.items():
            _, raw, status = await timed_get(sess, url + "?include_docs=true")
            body = orjson.loads(raw)
            rows = body.get("results", []) if isinstance(body, dict) else []
            if status != 200 or len(rows) != nt:
                errors.append(f"warm-up {side}: {status}, {len(rows)} rows, want {nt}")
            since[side] = {
                "recent": rows[-recent - 1]["seq"] if len(rows) > recent else "0",
                "now": body.get("last_seq", "now") if isinstance(body, dict) else "now",
            }

        kinds = [
            ("full", "include_docs=true", nt, args.reps),
            ("recent", "include_docs=true&since={recent}", recent, args.reps * 5),
            ("now", "include_docs=true&since={now}", 0, args.reps * 5),
        ]
        times: dict[str, dict[str, list[float]]] = {k: {side: [] for side in sides} for k, *_ in kinds}
        sizes: dict[str, dict[str, int]] = {k: {} for k, *_ in kinds}
        cpu: dict[str, dict[str, list[float]]] = {k: {side: [] for side in sides} for k, *_ in kinds}
        for kind, query, want, reps in kinds:
            log(f"  _changes {kind}: {reps} reps each side ...")
            for rep in range(reps):
                order = list(sides)[rep % 3 :] + list(sides)[: rep % 3]  # rotate who goes first
                for side in order:
                    sess, url = sides[side]
                    q = query.format(**{k: v for k, v in since[side].items()})
                    c0 = srv.cpu_ns()
                    dt, raw, status = await timed_get(sess, f"{url}?{q}")
                    c1 = srv.cpu_ns()
                    if c0 is not None and c1 is not None:
                        cpu[kind][side].append((c1 - c0) / 1e9)
                    times[kind][side].append(dt)
                    sizes[kind][side] = len(raw)
                    if rep == 0:  # check once per kind and side (outside the timing)
                        body = orjson.loads(raw)
                        rows = body.get("results", []) if isinstance(body, dict) else []
                        ids = {r["id"] for r in rows}
                        if (
                            status != 200
                            or len(rows) != want
                            or not ids <= want_ids
                            or any("doc" not in r for r in rows)
                        ):
                            errors.append(
                                f"{kind} {side}: {status}, {len(rows)} rows (want {want}), "
                                f"{len(ids - want_ids)} foreign ids"
                            )
        res["reads"] = {
            kind: {
                side: {
                    "median": statistics.median(v),
                    "min": min(v),
                    "max": max(v),
                    "n": len(v),
                    "bytes": sizes[kind][side],
                    "cpu": statistics.median(cpu[kind][side]) if cpu[kind][side] else None,
                }
                for side, v in times[kind].items()
            }
            | {"rows": want}
            for kind, _, want, _ in kinds
        }
    return res


# -- output --------------------------------------------------------------------------------------


def fmt_ms(x: float | None) -> str:
    return "–" if x is None or x != x else (f"{x * 1000:.2f}" if x < 0.01 else f"{x * 1000:.1f}")


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def fds_str(f: dict[str, int] | None) -> str:
    if not f:
        return "–"
    return f"{f['total']} ({f.get('sqlite', 0)} for {f.get('dbs', 0)} dbs / {f.get('socket', 0)} / {f.get('other', 0)})"


def print_creation(
    runs: list[dict[str, Any]], args: argparse.Namespace, bcrypt_times: dict[int, float]
) -> None:
    hdr = ["", *[f"bcrypt cost {r['rounds']}" + (" (overhead)" if r.get("low") else "") for r in runs]]
    rows: list[list[str]] = []

    def row(label: str, f: Any) -> None:
        rows.append([label, *[f(r) for r in runs]])

    row("wall s", lambda r: f"{r['wall']:.1f}")
    row("tenants/s", lambda r: f"{r['tenants'] / r['wall']:.1f}")
    row("requests/s", lambda r: f"{r['requests'] / r['wall']:.0f}")
    row(
        "server CPU s (CPU/wall)",
        lambda r: (
            "–" if r["server_cpu"] is None else f"{r['server_cpu']:.1f} ({r['server_cpu'] / r['wall']:.2f})"
        ),
    )
    for k, label in (
        ("tenant", "POST /_tenants"),
        ("hospital", "POST …/hospitals"),
        ("user", "POST …/users"),
    ):
        row(
            f"{label} ms p50 / p95",
            lambda r, k=k: (
                f"{fmt_ms(r['lat'].get(k, {}).get('p50'))} / {fmt_ms(r['lat'].get(k, {}).get('p95'))}"
            ),
        )
    row("fd limit (soft RLIMIT_NOFILE)", lambda r: str(r.get("fd_limit") or "–"))
    row("open fds at start", lambda r: fds_str(r["start_fds"]))
    row("open fds after creation", lambda r: fds_str(r["fds"]))
    row("RSS MB at start", lambda r: f"{(r['start_rss_kb'] or 0) / 1024:.0f}")
    row(
        "RSS MB after creation (peak)",
        lambda r: f"{(r['rss_kb'] or 0) / 1024:.0f} ({(r['hwm_kb'] or 0) / 1024:.0f})",
    )
    row("data dir MB", lambda r: f"{r['data_mb']:.0f}")
    row("GET /_tenants ms (info)", lambda r: fmt_ms(r.get("list_tenants")))
    row("GET /_tenants/{db} ms (info)", lambda r: fmt_ms(r.get("get_tenant")))
    row(
        "open fds / RSS MB after those",
        lambda r: f"{fds_str(r.get('fds_after_reads'))} / {(r.get('rss_after_reads_kb') or 0) / 1024:.0f}",
    )
    row("errors", lambda r: str(len(r["errors"])))
    print(
        f"\nTenant creation: {args.tenants:,} tenants × {args.hospitals_per_tenant} hospitals × "
        f"{args.users_per_tenant} users (1 tenant admin + {args.users_per_tenant - 1} staff), "
        f"{args.concurrency} tenants at a time, one fresh server per column"
    )
    print(table(rows, hdr))
    print(
        "  fds: total (sqlite files: db/-wal/-shm of each connection, for N distinct dbs / sockets / other). Server CPU counts all its threads "
        "(bcrypt runs in a thread pool)."
    )
    for r in runs:
        lim = r.get("fd_limit")
        peak = max((f or {}).get("total", 0) for f in (r["fds"], r.get("fds_after_reads")))
        if lim and peak >= 0.9 * lim:
            print(
                f"  ! cost {r['rounds']}: {peak} open fds is {100 * peak / lim:.0f}% of the server's soft fd limit {lim}"
            )
    main = [r for r in runs if not r.get("low")]
    low = [r for r in runs if r.get("low")]
    if (
        main
        and low
        and main[0]["rounds"] != COUCHSYNC_DEFAULT_ROUNDS
        and main[0]["rounds"] > low[0]["rounds"]
    ):
        m, lo = main[0], low[0]
        per_m, per_l = m["wall"] / m["tenants"], lo["wall"] / lo["tenants"]
        scale = (2**COUCHSYNC_DEFAULT_ROUNDS - 2 ** lo["rounds"]) / (2 ** m["rounds"] - 2 ** lo["rounds"])
        est = per_l + (per_m - per_l) * scale
        print(
            f"  bcrypt cost {COUCHSYNC_DEFAULT_ROUNDS} (couchsync's default), extrapolated from these runs "
            f"(wall per tenant = a + b·2^cost): ~{1 / est:.2f} tenants/s, ~{est * args.tenants / 60:.0f} min "
            f"for {args.tenants:,} tenants."
        )
    elif main and main[0]["rounds"] != COUCHSYNC_DEFAULT_ROUNDS and bcrypt_times:
        m = main[0]
        t_main, t12 = bcrypt_times.get(m["rounds"]), bcrypt_times.get(COUCHSYNC_DEFAULT_ROUNDS)
        if t_main is not None and t12 is not None:
            users = m["tenants"] * args.users_per_tenant
            est = m["wall"] + users * (t12 - t_main) / 1000 / (os.cpu_count() or 1)
            print(
                f"  bcrypt cost {COUCHSYNC_DEFAULT_ROUNDS} (couchsync's default), estimated as this run + {users:,} × "
                f"({t12:.0f} − {t_main:.1f} ms per hash, timed here) / {os.cpu_count()} cores: "
                f"~{m['tenants'] / est:.2f} tenants/s, ~{est / 60:.0f} min (--low-rounds 4 adds a run that "
                "measures the non-bcrypt share)."
            )
    for r in runs:
        for e in r["errors"][:5]:
            print(f"  error (cost {r['rounds']}): {e}")
        if len(r["errors"]) > 5:
            print(f"  ... and {len(r['errors']) - 5} more errors (cost {r['rounds']})")


def print_changes(c: dict[str, Any], args: argparse.Namespace) -> None:
    nt = c["target_docs"]
    print(
        f"\nStaff _changes: tenant db of {c['docs']:,} docs (mean {c['mean_doc_bytes']:.0f} B) in "
        f"{c['hospitals']} hospitals; the staff member's hospital {c['target']} holds {nt:,} "
        f"(every {c['every']}th seq). Compared with the server admin reading a separate db of only those "
        f"{nt:,} docs. Median wall ms over the reps (min–max); ratio = staff / small db; target ≤ "
        f"{args.ratio_target:g}."
    )
    labels = {
        "full": "full ?include_docs=true",
        "recent": f"since=<recent> (last {args.recent})",
        "now": "since=<now> (nothing new)",
    }
    hdr = [
        "read",
        "rows",
        "staff, big db",
        "admin, small db",
        "ratio",
        "",
        "staff, small db",
        "big/small staff",
    ]
    wall_rows, cpu_rows = [], []

    def cell(x: dict[str, Any]) -> str:
        return f"{fmt_ms(x['median'])} ({fmt_ms(x['min'])}–{fmt_ms(x['max'])})"

    def ratio(x: float | None, y: float | None) -> float | None:
        return x / y if x is not None and y else None

    def mark(r: float | None) -> str:
        return "" if r is None else "✓" if r <= args.ratio_target else "✗"

    def rstr(r: float | None) -> str:
        return "–" if r is None else f"{r:.2f}"

    for kind, r in c["reads"].items():
        a, b, s2 = r["staff"], r["small"], r["staff_small"]
        rw = ratio(a["median"], b["median"])
        wall_rows.append(
            [
                labels[kind],
                f"{r['rows']:,}",
                cell(a),
                cell(b),
                rstr(rw),
                mark(rw),
                cell(s2),
                rstr(ratio(a["median"], s2["median"])),
            ]
        )
        rc = ratio(a["cpu"], b["cpu"])
        cpu_rows.append(
            [
                labels[kind],
                f"{r['rows']:,}",
                fmt_ms(a["cpu"]),
                fmt_ms(b["cpu"]),
                rstr(rc),
                mark(rc),
                fmt_ms(s2["cpu"]),
                rstr(ratio(a["cpu"], s2["cpu"])),
            ]
        )
    print("wall ms per read, median (min–max):")
    print(table(wall_rows, hdr))
    print("server CPU ms per read, median (all its threads, /proc/<pid>/task/*/schedstat):")
    print(table(cpu_rows, hdr))
    print(
        "  ratio = staff on the big tenant db / admin on the small db (the target). The control column is a "
        "staff member of the small db (itself a tenant db with the same hospital): big/small staff isolates "
        "the effect of the 99% other documents from a staff request's own overhead (user lookup, access). "
        "On a busy machine the CPU table is the steadier one."
    )
    ld = c["load"]
    cpu = "" if ld["server_cpu"] is None else f", server CPU {ld['server_cpu']:.1f} s"
    print(
        f"  load: {c['docs']:,} docs by _bulk_docs new_edits=false, {args.bulk_batch}/batch, "
        f"{args.bulk_conns} conns: {ld['wall']:.1f} s = {ld['rate']:,.0f} docs/s{cpu} (untimed for the table)"
    )
    print(
        f"  full-read bytes: staff {c['reads']['full']['staff']['bytes']:,}, small db "
        f"{c['reads']['full']['small']['bytes']:,}."
    )
    if c.get("plan"):
        print(f"  SQLite plan of couchsync's staff _changes page: {c['plan']}")
    for e in c["errors"][:10]:
        print(f"  error: {e}")


# -- main ----------------------------------------------------------------------------------------


def py_spy_cmd(args: argparse.Namespace, label: str) -> tuple[list[str] | None, str | None]:
    if not args.py_spy:
        return None, None
    exe = next(
        (
            c
            for c in (str(REPO_ROOT / ".venv" / "bin" / "py-spy"), shutil.which("py-spy") or "")
            if c and os.path.exists(c)
        ),
        None,
    )
    if exe is None:
        raise SystemExit("--py-spy: py-spy not found (pip install py-spy into the venv)")
    root, ext = os.path.splitext(args.py_spy)
    out = f"{root}-{label}{ext}"
    fmt = "speedscope" if ext == ".json" else "flamegraph" if ext == ".svg" else "raw"
    return [
        exe,
        "record",
        "--rate",
        str(args.py_spy_rate),
        *args.py_spy_args.split(),
        "--format",
        fmt,
        "-o",
        out,
        "--",
    ], out


def summarise_profile(args: argparse.Namespace, path: str | None) -> None:
    if not path:
        return
    log(f"py-spy profile written to {path}")
    if path.endswith((".json", ".svg")):
        return
    with contextlib.suppress(Exception):
        out = subprocess.run(
            [
                args.python,
                str(REPO_ROOT / "bench" / "lib" / "pyspy_summary.py"),
                path,
                "--rate",
                str(args.py_spy_rate),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        print("\n" + out.stdout.rstrip())


def bcrypt_ms(rounds: int) -> float | None:
    try:
        import bcrypt
    except ImportError:
        return None
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        bcrypt.hashpw(b"bench-password-1", bcrypt.gensalt(rounds))
        times.append(time.perf_counter() - t0)
    return min(times) * 1000


async def amain(args: argparse.Namespace) -> None:
    skip = set(filter(None, args.skip.split(",")))
    out: dict[str, Any] = {"args": vars(args), "load_start": load_avg()}
    ncpu = os.cpu_count() or 1
    print(
        f"bench/tenants  cpus {ncpu}, load average at start {out['load_start']}, python {sys.version.split()[0]}"
    )
    users = args.tenants * args.users_per_tenant
    bcrypt_times = {
        r: t for r in {COUCHSYNC_DEFAULT_ROUNDS, args.bcrypt_rounds} if (t := bcrypt_ms(r)) is not None
    }
    out["bcrypt_ms_per_hash"] = bcrypt_times
    b12 = bcrypt_times.get(COUCHSYNC_DEFAULT_ROUNDS)
    if "create" not in skip:
        note = f"bcrypt cost {args.bcrypt_rounds} for the creation run"
        if args.bcrypt_rounds != COUCHSYNC_DEFAULT_ROUNDS:
            note += f" (couchsync's default is {COUCHSYNC_DEFAULT_ROUNDS}; pass --bcrypt-rounds 12 to use it"
            if b12 is not None:
                note += (
                    f". One cost-12 hash takes {b12:.0f} ms here, so {users:,} users would spend "
                    f"~{users * b12 / 1000 / ncpu / 60:.0f} min in bcrypt alone on {ncpu} cores"
                )
            note += ")"
        print(note)

    def runner(label: str, rounds: int) -> tuple[Server, str | None]:
        wrap, prof = py_spy_cmd(args, label)
        return Server(args.python, label, rounds, wrap), prof

    if "create" not in skip:
        runs = []
        plan = []
        if args.low_rounds and args.low_rounds != args.bcrypt_rounds:
            plan.append((args.low_rounds, True))
        plan.append((args.bcrypt_rounds, False))
        for rounds, low in plan:
            srv, prof = runner(f"create-r{rounds}", rounds)
            log(f"creating {args.tenants:,} tenants, bcrypt cost {rounds} ...")
            try:
                await srv.start()
                r = await create_tenants(srv, args)
                r["low"] = low
                runs.append(r)
            finally:
                srv.stop()
            summarise_profile(args, prof)
        out["create"] = runs
        print_creation(runs, args, bcrypt_times)

    if "changes" not in skip:
        srv, prof = runner("changes", 4)
        log(f"staff _changes: {args.docs:,} docs ...")
        try:
            await srv.start()
            c = await staff_changes(srv, args)
        finally:
            srv.stop()
        summarise_profile(args, prof)
        out["changes"] = c
        print_changes(c, args)

    out["load_end"] = load_avg()
    print(f"\nload average at end {out['load_end']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
        log(f"wrote {args.json}")


def main() -> None:
    ap = argparse.ArgumentParser(
        prog="bench/tenants/run.sh", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--python",
        default=str(REPO_ROOT / ".venv" / "bin" / "python"),
        help="python that runs couchsync (default: the repo's .venv)",
    )
    g = ap.add_argument_group("tenant creation")
    g.add_argument("--tenants", type=int, default=2000)
    g.add_argument("--hospitals-per-tenant", type=int, default=3)
    g.add_argument(
        "--users-per-tenant", type=int, default=5, help="the first is a tenant admin, the rest staff"
    )
    g.add_argument("--concurrency", type=int, default=8, help="tenants created at a time")
    g.add_argument(
        "--bcrypt-rounds",
        type=int,
        default=8,
        help="bcrypt cost of the main run (default 8: couchsync's default 12 takes 20–50 min for "
        "10,000 users on 2 cores)",
    )
    g.add_argument(
        "--low-rounds",
        type=int,
        default=0,
        help="also run at this (minimal) cost to show the non-bcrypt overhead; 0 to skip",
    )
    g = ap.add_argument_group("staff _changes")
    g.add_argument("--docs", type=int, default=100_000)
    g.add_argument("--share", type=float, default=0.01, help="fraction of the docs in the staff's hospital")
    g.add_argument(
        "--hospitals", type=int, default=10, help="hospitals in the tenant db, the staff's included"
    )
    g.add_argument("--bulk-batch", type=int, default=1000)
    g.add_argument("--bulk-conns", type=int, default=2)
    g.add_argument("--reps", type=int, default=9, help="full reads per side (small reads: 5×)")
    g.add_argument("--recent", type=int, default=10, help="rows after since=<recent>")
    g.add_argument("--ratio-target", type=float, default=1.5, help="ratio marked ✓ at or below this")
    g.add_argument("--seed", type=int, default=42)
    g = ap.add_argument_group("general")
    g.add_argument("--skip", default="", help="comma-separated: create, changes")
    g.add_argument("--json", help="also write every measurement to this file")
    g.add_argument(
        "--py-spy",
        help="profile each server with py-spy record; FILE-<run>.<ext> per server "
        "(.svg flamegraph, .json speedscope, else raw + summary)",
    )
    g.add_argument("--py-spy-rate", type=int, default=200)
    g.add_argument("--py-spy-args", default="", help='extra py-spy record arguments, e.g. "--gil"')
    args = ap.parse_args()
    try:
        asyncio.run(amain(args))
    except KeyboardInterrupt:
        log("\ninterrupted: stopping servers ...")
        _stop_all()
        sys.exit(130)


if __name__ == "__main__":
    main()
