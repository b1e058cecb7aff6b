// Routes (路线) in the 围栏路线 tab: the list from /api/routes (stops, length, vehicle), locate, edit the
// ordered stops on the map (drag, add; 撤销 drops the last) and save them with PUT — the server re-plans
// the line along the streets and replaces the corridor and stop fences — and delete (with its fences).
import { explain, getJSON, has, send } from './api.js';
import { DrawSession } from './draw.js';
import { lineLength } from './measure.js';
import { el, metres, toast } from './ui.js';

const SRC = 'overlay:route-stops';
/** Properties of the corridor fence that a re-plan must carry over (PUT builds the fences from the body). */
const CARRIED = ['speed_limit_kmh', 'schedule', 'debounce', 'signal_timeout_s', 'dwell_limit_s'];

/** A name not yet used by any of `taken`: the name itself, else the name with （2）, （3）…. */
export function freeName(name, taken) {
  const used = new Set(taken);
  if (!used.has(name)) return name;
  for (let n = 2; ; n += 1) if (!used.has(`${name}（${n}）`)) return `${name}（${n}）`;
}

function ensureLayers(map) {
  if (map.getSource(SRC)) return;
  map.addSource(SRC, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'overlay:route-stops', type: 'circle', source: SRC,
    paint: { 'circle-radius': 6, 'circle-color': '#2f9e44', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  map.addLayer({ id: 'overlay:route-stops-label', type: 'symbol', source: SRC,
    layout: { 'text-field': ['get', 'label'], 'text-size': 12, 'text-offset': [0, 1.2], 'text-font': ['sans-serif'] },
    paint: { 'text-color': '#2b8a3e', 'text-halo-color': '#fff', 'text-halo-width': 1.5 } });
}

/**
 * The 路线 section: returns its element and `refresh()`. `fences()` gives the fence list (for the
 * corridor's width and carried properties); `changed()` reloads the fence list after a save or delete.
 */
export function routePanel({ map, fences, changed }) {
  const list = el('ul', { class: 'list', id: 'route-list' });
  const status = el('p', { class: 'note', id: 'route-status' });
  const canList = has('/api/routes');
  let routes = [];
  ensureLayers(map);

  const corridorOf = (r) => fences().find((f) => (f.id ?? f.properties?.id) === r.corridor_fence_id);

  function showStops(r) {
    map.getSource(SRC).setData({ type: 'FeatureCollection', features: (r?.stops || []).map((s, i) => ({
      type: 'Feature', properties: { label: `${i + 1} ${s.name || ''}` }, geometry: { type: 'Point', coordinates: [s.lon, s.lat] } })) });
  }

  function locate(r) {
    const c = r.geometry?.coordinates || [];
    if (!c.length) return;
    const xs = c.map((p) => p[0]);
    const ys = c.map((p) => p[1]);
    map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 60, maxZoom: 17 });
    showStops(r);
  }

  /** The PUT body of a route with new stop positions: names, windows and radii kept by position. */
  function body(r, coords) {
    const corridor = corridorOf(r)?.properties || {};
    const out = {
      name: r.name, kind: r.kind, buffer_m: Number(corridor.buffer_m) || 30,
      stops: coords.map(([lon, lat], i) => {
        const old = r.stops[i] || {};
        const stop = { name: old.name || `站点${i + 1}`, lon, lat };
        for (const k of ['windows', 'radius_m', 'dwell_s']) if (old[k] !== undefined && old[k] !== null) stop[k] = old[k];
        return stop;
      }),
    };
    if (corridor.vehicles?.length) out.vehicles = corridor.vehicles;
    else if (r.vehicle_id) out.vehicle_id = r.vehicle_id;
    for (const k of CARRIED) if (corridor[k] !== undefined && corridor[k] !== null) out[k] = corridor[k];
    return out;
  }

  function edit(r, start = null) {
    showStops(null);
    const coords = start || (r.stops || []).map((s) => [s.lon, s.lat]);
    new DrawSession(map, {
      mode: 'points', coords, label: `编辑路线“${r.name}”站点`,
      describe: (g) => `${g.coordinates.length} 个站点，直线长度 ${g.coordinates.length > 1 ? metres(lineLength({ type: 'LineString', coordinates: g.coordinates })) : '—'}`,
      onFinish: async (geometry) => {
        try {
          const saved = await send('PUT', `/api/routes/${r.id}`, body(r, geometry.coordinates), { role: 'planner' });
          toast(`已更新路线“${r.name}”：${saved.stops.length} 个站点，长度 ${metres(saved.length_m)}`, 'ok');
          window.citygrid.lastRoute = saved;
        } catch (error) {
          // the edit is given back (key dialog cancelled, key refused) to be saved again
          toast(`更新路线失败：${explain(error)}；站点修改已保留，可再次点击“完成”`, 'error', 8000);
          edit(r, geometry.coordinates);
          return;
        }
        await changed();
      },
      onCancel: () => showStops(null),
    });
  }

  async function remove(r) {
    if (!window.confirm(`删除路线“${r.name}”及其走廊和站点围栏？`)) return;
    try {
      await send('DELETE', `/api/routes/${r.id}`, undefined, { role: 'planner' });
      toast(`已删除路线“${r.name}”及其围栏`, 'ok');
      showStops(null);
    } catch (error) {
      toast(`删除路线失败：${explain(error)}`, 'error', 8000);
    }
    await changed();
  }

  function render() {
    list.replaceChildren();
    status.textContent = routes.length ? `共 ${routes.length} 条路线` : '暂无路线';
    for (const r of routes) {
      const stops = (r.stops || []).map((s) => s.name).join(' → ');
      const meta = [`${(r.stops || []).length} 个站点`, `长度 ${metres(r.length_m)}`, r.vehicle_id ? `车辆 ${r.vehicle_id}` : null,
        r.kind === 'temporary' ? '临时路线' : null].filter(Boolean).join(' · ');
      list.append(el('li', { dataset: { routeId: r.id } },
        el('div', { class: 'title' }, r.name), el('div', { class: 'meta' }, `#${r.id} · ${meta}`),
        stops ? el('div', { class: 'meta stops' }, stops) : null,
        el('div', { class: 'actions' },
          el('button', { type: 'button', onclick: () => locate(r) }, '定位'),
          el('button', { type: 'button', dataset: { action: 'edit-stops' }, onclick: () => edit(r) }, '编辑站点'),
          el('button', { type: 'button', class: 'danger', dataset: { action: 'delete-route' }, onclick: () => remove(r) }, '删除'))));
    }
  }

  async function refresh() {
    if (!canList) { status.textContent = '路线服务暂不可用'; return []; }
    try {
      routes = (await getJSON('/api/routes')).routes || [];
      render();
      window.citygrid.routes = routes.map((r) => ({ id: r.id, name: r.name, stops: r.stops.length, corridor: r.corridor_fence_id }));
    } catch (error) {
      status.textContent = `路线列表加载失败：${explain(error)}`;
    }
    return routes;
  }

  return { element: el('div', { id: 'route-panel' }, el('h3', {}, '路线'), status, list), refresh, routes: () => routes };
}
