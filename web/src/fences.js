// Fences and routes (电子围栏与路线): draw an area / forbidden polygon, a corridor line with a buffer
// width, or ordered stops; preview the corridor and its length; save with a planner key; list, edit by
// dragging, delete.

import { collection, explain, getJSON, has, pathLike, send } from './api.js';
import { FILLED_AT_START } from './overlays.js';
import { DrawSession } from './draw.js';
import { lineLength, polygonArea } from './measure.js';
import { freeName, routePanel } from './routes.js';
import { $, dateTime, el, metres, onFirstOpen, squareMetres, toast } from './ui.js';

const SRC = 'overlay:fences';
const KIND_COLORS = { area: '#1c7ed6', forbidden: '#e03131', corridor: '#f08c00', stop: '#2f9e44' };

// @turf/buffer (with its geometry library, ~300 kB) is fetched after the map's first idle: until it is
// there a corridor preview is just the line (the server draws saved corridors' zones itself). Imported
// as the module was evaluated, its chunk was compiled and run in the middle of the page's start-up
// (0.1–0.2 s of main thread before the first tile was asked for; bench/bench_web.py --profile).
let buffer = null;
function loadBuffer() {
  import('@turf/buffer').then((m) => { buffer = m.default; }).catch(() => {});
}

function corridor(line, widthM) {
  if (!(widthM > 0) || !buffer) return null;
  return buffer({ type: 'Feature', properties: {}, geometry: line }, widthM, { units: 'meters', steps: 6 });
}

function kindColor() {
  const expr = ['match', ['get', 'kind']];
  for (const [k, c] of Object.entries(KIND_COLORS)) expr.push(k, c);
  expr.push('#868e96');
  return expr;
}

function ensureLayers(map) {
  if (map.getSource(SRC)) return;
  map.addSource(SRC, { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, promoteId: 'id' });
  map.addLayer({ id: 'overlay:fences-fill', type: 'fill', source: SRC, filter: ['==', ['geometry-type'], 'Polygon'],
    paint: { 'fill-color': kindColor(), 'fill-opacity': ['case', ['==', ['get', 'kind'], 'forbidden'], 0.25, 0.14] } });
  map.addLayer({ id: 'overlay:fences-line', type: 'line', source: SRC,
    paint: { 'line-color': kindColor(), 'line-width': 2, 'line-dasharray': [3, 1.5] } });
  map.addLayer({ id: 'overlay:fences-point', type: 'circle', source: SRC, filter: ['==', ['geometry-type'], 'Point'],
    paint: { 'circle-color': kindColor(), 'circle-radius': 5, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
}

/** The features to draw for one fence: its effective zone when the server gives one, and the drawn shape. */
function shapes(fence) {
  const p = { ...(fence.properties || {}), id: fence.id ?? fence.properties?.id };
  const out = [];
  const zone = p.zone || fence.zone;
  if (zone) out.push({ type: 'Feature', properties: { ...p, zone: undefined, part: 'zone' }, geometry: zone });
  if (fence.geometry) out.push({ type: 'Feature', properties: { ...p, zone: undefined, part: 'drawn' }, geometry: fence.geometry });
  if (!zone && fence.geometry?.type === 'LineString' && p.buffer_m) {
    const b = corridor(fence.geometry, p.buffer_m);
    if (b) out.push({ ...b, properties: { ...p, zone: undefined, part: 'zone' } });
  }
  return out;
}

const collectionExists = () => !!collection('fences');

function bounds(geometry) {
  const pts = [];
  const walk = (c) => { if (typeof c[0] === 'number') pts.push(c); else c.forEach(walk); };
  walk(geometry.coordinates);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return [[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]];
}

export function initFences({ map, labels }) {
  map.once('idle', loadBuffer);
  const tab = $('#tab-fences');
  const kindName = (k) => (labels.fence_kind || {})[k] || k;
  const canSave = has('/api/fences');
  const canRoute = has('/api/routes');
  const itemPath = pathLike('/api/fences/{}');
  const listPath = has('/api/fences') && (pathLike('/api/fences') ? '/api/fences' : null);
  let fences = [];

  const name = el('input', { type: 'text', id: 'fence-name', placeholder: '如：宝山环卫一号线走廊' });
  const kind = el('select', { id: 'fence-kind' },
    ...['area', 'forbidden'].map((k) => el('option', { value: k }, kindName(k))));
  const width = el('input', { type: 'number', id: 'fence-buffer', min: 1, max: 2000, step: 1, value: 30 });
  const speed = el('input', { type: 'number', id: 'fence-speed', min: 0, max: 200, step: 1, placeholder: '可选' });
  const vehicles = el('input', { type: 'text', id: 'fence-vehicles', placeholder: '车辆编号，逗号分隔（可选）' });
  const list = el('ul', { class: 'list', id: 'fence-list' });
  const status = el('p', { class: 'note' });

  const drawPolygon = el('button', { type: 'button', id: 'draw-polygon' }, '绘制区域围栏');
  const drawLine = el('button', { type: 'button', id: 'draw-corridor' }, '绘制路线走廊');
  const drawStops = el('button', { type: 'button', id: 'draw-stops', disabled: !canRoute }, '按站点生成路线');
  tab.append(el('div', {},
    el('h3', {}, '新建围栏 / 路线'),
    canSave ? null : el('p', { class: 'note warn' }, '围栏服务暂不可用：可绘制和预览，暂不能保存'),
    el('div', { class: 'row' }, el('label', { for: 'fence-name' }, '名称'), name),
    el('div', { class: 'row' }, el('label', { for: 'fence-kind' }, '区域类型'), kind),
    el('div', { class: 'row' }, el('label', { for: 'fence-buffer' }, '走廊宽度(米)'), width),
    el('div', { class: 'row' }, el('label', { for: 'fence-speed' }, '限速 km/h'), speed),
    el('div', { class: 'row' }, el('label', { for: 'fence-vehicles' }, '适用车辆'), vehicles),
    el('div', { class: 'buttons' }, drawPolygon, drawLine, drawStops),
    el('p', { class: 'note' }, '单击地图添加节点，拖动节点修改，“完成”或回车结束。保存需要规划员密钥。'),
    el('h3', {}, '已有围栏'), status, list));

  ensureLayers(map);
  const routesPanel = routePanel({ map, fences: () => fences, changed: () => refresh() });
  tab.append(routesPanel.element);
  const routeName = (id) => routesPanel.routes().find((r) => r.id === id)?.name;

  function properties(kindValue, extra = {}) {
    const props = { name: name.value.trim() || `${kindName(kindValue)} ${dateTime(new Date())}`, kind: kindValue, ...extra };
    if (speed.value) props.speed_limit_kmh = Number(speed.value);
    const v = vehicles.value.split(/[,，\s]+/).filter(Boolean);
    if (v.length) props.vehicles = v;
    return props;
  }

  async function save(feature) {
    if (!canSave) { toast('围栏服务暂不可用，无法保存', 'error'); return null; }
    // names tell fences apart in lists and alarms: a taken name gets （2）, （3）… (the server refuses duplicates)
    const wanted = feature.properties.name;
    feature.properties.name = freeName(wanted, fences.filter((f) => f.properties?.kind !== 'stop').map((f) => f.properties?.name));
    if (feature.properties.name !== wanted) toast(`名称“${wanted}”已被其他围栏使用，改存为“${feature.properties.name}”`, 'info', 6000);
    try {
      const saved = await send('POST', '/api/fences', feature, { role: 'planner' });
      const id = saved?.id ?? saved?.properties?.id;
      toast(`已保存围栏“${feature.properties.name}”（编号 ${id}）`, 'ok');
      window.citygrid.lastFence = saved;
      await refresh();
      return saved;
    } catch (error) {
      toast(`保存失败：${explain(error)}`, 'error', 8000);
      return null;
    }
  }

  const describeLine = (g) => `长度 ${metres(lineLength(g))}，走廊宽 ${width.value} 米${g.coordinates.length ? '' : ''}`;

  /** A drawing whose save failed (key dialog cancelled, refused) is given back to be finished again. */
  function keep(options) {
    return { ...options, onFinish: async (geometry) => {
      if (await options.save(geometry)) return;
      const coords = geometry.type === 'Polygon' ? geometry.coordinates[0].slice(0, -1) : geometry.coordinates;
      new DrawSession(map, { ...keep(options), coords });
      toast('图形已保留：设置密钥后可再次点击“完成”保存', 'info', 6000);
    } };
  }
  drawPolygon.addEventListener('click', () => new DrawSession(map, keep({
    mode: 'polygon', label: kindName(kind.value),
    describe: (g) => `面积 ${squareMetres(polygonArea(g))}`,
    save: (geometry) => save({ type: 'Feature', geometry, properties: properties(kind.value) }),
  })));
  drawLine.addEventListener('click', () => new DrawSession(map, keep({
    mode: 'line', label: '路线走廊', describe: describeLine,
    preview: (g) => corridor(g, Number(width.value)),
    save: (geometry) => save({ type: 'Feature', geometry, properties: properties('corridor', { buffer_m: Number(width.value) }) }),
  })));
  drawStops.addEventListener('click', () => new DrawSession(map, keep({
    mode: 'points', label: '路线站点',
    describe: (g) => `${g.coordinates.length} 个站点，直线长度 ${g.coordinates.length > 1 ? metres(lineLength({ type: 'LineString', coordinates: g.coordinates })) : '—'}`,
    preview: (g) => (g.coordinates.length > 1 ? corridor({ type: 'LineString', coordinates: g.coordinates }, Number(width.value)) : null),
    save: async (geometry) => {
      const wanted = name.value.trim() || `路线 ${dateTime(new Date())}`;
      const body = {
        name: freeName(wanted, routesPanel.routes().map((r) => r.name)),
        stops: geometry.coordinates.map(([lon, lat], i) => ({ name: `站点${i + 1}`, lon, lat })),
        buffer_m: Number(width.value),
      };
      if (speed.value) body.speed_limit_kmh = Number(speed.value);
      try {
        const saved = await send('POST', '/api/routes', body, { role: 'planner' });
        const len = saved?.length_m ?? saved?.properties?.length_m;
        const renamed = body.name !== wanted ? `（名称“${wanted}”已被使用，改为“${body.name}”）` : '';
        toast(`已生成路线“${body.name}”${Number.isFinite(len) ? `，长度 ${metres(len)}` : ''}${renamed}`, 'ok', 6000);
        window.citygrid.lastRoute = saved;
        await refresh();
        return saved;
      } catch (error) {
        toast(`生成路线失败：${explain(error)}`, 'error', 8000);
        return null;
      }
    },
  })));

  function edit(fence) {
    const g = fence.geometry;
    if (!g || !['Polygon', 'LineString'].includes(g.type)) { toast('此围栏的形状不支持拖动编辑', 'error'); return; }
    const p = fence.properties || {};
    const mode = g.type === 'Polygon' ? 'polygon' : 'line';
    const coords = mode === 'polygon' ? g.coordinates[0].slice(0, -1) : g.coordinates;
    const hidden = fences.filter((f) => (f.id ?? f.properties?.id) !== (fence.id ?? p.id));
    draw(hidden);
    new DrawSession(map, {
      mode, coords, label: `编辑“${p.name || fence.id}”`,
      describe: mode === 'line' ? (x) => `长度 ${metres(lineLength(x))}` : (x) => `面积 ${squareMetres(polygonArea(x))}`,
      preview: mode === 'line' ? (x) => corridor(x, Number(p.buffer_m) || 0) : null,
      onFinish: async (geometry) => {
        try {
          const body = { type: 'Feature', geometry, properties: { ...p, zone: undefined } };
          delete body.properties.zone;
          await send('PUT', itemPath.replace(/\{[^}]+\}/, encodeURIComponent(fence.id ?? p.id)), body, { role: 'planner' });
          toast(`已更新围栏“${p.name || fence.id}”`, 'ok');
        } catch (error) {
          toast(`更新失败：${explain(error)}`, 'error', 8000);
        }
        await refresh();
      },
      onCancel: () => draw(fences),
    });
  }

  async function remove(fence) {
    const p = fence.properties || {};
    // a route's corridor takes its route with it (the server does the same: DELETE /api/fences/{id})
    const route = p.route_id && p.kind === 'corridor' ? routeName(p.route_id) || `#${p.route_id}` : null;
    const question = route ? `“${p.name || fence.id}”是路线“${route}”的走廊，删除它将同时删除该路线及其站点围栏。继续？`
      : `删除围栏“${p.name || fence.id}”？`;
    if (!window.confirm(question)) return;
    try {
      await send('DELETE', itemPath.replace(/\{[^}]+\}/, encodeURIComponent(fence.id ?? p.id)), undefined, { role: 'planner' });
      toast(route ? `已删除路线“${route}”及其围栏` : `已删除围栏“${p.name || fence.id}”`, 'ok');
    } catch (error) {
      toast(`删除失败：${explain(error)}`, 'error', 8000);
    }
    await refresh();
  }

  function draw(items) {
    map.getSource(SRC).setData({ type: 'FeatureCollection', features: items.flatMap(shapes) });
  }

  function render() {
    list.replaceChildren();
    status.textContent = fences.length ? `共 ${fences.length} 个` : '暂无围栏';
    for (const f of fences) {
      const p = f.properties || {};
      const id = f.id ?? p.id;
      const meta = [kindName(p.kind), p.route_id ? `属于路线“${routeName(p.route_id) || `#${p.route_id}`}”` : null, p.buffer_m ? `宽 ${p.buffer_m} 米` : null, p.speed_limit_kmh ? `限速 ${p.speed_limit_kmh}` : null,
        (p.vehicles || []).length ? `车辆 ${p.vehicles.join('、')}` : null].filter(Boolean).join(' · ');
      const actions = el('div', { class: 'actions' },
        el('button', { type: 'button', onclick: () => f.geometry && map.fitBounds(bounds(f.geometry), { padding: 60, maxZoom: 17 }) }, '定位'),
        itemPath ? el('button', { type: 'button', onclick: () => edit(f) }, '编辑') : null,
        itemPath ? el('button', { type: 'button', class: 'danger', onclick: () => remove(f) }, '删除') : null);
      list.append(el('li', { dataset: { fenceId: id } }, el('div', { class: 'title' }, `${p.name || '（未命名）'}`), el('div', { class: 'meta' }, `#${id} · ${meta}`), actions));
    }
  }

  /** The fence list, drawn on the map and listed; with the route list (which names the fences' routes)
   * asked for once `routesWhen` resolves, at once by default. */
  async function refresh(routesWhen = null) {
    let url = null;
    if (listPath) url = `${listPath}?limit=500`;
    else if (pathLike('/ogc/collections/{}/items') && collectionExists()) url = '/ogc/collections/fences/items?limit=500';
    if (!url) { status.textContent = '围栏列表服务暂不可用'; return; }
    // the map gets the fences as soon as they come, not after the route list (the list names their routes)
    const fencesDone = getJSON(url);
    const routesDone = routesWhen ? routesWhen.then(() => routesPanel.refresh()) : routesPanel.refresh();
    routesDone.catch(() => {}); // its failure is reported below, or by the route list itself
    fencesDone.catch(() => {});
    try {
      const doc = await fencesDone;
      fences = doc.features || (Array.isArray(doc) ? doc : []);
      draw(fences);
      await routesDone;
      render();
    } catch (error) {
      status.textContent = `围栏列表加载失败：${explain(error)}`;
    }
  }

  FILLED_AT_START.add(SRC); // drawn in the map's first view (overlays.js)
  // the fences now, the route list (~0.5 MB with its lines and stops, in a tab closed at start) when the
  // map's first view is drawn or the tab is opened: asked with the first view's tiles, its answer took
  // 0.26 s of the server and its parse a share of the page's main thread while that view was being drawn
  refresh(new Promise((resolve) => { map.once('idle', resolve); onFirstOpen('fences', resolve); }));
}
