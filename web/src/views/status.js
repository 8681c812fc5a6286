// The sync status bar: connection state, unsynced local changes, last successful sync, conflicts,
// and writes the server refused (each with its reason, dismissable).
import { h, mount, formatTime } from '../lib/dom.js';
import { describe } from '../lib/api.js';

const LABELS = {
  syncing: 'Online · syncing…',
  synced: 'Online · up to date',
  offline: 'Offline',
  unreachable: 'Server unreachable',
  expired: 'Session expired',
  error: 'Sync error',
};

export function renderStatus(el, store) {
  if (!store) {
    mount(el);
    el.hidden = true;
    return;
  }
  el.hidden = false;
  const s = store.status();
  const online = s.state === 'synced' || s.state === 'syncing';
  el.dataset.state = s.state;
  const denied = Object.entries(s.denied);
  mount(el,
    h('div.status-row',
      h('span.conn', { dataset: { testid: 'connection' } }, h('span.dot', { 'aria-hidden': 'true' }), LABELS[s.state] || s.state),
      h('span.pending', { dataset: { testid: 'pending', count: String(s.pending) } },
        s.pending > 0 ? `${s.pending} change${s.pending === 1 ? '' : 's'} not yet synced`
          : denied.length ? 'Every other change is on the server' : 'All changes saved to the server'),
      h('span.last-sync', { dataset: { testid: 'last-sync' } }, `Last sync: ${formatTime(s.lastSync)}`),
      s.conflicts > 0 && h('span.conflicts', { dataset: { testid: 'conflict-count' } }, `⚠ ${s.conflicts} conflict${s.conflicts === 1 ? '' : 's'}`),
      !online && s.state === 'offline' && h('span.hint', 'Changes are kept on this device and sync when the connection returns.'),
    ),
    s.state === 'error' && s.error && h('div.status-error', { role: 'alert' }, `Sync error: ${describe(s.error)}`),
    denied.length > 0 && h('ul.denied', { dataset: { testid: 'denied' }, role: 'alert' },
      denied.map(([id, d]) => h('li',
        h('strong', 'Refused by the server: '), h('code', id), ` — ${d.reason} `,
        h('button.link', { type: 'button', on: { click: () => store.dismissDenied(id) } }, 'Dismiss'),
      )),
    ),
  );
}
