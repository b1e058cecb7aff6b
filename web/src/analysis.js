// Heat and flow: H3 hexagon heat (GeoJSON) or the rendered raster (PNG) for the current view, with a
// time range and a category filter; animated flow lines weighted by tonnage; a choropleth of per-grid
// statistics; and the evaluation-grid sample drawn with its A/B/C colours.
import { explain, getJSON, has, send } from './api.js';
import { state as layerState, setVisible, styleDoc } from './layers.js';
import { $, debounce, el, localInput, showInfo, toast } from './ui.js';

const DEFAULT_RAMP = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'];
const ABC = { A: '#d7301f', B: '#f08c00', C: '#2f9e44' };
const EMPTY = { type: 'FeatureCollection', features: [] };

/** The server's legend entries ({label, color, count}) as swatches; `unit` names what the count counts
 * (hexagons or areas in the class — not cases, which the label's range gives). */
function legendInto(list, entries, unit = '') {
  list.replaceChildren(...(entries || []).map((e) => el('li', {}, el('span', { class: 'swatch fill', style: `background:${e.color}` }),
    el('span', {}, `${e.label ?? ''}${Number.isFinite(e.count) ? `（${e.count} ${unit}）` : ''}`))));
}

export function initAnalysis({ map }) {
  const tab = $('#tab-analysis');
  let heatSources = null;
  let flowStyle = null;
  if (has('/api/layers/sources')) getJSON('/api/layers/sources').then((doc) => { heatSources = doc; fillSources(); }).catch(() => {});
  getJSON('/styles/flows.json').then((doc) => { flowStyle = doc; }).catch(() => {});

  // ---- heat
  const canHeat = has('/api/layers/heat');
  const source = el('select', { id: 'heat-source' });
  const mode = el('select', { id: 'heat-mode' }, el('option', { value: 'hex' }, '六边形聚合'), el('option', { value: 'png' }, '热力栅格'));
  const category = el('select', { id: 'heat-category' }, el('option', { value: '' }, '全部类别'));
  const now = new Date();
  const from = el('input', { type: 'datetime-local', id: 'heat-from', value: localInput(new Date(now - 30 * 86400000)) });
  const to = el('input', { type: 'datetime-local', id: 'heat-to', value: localInput(now) });
  const heatOn = el('button', { type: 'button', id: 'heat-show', class: 'primary', disabled: !canHeat }, '显示热力');
  const heatOff = el('button', { type: 'button', id: 'heat-clear' }, '清除');
  const heatNote = el('p', { class: 'note' }, canHeat ? '' : '热力服务暂不可用');
  const heatLegend = el('ul', { class: 'legend', id: 'heat-legend' });
  let heatActive = false;

  function fillSources() {
    const sources = heatSources || [{ id: 'cases', title: '案件' }];
    source.replaceChildren(...sources.map((x) => el('option', { value: x.id }, x.title || x.id)));
    const events = styleDoc()?.layers?.cases?.classes?.items || [];
    category.replaceChildren(el('option', { value: '' }, '全部类别'), ...events.map((i) => el('option', { value: i.value }, `${i.value} ${i.label}`)));
  }
  fillSources();

  map.addSource('overlay:heat-hex', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'overlay:heat-hex', type: 'fill', source: 'overlay:heat-hex',
    paint: { 'fill-color': ['coalesce', ['get', 'color'], DEFAULT_RAMP[2]], 'fill-opacity': 0.7, 'fill-outline-color': 'rgba(255,255,255,0.5)' } });

  function query(extra = {}) {
    const b = map.getBounds();
    const params = new URLSearchParams({
      source: source.value, bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(','),
      zoom: String(Math.round(map.getZoom())), from: new Date(from.value).toISOString(), to: new Date(to.value).toISOString(), ...extra,
    });
    if (category.value) params.set('category', category.value);
    return params;
  }

  function clearPng() {
    if (map.getLayer('overlay:heat-png')) map.removeLayer('overlay:heat-png');
    if (map.getSource('overlay:heat-png')) map.removeSource('overlay:heat-png');
  }

  async function drawHeat() {
    if (!heatActive) return;
    if (mode.value === 'png') {
      map.getSource('overlay:heat-hex').setData(EMPTY);
      const canvas = map.getCanvas();
      const params = query({ format: 'png', width: String(Math.min(2048, canvas.clientWidth)), height: String(Math.min(2048, canvas.clientHeight)) });
      const url = `/api/layers/heat?${params}`;
      try {
        const response = await fetch(url);
        if (!response.ok) throw new Error((await response.json().catch(() => ({}))).detail || `HTTP ${response.status}`);
        // the raster is Web Mercator; X-Bounds gives its corners in lon/lat
        const b = map.getBounds();
        const [w, so, e, n] = (response.headers.get('X-Bounds') || [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].join(',')).split(',').map(Number);
        const coordinates = [[w, n], [e, n], [e, so], [w, so]];
        const blobUrl = URL.createObjectURL(await response.blob());
        clearPng();
        map.addSource('overlay:heat-png', { type: 'image', url: blobUrl, coordinates });
        map.addLayer({ id: 'overlay:heat-png', type: 'raster', source: 'overlay:heat-png', paint: { 'raster-opacity': 0.75, 'raster-fade-duration': 0 } }, 'overlay:heat-hex');
        heatNote.textContent = '热力栅格已更新（颜色为核密度，六边形图例不适用于栅格）';
        heatLegend.replaceChildren(el('li', {}, el('span', { class: 'swatch fill', style: 'background:linear-gradient(90deg,#ffffb2,#fd8d3c,#bd0026);width:4rem' }), el('span', {}, '低 → 高 密度')));
        window.citygrid.heat = { mode: 'png', ok: true };
      } catch (error) {
        heatNote.textContent = `热力栅格加载失败：${error.message}`;
      }
      return;
    }
    clearPng();
    try {
      const doc = await getJSON(`/api/layers/heat?${query()}`);
      const features = doc.features || [];
      map.getSource('overlay:heat-hex').setData({ type: 'FeatureCollection', features });
      heatNote.textContent = features.length
        ? `当前视野内 ${features.length} 个六边形（H3 第 ${doc.resolution} 级）共 ${doc.total?.count ?? ''} 条记录（只计当前视野，移动地图后重新统计）`
        : '所选范围、时段和类别没有数据';
      legendInto(heatLegend, doc.legend, '个六边形');
      window.citygrid.heat = { mode: 'hex', features: features.length };
    } catch (error) {
      heatNote.textContent = `热力加载失败：${explain(error)}`;
    }
  }
  const redraw = debounce(drawHeat, 300);
  map.on('moveend', () => { if (heatActive) redraw(); });
  heatOn.addEventListener('click', () => { heatActive = true; drawHeat(); });
  heatOff.addEventListener('click', () => {
    heatActive = false;
    clearPng();
    map.getSource('overlay:heat-hex').setData(EMPTY);
    heatLegend.replaceChildren();
    heatNote.textContent = '';
    window.citygrid.heat = null;
  });

  // ---- flows
  const canFlows = has('/api/layers/flows');
  const flowSource = el('select', { id: 'flow-source' }, ...[['kitchen', '湿垃圾（餐厨）'], ['household', '生活垃圾'], ['recyclable', '可回收物'], ['hazardous', '有害垃圾'], ['muck', '渣土']]
    .map(([v, t]) => el('option', { value: v }, t)));
  const flowNote = el('p', { class: 'note' }, canFlows ? '' : '流向服务暂不可用');
  map.addSource('overlay:flows', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'overlay:flows-base', type: 'line', source: 'overlay:flows', layout: { 'line-cap': 'round' },
    paint: { 'line-color': '#e6550d', 'line-opacity': 0.6, 'line-width': ['get', '_width'] } });
  map.addLayer({ id: 'overlay:flows-dash', type: 'line', source: 'overlay:flows',
    paint: { 'line-color': '#ffffff', 'line-width': ['*', 0.45, ['get', '_width']], 'line-dasharray': [0, 4, 3] } });
  const DASHES = [[0, 4, 3], [0.5, 4, 2.5], [1, 4, 2], [1.5, 4, 1.5], [2, 4, 1], [2.5, 4, 0.5], [3, 4, 0], [0, 0.5, 3, 3.5], [0, 1, 3, 3], [0, 1.5, 3, 2.5], [0, 2, 3, 2], [0, 2.5, 3, 1.5], [0, 3, 3, 1], [0, 3.5, 3, 0.5]];
  let flowTimer = null;
  async function showFlows() {
    const params = new URLSearchParams({ source: flowSource.value, from: new Date(from.value).toISOString(), to: new Date(to.value).toISOString() });
    try {
      const doc = await getJSON(`/api/layers/flows?${params}`);
      const features = (doc.features || []).map((f) => ({ ...f, properties: { ...f.properties, _width: Number(f.properties?.width) || 3 } }));
      if (flowStyle?.line?.color) map.setPaintProperty('overlay:flows-base', 'line-color', flowStyle.line.color);
      map.getSource('overlay:flows').setData({ type: 'FeatureCollection', features });
      flowNote.textContent = features.length ? `${features.length} 条流向，合计 ${Math.round((doc.total_tonnes || 0) * 10) / 10} 吨` : '所选时段没有流向数据';
      let step = 0;
      clearInterval(flowTimer);
      flowTimer = setInterval(() => { step = (step + 1) % DASHES.length; map.setPaintProperty('overlay:flows-dash', 'line-dasharray', DASHES[step]); }, 90);
    } catch (error) {
      flowNote.textContent = `流向加载失败：${explain(error)}`;
    }
  }
  const flowOn = el('button', { type: 'button', id: 'flow-show', disabled: !canFlows, onclick: showFlows }, '显示流向');
  const flowOff = el('button', { type: 'button', onclick: () => { clearInterval(flowTimer); map.getSource('overlay:flows').setData(EMPTY); flowNote.textContent = ''; } }, '清除');

  // ---- choropleth of per-grid statistics
  const canChoro = has('/api/layers/choropleth');
  const choroLevel = el('select', { id: 'choro-level' }, el('option', { value: 'unit_grid' }, '单元网格'), el('option', { value: 'community' }, '社区'),
    el('option', { value: 'street' }, '街道'), el('option', { value: 'eval_grid' }, '评价网格'));
  const choroMetric = el('select', { id: 'choro-metric' }, el('option', { value: 'cases' }, '案件数'), el('option', { value: 'case_rate' }, '案件密度（每平方公里）'),
    el('option', { value: 'eval_grade' }, '评价等级'),
    has('/api/cameras/coverage') ? el('option', { value: 'camera_coverage' }, '监控覆盖率（社区/街道）') : null);
  const choroNote = el('p', { class: 'note' }, canChoro ? '' : '分级统计服务暂不可用');
  const choroLegend = el('ul', { class: 'legend' });
  map.addSource('overlay:choropleth', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'overlay:choropleth', type: 'fill', source: 'overlay:choropleth', paint: { 'fill-color': ['coalesce', ['get', 'color'], '#ccc'], 'fill-opacity': 0.65, 'fill-outline-color': '#fff' } }, 'overlay:heat-hex');
  async function showChoropleth() {
    try {
      let doc;
      if (choroMetric.value === 'camera_coverage') {
        // 监控覆盖率: drop points, compounds and road length inside online cameras' sectors
        const level = choroLevel.value === 'street' ? 'street' : 'community';
        doc = await getJSON(`/api/cameras/coverage?level=${level}`);
        window.citygrid.coverage = doc.district;
      } else {
        const params = new URLSearchParams({ level: choroLevel.value, metric: choroMetric.value, from: new Date(from.value).toISOString(), to: new Date(to.value).toISOString() });
        doc = await getJSON(`/api/layers/choropleth?${params}`);
      }
      const features = (doc.features || []).filter((f) => f.geometry);
      map.getSource('overlay:choropleth').setData({ type: 'FeatureCollection', features });
      choroNote.textContent = `${doc.title || '分级统计'}：${features.length} 个区域${doc.unit ? `（${doc.unit}）` : ''}`;
      legendInto(choroLegend, doc.legend, '个区域');
      choroNote.textContent += `；合计 ${doc.total_cases} 件（全区，所选时段）；点击区域查看数字`;
    } catch (error) {
      choroNote.textContent = `分级统计加载失败：${explain(error)}`;
    }
  }
  map.on('click', 'overlay:choropleth', (e) => {
    e.citygridHandled = true;
    const p = e.features[0].properties;
    const rows = [['代码', p.code, 'code'], ['案件数', `${p.cases} 件`], ['面积', `${Number(p.area_km2).toFixed(3)} 平方公里`],
      ['案件密度', `${Number(p.case_rate).toFixed(1)} 件/平方公里`], ['评价等级', p.grade]];
    showInfo(`${p.name || p.code}：${p.cases} 件`, el('dl', { class: 'kv', dataset: { testid: 'choropleth-info' } },
      ...rows.flatMap(([k, v, c]) => [el('dt', {}, k), el('dd', { class: c || null }, String(v))])));
    window.citygrid.choroplethPick = { code: p.code, cases: p.cases };
  });
  const choroOn = el('button', { type: 'button', disabled: !canChoro, onclick: showChoropleth }, '显示分级统计');
  const choroOff = el('button', { type: 'button', onclick: () => { map.getSource('overlay:choropleth').setData(EMPTY); choroNote.textContent = ''; choroLegend.replaceChildren(); } }, '清除');

  // ---- evaluation-grid sample
  const canSample = has('/api/eval-grids/sample');
  const cityClass = el('select', { id: 'sample-class' }, el('option', { value: 1 }, '一类城市（3A+2B+3C）'), el('option', { value: 2 }, '二类城市（2A+2B+2C）'),
    el('option', { value: 3 }, '三类城市（2A+1B+2C）'));
  const seed = el('input', { type: 'number', id: 'sample-seed', value: new Date().getFullYear() * 100 + new Date().getMonth() + 1 });
  const sampleList = el('ul', { class: 'list', id: 'sample-list' });
  const sampleNote = el('p', { class: 'note' }, canSample ? '抽取需要巡查员或更高角色的密钥' : '评价网格抽样服务暂不可用');
  map.addSource('overlay:sample', { type: 'geojson', data: EMPTY });
  const abcExpr = ['match', ['get', '_type'], 'A', ABC.A, 'B', ABC.B, 'C', ABC.C, '#868e96'];
  map.addLayer({ id: 'overlay:sample-fill', type: 'fill', source: 'overlay:sample', paint: { 'fill-color': abcExpr, 'fill-opacity': 0.45 } });
  map.addLayer({ id: 'overlay:sample-line', type: 'line', source: 'overlay:sample', paint: { 'line-color': abcExpr, 'line-width': 3 } });
  async function drawSample() {
    try {
      const doc = await send('POST', '/api/eval-grids/sample', { city_class: Number(cityClass.value), seed: Number(seed.value) }, { role: 'inspector' });
      const raw = doc.features || doc.grids || doc.sample || doc.items || (Array.isArray(doc) ? doc : []);
      const grids = raw.map((g) => {
        const p = g.type === 'Feature' ? { ...g.properties, code: g.properties?.code ?? g.id } : g;
        return { code: p.code, name: p.name, type: p.area_class || p.type || p.class, geometry: g.geometry || p.geometry || null };
      });
      const withGeom = grids.filter((g) => g.geometry);
      map.getSource('overlay:sample').setData({ type: 'FeatureCollection', features: withGeom.map((g) => ({ type: 'Feature', properties: { code: g.code, _type: g.type }, geometry: g.geometry })) });
      if (!withGeom.length && layerState.eval_grids?.available) {
        // no geometry in the answer: show the evaluation-grid layer with only the drawn codes
        setVisible(map, 'eval_grids', true);
        const box = document.querySelector('input[data-layer="eval_grids"]');
        if (box) box.checked = true;
        for (const id of ['eval_grids:0', 'eval_grids:1']) if (map.getLayer(id)) map.setFilter(id, ['in', ['get', 'code'], ['literal', grids.map((g) => g.code)]]);
      }
      sampleList.replaceChildren(...grids.map((g) => el('li', { dataset: { code: g.code } },
        el('div', { class: 'title' }, el('span', { class: 'swatch fill', style: `background:${ABC[g.type] || '#868e96'}` }), ` ${g.type || '?'} 类 · `, el('span', { class: 'code' }, g.code)),
        g.name ? el('div', { class: 'meta' }, g.name) : null)));
      const counts = ['A', 'B', 'C'].map((t) => `${t} ${grids.filter((g) => g.type === t).length}`).join(' · ');
      sampleNote.textContent = `抽取 ${grids.length} 个评价网格（${counts}），种子 ${seed.value}`;
      window.citygrid.sample = grids;
    } catch (error) {
      sampleNote.textContent = `抽取失败：${explain(error)}`;
    }
  }
  const sampleOn = el('button', { type: 'button', id: 'sample-draw', class: 'primary', disabled: !canSample, onclick: drawSample }, '随机抽取');

  tab.append(el('div', {},
    el('h3', {}, '时间与类别'),
    el('div', { class: 'row' }, el('label', { for: 'heat-from' }, '开始'), from),
    el('div', { class: 'row' }, el('label', { for: 'heat-to' }, '结束'), to),
    el('div', { class: 'row' }, el('label', { for: 'heat-category' }, '类别'), category),
    el('h3', {}, '热力图'),
    el('div', { class: 'row' }, el('label', { for: 'heat-source' }, '数据'), source),
    el('div', { class: 'row' }, el('label', { for: 'heat-mode' }, '方式'), mode),
    el('div', { class: 'buttons' }, heatOn, heatOff), heatNote, heatLegend,
    el('h3', {}, '流向图'),
    el('div', { class: 'row' }, el('label', { for: 'flow-source' }, '数据'), flowSource),
    el('div', { class: 'buttons' }, flowOn, flowOff), flowNote,
    el('h3', {}, '分级统计'),
    el('div', { class: 'row' }, el('label', { for: 'choro-level' }, '层级'), choroLevel),
    el('div', { class: 'row' }, el('label', { for: 'choro-metric' }, '指标'), choroMetric),
    el('div', { class: 'buttons' }, choroOn, choroOff), choroNote, choroLegend,
    el('h3', {}, '评价网格抽样'),
    el('div', { class: 'row' }, el('label', { for: 'sample-class' }, '城市类别'), cityClass),
    el('div', { class: 'row' }, el('label', { for: 'sample-seed' }, '随机种子'), seed),
    el('div', { class: 'buttons' }, sampleOn), sampleNote, sampleList));
}
