// Who is signed in, derived from the server's userCtx roles and kept in localStorage so the app
// starts offline. Tenant roles (couchsync/tenants/service.py): "<db>:admin" (tenant admin),
// "<db>:staff" and "<db>:hospital:<H>" (staff of hospital H); "_admin" is the server admin.

const KEY = 'couchsync.profile';

/** {db: {role: 'admin'|'staff', hospitals: [...]}} for every tenant named in `roles`. */
export function tenantsFromRoles(roles) {
  const out = {};
  for (const r of roles || []) {
    const i = r.indexOf(':');
    if (i <= 0) continue;
    const db = r.slice(0, i);
    const rest = r.slice(i + 1);
    const t = (out[db] = out[db] || { role: null, hospitals: [] });
    if (rest === 'admin') t.role = 'admin';
    else if (rest === 'staff') t.role = t.role || 'staff';
    else if (rest.startsWith('hospital:')) t.hospitals.push(rest.slice('hospital:'.length));
  }
  for (const db of Object.keys(out)) if (!out[db].role) delete out[db];
  return out;
}

/** A profile: {name, db, tenantName, role, hospitals, serverAdmin}. */
export function makeProfile(name, db, { role, hospitals, tenantName = db, serverAdmin = false }) {
  return { name, db, tenantName, role, hospitals: [...hospitals].sort(), serverAdmin };
}

export function loadProfile() {
  try {
    const p = JSON.parse(localStorage.getItem(KEY) || 'null');
    return p && p.name && p.db ? p : null;
  } catch {
    return null;
  }
}

export function saveProfile(p) {
  localStorage.setItem(KEY, JSON.stringify(p));
}

export function clearProfile() {
  localStorage.removeItem(KEY);
}

export const isAdmin = (p) => p && p.role === 'admin';
