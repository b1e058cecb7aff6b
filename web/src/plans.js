// Two workflows of the 业务 tab: 计划与实际 (a route's planned line and stops against a vehicle's actual
// track of a day: stops 已收/未收 with the first arrival, the share of the route driven and the track's
// deviation, from /api/routes/{id}/compare) and 跨网格/脱岗 (everyone whose grid is known, over a shift:
// on post, seen outside the grid, or not seen at all, from /api/grids/on-post; those outside are drawn).
import { explain, getJSON, has } from './api.js';
import { setVisible, state as layerState } from './layers.js';
import { dateTime, el, kv, metres, onFirstOpen, showInfo } from './ui.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const STATUS = { on_post: ['在岗', '#2b8a3e'], off_post: ['跨网格（离开网格）', '#e8590c'], absent: ['脱岗（无定位）', '#c92a2a'] };

/** Local midnight of a YYYY-MM-DD day in the district zone, as an ISO text the server reads with its offset. */
const at = (day, time, offset) => `${day}T${time}:00${offset}`;
const nextDay = (day) => new Date(Date.parse(`${day}T12:00:00Z`) + 86400000).toISOString().slice(0, 10);

function bounds(coords) {
  const xs = coords.map((c) => c[0]);
  const ys = coords.map((c) => c[1]);
  return [[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]];
}

export function initPlans({ map, app, tab, vehicleName, vehicleIds, lastDay, offset }) {
  map.addSource('overlay:plan', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'overlay:plan-line', type: 'line', source: 'overlay:plan', filter: ['==', ['get', 'part'], 'planned'],
    paint: { 'line-color': '#1c7ed6', 'line-width': 5, 'line-opacity': 0.45 } });
  map.addLayer({ id: 'overlay:plan-track', type: 'line', source: 'overlay:plan', filter: ['==', ['get', 'part'], 'actual'],
    paint: { 'line-color': '#7048e8', 'line-width': 2.5, 'line-dasharray': [2, 1] } });
  map.addLayer({ id: 'overlay:plan-points', type: 'circle', source: 'overlay:plan', filter: ['==', ['geometry-type'], 'Point'],
    paint: { 'circle-color': ['get', 'color'], 'circle-radius': 7, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  // stop names from street zoom on: a whole fleet's stops at district zoom are hundreds of overlapping labels
  map.addLayer({ id: 'overlay:plan-labels', type: 'symbol', source: 'overlay:plan', filter: ['==', ['geometry-type'], 'Point'], minzoom: 13,
    layout: { 'text-field': ['get', 'label'], 'text-size': 12, 'text-offset': [0, 1.3], 'text-font': ['sans-serif'] },
    paint: { 'text-color': ['get', 'color'], 'text-halo-color': '#fff', 'text-halo-width': 1.5 } });
  map.on('click', 'overlay:plan-points', (e) => {
    e.citygridHandled = true;
    const p = e.features[0].properties;
    showInfo(p.title || '', kv(JSON.parse(p.info || '[]')));
  });

  // ---- 计划与实际
  const route = el('select', { id: 'plan-route' });
  const vehicle = el('select', { id: 'plan-vehicle' });
  const day = el('input', { type: 'date', id: 'plan-date', value: lastDay() });
  const out = el('div', { id: 'plan-out' });
  const note = el('p', { class: 'note', id: 'plan-note' }, has('/api/routes') ? '' : '路线服务暂不可用');
  let routes = [];

  async function loadRoutes() {
    try {
      routes = (await getJSON('/api/routes')).routes || [];
    } catch (error) { note.textContent = `路线加载失败：${explain(error)}`; return; }
    const keep = route.value;
    route.replaceChildren(...routes.map((r) => el('option', { value: r.id, selected: String(r.id) === keep }, r.name)));
    note.textContent = routes.length ? '' : '暂无路线（在“围栏路线”中按站点生成）';
    fillVehicles();
  }
  function fillVehicles() {
    const r = routes.find((x) => String(x.id) === route.value);
    vehicle.replaceChildren(...vehicleIds().map((id) => el('option', { value: id, selected: id === r?.vehicle_id }, vehicleName(id))));
  }
  route.addEventListener('change', fillVehicles);
  route.addEventListener('focus', () => { if (!routes.length) loadRoutes(); });

  async function compare() {
    const r = routes.find((x) => String(x.id) === route.value);
    if (!r || !vehicle.value || !day.value) { note.textContent = '请选择路线、车辆和日期'; return; }
    const from = at(day.value, '00:00', offset(day.value));
    const to = at(nextDay(day.value), '00:00', offset(day.value));
    note.textContent = '正在对比…';
    try {
      const [c, track] = await Promise.all([
        getJSON(`/api/routes/${r.id}/compare?${new URLSearchParams({ from, to, vehicle_id: vehicle.value })}`),
        getJSON(`/api/vehicles/${encodeURIComponent(vehicle.value)}/track?${new URLSearchParams({ from, to })}`).catch(() => null)]);
      const visited = c.stops.filter((s) => s.visited).length;
      const features = [{ type: 'Feature', properties: { part: 'planned' }, geometry: r.geometry }];
      if (track?.geometry) features.push({ type: 'Feature', properties: { part: 'actual' }, geometry: track.geometry });
      for (const s of c.stops) {
        const state = s.visited ? '已收' : '未收';
        const info = [['站点', `${s.index + 1}. ${s.name || ''}`], ['状态', state],
          ['首次到达', s.first ? dateTime(s.first) : '—'], ['停留', s.visited ? `${Math.round(s.dwell_s)} 秒` : '—']];
        features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [s.lon, s.lat] },
          properties: { color: s.visited ? '#2b8a3e' : '#c92a2a', label: `${s.index + 1} ${state}`, title: `${r.name} · ${s.name || ''}`, info: JSON.stringify(info) } });
      }
      map.getSource('overlay:plan').setData({ type: 'FeatureCollection', features });
      const pct = (x) => `${(x * 100).toFixed(1)}%`;
      out.replaceChildren(
        kv([['路线', r.name], ['车辆', vehicleName(c.vehicle_id)], ['日期', day.value], ['定位点', c.fixes],
          ['计划长度', metres(c.route_length_m)], ['已覆盖', `${metres(c.covered_m)}（${pct(c.covered_share)}）`],
          ['实际轨迹', metres(c.track_m)], ['偏离路线', `${metres(c.off_route_m)}（${pct(c.off_route_share)}）`],
          ['站点', `已收 ${visited} / ${c.stops.length}，未收 ${c.stops.length - visited}`]]),
        el('ul', { class: 'list', id: 'plan-stops' }, ...c.stops.map((s) => el('li', { class: s.visited ? 'ok' : 'missed', dataset: { stop: s.index } },
          el('div', { class: 'title' }, `${s.index + 1}. ${s.name || ''} · ${s.visited ? '已收' : '未收'}`),
          el('div', { class: 'meta' }, s.visited ? `首次到达 ${dateTime(s.first)}，停留 ${Math.round(s.dwell_s)} 秒` : '当日轨迹未到达此站点')))));
      note.textContent = c.fixes ? '' : '该车辆当日无定位数据';
      const coords = [...(r.geometry?.coordinates || []), ...(track?.geometry?.coordinates || [])];
      if (coords.length) map.fitBounds(bounds(coords), { padding: 70, maxZoom: 17, duration: 0 });
      app.work = { ...(app.work || {}), plan: { ...c, visited } };
    } catch (error) { note.textContent = `对比失败：${explain(error)}`; }
  }

  /** 今日全部路线: every route with a vehicle compared for the chosen day — task progress and all stops. */
  const progress = el('ul', { class: 'list', id: 'plan-progress' });
  async function compareAll() {
    if (!routes.length) await loadRoutes();
    const mine = routes.filter((r) => r.vehicle_id);
    if (!mine.length) { note.textContent = '没有指定车辆的路线'; progress.replaceChildren(); return; }
    const from = at(day.value, '00:00', offset(day.value));
    const to = at(nextDay(day.value), '00:00', offset(day.value));
    note.textContent = `正在对比 ${mine.length} 条路线…`;
    // the fleet in up to six requests of several routes each (a browser's connections to one host): each
    // request is two statements on the server, and the six run side by side on its cores
    let answers;
    try {
      const size = Math.ceil(mine.length / 6);
      const chunks = [];
      for (let i = 0; i < mine.length; i += size) chunks.push(mine.slice(i, i + size));
      const docs = await Promise.all(chunks.map((part) => getJSON(`/api/routes/compare?${new URLSearchParams({ from, to, ids: part.map((r) => r.id).join(',') })}`)));
      const byId = new Map(docs.flatMap((doc) => doc.routes || []).map((c) => [c.route_id, c]));
      answers = mine.map((r) => (byId.has(r.id) ? { r, c: byId.get(r.id) } : { r, error: new Error('无对比结果') }));
    } catch (error) {
      note.textContent = `对比失败：${explain(error)}`;
      return;
    }
    const features = [];
    progress.replaceChildren(...answers.map(({ r, c, error }) => {
      if (error) return el('li', { dataset: { route: r.id } }, el('div', { class: 'title' }, r.name), el('div', { class: 'meta warn' }, explain(error)));
      const visited = c.stops.filter((x) => x.visited).length;
      features.push({ type: 'Feature', properties: { part: 'planned' }, geometry: r.geometry });
      for (const x of c.stops) {
        features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [x.lon, x.lat] }, properties: {
          color: x.visited ? '#2b8a3e' : '#c92a2a', label: `${x.name || x.index + 1} ${x.visited ? '已收' : '未收'}`, title: `${r.name} · ${x.name || ''}`,
          info: JSON.stringify([['路线', r.name], ['站点', x.name], ['状态', x.visited ? '已收' : '未收'], ['首次到达', x.first ? dateTime(x.first) : '—']]) } });
      }
      return el('li', { class: 'clickable', dataset: { route: r.id }, onclick: () => { route.value = String(r.id); fillVehicles(); compare(); } },
        el('div', { class: 'title' }, `${r.name} · ${vehicleName(c.vehicle_id)}`),
        el('div', { class: 'meta' }, `已收 ${visited} / ${c.stops.length} · 覆盖 ${(c.covered_share * 100).toFixed(0)}% · 偏离 ${metres(c.off_route_m)}`),
        el('progress', { max: Math.max(1, c.stops.length), value: visited }));
    }));
    map.getSource('overlay:plan').setData({ type: 'FeatureCollection', features });
    note.textContent = `${day.value}：${mine.length} 条路线的完成情况（点击一条查看轨迹）`;
    app.work = { ...(app.work || {}), progress: answers.map(({ r, c }) => ({ route: r.id, stops: c?.stops.length, visited: c?.stops.filter((x) => x.visited).length })) };
  }

  // ---- 跨网格/脱岗
  const sDay = el('input', { type: 'date', id: 'post-date', value: lastDay() });
  const sFrom = el('input', { type: 'time', id: 'post-from', value: '08:00' });
  const sTo = el('input', { type: 'time', id: 'post-to', value: '18:00' });
  const sList = el('ul', { class: 'list', id: 'post-list' });
  const sNote = el('p', { class: 'note', id: 'post-note' }, has('/api/grids/on-post') ? '人员（车辆、终端）按操作员/班组对应其责任网格' : '在岗检查服务暂不可用');

  async function onPost() {
    const off = offset(sDay.value);
    const params = new URLSearchParams({ from: at(sDay.value, sFrom.value, off), to: at(sDay.value, sTo.value, off) });
    try {
      const doc = await getJSON(`/api/grids/on-post?${params}`);
      const c = doc.counts;
      sNote.textContent = `${sDay.value} ${sFrom.value}–${sTo.value}：共 ${doc.staff.length} 人，在岗 ${c.on_post}，跨网格 ${c.off_post}，脱岗 ${c.absent}`;
      sList.replaceChildren(...doc.staff.map((s) => {
        const [label, color] = STATUS[s.status];
        const meta = s.status === 'absent' ? '时段内无定位' : s.status === 'off_post'
          ? `${s.fixes_outside} / ${s.fixes} 个定位点在网格外（${(s.outside_share * 100).toFixed(0)}%），最远 ${metres(s.farthest_m)}，首次 ${dateTime(s.first_outside)}`
          : `${s.fixes} 个定位点均在网格内`;
        const li = el('li', { class: 'clickable', dataset: { vehicle: s.vehicle_id, status: s.status } },
          el('div', { class: 'title' }, el('span', { class: 'status-dot', style: `background:${color}` }), `${s.person || ''} · ${vehicleName(s.vehicle_id)} · ${label}`),
          el('div', { class: 'meta' }, `网格 ${s.grid_names.join('、')} · ${meta}`));
        li.addEventListener('click', () => { if (s.last) map.easeTo({ center: [s.last.lon, s.last.lat], zoom: Math.max(map.getZoom(), 15) }); });
        return li;
      }));
      // the persons seen outside their grids (and the on-post ones, smaller) at their last fix
      const features = doc.staff.filter((s) => s.last).map((s) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [s.last.lon, s.last.lat] },
        properties: { color: STATUS[s.status][1], label: `${s.person || s.vehicle_id}${s.status === 'off_post' ? ' 跨网格' : ''}`, title: `${s.person || ''} ${STATUS[s.status][0]}`,
          info: JSON.stringify([['人员', s.person], ['车辆/终端', vehicleName(s.vehicle_id)], ['网格', s.grid_names.join('、')],
            ['最后定位', dateTime(s.last.ts)], ['最后位置', s.last.inside ? '网格内' : '网格外'], ['网格外定位点', `${s.fixes_outside} / ${s.fixes}`]]) } }));
      map.getSource('overlay:plan').setData({ type: 'FeatureCollection', features });
      // with the grids they belong to (the 责任网格 layer), so "outside" is seen against "inside"
      if (layerState.work_grids?.available && !layerState.work_grids.visible) {
        setVisible(map, 'work_grids', true);
        const box = document.querySelector('#layer-tree input[data-layer=work_grids]');
        if (box) box.checked = true;
        document.querySelector('#layer-tree .layer[data-layer=work_grids]')?.classList.remove('off');
      }
      const outside = doc.staff.filter((s) => s.status === 'off_post' && s.last).map((s) => [s.last.lon, s.last.lat]);
      if (outside.length) map.fitBounds(bounds(outside), { padding: 160, maxZoom: 14.5, duration: 0 });
      app.work = { ...(app.work || {}), onPost: doc };
    } catch (error) { sNote.textContent = `检查失败：${explain(error)}`; }
  }

  tab.append(
    el('div', { class: 'panel', id: 'panel-plan' }, el('h3', {}, '计划与实际'),
      el('div', { class: 'row' }, el('label', { for: 'plan-route' }, '路线'), route),
      el('div', { class: 'row' }, el('label', { for: 'plan-vehicle' }, '车辆'), vehicle),
      el('div', { class: 'row' }, el('label', { for: 'plan-date' }, '日期'), day),
      el('div', { class: 'buttons' }, el('button', { type: 'button', id: 'plan-reload', onclick: loadRoutes }, '刷新路线'),
        el('button', { type: 'button', id: 'plan-run', class: 'primary', onclick: compare }, '对比'),
        el('button', { type: 'button', id: 'plan-all', onclick: compareAll }, '当日全部路线')), note, progress, out),
    el('div', { class: 'panel', id: 'panel-on-post' }, el('h3', {}, '跨网格/脱岗'),
      el('div', { class: 'row' }, el('label', { for: 'post-date' }, '日期'), sDay),
      el('div', { class: 'row' }, el('label', { for: 'post-from' }, '班次'), sFrom, el('span', {}, '至'), sTo),
      el('div', { class: 'buttons' }, el('button', { type: 'button', id: 'post-run', class: 'primary', onclick: onPost }, '检查')), sNote, sList));
  onFirstOpen('work', loadRoutes); // the fences tab lists the routes at start-up; this list waits for its tab
  return { vehiclesChanged: fillVehicles };
}
