// The server's HTTP API as the app uses it: /_session (cookie sign-in) and /_tenants (admin console).
// Every call answers parsed JSON or throws ApiError {status, error, reason}; status 0 = unreachable.

const meta = typeof document !== 'undefined' && document.querySelector('meta[name="couchsync-server"]');
/** The server's origin: baked in at build time (COUCHSYNC_SERVER_URL) or the app's own origin. */
export const SERVER = ((meta && meta.content) || (typeof location !== 'undefined' ? location.origin : '')).replace(/\/$/, '');

export class ApiError extends Error {
  constructor(status, error, reason) {
    super(reason || error);
    this.status = status;
    this.error = error;
    this.reason = reason;
  }
}

/** A JSON request with the session cookie. */
export async function request(method, path, body) {
  let r;
  try {
    r = await fetch(SERVER + path, {
      method,
      credentials: 'include',
      cache: 'no-store',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'The server cannot be reached.');
  }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new ApiError(r.status, data.error || 'error', data.reason || r.statusText);
  return data;
}

export const session = () => request('GET', '/_session');
export const signIn = (name, password) => request('POST', '/_session', { name, password });
export const signOut = () => request('DELETE', '/_session');

const t = (db, rest = '') => `/_tenants/${encodeURIComponent(db)}${rest}`;
export const tenants = {
  list: () => request('GET', '/_tenants'),
  get: (db) => request('GET', t(db)),
  hospitals: (db) => request('GET', t(db, '/hospitals')),
  addHospital: (db, name) => request('POST', t(db, '/hospitals'), { name }),
  users: (db) => request('GET', t(db, '/users')),
  addUser: (db, user) => request('POST', t(db, '/users'), user),
  updateUser: (db, name, patch) => request('PATCH', t(db, `/users/${encodeURIComponent(name)}`), patch),
};

/** A one-line human message for an error (ApiError, PouchDB error or anything else). */
export function describe(e) {
  if (!e) return '';
  if (e instanceof ApiError) return e.status === 0 ? e.reason : `${e.reason} (${e.status} ${e.error})`;
  const reason = e.reason || e.message || String(e);
  return e.status ? `${reason} (${e.status} ${e.name || e.error || ''})`.replace(/ \)$/, ')') : reason;
}
