// fmt.js — formatting (numbers, durations, times in the browser's zone) and a tiny DOM builder.

const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const num = n => (n === null || n === undefined || n === '' || isNaN(n)) ? '' : intFmt.format(Number(n));

// 3723 → "1:02:03", 59 → "0:59"
export function duration(s) {
  if (s === null || s === undefined) return '';
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return (h ? num(h) + ':' : '') + mm + ':' + String(sec).padStart(2, '0');
}

// ISO UTC → {text: local time, title: UTC}; today's times show the time only.
export function time(iso) {
  if (!iso) return { text: '', title: '' };
  const d = new Date(iso);
  if (isNaN(d)) return { text: String(iso), title: '' };
  const today = new Date().toDateString() === d.toDateString();
  return { text: (today ? timeFmt : dateTimeFmt).format(d), title: d.toISOString().replace('.000Z', 'Z') + ' (UTC)' };
}

export const localDateTime = d => dateTimeFmt.format(d);
export const localTime = d => timeFmt.format(d);

// el('td', {class: 'x', title: 't', dataset: {id: 1}}, 'text', child...)
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// Sets text/title only when they changed (cheap in-place row updates).
export function setText(node, text, title) {
  if (node.textContent !== text) node.textContent = text;
  if (title !== undefined && node.title !== title) { if (title) node.title = title; else node.removeAttribute('title'); }
}
