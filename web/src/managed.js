// Helpers shared by the managed-layer panels (issue 16: 商铺门责, 渣土, 评价样本点位): the district's areas for
// pickers, a district layer switched from a panel in step with the layer tree, legends, and bounds.
import { collection, getJSON } from './api.js';
import { setVisible, state as layerState, styleDoc } from './layers.js';
import { dateTime, el } from './ui.js';
import './managed.css';

export const EMPTY = { type: 'FeatureCollection', features: [] };

let areasPromise = null;

/** Streets and communities of the district [{code, name, level}] (one request, shared by the panels). */
export function districtAreas() {
  if (!areasPromise) {
    areasPromise = collection('admin_areas')
      ? getJSON(`/ogc/collections/admin_areas/items?${new URLSearchParams({ limit: '2000', properties: 'name,level',
        filter: "level IN ('street','community')", 'filter-lang': 'cql2-text' })}`)
        .then((fc) => (fc.features || []).map((f) => ({ ...(f.properties || {}), code: String(f.id) }))
          .sort((a, b) => String(a.code).localeCompare(String(b.code))))
        .catch(() => [])
      : Promise.resolve([]);
  }
  return areasPromise;
}

/** Today's date (YYYY-MM-DD) in the district's time zone. */
export function districtToday() { return dateTime(new Date()).slice(0, 10); }

/** The start of the district's day `day` (YYYY-MM-DD, default today) as a Date (whatever the browser's zone). */
export function districtMidnight(day = districtToday()) {
  const now = new Date();
  const offset = Math.round((Date.parse(`${dateTime(now).replace(' ', 'T')}Z`) - now.getTime()) / 60000) * 60000;
  return new Date(Date.parse(`${day}T00:00:00Z`) - offset);
}

/** The class items (value, label, colour) of a layer of styles/layers.json, e.g. shop_state's 红/黄/绿. */
export function classItems(layerId) { return styleDoc()?.layers?.[layerId]?.classes?.items || []; }

/** A MapLibre colour expression over `property` from class items. */
export function colorMatch(property, items, other = '#868e96') {
  if (!items.length) return other;
  return ['match', ['to-string', ['get', property]], ...items.flatMap((i) => [i.value, i.color]), other];
}

/** A legend list: [{label, color, count?}] with round (circle) or square swatches. */
export function legend(items, shape = 'circle', id = null) {
  return el('ul', { class: 'legend managed-legend', id }, ...items.map((i) => el('li', { dataset: { value: i.value ?? '' } },
    Object.assign(el('span', { class: `swatch ${shape}` }), { style: `background:${i.color}` }),
    el('span', {}, i.label), i.count !== undefined ? el('span', { class: 'count' }, String(i.count)) : null)));
}

/** Switches a district layer (styles/layers.json id) from a panel, keeping the 图层 tree's box in step. */
export function showDistrictLayer(map, layerId, visible) {
  if (!layerState[layerId]?.available) return false;
  setVisible(map, layerId, visible);
  const box = document.querySelector(`#layer-tree input[data-layer="${layerId}"]`);
  if (box) box.checked = visible;
  document.querySelector(`#layer-tree .layer[data-layer="${layerId}"]`)?.classList.toggle('off', !visible);
  return true;
}

/** A checkbox bound to a district layer's visibility (reflects later changes made in the tree). */
export function layerToggle(map, layerId, text, id) {
  const box = el('input', { type: 'checkbox', id, checked: !!layerState[layerId]?.visible, disabled: !layerState[layerId]?.available });
  box.addEventListener('change', () => showDistrictLayer(map, layerId, box.checked));
  document.querySelector(`#layer-tree input[data-layer="${layerId}"]`)?.addEventListener('change', (e) => { box.checked = e.target.checked; });
  return el('label', { class: 'toggle' }, box, ` ${text}`, layerState[layerId]?.available ? null : el('span', { class: 'note warn' }, '（服务端暂未发布）'));
}

/** Fits the map to GeoJSON features (points or polygons). */
export function fitTo(map, features, maxZoom = 17) {
  const xs = [];
  const ys = [];
  const walk = (c) => { if (typeof c[0] === 'number') { xs.push(c[0]); ys.push(c[1]); } else c.forEach(walk); };
  for (const f of features) if (f.geometry) walk(f.geometry.coordinates);
  if (!xs.length) return;
  map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 60, maxZoom, duration: 0 });
}

/** Pointer cursor over clickable overlay layers. */
export function pointer(map, ...ids) {
  for (const id of ids) {
    map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
  }
}
