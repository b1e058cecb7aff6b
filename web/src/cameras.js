// Cameras and IoT devices on the map: camera points with their viewed sectors coloured by state
// (online / offline), IoT devices coloured by state (normal / alarm / offline), a player panel for a
// camera's stream (hls.js, pinned in package.json; native HLS where the browser has it) with the
// snapshot as fallback, and "附近监控" / "附近设施" lists (GET /api/nearest) for any clicked point.
import { collection, getJSON, has } from './api.js';
import { $, el, metres, toast } from './ui.js';

const SECTOR_STEPS = 24;
/** The zoom from which cameras and devices are drawn (their layers' minzoom). */
const MIN_ZOOM = 12;
const R = 6371008.8;
const CAMERA_COLORS = ['match', ['get', 'state'], 'online', '#2f9e44', 'offline', '#868e96', '#868e96'];
const DEVICE_COLORS = ['match', ['get', 'state'], 'normal', '#1c7ed6', 'alarm', '#e03131', 'offline', '#868e96', '#adb5bd'];

/** The point `dist` metres from [lon, lat] at bearing `az` degrees (spherical; exact enough for drawing). */
function destination([lon, lat], az, dist) {
  const d = dist / R;
  const t = (az * Math.PI) / 180;
  const p1 = (lat * Math.PI) / 180;
  const l1 = (lon * Math.PI) / 180;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(t));
  const l2 = l1 + Math.atan2(Math.sin(t) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  return [(l2 * 180) / Math.PI, (p2 * 180) / Math.PI];
}

/** The viewed sector of a camera (the same rule as the database's camera_sector). */
export function sector(feature) {
  const c = feature.geometry.coordinates;
  const p = feature.properties || {};
  const fov = Number(p.fov_deg ?? 60);
  const dir = Number(p.direction_deg ?? 0);
  const range = Number(p.range_m ?? 50);
  const ring = [];
  if (fov >= 360) {
    for (let i = 0; i <= 64; i += 1) ring.push(destination(c, (360 * i) / 64, range));
  } else {
    ring.push(c);
    for (let i = 0; i <= SECTOR_STEPS; i += 1) ring.push(destination(c, dir - fov / 2 + (fov * i) / SECTOR_STEPS, range));
    ring.push(c);
  }
  return { type: 'Feature', properties: { ...p, id: feature.id ?? p.id }, geometry: { type: 'Polygon', coordinates: [ring] } };
}

let hls = null;

/** Opens the player panel on a camera: its stream in a <video>, the snapshot when the stream fails. */
export function openPlayer(camera) {
  const p = camera.properties || camera;
  const id = camera.id ?? p.id;
  const panel = $('#player');
  const video = el('video', { id: 'player-video', controls: true, muted: true, autoplay: true, playsinline: true });
  const snap = el('img', { id: 'player-snapshot', alt: '抓图', hidden: true });
  const note = el('p', { class: 'note', id: 'player-note' });
  const fallback = (why) => {
    note.textContent = `视频无法播放（${why}），显示抓图`;
    if (p.snapshot_url) { snap.src = p.snapshot_url; snap.hidden = false; video.hidden = true; }
    window.citygrid.player = { ...window.citygrid.player, fallback: why };
  };
  if (hls) { hls.destroy(); hls = null; }
  panel.replaceChildren(
    el('header', {}, el('h3', {}, p.name || id), el('button', { class: 'icon-button', id: 'player-close', 'aria-label': '关闭', onclick: closePlayer }, '×')),
    video, snap, note,
    el('dl', { class: 'kv' },
      el('dt', {}, '通道编码'), el('dd', { class: 'code' }, String(id)),
      el('dt', {}, '状态'), el('dd', {}, p.state === 'offline' ? '离线' : '在线'),
      el('dt', {}, '播放地址'), el('dd', { class: 'code', dataset: { testid: 'stream-url' } }, p.stream_url || '（无）'),
      p.rtsp_url ? el('dt', {}, 'RTSP') : null, p.rtsp_url ? el('dd', { class: 'code' }, p.rtsp_url) : null));
  panel.hidden = false;
  window.citygrid.player = { id, url: p.stream_url || null, fallback: null };
  const url = p.stream_url;
  if (!url || p.state === 'offline') { fallback(p.state === 'offline' ? '摄像机离线' : '无播放地址'); return; }
  const native = () => {
    if (video.canPlayType('application/vnd.apple.mpegurl') || !/\.m3u8/.test(url)) {
      video.src = url;
      video.addEventListener('error', () => fallback('播放错误'), { once: true });
    } else {
      fallback('浏览器不支持 HLS');
    }
  };
  if (!/\.m3u8(\?|$)/.test(url)) { native(); return; }
  // hls.js (~500 kB) is fetched when a stream is first played, not with the map
  import('hls.js').then(({ default: Hls }) => {
    if (window.citygrid.player?.id !== id || panel.hidden) return; // another camera was opened meanwhile
    if (!Hls.isSupported()) { native(); return; }
    hls = new Hls({ enableWorker: false, manifestLoadingMaxRetry: 0, levelLoadingMaxRetry: 0, fragLoadingMaxRetry: 0 });
    hls.on(Hls.Events.MANIFEST_PARSED, () => { window.citygrid.player.manifest = true; video.play().catch(() => {}); });
    hls.on(Hls.Events.ERROR, (_e, data) => { if (data.fatal) fallback(data.details || '播放错误'); });
    hls.loadSource(url);
    hls.attachMedia(video);
  }).catch(() => fallback('播放组件加载失败'));
}

export function closePlayer() {
  if (hls) { hls.destroy(); hls = null; }
  $('#player').hidden = true;
}

/** Nearest features of `layer` around [lng, lat] as a clickable list. */
async function nearList(map, layer, lng, lat, title, onPick) {
  const box = el('div', { class: 'info-section', dataset: { testid: `near-list-${layer}` } }, el('h4', {}, title), el('p', { class: 'note' }, '查询中…'));
  const q = `/api/nearest?layer=${layer}&lon=${lng}&lat=${lat}&k=5&radius_m=500`;
  getJSON(q).then((doc) => {
    const items = doc.features || [];
    box.replaceChildren(el('h4', {}, title));
    if (!items.length) { box.append(el('p', { class: 'note' }, '500 米内没有')); return; }
    box.append(el('ul', { class: 'list near' }, ...items.map((f) => el('li', {},
      el('button', { type: 'button', class: 'link', onclick: () => onPick(f) },
        `${f.properties.name || f.id}${f.properties.state === 'offline' ? '（离线）' : ''}`),
      el('span', { class: 'meta' }, ` ${metres(f.properties.distance_m)}`)))));
  }).catch((error) => { box.replaceChildren(el('h4', {}, title), el('p', { class: 'note warn' }, String(error.message || error))); });
  return box;
}

export function initCameras({ map }) {
  const hasCameras = !!collection('cameras');
  const hasDevices = !!collection('devices');
  const empty = { type: 'FeatureCollection', features: [] };
  map.addSource('overlay:camera-sectors', { type: 'geojson', data: empty });
  map.addSource('overlay:cameras', { type: 'geojson', data: empty });
  map.addSource('overlay:devices', { type: 'geojson', data: empty });
  map.addLayer({ id: 'overlay:camera-sectors', type: 'fill', source: 'overlay:camera-sectors', minzoom: 13,
    paint: { 'fill-color': CAMERA_COLORS, 'fill-opacity': 0.22, 'fill-outline-color': CAMERA_COLORS } });
  map.addLayer({ id: 'overlay:cameras', type: 'circle', source: 'overlay:cameras', minzoom: MIN_ZOOM,
    paint: { 'circle-color': CAMERA_COLORS, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 2.5, 17, 6],
      'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
  map.addLayer({ id: 'overlay:devices', type: 'circle', source: 'overlay:devices', minzoom: MIN_ZOOM,
    paint: { 'circle-color': DEVICE_COLORS, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 2.5, 17, 6],
      'circle-stroke-color': '#212529', 'circle-stroke-width': 1 } });

  async function loadCameras() {
    if (!hasCameras) return;
    const doc = await getJSON('/ogc/collections/cameras/items?limit=10000').catch(() => empty);
    // string ids do not survive MapLibre's GeoJSON sources: keep them as a property
    for (const f of doc.features || []) { f.properties = { ...f.properties, id: f.id }; delete f.id; }
    map.getSource('overlay:cameras').setData(doc);
    map.getSource('overlay:camera-sectors').setData({ type: 'FeatureCollection', features: (doc.features || []).map(sector) });
    window.citygrid.cameras = (doc.features || []).length;
  }
  async function loadDevices() {
    if (!hasDevices) return;
    const doc = await getJSON('/ogc/collections/devices/items?limit=10000').catch(() => empty);
    for (const f of doc.features || []) { f.properties = { ...f.properties, id: f.id }; delete f.id; }
    map.getSource('overlay:devices').setData(doc);
  }
  window.citygrid.reloadCameras = loadCameras;
  // Cameras and devices are drawn from zoom 12 on: below it their GeoJSON (and the sectors computed here)
  // would only cost the first render a parse and repaints of nothing. They load once the first view is
  // drawn, or when the map first gets to zoom 12 if that comes sooner: loaded only then, their late arrival
  // cost the panels that zoom in to their result (a track, a batch of addresses) two more frames.
  let loaded = null;
  const load = () => loaded || (loaded = Promise.all([loadCameras(), loadDevices()]));
  window.addEventListener('citygrid:device-alarm', () => { if (loaded) loadDevices(); });
  const ready = new Promise((resolve, reject) => {
    const check = () => {
      if (map.getZoom() < MIN_ZOOM) return;
      map.off('zoomend', check);
      load().then(resolve, reject);
    };
    map.on('zoomend', check);
    check();
    map.once('idle', () => load().then(resolve, reject));
  });
  window.citygrid.camerasReady = ready;

  // a click on a camera opens its player (the identify panel still opens for the point)
  map.on('click', 'overlay:cameras', (e) => {
    if (window.citygrid.mode) return;
    const f = e.features && e.features[0];
    if (f) openPlayer({ id: f.properties.id ?? f.id, properties: f.properties });
  });
  for (const id of ['overlay:cameras', 'overlay:devices']) {
    map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
  }
  if (!has('/api/nearest')) return;
  // "附近监控" / "附近设施" for every identified point (drop points and cases included)
  window.addEventListener('citygrid:identify', async (e) => {
    const { lng, lat, box } = e.detail;
    const pick = (f) => { map.flyTo({ center: f.geometry.coordinates, zoom: Math.max(map.getZoom(), 17) }); };
    const near = el('div', { class: 'info-section near-actions' },
      el('button', { type: 'button', dataset: { testid: 'near-cameras' }, onclick: async () => {
        near.after(await nearList(map, 'cameras', lng, lat, '附近监控', (f) => { pick(f); openPlayer(f); }));
      } }, '附近监控'),
      el('button', { type: 'button', dataset: { testid: 'near-facilities' }, onclick: async () => {
        near.after(await nearList(map, 'waste_facilities', lng, lat, '附近设施', pick));
      } }, '附近设施'));
    box.append(near);
  });
  ready.catch((error) => toast(`监控图层加载失败：${error.message || error}`, 'error'));
}
