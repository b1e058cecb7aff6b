// 建筑垃圾/渣土 (issue 16): the construction-waste sites (工地, 消纳场/卸点, 码头, 中转调配厂, 停车场) switched
// on from here with their legend and counts, the registered 核准 routes, and the muck-truck alarms
// (偷倒/乱倒, 未按核准路线, 夜间/限时禁行) listed, filtered by kind, state and period and drawn on the map.
import { collection, explain, getJSON, has } from './api.js';
import { $, dateTime, el, kv, onFirstOpen } from './ui.js';
import { EMPTY, classItems, districtMidnight, fitTo, layerToggle, legend, pointer } from './managed.js';

//: The muck-truck alarm kinds (gis/fences/kinds.py) with a colour each; labels come from the server.
const MUCK_ALARMS = [['illegal_dumping', '偷倒/乱倒', '#c2255c'], ['unapproved_route', '未按核准路线', '#f76707'],
  ['restricted_hours', '夜间/限时禁行', '#5f3dc4']];
const PERIODS = [['today', '今日'], ['7d', '近 7 天'], ['30d', '近 30 天'], ['90d', '近 90 天']];

export function initMuck({ map, app, maplibregl }) {
  const tab = $('#tab-special');
  if (!tab) return;
  app.muck = { sites: null, alarms: null, permits: null };
  const names = Object.fromEntries(MUCK_ALARMS.map(([k, zh]) => [k, zh]));
  const colors = Object.fromEntries(MUCK_ALARMS.map(([k, , c]) => [k, c]));

  map.addSource('overlay:muck-routes', { type: 'geojson', data: EMPTY });
  map.addSource('overlay:muck-alarms', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'overlay:muck-routes', type: 'line', source: 'overlay:muck-routes',
    layout: { 'line-cap': 'round', 'line-join': 'round' }, paint: { 'line-color': '#e8590c', 'line-width': 3, 'line-dasharray': [2, 1.2], 'line-opacity': 0.85 } });
  map.addLayer({ id: 'overlay:muck-alarms', type: 'circle', source: 'overlay:muck-alarms',
    paint: { 'circle-color': ['match', ['get', 'kind'], ...MUCK_ALARMS.flatMap(([k, , c]) => [k, c]), '#868e96'],
      'circle-radius': 7, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2, 'circle-opacity': ['case', ['get', '_open'], 1, 0.55] } });
  pointer(map, 'overlay:muck-alarms', 'overlay:muck-routes');

  // ---- sites
  const siteKinds = classItems('cw_sites');
  const siteLegend = el('div', { id: 'muck-site-legend' }, legend(siteKinds.map((i) => ({ ...i })), 'square'));
  const byKind = (fc) => {
    const n = {};
    for (const f of fc.features || []) n[f.properties.kind] = (n[f.properties.kind] || 0) + 1;
    return n;
  };
  async function countSites() {
    if (!collection('cw_sites')) return;
    try {
      // the sites with an extent (cw_site_areas: the same rows by their polygon) are drawn as areas too
      const [fc, areas] = await Promise.all([getJSON('/ogc/collections/cw_sites/items?limit=10000&properties=code,kind'),
        collection('cw_site_areas') ? getJSON('/ogc/collections/cw_site_areas/items?limit=10000&properties=code,kind') : null]);
      const n = byKind(fc);
      const a = areas ? byKind(areas) : {};
      const withArea = Object.values(a).reduce((x, y) => x + y, 0);
      siteLegend.replaceChildren(legend(siteKinds.map((i) => ({ ...i, count: n[i.value] || 0 })), 'square', 'muck-site-kinds'),
        el('p', { class: 'note', id: 'muck-site-areas' }, areas
          ? `其中 ${withArea} 处有场地范围，地图上画出范围面（按类型着色、虚线边框）${withArea ? `：${siteKinds.filter((i) => a[i.value]).map((i) => `${i.label} ${a[i.value]}`).join('，')}` : ''}。`
          : '服务端未发布场地范围，场所只画点位。'));
      app.muck.sites = n;
      app.muck.siteAreas = a;
    } catch { /* the legend stays without counts */ }
  }
  onFirstOpen('special', countSites);

  // ---- permits (核准路线)
  const showRoutes = el('input', { type: 'checkbox', id: 'muck-routes-toggle' });
  const routeNote = el('span', { class: 'note', id: 'muck-routes-note' });
  showRoutes.addEventListener('change', async () => {
    if (!showRoutes.checked) { map.getSource('overlay:muck-routes').setData(EMPTY); routeNote.textContent = ''; return; }
    try {
      const doc = await getJSON('/api/muck/permits');
      const features = (doc.permits || []).filter((p) => p.route).map((p) => ({ type: 'Feature', geometry: p.route,
        properties: { code: p.code, vehicle_id: p.vehicle_id, valid_from: p.valid_from, valid_to: p.valid_to } }));
      map.getSource('overlay:muck-routes').setData({ type: 'FeatureCollection', features });
      routeNote.textContent = ` ${features.length} 条`;
      app.muck.permits = features.length;
    } catch (error) { routeNote.textContent = ` ${explain(error)}`; }
  });
  map.on('click', 'overlay:muck-routes', (e) => {
    e.citygridHandled = true;
    const p = e.features[0].properties;
    new maplibregl.Popup({ offset: 8, maxWidth: '18rem' }).setLngLat(e.lngLat).setDOMContent(el('div', {},
      el('div', { class: 'popup-title' }, `核准路线 ${p.code}`), kv([['车辆', p.vehicle_id], ['有效期', `${p.valid_from} 至 ${p.valid_to}`]]))).addTo(map);
  });

  // ---- alarms
  const kindSel = el('select', { id: 'muck-alarm-kind' }, el('option', { value: '' }, '全部渣土车报警'),
    ...MUCK_ALARMS.map(([k, zh]) => el('option', { value: k }, zh)));
  const stateSel = el('select', { id: 'muck-alarm-state' }, el('option', { value: '' }, '全部状态'), el('option', { value: 'open' }, '进行中'),
    el('option', { value: 'closed' }, '已结束'));
  const periodSel = el('select', { id: 'muck-alarm-period' }, ...PERIODS.map(([v, t]) => el('option', { value: v, selected: v === '30d' }, t)));
  const aNote = el('p', { class: 'note', id: 'muck-alarm-note' }, has('/api/alarms') ? '' : '报警服务暂不可用');
  const list = el('ul', { class: 'list', id: 'muck-alarm-list' });
  const counts = el('div', { id: 'muck-alarm-counts' });

  function since() {
    if (periodSel.value === 'today') return districtMidnight().toISOString();
    return new Date(Date.now() - { '7d': 7, '30d': 30, '90d': 90 }[periodSel.value] * 86400000).toISOString();
  }

  async function loadAlarms() {
    aNote.textContent = '正在查询…';
    const kinds = kindSel.value ? [kindSel.value] : MUCK_ALARMS.map(([k]) => k);
    let alarms = [];
    try {
      const docs = await Promise.all(kinds.map((kind) => {
        const p = new URLSearchParams({ kind, since: since(), limit: '1000' });
        if (stateSel.value) p.set('state', stateSel.value);
        return getJSON(`/api/alarms?${p}`);
      }));
      alarms = docs.flatMap((d) => d.alarms || []);
    } catch (error) { aNote.textContent = `查询失败：${explain(error)}`; return; }
    alarms.sort((a, b) => String(b.start).localeCompare(String(a.start)));
    const n = Object.fromEntries(MUCK_ALARMS.map(([k]) => [k, 0]));
    for (const a of alarms) n[a.kind] = (n[a.kind] || 0) + 1;
    const period = PERIODS.find(([v]) => v === periodSel.value)[1];
    aNote.textContent = `${period}渣土车报警 ${alarms.length} 条${alarms.length > 200 ? '（列表显示最近 200 条，地图显示全部）' : ''}`;
    counts.replaceChildren(legend(MUCK_ALARMS.filter(([k]) => !kindSel.value || k === kindSel.value)
      .map(([k, zh, c]) => ({ value: k, label: zh, color: c, count: n[k] })), 'circle', 'muck-alarm-legend'));
    const features = alarms.filter((a) => a.location).map((a) => ({ type: 'Feature', geometry: a.location,
      properties: { id: a.id, kind: a.kind, label: a.label || names[a.kind], vehicle_id: a.vehicle_id, start: a.start, end: a.end || null, _open: !a.end } }));
    map.getSource('overlay:muck-alarms').setData({ type: 'FeatureCollection', features });
    list.replaceChildren(...alarms.slice(0, 200).map((a) => el('li', { class: `alarm${a.end ? ' closed' : ''}`, dataset: { kind: a.kind, alarmId: a.id } },
      el('div', { class: 'title' }, el('span', { class: 'muck-alarm-kind', style: `background:${colors[a.kind] || '#868e96'}` }),
        `${a.label || names[a.kind] || a.kind} · ${a.vehicle_id}`),
      el('div', { class: 'meta' }, `${dateTime(a.start)}${a.end ? ` 至 ${dateTime(a.end)}` : ' · 进行中'}`),
      a.location ? el('div', { class: 'actions' }, el('button', { type: 'button', onclick: () => map.flyTo({ center: a.location.coordinates, zoom: Math.max(map.getZoom(), 16) }) }, '定位')) : null)));
    app.muck.alarms = { total: alarms.length, byKind: n, shown: features.length };
    if (features.length) fitTo(map, features, 15);
  }
  for (const s of [kindSel, stateSel, periodSel]) s.addEventListener('change', loadAlarms);
  // the list is there when the tab is first opened (one request per kind; nothing before it is wanted)
  document.querySelector('.tabs button[data-tab=special]')?.addEventListener('click', () => { if (!app.muck.alarms) loadAlarms(); }, { once: true });
  map.on('click', 'overlay:muck-alarms', (e) => {
    e.citygridHandled = true;
    const p = e.features[0].properties;
    new maplibregl.Popup({ offset: 10, maxWidth: '20rem' }).setLngLat(e.lngLat).setDOMContent(el('div', { dataset: { testid: 'muck-alarm-card' } },
      el('div', { class: 'popup-title' }, `${p.label} · ${p.vehicle_id}`),
      el('div', {}, `开始 ${dateTime(p.start)}`), el('div', {}, p.end && p.end !== 'null' ? `结束 ${dateTime(p.end)}` : '进行中'))).addTo(map);
  });

  tab.append(el('div', { class: 'panel', id: 'panel-muck' }, el('h3', {}, '建筑垃圾 · 渣土'),
    layerToggle(map, 'cw_sites', '显示建筑垃圾场所', 'muck-sites-toggle'), siteLegend,
    el('label', { class: 'toggle' }, showRoutes, ' 显示核准路线（工地 → 消纳场）', routeNote),
    el('h4', {}, '渣土车报警'),
    el('div', { class: 'row' }, el('label', { for: 'muck-alarm-kind' }, '类型'), kindSel),
    el('div', { class: 'row' }, el('label', { for: 'muck-alarm-state' }, '状态'), stateSel),
    el('div', { class: 'row' }, el('label', { for: 'muck-alarm-period' }, '时间'), periodSel),
    el('div', { class: 'buttons' }, el('button', { type: 'button', id: 'muck-alarm-run', class: 'primary', onclick: loadAlarms }, '查询报警'),
      el('button', { type: 'button', onclick: () => { map.getSource('overlay:muck-alarms').setData(EMPTY); list.replaceChildren(); } }, '清除')),
    aNote, counts, list));
}
