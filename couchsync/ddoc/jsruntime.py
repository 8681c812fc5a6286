"""The JavaScript runtime that compiled design-document functions carry inside themselves.

The translator (:mod:`couchsync.ddoc.translate`) rewrites every Python operation whose JavaScript
meaning differs (truthiness, ``==``, ``<``, ``in``, ``+``, ``//``, ``%``, subscripts, ``len``,
``str()``, method calls, iteration, ...) into a call of one of the helpers below, and then inlines
exactly the helpers a function uses (plus their dependencies) at the top of that function's body, so
every compiled function is one self-contained ``function (...) {...}`` expression.

The helpers are ES5 (no ``let``, arrows, ``Array.from`` or ``codePointAt``) so the output runs in
CouchDB's SpiderMonkey, in QuickJS and in PouchDB (any browser or Node). They implement Python 3
semantics over JSON values (``None``, ``bool``, numbers, ``str``, ``list``, ``dict``) and raise
(throw an ``Error`` named like the Python exception) wherever Python would raise, so a divergence
becomes a loud failure rather than a silently different value.

Model of numbers: JavaScript has one number type, so an integral value is an ``int`` (JSON ``80.0``
arrives as ``80`` in JavaScript; the Python test runners normalise documents the same way).
"""

from __future__ import annotations

import re

HELPERS: dict[str, str] = {}

_HELPER_REF = re.compile(r"\b_cs_[A-Za-z0-9_]+\b")


def _h(name: str, code: str) -> None:
    HELPERS[name] = code.strip()


_h(
    "_cs_raise",
    """
function _cs_raise(kind, msg) { var e = new Error(kind + ": " + msg); e.name = kind; throw e; }
""",
)

_h(
    "_cs_isarray",
    """
function _cs_isarray(x) { return Object.prototype.toString.call(x) === "[object Array]"; }
""",
)

_h(
    "_cs_has",
    """
function _cs_has(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }
""",
)

_h(
    "_cs_type",
    """
function _cs_type(x) {
    if (x === null || x === undefined) { return "NoneType"; }
    var t = typeof x;
    if (t === "string") { return "str"; }
    if (t === "boolean") { return "bool"; }
    if (t === "number") { return (x % 1 === 0 && x <= 9007199254740992 && x >= -9007199254740992) ? "int" : "float"; }
    if (t === "function") { return "function"; }
    if (_cs_isarray(x)) { return "list"; }
    return "dict";
}
""",
)

_h(
    "_cs_isnum",
    """
function _cs_isnum(x) { var t = typeof x; return t === "number" || t === "boolean"; }
""",
)

_h(
    "_cs_isdict",
    """
function _cs_isdict(x) { return x !== null && typeof x === "object" && !_cs_isarray(x); }
""",
)

_h(
    "_cs_num",
    """
function _cs_num(x, op) {
    if (_cs_isnum(x)) { return Number(x); }
    _cs_raise("TypeError", "unsupported operand type for " + op + ": '" + _cs_type(x) + "'");
}
""",
)

_h(
    "_cs_bound",
    """
function _cs_bound(v, name) {
    if (v === undefined) {
        _cs_raise("UnboundLocalError", "local variable '" + name + "' referenced before assignment");
    }
    return v;
}
""",
)

_h(
    "_cs_bool",
    """
function _cs_bool(x) {
    if (x === null || x === undefined) { return false; }
    var t = typeof x;
    if (t === "boolean") { return x; }
    if (t === "number") { return x !== 0; }
    if (t === "string") { return x.length > 0; }
    if (t === "function") { return true; }
    if (_cs_isarray(x)) { return x.length > 0; }
    for (var k in x) { if (_cs_has(x, k)) { return true; } }
    return false;
}
""",
)

_h(
    "_cs_eq",
    """
function _cs_eq(a, b) {
    if (a === b) { return true; }
    if (a === null || a === undefined || b === null || b === undefined) { return a == null && b == null; }
    if (_cs_isnum(a) && _cs_isnum(b)) { return Number(a) === Number(b); }
    if (typeof a !== "object" || typeof b !== "object") { return false; }
    var aa = _cs_isarray(a), i;
    if (aa !== _cs_isarray(b)) { return false; }
    if (aa) {
        if (a.length !== b.length) { return false; }
        for (i = 0; i < a.length; i++) { if (!_cs_eq(a[i], b[i])) { return false; } }
        return true;
    }
    var ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) { return false; }
    for (i = 0; i < ka.length; i++) {
        if (!_cs_has(b, ka[i]) || !_cs_eq(a[ka[i]], b[ka[i]])) { return false; }
    }
    return true;
}
""",
)

_h(
    "_cs_ne",
    """
function _cs_ne(a, b) { return !_cs_eq(a, b); }
""",
)

# Python compares str by code point; JS `<` compares UTF-16 code units. They only disagree when both
# units are >= 0xD800 (a surrogate, i.e. a code point >= U+10000, vs U+E000..U+FFFF): remap those.
_h(
    "_cs_strcmp",
    """
function _cs_strcmp(a, b) {
    if (a === b) { return 0; }
    var n = Math.min(a.length, b.length);
    for (var i = 0; i < n; i++) {
        var x = a.charCodeAt(i), y = b.charCodeAt(i);
        if (x !== y) {
            if (x >= 0xD800 && y >= 0xD800) {
                x = x >= 0xE000 ? x - 0x800 : x + 0x2000;
                y = y >= 0xE000 ? y - 0x800 : y + 0x2000;
            }
            return x < y ? -1 : 1;
        }
    }
    return a.length < b.length ? -1 : (a.length > b.length ? 1 : 0);
}
""",
)

# -1, 0, 1, or 2 for "unordered" (NaN): every ordering comparison is then false, as in Python.
_h(
    "_cs_cmp",
    """
function _cs_cmp(a, b) {
    if (_cs_isnum(a) && _cs_isnum(b)) {
        a = Number(a); b = Number(b);
        if (a !== a || b !== b) { return 2; }
        return a < b ? -1 : (a > b ? 1 : 0);
    }
    var ta = _cs_type(a), tb = _cs_type(b);
    if (ta === "str" && tb === "str") { return _cs_strcmp(a, b); }
    if (ta === "list" && tb === "list") {
        var n = Math.min(a.length, b.length);
        for (var i = 0; i < n; i++) { if (!_cs_eq(a[i], b[i])) { return _cs_cmp(a[i], b[i]); } }
        return a.length < b.length ? -1 : (a.length > b.length ? 1 : 0);
    }
    _cs_raise("TypeError", "'<' not supported between instances of '" + ta + "' and '" + tb + "'");
}
""",
)

_h("_cs_lt", "function _cs_lt(a, b) { return _cs_cmp(a, b) === -1; }")
_h("_cs_le", "function _cs_le(a, b) { var c = _cs_cmp(a, b); return c === -1 || c === 0; }")
_h("_cs_gt", "function _cs_gt(a, b) { return _cs_cmp(a, b) === 1; }")
_h("_cs_ge", "function _cs_ge(a, b) { var c = _cs_cmp(a, b); return c === 1 || c === 0; }")

_h("_cs_or", "function _cs_or(a, rest) { return _cs_bool(a) ? a : rest(); }")
_h("_cs_and", "function _cs_and(a, rest) { return _cs_bool(a) ? rest() : a; }")

_h("_cs_isnone", "function _cs_isnone(x) { return x === null || x === undefined; }")

_h(
    "_cs_hashable",
    """
function _cs_hashable(k) {
    if (k !== null && typeof k === "object") { _cs_raise("TypeError", "unhashable type: '" + _cs_type(k) + "'"); }
    return k;
}
""",
)

_h(
    "_cs_in",
    """
function _cs_in(x, c) {
    var t = _cs_type(c), i;
    if (t === "str") {
        if (typeof x !== "string") {
            _cs_raise("TypeError", "'in <string>' requires string as left operand, not " + _cs_type(x));
        }
        return c.indexOf(x) !== -1;
    }
    if (t === "list") {
        for (i = 0; i < c.length; i++) { if (_cs_eq(x, c[i])) { return true; } }
        return false;
    }
    if (t === "dict") { _cs_hashable(x); return typeof x === "string" && _cs_has(c, x); }
    _cs_raise("TypeError", "argument of type '" + t + "' is not iterable");
}
""",
)

_h("_cs_notin", "function _cs_notin(x, c) { return !_cs_in(x, c); }")

# Strings as sequences of code points: a string without surrogates indexes as itself.
_h(
    "_cs_chars",
    """
function _cs_chars(s) {
    if (!/[\\uD800-\\uDFFF]/.test(s)) { return s; }
    var out = [], i = 0;
    while (i < s.length) {
        var c = s.charCodeAt(i);
        if (c >= 0xD800 && c < 0xDC00 && i + 1 < s.length) {
            var d = s.charCodeAt(i + 1);
            if (d >= 0xDC00 && d < 0xE000) { out.push(s.substr(i, 2)); i += 2; continue; }
        }
        out.push(s.charAt(i)); i += 1;
    }
    return out;
}
""",
)

_h(
    "_cs_int_index",
    """
function _cs_int_index(k, what) {
    if (typeof k === "boolean") { return Number(k); }
    if (_cs_type(k) === "int") { return k; }
    _cs_raise("TypeError", what + " must be integers, not " + _cs_type(k));
}
""",
)

_h(
    "_cs_keyerror",
    """
function _cs_keyerror(k) { _cs_raise("KeyError", typeof k === "string" ? "'" + k + "'" : String(k)); }
""",
)

_h(
    "_cs_getitem",
    """
function _cs_getitem(o, k) {
    var t = _cs_type(o);
    if (t === "dict") {
        _cs_hashable(k);
        if (typeof k === "string" && _cs_has(o, k)) { return o[k]; }
        _cs_keyerror(k);
    }
    if (t === "list" || t === "str") {
        var i = _cs_int_index(k, t + " indices"), s = t === "str" ? _cs_chars(o) : o;
        if (i < 0) { i += s.length; }
        if (i < 0 || i >= s.length) { _cs_raise("IndexError", t + " index out of range"); }
        return typeof s === "string" ? s.charAt(i) : s[i];
    }
    _cs_raise("TypeError", "'" + t + "' object is not subscriptable");
}
""",
)

_h(
    "_cs_setkey",
    """
function _cs_setkey(o, k, v) {
    if (typeof k !== "string") {
        _cs_hashable(k);
        _cs_raise("TypeError", "dict keys must be str in a design document function, not " + _cs_type(k));
    }
    if (k === "__proto__") {
        Object.defineProperty(o, k, {value: v, writable: true, enumerable: true, configurable: true});
    } else { o[k] = v; }
}
""",
)

_h(
    "_cs_setitem",
    """
function _cs_setitem(o, k, v) {
    var t = _cs_type(o);
    if (t === "dict") { _cs_setkey(o, k, v); return null; }
    if (t === "list") {
        var i = _cs_int_index(k, "list indices");
        if (i < 0) { i += o.length; }
        if (i < 0 || i >= o.length) { _cs_raise("IndexError", "list assignment index out of range"); }
        o[i] = v; return null;
    }
    _cs_raise("TypeError", "'" + t + "' object does not support item assignment");
}
""",
)

_h(
    "_cs_delitem",
    """
function _cs_delitem(o, k) {
    var t = _cs_type(o);
    if (t === "dict") {
        _cs_hashable(k);
        if (typeof k === "string" && _cs_has(o, k)) { delete o[k]; return null; }
        _cs_keyerror(k);
    }
    if (t === "list") {
        var i = _cs_int_index(k, "list indices");
        if (i < 0) { i += o.length; }
        if (i < 0 || i >= o.length) { _cs_raise("IndexError", "list assignment index out of range"); }
        o.splice(i, 1); return null;
    }
    _cs_raise("TypeError", "'" + t + "' object does not support item deletion");
}
""",
)

_h(
    "_cs_slice",
    """
function _cs_slice(o, lo, hi) {
    var t = _cs_type(o);
    if (t !== "list" && t !== "str") { _cs_raise("TypeError", "'" + t + "' object is not subscriptable"); }
    lo = lo === null ? 0 : _cs_int_index(lo, "slice indices");
    hi = hi === null ? undefined : _cs_int_index(hi, "slice indices");
    if (t === "list") { return o.slice(lo, hi); }
    var s = _cs_chars(o);
    return typeof s === "string" ? s.slice(lo, hi) : s.slice(lo, hi).join("");
}
""",
)

_h(
    "_cs_dict",
    """
function _cs_dict(kv) {
    var d = {};
    for (var i = 0; i < kv.length; i += 2) { _cs_setkey(d, kv[i], kv[i + 1]); }
    return d;
}
""",
)

# Iteration: JS orders integer-like keys ("0", "12") first, Python keeps insertion order. Such an
# order cannot be recovered in JS, so iterating such a dict raises instead of differing.
_h(
    "_cs_keys",
    """
function _cs_keys(o) {
    var ks = Object.keys(o);
    for (var i = 0; i < ks.length; i++) {
        if (/^(0|[1-9][0-9]*)$/.test(ks[i]) && Number(ks[i]) < 4294967295) {
            _cs_raise("TypeError", "cannot iterate a dict with the integer-like key '" + ks[i] +
                      "' (JavaScript orders such keys differently): iterate sorted(d) instead");
        }
    }
    return ks;
}
""",
)

_h(
    "_cs_iter",
    """
function _cs_iter(x) {
    var t = _cs_type(x);
    if (t === "list") { return x; }
    if (t === "str") { var s = _cs_chars(x); return typeof s === "string" ? s.split("") : s; }
    if (t === "dict") { return _cs_keys(x); }
    _cs_raise("TypeError", "'" + t + "' object is not iterable");
}
""",
)

_h(
    "_cs_unpack",
    """
function _cs_unpack(x, n) {
    var a = _cs_iter(x);
    if (a.length < n) { _cs_raise("ValueError", "not enough values to unpack (expected " + n + ", got " + a.length + ")"); }
    if (a.length > n) { _cs_raise("ValueError", "too many values to unpack (expected " + n + ")"); }
    return a;
}
""",
)

_h(
    "_cs_unpack_each",
    """
function _cs_unpack_each(x, n) {
    var a = _cs_iter(x), out = [];
    for (var i = 0; i < a.length; i++) { out.push(_cs_unpack(a[i], n)); }
    return out;
}
""",
)

_h(
    "_cs_len",
    """
function _cs_len(x) {
    var t = _cs_type(x);
    if (t === "list") { return x.length; }
    if (t === "str") { return _cs_chars(x).length; }
    if (t === "dict") { return Object.keys(x).length; }
    _cs_raise("TypeError", "object of type '" + t + "' has no len()");
}
""",
)

# An int result beyond 2**53 cannot be exact in JavaScript (Python's ints are): raise instead.
_h(
    "_cs_exact",
    """
function _cs_exact(r, a, b) {
    if ((r > 9007199254740992 || r < -9007199254740992) && r % 1 === 0 && _cs_type(a) !== "float" && _cs_type(b) !== "float") {
        _cs_raise("OverflowError", "integer result beyond 2**53 cannot be exact in JavaScript");
    }
    return r;
}
""",
)

_h(
    "_cs_add",
    """
function _cs_add(a, b) {
    if (_cs_isnum(a) && _cs_isnum(b)) { return _cs_exact(Number(a) + Number(b), a, b); }
    var ta = _cs_type(a), tb = _cs_type(b);
    if (ta === "str" && tb === "str") { return a + b; }
    if (ta === "list" && tb === "list") { return a.concat(b); }
    _cs_raise("TypeError", "unsupported operand type(s) for +: '" + ta + "' and '" + tb + "'");
}
""",
)

_h(
    "_cs_iadd",
    """
function _cs_iadd(a, b) {
    if (_cs_isarray(a)) { var it = _cs_iter(b); for (var i = 0; i < it.length; i++) { a.push(it[i]); } return a; }
    return _cs_add(a, b);
}
""",
)

_h("_cs_sub", "function _cs_sub(a, b) { return _cs_exact(_cs_num(a, '-') - _cs_num(b, '-'), a, b); }")

_h(
    "_cs_repeat",
    """
function _cs_repeat(seq, n) {
    n = _cs_int_index(n, "can't multiply sequence by non-int: repeat counts");
    var out = typeof seq === "string" ? "" : [];
    for (var i = 0; i < n; i++) { out = out.concat(seq); }
    return out;
}
""",
)

_h(
    "_cs_mul",
    """
function _cs_mul(a, b) {
    if (_cs_isnum(a) && _cs_isnum(b)) { return _cs_exact(Number(a) * Number(b), a, b); }
    var ta = _cs_type(a), tb = _cs_type(b);
    if ((ta === "str" || ta === "list") && _cs_isnum(b)) { return _cs_repeat(a, b); }
    if ((tb === "str" || tb === "list") && _cs_isnum(a)) { return _cs_repeat(b, a); }
    _cs_raise("TypeError", "unsupported operand type(s) for *: '" + ta + "' and '" + tb + "'");
}
""",
)

_h(
    "_cs_div",
    """
function _cs_div(a, b) {
    a = _cs_num(a, "/"); b = _cs_num(b, "/");
    if (b === 0) { _cs_raise("ZeroDivisionError", "division by zero"); }
    return a / b;
}
""",
)

# CPython's float_divmod: exact for integers, and Python's sign rules for floats.
_h(
    "_cs_divmod",
    """
function _cs_divmod(a, b, op) {
    if (typeof a === "string" && op === "%") { _cs_raise("TypeError", "string formatting with % is not supported"); }
    a = _cs_num(a, op); b = _cs_num(b, op);
    if (b === 0) { _cs_raise("ZeroDivisionError", "integer division or modulo by zero"); }
    var mod = a % b, div = (a - mod) / b, floordiv;
    if (mod) { if ((b < 0) !== (mod < 0)) { mod += b; div -= 1; } } else { mod = 0; }
    if (div) { floordiv = Math.floor(div); if (div - floordiv > 0.5) { floordiv += 1; } } else { floordiv = 0; }
    return [floordiv, mod];
}
""",
)

_h("_cs_floordiv", "function _cs_floordiv(a, b) { return _cs_divmod(a, b, '//')[0]; }")
_h("_cs_mod", "function _cs_mod(a, b) { return _cs_divmod(a, b, '%')[1]; }")

_h(
    "_cs_pow",
    """
function _cs_pow(a, b) {
    a = _cs_num(a, "**"); b = _cs_num(b, "**");
    if (a === 0 && b < 0) { _cs_raise("ZeroDivisionError", "0.0 cannot be raised to a negative power"); }
    if (a < 0 && b % 1 !== 0) { _cs_raise("ValueError", "a negative number raised to a fractional power is complex"); }
    var r = Math.pow(a, b);
    return b < 0 ? r : _cs_exact(r, a, b);
}
""",
)

_h("_cs_neg", "function _cs_neg(a) { return -_cs_num(a, 'unary -'); }")
_h("_cs_pos", "function _cs_pos(a) { return +_cs_num(a, 'unary +'); }")

# Python's repr(float): shortest round-trip digits (as JS), fixed notation for 1e-4 <= |x| < 1e16,
# else d.ddde-XX. Integral numbers print as ints (JS has no 80.0).
_h(
    "_cs_numstr",
    """
function _cs_numstr(x) {
    if (x !== x) { return "nan"; }
    if (x === Infinity) { return "inf"; }
    if (x === -Infinity) { return "-inf"; }
    if (_cs_type(x) === "int") { return String(x); }
    var m = /^(-?)(\\d)(?:\\.(\\d+))?e([+-]\\d+)$/.exec(x.toExponential());
    var digits = m[2] + (m[3] || ""), exp = parseInt(m[4], 10);
    if (exp < -4 || exp >= 16) {
        var e = Math.abs(exp);
        return m[1] + m[2] + (m[3] ? "." + m[3] : "") + "e" + (exp < 0 ? "-" : "+") + (e < 10 ? "0" : "") + e;
    }
    if (exp < 0) { return m[1] + "0." + new Array(-exp).join("0") + digits; }
    while (digits.length < exp + 1) { digits += "0"; }
    return m[1] + digits.slice(0, exp + 1) + "." + (digits.slice(exp + 1) || "0");
}
""",
)

_h(
    "_cs_str",
    """
function _cs_str(x) {
    var t = _cs_type(x);
    if (t === "str") { return x; }
    if (t === "NoneType") { return "None"; }
    if (t === "bool") { return x ? "True" : "False"; }
    if (t === "int" || t === "float") { return _cs_numstr(x); }
    _cs_raise("TypeError", "str() of a " + t + " is not supported in a design document function");
}
""",
)

_h(
    "_cs_fstr",
    """
function _cs_fstr(parts) {
    var out = "";
    for (var i = 0; i < parts.length; i++) { out += _cs_str(parts[i]); }
    return out;
}
""",
)

_h(
    "_cs_ws",
    """
function _cs_ws() { return "\\t\\n\\u000b\\f\\r\\u001c\\u001d\\u001e\\u001f \\u0085\\u00a0\\u1680\\u2000\\u2001\\u2002\\u2003\\u2004\\u2005\\u2006\\u2007\\u2008\\u2009\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"; }
""",
)

_h(
    "_cs_strip_chars",
    """
function _cs_strip_chars(s, chars, left, right) {
    if (typeof s !== "string") { _cs_raise("AttributeError", "'" + _cs_type(s) + "' object has no attribute 'strip'"); }
    if (chars === null || chars === undefined) { chars = _cs_ws(); }
    else if (typeof chars !== "string") { _cs_raise("TypeError", "strip arg must be None or str"); }
    var a = _cs_chars(s), set = _cs_chars(chars), i = 0, j = a.length;
    var inset = function (c) { for (var k = 0; k < set.length; k++) { if (set[k] === c) { return true; } } return false; };
    var at = function (n) { return typeof a === "string" ? a.charAt(n) : a[n]; };
    if (left) { while (i < j && inset(at(i))) { i++; } }
    if (right) { while (j > i && inset(at(j - 1))) { j--; } }
    return typeof a === "string" ? a.slice(i, j) : a.slice(i, j).join("");
}
""",
)

_h("_cs_m_strip", "function _cs_m_strip(s, chars) { return _cs_strip_chars(s, chars, true, true); }")
_h("_cs_m_lstrip", "function _cs_m_lstrip(s, chars) { return _cs_strip_chars(s, chars, true, false); }")
_h("_cs_m_rstrip", "function _cs_m_rstrip(s, chars) { return _cs_strip_chars(s, chars, false, true); }")

_h(
    "_cs_need",
    """
function _cs_need(x, t, name) {
    if (_cs_type(x) !== t && !(t === "int" && typeof x === "boolean")) {
        _cs_raise("AttributeError", "'" + _cs_type(x) + "' object has no attribute '" + name + "'");
    }
    return x;
}
""",
)

_h(
    "_cs_needstr",
    """
function _cs_needstr(x, what) {
    if (typeof x !== "string") { _cs_raise("TypeError", what + " must be str, not " + _cs_type(x)); }
    return x;
}
""",
)

_h("_cs_m_lower", "function _cs_m_lower(s) { return _cs_need(s, 'str', 'lower').toLowerCase(); }")
_h("_cs_m_upper", "function _cs_m_upper(s) { return _cs_need(s, 'str', 'upper').toUpperCase(); }")

_h(
    "_cs_m_startswith",
    """
function _cs_m_startswith(s, p) {
    _cs_need(s, "str", "startswith"); _cs_needstr(p, "startswith arg");
    return s.slice(0, p.length) === p;
}
""",
)

_h(
    "_cs_m_endswith",
    """
function _cs_m_endswith(s, p) {
    _cs_need(s, "str", "endswith"); _cs_needstr(p, "endswith arg");
    return p.length === 0 || s.slice(-p.length) === p;
}
""",
)

_h(
    "_cs_m_find",
    """
function _cs_m_find(s, sub) {
    _cs_need(s, "str", "find"); _cs_needstr(sub, "find arg");
    var i = s.indexOf(sub);
    if (i <= 0) { return i; }
    var pre = _cs_chars(s.slice(0, i));
    return pre.length;
}
""",
)

_h(
    "_cs_m_split",
    """
function _cs_m_split(s, sep, maxsplit) {
    _cs_need(s, "str", "split");
    if (maxsplit === undefined || maxsplit === null) { maxsplit = -1; }
    maxsplit = _cs_int_index(maxsplit, "maxsplit");
    var out = [], rest;
    if (sep === undefined || sep === null) {
        var ws = _cs_ws(), a = _cs_chars(s), i = 0, n = a.length, start;
        var at = function (k) { return typeof a === "string" ? a.charAt(k) : a[k]; };
        var sub = function (x, y) { return typeof a === "string" ? a.slice(x, y) : a.slice(x, y).join(""); };
        while (true) {
            while (i < n && ws.indexOf(at(i)) !== -1) { i++; }
            if (i >= n) { break; }
            if (maxsplit >= 0 && out.length === maxsplit) { out.push(sub(i, n)); break; }
            start = i;
            while (i < n && ws.indexOf(at(i)) === -1) { i++; }
            out.push(sub(start, i));
        }
        return out;
    }
    _cs_needstr(sep, "separator");
    if (sep.length === 0) { _cs_raise("ValueError", "empty separator"); }
    var parts = s.split(sep);
    if (maxsplit < 0 || parts.length <= maxsplit + 1) { return parts; }
    rest = parts.slice(maxsplit).join(sep);
    out = parts.slice(0, maxsplit); out.push(rest);
    return out;
}
""",
)

_h(
    "_cs_m_join",
    """
function _cs_m_join(sep, items) {
    _cs_need(sep, "str", "join");
    var a = _cs_iter(items);
    for (var i = 0; i < a.length; i++) {
        if (typeof a[i] !== "string") {
            _cs_raise("TypeError", "sequence item " + i + ": expected str instance, " + _cs_type(a[i]) + " found");
        }
    }
    return a.join(sep);
}
""",
)

_h(
    "_cs_m_replace",
    """
function _cs_m_replace(s, old, rep, count) {
    _cs_need(s, "str", "replace"); _cs_needstr(old, "replace arg 1"); _cs_needstr(rep, "replace arg 2");
    if (count === undefined || count === null) { count = -1; }
    count = _cs_int_index(count, "count");
    if (old.length === 0) {
        var c = _cs_chars(s), a = typeof c === "string" ? c.split("") : c, out = "", used = 0;
        for (var i = 0; i <= a.length; i++) {
            if (count < 0 || used < count) { out += rep; used++; }
            if (i < a.length) { out += a[i]; }
        }
        return out;
    }
    var parts = s.split(old);
    if (count < 0 || parts.length - 1 <= count) { return parts.join(rep); }
    return parts.slice(0, count + 1).join(rep) + old + parts.slice(count + 1).join(old);
}
""",
)

_h(
    "_cs_m_get",
    """
function _cs_m_get(o, k, d) {
    _cs_need(o, "dict", "get"); _cs_hashable(k);
    if (typeof k === "string" && _cs_has(o, k)) { return o[k]; }
    return d === undefined ? null : d;
}
""",
)

_h("_cs_m_keys", "function _cs_m_keys(o) { return _cs_keys(_cs_need(o, 'dict', 'keys')); }")

_h(
    "_cs_m_values",
    """
function _cs_m_values(o) {
    var ks = _cs_keys(_cs_need(o, "dict", "values")), out = [];
    for (var i = 0; i < ks.length; i++) { out.push(o[ks[i]]); }
    return out;
}
""",
)

_h(
    "_cs_m_items",
    """
function _cs_m_items(o) {
    var ks = _cs_keys(_cs_need(o, "dict", "items")), out = [];
    for (var i = 0; i < ks.length; i++) { out.push([ks[i], o[ks[i]]]); }
    return out;
}
""",
)

_h("_cs_m_append", "function _cs_m_append(o, v) { _cs_need(o, 'list', 'append').push(v); return null; }")

_h(
    "_cs_m_extend",
    """
function _cs_m_extend(o, it) {
    _cs_need(o, "list", "extend");
    var a = _cs_iter(it).slice();
    for (var i = 0; i < a.length; i++) { o.push(a[i]); }
    return null;
}
""",
)

_h(
    "_cs_int",
    """
function _cs_int(x) {
    if (typeof x === "boolean") { return Number(x); }
    if (typeof x === "number") {
        if (x !== x) { _cs_raise("ValueError", "cannot convert float NaN to integer"); }
        if (x === Infinity || x === -Infinity) { _cs_raise("OverflowError", "cannot convert float infinity to integer"); }
        var r = x < 0 ? Math.ceil(x) : Math.floor(x);
        return _cs_exact(r === 0 ? 0 : r, 0, 0);
    }
    if (typeof x === "string") {
        var s = _cs_strip_chars(x, null, true, true);
        if (/^[+-]?[0-9]+(_[0-9]+)*$/.test(s)) { return _cs_exact(parseInt(s.replace(/_/g, ""), 10), 0, 0); }
        _cs_raise("ValueError", "invalid literal for int() with base 10: '" + x + "'");
    }
    _cs_raise("TypeError", "int() argument must be a string or a number, not '" + _cs_type(x) + "'");
}
""",
)

_h(
    "_cs_float",
    """
function _cs_float(x) {
    if (_cs_isnum(x)) { return Number(x); }
    if (typeof x === "string") {
        var s = _cs_strip_chars(x, null, true, true), l = s.toLowerCase();
        if (/^[+]?(inf|infinity)$/.test(l)) { return Infinity; }
        if (/^-(inf|infinity)$/.test(l)) { return -Infinity; }
        if (/^[+-]?nan$/.test(l)) { return NaN; }
        if (/^[+-]?([0-9](_?[0-9])*(\\.([0-9](_?[0-9])*)?)?|\\.[0-9](_?[0-9])*)([eE][+-]?[0-9](_?[0-9])*)?$/.test(s)) {
            return parseFloat(s.replace(/_/g, ""));
        }
        _cs_raise("ValueError", "could not convert string to float: '" + x + "'");
    }
    _cs_raise("TypeError", "float() argument must be a string or a number, not '" + _cs_type(x) + "'");
}
""",
)

_h("_cs_abs", "function _cs_abs(x) { return Math.abs(_cs_num(x, 'abs()')); }")

_h(
    "_cs_minmax",
    """
function _cs_minmax(it, sign, name) {
    var a = _cs_iter(it);
    if (a.length === 0) { _cs_raise("ValueError", name + "() arg is an empty sequence"); }
    var best = a[0];
    for (var i = 1; i < a.length; i++) { if (_cs_cmp(a[i], best) === sign) { best = a[i]; } }
    return best;
}
""",
)

_h("_cs_min", "function _cs_min(it) { return _cs_minmax(it, -1, 'min'); }")
_h("_cs_max", "function _cs_max(it) { return _cs_minmax(it, 1, 'max'); }")

_h(
    "_cs_sum",
    """
function _cs_sum(it, start) {
    if (typeof start === "string") { _cs_raise("TypeError", "sum() can't sum strings [use ''.join(seq) instead]"); }
    var a = _cs_iter(it), acc = start;
    for (var i = 0; i < a.length; i++) { acc = _cs_add(acc, a[i]); }
    return acc;
}
""",
)

_h(
    "_cs_sorted",
    """
function _cs_sorted(it, key, reverse) {
    var a = _cs_iter(it), d = [], i;
    for (i = 0; i < a.length; i++) { d.push([key === null ? a[i] : key(a[i]), i, a[i]]); }
    var rev = _cs_bool(reverse);
    d.sort(function (x, y) {
        var c = _cs_cmp(x[0], y[0]);
        if (c === 2) { c = 0; }
        if (rev) { c = -c; }
        return c || (x[1] - y[1]);
    });
    var out = [];
    for (i = 0; i < d.length; i++) { out.push(d[i][2]); }
    return out;
}
""",
)

_h(
    "_cs_range",
    """
function _cs_range(start, stop, step) {
    start = _cs_int_index(start, "range() arguments"); stop = _cs_int_index(stop, "range() arguments");
    step = _cs_int_index(step, "range() arguments");
    if (step === 0) { _cs_raise("ValueError", "range() arg 3 must not be zero"); }
    var out = [];
    if (step > 0) { for (var i = start; i < stop; i += step) { out.push(i); } }
    else { for (var j = start; j > stop; j += step) { out.push(j); } }
    return out;
}
""",
)

_h(
    "_cs_enumerate",
    """
function _cs_enumerate(it, start) {
    var a = _cs_iter(it), out = [];
    start = _cs_int_index(start, "enumerate() start");
    for (var i = 0; i < a.length; i++) { out.push([start + i, a[i]]); }
    return out;
}
""",
)

_h("_cs_list", "function _cs_list(it) { return _cs_iter(it).slice(); }")

_h(
    "_cs_any",
    """
function _cs_any(it) { var a = _cs_iter(it); for (var i = 0; i < a.length; i++) { if (_cs_bool(a[i])) { return true; } } return false; }
""",
)

_h(
    "_cs_all",
    """
function _cs_all(it) { var a = _cs_iter(it); for (var i = 0; i < a.length; i++) { if (!_cs_bool(a[i])) { return false; } } return true; }
""",
)

_h(
    "_cs_isinstance",
    """
function _cs_isinstance(x, types) {
    var t = _cs_type(x);
    for (var i = 0; i < types.length; i++) {
        if (types[i] === t || (types[i] === "int" && t === "bool")) { return true; }
    }
    return false;
}
""",
)

_h("_cs_forbidden", "function _cs_forbidden(msg) { throw({forbidden: msg}); }")
_h("_cs_unauthorized", "function _cs_unauthorized(msg) { throw({unauthorized: msg}); }")


def helper_closure(names: set[str]) -> list[str]:
    """The helpers ``names`` plus every helper they use, sorted by name (deterministic output).

    Raises ``KeyError`` for a name that is not a helper (a translator bug)."""
    seen: set[str] = set()
    todo = sorted(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(ref for ref in _HELPER_REF.findall(HELPERS[name]) if ref not in seen)
    return sorted(seen)


def helpers_source(names: set[str], indent: str = "    ") -> str:
    """The JavaScript source of ``helper_closure(names)``, one declaration after the other."""
    out: list[str] = []
    for name in helper_closure(names):
        out.extend(indent + line for line in HELPERS[name].splitlines())
    return "\n".join(out)
