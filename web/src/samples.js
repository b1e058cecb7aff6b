// 评价样本点位 (issue 16): the fourteen kinds as a thematic layer (switched on from here, legend with the
// number of points of each kind), the seeded draw by kind and quota within an area (POST
// /api/eval-samples/draw; the drawn points on the map and listed with the draw's id and fingerprint),
// the drawn points assigned to inspectors (all, or those ticked in the list; POST /api/eval-samples/draws/{id}/
// assign) with each point's inspector in the list and its popup, and a 定位打卡 check of a drawn point by its
// inspector: a position typed (GCJ-02 as phones report it) or picked on the map.
import { collection, explain, getJSON, has, send } from './api.js';
import { $, dateTime, el, kv, metres, onFirstOpen } from './ui.js';
import { EMPTY, classItems, districtAreas, districtToday, fitTo, layerToggle, legend, pointer } from './managed.js';

const CRS_CHOICES = [['GCJ02', 'GCJ-02（高德/腾讯/微信定位）'], ['EPSG:4490', 'CGCS2000（地图坐标）'], ['CRS84', 'WGS84'], ['BD09', 'BD-09（百度）']];

const ASSIGN_PATH = '/api/eval-samples/draws/{draw_id}/assign';

export function initSamples({ map, app, maplibregl }) {
  const tab = $('#tab-special');
  if (!tab) return;
  app.samples = { draw: null, checkin: null, available: null, assignments: null };
  const kinds = classItems('eval_samples');
  const kindColor = Object.fromEntries(kinds.map((k) => [k.value, k.color]));

  map.addSource('overlay:sample-draw', { type: 'geojson', data: EMPTY });
  map.addSource('overlay:sample-checkin', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'overlay:sample-draw-halo', type: 'circle', source: 'overlay:sample-draw',
    paint: { 'circle-color': '#fff', 'circle-radius': 11, 'circle-stroke-color': ['coalesce', ['get', '_color'], '#c2255c'], 'circle-stroke-width': 3 } });
  map.addLayer({ id: 'overlay:sample-draw', type: 'circle', source: 'overlay:sample-draw',
    paint: { 'circle-color': ['coalesce', ['get', '_color'], '#c2255c'], 'circle-radius': 6 } });
  map.addLayer({ id: 'overlay:sample-draw-label', type: 'symbol', source: 'overlay:sample-draw',
    layout: { 'text-field': ['case', ['!=', ['coalesce', ['get', 'inspector'], ''], ''], ['concat', ['get', 'name'], '\n检查员：', ['get', 'inspector']], ['get', 'name']],
      'text-size': 12, 'text-offset': [0, 1.4], 'text-anchor': 'top', 'text-optional': true },
    paint: { 'text-color': '#343a40', 'text-halo-color': '#fff', 'text-halo-width': 1.6 } });
  map.addLayer({ id: 'overlay:sample-checkin', type: 'circle', source: 'overlay:sample-checkin',
    paint: { 'circle-color': ['case', ['get', 'inside'], '#2b8a3e', '#c92a2a'], 'circle-radius': 7, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2.5 } });
  pointer(map, 'overlay:sample-draw');

  // ---- layer and legend with counts
  const layerLegend = el('div', { id: 'sample-kinds-legend' }, legend(kinds, 'circle'));
  const quotas = new Map();
  const avail = new Map();
  const grid = el('div', { class: 'quota-grid', id: 'sample-quotas' }, el('b', {}, '点位类型'), el('b', {}, '抽取数'), el('b', { class: 'avail' }, '现有'));
  for (const k of kinds) {
    const input = el('input', { type: 'number', min: 0, max: 1000, step: 1, value: 0, 'aria-label': `${k.label}抽取数`, dataset: { kind: k.value } });
    const have = el('span', { class: 'avail' }, '—');
    quotas.set(k.value, input);
    avail.set(k.value, have);
    grid.append(el('span', {}, Object.assign(el('span', { class: 'muck-alarm-kind' }), { style: `background:${k.color}` }), k.label), input, have);
  }
  async function countPoints() {
    if (!collection('eval_samples')) return;
    try {
      const fc = await getJSON('/ogc/collections/eval_samples/items?limit=10000&properties=code,kind');
      const n = {};
      for (const f of fc.features || []) n[f.properties.kind] = (n[f.properties.kind] || 0) + 1;
      layerLegend.replaceChildren(legend(kinds.map((k) => ({ ...k, count: n[k.value] || 0 })), 'circle', 'sample-kind-counts'));
      for (const [k, node] of avail) node.textContent = String(n[k] || 0);
      app.samples.available = n;
    } catch { /* legend without counts */ }
  }
  onFirstOpen('special', countPoints);

  // ---- draw
  const area = el('select', { id: 'esp-area' }, el('option', { value: '' }, '全区'));
  districtAreas().then((areas) => area.append(...areas.map((a) => el('option', { value: a.code }, `${a.level === 'community' ? '　' : ''}${a.name}（${a.code}）`))));
  const seed = el('input', { type: 'number', id: 'esp-seed', step: 1, value: districtToday().replaceAll('-', '') });
  const dNote = el('p', { class: 'note', id: 'sample-draw-note' }, has('/api/eval-samples/draw') ? '同一种子、同一批点位抽取结果相同；每次抽取均留痕备查。' : '样本抽取服务暂不可用');
  const dList = el('ul', { class: 'list', id: 'sample-draw-list' });
  const pointSel = el('select', { id: 'checkin-point' });
  let current = null; // the draw shown
  const assignees = new Map(); // point code -> inspector, of the draw shown

  // ---- 分派检查员 (a planner binds the drawn points to inspectors)
  const canAssign = has(ASSIGN_PATH);
  const assignee = el('input', { type: 'text', id: 'sample-assignee', placeholder: '检查员姓名', maxlength: 40, list: 'sample-assignee-names' });
  const names = el('datalist', { id: 'sample-assignee-names' });
  const pickAll = el('input', { type: 'checkbox', id: 'sample-pick-all' });
  const assignAll = el('button', { type: 'button', id: 'sample-assign-all', class: 'primary', disabled: true }, '分派全部点位');
  const assignPicked = el('button', { type: 'button', id: 'sample-assign-selected', disabled: true }, '分派勾选点位');
  const aNote = el('p', { class: 'note', id: 'sample-assign-note' }, canAssign ? '抽取后可将点位分派给检查员（需“规划员”密钥）。' : '点位分派服务暂不可用');
  const assignBox = el('div', { id: 'sample-assign', hidden: true },
    el('h4', {}, '分派检查员'),
    el('div', { class: 'row' }, el('label', { for: 'sample-assignee' }, '检查员'), assignee, names),
    el('label', { class: 'toggle' }, pickAll, ' 全选列表中的点位'),
    el('div', { class: 'buttons' }, assignAll, assignPicked), aNote);
  const picked = () => [...dList.querySelectorAll('input.sample-pick:checked')].map((b) => b.dataset.code);
  const syncButtons = () => {
    const n = picked().length;
    assignAll.disabled = !canAssign || !current;
    assignPicked.disabled = !canAssign || !n;
    assignPicked.textContent = n ? `分派勾选的 ${n} 个点位` : '分派勾选点位';
    pickAll.checked = !!current && n === current.points.length;
  };
  pickAll.addEventListener('change', () => {
    for (const b of dList.querySelectorAll('input.sample-pick')) b.checked = pickAll.checked;
    syncButtons();
  });
  const who = (code) => assignees.get(code) || '';

  /** The drawn points on the map and in the list, each with its inspector (or 未分派). */
  function showDrawn() {
    const features = current.points.map((p) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] },
      properties: { ...p, inspector: who(p.code), _color: kindColor[p.kind] || '#c2255c' } }));
    map.getSource('overlay:sample-draw').setData({ type: 'FeatureCollection', features });
    const ticked = new Set(picked());
    dList.replaceChildren(...current.points.map((p) => {
      const box = el('input', { type: 'checkbox', class: 'sample-pick', dataset: { code: p.code }, checked: ticked.has(p.code),
        'aria-label': `选择 ${p.name}`, onclick: (e) => e.stopPropagation(), onchange: syncButtons });
      return el('li', { class: 'clickable', dataset: { code: p.code, inspector: who(p.code) }, onclick: () => map.flyTo({ center: [p.lon, p.lat], zoom: Math.max(map.getZoom(), 16) }) },
        el('div', { class: 'title' }, box, el('span', { class: 'muck-alarm-kind', style: `background:${kindColor[p.kind] || '#c2255c'}` }), `${p.name}（${p.code}）`),
        el('div', { class: 'meta' }, `${p.kind_name}${p.address ? ` · ${p.address}` : ''} · 打卡半径 ${metres(p.radius_m)}`),
        el('div', { class: `assignee${who(p.code) ? '' : ' none'}` }, who(p.code) ? `检查员：${who(p.code)}` : '未分派'));
    }));
    syncButtons();
  }

  async function assign(codes) {
    const name = assignee.value.trim();
    if (!current) return;
    if (!name) { aNote.textContent = '请填写检查员姓名'; assignee.focus(); return; }
    if (!codes.length) { aNote.textContent = '请先在列表中勾选点位'; return; }
    aNote.textContent = '正在分派…';
    const url = ASSIGN_PATH.replace('{draw_id}', encodeURIComponent(current.id));
    let doc;
    try {
      doc = await send('POST', url, { assignments: codes.map((point) => ({ point, inspector: name })) }, { role: 'planner' });
    } catch (error) { aNote.textContent = `分派失败：${explain(error)}`; return; }
    assignees.clear();
    for (const a of doc.assignments) assignees.set(a.point, a.inspector);
    for (const b of dList.querySelectorAll('input.sample-pick')) b.checked = false;
    showDrawn();
    if (![...names.options].some((o) => o.value === name)) names.append(el('option', { value: name }));
    const counts = {};
    for (const p of current.points) counts[who(p.code) || '未分派'] = (counts[who(p.code) || '未分派'] || 0) + 1;
    aNote.textContent = `已将 ${codes.length} 个点位分派给 ${name}。抽取 #${current.id}：${Object.entries(counts).map(([k, n]) => `${k} ${n} 个`).join('，')}。`;
    app.samples.assignments = Object.fromEntries(assignees);
    inspectorFor();
  }
  assignAll.addEventListener('click', () => assign(current ? current.points.map((p) => p.code) : []));
  assignPicked.addEventListener('click', () => assign(picked()));

  async function drawSample() {
    const body = { kinds: {}, seed: Number(seed.value) };
    for (const [k, input] of quotas) if (Number(input.value) > 0) body.kinds[k] = Number(input.value);
    if (area.value) body.area = area.value;
    if (!Object.keys(body.kinds).length) { dNote.textContent = '请至少给一类点位填写抽取数'; return; }
    if (!Number.isSafeInteger(body.seed)) { dNote.textContent = '随机种子应为整数'; return; }
    dNote.textContent = '正在抽取…';
    let doc;
    try { doc = await send('POST', '/api/eval-samples/draw', body, { role: 'inspector' }); } catch (error) { dNote.textContent = `抽取失败：${explain(error)}`; return; }
    current = doc;
    assignees.clear();
    app.samples.assignments = null;
    for (const b of dList.querySelectorAll('input.sample-pick')) b.checked = false;
    showDrawn();
    assignBox.hidden = false;
    aNote.textContent = canAssign ? `抽取 #${doc.id} 的 ${doc.points.length} 个点位均未分派。` : '点位分派服务暂不可用';
    const byKind = {};
    for (const p of doc.points) byKind[p.kind_name] = (byKind[p.kind_name] || 0) + 1;
    dNote.replaceChildren(kv([['抽取编号', `#${doc.id}`], ['时间', dateTime(doc.drawn_at)], ['抽取人', doc.actor], ['随机种子', String(doc.seed)],
      ['范围', area.value ? area.selectedOptions[0].textContent.trim() : '全区'], ['结果', `${doc.points.length} 个点位（${Object.entries(byKind).map(([k, n]) => `${k} ${n}`).join('，')}）`],
      ['点位库指纹', String(doc.pool_sha256 || '').slice(0, 16)]]));
    pointSel.replaceChildren(...doc.points.map((p) => el('option', { value: p.code }, `${p.name}（${p.code}）`)));
    inspectorFor();
    app.samples.draw = doc;
    if (doc.points.length) fitTo(map, doc.points.map((p) => ({ geometry: { type: 'Point', coordinates: [p.lon, p.lat] } })), 16);
  }

  // ---- 定位打卡
  const crs = el('select', { id: 'checkin-crs' }, ...CRS_CHOICES.map(([v, t]) => el('option', { value: v }, t)));
  const lon = el('input', { type: 'number', id: 'checkin-lon', step: 'any', placeholder: '经度' });
  const lat = el('input', { type: 'number', id: 'checkin-lat', step: 'any', placeholder: '纬度' });
  const cOut = el('div', { id: 'checkin-out' });
  // who checks in: the point's inspector once it is assigned (the verifier may type another name)
  const inspector = el('input', { type: 'text', id: 'checkin-inspector', maxlength: 40, placeholder: '默认为密钥账号', list: 'sample-assignee-names' });
  function inspectorFor() { inspector.value = who(pointSel.value); }
  pointSel.addEventListener('change', inspectorFor);
  const pick = el('button', { type: 'button', id: 'checkin-pick' }, '在地图上点选');
  pick.addEventListener('click', () => {
    window.citygrid.mode = 'checkin';
    map.getCanvas().style.cursor = 'crosshair';
    cOut.replaceChildren(el('p', { class: 'note' }, '请在地图上点击打卡位置'));
    map.once('click', (e) => {
      e.citygridHandled = true;
      lon.value = e.lngLat.lng.toFixed(7);
      lat.value = e.lngLat.lat.toFixed(7);
      crs.value = 'EPSG:4490';
      map.getCanvas().style.cursor = '';
      setTimeout(() => { window.citygrid.mode = null; }, 0);
      cOut.replaceChildren();
    });
  });
  async function checkin() {
    if (!pointSel.value) { cOut.replaceChildren(el('p', { class: 'note warn' }, '请先抽取点位并选择一个点位')); return; }
    if (lon.value === '' || lat.value === '') { cOut.replaceChildren(el('p', { class: 'note warn' }, '请填写或在地图上点选打卡位置')); return; }
    let r;
    try {
      r = await send('POST', '/api/eval-samples/checkin', { point: pointSel.value, lon: Number(lon.value), lat: Number(lat.value), crs: crs.value,
        inspector: inspector.value.trim() || undefined }, { role: 'inspector' });
    } catch (error) { cOut.replaceChildren(el('p', { class: 'note warn' }, `打卡失败：${explain(error)}`)); return; }
    map.getSource('overlay:sample-checkin').setData({ type: 'FeatureCollection', features: [{ type: 'Feature',
      geometry: { type: 'Point', coordinates: [r.lon, r.lat] }, properties: { inside: r.inside } }] });
    cOut.replaceChildren(el('div', { class: `checkin-result ${r.inside ? 'inside' : 'outside'}`, id: 'checkin-verdict' },
      r.inside ? '✓ 打卡有效：位于点位范围内' : '✗ 打卡无效：不在点位范围内'),
    kv([['点位', `${r.name}（${r.point}）`], ['距离', metres(r.distance_m)], ['判定', r.rule === 'polygon' ? '点位范围面' : `打卡半径 ${metres(r.radius_m)}`],
      ['坐标系', r.crs], ['打卡时间', dateTime(r.ts)], ['打卡人', r.inspector],
      ['负责检查员', (r.assigned_to || []).join('、') || '未分派'],
      ['是否负责人打卡', r.assigned ? '是' : (r.assigned_to || []).length ? `否（此点位分派给 ${r.assigned_to.join('、')}）` : '否（此点位未分派）']]));
    app.samples.checkin = r;
  }

  map.on('click', 'overlay:sample-draw', (e) => {
    if (window.citygrid.mode || e.citygridHandled) return;
    e.citygridHandled = true;
    const p = e.features[0].properties;
    pointSel.value = p.code;
    inspectorFor();
    const name = who(p.code);
    new maplibregl.Popup({ offset: 10, maxWidth: '18rem' }).setLngLat(e.features[0].geometry.coordinates)
      .setDOMContent(el('div', { dataset: { testid: 'sample-point-card' } },
        el('div', { class: 'popup-title' }, `${p.name}（${p.code}）`),
        kv([['类型', p.kind_name], ['打卡半径', metres(Number(p.radius_m))], ['检查员', name || '未分派'],
          ['抽取', current ? `#${current.id}` : null]]))).addTo(map);
    app.samples.popup = { code: p.code, inspector: name || null };
  });

  tab.append(el('div', { class: 'panel', id: 'panel-samples' }, el('h3', {}, '评价样本点位'),
    layerToggle(map, 'eval_samples', '显示十四类样本点位', 'sample-layer-toggle'), layerLegend,
    el('h4', {}, '按类型抽取'), grid,
    el('div', { class: 'row' }, el('label', { for: 'esp-area' }, '范围'), area),
    el('div', { class: 'row' }, el('label', { for: 'esp-seed' }, '随机种子'), seed),
    el('div', { class: 'buttons' }, el('button', { type: 'button', id: 'sample-draw-run', class: 'primary', disabled: !has('/api/eval-samples/draw'), onclick: drawSample }, '抽取'),
      el('button', { type: 'button', onclick: () => { map.getSource('overlay:sample-draw').setData(EMPTY); map.getSource('overlay:sample-checkin').setData(EMPTY); } }, '清除地图')),
    dNote, dList, assignBox,
    el('h4', {}, '定位打卡核验'),
    el('div', { class: 'row' }, el('label', { for: 'checkin-point' }, '点位'), pointSel),
    el('div', { class: 'row' }, el('label', { for: 'checkin-inspector' }, '打卡人'), inspector),
    el('div', { class: 'row' }, el('label', { for: 'checkin-crs' }, '坐标系'), crs),
    el('div', { class: 'row' }, el('label', { for: 'checkin-lon' }, '经度'), lon),
    el('div', { class: 'row' }, el('label', { for: 'checkin-lat' }, '纬度'), lat),
    el('div', { class: 'buttons' }, pick, el('button', { type: 'button', id: 'checkin-run', onclick: checkin, disabled: !has('/api/eval-samples/checkin') }, '核验打卡')),
    cOut));
}
