// table.js — the calls table: columns and the column chooser, header sorting, the filter
// inputs, in-place row updates keyed by call id (row-new / row-gone), local duration ticks,
// row selection and keyboard navigation. It renders; app.js decides when to fetch.

import { el, setText, num, duration, time } from './fmt.js';
import { knownName, nameFields } from './api.js';

// relationship → related type (docs/CONTRACT.md §2)
export const REL_TYPES = {
  customer: 'contractors', vendor: 'contractors', 'customer-acc': 'accounts', 'vendor-acc': 'accounts',
  'customer-auth': 'customers-auths', rateplan: 'rateplans', destination: 'destinations',
  'routing-group': 'routing-groups', 'routing-plan': 'routing-plans', dialpeer: 'dialpeers',
  'orig-gw': 'gateways', 'term-gw': 'gateways', 'src-country': 'countries', 'src-network': 'networks',
  'dst-country': 'countries', 'dst-network': 'networks', pop: 'pops', node: 'nodes',
};

// The 35 attributes, in the contract's order.
export const ATTRIBUTES = ['start-time', 'connect-time', 'duration', 'time-limit', 'dst-prefix-in',
  'dst-prefix-routing', 'lrn', 'dst-prefix-out', 'src-prefix-in', 'src-prefix-routing', 'src-prefix-out',
  'diversion-in', 'diversion-out', 'destination-initial-rate', 'destination-next-rate',
  'destination-initial-interval', 'destination-next-interval', 'destination-fee',
  'destination-rate-policy-id', 'dialpeer-initial-rate', 'dialpeer-next-rate', 'dialpeer-initial-interval',
  'dialpeer-next-interval', 'dialpeer-fee', 'leg-a-remote-ip', 'leg-a-remote-port', 'orig-call-id',
  'leg-a-local-ip', 'leg-a-local-port', 'local-tag', 'leg-b-local-ip', 'leg-b-local-port', 'term-call-id',
  'leg-b-remote-ip', 'leg-b-remote-port'];

const NUMERIC = /rate$|fee$|interval$|port$|time-limit|policy-id/;
const SEPARATED = /interval$|time-limit/; // counts of seconds: thousands separators (ports and ids: none)
const title = s => s.replace(/-/g, ' ').replace(/^./, c => c.toUpperCase());

// Column definitions. `sort`: the attribute the server sorts by (absent: not sortable).
const FIRST = [
  { key: 'node', label: 'Node', rel: 'node' },
  { key: 'customer', label: 'Customer', rel: 'customer' },
  { key: 'vendor', label: 'Vendor', rel: 'vendor' },
  { key: 'src-prefix-routing', label: 'Src number', attr: 'src-prefix-routing', sort: 'src-prefix-routing' },
  { key: 'dst-prefix-routing', label: 'Dst number', attr: 'dst-prefix-routing', sort: 'dst-prefix-routing' },
  { key: 'duration', label: 'Duration', attr: 'duration', sort: 'duration', kind: 'duration', numeric: true },
  { key: 'state', label: 'State', attr: 'connect-time', sort: 'connect-time', kind: 'state' },
  { key: 'orig-gw', label: 'Orig gw', rel: 'orig-gw' },
  { key: 'term-gw', label: 'Term gw', rel: 'term-gw' },
  { key: 'customer-acc', label: 'Customer account', rel: 'customer-acc' },
  { key: 'vendor-acc', label: 'Vendor account', rel: 'vendor-acc' },
  { key: 'start-time', label: 'Start', attr: 'start-time', sort: 'start-time', kind: 'time' },
];
const shown = new Set(FIRST.map(c => c.attr || c.rel));
export const COLUMNS = [
  ...FIRST,
  ...ATTRIBUTES.filter(a => !shown.has(a) && a !== 'connect-time').map(a => ({
    key: a, label: title(a), attr: a, sort: a, numeric: NUMERIC.test(a), kind: SEPARATED.test(a) ? 'int' : 'text' })),
  { key: 'connect-time', label: 'Connect time', attr: 'connect-time', kind: 'time' },
  ...Object.keys(REL_TYPES).filter(r => !shown.has(r)).map(r => ({ key: r, label: title(r), rel: r })),
];
const DEFAULT_VISIBLE = FIRST.map(c => c.key);
const COLS_KEY = 'activecalls-columns'; // a display preference, not a secret

export const view = {
  sort: '', page: 1, size: 50, filters: [], selected: new Set(), canRemove: false,
  visible: new Set(JSON.parse(localStorage.getItem(COLS_KEY) || 'null') || DEFAULT_VISIBLE),
};
const visibleColumns = () => COLUMNS.filter(c => view.visible.has(c.key));

// ---- query parameters of the listing -------------------------------------------------------
export function listingParams() {
  const cols = visibleColumns();
  const rels = [...new Set(cols.filter(c => c.rel).map(c => c.rel))];
  const fields = new Set(['duration', 'connect-time', ...cols.filter(c => c.attr).map(c => c.attr), ...rels]);
  const p = [...view.filters.map(([k, v]) => [`filter[${k}]`, v])];
  if (view.sort) p.push(['sort', view.sort]);
  p.push(['page[number]', view.page], ['page[size]', view.size]);
  if (rels.length) p.push(['include', rels.join(',')]);
  p.push(['fields[active-calls]', [...fields].join(',')]);
  p.push(...nameFields([...new Set(rels.map(r => REL_TYPES[r]))]));
  return p;
}

// ---- filters --------------------------------------------------------------------------------
const ID_LIST = 'comma-separated ids';
export const FILTERS = [
  ['node-id-eq', 'Node', ID_LIST], ['pop-id-eq', 'POP', ID_LIST],
  ['customer-id-eq', 'Customer', ID_LIST], ['vendor-id-eq', 'Vendor', ID_LIST],
  ['customer-acc-id-eq', 'Customer account', ID_LIST], ['vendor-acc-id-eq', 'Vendor account', ID_LIST],
  ['orig-gw-id-eq', 'Orig gateway', ID_LIST], ['term-gw-id-eq', 'Term gateway', ID_LIST],
  ['src-prefix-routing-starts-with', 'Src number starts with', 'prefixes, comma-separated'],
  ['dst-prefix-routing-starts-with', 'Dst number starts with', 'prefixes, comma-separated'],
  ['duration-greater-than', 'Duration > (s)', 'seconds'], ['duration-less-than', 'Duration < (s)', 'seconds'],
  ['duration-gteq', 'Duration ≥ (s)', 'seconds'], ['duration-lteq', 'Duration ≤ (s)', 'seconds'],
  ['duration-equals', 'Duration = (s)', 'seconds'], ['connected', 'Connected', null],
  ['customer-auth-id-eq', 'Customer auth', ID_LIST], ['rateplan-id-eq', 'Rateplan', ID_LIST],
  ['destination-id-eq', 'Destination', ID_LIST], ['routing-group-id-eq', 'Routing group', ID_LIST],
  ['routing-plan-id-eq', 'Routing plan', ID_LIST], ['dialpeer-id-eq', 'Dialpeer', ID_LIST],
  ['src-country-id-eq', 'Src country', ID_LIST], ['src-network-id-eq', 'Src network', ID_LIST],
  ['dst-country-id-eq', 'Dst country', ID_LIST], ['dst-network-id-eq', 'Dst network', ID_LIST],
  ['orig-call-id-eq', 'Orig call id', 'call ids, comma-separated'],
  ['local-tag-eq', 'Local tag', 'tags, comma-separated'], ['id', 'Call id', 'node*tag, comma-separated'],
];

export function buildFilters(container) {
  for (const [name, label, hint] of FILTERS) {
    const id = 'filter-' + name;
    const input = hint === null
      ? el('select', { id }, el('option', { value: '' }, 'any'), el('option', { value: 'true' }, 'yes'),
        el('option', { value: 'false' }, 'no (ringing)'))
      : el('input', { id, type: 'text', placeholder: hint, autocomplete: 'off', spellcheck: 'false',
        inputmode: /id-eq|duration/.test(name) ? 'numeric' : null });
    container.append(el('div', { class: 'filter' }, el('label', { for: id }, label), input));
  }
}

export function readFilters() {
  return FILTERS.map(([name]) => [name, document.getElementById('filter-' + name).value.trim()])
    .filter(([, v]) => v !== '');
}
export function setFilterInput(name, value) { document.getElementById('filter-' + name).value = value; }
export function clearFilterInputs() { for (const [name] of FILTERS) setFilterInput(name, ''); }

// ---- header and column chooser ---------------------------------------------------------------
export function buildColumnChooser(container, onChange) {
  for (const c of COLUMNS) {
    const id = 'col-toggle-' + c.key;
    const box = el('input', { type: 'checkbox', id, checked: view.visible.has(c.key) });
    box.addEventListener('change', () => {
      if (box.checked) view.visible.add(c.key); else view.visible.delete(c.key);
      localStorage.setItem(COLS_KEY, JSON.stringify([...view.visible]));
      onChange();
    });
    container.append(el('div', { class: 'col-toggle' }, box, el('label', { for: id }, c.label)));
  }
}

export function renderHead(onSort) {
  const tr = document.getElementById('calls-head');
  const all = el('input', { type: 'checkbox', class: 'select-all', 'aria-label': 'Select all calls on this page' });
  all.addEventListener('change', () => {
    for (const box of document.querySelectorAll('#calls-body tr:not(.row-gone) input.row-select')) {
      box.checked = all.checked;
      if (all.checked) view.selected.add(box.closest('tr').dataset.id); else view.selected.delete(box.closest('tr').dataset.id);
    }
    selectionChanged();
  });
  const cells = [el('th', { scope: 'col', class: 'col-select' }, all)];
  for (const c of visibleColumns()) {
    const cls = 'col-' + c.key + (c.numeric ? ' num' : '');
    if (!c.sort) { cells.push(el('th', { scope: 'col', class: cls }, c.label)); continue; }
    const dir = view.sort === c.sort ? 'ascending' : view.sort === '-' + c.sort ? 'descending' : 'none';
    const btn = el('button', { type: 'button', class: 'sort-btn' }, c.label,
      el('span', { class: 'sort-ind', 'aria-hidden': 'true' }, dir === 'ascending' ? '▲' : dir === 'descending' ? '▼' : ''));
    btn.addEventListener('click', () => onSort(c.sort));
    cells.push(el('th', { scope: 'col', class: cls, 'aria-sort': dir, dataset: { sort: c.sort } }, btn));
  }
  tr.replaceChildren(...cells);
}

// ---- rows -----------------------------------------------------------------------------------
let rowsColumnsKey = '';
const relName = (call, rel) => {
  const d = call.relationships && call.relationships[rel] && call.relationships[rel].data;
  if (!d) return { text: '', title: '' };
  const name = knownName(d.type, d.id);
  return { text: name ?? `#${d.id}`, title: `${d.type} ${d.id}` };
};

function cellContent(c, call, now) {
  const a = call.attributes || {};
  if (c.rel) return relName(call, c.rel);
  const v = a[c.attr];
  switch (c.kind) {
    case 'duration': return { text: duration(v), title: v === null || v === undefined ? '' : num(v) + ' s' };
    case 'state': {
      if (!v) return { text: 'ringing', title: 'not connected yet', cls: 'state-ringing' };
      const t = time(v);
      return { text: 'connected', title: 'connected at ' + t.text + ' — ' + t.title, cls: 'state-connected' };
    }
    case 'time': return time(v);
    case 'int': return { text: num(v), title: '' };
    default: return { text: v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v), title: '' };
  }
}

function makeRow(call, cols) {
  const box = el('input', { type: 'checkbox', class: 'row-select', 'aria-label': 'Select call ' + call.id });
  box.checked = view.selected.has(call.id);
  box.addEventListener('change', () => {
    if (box.checked) view.selected.add(call.id); else view.selected.delete(call.id);
    selectionChanged();
  });
  const tr = el('tr', { dataset: { id: call.id }, tabindex: '-1' }, el('td', { class: 'col-select' }, box));
  for (const c of cols) tr.append(el('td', { class: 'col-' + c.key + (c.numeric ? ' num' : '') }));
  return tr;
}

function fillRow(tr, call, cols, fetchedAt) {
  const cells = tr.cells;
  cols.forEach((c, i) => {
    const td = cells[i + 1];
    const { text, title, cls } = cellContent(c, call);
    setText(td, text, title);
    if (c.kind === 'state') td.className = 'col-state ' + (cls || '');
  });
  const a = call.attributes || {};
  tr.dataset.duration = a.duration ?? '';
  tr.dataset.connected = a['connect-time'] ? '1' : '';
  tr.dataset.fetchedAt = fetchedAt;
  const dcell = tr.querySelector('td.col-duration');
  if (dcell) dcell.dataset.seconds = a.duration ?? '';
}

function removeGone(tr) {
  const done = () => tr.remove();
  tr.addEventListener('animationend', done, { once: true });
  setTimeout(done, 1500); // no animation (reduced motion): still removed
}

// Updates tbody in place to show `calls` in order. `fresh`: a new view (page, sort, filters,
// columns), so nothing is highlighted or faded and every old row goes at once.
export function renderRows(calls, { fresh }) {
  const body = document.getElementById('calls-body');
  const cols = visibleColumns();
  const colsKey = cols.map(c => c.key).join(',');
  if (colsKey !== rowsColumnsKey) { body.replaceChildren(); rowsColumnsKey = colsKey; fresh = true; }
  const focused = document.activeElement;
  const byId = new Map();
  for (const tr of body.rows) if (!tr.classList.contains('row-gone')) byId.set(tr.dataset.id, tr);
  const now = Date.now();
  const wanted = new Set(calls.map(c => c.id));

  for (const [id, tr] of byId) {
    if (wanted.has(id)) continue;
    view.selected.delete(id);
    if (fresh) { tr.remove(); continue; }
    tr.classList.remove('row-new');
    tr.classList.add('row-gone');
    tr.setAttribute('aria-hidden', 'true');
    tr.tabIndex = -1;
    tr.querySelector('input.row-select').disabled = true;
    removeGone(tr);
  }
  let cursor = body.firstElementChild;
  const skipGone = () => { while (cursor && cursor.classList.contains('row-gone')) cursor = cursor.nextElementSibling; };
  for (const call of calls) {
    let tr = byId.get(call.id);
    if (!tr) {
      tr = makeRow(call, cols);
      if (!fresh) {
        tr.classList.add('row-new');
        tr.addEventListener('animationend', () => tr.classList.remove('row-new'), { once: true });
      }
    }
    fillRow(tr, call, cols, now);
    skipGone();
    if (tr === cursor) cursor = cursor.nextElementSibling;
    else body.insertBefore(tr, cursor);
  }
  if (focused && focused !== document.activeElement && body.contains(focused)) focused.focus({ preventScroll: true });
  ensureRovingRow();
  selectionChanged();
}

// Durations of connected calls tick locally between updates.
export function tick() {
  const now = Date.now();
  for (const tr of document.querySelectorAll('#calls-body tr[data-connected="1"]')) {
    const cell = tr.querySelector('td.col-duration');
    if (!cell || tr.dataset.duration === '') continue;
    const s = Number(tr.dataset.duration) + Math.floor((now - Number(tr.dataset.fetchedAt)) / 1000);
    cell.dataset.seconds = s;
    setText(cell, duration(s), num(s) + ' s');
  }
}

// ---- selection and keyboard -------------------------------------------------------------------
let onSelection = () => {};
export function setSelectionHandler(fn) { onSelection = fn; }
function selectionChanged() {
  const all = document.querySelector('#calls-head input.select-all');
  const boxes = document.querySelectorAll('#calls-body tr:not(.row-gone) input.row-select');
  if (all) {
    const n = [...boxes].filter(b => b.checked).length;
    all.checked = n > 0 && n === boxes.length;
    all.indeterminate = n > 0 && n < boxes.length;
  }
  onSelection(view.selected.size);
}

const liveRows = () => [...document.querySelectorAll('#calls-body tr:not(.row-gone)')];
function ensureRovingRow() {
  const rows = liveRows();
  if (!rows.length || rows.some(r => r.tabIndex === 0)) return;
  rows[0].tabIndex = 0;
}

export function wireRows(openDetails) {
  const body = document.getElementById('calls-body');
  body.addEventListener('click', e => {
    const tr = e.target.closest('tr');
    if (!tr || tr.classList.contains('row-gone') || e.target.closest('input, button, a, .col-select')) return;
    focusRow(tr);
    openDetails(tr.dataset.id);
  });
  body.addEventListener('keydown', e => {
    const tr = e.target.closest('tr');
    if (!tr || e.target !== tr) return;
    const rows = liveRows(), i = rows.indexOf(tr);
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); openDetails(tr.dataset.id); }
    else if (e.key === 'ArrowDown' && rows[i + 1]) { e.preventDefault(); focusRow(rows[i + 1]); }
    else if (e.key === 'ArrowUp' && rows[i - 1]) { e.preventDefault(); focusRow(rows[i - 1]); }
    else if (e.key === 'Home' && rows.length) { e.preventDefault(); focusRow(rows[0]); }
    else if (e.key === 'End' && rows.length) { e.preventDefault(); focusRow(rows[rows.length - 1]); }
  });
}
function focusRow(tr) {
  for (const r of document.querySelectorAll('#calls-body tr[tabindex="0"]')) r.tabIndex = -1;
  tr.tabIndex = 0;
  tr.focus({ preventScroll: true }); // the browser would also scroll sideways, to the row's middle
  const wrap = tr.closest('.table-wrap'), head = wrap.querySelector('thead').offsetHeight;
  if (tr.offsetTop - head < wrap.scrollTop) wrap.scrollTop = tr.offsetTop - head;
  else if (tr.offsetTop + tr.offsetHeight > wrap.scrollTop + wrap.clientHeight) {
    wrap.scrollTop = tr.offsetTop + tr.offsetHeight - wrap.clientHeight;
  }
}
