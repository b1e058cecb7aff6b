// Live operations: vehicles moving (the OGC vehicles collection, last known positions, polled), alarms
// listed and drawn as they arrive (Server-Sent Events from /api/alarms/stream), and track playback
// with a time slider and a speed.
import { collection, explain, getJSON, has, pathLike } from './api.js';
import { $, dateTime, el, localInput, metres, toast } from './ui.js';
import { lineLength } from './measure.js';
import { FILLED_AT_START, setOverlayVisible } from './overlays.js';

const POLL_MS = 3000;
// Online = reported within this many minutes (the signal timeout of the fence engine's default).
const ONLINE_MINUTES = 10;
const VEHICLE_COLORS = {
  household_waste: '#2f9e44', kitchen_waste: '#8d6e63', muck: '#e8590c', enforcement: '#1971c2', sweeper: '#0c8599',
  phone: '#7048e8', body_camera: '#c2255c',
};

function colorExpr() {
  const expr = ['match', ['get', 'kind']];
  for (const [k, c] of Object.entries(VEHICLE_COLORS)) expr.push(k, c);
  expr.push('#495057');
  return expr;
}

/** One alarm in a common shape, whatever envelope (Feature, row, SSE payload) it came in. */
export function normaliseAlarm(raw) {
  if (!raw || typeof raw !== 'object') return null;
  const a = raw.type === 'Feature' ? { ...(raw.properties || {}), id: raw.id ?? raw.properties?.id, geometry: raw.geometry } : { ...raw };
  const g = a.geometry || a.location || a.geom;
  let lon = a.lon;
  let lat = a.lat;
  if (g && g.type === 'Point') [lon, lat] = g.coordinates;
  return { ...a, lon, lat };
}

/** Track points [{t (ms), lon, lat, speed}] from the track answer, whichever GeoJSON shape it takes. */
export function trackPoints(doc) {
  const out = [];
  const time = (v) => (typeof v === 'number' ? (v < 1e12 ? v * 1000 : v) : Date.parse(v));
  const features = doc?.type === 'FeatureCollection' ? doc.features : doc?.type === 'Feature' ? [doc] : [];
  for (const f of features) {
    const p = f.properties || {};
    const g = f.geometry;
    if (!g) continue;
    if (g.type === 'Point') {
      out.push({ t: time(p.ts ?? p.time ?? p.t), lon: g.coordinates[0], lat: g.coordinates[1], speed: p.speed_kmh });
    } else if (g.type === 'LineString') {
      const times = p.times || p.timestamps || p.ts || [];
      const speeds = p.speeds || p.speed_kmh || [];
      g.coordinates.forEach((c, i) => {
        const t = times[i] ?? (c.length > 3 ? c[3] : c[2]);
        out.push({ t: time(t), lon: c[0], lat: c[1], speed: Array.isArray(speeds) ? speeds[i] : undefined });
      });
    }
  }
  return out.filter((p) => Number.isFinite(p.t)).sort((a, b) => a.t - b.t);
}

export function initLive({ map, labels, maplibregl }) {
  const tab = $('#tab-live');
  const alarmName = (k) => (labels.alarm_kind || {})[k] || k;
  const vehicleKind = (k) => (labels.vehicle_kind || {})[k] || k;
  const badge = $('#alarm-badge');
  let unseen = 0;

  // ---- vehicles
  const showVehicles = el('input', { type: 'checkbox', checked: true, id: 'show-vehicles' });
  const vehicleNote = el('p', { class: 'note' });
  const datalist = el('datalist', { id: 'vehicle-ids' });
  map.addSource('overlay:vehicles', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'overlay:vehicles', type: 'circle', source: 'overlay:vehicles',
    paint: { 'circle-color': ['case', ['get', '_stale'], '#adb5bd', colorExpr()], 'circle-opacity': ['case', ['get', '_stale'], 0.6, 1],
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 4, 16, 8],
      'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
  map.addLayer({ id: 'overlay:vehicles-label', type: 'symbol', source: 'overlay:vehicles', minzoom: 14,
    layout: { 'text-field': ['coalesce', ['get', 'plate'], ['to-string', ['get', 'id']]], 'text-size': 11, 'text-offset': [0, 1.3],
      'text-font': ['sans-serif'], 'text-anchor': 'top' },
    paint: { 'text-color': '#212529', 'text-halo-color': '#fff', 'text-halo-width': 1.5 } });
  const vehiclesAvailable = !!collection('vehicles');
  let timer = null;
  let lastSignature = null;
  const lastReport = new Map(); // vehicle id → its last fix (ms): playback defaults to the vehicle's last data
  async function poll() {
    try {
      const doc = await getJSON('/ogc/collections/vehicles/items?limit=2000');
      const since = Date.now() - ONLINE_MINUTES * 60000;
      const features = (doc.features || []).filter((f) => f.geometry).map((f) => {
        const last = Date.parse(f.properties?.last_ts ?? f.properties?.ts ?? '');
        return { ...f, properties: { ...f.properties, id: f.id ?? f.properties?.id, _stale: !(last >= since) } };
      });
      // a poll that changed nothing (the usual case between fixes, and always on data that ended) redraws
      // nothing: setData re-parses the source in the worker and keeps the map from going idle
      const signature = `${(doc.features || []).length}:` + features.map((f) => `${f.properties.id}|${f.geometry.coordinates}|${f.properties.last_ts ?? f.properties.ts}|${f.properties._stale}`).join(';');
      if (signature !== lastSignature) {
        map.getSource('overlay:vehicles').setData({ type: 'FeatureCollection', features });
        datalist.replaceChildren(...(doc.features || []).map((f) => el('option', { value: f.id ?? f.properties?.id }, f.properties?.plate || '')));
        lastSignature = signature;
      }
      for (const f of features) lastReport.set(String(f.properties.id), Date.parse(f.properties.last_ts ?? f.properties.ts ?? ''));
      const online = features.filter((f) => !f.properties._stale).length;
      const latest = Math.max(...features.map((f) => Date.parse(f.properties.last_ts ?? f.properties.ts ?? '') || 0), 0);
      vehicleNote.textContent = `在线车辆 ${online} 辆（${ONLINE_MINUTES} 分钟内有定位），离线 ${features.length - online} 辆（灰色）`
        + (latest ? ` · 最近一次定位 ${dateTime(latest)}` : '') + ` · ${dateTime(new Date())} 更新`;
      window.citygrid.vehicles = { online, offline: features.length - online };
    } catch (error) {
      vehicleNote.textContent = `车辆位置加载失败：${explain(error)}`;
    }
  }
  function schedule() {
    clearInterval(timer);
    setOverlayVisible(map, 'overlay:vehicles', showVehicles.checked);
    setOverlayVisible(map, 'overlay:vehicles-label', showVehicles.checked);
    if (showVehicles.checked && vehiclesAvailable) { poll(); timer = setInterval(poll, POLL_MS); }
  }
  if (!vehiclesAvailable) vehicleNote.textContent = '车辆位置服务暂不可用';
  showVehicles.addEventListener('change', schedule);
  map.on('click', 'overlay:vehicles', (e) => {
    const p = e.features[0].properties;
    new maplibregl.Popup({ offset: 10 }).setLngLat(e.lngLat).setDOMContent(el('div', {},
      el('div', { class: 'popup-title' }, p.plate || p.id), el('div', {}, `${vehicleKind(p.kind)} · ${p.id}`),
      (p.last_ts || p.ts) ? el('div', { class: `note${p._stale ? ' warn' : ''}` }, `最近定位 ${dateTime(p.last_ts || p.ts)}${p._stale ? '（离线）' : ''}`) : null,
      el('button', { type: 'button', onclick: () => {
        // playback lives in the 实时运行 tab: show it, whatever tab (or a hidden sidebar) the click came from
        document.body.classList.remove('side-hidden');
        document.querySelector('.tabs button[data-tab=live]')?.click();
        vehicle.value = p.id;
        windowToLast(Date.parse(p.last_ts || p.ts || ''));
        loadTrack();
        vehicle.scrollIntoView({ block: 'center' });
      } }, '轨迹回放'))).addTo(map);
  });

  // ---- alarms
  const alarmList = el('ul', { class: 'list', id: 'alarm-list' });
  const alarmNote = el('p', { class: 'note' });
  const alarms = new Map();
  map.addSource('overlay:alarms', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'overlay:alarms-halo', type: 'circle', source: 'overlay:alarms',
    paint: { 'circle-color': '#fa5252', 'circle-opacity': 0.25, 'circle-radius': 14 } });
  map.addLayer({ id: 'overlay:alarms', type: 'circle', source: 'overlay:alarms',
    paint: { 'circle-color': ['case', ['get', '_open'], '#e03131', '#868e96'], 'circle-radius': 5.5, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });

  // filter: kind, state and time (default: open alarms of today), applied to the list and the map alike
  const kindSel = el('select', { id: 'alarm-kind' }, el('option', { value: '' }, '全部类型'));
  const stateSel = el('select', { id: 'alarm-state' }, el('option', { value: 'open' }, '进行中'), el('option', { value: '' }, '全部状态'),
    el('option', { value: 'closed' }, '已结束'));
  const timeSel = el('select', { id: 'alarm-time' }, el('option', { value: 'today' }, '今日'), el('option', { value: '24h' }, '近 24 小时'),
    el('option', { value: '7d' }, '近 7 天'));
  if (has('/api/alarms/kinds')) {
    getJSON('/api/alarms/kinds').then((doc) => kindSel.append(...(doc.kinds || []).map((k) => el('option', { value: k.kind }, k.label)))).catch(() => {});
  }
  function sinceMs() {
    if (timeSel.value === '24h') return Date.now() - 86400000;
    if (timeSel.value === '7d') return Date.now() - 7 * 86400000;
    const d = new Date();
    d.setHours(0, 0, 0, 0);
    return d.getTime();
  }
  function shown(a) {
    const t = Date.parse(a.start || a.ts || a.created_at || '');
    return (!kindSel.value || a.kind === kindSel.value)
      && (!stateSel.value || (stateSel.value === 'open') === !a.end)
      && !(t < sinceMs());
  }
  // Alarms arrive in bursts (500 + 200 at start-up, then the stream): each arrival only marks the map and the
  // list's filter stale, and both are redone once per animation frame — one setData, not one per alarm.
  let pending = 0;
  function applyFilter() {
    if (pending) { cancelAnimationFrame(pending); pending = 0; }
    let n = 0;
    for (const li of alarmList.children) {
      const a = alarms.get(li.dataset.key);
      const on = a ? shown(a) : true;
      li.hidden = !on;
      if (on) n += 1;
    }
    drawAlarms();
    alarmNote.textContent = `显示 ${n} 条（共载入 ${alarms.size} 条）`;
    window.citygrid.alarmsShown = n;
  }
  for (const sel of [kindSel, stateSel, timeSel]) sel.addEventListener('change', () => { if (sel === timeSel) loadAlarms(); applyFilter(); });

  function refresh() {
    if (pending) return;
    pending = requestAnimationFrame(() => { pending = 0; applyFilter(); });
  }

  function drawAlarms() {
    const features = [...alarms.values()].filter((a) => Number.isFinite(a.lon) && shown(a)).map((a) => ({
      type: 'Feature', properties: { id: a.id, kind: a.kind, vehicle_id: a.vehicle_id, _open: !a.end, start: a.start, end: a.end || null, fence_id: a.fence_id ?? null },
      geometry: { type: 'Point', coordinates: [a.lon, a.lat] } }));
    map.getSource('overlay:alarms').setData({ type: 'FeatureCollection', features });
  }

  /** Plays back the vehicle's track around an alarm (30 minutes either side) in the 实时运行 tab. */
  function trackAround(a) {
    document.body.classList.remove('side-hidden');
    document.querySelector('.tabs button[data-tab=live]')?.click();
    const t = Date.parse(a.start);
    const e = a.end ? Date.parse(a.end) : t;
    vehicle.value = a.vehicle_id;
    from.value = localInput(new Date(t - 30 * 60000));
    to.value = localInput(new Date(e + 30 * 60000));
    loadTrack();
  }
  map.on('click', 'overlay:alarms', (e) => {
    e.citygridHandled = true;
    const p = e.features[0].properties;
    const a = { ...p, end: p.end || null };
    new maplibregl.Popup({ offset: 10, maxWidth: '20rem' }).setLngLat(e.lngLat).setDOMContent(el('div', { dataset: { testid: 'alarm-card' } },
      el('div', { class: 'popup-title' }, `${alarmName(p.kind)} · ${p.vehicle_id}`),
      el('div', {}, `开始 ${dateTime(p.start)}`), el('div', {}, p.end ? `结束 ${dateTime(p.end)}` : '进行中'),
      p.fence_id ? el('div', { class: 'note' }, `围栏 #${p.fence_id}`) : null,
      el('button', { type: 'button', onclick: () => trackAround(a) }, '查看前后轨迹'))).addTo(map);
  });

  // device alarms (满溢, 位移, 倾斜, 超标, 离线) share the stream; their ids are their own table's
  const domId = (a) => `${a.source === 'device' ? 'd' : ''}${a.id ?? ''}`;
  const who = (a) => (a.source === 'device' ? `设备 ${a.device_id ?? ''}` : `${a.vehicle_id ?? ''}`);

  function alarmItem(a, fresh) {
    const li = el('li', { class: `alarm${a.end ? ' closed' : ''}${fresh ? ' fresh' : ''}`, dataset: { alarmId: domId(a), kind: a.kind, source: a.source || 'vehicle', key: a._key } },
      el('div', { class: 'title' }, `${a.label || alarmName(a.kind)} · ${who(a)}`),
      el('div', { class: 'meta' }, `${dateTime(a.start || a.ts || a.created_at)}${a.end ? ` 至 ${dateTime(a.end)}` : ' · 进行中'}${a.fence_id ? ` · 围栏 #${a.fence_id}` : ''}`));
    if (Number.isFinite(a.lon)) {
      li.append(el('div', { class: 'actions' }, el('button', { type: 'button', onclick: () => map.flyTo({ center: [a.lon, a.lat], zoom: Math.max(map.getZoom(), 16) }) }, '定位')));
    }
    return li;
  }

  function addAlarm(raw, fresh) {
    const a = normaliseAlarm(raw);
    if (!a) return;
    const key = a.id !== undefined ? domId(a) : `${a.kind}|${a.vehicle_id ?? a.device_id}|${a.start}`;
    if (a.op === 'retracted') {
      alarms.delete(key);
      alarmList.querySelector(`li[data-alarm-id="${CSS.escape(domId(a))}"]`)?.remove();
      refresh();
      return;
    }
    const known = alarms.has(key);
    a._key = String(key);
    alarms.set(String(key), a);
    const node = alarmItem(a, fresh && !known);
    const old = alarmList.querySelector(`li[data-alarm-id="${CSS.escape(domId(a))}"]`);
    if (old && a.id !== undefined) old.replaceWith(node); else alarmList.prepend(node);
    while (alarmList.children.length > 200) alarmList.lastChild.remove();
    if (fresh && !known) {
      toast(`告警：${a.label || alarmName(a.kind)} · ${a.source === 'device' ? '' : '车辆 '}${who(a)}`, 'alarm', 6000);
      if (a.source === 'device') window.dispatchEvent(new CustomEvent('citygrid:device-alarm', { detail: a }));
      if (!$('#tab-live').classList.contains('active')) { unseen += 1; badge.textContent = unseen; badge.hidden = false; }
    }
    node.hidden = !shown(a);
    refresh();
  }
  $('.tabs button[data-tab="live"]').addEventListener('click', () => { unseen = 0; });

  async function loadAlarms() {
    if (!has('/api/alarms')) { alarmNote.textContent = '告警服务暂不可用'; return; }
    const since = new Date(Math.min(sinceMs(), Date.now() - 24 * 3600 * 1000)).toISOString();
    try {
      const doc = await getJSON(`/api/alarms?since=${encodeURIComponent(since)}&limit=500`);
      const items = doc.features || doc.alarms || doc.items || (Array.isArray(doc) ? doc : []);
      items.forEach((a) => addAlarm(a, false)); // oldest first: each is put on top
      if (has('/api/devices/alarms')) {
        const open = await getJSON('/api/devices/alarms?state=open&limit=200').catch(() => ({ alarms: [] }));
        (open.alarms || []).reverse().forEach((a) => addAlarm(a, false));
      }
      applyFilter();
      if (!items.length) alarmNote.textContent = '所选时段无告警';
    } catch (error) {
      alarmNote.textContent = `告警加载失败：${explain(error)}`;
    }
  }

  function stream() {
    if (!has('/api/alarms/stream')) return;
    const source = new EventSource('/api/alarms/stream');
    const onData = (event) => {
      if (!event.data) return;
      try {
        const payload = JSON.parse(event.data);
        for (const a of Array.isArray(payload) ? payload : [payload]) addAlarm(a, true);
      } catch { /* keep-alive or non-JSON comment */ }
    };
    source.addEventListener('message', onData);
    source.addEventListener('alarm', onData);
    source.addEventListener('open', () => { window.citygrid.alarmStreamOpen = true; });
    window.citygrid.alarmStream = source;
    window.addEventListener('beforeunload', () => source.close());
  }

  // ---- track playback
  const vehicle = el('input', { type: 'text', id: 'track-vehicle', list: 'vehicle-ids', placeholder: '车辆编号' });
  const now = new Date();
  const from = el('input', { type: 'datetime-local', id: 'track-from', value: localInput(new Date(now - 2 * 3600 * 1000)) });
  const to = el('input', { type: 'datetime-local', id: 'track-to', value: localInput(now) });
  /** The four hours up to a vehicle's last fix, not up to "now": a vehicle that reported yesterday still plays back. */
  function windowToLast(last) {
    if (!Number.isFinite(last)) return;
    to.value = localInput(new Date(last + 60000));
    from.value = localInput(new Date(last - 4 * 3600000));
  }
  vehicle.addEventListener('change', () => windowToLast(lastReport.get(vehicle.value.trim())));
  const speedSel = el('select', { id: 'track-speed' }, ...[1, 10, 30, 60, 300].map((s) => el('option', { value: s, selected: s === 30 }, `${s}×`)));
  const slider = el('input', { type: 'range', min: 0, max: 1000, value: 0, id: 'track-slider', disabled: true });
  const play = el('button', { type: 'button', id: 'track-play', disabled: true }, '播放');
  const clock = el('span', { class: 'playback-time' }, '—');
  const trackNote = el('p', { class: 'note' });
  const canTrack = !!pathLike('/api/vehicles/{}/track');
  map.addSource('overlay:track', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'overlay:track-all', type: 'line', source: 'overlay:track', filter: ['==', ['get', 'part'], 'all'],
    paint: { 'line-color': '#adb5bd', 'line-width': 3 } });
  map.addLayer({ id: 'overlay:track-done', type: 'line', source: 'overlay:track', filter: ['==', ['get', 'part'], 'done'],
    paint: { 'line-color': '#1c7ed6', 'line-width': 4 } });
  const head = el('div', { class: 'vehicle-marker' });
  head.style.background = '#1c7ed6';
  const headMarker = new maplibregl.Marker({ element: head });
  let points = [];
  let t0 = 0;
  let t1 = 0;
  let current = 0;
  let playing = false;
  let lastFrame = 0;

  function positionAt(t) {
    if (!points.length) return null;
    let i = points.findIndex((p) => p.t >= t);
    if (i <= 0) i = i === 0 ? 0 : points.length - 1;
    const b = points[i];
    const a = points[Math.max(0, i - 1)];
    const f = b.t === a.t ? 1 : Math.min(1, Math.max(0, (t - a.t) / (b.t - a.t)));
    return { lon: a.lon + (b.lon - a.lon) * f, lat: a.lat + (b.lat - a.lat) * f, index: i, speed: b.speed };
  }

  function show(t) {
    current = t;
    const pos = positionAt(t);
    if (!pos) return;
    headMarker.setLngLat([pos.lon, pos.lat]).addTo(map);
    const done = points.filter((p) => p.t <= t).map((p) => [p.lon, p.lat]);
    done.push([pos.lon, pos.lat]);
    map.getSource('overlay:track').setData({ type: 'FeatureCollection', features: [
      { type: 'Feature', properties: { part: 'all' }, geometry: { type: 'LineString', coordinates: points.map((p) => [p.lon, p.lat]) } },
      ...(done.length > 1 ? [{ type: 'Feature', properties: { part: 'done' }, geometry: { type: 'LineString', coordinates: done } }] : []),
    ] });
    clock.textContent = `${dateTime(new Date(t))}${Number.isFinite(pos.speed) ? ` · ${Math.round(pos.speed)} km/h` : ''}`;
    slider.value = Math.round(((t - t0) / Math.max(1, t1 - t0)) * 1000);
  }

  function frame(ts) {
    if (!playing) return;
    const dt = lastFrame ? ts - lastFrame : 0;
    lastFrame = ts;
    const next = current + dt * Number(speedSel.value);
    if (next >= t1) { show(t1); playing = false; play.textContent = '播放'; return; }
    show(next);
    requestAnimationFrame(frame);
  }

  async function loadTrack() {
    const id = vehicle.value.trim();
    if (!id) { trackNote.textContent = '请输入车辆编号'; return; }
    const path = pathLike('/api/vehicles/{}/track');
    const url = `${path.replace(/\{[^}]+\}/, encodeURIComponent(id))}?from=${encodeURIComponent(new Date(from.value).toISOString())}&to=${encodeURIComponent(new Date(to.value).toISOString())}`;
    try {
      points = trackPoints(await getJSON(url));
    } catch (error) {
      trackNote.textContent = `轨迹加载失败：${explain(error)}`;
      return;
    }
    if (points.length < 2) { trackNote.textContent = '该时段内没有轨迹'; slider.disabled = play.disabled = true; return; }
    t0 = points[0].t;
    t1 = points[points.length - 1].t;
    const line = { type: 'LineString', coordinates: points.map((p) => [p.lon, p.lat]) };
    trackNote.textContent = `${points.length} 个定位点 · 里程 ${metres(lineLength(line))} · ${Math.round((t1 - t0) / 60000)} 分钟`;
    slider.disabled = play.disabled = false;
    const xs = points.map((p) => p.lon);
    const ys = points.map((p) => p.lat);
    map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 80, maxZoom: 17, duration: 0 });
    show(t0);
    window.citygrid.track = { points: points.length };
  }

  play.addEventListener('click', () => {
    playing = !playing;
    play.textContent = playing ? '暂停' : '播放';
    if (playing) {
      if (current >= t1) current = t0;
      lastFrame = 0;
      requestAnimationFrame(frame);
    }
  });
  slider.addEventListener('input', () => show(t0 + (slider.value / 1000) * (t1 - t0)));

  tab.append(el('div', {},
    el('h3', {}, '车辆'), el('div', { class: 'row' }, el('label', {}, showVehicles, ' 显示实时车辆')), vehicleNote, datalist,
    el('h3', {}, '轨迹回放'),
    canTrack ? null : el('p', { class: 'note warn' }, '轨迹服务暂不可用'),
    el('div', { class: 'row' }, el('label', { for: 'track-vehicle' }, '车辆'), vehicle),
    el('div', { class: 'row' }, el('label', { for: 'track-from' }, '开始'), from),
    el('div', { class: 'row' }, el('label', { for: 'track-to' }, '结束'), to),
    el('div', { class: 'row' }, el('label', { for: 'track-speed' }, '倍速'), speedSel,
      el('button', { type: 'button', id: 'track-load', disabled: !canTrack, onclick: loadTrack }, '查询轨迹')),
    el('div', { class: 'slider-row' }, play, slider), el('div', {}, clock), trackNote,
    // alarms after playback, in a scrolling box of their own: playback is never pushed under them
    el('h3', {}, '告警'),
    el('div', { class: 'row' }, el('label', { for: 'alarm-kind' }, '类型'), kindSel),
    el('div', { class: 'row' }, el('label', { for: 'alarm-state' }, '状态'), stateSel),
    el('div', { class: 'row' }, el('label', { for: 'alarm-time' }, '时间'), timeSel),
    el('ul', { class: 'legend', id: 'alarm-legend' },
      el('li', {}, el('span', { class: 'swatch', style: 'background:#e03131;border-radius:50%' }), el('span', {}, '进行中')),
      el('li', {}, el('span', { class: 'swatch', style: 'background:#868e96;border-radius:50%' }), el('span', {}, '已结束'))),
    alarmNote, alarmList));

  if (showVehicles.checked && vehiclesAvailable) FILLED_AT_START.add('overlay:vehicles'); // in the first view
  schedule();
  loadAlarms().then(stream);
}
