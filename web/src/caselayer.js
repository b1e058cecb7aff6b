// Layers of many dated points (the 案件 layer: ~109,000 cases over three years in the demo district) are
// drawn for a time window, not all at once: by default the 30 local days up to the collection's latest
// record (never after today), from OGC API – Features with a half-open CQL2 range, into a clustered
// GeoJSON source — circles with counts at low zoom, expanding on click, single points once zoomed in.
// The window is chosen in the layer's card (近 7/30/90 天 or two dates); the per-class switches of the
// legend filter the loaded points before clustering, so a cluster's count is what is shown.
import { collection, explain, getJSON } from './api.js';
import { dateTime, el, zoneOffset } from './ui.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const DAY_MS = 86400000;
const PRESETS = [[7, '近 7 天'], [30, '近 30 天'], [90, '近 90 天'], [0, '自定义']];

/** Per windowed layer: its spec, the loaded features, the window and what was counted. */
const windows = {};

export function isWindowed(spec) { return !!spec?.window; }

/** The local calendar day (YYYY-MM-DD, district zone) of a Date. */
const localDay = (d) => dateTime(d).slice(0, 10);

/** The latest time the collection has data (its temporal extent's end), not after now. */
function latest(cid) {
  const end = collection(cid)?.extent?.temporal?.interval?.[0]?.[1];
  const now = new Date();
  const t = end ? new Date(end) : now;
  return Number.isNaN(t.getTime()) || t > now ? now : t;
}

function addDays(dayText, n) {
  const d = new Date(`${dayText}T12:00:00Z`);
  return new Date(d.getTime() + n * DAY_MS).toISOString().slice(0, 10);
}

/** Adds the clustered source and the cluster circles/counts; returns the cluster layer ids. */
export function addWindowedLayer(map, id, spec, sourceId, font, before) {
  const cluster = spec.cluster || {};
  map.addSource(sourceId, { type: 'geojson', data: EMPTY, cluster: cluster.enabled !== false,
    clusterMaxZoom: cluster.max_zoom ?? 14, clusterRadius: cluster.radius ?? 45 });
  const visibility = spec.visible ? 'visible' : 'none';
  const color = cluster.color || '#e8590c';
  const circles = `${id}:clusters`;
  const counts = `${id}:cluster-count`;
  map.addLayer({ id: circles, type: 'circle', source: sourceId, filter: ['has', 'point_count'], layout: { visibility },
    paint: { 'circle-color': color, 'circle-opacity': 0.82, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5,
      'circle-radius': ['step', ['get', 'point_count'], 11, 10, 14, 100, 19, 1000, 25] } }, before);
  map.addLayer({ id: counts, type: 'symbol', source: sourceId, filter: ['has', 'point_count'],
    layout: { visibility, 'text-field': ['get', 'point_count_abbreviated'], 'text-size': 12, 'text-font': font,
      'text-allow-overlap': true }, paint: { 'text-color': '#fff' } }, before);
  // switched off, the layers stay drawn at opacity 0 (layers.js setVisible): they take no clicks then
  const shown = () => !!windows[id]?.state?.visible;
  map.on('click', circles, async (e) => {
    if (!shown()) return;
    e.citygridHandled = true; // a cluster click zooms in; it does not open the identify panel
    const f = e.features[0];
    const zoom = await map.getSource(sourceId).getClusterExpansionZoom(f.properties.cluster_id);
    map.easeTo({ center: f.geometry.coordinates, zoom: Math.min(zoom, map.getMaxZoom()) });
  });
  map.on('mouseenter', circles, () => { if (shown()) map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', circles, () => { map.getCanvas().style.cursor = ''; });
  const to = localDay(latest(spec.collection));
  const days = spec.window.days || 30;
  windows[id] = { id, map, spec, sourceId, features: [], from: addDays(to, 1 - days), to, days, loaded: null, seq: 0,
    matched: null, note: null, state: null, pending: null, drawn: null };
  return [circles, counts];
}

/** The single points of a clustered source exclude the clusters. */
export const POINTS_ONLY = ['!', ['has', 'point_count']];

function cql(w) {
  const prop = w.spec.window.property;
  const at = (day) => `TIMESTAMP('${day}T00:00:00${zoneOffset(new Date(`${day}T12:00:00Z`))}')`;
  return `${prop} >= ${at(w.from)} AND ${prop} < ${at(addDays(w.to, 1))}`;
}

/** Loads the window's features (following `next` links up to `window.max`), then draws them. A load of
 * the same window already under way (the background load after the first view) is awaited, not repeated. */
export function loadWindow(id, layerState) {
  const w = windows[id];
  if (!w) return Promise.resolve();
  w.state = layerState;
  const key = `${w.from}/${w.to}`;
  if (w.loaded === key) { refilter(id); return Promise.resolve(); }
  if (w.pending?.key === key) return w.pending.promise;
  const promise = fetchWindow(w, key, ++w.seq).finally(() => { if (w.pending?.promise === promise) w.pending = null; });
  w.pending = { key, promise };
  return promise;
}

/** The default window loaded in the background once the first view is drawn, while the layer is off: its
 * points are then clustered by the worker ahead of the click, and switching the layer on costs two frames
 * (tiles asked, tiles drawn) instead of a download, an indexing and four frames (~1.3 s in software GL). */
export function prefetchWindow(id, layerState) {
  const w = windows[id];
  if (!w || w.loaded !== null || w.pending) return Promise.resolve();
  return loadWindow(id, layerState);
}

async function fetchWindow(w, key, mine) {
  const max = w.spec.window.max || 20000;
  const params = new URLSearchParams({ filter: cql(w), 'filter-lang': 'cql2-text', limit: String(Math.min(max, 10000)) });
  if (w.spec.window.properties) params.set('properties', w.spec.window.properties.join(','));
  setNote(w, '正在加载…');
  try {
    let doc = await getJSON(`/ogc/collections/${w.spec.collection}/items?${params}`);
    const features = [...(doc.features || [])];
    const matched = doc.numberMatched ?? features.length;
    while (features.length < Math.min(matched, max)) {
      const next = (doc.links || []).find((l) => l.rel === 'next');
      if (!next) break;
      const url = new URL(next.href, location.origin);
      doc = await getJSON(url.pathname + url.search);
      if (mine !== w.seq) return;
      features.push(...(doc.features || []));
    }
    if (mine !== w.seq) return;
    w.features = features.slice(0, max);
    w.matched = matched;
    w.loaded = key;
    refilter(w.id);
  } catch (error) {
    if (mine === w.seq) setNote(w, `加载失败：${explain(error)}`);
  }
}

/** Applies the legend's class switches to the loaded features (before clustering) and draws them; the
 * source is given data only when the window or the switches changed (a new setData re-indexes in the worker
 * and reloads every tile). */
export function refilter(id) {
  const w = windows[id];
  if (!w || w.loaded === null) return;
  const s = w.state;
  const classes = w.spec.classes;
  let shown = w.features;
  const switched = !!(s && classes && (s.off.size || s.offSub.size));
  if (switched) {
    shown = shown.filter((f) => {
      const p = f.properties || {};
      const v = String(p[classes.property]);
      return !s.off.has(v) && !(classes.sub && s.offSub.has(`${v}-${p[classes.sub.property]}`));
    });
  }
  const drawn = `${w.loaded}|${switched ? [...s.off].sort().join(',') : ''}|${switched ? [...s.offSub].sort().join(',') : ''}`;
  if (w.drawn !== drawn) {
    w.map.getSource(w.sourceId)?.setData({ type: 'FeatureCollection', features: shown });
    w.drawn = drawn;
  }
  w.shown = shown.length;
  const capped = w.features.length < w.matched ? `（仅加载最近的 ${w.features.length.toLocaleString('zh-CN')} 件，请缩短时间范围）` : '';
  const filtered = shown.length < w.features.length ? `，按类别筛选后显示 ${shown.length.toLocaleString('zh-CN')} 件` : '';
  setNote(w, `${w.from} 至 ${w.to} 共 ${w.matched.toLocaleString('zh-CN')} 件${filtered}${capped}`);
  window.citygrid.caseWindow = { ...(window.citygrid.caseWindow || {}),
    [id]: { from: w.from, to: w.to, matched: w.matched, loaded: w.features.length, shown: shown.length } };
}

function setNote(w, text) { if (w.note) w.note.textContent = text; }

/** The time control shown in the layer's card: presets or two dates; changes reload when visible. */
export function windowControl(id, layerState) {
  const w = windows[id];
  if (!w) return null;
  w.state = layerState;
  const preset = el('select', { 'aria-label': '时间范围', dataset: { window: id } },
    ...PRESETS.map(([d, t]) => el('option', { value: String(d), selected: d === w.days }, t)));
  const from = el('input', { type: 'date', value: w.from, 'aria-label': '开始日期', dataset: { windowFrom: id } });
  const to = el('input', { type: 'date', value: w.to, 'aria-label': '结束日期', dataset: { windowTo: id } });
  w.note = el('p', { class: 'note', dataset: { windowNote: id } }, layerState.visible || w.pending ? '' : '打开图层后加载');
  if (w.loaded !== null) refilter(id); // already loaded (in the background): the note says what
  const apply = () => {
    if (!from.value || !to.value) return;
    if (from.value > to.value) { setNote(w, '开始日期不能晚于结束日期'); return; }
    w.from = from.value;
    w.to = to.value;
    if (layerState.visible) loadWindow(id, layerState);
    else setNote(w, `${w.from} 至 ${w.to}：打开图层后加载`);
  };
  preset.addEventListener('change', () => {
    const days = Number(preset.value);
    if (!days) return;
    to.value = localDay(latest(w.spec.collection));
    from.value = addDays(to.value, 1 - days);
    apply();
  });
  for (const input of [from, to]) input.addEventListener('change', () => { preset.value = '0'; apply(); });
  return el('div', { class: 'time-window' },
    el('div', { class: 'row' }, el('span', {}, '时间'), preset),
    el('div', { class: 'row' }, from, el('span', {}, '至'), to), w.note);
}

/** Sets a windowed layer's range from elsewhere (scenes, tests): local days, inclusive. */
export function setWindow(id, from, to) {
  const w = windows[id];
  if (!w) return;
  w.from = from;
  w.to = to;
  const card = document.querySelector(`[data-window-from="${id}"]`);
  if (card) {
    card.value = from;
    document.querySelector(`[data-window-to="${id}"]`).value = to;
    document.querySelector(`[data-window="${id}"]`).value = '0';
  }
}
