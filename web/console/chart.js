// chart.js — active calls over time as an inline SVG: the last hour from live updates (plus the
// stored history of that hour), 24 h / 7 d / 31 d from /active-call-samples; per node stacked,
// the cluster total, or one account / gateway. Hover or arrow keys show values in #chart-tooltip.

import { request, errorText, knownName, Unauthorized } from './api.js';
import { num, localTime, localDateTime } from './fmt.js';

const $ = id => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';
const RANGES = { '1h': { hours: 1, bucket: null }, '24h': { hours: 24, bucket: 300 },
  '7d': { hours: 168, bucket: 3600 }, '31d': { hours: 744, bucket: 3600 } };
const HOUR = 3600e3;

const live = []; // {t: ms, counts: Map(node id → calls)} of the last hour
let nodeIds = [];
let model = null; // {times, series: [{label, values}], stacked, from, to}
let history = null; // what the last samples request gave, for the chosen range and subject
let hoverIndex = -1;
let loadSeq = 0;

function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

export function addLivePoint(at, counts) {
  live.push({ t: at.getTime(), counts });
  nodeIds = [...new Set([...nodeIds, ...counts.keys()])].sort((a, b) => Number(a) - Number(b));
  while (live.length && live[0].t < Date.now() - HOUR) live.shift();
  if ($('chart-range').value === '1h') { build(); draw(); }
}

export function resetChart() { live.length = 0; history = null; model = null; $('chart').replaceChildren(); }

function subjectParams() {
  const kind = $('chart-subject').value, id = $('chart-subject-id').value.trim();
  if (kind === 'node') return nodeIds.length ? [['filter[node-id-eq]', nodeIds.slice(0, 100).join(',')]] : [];
  if (kind === 'total') return [];
  return id ? [[`filter[${kind}-id-eq]`, id]] : null;
}

// Loads the stored history for the chosen range and subject, then draws.
export async function loadHistory() {
  const range = RANGES[$('chart-range').value];
  const kind = $('chart-subject').value;
  $('chart-subject-id').hidden = kind === 'node' || kind === 'total';
  const subject = subjectParams();
  const seq = ++loadSeq;
  const note = $('chart-note');
  if (!subject) { history = null; note.textContent = 'Enter an id to chart.'; build(); draw(); return; }
  note.textContent = 'Loading history…';
  const params = [...subject, ['hours', range.hours]];
  if (range.bucket) params.push(['bucket', range.bucket]);
  let res;
  try { res = await request('active-call-samples', { params }); }
  catch (e) { if (e instanceof Unauthorized) return; res = null; }
  if (seq !== loadSeq) return;
  history = null;
  if (!res || !res.ok) {
    note.textContent = 'History is not available on this server' + (res ? ` (${errorText(res)})` : '') +
      ($('chart-range').value === '1h' ? '; showing live updates since this page opened.' : '.');
  } else if (!(res.body.data || []).length) {
    note.textContent = 'No history recorded for this range (the server may have history off, --history-interval-s 0)' +
      ($('chart-range').value === '1h' ? '; showing live updates since this page opened.' : '.');
  } else {
    history = { kind, doc: res.body };
    const b = res.body.meta && res.body.meta.bucket;
    const withLive = $('chart-range').value === '1h' && (kind === 'node' || kind === 'total');
    note.textContent = b > 1 ? `Peak per ${b >= 3600 ? b / 3600 + ' h' : b / 60 + ' min'}; stored samples.`
      : 'Stored samples' + (withLive ? ' and live updates.' : '.');
  }
  build(); draw();
}

// Turns history (and, for the last hour, live points) into {times, series}.
function build() {
  const rangeKey = $('chart-range').value, kind = $('chart-subject').value;
  const now = Date.now();
  const points = new Map(); // t → Map(series key → value)
  const labels = new Map();
  const put = (t, key, label, v) => {
    if (!points.has(t)) points.set(t, new Map());
    points.get(t).set(key, (points.get(t).get(key) || 0) + v);
    labels.set(key, label);
  };
  let from = now - RANGES[rangeKey].hours * HOUR, to = now;
  if (history && history.kind === kind) {
    const m = history.doc.meta || {};
    if (m.from) from = Math.min(from, Date.parse(m.from));
    for (const r of history.doc.data) {
      const t = Date.parse(r.attributes['created-at']);
      const parts = r.id.split('-'), subj = parts[parts.length - 2];
      if (kind === 'node') put(t, subj, nodeLabel(subj), r.attributes.count);
      else if (kind === 'account') {
        put(t, 'o', 'originated', r.attributes['originated-count'] ?? 0);
        put(t, 't', 'terminated', r.attributes['terminated-count'] ?? 0);
      } else put(t, kind === 'total' ? 'total' : subj, kind === 'total' ? 'all nodes' : `${kind} #${subj}`, r.attributes.count);
    }
  }
  if (rangeKey === '1h' && (kind === 'node' || kind === 'total')) {
    for (const p of live) {
      if (points.has(p.t)) continue;
      for (const [id, c] of p.counts) {
        if (c === null) continue;
        if (kind === 'node') put(p.t, id, nodeLabel(id), c); else put(p.t, 'total', 'all nodes', c);
      }
      if (!points.has(p.t)) points.set(p.t, new Map());
    }
  }
  const times = [...points.keys()].sort((a, b) => a - b);
  // The live hour starts with the page: show what there is, at least 5 minutes wide.
  if (rangeKey === '1h' && times.length) from = Math.max(from, Math.min(times[0], now - 5 * 60e3));
  const keys = [...labels.keys()].sort((a, b) => (Number(a) - Number(b)) || a.localeCompare(b));
  model = { from, to, times, stacked: kind === 'node',
    series: keys.map(k => ({ key: k, label: labels.get(k), values: times.map(t => points.get(t).get(k) || 0) })) };
}
const nodeLabel = id => knownName('nodes', id) || `node ${id}`;

function niceMax(v) {
  if (v <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(v)), f = v / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

export function draw() {
  const box = $('chart');
  if (!model) build();
  const W = Math.max(240, box.clientWidth || 400), H = 220, L = 48, R = 8, T = 10, B = 24;
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
    'aria-label': 'Active calls over time' });
  const { times, series, stacked, from, to } = model;
  const totals = times.map((_, i) => stacked ? series.reduce((a, se) => a + se.values[i], 0)
    : Math.max(0, ...series.map(se => se.values[i])));
  const ymax = niceMax(Math.max(0, ...totals));
  const x = t => L + (W - L - R) * (t - from) / Math.max(1, to - from);
  const y = v => T + (H - T - B) * (1 - v / ymax);
  for (let i = 0; i <= 4; i++) {
    const v = ymax * i / 4;
    s.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
    const tx = svg('text', { x: L - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }); tx.textContent = num(v); s.append(tx);
  }
  const long = to - from > 26 * HOUR;
  for (let i = 0; i <= 4; i++) {
    const t = from + (to - from) * i / 4;
    const tx = svg('text', { x: x(t), y: H - 6, class: 'axis', 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' });
    const d = new Date(t);
    tx.textContent = long ? d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    s.append(tx);
  }
  if (!times.length) {
    const tx = svg('text', { x: W / 2, y: H / 2, class: 'axis empty', 'text-anchor': 'middle' });
    tx.textContent = 'No data yet'; s.append(tx);
  }
  const base = times.map(() => 0);
  series.forEach((se, k) => {
    const top = se.values.map((v, i) => (stacked ? base[i] : 0) + v);
    const line = times.map((t, i) => `${x(t).toFixed(1)},${y(top[i]).toFixed(1)}`);
    if (stacked && times.length) {
      const bottom = times.map((t, i) => `${x(t).toFixed(1)},${y(base[i]).toFixed(1)}`).reverse();
      s.append(svg('polygon', { points: [...line, ...bottom].join(' '), class: `area s${k % 8}` }));
    }
    s.append(svg('polyline', { points: line.join(' '), class: `line s${k % 8}` }));
    if (stacked) top.forEach((v, i) => { base[i] = v; });
  });
  const cursor = svg('line', { x1: 0, x2: 0, y1: T, y2: H - B, class: 'cursor', visibility: 'hidden' });
  s.append(cursor);
  s.addEventListener('mousemove', e => {
    if (!times.length) return;
    const r = s.getBoundingClientRect();
    const px = (e.clientX - r.left) * W / r.width;
    let best = 0;
    times.forEach((t, i) => { if (Math.abs(x(t) - px) < Math.abs(x(times[best]) - px)) best = i; });
    showTip(best);
  });
  s.addEventListener('mouseleave', hideTip);
  box.replaceChildren(s, legend(series));
  if (hoverIndex >= times.length) hoverIndex = -1;

  function showTip(i) {
    hoverIndex = i;
    const px = x(times[i]);
    cursor.setAttribute('x1', px); cursor.setAttribute('x2', px); cursor.setAttribute('visibility', 'visible');
    const tip = $('chart-tooltip');
    const d = new Date(times[i]);
    tip.replaceChildren();
    const head = document.createElement('strong');
    head.textContent = long ? localDateTime(d) : localTime(d);
    tip.append(head);
    for (const se of series) {
      const row = document.createElement('div');
      row.textContent = `${se.label}: ${num(se.values[i])}`;
      tip.append(row);
    }
    if (stacked && series.length > 1) {
      const row = document.createElement('div'); row.className = 'tip-total';
      row.textContent = `total: ${num(totals[i])}`; tip.append(row);
    }
    tip.title = d.toISOString() + ' (UTC)';
    tip.hidden = false;
    const br = box.getBoundingClientRect(), sr = s.getBoundingClientRect();
    const left = (sr.left - br.left) + px * sr.width / W;
    tip.style.left = (box.offsetLeft + Math.max(0, Math.min(left + 12, br.width - tip.offsetWidth))) + 'px';
    tip.style.top = (box.offsetTop + 8) + 'px';
  }
  drawShow = showTip;
}
let drawShow = () => {};
function hideTip() {
  $('chart-tooltip').hidden = true;
  const c = $('chart').querySelector('line.cursor');
  if (c) c.setAttribute('visibility', 'hidden');
}

function legend(series) {
  const ul = document.createElement('ul');
  ul.className = 'legend';
  series.forEach((se, k) => {
    const li = document.createElement('li');
    const sw = document.createElement('span'); sw.className = `swatch s${k % 8}`; sw.setAttribute('aria-hidden', 'true');
    li.append(sw, se.label);
    ul.append(li);
  });
  return ul;
}

export function wireChart() {
  $('chart-range').addEventListener('change', loadHistory);
  $('chart-subject').addEventListener('change', loadHistory);
  $('chart-subject-id').addEventListener('change', loadHistory);
  $('chart').addEventListener('keydown', e => {
    if (!model || !model.times.length) return;
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      const n = model.times.length;
      hoverIndex = hoverIndex < 0 ? n - 1 : Math.min(n - 1, Math.max(0, hoverIndex + (e.key === 'ArrowRight' ? 1 : -1)));
      drawShow(hoverIndex);
    } else if (e.key === 'Escape') hideTip();
  });
  $('chart').addEventListener('blur', hideTip);
  let t, width = 0;
  new ResizeObserver(() => {
    const w = $('chart').clientWidth;
    if (w && Math.abs(w - width) > 4) { width = w; clearTimeout(t); t = setTimeout(draw, 100); }
  }).observe($('chart'));
}
