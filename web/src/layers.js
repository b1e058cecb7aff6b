// The district's own layers: MapLibre sources and layers built from styles/layers.json over the OGC
// collections (vector tiles where the collection offers them, GeoJSON items otherwise), and the layer
// tree with toggles, opacity, per-class (大类/小类, kind) filters and legends.
import { collection, getJSON, hasTiles } from './api.js';
import { POINTS_ONLY, addWindowedLayer, isWindowed, loadWindow, prefetchWindow, refilter, windowControl } from './caselayer.js';
import { addClusterLayers, clusterTileQuery, fadeClusters, filterClusters } from './tileclusters.js';
import { layerIds } from './stylequery.js';
import { el } from './ui.js';

const TILE_PATH = (id) => `/ogc/collections/${id}/tiles/WebMercatorQuad/{z}/{y}/{x}`;
const OPACITY_PROPS = {
  fill: ['fill-opacity'], line: ['line-opacity'], circle: ['circle-opacity', 'circle-stroke-opacity'],
  symbol: ['text-opacity', 'icon-opacity'], heatmap: ['heatmap-opacity'], raster: ['raster-opacity'],
};

/** Per-layer state: visibility, opacity, disabled class values and subclasses. */
export const state = {};
/** MapLibre layer ids drawn for each styles/layers.json layer id. */
export const mapLayerIds = {};
let styles = null;
let categories = {};

export function styleDoc() { return styles; }

function classColor(spec) {
  const classes = spec.classes;
  if (!classes) return '#888';
  const expr = ['match', ['to-string', ['get', classes.property]]];
  for (const item of classes.items) expr.push(item.value, item.color);
  expr.push(classes.other ? classes.other.color : '#888');
  return expr;
}

function substitute(value, spec) {
  if (value === '$class_color') return classColor(spec);
  if (Array.isArray(value)) return value.map((v) => substitute(v, spec));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, spec)]));
  }
  return value;
}

function sourceId(collectionId) { return `src:${collectionId}`; }

/** Adds the sources and layers for every styled layer whose collection the server publishes. */
export async function addDistrictLayers(map, doc, cats) {
  styles = doc;
  categories = cats || {};
  const added = new Set();
  for (const [id, spec] of Object.entries(doc.layers)) {
    const cid = spec.collection;
    state[id] = {
      visible: !!spec.visible, opacity: spec.opacity ?? 1, off: new Set(), offSub: new Set(),
      available: !!collection(cid), tiled: hasTiles(cid),
    };
    if (!state[id].available) continue;
    mapLayerIds[id] = [];
    const windowed = isWindowed(spec);
    if (windowed) {
      // dated points drawn for a time window and clustered (caselayer.js), never the whole table
      state[id].tiled = false;
      mapLayerIds[id].push(...addWindowedLayer(map, id, spec, sourceId(cid), doc.font, beforeId(map)));
      added.add(cid);
    }
    const addSource = (c, tiled) => {
      if (added.has(c)) return;
      if (tiled) {
        map.addSource(sourceId(c), {
          type: 'vector', tiles: [`${location.origin}${TILE_PATH(c)}${c === cid ? clusterTileQuery(spec) : ''}`],
          minzoom: 0, maxzoom: 16,
          promoteId: spec.promote_id || undefined,
        });
      } else {
        map.addSource(sourceId(c), { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
        loadItems(map, c);
      }
      added.add(c);
    };
    addSource(cid, state[id].tiled);
    spec.draw.forEach((draw, index) => {
      // a draw may come from a second collection of the same rows (cw_sites' areas under its points); it is
      // switched, filtered by class and faded with its layer, and drawn only where the server publishes it
      const from = draw.collection || cid;
      if (draw.collection) {
        if (!collection(from)) return;
        addSource(from, hasTiles(from));
      }
      const layerId = `${id}:${draw.id || index}`;
      const layer = {
        id: layerId, type: draw.type, source: sourceId(from),
        layout: { ...(substitute(draw.layout || {}, spec)), visibility: spec.visible ? 'visible' : 'none' },
        // drawn at the layer's opacity from the start: set afterwards, it would start a paint transition,
        // and a transition keeps painting frames (0.1–0.5 s each in software GL) after everything has loaded
        paint: { ...substitute(draw.paint || {}, spec), ...opacityPaint(draw, spec.opacity ?? 1) },
      };
      if (draw.type === 'symbol') layer.layout['text-font'] = doc.font;
      if (draw.collection ? hasTiles(from) : state[id].tiled) layer['source-layer'] = draw.collection || spec.source_layer || cid;
      if (spec.minzoom !== undefined) layer.minzoom = spec.minzoom;
      // a clustered layer's points start where its clusters end
      if (spec.cluster_below && !draw.collection && state[id].tiled) layer.minzoom = Math.max(layer.minzoom || 0, spec.cluster_below);
      if (draw.filter) layer.filter = draw.filter;
      if (windowed) layer.filter = draw.filter ? ['all', POINTS_ONLY, draw.filter] : POINTS_ONLY;
      // single points lie under their layer's cluster circles
      map.addLayer(layer, windowed ? mapLayerIds[id][0] : beforeId(map));
      mapLayerIds[id].push(layerId);
    });
    if (spec.cluster_below && state[id].tiled) {
      mapLayerIds[id].push(...addClusterLayers(map, id, spec, { source: sourceId(cid), sourceLayer: spec.source_layer || cid,
        font: doc.font, before: beforeId(map), visible: !!spec.visible, opacity: state[id].opacity }));
    }
    applyOpacity(map, id);
    if (windowed && spec.visible) loadWindow(id, state[id]);
    else if (windowed) map.once('idle', () => prefetchWindow(id, state[id]).then(() => showLayers(map, id, true)));
  }
}

/** Overlays (fences, heat, live vehicles …) stay above the district layers: insert below the first one. */
function beforeId(map) {
  return layerIds(map).find((id) => id.startsWith('overlay:'));
}

async function loadItems(map, cid) {
  try {
    const doc = await getJSON(`/ogc/collections/${cid}/items?limit=10000`);
    map.getSource(sourceId(cid))?.setData(doc);
  } catch {
    // the layer stays empty; the tree marks it when the collection is missing altogether
  }
}

/** A draw's opacity properties at `factor` times the style's (those the style gives as a number or not at all). */
function opacityPaint(draw, factor) {
  const paint = {};
  for (const prop of OPACITY_PROPS[draw.type] || []) {
    const base = (draw.paint || {})[prop];
    if (typeof base === 'number' || base === undefined) paint[prop] = (base ?? 1) * factor;
  }
  return paint;
}

/** Sets a layer's paint to its opacity; a windowed layer switched off is drawn at opacity 0 (see setVisible). */
export function applyOpacity(map, id) {
  const spec = styles.layers[id];
  const factor = isWindowed(spec) && !state[id].visible ? 0 : state[id].opacity;
  for (const [index, draw] of spec.draw.entries()) {
    const layerId = `${id}:${draw.id || index}`;
    if (!map.getLayer(layerId)) continue;
    for (const [prop, value] of Object.entries(opacityPaint(draw, factor))) map.setPaintProperty(layerId, prop, value);
  }
  fadeClusters(map, id, factor);
}

function showLayers(map, id, shown) {
  for (const layerId of mapLayerIds[id] || []) map.setLayoutProperty(layerId, 'visibility', shown ? 'visible' : 'none');
}

/** Switches a layer. A windowed layer (案件) is shown once its window's data is set, not before (shown empty
 * it cost a frame that held up the handling of the answer). Once loaded it is switched by opacity, not by
 * visibility: MapLibre skips drawing a layer at opacity 0, while a visibility change re-lays out every tile
 * of the source — four frames (0.15–0.4 s each in software GL) against one. Off, its features are not
 * identified (`visibleLayerIds`) and its clusters take no clicks (caselayer.js). */
export function setVisible(map, id, visible) {
  state[id].visible = visible;
  if (!isWindowed(styles.layers[id])) { showLayers(map, id, visible); return; }
  if (!visible) { applyOpacity(map, id); return; }
  loadWindow(id, state[id]).finally(() => {
    if (!state[id].visible) return;
    showLayers(map, id, true);
    applyOpacity(map, id);
  });
}

function applyFilter(map, id) {
  const spec = styles.layers[id];
  const classes = spec.classes;
  const s = state[id];
  if (isWindowed(spec)) { refilter(id); return; } // filtered before clustering, so counts match
  const parts = ['all'];
  if (classes && s.off.size) parts.push(['!', ['in', ['to-string', ['get', classes.property]], ['literal', [...s.off]]]]);
  if (classes?.sub && s.offSub.size) {
    parts.push(['!', ['in', ['concat', ['to-string', ['get', classes.property]], '-', ['to-string', ['get', classes.sub.property]]],
      ['literal', [...s.offSub]]]]);
  }
  for (const [index, draw] of spec.draw.entries()) {
    const layerId = `${id}:${draw.id || index}`;
    if (!map.getLayer(layerId)) continue;
    const own = draw.filter ? [draw.filter] : [];
    const all = parts.length > 1 || own.length ? ['all', ...parts.slice(1), ...own] : null;
    map.setFilter(layerId, all);
  }
  if (spec.cluster_below) filterClusters(map, id, s.off, s.offSub);
}

function swatch(color, shape, stroke) {
  const node = el('span', { class: `swatch ${shape || 'fill'}` });
  node.style.background = color;
  if (stroke) node.style.boxShadow = `0 0 0 1px ${stroke}`;
  return node;
}

function legendFor(map, id, spec) {
  const list = el('ul', { class: 'legend' });
  const s = state[id];
  if (spec.classes) {
    const shape = spec.legend_shape || 'fill';
    const subs = spec.classes.sub ? (categories[spec.classes.sub.categories] || []) : [];
    for (const item of spec.classes.items) {
      const box = el('input', { type: 'checkbox', checked: !s.off.has(item.value), 'aria-label': item.label });
      const row = el('li', { dataset: { value: item.value } }, box, swatch(item.color, shape), el('span', {}, item.label));
      box.addEventListener('change', () => {
        if (box.checked) s.off.delete(item.value); else s.off.add(item.value);
        row.classList.toggle('off', !box.checked);
        applyFilter(map, id);
      });
      const mine = subs.filter((c) => c.major === item.value);
      if (mine.length) {
        const subList = el('ul', { class: 'subs', hidden: true });
        for (const c of mine) {
          const key = `${c.major}-${c.minor}`;
          const subBox = el('input', { type: 'checkbox', checked: true, 'aria-label': c.name });
          const subRow = el('li', {}, subBox, el('span', { class: 'code' }, c.minor), el('span', {}, c.name));
          subBox.addEventListener('change', () => {
            if (subBox.checked) s.offSub.delete(key); else s.offSub.add(key);
            subRow.classList.toggle('off', !subBox.checked);
            applyFilter(map, id);
          });
          subList.append(subRow);
        }
        const toggle = el('button', { class: 'sub-toggle', title: '小类', type: 'button' }, `小类 ${mine.length} ▾`);
        toggle.addEventListener('click', () => { subList.hidden = !subList.hidden; });
        row.append(toggle);
        list.append(row, subList);
      } else {
        list.append(row);
      }
    }
  }
  if (spec.cluster_below && state[id].tiled) {
    list.append(el('li', { class: 'cluster-legend' }, swatch(spec.cluster_color || '#3b5bdb', 'circle'),
      el('span', {}, `聚合（${spec.cluster_below} 级以下；数字为所选类别的个数，点击放大）`)));
  }
  for (const item of spec.legend || []) list.append(el('li', {}, swatch(item.color, item.shape, item.stroke), el('span', {}, item.label)));
  return list;
}

/** The layer tree in the 图层 tab. */
export function buildTree(map, container) {
  container.replaceChildren();
  for (const group of styles.groups) {
    const node = el('div', { class: 'group' }, el('div', { class: 'group-title' }, group.title));
    for (const id of group.layers) {
      const spec = styles.layers[id];
      if (!spec) continue;
      const s = state[id];
      const box = el('input', { type: 'checkbox', checked: s.visible, disabled: !s.available, dataset: { layer: id } });
      const card = el('div', { class: `layer collapsed${s.visible ? '' : ' off'}${s.available ? '' : ' unavailable'}`, dataset: { layer: id } });
      const expand = el('button', { class: 'expand', type: 'button', 'aria-label': '展开图例' }, '▸');
      const head = el('div', { class: 'layer-head' }, el('label', {}, box, el('span', {}, spec.title)), expand);
      const opacity = el('input', { type: 'range', min: 0, max: 100, value: Math.round(s.opacity * 100), 'aria-label': `${spec.title}透明度` });
      const body = el('div', { class: 'layer-body' },
        s.available ? null : el('p', { class: 'note warn' }, '服务端暂未发布此图层'),
        isWindowed(spec) && s.available ? windowControl(id, s) : null,
        el('div', { class: 'opacity' }, el('span', {}, '不透明度'), opacity),
        legendFor(map, id, spec));
      box.addEventListener('change', () => {
        setVisible(map, id, box.checked);
        card.classList.toggle('off', !box.checked);
      });
      opacity.addEventListener('input', () => { s.opacity = opacity.value / 100; applyOpacity(map, id); });
      expand.addEventListener('click', () => {
        card.classList.toggle('collapsed');
        expand.textContent = card.classList.contains('collapsed') ? '▸' : '▾';
      });
      card.append(head, body);
      node.append(card);
    }
    container.append(node);
  }
}

/** All MapLibre layer ids of visible district layers (for click identification). */
export function visibleLayerIds() {
  return Object.entries(mapLayerIds).filter(([id]) => state[id]?.visible).flatMap(([, ids]) => ids)
    .filter((lid) => !lid.startsWith('street_labels'));
}
