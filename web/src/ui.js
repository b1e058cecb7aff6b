// Small DOM helpers shared by the panels: element builder, toasts, key/value lists, formatting.

/** Builds an element: el('div', {class: 'x', onclick: f}, child, 'text', …). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function $(selector) { return document.querySelector(selector); }

/** A transient message in the corner; kind: info | ok | error | alarm. */
export function toast(message, kind = 'info', ms = 4000) {
  const node = el('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  $('#toasts').append(node);
  setTimeout(() => node.remove(), ms);
  return node;
}

/** A definition list from [label, value] pairs, skipping empty values. */
export function kv(pairs) {
  const dl = el('dl', { class: 'kv' });
  for (const [label, value, cls] of pairs) {
    if (value === undefined || value === null || value === '') continue;
    dl.append(el('dt', {}, label), el('dd', { class: cls || null }, value instanceof Node ? value : String(value)));
  }
  return dl;
}

export function metres(m) {
  if (!Number.isFinite(m)) return '—';
  return m >= 1000 ? `${(m / 1000).toFixed(m >= 10000 ? 1 : 2)} 公里` : `${m.toFixed(m < 10 ? 1 : 0)} 米`;
}

export function squareMetres(m2) {
  if (!Number.isFinite(m2)) return '—';
  if (m2 >= 1e6) return `${(m2 / 1e6).toFixed(3)} 平方公里`;
  return `${Math.round(m2).toLocaleString('zh-CN')} 平方米`;
}

export function percent(x) { return Number.isFinite(x) ? `${Math.round(x * 100)}%` : '—'; }

let zoneFormat = null;
let zoneName = null;

/** The district's time zone (from /web/config.json): every time on the page is shown in it. */
export function setTimeZone(zone) {
  zoneName = zone;
  try {
    zoneFormat = new Intl.DateTimeFormat('sv-SE', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  } catch {
    zoneFormat = null;
  }
}

/** A time as `YYYY-MM-DD HH:MM:SS` in the district's zone (to the second; no microseconds, no UTC). */
export function dateTime(value) {
  if (!value) return '';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  if (zoneFormat) return zoneFormat.format(d).replace('T', ' ');
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The district zone's UTC offset at a moment, as `+08:00` (for CQL2 timestamps of local days). */
export function zoneOffset(date) {
  try {
    const name = new Intl.DateTimeFormat('en-US', { timeZone: zoneName || undefined, timeZoneName: 'longOffset' })
      .formatToParts(date).find((p) => p.type === 'timeZoneName')?.value || '';
    const m = /GMT([+-]\d\d:\d\d)/.exec(name);
    return m ? m[1] : 'Z';
  } catch {
    return 'Z';
  }
}

/** A value for <input type=datetime-local> in local time. */
export function localInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Runs `fn` once, when the sidebar tab `name` is first opened (at once if it is open already): a panel's
 * lists and counts are fetched for the person who looks at them, not by every page load. */
export function onFirstOpen(name, fn) {
  const button = document.querySelector(`.tabs button[data-tab="${name}"]`);
  if (!button || button.classList.contains('active')) { fn(); return; }
  button.addEventListener('click', () => fn(), { once: true });
}

/** Shows the right-hand info panel with a title and content nodes. */
export function showInfo(title, ...nodes) {
  $('#info-title').textContent = title;
  const body = $('#info-body');
  body.replaceChildren(...nodes);
  $('#infopanel').hidden = false;
  return body;
}

export function hideInfo() { $('#infopanel').hidden = true; }

/**
 * Popups never stay off-screen: when one opens (or the flight that follows it ends), the map pans just
 * enough to bring the whole popup inside the map's box. MapLibre picks the popup's side, but a tall
 * popup at mid-height fits neither above nor below; CSS caps its size so that it always can fit.
 */
export function keepPopupsOnScreen(map, margin = 8) {
  const container = map.getContainer();
  const fit = () => {
    if (map.isMoving()) { map.once('moveend', fit); return; }
    const box = container.getBoundingClientRect();
    for (const node of container.querySelectorAll('.maplibregl-popup')) {
      const r = node.getBoundingClientRect();
      let dx = 0;
      let dy = 0;
      if (r.width <= box.width - 2 * margin) {
        if (r.left < box.left + margin) dx = r.left - box.left - margin;
        else if (r.right > box.right - margin) dx = r.right - box.right + margin;
      }
      if (r.height <= box.height - 2 * margin) {
        if (r.top < box.top + margin) dy = r.top - box.top - margin;
        else if (r.bottom > box.bottom - margin) dy = r.bottom - box.bottom + margin;
      }
      if (dx || dy) { map.panBy([dx, dy], { duration: 250 }); return; }
    }
  };
  new MutationObserver((changes) => {
    if (changes.some((c) => [...c.addedNodes].some((n) => n.classList?.contains('maplibregl-popup')))) requestAnimationFrame(fit);
  }).observe(container, { childList: true });
  return fit;
}
