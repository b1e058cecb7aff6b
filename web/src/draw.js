// Drawing and editing on the map: one session at a time draws a line, a polygon or ordered points;
// click adds a vertex, dragging a vertex moves it (mouse or touch), 完成 / Enter / double-click ends,
// 撤销 removes the last vertex, 取消 / Esc abandons. Callers get the geometry on every change (for a
// live preview such as a corridor buffer and its length) and when the session ends.
import { $ } from './ui.js';

let active = null;

/** Whether a drawing session owns map clicks now (click identification stays quiet meanwhile). */
export function drawing() { return active !== null; }

const SRC = 'overlay:draw';
const PREVIEW = 'overlay:draw-preview';

function ensureLayers(map) {
  if (map.getSource(SRC)) return;
  const empty = { type: 'FeatureCollection', features: [] };
  map.addSource(PREVIEW, { type: 'geojson', data: empty });
  map.addSource(SRC, { type: 'geojson', data: empty });
  map.addLayer({ id: 'overlay:draw-preview-fill', type: 'fill', source: PREVIEW, filter: ['==', ['geometry-type'], 'Polygon'],
    paint: { 'fill-color': '#f59f00', 'fill-opacity': 0.22 } });
  map.addLayer({ id: 'overlay:draw-preview-line', type: 'line', source: PREVIEW,
    paint: { 'line-color': '#e67700', 'line-width': 1.5, 'line-dasharray': [2, 1.5] } });
  map.addLayer({ id: 'overlay:draw-fill', type: 'fill', source: SRC, filter: ['==', ['geometry-type'], 'Polygon'],
    paint: { 'fill-color': '#1c7ed6', 'fill-opacity': 0.15 } });
  map.addLayer({ id: 'overlay:draw-line', type: 'line', source: SRC, filter: ['!=', ['geometry-type'], 'Point'],
    paint: { 'line-color': '#1864ab', 'line-width': 2.5 } });
  map.addLayer({ id: 'overlay:draw-vertex', type: 'circle', source: SRC, filter: ['==', ['geometry-type'], 'Point'],
    paint: { 'circle-radius': ['case', ['==', ['get', 'role'], 'stop'], 7, 5.5], 'circle-color': '#fff',
      'circle-stroke-color': '#1864ab', 'circle-stroke-width': 2.5 } });
  map.addLayer({ id: 'overlay:draw-vertex-label', type: 'symbol', source: SRC,
    filter: ['all', ['==', ['geometry-type'], 'Point'], ['==', ['get', 'role'], 'stop']],
    layout: { 'text-field': ['to-string', ['get', 'n']], 'text-size': 11, 'text-font': ['sans-serif'], 'text-allow-overlap': true },
    paint: { 'text-color': '#1864ab' } });
}

export class DrawSession {
  /**
   * @param map MapLibre map
   * @param options {mode: 'line'|'polygon'|'points', label, coords?: initial [[lon,lat]…],
   *                 describe(geometry) → text, preview(geometry) → GeoJSON or null, onFinish(geometry), onCancel()}
   */
  constructor(map, options) {
    if (active) active.cancel();
    this.map = map;
    this.options = options;
    this.mode = options.mode;
    this.coords = (options.coords || []).map((c) => [c[0], c[1]]);
    this.dragIndex = -1;
    ensureLayers(map);
    active = this;
    // on a phone the sidebar covers the map: drawing starts with it out of the way
    if (window.matchMedia('(max-width: 720px)').matches) {
      document.body.classList.add('side-hidden');
      setTimeout(() => map.resize(), 220);
    }
    this.handlers = {
      click: (e) => this.onClick(e),
      dblclick: (e) => { e.preventDefault(); this.finish(); },
      down: (e) => this.onDown(e),
      move: (e) => this.onMove(e),
      up: () => this.onUp(),
      key: (e) => {
        if (e.key === 'Escape') this.cancel();
        else if (e.key === 'Enter' && document.activeElement?.tagName !== 'INPUT') this.finish();
        else if ((e.key === 'z' && (e.ctrlKey || e.metaKey)) || e.key === 'Backspace') this.undo();
      },
    };
    map.doubleClickZoom.disable();
    map.getCanvas().style.cursor = 'crosshair';
    map.on('click', this.handlers.click);
    map.on('dblclick', this.handlers.dblclick);
    map.on('mousedown', 'overlay:draw-vertex', this.handlers.down);
    map.on('touchstart', 'overlay:draw-vertex', this.handlers.down);
    document.addEventListener('keydown', this.handlers.key);
    const bar = $('#drawbar');
    bar.hidden = false;
    $('#drawbar-finish').onclick = () => this.finish();
    $('#drawbar-cancel').onclick = () => this.cancel();
    $('#drawbar-undo').onclick = () => this.undo();
    this.render();
  }

  geometry() {
    const c = this.coords;
    if (this.mode === 'polygon') {
      return c.length >= 3 ? { type: 'Polygon', coordinates: [[...c, c[0]]] } : null;
    }
    if (this.mode === 'line') return c.length >= 2 ? { type: 'LineString', coordinates: c } : null;
    return c.length ? { type: 'MultiPoint', coordinates: c } : null;
  }

  minimum() { return this.mode === 'polygon' ? 3 : this.mode === 'line' ? 2 : 2; }

  render() {
    const features = this.coords.map((c, i) => ({ type: 'Feature', properties: { i, n: i + 1, role: this.mode === 'points' ? 'stop' : 'vertex' },
      geometry: { type: 'Point', coordinates: c } }));
    const c = this.coords;
    if (this.mode === 'polygon' && c.length >= 2) {
      const ring = c.length >= 3 ? [[...c, c[0]]] : null;
      features.unshift(ring ? { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: ring } }
        : { type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: c } });
    } else if (c.length >= 2) {
      features.unshift({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: c } });
    }
    this.map.getSource(SRC).setData({ type: 'FeatureCollection', features });
    const geometry = this.geometry();
    const preview = geometry && this.options.preview ? this.options.preview(geometry) : null;
    this.map.getSource(PREVIEW).setData(preview || { type: 'FeatureCollection', features: [] });
    const hint = this.coords.length < this.minimum() ? `单击地图添加${this.mode === 'points' ? '站点' : '节点'}` : '拖动节点可修改；完成后保存';
    const text = geometry && this.options.describe ? this.options.describe(geometry) : hint;
    $('#drawbar-text').textContent = `${this.options.label}：${text}`;
    $('#drawbar-finish').disabled = this.coords.length < this.minimum();
  }

  onClick(e) {
    if (this.dragIndex >= 0 || this.justDragged) return;
    const hit = this.map.queryRenderedFeatures(e.point, { layers: ['overlay:draw-vertex'] });
    if (hit.length) return;
    this.coords.push([e.lngLat.lng, e.lngLat.lat]);
    this.render();
  }

  onDown(e) {
    if (!e.features?.length) return;
    e.preventDefault();
    this.dragIndex = e.features[0].properties.i;
    this.map.dragPan.disable();
    this.map.on('mousemove', this.handlers.move);
    this.map.on('touchmove', this.handlers.move);
    this.map.once('mouseup', this.handlers.up);
    this.map.once('touchend', this.handlers.up);
  }

  onMove(e) {
    if (this.dragIndex < 0) return;
    this.coords[this.dragIndex] = [e.lngLat.lng, e.lngLat.lat];
    this.render();
  }

  onUp() {
    if (this.dragIndex < 0) return;
    this.dragIndex = -1;
    this.justDragged = true;
    setTimeout(() => { this.justDragged = false; }, 50);
    this.map.off('mousemove', this.handlers.move);
    this.map.off('touchmove', this.handlers.move);
    this.map.dragPan.enable();
    this.render();
  }

  undo() {
    this.coords.pop();
    this.render();
  }

  /** Drops consecutive vertices closer than 3 px (a double-click adds two). */
  dedupe() {
    const out = [];
    for (const c of this.coords) {
      const last = out[out.length - 1];
      if (last) {
        const a = this.map.project(last);
        const b = this.map.project(c);
        if (Math.hypot(a.x - b.x, a.y - b.y) < 3) continue;
      }
      out.push(c);
    }
    this.coords = out;
  }

  finish() {
    this.dedupe();
    const geometry = this.coords.length >= this.minimum() ? this.geometry() : null;
    if (!geometry) { this.render(); return; }
    this.close();
    this.options.onFinish?.(geometry);
  }

  cancel() {
    this.close();
    this.options.onCancel?.();
  }

  close() {
    const map = this.map;
    map.off('click', this.handlers.click);
    map.off('dblclick', this.handlers.dblclick);
    map.off('mousedown', 'overlay:draw-vertex', this.handlers.down);
    map.off('touchstart', 'overlay:draw-vertex', this.handlers.down);
    map.off('mousemove', this.handlers.move);
    map.off('touchmove', this.handlers.move);
    document.removeEventListener('keydown', this.handlers.key);
    map.getCanvas().style.cursor = '';
    setTimeout(() => map.doubleClickZoom.enable(), 300);
    map.dragPan.enable();
    const empty = { type: 'FeatureCollection', features: [] };
    map.getSource(SRC).setData(empty);
    map.getSource(PREVIEW).setData(empty);
    $('#drawbar').hidden = true;
    if (active === this) active = null;
  }
}
