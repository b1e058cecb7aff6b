// 批量地址 → 保存为图层: the placed rows of the last upload kept under a name (POST /api/geocode/layers,
// published as the OGC collection `geocoded_points`, `?layer=<name>`), and the saved layers listed with
// 显示/隐藏 (drawn from OGC like any other layer, coloured by match level) and 删除.
import { explain, getJSON, has, send } from './api.js';
import { el, onFirstOpen, toast } from './ui.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const LIMIT = 10000;

export function geocodedLayers({ map, levelColors, levelName, placed }) {
  map.addSource('overlay:geocoded', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'overlay:geocoded', type: 'circle', source: 'overlay:geocoded',
    paint: { 'circle-color': ['coalesce', ['get', '_color'], '#868e96'], 'circle-radius': 5.5, 'circle-stroke-color': '#212529', 'circle-stroke-width': 1.2 } });
  map.addLayer({ id: 'overlay:geocoded-label', type: 'symbol', source: 'overlay:geocoded', minzoom: 15,
    layout: { 'text-field': ['get', 'standard_address'], 'text-size': 11, 'text-offset': [0, 1.2], 'text-font': ['sans-serif'] },
    paint: { 'text-color': '#343a40', 'text-halo-color': '#fff', 'text-halo-width': 1.4 } });
  const can = has('/api/geocode/layers');
  const name = el('input', { type: 'text', id: 'batch-layer-name', placeholder: '图层名称，如：11月整改地址' });
  const saveButton = el('button', { type: 'button', id: 'batch-save', disabled: true }, '保存为图层');
  const list = el('ul', { class: 'list', id: 'batch-layers' });
  const shown = new Map(); // name → features

  function redraw() {
    map.getSource('overlay:geocoded').setData({ type: 'FeatureCollection', features: [...shown.values()].flat() });
    window.citygrid.geocodedShown = Object.fromEntries([...shown].map(([k, v]) => [k, v.length]));
  }

  async function show(layer, on) {
    if (!on) { shown.delete(layer); redraw(); return; }
    const doc = await getJSON(`/ogc/collections/geocoded_points/items?${new URLSearchParams({ layer, limit: String(LIMIT) })}`);
    shown.set(layer, (doc.features || []).map((f) => ({ ...f, properties: { ...f.properties, _color: levelColors[f.properties?.match_level] || '#868e96' } })));
    redraw();
    const xs = shown.get(layer).map((f) => f.geometry.coordinates[0]);
    const ys = shown.get(layer).map((f) => f.geometry.coordinates[1]);
    if (xs.length) map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 80, maxZoom: 17, duration: 0 });
  }

  async function refresh() {
    if (!can) return;
    try {
      const layers = (await getJSON('/api/geocode/layers')).layers || [];
      list.replaceChildren(...layers.map((l) => {
        const box = el('input', { type: 'checkbox', checked: shown.has(l.name), 'aria-label': `显示 ${l.name}` });
        box.addEventListener('change', () => show(l.name, box.checked).catch((error) => toast(explain(error), 'error')));
        const levels = Object.entries(l.levels || {}).map(([k, n]) => `${levelName(k) || '未知'} ${n}`).join('，');
        return el('li', { dataset: { layer: l.name } },
          el('label', { class: 'title' }, box, ` ${l.name}`), el('div', { class: 'meta' }, `${l.points} 个点 · ${levels}`),
          el('div', { class: 'actions' }, el('button', { type: 'button', class: 'danger', onclick: async () => {
            if (!window.confirm(`删除图层“${l.name}”？`)) return;
            try {
              await send('DELETE', `/api/geocode/layers/${encodeURIComponent(l.name)}`, undefined, { role: 'inspector' });
              shown.delete(l.name);
              redraw();
            } catch (error) { toast(`删除失败：${explain(error)}`, 'error'); }
            refresh();
          } }, '删除')));
      }));
      window.citygrid.geocodedLayers = layers.map((l) => ({ name: l.name, points: l.points }));
    } catch (error) {
      list.replaceChildren(el('li', { class: 'note warn' }, `图层列表加载失败：${explain(error)}`));
    }
  }

  saveButton.addEventListener('click', async () => {
    const rows = placed();
    const layer = name.value.trim();
    if (!layer) { toast('请先填写图层名称', 'error'); name.focus(); return; }
    const points = rows.map((f, i) => ({ row: Number.isInteger(Number(f.properties?.id ?? f.id)) ? Number(f.properties?.id ?? f.id) : i, query: f.properties?.query ?? null,
      standard_address: f.properties?.standard_address ?? null, match_level: f.properties?.match_level ?? null,
      confidence: f.properties?.confidence ?? null, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] }));
    try {
      const saved = await send('POST', '/api/geocode/layers', { name: layer, points }, { role: 'inspector' });
      toast(`已保存图层“${saved.name}”（${saved.points} 个点），可在 OGC 服务 geocoded_points 中按名称获取`, 'ok', 6000);
      await refresh();
      await show(saved.name, true);
      list.querySelector(`li[data-layer="${CSS.escape(saved.name)}"] input`)?.setAttribute('checked', '');
    } catch (error) {
      toast(`保存失败：${explain(error)}`, 'error', 8000);
    }
  });

  onFirstOpen('work', refresh);
  return {
    element: el('div', { class: 'saved-layers' },
      el('div', { class: 'row' }, el('label', { for: 'batch-layer-name' }, '图层名称'), name),
      el('div', { class: 'buttons' }, saveButton), el('h4', {}, '已保存的地址图层'), list),
    ready: (n) => { saveButton.disabled = !can || !n; },
  };
}
