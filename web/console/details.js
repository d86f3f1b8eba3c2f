// details.js — the call details dialog (every attribute, every related record), dropping one
// call with a confirmation dialog, and dropping the selected calls with a result per call.

import { request, errorText, labelOf, remember, Unauthorized } from './api.js';
import { el, num, duration, time } from './fmt.js';
import { ATTRIBUTES, REL_TYPES, view } from './table.js';

const $ = id => document.getElementById(id);
const callPath = id => 'active-calls/' + encodeURIComponent(id);
let currentId = null;
let afterDrop = () => {};
export function setAfterDrop(fn) { afterDrop = fn; }

// What each answer to DELETE means for the operator.
export function dropOutcome(res) {
  switch (res.status) {
    case 204: return { ok: true, text: 'Dropped: the node disconnected the call.' };
    case 404: return { ok: true, text: 'Already gone: the call had ended before the drop.' };
    case 403: return { ok: false, text: 'Not allowed: your role may not drop calls.' };
    case 502: return { ok: false, text: 'The node refused or failed: ' + errorText(res) };
    case 504: return { ok: false, text: 'The node did not answer in time: ' + errorText(res) };
    default: return { ok: false, text: `Failed (HTTP ${res.status}): ` + errorText(res) };
  }
}

async function drop(id) {
  try { return dropOutcome(await request(callPath(id), { method: 'DELETE' })); }
  catch (e) {
    if (e instanceof Unauthorized) throw e;
    return { ok: false, text: 'The server could not be reached: ' + e.message };
  }
}

// The confirmation dialog; resolves true for "Drop".
function confirmDrop(text) {
  const dlg = $('drop-confirm');
  $('drop-confirm-text').textContent = text;
  return new Promise(resolve => {
    const finish = answer => {
      $('drop-confirm-yes').removeEventListener('click', yes);
      $('drop-confirm-no').removeEventListener('click', no);
      dlg.removeEventListener('cancel', no);
      if (dlg.open) dlg.close();
      resolve(answer);
    };
    const yes = () => finish(true);
    const no = e => { if (e) e.preventDefault(); finish(false); };
    $('drop-confirm-yes').addEventListener('click', yes);
    $('drop-confirm-no').addEventListener('click', no);
    dlg.addEventListener('cancel', no); // Escape
    dlg.showModal();
    $('drop-confirm-no').focus();
  });
}

function valueText(attr, v) {
  if (v === null || v === undefined) return { text: '—', title: '' };
  if (attr === 'start-time' || attr === 'connect-time') return time(v);
  if (attr === 'duration') return { text: duration(v), title: num(v) + ' s' };
  if (attr === 'time-limit') return { text: num(v) + ' s', title: '' };
  return { text: typeof v === 'object' ? JSON.stringify(v) : String(v), title: '' };
}

function render(doc) {
  const call = doc.data, a = call.attributes || {};
  remember(doc.included);
  const byKey = new Map((doc.included || []).map(r => [r.type + '/' + r.id, r]));
  const attrs = [];
  for (const name of ATTRIBUTES) {
    const { text, title } = valueText(name, a[name]);
    attrs.push(el('dt', {}, name), el('dd', { title: title || null, class: /duration|rate|fee|interval|port|limit/.test(name) ? 'num' : null }, text));
  }
  $('call-attributes').replaceChildren(...attrs);
  const rels = [];
  for (const rel of Object.keys(REL_TYPES)) {
    const d = call.relationships && call.relationships[rel] && call.relationships[rel].data;
    const r = d && byKey.get(d.type + '/' + d.id);
    let dd;
    if (!d) dd = el('dd', { class: 'muted' }, 'none');
    else if (!r) dd = el('dd', {}, `#${d.id} (not in the store)`);
    else {
      const extra = Object.entries(r.attributes || {}).filter(([k, v]) => k !== 'name' && v !== null && v !== '')
        .slice(0, 4).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join(' · ');
      dd = el('dd', {}, el('strong', {}, labelOf(r)), ` #${d.id}`, extra ? el('span', { class: 'muted rel-extra' }, extra) : null);
    }
    rels.push(el('dt', {}, rel), dd);
  }
  $('call-related').replaceChildren(...rels);
}

export async function openDetails(id) {
  const dlg = $('call-details');
  currentId = id;
  $('call-details-title').textContent = 'Call ' + id;
  $('call-details-status').textContent = 'Loading…';
  $('drop-result').textContent = '';
  $('drop-result').className = 'drop-result';
  $('call-attributes').replaceChildren();
  $('call-related').replaceChildren();
  $('call-drop').hidden = !view.canRemove;
  $('call-drop').disabled = false;
  if (!dlg.open) dlg.showModal();
  $('call-details-close').focus();
  let res;
  try {
    res = await request(callPath(id), { params: [['include', Object.keys(REL_TYPES).join(',')]] });
  } catch (e) {
    if (!(e instanceof Unauthorized)) $('call-details-status').textContent = 'The server could not be reached.';
    return;
  }
  if (currentId !== id) return;
  if (res.ok && res.body && res.body.data) {
    $('call-details-status').textContent = '';
    render(res.body);
  } else if (res.status === 404) {
    $('call-details-status').textContent = 'This call has ended.';
    $('call-drop').hidden = true;
  } else {
    $('call-details-status').textContent = 'Could not load the call: ' + errorText(res);
  }
}

export function wireDetails() {
  const dlg = $('call-details');
  $('call-details-close').addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => { currentId = null; });
  $('call-drop').addEventListener('click', () => dropCurrent().catch(ignoreUnauthorized));
  $('drop-selected').addEventListener('click', () => dropSelected().catch(ignoreUnauthorized));
}

// A 401 has already sent the user back to the login form.
function ignoreUnauthorized(e) { if (!(e instanceof Unauthorized)) throw e; }

async function dropCurrent() {
  const id = currentId;
  if (!id || !(await confirmDrop(`Disconnect call ${id}? Both legs are hung up at once.`))) return;
  $('call-drop').disabled = true;
  const out = await drop(id);
  if (currentId !== id) return;
  $('drop-result').textContent = out.text;
  $('drop-result').className = 'drop-result ' + (out.ok ? 'ok' : 'bad');
  $('call-drop').disabled = out.ok;
  afterDrop();
}

async function dropSelected() {
  const ids = [...view.selected];
  if (!ids.length || !(await confirmDrop(`Disconnect ${ids.length} selected call${ids.length > 1 ? 's' : ''}?`))) return;
  const list = $('drop-selected-results');
  const items = new Map(ids.map(id => [id, el('li', {}, el('code', {}, id), ': dropping…')]));
  list.replaceChildren(...items.values(),
    el('li', { class: 'dismiss' }, el('button', { type: 'button', onclick: () => list.replaceChildren() }, 'Dismiss results')));
  await Promise.all(ids.map(async id => {
    const out = await drop(id);
    const li = items.get(id);
    li.className = out.ok ? 'ok' : 'bad';
    li.replaceChildren(el('code', {}, id), ': ' + out.text);
    if (out.ok) view.selected.delete(id);
  }));
  afterDrop();
}
