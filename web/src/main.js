// CityGrid web map: start-up. Reads the shared styles, asks the server what it offers, builds the map
// from the district's own vector tiles (plus an optional configured WMTS basemap), then wires the panels.
import maplibregl from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import './style.css';

import { initAnalysis } from './analysis.js';
import { baseStyle, initBasemaps } from './basemaps.js';
import { initCameras } from './cameras.js';
import { LOGIN_INSTEAD, askKey, discover, collection, getJSON } from './api.js';
import { initFences } from './fences.js';
import { drawFirstViewAtOnce } from './firstframes.js';
import { initIdentify } from './identify.js';
import { addDistrictLayers, buildTree, state } from './layers.js';
import { initLive } from './live.js';
import { initMeasure } from './measure.js';
import { initMuck } from './muck.js';
import { hideEmptyOverlays } from './overlays.js';
import { initSamples } from './samples.js';
import { initScenes } from './scenes.js';
import { initSearch } from './search.js';
import { initShops } from './shops.js';
import { initSnapshot } from './snapshot.js';
import { askLogin, initSession } from './session.js';
import { initStats } from './stats.js';
import { $, keepPopupsOnScreen, setTimeZone, toast } from './ui.js';
import { initWorkflows } from './workflows.js';

const DEFAULT_VIEW = { center: [121.45, 31.35], zoom: 11 };
// MapLibre's tile worker starts now, while the page asks the server what it offers, not when the map is
// created: loading and compiling the worker's script took 0.4–0.5 s, and no tile is asked for before it runs
maplibregl.prewarm();
const app = (window.citygrid = { ready: false, state, labels: {}, maplibregl });

function initChrome(map) {
  for (const button of document.querySelectorAll('.tabs button')) {
    button.addEventListener('click', () => {
      for (const b of document.querySelectorAll('.tabs button')) b.classList.toggle('active', b === button);
      for (const t of document.querySelectorAll('.tab')) t.classList.toggle('active', t.id === `tab-${button.dataset.tab}`);
      if (button.dataset.tab === 'live') $('#alarm-badge').hidden = true;
    });
  }
  const narrow = window.matchMedia('(max-width: 720px)');
  if (narrow.matches) document.body.classList.add('side-hidden');
  $('#menu-toggle').addEventListener('click', () => {
    document.body.classList.toggle('side-hidden');
    setTimeout(() => map.resize(), 220);
  });
  $('#key-button').addEventListener('click', async () => {
    const key = await askKey('输入 API 密钥（X-API-Key）。规划员可保存围栏和路线，巡查员可抽取评价网格。密钥只保存在本次浏览会话中。');
    if (key === LOGIN_INSTEAD) await askLogin();
    else if (key) toast('密钥已保存在本次会话中', 'ok');
  });
  const coords = $('#status-coords');
  const zoom = $('#status-zoom');
  map.on('mousemove', (e) => { coords.textContent = `经度 ${e.lngLat.lng.toFixed(6)}  纬度 ${e.lngLat.lat.toFixed(6)}  (CGCS2000)`; });
  const showZoom = () => { zoom.textContent = `缩放 ${map.getZoom().toFixed(1)}`; };
  map.on('zoomend', showZoom);
  showZoom();
}

async function boot() {
  const [doc, labels, config, categories, catalog] = await Promise.all([
    getJSON('/styles/layers.json'),
    getJSON('/styles/labels.json').catch(() => ({})),
    getJSON('/web/config.json').catch(() => ({})),
    getJSON('/web/categories.json').catch(() => ({})),
    getJSON('/api/catalog').catch(() => []),
    discover(),
  ]);
  app.labels = labels;
  if (config.timezone) setTimeZone(config.timezone);
  // value -> Chinese label of every kind vocabulary, per layer and field (the catalog is the one source)
  app.catalogLabels = {};
  for (const layer of catalog || []) {
    app.catalogLabels[layer.id] = {};
    for (const f of layer.fields || []) if (f.labels) app.catalogLabels[layer.id][f.name] = f.labels;
  }
  const bbox = collection('admin_areas')?.extent?.spatial?.bbox?.[0];
  const view = bbox ? { bounds: [[bbox[0], bbox[1]], [bbox[2], bbox[3]]], fitBoundsOptions: { padding: 30 } } : DEFAULT_VIEW;
  const map = new maplibregl.Map({
    container: 'map',
    style: baseStyle(doc, config),
    ...view,
    maxZoom: 20,
    // no symbol fade: in a software-rendered browser a frame costs ~0.5 s, and each fade is frames more
    fadeDuration: 0,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    localIdeographFontFamily: doc.font.join(', '),
    attributionControl: { compact: true, customAttribution: 'CityGrid · 演示数据为合成数据' },
  });
  // one frame when the first view's tiles are in, not one per tile as they come
  const layersAdded = drawFirstViewAtOnce(map, (app.firstFrames = []));
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  app.map = map;
  keepPopupsOnScreen(map);
  initChrome(map);
  const who = initSession(config); // who is logged in (if anyone), while the map loads
  // the district's layers go in as soon as the style is there, not at 'load': that waits for a first frame
  // of the bare background (~0.1–0.5 s in software GL) before any tile is asked for
  await new Promise((resolve) => (map.isStyleLoaded() ? resolve() : map.once('style.load', resolve)));
  // ?show=a,b&hide=c switches layers of styles/layers.json on or off from the start (links, wall screens)
  const query = new URLSearchParams(location.search);
  for (const [param, visible] of [['show', true], ['hide', false]]) {
    for (const id of (query.get(param) || '').split(',').filter((x) => doc.layers[x])) doc.layers[id].visible = visible;
  }
  await addDistrictLayers(map, doc, categories);
  buildTree(map, $('#layer-tree'));
  $('#layer-tree').before(initBasemaps({ map, doc, config, app }).element);
  if (!collection('admin_areas')) {
    $('#status-note').textContent = '矢量瓦片服务（OGC API）尚未就绪，底图图层暂不可用';
  }
  const ctx = { map, labels, maplibregl, app };
  initAnalysis(ctx); // heat and flows lie under fences, vehicles and alarms
  initFences(ctx);
  initLive(ctx);
  initCameras(ctx); // above vehicles' layers: cameras and devices are clicked for their panels
  initSearch(ctx);
  initMeasure(ctx);
  initSnapshot(ctx);
  initStats(ctx);
  initScenes(ctx);
  initWorkflows(ctx);
  initShops(ctx); // issue 16: 商铺门责, 渣土, 评价样本点位
  initMuck(ctx);
  initSamples(ctx);
  initIdentify(ctx);
  hideEmptyOverlays(map); // an overlay is drawn once its panel gives it features
  layersAdded(); // the first view's frame is painted once its tiles are in (firstframes.js)
  map.once('idle', () => { app.firstIdle = performance.now(); });
  // resolves when every visible tile is loaded and drawn (used by the browser tests and the benchmark)
  app.whenIdle = () => new Promise((resolve) => {
    if (map.loaded() && map.areTilesLoaded() && !map.isMoving()) resolve();
    else map.once('idle', () => resolve());
  });
  await who;
  app.ready = true;
}

boot().catch((error) => {
  toast(`地图启动失败：${error.message || error}`, 'error', 15000);
  app.failed = String(error);
});
