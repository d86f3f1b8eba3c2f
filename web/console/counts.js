// counts.js — the top-10 counts panel (bars that set a filter), the node list (calls per node,
// last round) and the cluster health banner (failed nodes from listings, counts and events).

import { request, errorText, lookupName, knownName, Unauthorized } from './api.js';
import { el, num, localTime } from './fmt.js';

const $ = id => document.getElementById(id);

// group-by key → [related type for its name, filter it sets]
export const GROUPS = {
  'customer-id': ['contractors', 'customer-id-eq'], 'vendor-id': ['contractors', 'vendor-id-eq'],
  'customer-acc-id': ['accounts', 'customer-acc-id-eq'], 'vendor-acc-id': ['accounts', 'vendor-acc-id-eq'],
  'node-id': ['nodes', 'node-id-eq'], 'orig-gw-id': ['gateways', 'orig-gw-id-eq'],
  'term-gw-id': ['gateways', 'term-gw-id-eq'], 'pop-id': ['pops', 'pop-id-eq'],
};

// ---- health ---------------------------------------------------------------------------------
const failed = new Map(); // node id → {id, name, error, detail}

function renderHealth() {
  const banner = $('health-banner');
  const list = [...failed.values()].sort((a, b) => Number(a.id) - Number(b.id));
  if (!list.length) { banner.hidden = true; banner.replaceChildren(); return; }
  banner.replaceChildren(el('strong', {}, list.length === 1 ? 'A node does not answer: ' : `${list.length} nodes do not answer: `),
    ...list.flatMap((n, i) => [i ? '; ' : '', el('span', { title: n.detail || '' }, `${n.name || 'node ' + n.id}: ${n.error}`)]),
    el('span', { class: 'muted' }, ' — their calls are missing from the table.'));
  banner.hidden = false;
}

// `complete`: the answer asked every node (no node filter), so nodes absent from it answered.
export function noteFailedNodes(meta, complete) {
  const now = (meta && meta['failed-nodes']) || [];
  if (complete) failed.clear();
  for (const n of now) failed.set(String(n.id), n);
  renderHealth();
}
// The node list follows an event at once, not at its next refresh.
function markNodeRows() {
  for (const tr of $('node-list').tBodies[0].rows) {
    const f = failed.get(tr.dataset.node);
    tr.className = f ? 'node-bad' : 'node-ok';
    tr.cells[2].textContent = f ? f.error : 'ok';
    tr.cells[2].title = f ? f.detail || '' : '';
    if (f) tr.cells[1].textContent = '—';
  }
}
export function nodeFailed(node) { failed.set(String(node.id), node); renderHealth(); markNodeRows(); }
export function nodeRecovered(node) { failed.delete(String(node.id)); renderHealth(); markNodeRows(); }
export function resetHealth() { failed.clear(); renderHealth(); }

// ---- counts ---------------------------------------------------------------------------------
async function fillNames(type, keys, nodes) {
  await Promise.all(keys.map(async k => {
    const name = await lookupName(type, k).catch(e => { if (e instanceof Unauthorized) throw e; return null; });
    for (const n of nodes.get(k) || []) n.textContent = name ?? `#${k}`;
  }));
}

// Top 10 of the chosen grouping under the table's filters.
export async function refreshCounts(filters, onPick) {
  const group = $('counts-group').value;
  const [type, filter] = GROUPS[group];
  const res = await request('active-call-counts', { headers: { 'Cache-Control': 'max-age=1' }, params: [
    ['group-by', group], ['sort', '-count'], ['page[size]', 10], ...filters.map(([k, v]) => [`filter[${k}]`, v])] });
  if (group !== $('counts-group').value) return;
  const err = $('counts-error');
  if (!res.ok) { err.textContent = errorText(res); err.hidden = false; return; }
  err.hidden = true;
  const groups = res.body.data || [];
  const max = Math.max(1, ...groups.map(g => g.attributes.count));
  const labels = new Map();
  const bars = groups.map(g => {
    const key = g.attributes[group];
    const a = g.attributes;
    const name = el('span', { class: 'bar-name' }, key === null ? 'not routed yet' : knownName(type, key) ?? `#${key}`);
    if (key !== null) labels.set(String(key), [...(labels.get(String(key)) || []), name]);
    const fill = el('span', { class: 'bar-fill', 'aria-hidden': 'true' });
    fill.style.setProperty('--w', (100 * a.count / max).toFixed(1) + '%');
    const btn = el('button', {
      type: 'button', class: 'count-bar', dataset: { key: key === null ? 'null' : String(key) }, disabled: key === null,
      title: key === null ? 'calls not routed yet' : `show only these calls (filter ${filter}=${key})`,
    }, name, el('span', { class: 'bar-track' }, fill),
    el('span', { class: 'bar-value num' }, num(a.count)),
    el('span', { class: 'bar-sub muted num' }, `${num(a['connected-count'])} conn.`));
    if (key !== null) btn.addEventListener('click', () => onPick(filter, String(key)));
    return btn;
  });
  const box = $('counts-bars');
  const focusedKey = box.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  box.replaceChildren(...(bars.length ? bars : [el('p', { class: 'muted' }, 'No calls.')]));
  if (focusedKey) { const b = box.querySelector(`button[data-key="${CSS.escape(focusedKey)}"]`); if (b) b.focus(); }
  await fillNames(type, [...labels.keys()].filter(k => !knownName(type, k)), labels);
}

// ---- nodes ----------------------------------------------------------------------------------
// Calls per node over the whole cluster (no filters); returns {ids, counts, at} for the chart.
export async function refreshNodes() {
  const res = await request('active-call-counts', { headers: { 'Cache-Control': 'max-age=1' },
    params: [['group-by', 'node-id'], ['sort', 'node-id']] });
  if (!res.ok) return null;
  const meta = res.body.meta || {};
  noteFailedNodes(meta, true);
  const counts = new Map((res.body.data || []).map(g => [String(g.attributes['node-id']), g.attributes.count]));
  for (const n of failed.values()) if (!counts.has(String(n.id))) counts.set(String(n.id), null);
  const at = meta['snapshot-at'] ? new Date(meta['snapshot-at']) : new Date();
  const ids = [...counts.keys()].sort((a, b) => Number(a) - Number(b));
  const rows = ids.map(id => {
    const f = failed.get(id);
    const name = el('td', {}, (f && f.name) || knownName('nodes', id) || `node ${id}`);
    if (!(f && f.name) && !knownName('nodes', id)) lookupName('nodes', id).then(n => { name.textContent = n; }).catch(() => {});
    return el('tr', { dataset: { node: id }, class: f ? 'node-bad' : 'node-ok' }, name,
      el('td', { class: 'num' }, f ? '—' : num(counts.get(id))),
      el('td', { title: f ? f.detail || '' : '' }, f ? f.error : 'ok'));
  });
  $('node-list').tBodies[0].replaceChildren(...rows);
  $('node-round').textContent = `Last round: ${localTime(at)}` + (meta['snapshot-at'] ? '' : ' (time of the update)');
  $('node-round').title = at.toISOString() + ' (UTC)';
  return { at, counts };
}
