"""Failed-login lockout. Source: CouchDB DOCS ``config/auth.rst`` ``[chttpd_auth_lockout]``
(threshold 5 per user+IP, 5 min), ``couch_httpd_auth.erl`` ``?LOCKOUT_MSG``,
``test/elixir/test/auth_lockout_test.exs`` (five 401s, then 403)."""

import pytest

from couchsync.auth.throttle import LOCKOUT_REASON, LoginThrottle
from couchsync.errors import Forbidden

IP = "10.0.0.1"


def fail(throttle, n, name="alice", addr=IP, now=0.0):
    for _ in range(n):
        throttle.check(name, addr, now)
        throttle.record_failure(name, addr, now)


def test_couchdb_lockout_sequence():
    t = LoginThrottle()
    fail(t, 5)  # five failed attempts are each let through (and answered 401 by the caller)
    with pytest.raises(Forbidden) as err:
        t.check("alice", IP, 1.0)
    assert (err.value.status, err.value.error) == (403, "forbidden")
    assert (
        err.value.reason
        == LOCKOUT_REASON
        == ("Account is temporarily locked due to multiple authentication failures")
    )
    assert t.is_locked("alice", IP, 1.0)


def test_below_threshold_not_locked():
    t = LoginThrottle(max_failures=5)
    fail(t, 4)
    t.check("alice", IP, 0.0)
    assert not t.is_locked("alice", IP, 0.0)


@pytest.mark.parametrize(("name", "addr"), [("alice", "10.0.0.2"), ("bob", IP), ("alice", None)])
def test_lock_is_per_name_and_address_pair(name, addr):
    t = LoginThrottle(max_failures=3)
    fail(t, 3)
    t.check(name, addr, 0.0)  # a stranger cannot lock alice out from elsewhere


def test_lock_releases_after_lockout_seconds():
    t = LoginThrottle(max_failures=2, window_seconds=60, lockout_seconds=100)
    fail(t, 2, now=10.0)
    with pytest.raises(Forbidden):
        t.check("alice", IP, 109.9)
    t.check("alice", IP, 110.0)  # released, and forgotten
    assert len(t) == 0
    fail(t, 1, now=110.0)  # counting starts afresh
    t.check("alice", IP, 110.0)


def test_failures_outside_window_do_not_accumulate():
    t = LoginThrottle(max_failures=3, window_seconds=60)
    fail(t, 2, now=0.0)
    fail(t, 2, now=61.0)  # new window: count is 2, not 4
    t.check("alice", IP, 61.0)
    fail(t, 1, now=62.0)
    with pytest.raises(Forbidden):
        t.check("alice", IP, 62.0)


def test_success_resets_count():
    t = LoginThrottle(max_failures=3)
    fail(t, 2)
    t.record_success("alice", IP)
    fail(t, 2)
    t.check("alice", IP, 0.0)
    t.record_success("nobody", IP)  # unknown pair: no error


def test_failures_while_locked_do_not_extend_the_lock():
    t = LoginThrottle(max_failures=1, lockout_seconds=10)
    t.record_failure("alice", IP, 0.0)
    t.record_failure("alice", IP, 5.0)
    t.check("alice", IP, 10.0)


def test_memory_is_bounded():
    t = LoginThrottle(max_failures=5, max_entries=100)
    for i in range(1000):
        t.record_failure(f"user{i}", IP, float(i) / 1000)
    assert len(t) == 100
    # the most recent pairs are the ones kept
    fail(t, 4, name="user999", now=1.0)
    with pytest.raises(Forbidden):
        t.check("user999", IP, 1.0)


def test_stale_entries_are_pruned():
    t = LoginThrottle(window_seconds=10, lockout_seconds=10)
    for i in range(50):
        t.record_failure(f"user{i}", IP, 0.0)
    t.record_failure("late", IP, 100.0)
    assert len(t) == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"max_failures": 0}, {"window_seconds": 0}, {"lockout_seconds": -1}, {"max_entries": 0}],
)
def test_invalid_limits(kwargs):
    with pytest.raises(ValueError):
        LoginThrottle(**kwargs)
