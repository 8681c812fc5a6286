// couchsync JavaScript runtime for design-document functions, evaluated once per QuickJS context.
//
// Gives user code CouchDB's query-server environment (share/server/*.js in CouchDB: emit, log,
// sum, toJSON, isArray, provides, registerType, start, send, getRow, require for CommonJS
// modules of the design document) and defines one frozen, non-writable global `__couchsync`
// whose functions the Python side (couchsync/views/sandbox.py) calls. Every entry point takes
// and returns JSON strings, so one Python<->JS crossing moves a whole batch.
//
// Written for couchsync from CouchDB's documented behaviour; see sandbox.py for the contract.
(function (global) {
  "use strict";

  // Intrinsics captured before any user code runs (user code shares this global object).
  var parse = JSON.parse;
  var stringify = JSON.stringify;
  var freeze = Object.freeze;
  var isFrozen = Object.isFrozen;
  var keysOf = Object.keys;
  var defineProperty = Object.defineProperty;
  var isArrayNative = Array.isArray;
  var apply = Reflect.apply;
  var FunctionCtor = Function;
  var StringCtor = String;
  var now = Date.now;
  var objectToString = Object.prototype.toString;
  var hasOwn = Object.prototype.hasOwnProperty;
  var arrayJoin = Array.prototype.join;
  var stringSubstring = String.prototype.substring;

  function join(array, separator) {
    return apply(arrayJoin, array, [separator]);
  }

  var LOG_MAX = 1000;
  var LOG_CHARS = 8192;

  var state = {
    ddoc: null, // the design document (functions replaced by compiled ones where compiled)
    maps: [], // compiled map functions, by index
    reduces: [], // compiled JS reduce functions (or null), parallel to maps
    validate: null,
    filters: {},
    shows: {},
    updates: {},
    lists: {},
    freezeDocs: false,
    logs: [],
    logsDropped: 0,
  };

  // --------------------------------------------------------------------------- helpers

  function describe(e) {
    if (e === null || e === undefined) return StringCtor(e);
    if (typeof e === "object" && typeof e.name === "string" && typeof e.message === "string") {
      return e.name + ": " + e.message;
    }
    try {
      var s = stringify(e);
      if (s !== undefined) return s;
    } catch (ignored) {}
    try {
      return StringCtor(e);
    } catch (ignored2) {
      return "<unprintable>";
    }
  }

  // [error, reason] of a thrown value, as CouchDB's query server reports it (loop.js handleError).
  function errorInfo(e) {
    if (e === null || e === undefined) return ["internal_error", "out of memory"];
    if (isArrayNative(e) && (e[0] === "error" || e[0] === "fatal")) return [StringCtor(e[1]), e[2]];
    if (typeof e === "object" && e.error && e.reason) return [StringCtor(e.error), e.reason];
    if (typeof e === "object" && typeof e.name === "string" && typeof e.message === "string") {
      return [e.name, e.message];
    }
    return ["unnamed_error", describe(e)];
  }

  function addLog(message) {
    if (state.logs.length >= LOG_MAX) {
      state.logsDropped++;
      return;
    }
    if (message.length > LOG_CHARS) message = apply(stringSubstring, message, [0, LOG_CHARS]) + "...";
    state.logs[state.logs.length] = message;
  }

  function deepFreeze(o) {
    freeze(o);
    var ks = keysOf(o);
    for (var i = 0; i < ks.length; i++) {
      var v = o[ks[i]];
      if (typeof v === "object" && v !== null && !isFrozen(v)) deepFreeze(v);
    }
  }

  // ------------------------------------------------------------------ user-visible globals

  var rows = []; // rows emitted by the running map function

  function emit(key, value) {
    rows[rows.length] = [key, value];
  }

  function log(message) {
    if (typeof message !== "string") {
      try {
        message = stringify(message);
      } catch (e) {
        message = describe(message);
      }
    }
    addLog(StringCtor(message));
  }

  function sum(values) {
    var rv = 0;
    for (var i in values) rv += values[i];
    return rv;
  }

  function toJSON(value) {
    return stringify(value);
  }

  function isArray(obj) {
    return apply(objectToString, obj, []) === "[object Array]";
  }

  // Mime types and provides() (CouchDB render.js semantics).
  var mimesByKey = {};
  var keysByMime = {};
  function registerType() {
    var key = arguments[0];
    var mimes = [];
    for (var i = 1; i < arguments.length; i++) mimes[mimes.length] = arguments[i];
    mimesByKey[key] = mimes;
    for (var j = 0; j < mimes.length; j++) keysByMime[mimes[j]] = key;
  }
  registerType("all", "*/*");
  registerType("text", "text/plain; charset=utf-8", "txt");
  registerType("html", "text/html; charset=utf-8");
  registerType("xhtml", "application/xhtml+xml", "xhtml");
  registerType("xml", "application/xml", "text/xml", "application/x-xml");
  registerType("js", "text/javascript", "application/javascript", "application/x-javascript");
  registerType("css", "text/css");
  registerType("ics", "text/calendar");
  registerType("csv", "text/csv");
  registerType("rss", "application/rss+xml");
  registerType("atom", "application/atom+xml");
  registerType("yaml", "application/x-yaml", "text/yaml");
  registerType("multipart_form", "multipart/form-data");
  registerType("url_encoded_form", "application/x-www-form-urlencoded");
  registerType("json", "application/json", "text/x-json");

  var mime = { used: false, funs: [], contentType: null };
  function provides(type, fun) {
    mime.used = true;
    mime.funs[mime.funs.length] = [type, fun];
  }
  function resetProvides() {
    mime.used = false;
    mime.funs = [];
    mime.contentType = null;
  }

  // Accept-header matching with the mimeparse rules: best (quality, fitness); ties -> later entry.
  function parseMediaRange(range) {
    var parts = range.split(";");
    var params = {};
    for (var i = 1; i < parts.length; i++) {
      var kv = parts[i].split("=");
      if (kv.length === 2) params[kv[0].trim()] = kv[1].trim();
    }
    var full = parts[0].trim();
    if (full === "*") full = "*/*";
    var ts = full.split("/");
    var q = params.q === undefined ? 1 : parseFloat(params.q);
    if (!(q >= 0 && q <= 1)) q = 1;
    return { type: ts[0].trim(), subtype: (ts[1] || "").trim(), params: params, q: q };
  }
  function fitnessAndQuality(mimeType, ranges) {
    var target = parseMediaRange(mimeType);
    var bestFitness = -1;
    var bestQ = 0;
    for (var i = 0; i < ranges.length; i++) {
      var r = ranges[i];
      var typeOk = r.type === target.type || r.type === "*" || target.type === "*";
      var subOk = r.subtype === target.subtype || r.subtype === "*" || target.subtype === "*";
      if (!typeOk || !subOk) continue;
      var paramMatches = 0;
      for (var p in target.params) {
        if (p !== "q" && hasOwn.call(r.params, p) && r.params[p] === target.params[p]) paramMatches++;
      }
      var fitness = (r.type === target.type ? 100 : 0) + (r.subtype === target.subtype ? 10 : 0) + paramMatches;
      if (fitness > bestFitness) {
        bestFitness = fitness;
        bestQ = r.q;
      }
    }
    return [bestQ, bestFitness];
  }
  function bestMatch(supported, header) {
    var ranges = header.split(",").map(parseMediaRange);
    var best = null;
    var bestScore = null;
    for (var i = 0; i < supported.length; i++) {
      var s = fitnessAndQuality(supported[i], ranges);
      if (bestScore === null || s[0] > bestScore[0] || (s[0] === bestScore[0] && s[1] >= bestScore[1])) {
        bestScore = s;
        best = supported[i];
      }
    }
    return bestScore && bestScore[0] ? best : "";
  }

  function runProvides(req, ddoc) {
    var bestKey = null;
    var accept = req && req.headers ? req.headers["Accept"] || req.headers["accept"] : undefined;
    var funs = mime.funs;
    if (req && req.query && req.query.format) {
      bestKey = req.query.format;
      mime.contentType = mimesByKey[bestKey] ? mimesByKey[bestKey][0] : null;
    } else if (accept) {
      funs = funs.slice().reverse();
      var supported = [];
      for (var i = 0; i < funs.length; i++) {
        var ms = mimesByKey[funs[i][0]];
        if (ms) supported = supported.concat(ms);
      }
      mime.contentType = bestMatch(supported, accept);
      bestKey = keysByMime[mime.contentType];
    } else if (funs.length) {
      bestKey = funs[0][0];
      mime.contentType = mimesByKey[bestKey] ? mimesByKey[bestKey][0] : null;
    }
    for (var j = 0; j < funs.length; j++) {
      if (funs[j][0] === bestKey) return apply(funs[j][1], ddoc, []);
    }
    var types = mime.funs.map(function (mf) {
      return join(mimesByKey[mf[0]] || [], ", ") || mf[0];
    });
    throw ["error", "not_acceptable", "Content-Type " + (accept || bestKey) + " not supported, try one of: " + join(types, ", ")];
  }

  // start()/send()/getRow(): list-function streaming, collected into one response here.
  var render = { chunks: [], startResp: {}, listRows: null, rowIndex: 0, gotRow: false };
  function start(resp) {
    render.startResp = resp || {};
  }
  function send(chunk) {
    render.chunks[render.chunks.length] = StringCtor(chunk);
  }
  function getRow() {
    render.gotRow = true;
    var list = render.listRows;
    if (!list || render.rowIndex >= list.length) return null;
    return list[render.rowIndex++];
  }
  function resetRender(listRows) {
    render.chunks = [];
    render.startResp = {};
    render.listRows = listRows || null;
    render.rowIndex = 0;
    render.gotRow = false;
  }

  var builtins = {
    emit: emit,
    log: log,
    sum: sum,
    toJSON: toJSON,
    isArray: isArray,
    provides: provides,
    registerType: registerType,
    start: start,
    send: send,
    getRow: getRow,
  };
  for (var name in builtins) {
    defineProperty(global, name, { value: builtins[name], writable: true, configurable: true, enumerable: false });
  }

  // ------------------------------------------------------------------------- compilation

  // CommonJS require() rooted at `root` (the ddoc, or {views: {lib: ...}} for map functions).
  function makeRequire(root, cache) {
    function resolve(name, fromPath) {
      if (typeof name !== "string") throw ["error", "invalid_require_path", "require() needs a string path"];
      var segs = name.split("/");
      var path = [];
      if (segs[0] === "." || segs[0] === "..") {
        if (!fromPath) throw ["error", "invalid_require_path", "Object has no parent " + stringify(root)];
        path = fromPath.slice(0, fromPath.length - 1);
      }
      var current = root;
      for (var i = 0; i < segs.length; i++) {
        var s = segs[i];
        if (s === "." || s === "") continue;
        if (s === "..") {
          if (!path.length) throw ["error", "invalid_require_path", "Object has no parent " + stringify(current)];
          path.pop();
          continue;
        }
        path[path.length] = s;
      }
      var node = root;
      for (var j = 0; j < path.length; j++) {
        if (node === null || typeof node !== "object" || !hasOwn.call(node, path[j]) || node[path[j]] === undefined) {
          throw ["error", "invalid_require_path", 'Object has no property "' + path[j] + '". ' + stringify(node)];
        }
        node = node[path[j]];
      }
      if (typeof node !== "string") {
        throw ["error", "invalid_require_path", "Must require a JavaScript string, not: " + typeof node];
      }
      return { path: path, source: node, id: join(path, "/") };
    }
    function requireFrom(fromPath) {
      return function require(name) {
        var mod = resolve(name, fromPath);
        if (hasOwn.call(cache, mod.id)) return cache[mod.id].exports;
        var module = { id: mod.id, exports: {}, current: mod.source };
        cache[mod.id] = module; // before running: circular requires see the partial exports
        try {
          var fn = new FunctionCtor("module", "exports", "require", mod.source + "\n");
          apply(fn, global, [module, module.exports, requireFrom(mod.path)]);
        } catch (e) {
          delete cache[mod.id];
          throw ["error", "compilation_error", "Module require('" + name + "') raised error " + describe(e)];
        }
        return module.exports;
      };
    }
    return requireFrom(null);
  }

  function noRequire() {
    throw ["error", "invalid_require_path", "require() is not available in reduce functions"];
  }

  function compileSource(source, require) {
    if (typeof source !== "string" || !source) throw ["error", "not_found", "missing function"];
    var fn;
    var firstError = null;
    var candidates = [source, source.replace(/[\s;]+$/, "")];
    for (var i = 0; i < candidates.length && fn === undefined; i++) {
      try {
        var factory = new FunctionCtor("require", "return (" + candidates[i] + "\n);");
        fn = apply(factory, global, [require]);
        if (fn === undefined) fn = null;
      } catch (e) {
        if (firstError === null) firstError = e;
      }
    }
    if (fn === undefined) {
      throw ["error", "compilation_error", describe(firstError) + " (" + source + ")"];
    }
    if (typeof fn !== "function") {
      throw ["error", "compilation_error", "Expression does not eval to a function. (" + source + ")"];
    }
    return fn;
  }

  // spec: {ddoc, maps: [[path, src]], reduces: [[path, src|null]], validate: src|null,
  //        filters/shows/updates/lists: {name: src}, freeze: bool}
  // returns: {"errors": [[path, error, reason], ...]}
  function compile(specJson) {
    var spec = parse(specJson);
    var ddoc = spec.ddoc || {};
    var errors = [];
    var views = ddoc.views && typeof ddoc.views === "object" ? ddoc.views : {};
    var mapRequire = makeRequire({ views: { lib: views.lib } }, {});
    var ddocRequire = makeRequire(ddoc, {});
    function tryCompile(path, source, require) {
      try {
        return compileSource(source, require);
      } catch (e) {
        var info = errorInfo(e);
        errors[errors.length] = [path, info[0], typeof info[1] === "string" ? info[1] : describe(info[1])];
        return null;
      }
    }
    state.ddoc = ddoc;
    state.freezeDocs = !!spec.freeze;
    state.maps = [];
    state.reduces = [];
    for (var i = 0; i < spec.maps.length; i++) {
      state.maps[i] = tryCompile(spec.maps[i][0], spec.maps[i][1], mapRequire);
      var red = spec.reduces[i];
      state.reduces[i] = red[1] === null ? null : tryCompile(red[0], red[1], noRequire);
    }
    state.validate = spec.validate === null ? null : tryCompile(["validate_doc_update"], spec.validate, ddocRequire);
    var kinds = ["filters", "shows", "updates", "lists"];
    for (var k = 0; k < kinds.length; k++) {
      var table = {};
      var sources = spec[kinds[k]];
      for (var fname in sources) table[fname] = tryCompile([kinds[k], fname], sources[fname], ddocRequire);
      state[kinds[k]] = table;
    }
    return stringify({ errors: errors });
  }

  // ------------------------------------------------------------------------------ map

  // Batch state kept across calls so that an interrupted batch (time limit) can be resumed.
  var M = { docs: null, sel: null, i: 0, j: 0, cur: null, out: null, t0: 0, callI: 0, callJ: 0 };

  function mapStart(docsJson, selJson) {
    M.docs = null;
    M.out = null;
    var sel = parse(selJson);
    var funs = [];
    for (var s = 0; s < sel.length; s++) funs[s] = state.maps[sel[s]];
    M.sel = funs;
    try {
      M.docs = parse(docsJson);
    } catch (e) {
      return join(["E", describe(e)], "");
    }
    M.i = 0;
    M.j = 0;
    M.out = new Array(M.docs.length);
    return mapRun();
  }

  function mapRun() {
    var docs = M.docs;
    var funs = M.sel;
    var n = docs.length;
    var k = funs.length;
    var freezeDocs = state.freezeDocs;
    M.callI = M.i;
    M.callJ = M.j;
    for (; M.i < n; M.i++, M.j = 0) {
      var doc = docs[M.i];
      if (M.j === 0) {
        M.cur = new Array(k);
        if (freezeDocs && doc !== null && typeof doc === "object") deepFreeze(doc);
      }
      for (; M.j < k; M.j++) {
        M.t0 = now();
        rows = [];
        var fn = funs[M.j]; // a plain call: `this` is the global object, not the array
        try {
          fn(doc);
          M.cur[M.j] = stringify(rows);
        } catch (e) {
          M.cur[M.j] = mapError(e, doc);
        }
      }
      M.out[M.i] = "[" + join(M.cur, ",") + "]";
    }
    rows = [];
    // join, not +: engines with rope strings (quickjs-ng) return ropes the binding cannot read
    var result = join(["[", join(M.out, ","), "]"], "");
    M.docs = null;
    M.out = null;
    M.cur = null;
    return result;
  }

  function docId(doc) {
    try {
      return doc && typeof doc === "object" ? doc._id : undefined;
    } catch (e) {
      return undefined;
    }
  }

  function mapError(e, doc) {
    var info = errorInfo(e);
    var reason = typeof info[1] === "string" ? info[1] : describe(info[1]);
    addLog("function raised exception " + describe(e) + " with doc._id " + docId(doc));
    return stringify({ error: info[0], reason: reason });
  }

  function mapProgress() {
    return stringify({
      active: M.docs !== null,
      i: M.i,
      j: M.j,
      elapsed: now() - M.t0,
      first: M.i === M.callI && M.j === M.callJ,
    });
  }

  // Mark the current (doc, view) failed (time limit) and continue the batch.
  function mapSkip(error, reason) {
    if (M.docs === null) return "E" + "no batch in progress";
    if (M.j === 0 && M.cur === null) M.cur = new Array(M.sel.length);
    addLog("function raised exception " + error + ": " + reason + " with doc._id " + docId(M.docs[M.i]));
    M.cur[M.j] = stringify({ error: error, reason: reason });
    M.j++;
    return mapRun();
  }

  function mapResume() {
    if (M.docs === null) return "E" + "no batch in progress";
    return mapRun();
  }

  // --------------------------------------------------------------- other functions

  function ok(value) {
    return stringify({ ok: value === undefined ? null : value });
  }
  function fail(e) {
    var info = errorInfo(e);
    return stringify({ err: [info[0], info[1] === undefined ? null : info[1]] });
  }

  // validate_doc_update: {"ok": 1} | {"thrown": value} | {"err": [name, message]}
  function validate(argsJson) {
    var args = parse(argsJson);
    var fn = state.validate;
    try {
      apply(fn, state.ddoc, args);
      return stringify({ ok: 1 });
    } catch (error) {
      if (error === null || error === undefined) {
        // CouchDB: `error.name` in validate.js's catch throws a TypeError
        return stringify({ err: ["TypeError", "cannot read property 'name' of " + error] });
      }
      if (error.name && error.stack) return fail(error);
      var thrown;
      try {
        thrown = stringify(error);
      } catch (e2) {
        return fail(e2);
      }
      return join(['{"thrown":', thrown === undefined ? "null" : thrown, "}"], "");
    }
  }

  function filter(name, argsJson) {
    var fn = state.filters[name];
    var args = parse(argsJson);
    var docs = args[0];
    var req = args[1];
    var out = [];
    try {
      for (var i = 0; i < docs.length; i++) out[i] = (apply(fn, state.ddoc, [docs[i], req]) && true) || false;
    } catch (e) {
      return fail(e);
    }
    return ok(out);
  }

  function filterView(index, docsJson) {
    var fn = state.maps[index];
    var docs = parse(docsJson);
    var out = [];
    try {
      for (var i = 0; i < docs.length; i++) {
        rows = [];
        apply(fn, undefined, [docs[i]]);
        out[i] = rows.length > 0;
      }
    } catch (e) {
      rows = [];
      return fail(e);
    }
    rows = [];
    return ok(out);
  }

  function wrapResponse(resp) {
    return typeof resp === "string" ? { body: resp } : resp;
  }
  function typeOf(value) {
    if (value === null) return "null";
    if (isArrayNative(value)) return "array";
    return typeof value;
  }
  function renderError(e) {
    if (e && ((e.error && e.reason) || e[0] === "error" || e[0] === "fatal")) return fail(e);
    var message = "function raised error: " + describe(e) + " \nstacktrace: " + (e && e.stack);
    addLog(message);
    return stringify({ err: ["render_error", message] });
  }
  function mergeStart(resp) {
    var sr = render.startResp || {};
    if (sr.headers) {
      resp.headers = resp.headers || {};
      for (var h in sr.headers) if (!hasOwn.call(resp.headers, h)) resp.headers[h] = sr.headers[h];
    }
    if (sr.code !== undefined && resp.code === undefined) resp.code = sr.code;
  }
  function applyContentType(resp) {
    resp.headers = resp.headers || {};
    if (mime.contentType && !resp.headers["Content-Type"]) resp.headers["Content-Type"] = mime.contentType;
  }

  function show(name, argsJson) {
    var fn = state.shows[name];
    var args = parse(argsJson); // [doc, req]
    try {
      resetRender(null);
      resetProvides();
      var resp = wrapResponse(apply(fn, state.ddoc, args) || {});
      if (typeOf(resp) !== "object") throw ["error", "render_error", "undefined response from show function"];
      if (render.chunks.length) {
        mergeStart(resp);
        resp.body = join(render.chunks, "") + (resp.body || "");
        resetRender(null);
      }
      if (mime.used) {
        var provided = wrapResponse(runProvides(args[1], state.ddoc) || {});
        resp.body = (resp.body || "") + join(render.chunks, "");
        if (provided && typeof provided === "object") {
          resp.body += provided.body || "";
          if (provided.json !== undefined && resp.json === undefined) resp.json = provided.json;
          if (provided.base64 !== undefined && resp.base64 === undefined) resp.base64 = provided.base64;
          if (provided.code !== undefined && resp.code === undefined) resp.code = provided.code;
          if (provided.headers) {
            resp.headers = resp.headers || {};
            for (var h in provided.headers) if (!hasOwn.call(resp.headers, h)) resp.headers[h] = provided.headers[h];
          }
          if (resp.json !== undefined && resp.body === "") delete resp.body;
        }
        applyContentType(resp);
        resetRender(null);
      }
      return ok(resp);
    } catch (e) {
      var req = args[1];
      if (args[0] === null && req && req.path && req.path.length > 5) {
        return stringify({ err: ["not_found", "document not found"] });
      }
      return renderError(e);
    }
  }

  function update(name, argsJson) {
    var fn = state.updates[name];
    var args = parse(argsJson); // [doc, req]
    try {
      if (args[1] && args[1].method === "GET") throw ["error", "method_not_allowed", "Update functions do not allow GET"];
      var result = apply(fn, state.ddoc, args);
      var doc = result[0];
      var resp = result[1];
      var t = typeOf(resp);
      if (t !== "object" && t !== "string") throw ["error", "render_error", "undefined response from update function"];
      return ok([doc === undefined ? null : doc, wrapResponse(resp)]);
    } catch (e) {
      return renderError(e);
    }
  }

  function list(name, argsJson) {
    var fn = state.lists[name];
    var args = parse(argsJson); // [head, req, rows]
    try {
      resetProvides();
      resetRender(args[2]);
      var tail = apply(fn, state.ddoc, [args[0], args[1]]);
      if (mime.used) tail = runProvides(args[1], state.ddoc);
      if (tail !== undefined && tail !== null) render.chunks[render.chunks.length] = StringCtor(tail);
      var resp = {};
      mergeStart(resp);
      applyContentType(resp);
      resp.body = join(render.chunks, "");
      resetRender(null);
      return ok(resp);
    } catch (e) {
      resetRender(null);
      return renderError(e);
    }
  }

  // reduce: CouchDB views.js runReduce: a throwing reduce yields null (and a log line).
  function reduce(index, argsJson) {
    var fn = state.reduces[index];
    var args = parse(argsJson); // [keys|null, values, rereduce]
    var value;
    try {
      value = apply(fn, global, args);
    } catch (e) {
      if (e === "fatal_error") return stringify({ err: ["map_runtime_error", "function raised 'fatal_error'"] });
      addLog("function raised exception " + describe(e));
      value = null;
    }
    try {
      var out = stringify(value);
      return join(['{"ok":', out === undefined ? "null" : out, "}"], "");
    } catch (e2) {
      return fail(e2);
    }
  }

  function takeLogs() {
    var out = stringify({ logs: state.logs, dropped: state.logsDropped });
    state.logs = [];
    state.logsDropped = 0;
    return out;
  }

  function ping() {
    return "pong";
  }

  var api = freeze({
    compile: compile,
    mapStart: mapStart,
    mapResume: mapResume,
    mapSkip: mapSkip,
    mapProgress: mapProgress,
    validate: validate,
    filter: filter,
    filterView: filterView,
    show: show,
    update: update,
    list: list,
    reduce: reduce,
    takeLogs: takeLogs,
    ping: ping,
  });
  defineProperty(global, "__couchsync", { value: api, writable: false, configurable: false, enumerable: false });
})(globalThis);
