// The local PouchDB of the signed-in user and its live sync with the tenant database.
//
// Every read and write of the app goes to the local database (IndexedDB), so the app works the
// same with or without a network. A live `sync` (retry: true, back-off capped at 15 s, restarted at
// once when the browser comes back online) runs whenever the server can be reached; staff receive
// only their hospitals' documents (the server filters), and a write the server refuses is reported
// by PouchDB as `denied` and listed in the status.
//
// Design documents are the app's own: the compiled `_design/patient` (built from
// designdocs/patient.py, the same views the server runs) and pouchdb-find's index are written
// locally and never replicated in either direction.
//
// Status (the `status` event; `store.status()`): {state, online, pending, denied, lastSync, error,
// conflicts}. state is 'syncing' | 'synced' | 'offline' | 'unreachable' | 'expired' | 'error'.
// `pending` counts local edits whose revision the server does not have yet: an edit is pending from
// its write until the push reports it written, or until revs_diff shows the server has it.
import PouchDB from 'pouchdb-browser';
import find from 'pouchdb-find';
import patientDesign from 'couchsync:patient-ddoc';
import { SERVER, session } from './lib/api.js';

PouchDB.plugin(find);

const META_ID = '_local/couchsync-app';
const APP_DESIGN = {
  _id: '_design/app',
  language: 'javascript',
  views: { conflicts: { map: 'function (doc) { if (doc._conflicts) { emit(doc._id, doc._conflicts.length); } }' } },
};

export const notDesign = (doc) => !doc._id.startsWith('_design/');

/** Back-off between sync retries: 1 s, doubling, at most 15 s. */
export const backOff = (delay) => (delay ? Math.min(delay * 2, 15_000) : 1_000);

export const localName = (profile) => `couchsync-${profile.db}-${profile.name}`;

export class Store extends EventTarget {
  constructor(profile) {
    super();
    this.profile = profile;
    this.db = new PouchDB(localName(profile), { auto_compaction: true });
    this.remote = new PouchDB(`${SERVER}/${encodeURIComponent(profile.db)}`, { skip_setup: true });
    this.sync = null;
    this.state = 'offline';
    this.error = null;
    this.pending = {}; // id -> rev written locally, not yet on the server
    this.denied = {}; // id -> {rev, reason}
    this.lastSync = null;
    this.conflicts = 0;
    this._saveMeta = Promise.resolve();
    this._changes = null;
    this._timers = [];
    this._conflictTimer = null;
    this._closed = false;
  }

  /** Loads the sync bookkeeping, installs the design documents and the find index. */
  async open() {
    const meta = await this.db.get(META_ID).catch(() => ({}));
    this.pending = meta.pending || {};
    this.denied = meta.denied || {};
    this.lastSync = meta.lastSync || null;
    await this._ensureDesign(patientDesign);
    await this._ensureDesign(APP_DESIGN);
    await this.db.createIndex({ index: { fields: ['subject.reference', 'resourceType'] }, ddoc: 'app-find-subject' });
    this._changes = this.db
      .changes({ since: 'now', live: true })
      .on('change', (c) => {
        if (!c.id.startsWith('_design/')) this._emit('change', c);
      });
    await this._countConflicts();
    this.addEventListener('change', () => {
      clearTimeout(this._conflictTimer); // once per burst (a pull writes many documents)
      this._conflictTimer = setTimeout(() => this._countConflicts(), 200);
    });
    return this;
  }

  async _ensureDesign(want) {
    const cur = await this.db.get(want._id).catch(() => null);
    if (cur && JSON.stringify(cur.views) === JSON.stringify(want.views)) return;
    await this.db.put({ ...want, _rev: cur ? cur._rev : undefined });
  }

  async _countConflicts() {
    const r = await this.db.query('app/conflicts').catch(() => ({ rows: [] }));
    if (r.rows.length !== this.conflicts) {
      this.conflicts = r.rows.length;
      this._emitStatus();
    }
  }

  // -- writes ---------------------------------------------------------------------------------

  /** Writes one document locally; resolves to its new rev; throws PouchDB's error (409 …). */
  async put(doc) {
    const res = await this.db.put(doc);
    this._markPending([{ id: res.id, rev: res.rev }]);
    return res.rev;
  }

  /** Writes a batch locally; throws the first error (after marking the written ones pending). */
  async bulk(docs) {
    const res = await this.db.bulkDocs(docs);
    const ok = res.filter((r) => r.ok);
    this._markPending(ok.map((r) => ({ id: r.id, rev: r.rev })));
    const err = res.find((r) => r.error);
    if (err) throw Object.assign(new Error(err.message || err.reason), err);
    return res;
  }

  _markPending(results) {
    for (const { id, rev } of results) {
      if (id.startsWith('_design/')) continue;
      this.pending[id] = rev;
      delete this.denied[id];
    }
    this._persist();
  }

  _persist() {
    const snapshot = { pending: this.pending, denied: this.denied, lastSync: this.lastSync };
    this._emitStatus();
    this._saveMeta = this._saveMeta.then(async () => {
      if (this._closed) return;
      const cur = await this.db.get(META_ID).catch(() => ({ _id: META_ID }));
      await this.db.put({ ...cur, ...JSON.parse(JSON.stringify(snapshot)) });
    }).catch(() => {});
  }

  // -- sync -----------------------------------------------------------------------------------

  /** Starts (or restarts, resetting the back-off) the live sync. */
  startSync() {
    this.stopSync();
    if (this._closed) return;
    this._setState(navigator.onLine ? 'syncing' : 'offline');
    const sync = this.db.sync(this.remote, {
      live: true,
      retry: true,
      batch_size: 100,
      back_off_function: backOff,
      push: { filter: notDesign },
      pull: { filter: notDesign },
    });
    this.sync = sync;
    const mine = (fn) => (...a) => {
      if (this.sync === sync) fn(...a);
    };
    sync
      .on('active', mine(() => this._setState('syncing')))
      .on('change', mine((info) => {
        if (info.direction === 'push') this._acknowledge(info.change.docs || []);
      }))
      .on('denied', mine((info) => {
        if (info.direction !== 'push') return;
        const d = info.doc || {};
        const id = d.id || d._id;
        if (!id) return;
        this.denied[id] = { rev: this.pending[id] || null, reason: d.reason || d.message || d.name || 'denied' };
        delete this.pending[id];
        this._persist();
      }))
      .on('paused', mine((err) => (err ? this._syncError(err) : this._caughtUp())))
      .on('error', mine((err) => this._syncError(err)));
    if (!this._timers.length) {
      // keeps the AuthSession cookie fresh (the server refreshes it on any request once 10 % of its
      // lifetime has passed) and notices an expired session even when nothing syncs
      this._timers.push(setInterval(() => this.checkSession(), 60_000));
    }
  }

  stopSync() {
    if (this.sync) {
      const s = this.sync;
      this.sync = null;
      s.cancel();
    }
  }

  /** The browser is online again: check the session, then sync at once (no back-off wait). */
  async reconnect() {
    if (this._closed) return;
    const s = await this.checkSession();
    if (s === 'ok') this.startSync();
  }

  /** 'ok' | 'expired' | 'unreachable': asks GET /_session whether the cookie still names our user. */
  async checkSession() {
    if (this._closed || this.state === 'expired') return this.state === 'expired' ? 'expired' : 'unreachable';
    let info;
    try {
      info = await session();
    } catch {
      if (this.state !== 'syncing') this._setState(navigator.onLine ? 'unreachable' : 'offline');
      return 'unreachable';
    }
    if (info.userCtx && info.userCtx.name === this.profile.name) {
      this._emit('session', info.userCtx);
      return 'ok';
    }
    this.stopSync();
    this._setState('expired');
    return 'expired';
  }

  _acknowledge(docs) {
    let changed = false;
    for (const d of docs) {
      if (this.pending[d._id] === d._rev) {
        delete this.pending[d._id];
        changed = true;
      }
    }
    if (changed) this._persist();
  }

  async _caughtUp() {
    this.error = null;
    this.lastSync = Date.now();
    this._setState('synced');
    // edits whose push reported nothing (e.g. another tab pushed them): ask the server
    const asked = { ...this.pending };
    if (Object.keys(asked).length) {
      try {
        const missing = await this.remote.revsDiff(Object.fromEntries(Object.entries(asked).map(([id, rev]) => [id, [rev]])));
        for (const [id, rev] of Object.entries(asked)) {
          if (!missing[id] && this.pending[id] === rev) delete this.pending[id]; // not edited again meanwhile
        }
      } catch {
        /* offline again: stays pending */
      }
    }
    this._persist();
  }

  async _syncError(err) {
    if (err && (err.status === 401 || err.status === 403) && !err.id) {
      if ((await this.checkSession()) === 'expired') return;
    }
    if (!navigator.onLine) {
      this._setState('offline');
    } else if (!err || !err.status) {
      this._setState('unreachable');
    } else {
      this.error = err;
      this._setState('error');
    }
  }

  // -- status ---------------------------------------------------------------------------------

  _setState(state) {
    if (!navigator.onLine && state !== 'expired') state = 'offline';
    this.state = state;
    this._emitStatus();
  }

  status() {
    return {
      state: this.state,
      online: navigator.onLine,
      pending: Object.keys(this.pending).length,
      denied: { ...this.denied },
      lastSync: this.lastSync,
      error: this.error,
      conflicts: this.conflicts,
    };
  }

  dismissDenied(id) {
    delete this.denied[id];
    this._persist();
  }

  _emitStatus() {
    this._emit('status', this.status());
  }

  _emit(type, detail) {
    if (!this._closed) this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** Stops syncing and listening; with `destroy`, deletes the local database and its indexes. */
  async close({ destroy = false } = {}) {
    this.stopSync();
    for (const t of this._timers) clearInterval(t);
    this._timers = [];
    clearTimeout(this._conflictTimer);
    if (this._changes) this._changes.cancel();
    await this._saveMeta;
    this._closed = true;
    if (destroy) await this.db.destroy();
    else await this.db.close();
  }
}
