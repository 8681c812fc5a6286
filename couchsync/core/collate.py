"""CouchDB view collation: ``compare``, ``sort_key`` and the raw (Erlang term) order.

Values are JSON as decoded into Python: ``None``, ``bool``, ``int``/``float``, ``str``, ``list``
(tuples accepted) and ``dict`` (member order preserved, as CouchDB preserves it).

Default collation (CDB ``couch_ejson_compare.erl`` / ``priv/couch_ejson_compare/couch_ejson_compare.c``;
DOCS ``ddocs/views/collation.rst``)::

    null < false < true < numbers < strings < arrays < objects

* numbers compare numerically (``1 == 1.0``; ints and floats compared exactly);
* strings compare with the ICU root collator at its default (tertiary) strength, exactly like
  CouchDB's ``ucol_open("")`` + ``ucol_strcollIter``: a first pass ignoring case and accents, then
  accents, then case with lowercase first (``a < A < aa < b``); punctuation < digits < letters.
  Strings that ICU considers equal (e.g. NFC vs NFD spellings, or differing only in completely
  ignorable code points such as U+0000) compare equal, as in CouchDB;
* arrays compare element by element, a proper prefix sorts first;
* objects compare member by member in member order (key by ICU, then value), a prefix first.

ICU: the ``icu`` module comes from the ``pyicu-wheels`` PyPI package (PyICU built as a manylinux
wheel with ICU bundled, no system ICU needed). It is the same ICU4C root collator CouchDB links
against, so there is no approximation. The only deviation is the ICU *version*: CouchDB uses the
libicu of its host (e.g. 72 on Debian 12), this module uses the bundled one (see
``COLLATION_VERSION``). Between ICU versions the root order only changes for newly encoded or
re-weighted characters (new emoji, rare scripts); ASCII and common scripts are stable.

CouchDB's internal "max string" sentinel ``<<255,255,255,255>>`` (invalid UTF-8, used by Mango
for open-ended ranges) cannot be a Python ``str``; ``"\\uffff"`` serves instead: ICU gives U+FFFF
the highest primary weight, so it sorts after every other string (tested).

``sort_key(value)`` returns bytes whose plain ``memcmp`` order equals ``compare`` order (for
SQLite ``BLOB`` index columns). Keys built with one ``COLLATION_VERSION`` must not be compared
with keys built under another: store the version with an index and rebuild when it changes.

Raw collation (``compare_raw``) is Erlang term order over EJSON, used by CouchDB for ``_all_docs``
ids, the Mango ``_id`` field (``mango_json:cmp_raw/2``) and views with
``"options": {"collation": "raw"}``: ``numbers < false < null < true < objects < arrays <
strings``, strings by UTF-8 bytes (= code point order).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import icu

__all__ = [
    "COLLATION_VERSION",
    "compare",
    "compare_raw",
    "compare_strings",
    "sort_key",
    "string_sort_key",
]

_COLLATOR = icu.Collator.createInstance(icu.Locale.getRoot())

COLLATION_VERSION: str = f"icu-{icu.ICU_VERSION}/unicode-{icu.UNICODE_VERSION}"
"""Identifies the string order behind ``sort_key``; persisted keys are only valid for one version."""

# --- type ranks --------------------------------------------------------------------------------

_NULL, _FALSE, _TRUE, _NUMBER, _STRING, _ARRAY, _OBJECT = range(7)


def _rank(value: Any) -> int:
    """Position of ``value``'s JSON type in the view collation; raises ``TypeError`` for non-JSON."""
    if value is None:
        return _NULL
    if value is False:
        return _FALSE
    if value is True:
        return _TRUE
    if isinstance(value, int | float):
        return _NUMBER
    if isinstance(value, str):
        return _STRING
    if isinstance(value, list | tuple):
        return _ARRAY
    if isinstance(value, dict):
        return _OBJECT
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _sign(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


# --- compare -------------------------------------------------------------------------------------


def compare_strings(a: str, b: str) -> int:
    """ICU root collation of two strings: -1, 0 or 1 (``couch_ejson_compare.c`` ``compare_strings``)."""
    if a == b:
        return 0
    return int(_COLLATOR.compare(a, b))


def compare(a: Any, b: Any) -> int:
    """CouchDB view collation of two JSON values: -1 if ``a < b``, 0 if equal, 1 if ``a > b``.

    Follows ``couch_ejson_compare:less/2``. Raises ``TypeError`` for values that are not JSON.
    """
    rank_a, rank_b = _rank(a), _rank(b)
    if rank_a != rank_b:
        return -1 if rank_a < rank_b else 1
    if rank_a == _NUMBER:
        return _sign(a, b)
    if rank_a == _STRING:
        return compare_strings(a, b)
    if rank_a == _ARRAY:
        return _compare_sequences(a, b, compare)
    if rank_a == _OBJECT:
        return _compare_members(a, b, compare_strings, compare)
    return 0  # null, false, true: one value per rank


def _compare_sequences(a: Any, b: Any, cmp: Callable[[Any, Any], int]) -> int:
    for x, y in zip(a, b, strict=False):
        result = cmp(x, y)
        if result:
            return result
    return _sign(len(a), len(b))


def _compare_members(
    a: dict[str, Any],
    b: dict[str, Any],
    cmp_key: Callable[[str, str], int],
    cmp_value: Callable[[Any, Any], int],
) -> int:
    for (key_a, value_a), (key_b, value_b) in zip(a.items(), b.items(), strict=False):
        result = cmp_key(key_a, key_b) or cmp_value(value_a, value_b)
        if result:
            return result
    return _sign(len(a), len(b))


# --- raw (Erlang term) order -----------------------------------------------------------------------

_RAW_NUMBER, _RAW_FALSE, _RAW_NULL, _RAW_TRUE, _RAW_OBJECT, _RAW_ARRAY, _RAW_STRING = range(7)
_RAW_RANK = {
    _NULL: _RAW_NULL,
    _FALSE: _RAW_FALSE,
    _TRUE: _RAW_TRUE,
    _NUMBER: _RAW_NUMBER,
    _STRING: _RAW_STRING,
    _ARRAY: _RAW_ARRAY,
    _OBJECT: _RAW_OBJECT,
}


def compare_raw(a: Any, b: Any) -> int:
    """Erlang term order of two JSON values as EJSON: -1, 0 or 1 (``mango_json:cmp_raw/2``).

    ``numbers < false < null < true < objects < arrays < strings`` (atoms sort by name, ``{Props}``
    tuples before lists before binaries). Strings compare by UTF-8 bytes, which for Python ``str``
    is code point order (``"A" < "B" < "a" < "b"``). Used for ``_all_docs`` ids and Mango ``_id``.
    """
    rank_a, rank_b = _RAW_RANK[_rank(a)], _RAW_RANK[_rank(b)]
    if rank_a != rank_b:
        return -1 if rank_a < rank_b else 1
    if rank_a in (_RAW_NUMBER, _RAW_STRING):
        return _sign(a, b)
    if rank_a == _RAW_ARRAY:
        return _compare_sequences(a, b, compare_raw)
    if rank_a == _RAW_OBJECT:
        return _compare_members(a, b, _sign, compare_raw)
    return 0


# --- sort keys -------------------------------------------------------------------------------------
#
# Layout (byte order == ``compare`` order). Every encoding is prefix-free, so concatenating element
# encodings inside arrays/objects keeps the order:
#   null 0x10 | false 0x11 | true 0x12
#   number 0x20 + sign class + body (see _number_key)
#   string 0x30 + ICU sort key (ends with its own 0x00; ICU keys contain no other 0x00 byte)
#   array  0x40 + element keys... + 0x00
#   object 0x50 + (ICU key of member name + value key)... + 0x00
# The 0x00 terminator is below every type tag and every ICU key's first byte (>= 0x01), so a
# shorter array/object sorts before any extension of it.

_END = b"\x00"
_TAG_NULL, _TAG_FALSE, _TAG_TRUE = b"\x10", b"\x11", b"\x12"
_TAG_NUMBER, _TAG_STRING, _TAG_ARRAY, _TAG_OBJECT = b"\x20", b"\x30", b"\x40", b"\x50"

_NUM_NEG_INF, _NUM_NEG, _NUM_ZERO, _NUM_POS, _NUM_POS_INF = b"\x00", b"\x01", b"\x02", b"\x03", b"\x04"
_EXPONENT_BIAS = 1 << 31


@functools.lru_cache(maxsize=65536)
def string_sort_key(text: str) -> bytes:
    """ICU root-collator sort key of ``text`` (NUL-terminated, no other NUL bytes); cached."""
    key: bytes = _COLLATOR.getSortKey(text)
    return key if key.endswith(_END) else key + _END


def sort_key(value: Any) -> bytes:
    """Bytes whose lexicographic order equals ``compare`` order; deterministic per ``COLLATION_VERSION``.

    Equal values under ``compare`` (``1`` and ``1.0``, ICU-equal strings) get identical keys.
    Raises ``TypeError`` for non-JSON values and ``ValueError`` for NaN.
    """
    parts: list[bytes] = []
    _append_key(value, parts)
    return b"".join(parts)


def _append_key(value: Any, parts: list[bytes]) -> None:
    rank = _rank(value)
    if rank == _STRING:
        parts += (_TAG_STRING, string_sort_key(value))
    elif rank == _NUMBER:
        parts += (_TAG_NUMBER, _number_key(value))
    elif rank == _ARRAY:
        parts.append(_TAG_ARRAY)
        for item in value:
            _append_key(item, parts)
        parts.append(_END)
    elif rank == _OBJECT:
        parts.append(_TAG_OBJECT)
        for key, item in value.items():
            parts.append(string_sort_key(key))
            _append_key(item, parts)
        parts.append(_END)
    else:
        parts.append((_TAG_NULL, _TAG_FALSE, _TAG_TRUE)[rank])


def _number_key(number: int | float) -> bytes:
    """Order-preserving, prefix-free encoding of an exact number.

    A non-zero finite number is ``±m·2**e`` with ``m`` odd. Its magnitude is encoded as the
    exponent of its most significant bit (4 bytes, biased) followed by the remaining mantissa bits
    left-aligned in 7-bit groups (each byte ``group << 1 | 1``) and a 0x00 terminator. Negative
    numbers invert the magnitude bytes so larger magnitudes sort first.
    """
    if isinstance(number, float):
        if math.isnan(number):
            raise ValueError("NaN has no collation order")
        if math.isinf(number):
            return _NUM_POS_INF if number > 0 else _NUM_NEG_INF
        numerator, denominator = number.as_integer_ratio()
        exponent = 1 - denominator.bit_length()  # denominator is a power of two
    else:
        numerator, exponent = number, 0
    if numerator == 0:
        return _NUM_ZERO
    magnitude = _magnitude_key(abs(numerator), exponent)
    if numerator > 0:
        return _NUM_POS + magnitude
    return _NUM_NEG + bytes(255 - byte for byte in magnitude)


def _magnitude_key(mantissa: int, exponent: int) -> bytes:
    trailing_zeros = (mantissa & -mantissa).bit_length() - 1
    mantissa >>= trailing_zeros
    width = mantissa.bit_length() - 1  # bits after the leading 1
    top_exponent = exponent + trailing_zeros + width
    if not -_EXPONENT_BIAS <= top_exponent < _EXPONENT_BIAS:
        raise OverflowError("number too large to collate")
    head = (top_exponent + _EXPONENT_BIAS).to_bytes(4, "big")
    fraction = mantissa - (1 << width)
    padding = -width % 7
    fraction <<= padding
    groups = (width + padding) // 7
    body = bytes((((fraction >> (7 * (groups - 1 - i))) & 0x7F) << 1) | 1 for i in range(groups))
    return head + body + _END
