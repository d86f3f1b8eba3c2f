// decisions.js — the calls monitor's panel: its mode and its latest decisions
// (GET /api/rest/admin/monitor-decisions), shown only when the monitor runs.

import { request } from './api.js';
import { el, localTime } from './fmt.js';

const $ = id => document.getElementById(id);
const SHOWN = 10;

// Refreshes the panel; hides it when the monitor is off or the list cannot be read.
export async function refreshDecisions() {
  const panel = $('monitor-panel');
  const res = await request('monitor-decisions', { params: [['page[size]', String(SHOWN)]] });
  const mode = res.ok && res.body.meta ? res.body.meta.mode : 'off';
  if (!res.ok || mode === 'off') { panel.hidden = true; return; }
  panel.hidden = false;
  $('monitor-mode').textContent = mode === 'dry-run' ? 'dry run: nothing is dropped' : 'enforcing';
  const items = (res.body.data || []).map(d => {
    const a = d.attributes;
    const at = new Date(a.time);
    const who = a['account-id'] != null ? `account ${a['account-id']}` : 'call';
    const proj = a.projected != null ? ` (projected ${a.projected.toFixed(2)})` : '';
    return el('li', { dataset: { id: d.id }, title: `${a['call-id']} · ${at.toISOString()} (UTC)` },
      el('span', { class: 'muted' }, localTime(at)), ' ', el('strong', {}, a.rule), ` · ${who}${proj} · `,
      el('span', { class: `outcome-${a.outcome}` }, a.outcome));
  });
  $('monitor-decisions').replaceChildren(...(items.length ? items : [el('li', { class: 'muted' }, 'No decisions yet.')]));
  $('monitor-total').textContent = `${res.body.meta['total-count']} recent`;
}
