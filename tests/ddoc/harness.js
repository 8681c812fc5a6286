// Runs compiled design-document functions the way CouchDB's query server calls them, over a set
// of cases, and returns plain JSON results. Shared by QuickJS (tests/ddoc/parity.py) and Node
// (tests/ddoc/pouchdb_parity.mjs). ES5, no engine APIs.
var __rows = null, __logs = [], __providers = null;
function emit(key, value) {
  if (__rows === null) { throw new Error("emit outside map"); }
  __rows.push([key === undefined ? null : key, value === undefined ? null : value]);
}
function log(msg) { __logs.push(msg); }
function provides(type, fn) { __providers.push([type, fn]); }

function __compile(src) { return eval("(" + src + ")"); }
function __copy(x) { return x === undefined ? null : JSON.parse(JSON.stringify(x)); }
function __err(e) {
  if (e && typeof e === "object" && !(e instanceof Error)) {
    if (Object.prototype.hasOwnProperty.call(e, "forbidden")) { return {forbidden: e.forbidden}; }
    if (Object.prototype.hasOwnProperty.call(e, "unauthorized")) { return {unauthorized: e.unauthorized}; }
  }
  return {error: (e && e.name) || String(e)};
}

// A case's document: null, a doc index, {lit: doc} or {doc: i, set: {...}, unset: [...]} (tests/ddoc/parity.py).
function __doc(docs, spec) {
  if (spec === null || spec === undefined) { return null; }
  if (typeof spec === "number") { return __copy(docs[spec]); }
  if (spec.lit) { return __copy(spec.lit); }
  var d = __copy(docs[spec.doc]), k, i;
  for (i = 0; i < (spec.unset || []).length; i++) { delete d[spec.unset[i]]; }
  for (k in spec.set || {}) { d[k] = __copy(spec.set[k]); }
  return d;
}

function runAll(ddoc, docs, cases) {
  var out = {map: {}, reduce: {}, validate: [], filter: {}, show: {}, update: {}};
  var name, i, fn;
  for (name in ddoc.views) {
    fn = __compile(ddoc.views[name].map);
    var res = [];
    for (i = 0; i < docs.length; i++) {
      __rows = [];
      try { fn(__copy(docs[i])); res.push([docs[i]._id, __rows]); }
      catch (e) { res.push([docs[i]._id, __err(e)]); }
      __rows = null;
    }
    out.map[name] = res;
  }
  for (name in cases.reduce) {
    fn = __compile(ddoc.views[name].reduce);
    out.reduce[name] = cases.reduce[name].map(function (c) {
      try { return {ok: fn(__copy(c[0]), __copy(c[1]), c[2])}; } catch (e) { return __err(e); }
    });
  }
  if (ddoc.validate_doc_update) {
    fn = __compile(ddoc.validate_doc_update);
    out.validate = cases.validate.map(function (c) {
      try { fn(__doc(docs, c[0]), __doc(docs, c[1]), __copy(c[2]), __copy(c[3])); return {ok: true}; }
      catch (e) { return __err(e); }
    });
  }
  for (name in ddoc.filters || {}) {
    fn = __compile(ddoc.filters[name]);
    out.filter[name] = cases.filter.map(function (c) {
      try { return {ok: !!fn(__doc(docs, c[0]), __copy(c[1]))}; } catch (e) { return __err(e); }
    });
  }
  for (name in ddoc.shows || {}) {
    fn = __compile(ddoc.shows[name]);
    out.show[name] = cases.show.map(function (c) {
      __providers = [];
      try {
        var r = fn(__doc(docs, c[0]), __copy(c[1]));
        if (__providers.length) {
          var fmt = (c[1].query || {}).format, chosen = __providers[0][1];
          for (var k = 0; k < __providers.length; k++) { if (__providers[k][0] === fmt) { chosen = __providers[k][1]; break; } }
          r = chosen();
        }
        return {ok: __copy(r)};
      } catch (e) { return __err(e); }
    });
  }
  for (name in ddoc.updates || {}) {
    fn = __compile(ddoc.updates[name]);
    out.update[name] = cases.update.map(function (c) {
      try { return {ok: __copy(fn(__doc(docs, c[0]), __copy(c[1])))}; } catch (e) { return __err(e); }
    });
  }
  out.logs = __logs;
  return out;
}
