// The users' workflows reachable from the map (issue 19): 违规反查 (who passed the area in view, then
// their tracks), 车辆统计 (a day's mileage working/empty, trips, stops), 普查成果 (census per area with
// component density by 大类) and 批量地址 (a CSV of addresses placed with progress, the unmatched rows
// listed). Every value is shown with the catalog's Chinese labels; times in the district's zone.
import { collection, explain, getJSON, has } from './api.js';
import { densityLayer } from './density.js';
import { geocodedLayers } from './geocoded.js';
import { initPlans } from './plans.js';
import { $, dateTime, el, kv, onFirstOpen, showInfo, zoneOffset } from './ui.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const pad = (n) => String(n).padStart(2, '0');
const localValue = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
const LEVEL_COLORS = { doorplate: '#2b8a3e', interpolated: '#5c940d', poi: '#1971c2', intersection: '#1971c2', offset: '#1971c2',
  zone: '#f08c00', street: '#e8590c', region: '#c92a2a' };

/** The latest fix time of the vehicles (their temporal extent), not after now. */
function lastData() {
  const end = collection('vehicles')?.extent?.temporal?.interval?.[0]?.[1];
  const t = end ? new Date(end) : new Date();
  return Number.isNaN(t.getTime()) || t > new Date() ? new Date() : t;
}

export function initWorkflows({ map, app, labels }) {
  const tab = $('#tab-work');
  if (!tab) return;
  const vehicleKinds = () => app.catalogLabels?.vehicles?.kind || {};
  map.addSource('overlay:work-track', { type: 'geojson', data: EMPTY });
  map.addSource('overlay:work-points', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'overlay:work-track', type: 'line', source: 'overlay:work-track', paint: { 'line-color': '#7048e8', 'line-width': 3.5 } });
  map.addLayer({ id: 'overlay:work-points', type: 'circle', source: 'overlay:work-points',
    paint: { 'circle-color': ['coalesce', ['get', '_color'], '#7048e8'], 'circle-radius': 6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
  const vehicles = new Map();
  // the vehicles' names for the lists of this tab, fetched when the tab is first opened
  onFirstOpen('work', () => {
    if (!collection('vehicles')) return;
    getJSON('/ogc/collections/vehicles/items?limit=1000&properties=plate,kind').then((fc) => {
      for (const f of fc.features || []) vehicles.set(String(f.id), f.properties || {});
      fillVehicles();
    }).catch(() => {});
  });
  const vehicleName = (id) => {
    const v = vehicles.get(String(id));
    return v ? `${v.plate || id}（${vehicleKinds()[v.kind] || v.kind || ''}）` : String(id);
  };

  const getTrack = (id, from, to) => getJSON(`/api/vehicles/${encodeURIComponent(id)}/track?${new URLSearchParams({ from, to })}`);
  async function showTrack(id, from, to) {
    return drawTrack(await getTrack(id, from, to));
  }
  /** Draws a track and brings it into view; returns its number of points. */
  function drawTrack(doc) {
    map.getSource('overlay:work-track').setData(doc.geometry ? { type: 'FeatureCollection', features: [doc] } : EMPTY);
    const coords = doc.geometry?.coordinates || [];
    if (coords.length) {
      const xs = coords.map((c) => c[0]);
      const ys = coords.map((c) => c[1]);
      map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 80, maxZoom: 17, duration: 0 });
    }
    return coords.length;
  }

  // ---- 违规反查
  const end = lastData();
  const pFrom = el('input', { type: 'datetime-local', id: 'passed-from', value: localValue(new Date(end - 86400000)) });
  const pTo = el('input', { type: 'datetime-local', id: 'passed-to', value: localValue(end) });
  const pList = el('ul', { class: 'list', id: 'passed-list' });
  const pNote = el('p', { class: 'note', id: 'passed-note' }, has('/api/tracks/passed') ? '查询当前地图视野内、所选时段经过的车辆' : '违规反查服务暂不可用');
  async function passed() {
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(',');
    const from = new Date(pFrom.value).toISOString();
    const to = new Date(pTo.value).toISOString();
    try {
      const doc = await getJSON(`/api/tracks/passed?${new URLSearchParams({ bbox, from, to })}`);
      pNote.textContent = `当前视野内 ${dateTime(from)} 至 ${dateTime(to)} 经过的车辆：${doc.count} 辆（点击查看轨迹）`;
      pList.replaceChildren(...doc.vehicles.map((v) => el('li', { class: 'clickable', dataset: { vehicle: v.vehicle_id }, onclick: async () => {
        const n = await showTrack(v.vehicle_id, from, to).catch(() => 0);
        app.work = { ...(app.work || {}), track: { vehicle: v.vehicle_id, points: n } };
      } }, el('div', { class: 'title' }, vehicleName(v.vehicle_id)),
      el('div', { class: 'meta' }, `${dateTime(v.first)} 至 ${dateTime(v.last)} · 视野内 ${v.fixes_inside} 个定位点`))));
      app.work = { ...(app.work || {}), passed: doc.vehicles.map((v) => v.vehicle_id) };
    } catch (error) { pNote.textContent = `查询失败：${explain(error)}`; }
  }

  // ---- 车辆统计
  const vSelect = el('select', { id: 'vstats-vehicle' });
  const vDate = el('input', { type: 'date', id: 'vstats-date', value: `${end.getFullYear()}-${pad(end.getMonth() + 1)}-${pad(end.getDate())}` });
  const vOut = el('div', { id: 'vstats-out' });
  function fillVehicles() {
    vSelect.replaceChildren(...[...vehicles.keys()].sort().map((id) => el('option', { value: id }, vehicleName(id))));
    plans?.vehiclesChanged();
  }
  let plans = null;
  async function vehicleStats() {
    const id = vSelect.value;
    if (!id) return;
    const [y, m, d] = vDate.value.split('-').map(Number);
    // both asked at once, drawn in one go with the camera move: a frame drawn for the stops alone held up
    // the handling of the track's answer (0.2–0.4 s a frame in software GL)
    const track = getTrack(id, `${vDate.value}T00:00:00`, new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10)).catch(() => null);
    try {
      const s = await getJSON(`/api/vehicles/${encodeURIComponent(id)}/stats?date=${vDate.value}`);
      vOut.replaceChildren(kv([['车辆', vehicleName(id)], ['日期', s.date], ['定位点', s.fixes], ['总里程', `${s.mileage_km} 公里`],
        ['作业里程', `${s.working_km} 公里`], ['空驶里程', `${s.empty_km} 公里`], ['趟数', s.trips], ['停车', `${s.stops.length} 次`]]),
      el('ul', { class: 'list', id: 'vstats-stops' }, ...s.stops.map((p) => el('li', {}, `停车 ${dateTime(p.start)} 至 ${dateTime(p.end)}（${Math.round(p.duration_s / 60)} 分钟）`))));
      const doc = await track;
      map.getSource('overlay:work-points').setData({ type: 'FeatureCollection', features: s.stops.map((p) => ({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [p.lon, p.lat] } })) });
      if (doc) drawTrack(doc);
      app.work = { ...(app.work || {}), vehicleStats: s };
    } catch (error) { vOut.replaceChildren(el('p', { class: 'note warn' }, explain(error))); }
  }

  // ---- 普查成果
  const cLevel = el('select', { id: 'census-level' }, el('option', { value: 'street' }, '街道'), el('option', { value: 'community' }, '社区'),
    el('option', { value: 'district' }, '区'));
  const cTable = el('table', { class: 'stats-table', id: 'census-table' });
  const density = densityLayer(map);
  const cDensity = el('select', { id: 'census-density' }, el('option', { value: 'none' }, '不绘制'), el('option', { value: '' }, '全部部件'));
  let lastCensus = null;
  async function drawDensity() {
    if (!lastCensus || cDensity.value === 'none') { density.clear(); return; }
    await density.draw(lastCensus.doc, lastCensus.level, cDensity.value);
  }
  cDensity.addEventListener('change', drawDensity);
  async function census() {
    try {
      const level = cLevel.value;
      const doc = await getJSON(`/api/grids/census?level=${level}`);
      const majors = [...new Set(doc.areas.flatMap((a) => Object.keys(a.components?.by_major || {})))].sort();
      const names = Object.fromEntries(doc.areas.flatMap((a) => Object.entries(a.components?.by_major || {}).map(([k, v]) => [k, v.name])));
      cTable.replaceChildren(el('thead', {}, el('tr', {}, el('th', {}, '区域'), el('th', {}, '面积(平方公里)'), el('th', {}, '单元网格'),
        el('th', {}, '部件'), el('th', {}, '部件密度(个/平方公里)'), ...majors.map((m) => el('th', {}, `${names[m] || m}`)))),
      el('tbody', {}, ...doc.areas.map((a) => el('tr', {}, el('td', {}, a.name || a.code), el('td', { class: 'num' }, String(a.area_km2)),
        el('td', { class: 'num' }, String(a.unit_grids?.count ?? '')), el('td', { class: 'num' }, String(a.components?.count ?? '')),
        el('td', { class: 'num' }, String(a.components?.density_per_km2 ?? '')),
        ...majors.map((m) => el('td', { class: 'num' }, String(a.components?.by_major?.[m]?.count ?? 0)))))));
      const keep = cDensity.value;
      cDensity.replaceChildren(el('option', { value: 'none' }, '不绘制'), el('option', { value: '' }, '全部部件'),
        ...majors.map((m) => el('option', { value: m }, `${names[m] || m}（${m}）`)));
      cDensity.value = [...cDensity.options].some((o) => o.value === keep) ? keep : 'none';
      lastCensus = { doc, level };
      await drawDensity();
      app.work = { ...(app.work || {}), census: doc.areas.length };
    } catch (error) { cTable.replaceChildren(el('tr', {}, el('td', {}, explain(error)))); }
  }

  // ---- 批量地址
  const file = el('input', { type: 'file', id: 'batch-file', accept: '.csv,.txt,.xlsx' });
  const bNote = el('p', { class: 'note', id: 'batch-note' }, has('/api/geocode/batch') ? 'CSV 第一列（或 address 列）为地址；结果按输入顺序返回' : '批量地址服务暂不可用');
  const bList = el('ul', { class: 'list', id: 'batch-unmatched' });
  let lastPlaced = [];
  const saved = geocodedLayers({ map, levelColors: LEVEL_COLORS, levelName: (k) => (labels.match_level || {})[k] || k, placed: () => lastPlaced });
  async function batch() {
    const f = file.files?.[0];
    if (!f) return;
    const xlsx = /\.xlsx$/i.test(f.name);
    const response = await fetch('/api/geocode/batch', { method: 'POST', body: await f.arrayBuffer(),
      headers: { 'Content-Type': xlsx ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/csv', Accept: 'application/x-ndjson' } });
    if (!response.ok) { bNote.textContent = `批量地址失败：${(await response.json().catch(() => ({}))).detail || response.status}`; return; }
    const total = Number(response.headers.get('X-Rows')) || 0;
    const placed = [];
    const unmatched = [];
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let done = 0;
    for (;;) {
      const { value, done: end2 } = await reader.read();
      if (end2) break;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split('\n');
      buffer = lines.pop();
      for (const line of lines.filter(Boolean)) {
        const feat = JSON.parse(line);
        done += 1;
        if (feat.geometry) placed.push({ ...feat, properties: { ...feat.properties, _color: LEVEL_COLORS[feat.properties?.match_level] || '#868e96' } });
        else unmatched.push(feat);
      }
      bNote.textContent = `已处理 ${done} / ${total} 行`;
    }
    map.getSource('overlay:work-points').setData({ type: 'FeatureCollection', features: placed });
    lastPlaced = placed;
    saved.ready(placed.length);
    const byLevel = {};
    for (const p of placed) byLevel[p.properties.match_level] = (byLevel[p.properties.match_level] || 0) + 1;
    bNote.textContent = `完成：${total} 行，定位 ${placed.length} 行（${Object.entries(byLevel).map(([k, n]) => `${(labels.match_level || {})[k] || k} ${n}`).join('，')}），未匹配 ${unmatched.length} 行`;
    bList.replaceChildren(...unmatched.map((u) => el('li', {}, `第 ${u.properties?.id ?? u.id ?? '?'} 行：${u.properties?.query || ''}（未匹配，请修改后重试）`)));
    app.work = { ...(app.work || {}), batch: { total, placed: placed.length, unmatched: unmatched.length } };
    if (placed.length) {
      const xs = placed.map((p) => p.geometry.coordinates[0]);
      const ys = placed.map((p) => p.geometry.coordinates[1]);
      map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 80, maxZoom: 17, duration: 0 });
    }
  }
  map.on('click', 'overlay:work-points', (e) => {
    e.citygridHandled = true;
    const p = e.features[0].properties;
    showInfo(p.standard_address || '位置', kv([['匹配级别', (labels.match_level || {})[p.match_level] || p.match_level], ['置信度', p.confidence]]));
  });

  tab.append(
    el('div', { class: 'panel', id: 'panel-passed' }, el('h3', {}, '违规反查'),
      el('div', { class: 'row' }, el('label', { for: 'passed-from' }, '开始'), pFrom),
      el('div', { class: 'row' }, el('label', { for: 'passed-to' }, '结束'), pTo),
      el('div', { class: 'buttons' }, el('button', { type: 'button', id: 'passed-run', class: 'primary', onclick: passed }, '查询视野内经过车辆'),
        el('button', { type: 'button', onclick: () => { map.getSource('overlay:work-track').setData(EMPTY); map.getSource('overlay:work-points').setData(EMPTY); } }, '清除')),
      pNote, pList),
    el('div', { class: 'panel', id: 'panel-vehicle-stats' }, el('h3', {}, '车辆统计'),
      el('div', { class: 'row' }, el('label', { for: 'vstats-vehicle' }, '车辆'), vSelect),
      el('div', { class: 'row' }, el('label', { for: 'vstats-date' }, '日期'), vDate),
      el('div', { class: 'buttons' }, el('button', { type: 'button', id: 'vstats-run', onclick: vehicleStats }, '统计')), vOut),
    el('div', { class: 'panel', id: 'panel-census' }, el('h3', {}, '普查成果'),
      el('div', { class: 'row' }, el('label', { for: 'census-level' }, '层级'), cLevel),
      el('div', { class: 'row' }, el('label', { for: 'census-density' }, '密度图'), cDensity),
      el('div', { class: 'buttons' }, el('button', { type: 'button', id: 'census-run', onclick: census }, '查看')), el('div', { class: 'table-scroll' }, cTable),
      density.legend),
    el('div', { class: 'panel', id: 'panel-batch' }, el('h3', {}, '批量地址'),
      el('div', { class: 'row' }, el('label', { for: 'batch-file' }, '文件'), file),
      el('div', { class: 'buttons' }, el('button', { type: 'button', id: 'batch-run', onclick: batch }, '开始定位')), bNote, bList,
      saved.element));
  plans = initPlans({ map, app, tab, vehicleName, vehicleIds: () => [...vehicles.keys()].sort(),
    lastDay: () => dateTime(lastData()).slice(0, 10), offset: (d) => zoneOffset(new Date(`${d}T12:00:00Z`)) });
}
