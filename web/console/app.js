// app.js — the console's controller: login and logout, permissions, when the table is fetched
// (event stream, debounced refreshes with If-None-Match, polling fallback), pages, sorting,
// filters, and the side panels' periodic refresh. Rendering is in table.js, details.js,
// counts.js and chart.js; HTTP in api.js.

import { request, setToken, getToken, tokenExp, setUnauthorizedHandler, unauthorizedReason,
  errorText, remember, url, Unauthorized } from './api.js';
import { num, localTime } from './fmt.js';
import { view, listingParams, buildFilters, readFilters, setFilterInput, clearFilterInputs,
  buildColumnChooser, renderHead, renderRows, tick, wireRows, setSelectionHandler } from './table.js';
import { openDetails, wireDetails, setAfterDrop } from './details.js';
import { refreshCounts, refreshNodes, noteFailedNodes, nodeFailed, nodeRecovered, resetHealth } from './counts.js';
import { addLivePoint, loadHistory, resetChart, wireChart } from './chart.js';
import { refreshDecisions } from './decisions.js';

const $ = id => document.getElementById(id);
const MIN_GAP_MS = 1000, POLL_MS = 5000, SIDE_MS = 5000, STREAM_RETRY_MS = 30000, DURATION_SORT_MS = 2000;

let running = false;
let accepted = []; // the filters the server last accepted: the stream and the counts use these
let gen = 0, fresh = true, etag = null;
let inFlight = false, again = false, lastStart = 0, refreshTimer = null;
let es = null, pollTimer = null, retryTimer = null, sideTimer = null, tickTimer = null, sessionTimer = null, sortTimer = null;

// ---- login / logout -------------------------------------------------------------------------
function showLogin(reason) {
  $('app').hidden = true;
  $('login').hidden = false;
  const err = $('login-error');
  err.textContent = reason || '';
  err.hidden = !reason;
  $('login-password').value = '';
  $('login-submit').disabled = false;
  ($('login-username').value ? $('login-password') : $('login-username')).focus();
}

async function submitLogin(e) {
  e.preventDefault();
  const err = $('login-error');
  err.hidden = true;
  $('login-submit').disabled = true;
  try {
    const res = await request('auth', { method: 'POST',
      body: { auth: { username: $('login-username').value, password: $('login-password').value } } });
    if (res.status === 201 && res.body && res.body.jwt) { setToken(res.body.jwt); start(); return; }
    if (res.status === 429) {
      const after = res.headers.get('Retry-After');
      err.textContent = 'Too many failed attempts; try again' + (after ? ` in ${after} s.` : ' later.');
    } else if (res.status === 401) err.textContent = errorText(res, 'Invalid username or password.');
    else err.textContent = `Login failed (HTTP ${res.status}): ` + errorText(res);
  } catch {
    err.textContent = 'The server could not be reached.';
  }
  err.hidden = false;
  $('login-submit').disabled = false;
  $('login-password').select();
}

function stop(reason) {
  running = false;
  gen++;
  closeStream();
  for (const t of [pollTimer, retryTimer, sideTimer, tickTimer, sessionTimer, refreshTimer, sortTimer]) { clearTimeout(t); clearInterval(t); }
  pollTimer = retryTimer = sideTimer = tickTimer = sessionTimer = refreshTimer = sortTimer = null;
  setToken(null);
  for (const d of document.querySelectorAll('dialog[open]')) d.close();
  $('calls-body').replaceChildren();
  $('drop-selected-results').replaceChildren();
  view.selected.clear();
  resetHealth();
  resetChart();
  showLogin(reason);
}

async function start() {
  running = true;
  $('login').hidden = true;
  $('app').hidden = false;
  const exp = tokenExp();
  $('session-info').textContent = exp ? 'Session until ' + localTime(new Date(exp * 1000)) : '';
  // Ends the session at exp even when nothing is asked of the server.
  if (exp) sessionTimer = setTimeout(() => stop('Your session expired; log in again.'), Math.max(0, exp * 1000 - Date.now() - 1000));
  try {
    const res = await request('active-call-permissions');
    view.canRemove = res.ok && res.body?.meta?.actions?.remove === true;
  } catch (e) { if (e instanceof Unauthorized) return; view.canRemove = false; }
  $('drop-selected').hidden = !view.canRemove;
  accepted = view.filters;
  $('filters-summary').textContent = accepted.map(([k, v]) => `${k}=${v}`).join(' · ') || 'none';
  viewChanged();
  openStream();
  tickTimer = setInterval(tick, 1000);
  // Durations change without events: a page sorted by them is re-read while the stream is quiet.
  sortTimer = setInterval(() => { if (!pollTimer && /duration/.test(view.sort)) scheduleRefresh(); }, DURATION_SORT_MS);
  sideTimer = setInterval(refreshSide, SIDE_MS);
  refreshSide().then(loadHistory);
}

// ---- the table ------------------------------------------------------------------------------
function viewChanged() {
  gen++;
  fresh = true;
  etag = null;
  renderHead(sortBy);
  scheduleRefresh(true);
}

// At most one listing a second; `now` for the user's own actions.
function scheduleRefresh(now = false) {
  if (!running) return;
  if (inFlight) { again = true; return; }
  clearTimeout(refreshTimer);
  const wait = now ? 0 : Math.max(0, lastStart + MIN_GAP_MS - Date.now());
  refreshTimer = setTimeout(refresh, wait);
}

async function refresh() {
  refreshTimer = null;
  inFlight = true;
  lastStart = Date.now();
  const myGen = gen, wasFresh = fresh;
  try {
    const res = await request('active-calls', { params: listingParams(), etag: wasFresh ? null : etag,
      headers: { 'Cache-Control': 'max-age=1' } });
    if (myGen !== gen) { again = true; return; }
    $('table-error').hidden = true;
    if (res.status === 304) { noteUpdate(null); return; }
    if (!res.ok) { showListingError(res); return; }
    if (JSON.stringify(view.filters) !== JSON.stringify(accepted)) filtersAccepted();
    etag = res.etag;
    fresh = false;
    const doc = res.body, meta = doc.meta || {}, total = meta['total-count'] ?? doc.data.length;
    const pages = Math.max(1, Math.ceil(total / view.size));
    if (!doc.data.length && view.page > pages) { view.page = pages; gen++; fresh = true; again = true; return; }
    remember(doc.included);
    renderRows(doc.data, { fresh: wasFresh });
    $('calls-total').textContent = num(total);
    $('page-info').textContent = `Page ${num(view.page)} of ${num(pages)}`;
    $('page-prev').disabled = view.page <= 1;
    $('page-next').disabled = view.page >= pages;
    noteFailedNodes(meta, false);
    noteUpdate(meta['snapshot-at']);
  } catch (e) {
    if (e instanceof Unauthorized) return;
    const err = $('table-error');
    err.textContent = 'The server could not be reached; retrying.';
    err.hidden = false;
    if (!pollTimer) startPolling();
  } finally {
    inFlight = false;
    if (again && running) { again = false; scheduleRefresh(myGen !== gen); }
  }
}

function showListingError(res) {
  if (res.status === 400) {
    $('filters-error').textContent = 'The server refused these filters: ' + errorText(res) +
      ' The table still shows the previous ones.';
    $('filters-error').hidden = false;
    view.filters = accepted; // keep refreshing what the server accepted
    gen++; fresh = true; etag = null;
    return;
  }
  const err = $('table-error');
  const retry = res.headers.get('Retry-After');
  err.textContent = `The listing failed (HTTP ${res.status}): ` + errorText(res) + (retry ? ` Retrying in ${retry} s.` : '');
  err.hidden = false;
}

function noteUpdate(snapshotAt) {
  const at = snapshotAt ? new Date(snapshotAt) : new Date();
  $('last-update').textContent = 'Updated ' + localTime(at);
  $('last-update').title = at.toISOString() + ' (UTC)';
}

function sortBy(attr) {
  view.sort = view.sort === attr ? '-' + attr : attr;
  view.page = 1;
  viewChanged();
  const th = document.querySelector(`#calls-head th[data-sort="${CSS.escape(attr)}"] button`);
  if (th) th.focus();
}

function applyFilters() {
  $('filters-error').hidden = true;
  view.filters = readFilters();
  view.page = 1;
  viewChanged();
}

// The listing took new filters: follow them with the event stream and the counts.
function filtersAccepted() {
  accepted = view.filters;
  $('filters-summary').textContent = accepted.map(([k, v]) => `${k}=${v}`).join(' · ') || 'none';
  openStream();
  refreshSide();
}

// ---- updates: event stream, polling fallback ---------------------------------------------------
function setLive(state) {
  const el = $('live-state');
  el.textContent = state;
  el.className = 'live-state state-' + state;
}

function closeStream() {
  if (es) { es.close(); es = null; }
  clearTimeout(retryTimer);
  retryTimer = null;
}

function openStream() {
  closeStream();
  if (!running || typeof EventSource === 'undefined') { setLive('polling'); startPolling(); return; }
  const params = [['token', getToken()], ...accepted.map(([k, v]) => [`filter[${k}]`, v]),
    ['fields[active-calls]', 'connect-time']];
  const stream = es = new EventSource(url('active-call-events', params));
  setLive('connecting');
  stream.onopen = () => { if (es === stream) { setLive('live'); stopPolling(); } };
  stream.onerror = () => {
    if (es !== stream) return;
    setLive('polling');
    startPolling();
    // Closed for good (a refusal such as 401, 503, 400): try a new stream later.
    if (stream.readyState === EventSource.CLOSED) retryTimer = setTimeout(openStream, STREAM_RETRY_MS);
  };
  for (const name of ['reset', 'call-started', 'call-ended', 'call-connected']) {
    stream.addEventListener(name, () => scheduleRefresh());
  }
  stream.addEventListener('node-failed', e => { nodeFailed(JSON.parse(e.data).meta.node); scheduleRefresh(); });
  stream.addEventListener('node-recovered', e => { nodeRecovered(JSON.parse(e.data).meta.node); scheduleRefresh(); });
  stream.addEventListener('unauthorized', () => { if (es === stream) stop(unauthorizedReason()); });
  stream.addEventListener('overflow', () => { if (es === stream) openStream(); });
}

function startPolling() {
  if (pollTimer || !running) return;
  pollTimer = setInterval(() => scheduleRefresh(), POLL_MS);
  scheduleRefresh();
}
function stopPolling() { clearInterval(pollTimer); pollTimer = null; }

// ---- side panels --------------------------------------------------------------------------------
async function refreshSide() {
  if (!running) return;
  try {
    const [, nodes] = await Promise.all([refreshCounts(accepted, pickFilter), refreshNodes(), refreshDecisions()]);
    if (nodes) addLivePoint(nodes.at, nodes.counts);
  } catch (e) {
    if (!(e instanceof Unauthorized)) $('counts-error').textContent = 'The server could not be reached.';
  }
}

function pickFilter(filter, key) {
  setFilterInput(filter, key);
  applyFilters();
}

// ---- wiring -----------------------------------------------------------------------------------
function init() {
  setUnauthorizedHandler(reason => { if (running) stop(reason); });
  buildFilters($('filter-fields'));
  buildColumnChooser($('columns-list'), viewChanged);
  wireRows(openDetails);
  wireDetails();
  wireChart();
  setAfterDrop(() => scheduleRefresh());
  setSelectionHandler(n => {
    $('drop-selected').disabled = n === 0;
    $('drop-selected').textContent = n ? `Drop selected (${n})` : 'Drop selected';
  });
  $('login-form').addEventListener('submit', submitLogin);
  $('logout').addEventListener('click', () => stop(''));
  $('filters-form').addEventListener('submit', e => { e.preventDefault(); applyFilters(); });
  const showFilters = show => {
    $('filters-form').hidden = !show;
    $('filters-toggle').setAttribute('aria-expanded', String(show));
    $('filters-toggle').textContent = show ? 'Hide filters' : 'Show filters';
  };
  $('filters-toggle').addEventListener('click', () => showFilters($('filters-form').hidden));
  if (window.innerHeight < 700) showFilters(false); // a small laptop screen: the table first
  $('filters-clear').addEventListener('click', () => { clearFilterInputs(); applyFilters(); });
  $('page-size').value = String(view.size);
  $('page-size').addEventListener('change', () => { view.size = Number($('page-size').value); view.page = 1; viewChanged(); });
  $('page-prev').addEventListener('click', () => { if (view.page > 1) { view.page--; viewChanged(); } });
  $('page-next').addEventListener('click', () => { view.page++; viewChanged(); });
  $('counts-group').addEventListener('change', refreshSide);
  if (getToken()) start(); else showLogin('');
}

init();
