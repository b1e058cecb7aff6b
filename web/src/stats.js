// 案件统计 and 报警统计 (数图联动): counts by source, category, area, status and period with 同比/环比 from
// /api/stats/*, drawn with ECharts and linked both ways with the map — a click on a bar (or a table row)
// shows exactly those cases on the map (clustered) and lists them; a click on an area of the map lists
// that area's cases of the same range and filters. Every value is shown with the server's Chinese label.
import { collection, explain, getJSON, has } from './api.js';
import { $, dateTime as formatLocal, el, showInfo } from './ui.js';
import { ALWAYS_SHOWN } from './overlays.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const CASE_GROUPS = [['source', '来源'], ['major', '大类'], ['minor', '小类'], ['street', '街道'], ['community', '社区'],
  ['unit_grid', '单元网格'], ['eval_grid', '评价网格'], ['status', '状态']];
const ALARM_GROUPS = [['kind', '报警类型'], ['vehicle', '车辆'], ['vehicle_kind', '车辆类型'], ['road', '路段'], ['state', '状态']];
const PERIODS = [['', '不分时段'], ['day', '按日'], ['week', '按周'], ['month', '按月'], ['quarter', '按季度'], ['year', '按年']];
const COMPARES = [['', '不对比'], ['yoy', '同比'], ['mom', '环比']];
const AREA = new Set(['street', 'community', 'unit_grid', 'eval_grid']);
const COLORS = ['#1864ab', '#e8590c', '#2b8a3e', '#c2255c', '#5f3dc4', '#0b7285', '#e67700', '#495057'];
const MAX_POINTS = 5000;
const LIST_PROPERTIES = 'code,major_name,minor_name,source,status,reported_at,address';

const pad = (n) => String(n).padStart(2, '0');
const day = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const options = (pairs) => pairs.map(([v, t]) => el('option', { value: v }, t));
const pct = (x) => (x === null || x === undefined ? '—' : `${x > 0 ? '+' : ''}${(x * 100).toFixed(1)}%`);

/** The latest time a collection has data (its temporal extent), not after now: where defaults end. */
function latest(id) {
  const end = collection(id)?.extent?.temporal?.interval?.[0]?.[1];
  const now = new Date();
  const t = end ? new Date(end) : now;
  return Number.isNaN(t.getTime()) || t > now ? now : t;
}

/** A row's value of the grouping, its Chinese label, and the keys that identify it. */
function describe(doc, row, group) {
  if (group === 'minor') {
    const code = `${row.major}${row.minor}`;
    return { key: code, label: doc.labels?.minor?.[code] ? `${doc.labels.minor[code]}（${code}）` : code };
  }
  const value = row[group];
  if (value === null || value === undefined) return { key: '', label: AREA.has(group) ? '（未落网格）' : '（未填写）' };
  const label = doc.labels?.[group]?.[String(value)];
  return { key: String(value), label: label ? (AREA.has(group) ? label : label) : String(value) };
}

/** CQL2 text selecting the cases of one bar (group value and, with periods, the period). */
async function caseFilter(doc, group, row, period) {
  const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
  const parts = [`reported_at >= TIMESTAMP(${q(doc.from)})`, `reported_at < TIMESTAMP(${q(doc.to)})`];
  const value = row?.[group];
  if (row && group) {
    if (group === 'minor' || group === 'major') {
      parts.push(`major = ${q(row.major)}`);
      if (group === 'minor') parts.push(`minor = ${q(row.minor)}`);
    } else if (group === 'eval_grid') {
      const grids = await getJSON(`/ogc/collections/unit_grids/items?${new URLSearchParams({ filter: `eval_code = ${q(value)}`, properties: 'code', limit: '1000' })}`);
      const codes = (grids.features || []).map((f) => f.properties?.code || f.id);
      parts.push(codes.length ? `unit_grid_code IN (${codes.map(q).join(', ')})` : '1 = 0');
    } else if (AREA.has(group)) {
      parts.push(value ? `unit_grid_code LIKE ${q(`${value}%`)}` : 'unit_grid_code IS NULL');
    } else {
      parts.push(value === null || value === undefined ? `${group} IS NULL` : `${group} = ${q(value)}`);
    }
  }
  if (row?.period && period) {
    // the period's bounds in the district's zone: the offset of the answer's own `from`
    const offset = (/([+-]\d\d:\d\d|Z)$/.exec(doc.from || '') || ['+08:00'])[0];
    const [y, m, dd] = row.period.split('-').map(Number);
    const next = new Date(Date.UTC(y, m - 1, dd));
    if (period === 'day') next.setUTCDate(next.getUTCDate() + 1);
    else if (period === 'week') next.setUTCDate(next.getUTCDate() + 7);
    else next.setUTCMonth(next.getUTCMonth() + ({ month: 1, quarter: 3, year: 12 })[period]);
    const endDay = next.toISOString().slice(0, 10);
    parts.push(`reported_at >= TIMESTAMP(${q(`${row.period}T00:00:00${offset}`)})`, `reported_at < TIMESTAMP(${q(`${endDay}T00:00:00${offset}`)})`);
  }
  return parts.join(' AND ');
}

export function initStats({ map, app }) {
  const tab = $('#tab-stats');
  if (!tab) return;
  const canCases = has('/api/stats/cases');
  const canAlarms = has('/api/stats/alarms');
  const end = latest('cases');
  const from = el('input', { type: 'date', id: 'stats-from', value: day(new Date(end - 29 * 86400000)) });
  const to = el('input', { type: 'date', id: 'stats-to', value: day(end) });
  const group = el('select', { id: 'stats-group' }, ...options(CASE_GROUPS));
  const period = el('select', { id: 'stats-period' }, ...options(PERIODS));
  const compare = el('select', { id: 'stats-compare' }, ...options(COMPARES));
  const run = el('button', { type: 'button', id: 'stats-run', class: 'primary', disabled: !canCases }, '统计');
  const clear = el('button', { type: 'button', id: 'stats-clear' }, '清除地图');
  const csv = el('button', { type: 'button', id: 'stats-csv', disabled: true }, '导出 CSV');
  const note = el('p', { class: 'note', id: 'stats-note' }, canCases ? '' : '案件统计服务暂不可用');
  const chartBox = el('div', { class: 'chart', id: 'stats-chart' });
  const table = el('table', { class: 'stats-table', id: 'stats-table' });
  const top = el('div', { id: 'stats-top' });
  let chart = null;
  let current = null;

  // the cases behind a bar, clustered at low zoom, and the areas of an area grouping
  map.addSource('overlay:stats-cases', { type: 'geojson', data: EMPTY, cluster: true, clusterRadius: 40, clusterMaxZoom: 15 });
  ALWAYS_SHOWN.add('overlay:stats-cases'); // circles and counts only: shown while empty, no frame to switch on
  map.addSource('overlay:stats-areas', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'overlay:stats-areas', type: 'fill', source: 'overlay:stats-areas',
    paint: { 'fill-color': ['coalesce', ['get', 'color'], '#74c0fc'], 'fill-opacity': 0.45, 'fill-outline-color': '#1864ab' } });
  map.addLayer({ id: 'overlay:stats-clusters', type: 'circle', source: 'overlay:stats-cases', filter: ['has', 'point_count'],
    paint: { 'circle-color': '#e8590c', 'circle-opacity': 0.8, 'circle-radius': ['step', ['get', 'point_count'], 12, 20, 16, 100, 22, 500, 28],
      'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
  map.addLayer({ id: 'overlay:stats-count', type: 'symbol', source: 'overlay:stats-cases', filter: ['has', 'point_count'],
    layout: { 'text-field': ['get', 'point_count_abbreviated'], 'text-size': 12 }, paint: { 'text-color': '#fff' } });
  map.addLayer({ id: 'overlay:stats-points', type: 'circle', source: 'overlay:stats-cases', filter: ['!', ['has', 'point_count']],
    paint: { 'circle-color': '#e8590c', 'circle-radius': 5, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
  map.on('click', 'overlay:stats-clusters', async (e) => {
    e.citygridHandled = true;
    const f = e.features[0];
    const zoom = await map.getSource('overlay:stats-cases').getClusterExpansionZoom(f.properties.cluster_id);
    map.easeTo({ center: f.geometry.coordinates, zoom });
  });
  map.on('click', 'overlay:stats-areas', (e) => {
    e.citygridHandled = true;
    if (!current) return;
    const code = e.features[0].properties.code;
    const row = current.doc.rows.find((r) => String(r[current.group]) === String(code)) || { [current.group]: code };
    select(row, true);
  });
  for (const id of ['overlay:stats-clusters', 'overlay:stats-areas', 'overlay:stats-points']) {
    map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
  }

  function params() {
    const p = new URLSearchParams({ group: group.value, from: from.value, to: to.value });
    if (period.value) p.set('period', period.value);
    if (compare.value) p.set('compare', compare.value);
    return p;
  }

  async function areas(doc, g) {
    // the areas of an area grouping, coloured by their count (one light request: the choropleth of the same range)
    if (!AREA.has(g) || !has('/api/layers/choropleth')) { map.getSource('overlay:stats-areas').setData(EMPTY); return; }
    try {
      const c = await getJSON(`/api/layers/choropleth?${new URLSearchParams({ level: g, metric: 'cases', from: from.value, to: to.value })}`);
      map.getSource('overlay:stats-areas').setData({ type: 'FeatureCollection', features: (c.features || []).filter((f) => f.geometry) });
    } catch { map.getSource('overlay:stats-areas').setData(EMPTY); }
  }

  async function draw() {
    note.textContent = '正在统计…';
    const g = group.value;
    let doc;
    try {
      doc = await getJSON(`/api/stats/cases?${params()}`);
    } catch (error) {
      note.textContent = `统计失败：${explain(error)}`;
      return;
    }
    current = { doc, group: g, period: period.value };
    app.stats = { doc, group: g, selected: null };
    const rows = doc.rows;
    const shown = `${from.value} 至 ${to.value}`;
    note.textContent = `合计 ${doc.total.toLocaleString('zh-CN')} 件（${doc.counted}，${shown}，全区，不限于当前视野）`
      + (doc.previous_total !== undefined ? `；对比期 ${doc.previous_total.toLocaleString('zh-CN')} 件` : '');
    // bars: one per group value (top 30 by count); with periods, one series per value (top 8) over the periods
    const { echarts } = await import('./charts.js');
    if (!chart) {
      chart = echarts.init(chartBox, null, { renderer: 'canvas' });
      chart.on('click', (ev) => { const r = ev.data?.row; if (r) select(r, false); });
    }
    const totals = new Map();
    for (const r of rows) { const d = describe(doc, r, g); totals.set(d.key, (totals.get(d.key) || 0) + r.count); }
    const keys = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
    let option;
    if (!current.period) {
      const top30 = keys.slice(0, 30);
      const byKey = new Map(rows.map((r) => [describe(doc, r, g).key, r]));
      option = {
        grid: { left: 110, right: 40, top: 10, bottom: 30 }, tooltip: { trigger: 'axis' },
        xAxis: { type: 'value', splitNumber: 3, axisLabel: { hideOverlap: true } },
        yAxis: { type: 'category', inverse: true, data: top30.map((k) => describe(doc, byKey.get(k), g).label), axisLabel: { width: 100, overflow: 'truncate' } },
        series: [{ type: 'bar', name: '案件数', itemStyle: { color: COLORS[0] }, data: top30.map((k) => ({ value: byKey.get(k).count, row: byKey.get(k) })) },
          ...(doc.compare ? [{ type: 'bar', name: doc.compare === 'yoy' ? '去年同期' : '上期', itemStyle: { color: '#adb5bd' },
            data: top30.map((k) => ({ value: byKey.get(k).previous, row: byKey.get(k) })) }] : [])],
      };
      chartBox.style.height = `${Math.max(160, top30.length * (doc.compare ? 26 : 20) + 50)}px`;
    } else {
      const periods = [...new Set(rows.map((r) => r.period))].sort();
      const series = keys.slice(0, 8).map((k, i) => {
        const byPeriod = new Map(rows.filter((r) => describe(doc, r, g).key === k).map((r) => [r.period, r]));
        const sample = byPeriod.values().next().value;
        return { type: 'bar', stack: 'all', name: describe(doc, sample, g).label, itemStyle: { color: COLORS[i % COLORS.length] },
          data: periods.map((p) => ({ value: byPeriod.get(p)?.count || 0, row: byPeriod.get(p) || { ...sample, period: p, count: 0 } })) };
      });
      option = { grid: { left: 50, right: 20, top: 40, bottom: 40 }, tooltip: { trigger: 'axis' }, legend: { type: 'scroll', top: 0 },
        xAxis: { type: 'category', data: periods }, yAxis: { type: 'value' }, series };
      chartBox.style.height = '260px';
    }
    chart.resize();
    // no animation: a bar is where it is drawn at once (clicks land on it; the figure is not a show)
    chart.setOption({ animation: false, ...option }, true);
    // the table (every row, with shares and the comparison), each row clickable like its bar
    const head = el('tr', {}, el('th', {}, CASE_GROUPS.find(([v]) => v === g)[1]), current.period ? el('th', {}, '时段') : null,
      el('th', {}, '案件数'), el('th', {}, '占比'), doc.compare ? el('th', {}, doc.compare === 'yoy' ? '去年同期' : '上期') : null,
      doc.compare ? el('th', {}, doc.compare === 'yoy' ? '同比' : '环比') : null);
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows.map((r) => el('tr', { class: 'clickable', onclick: () => select(r, false), dataset: { key: describe(doc, r, g).key } },
      el('td', {}, describe(doc, r, g).label), current.period ? el('td', {}, r.period) : null, el('td', { class: 'num' }, r.count.toLocaleString('zh-CN')),
      el('td', { class: 'num' }, `${(r.share * 100).toFixed(1)}%`), doc.compare ? el('td', { class: 'num' }, String(r.previous)) : null,
      doc.compare ? el('td', { class: 'num' }, pct(r.change)) : null))));
    csv.disabled = false;
    await areas(doc, g);
    app.stats.chart = chart;
    app.stats.ready = true;
  }

  async function topProblems() {
    // 高发问题 and 多发区域 of the same range
    try {
      const base = { from: from.value, to: to.value, limit: '5' };
      const [minor, grid] = await Promise.all([
        getJSON(`/api/stats/cases?${new URLSearchParams({ ...base, group: 'minor' })}`),
        getJSON(`/api/stats/cases?${new URLSearchParams({ ...base, group: 'unit_grid' })}`)]);
      top.replaceChildren(
        el('h4', {}, '高发问题'), el('ol', { class: 'top', id: 'stats-top-minor' }, ...minor.rows.map((r) => el('li', {}, `${describe(minor, r, 'minor').label} ${r.count} 件`))),
        el('h4', {}, '多发区域（单元网格）'), el('ol', { class: 'top', id: 'stats-top-grid' }, ...grid.rows.map((r) => el('li', {}, `${describe(grid, r, 'unit_grid').label} ${r.count} 件`))));
    } catch (error) { top.replaceChildren(el('p', { class: 'note warn' }, explain(error))); }
  }

  /** Shows a bar's (or an area's) cases on the map and lists them in the info panel. */
  async function select(row, fromMap) {
    if (!current) return;
    const { doc, group: g } = current;
    const d = describe(doc, row, g);
    const filter = await caseFilter(doc, g, row, current.period);
    // only the properties the list shows: a district-wide bar is thousands of cases, and the descriptions
    // were most of the answer's bytes
    const p = new URLSearchParams({ filter, 'filter-lang': 'cql2-text', limit: String(MAX_POINTS), sortby: '-reported_at',
      properties: LIST_PROPERTIES });
    let fc;
    try {
      fc = await getJSON(`/ogc/collections/cases/items?${p}`);
    } catch (error) {
      note.textContent = `案件加载失败：${explain(error)}`;
      return;
    }
    const features = fc.features || [];
    map.getSource('overlay:stats-cases').setData({ type: 'FeatureCollection', features });
    for (const tr of table.querySelectorAll('tr[data-key]')) tr.classList.toggle('selected', tr.dataset.key === d.key);
    const labels = app.catalogLabels?.cases || {};
    const list = el('ul', { class: 'list', id: 'stats-case-list' }, ...features.slice(0, 200).map((f) => {
      const pr = f.properties || {};
      return el('li', { class: 'clickable', onclick: () => map.easeTo({ center: f.geometry.coordinates, zoom: Math.max(map.getZoom(), 16) }) },
        el('div', { class: 'title' }, `${pr.minor_name || pr.major_name || ''} · ${labels.source?.[pr.source] || pr.source || ''}`),
        el('div', { class: 'meta' }, `${formatLocal(pr.reported_at)} · ${labels.status?.[pr.status] || pr.status || ''} · ${pr.address || pr.code || ''}`));
    }));
    const matched = fc.numberMatched ?? features.length;
    showInfo(`${d.label}${row.period ? ` · ${row.period}` : ''}：${matched} 件`,
      el('p', { class: 'note', id: 'stats-selection' }, `${fromMap ? '地图所点区域' : '统计图所选'}的案件 ${matched} 件（${doc.counted}）`
        + (features.length < matched ? `，地图显示最近 ${features.length} 件` : '，已全部显示在地图上') + (features.length > 200 ? '；列表列出最近 200 件' : '')),
      list);
    app.stats.selected = { key: d.key, label: d.label, matched, shown: features.length, count: row.count };
    if (features.length && !fromMap) fitIfNeeded(features);
  }

  /**
   * Brings a selection into view, but moves the map only when that shows it better: when some of its
   * cases lie outside the view, or when they sit in a corner small enough to zoom in on by a level or
   * more. A district-wide bar on the district view keeps the camera: a move of a fraction of a zoom
   * level would load a new set of basemap tiles and draw several more frames (each 0.2–1 s in
   * software GL) for a picture that shows the same cases.
   */
  function fitIfNeeded(features) {
    const xs = features.map((f) => f.geometry.coordinates[0]);
    const ys = features.map((f) => f.geometry.coordinates[1]);
    const bounds = [[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]];
    const view = map.getBounds();
    const inside = view.contains(bounds[0]) && view.contains(bounds[1]);
    const camera = map.cameraForBounds(bounds, { padding: 60, maxZoom: 16 });
    if (inside && (!camera || camera.zoom - map.getZoom() < 1)) return;
    map.fitBounds(bounds, { padding: 60, maxZoom: 16, duration: 0 });
  }

  function download() {
    if (!current) return;
    const { doc, group: g } = current;
    const lines = [['分组', '代码', '时段', '案件数', '占比', '对比期', '变化'].join(',')];
    for (const r of doc.rows) {
      const d = describe(doc, r, g);
      lines.push([d.label, d.key, r.period || '', r.count, r.share, r.previous ?? '', r.change ?? ''].map((v) => `"${String(v).replace(/"/g, '""')}"`).join(','));
    }
    const url = URL.createObjectURL(new Blob([`\ufeff${lines.join('\n')}`], { type: 'text/csv' }));
    const a = el('a', { href: url, download: `案件统计-${g}-${from.value}-${to.value}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
  }

  run.addEventListener('click', () => { draw(); topProblems(); });
  clear.addEventListener('click', () => {
    map.getSource('overlay:stats-cases').setData(EMPTY);
    map.getSource('overlay:stats-areas').setData(EMPTY);
  });
  csv.addEventListener('click', download);
  app.statsSelect = select;

  // ---- 报警统计
  const aFrom = el('input', { type: 'date', id: 'alarm-stats-from', value: day(new Date(latest('alarms') - 29 * 86400000)) });
  const aTo = el('input', { type: 'date', id: 'alarm-stats-to', value: day(latest('alarms')) });
  const aGroup = el('select', { id: 'alarm-stats-group' }, ...options(ALARM_GROUPS));
  const aNote = el('p', { class: 'note', id: 'alarm-stats-note' }, canAlarms ? '' : '报警统计服务暂不可用');
  const aTable = el('table', { class: 'stats-table', id: 'alarm-stats-table' });
  const aRun = el('button', { type: 'button', id: 'alarm-stats-run', disabled: !canAlarms, onclick: async () => {
    try {
      const doc = await getJSON(`/api/stats/alarms?${new URLSearchParams({ group: aGroup.value, from: aFrom.value, to: aTo.value })}`);
      aNote.textContent = `合计 ${doc.total} 条（${doc.counted}，${aFrom.value} 至 ${aTo.value}）`;
      aTable.replaceChildren(...doc.rows.map((r) => el('tr', {}, el('td', {}, describe(doc, r, aGroup.value).label), el('td', { class: 'num' }, String(r.count)),
        el('td', { class: 'num' }, `${(r.share * 100).toFixed(1)}%`))));
    } catch (error) { aNote.textContent = `统计失败：${explain(error)}`; }
  } }, '统计');

  tab.append(el('div', { class: 'panel', id: 'panel-case-stats' },
    el('h3', {}, '案件统计'),
    el('div', { class: 'row' }, el('label', { for: 'stats-from' }, '开始'), from),
    el('div', { class: 'row' }, el('label', { for: 'stats-to' }, '结束'), to),
    el('div', { class: 'row' }, el('label', { for: 'stats-group' }, '分组'), group),
    el('div', { class: 'row' }, el('label', { for: 'stats-period' }, '时段'), period),
    el('div', { class: 'row' }, el('label', { for: 'stats-compare' }, '对比'), compare),
    el('div', { class: 'buttons' }, run, clear, csv), note, chartBox, top, table,
    el('p', { class: 'note' }, '点击柱条或表格行：地图显示这些案件并列出；分组为区域时，点击地图上的区域列出其案件。')),
  el('div', { class: 'panel', id: 'panel-alarm-stats' },
    el('h3', {}, '报警统计'),
    el('div', { class: 'row' }, el('label', { for: 'alarm-stats-from' }, '开始'), aFrom),
    el('div', { class: 'row' }, el('label', { for: 'alarm-stats-to' }, '结束'), aTo),
    el('div', { class: 'row' }, el('label', { for: 'alarm-stats-group' }, '分组'), aGroup),
    el('div', { class: 'buttons' }, aRun), aNote, aTable));
}

