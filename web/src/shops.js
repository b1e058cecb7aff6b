// 商铺门责 (issue 16): the 商户批量导入 page (a shop list uploaded with progress: bytes sent, then the
// server's job placing the rows by address; the placed shops on the map, the rows not placed grouped by
// why, in Chinese) and the 责任区 screen (per 市容环境卫生责任区: 商户数, 当日已收运/未收运, 红/黄/绿 from
// GET /api/shops/areas; the areas on the map coloured by how many of their shops were collected; a picked
// area's shops coloured by integrity; a shop's latest collection and evaluation on click).
import { ApiError, askKey, collection, explain, forgetKey, getJSON, has, storedKey } from './api.js';
import { $, dateTime, el, kv, showInfo, toast } from './ui.js';
import { EMPTY, classItems, colorMatch, districtAreas, districtToday, fitTo, layerToggle, legend, pointer } from './managed.js';

const PHASES = { read: '读取文件', place: '按地址定位', store: '写入数据库' };
const LEVEL_COLORS = { doorplate: '#2b8a3e', interpolated: '#74b816', poi: '#1971c2', intersection: '#1971c2', offset: '#1971c2',
  zone: '#f08c00', street: '#e8590c', region: '#c92a2a' };
const KIND_ORDER = ['unmatched', 'ambiguous', 'uncertain', 'no_address', 'invalid'];
const KIND_NAMES = { unmatched: '地址未匹配', ambiguous: '地址有歧义', uncertain: '定位可信度低', no_address: '缺少地址', invalid: '数据有误' };
const KIND_HINTS = { unmatched: '请核对路名和门牌号后重新导入', ambiguous: '请在地址前补充街道或社区', uncertain: '请补充门牌号',
  no_address: '请补充地址或坐标', invalid: '请改正数据后重新导入' };
// collection rate of an area → fill colour (legend below the table)
const RATE_BINS = [[0.9, '#40c057', '收运率 ≥ 90%'], [0.6, '#fab005', '60%–90%'], [0, '#fa5252', '< 60%']];
const NO_SHOPS = '#ced4da';
//: Why a whole file could not be imported (the error codes of gis/io and the upload, docs/http.md), in
//: Chinese with what to do; the server's English detail is shown below in small print.
const FAILURES = {
  unknown_format: ['文件格式不支持', '请上传 CSV、Excel（.xlsx）、GeoJSON 或 GeoPackage（.gpkg）文件。'],
  unreadable_file: ['文件无法读取', '文件已损坏，或内容与扩展名不符（例如把其他文件改名为 .xlsx）；请用原程序另存后重新上传。'],
  bad_encoding: ['文件编码无法识别', '文件既不是 UTF-8 也不是 GBK 文本；请在 Excel 或 WPS 中另存为“CSV UTF-8”后重新上传。'],
  unknown_encoding: ['文件编码无法识别', '请将文件另存为 UTF-8 或 GBK 编码后重新上传。'],
  empty_file: ['文件是空的', '文件中没有任何内容，请检查是否选错了文件。'],
  no_features: ['文件中没有商户', '文件只有表头、没有数据行，请填写商户后重新上传。'],
  missing_columns: ['缺少必需的列', '名单的第一行须是列名，至少包含“商户编号”和“商户名称”，并给出“经营地址”或经度/纬度。'],
  no_geometry: ['文件中没有位置信息', '请给出“经营地址”列，或经度/纬度列。'],
  unknown_crs: ['坐标系无法识别', '请在文件中注明坐标系，或改用经纬度（CGCS2000 或 WGS84）。'],
  too_large: ['文件过大', '单个文件不超过 64 MB，请拆分后分批上传。'],
  invalid_request: ['上传参数有误', '请检查“最低可信度”（0 到 1 之间）和导入方式后重试。'],
  database_unavailable: ['数据库暂不可用', '请稍后重试。'],
  internal: ['服务器处理出错', '请稍后重试；如仍失败请联系管理员并提供下方的英文说明。'],
};
const FAILURE_OTHER = ['文件无法导入', '请检查文件内容后重试。'];
const ROLE_WHY = '上传商户名单需要“规划员”或更高角色的 API 密钥（X-API-Key）。密钥只保存在本次浏览会话中。';

/** POSTs a file as the request body with upload progress (fetch cannot report bytes sent). */
function postFile(url, file, key, onBytes) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('X-API-Key', key);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onBytes(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new Error('上传中断'));
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = null; }
      resolve({ status: xhr.status, body });
    };
    xhr.send(file);
  });
}

async function jobStatus(url, key) {
  const r = await fetch(url, { headers: { 'X-API-Key': key, Accept: 'application/json' } });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, body?.error, body?.detail);
  return body;
}

/** An area's name without the 市容环境卫生责任区 every one of them ends with (the column says it; the tooltip has it). */
const shortName = (a) => (a.name || a.code).replace(/(.)市容环境卫生责任区$/, '$1');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const num = (n) => (Number.isFinite(n) ? n.toLocaleString('zh-CN') : '—');

function figure(label, value, cls) {
  return el('div', { class: `figure ${cls || ''}` }, el('b', {}, num(value)), el('span', {}, label));
}

export function initShops({ map, app, labels }) {
  const tab = $('#tab-shops');
  if (!tab) return;
  app.shops = { import: null, areas: null, selected: null, shop: null };
  const levelName = (l) => (labels.match_level || {})[l] || l || '坐标';
  const integrity = classItems('shop_state');
  const integrityColor = colorMatch('integrity', integrity);

  map.addSource('overlay:shop-areas', { type: 'geojson', data: EMPTY });
  map.addSource('overlay:shop-import', { type: 'geojson', data: EMPTY });
  map.addSource('overlay:area-shops', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'overlay:shop-areas', type: 'fill', source: 'overlay:shop-areas',
    paint: { 'fill-color': ['coalesce', ['get', '_color'], NO_SHOPS], 'fill-opacity': ['case', ['boolean', ['get', '_selected'], false], 0.45, 0.25] } });
  map.addLayer({ id: 'overlay:shop-areas-line', type: 'line', source: 'overlay:shop-areas',
    paint: { 'line-color': ['case', ['boolean', ['get', '_selected'], false], '#5f3dc4', '#7048e8'],
      'line-width': ['case', ['boolean', ['get', '_selected'], false], 3, 1.2] } });
  map.addLayer({ id: 'overlay:shop-areas-label', type: 'symbol', source: 'overlay:shop-areas', minzoom: 12,
    layout: { 'text-field': ['get', 'name'], 'text-size': 12 }, paint: { 'text-color': '#5f3dc4', 'text-halo-color': '#fff', 'text-halo-width': 1.5 } });
  map.addLayer({ id: 'overlay:shop-import', type: 'circle', source: 'overlay:shop-import',
    paint: { 'circle-color': ['coalesce', ['get', '_color'], '#1971c2'], 'circle-radius': 6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
  // a picked area's shops lie above the upload's markers (the integrity colour is what the area screen shows)
  map.addLayer({ id: 'overlay:area-shops', type: 'circle', source: 'overlay:area-shops',
    paint: { 'circle-color': integrityColor, 'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 4, 15, 6.5, 18, 9],
      'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
  pointer(map, 'overlay:shop-areas', 'overlay:area-shops', 'overlay:shop-import');

  // ---------------------------------------------------------------- 商户批量导入
  const file = el('input', { type: 'file', id: 'shop-file', accept: '.csv,.xlsx,.geojson,.json,.gpkg' });
  const keepGood = el('input', { type: 'checkbox', id: 'shop-keep-good', checked: true });
  const minConf = el('input', { type: 'number', id: 'shop-min-confidence', min: 0, max: 1, step: 0.05, value: 0.6 });
  const mode = el('select', { id: 'shop-mode' }, el('option', { value: 'append' }, '追加'), el('option', { value: 'replace' }, '替换全部商户'));
  const run = el('button', { type: 'button', id: 'shop-import-run', class: 'primary', disabled: !has('/api/shops/import') }, '上传并定位');
  const bar = el('progress', { id: 'shop-progress', max: 1, value: 0 });
  const barText = el('span', { id: 'shop-progress-text' }, '');
  const progressRow = el('div', { class: 'progress-row', hidden: true }, bar, barText);
  const iNote = el('p', { class: 'note', id: 'shop-import-note' }, has('/api/shops/import')
    ? 'CSV、Excel 或 GeoJSON：商户编号、商户名称、经营地址（可另给经度/纬度）。只有地址的行按地址定位。' : '商户导入服务暂不可用');
  const iOut = el('div', { id: 'shop-import-out' });

  function showPlaced(placed) {
    const features = placed.filter((p) => Number.isFinite(p.lon)).map((p) => ({ type: 'Feature',
      geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: { ...p, _color: LEVEL_COLORS[p.match_level] || '#1971c2' } }));
    map.getSource('overlay:shop-import').setData({ type: 'FeatureCollection', features });
    if (features.length) fitTo(map, features, 17);
    return features.length;
  }

  /** A file the server could not import at all (not rows rejected): what went wrong in Chinese, the hint,
   *  and the server's English detail in small print. */
  function failure(code, detail, extra = {}) {
    const [what, hint] = FAILURES[code] || FAILURE_OTHER;
    const missing = (extra.missing || []).map((m) => m.title || m.column);
    const head = `导入失败：${what}${missing.length ? `（${missing.join('、')}）` : ''}`;
    showPlaced([]);
    barText.textContent = '未导入';
    iOut.replaceChildren(...[
      el('p', { class: 'note warn', id: 'shop-import-summary', dataset: { error: code || '' } }, head),
      el('p', { class: 'note', id: 'shop-import-hint' }, hint),
      detail ? el('p', { class: 'note detail', id: 'shop-import-detail', lang: 'en' }, detail) : null].filter(Boolean));
    app.shops.import = { state: 'failed', error: code || null, message: head, detail: detail || null };
  }

  function report(job) {
    const result = job.result || {};
    if (job.state === 'failed' || (job.state === 'rejected' && !(result.rejected || []).length)) {
      failure(result.error, result.detail, result);
      return;
    }
    const rejected = result.rejected || [];
    const stored = job.state === 'done';
    const inserted = stored ? result.inserted || 0 : 0;
    const read = result.read ?? (stored ? inserted + rejected.length : job.total || rejected.length);
    const byKind = {};
    for (const r of rejected) (byKind[r.kind || 'invalid'] ||= []).push(r);
    const placedShown = stored ? showPlaced(result.placed || []) : (showPlaced([]), 0);
    const head = stored
      ? `导入完成：共 ${num(read)} 行，已定位落图 ${num(inserted)} 家商户` + (rejected.length ? `，${num(rejected.length)} 行未导入（见下）` : '')
      : `未导入任何商户：${num(rejected.length)} 行无法定位或数据有误（整批导入，全部或全不）。勾选“只导入可定位的行”可先导入其余各行。`;
    const byLevel = {};
    for (const p of result.placed || []) byLevel[p.match_level || ''] = (byLevel[p.match_level || ''] || 0) + 1;
    const groups = KIND_ORDER.filter((k) => byKind[k]?.length).map((k) => el('div', { class: 'rejected-group', dataset: { kind: k } },
      el('h4', { class: `kind-${k}` }, `${KIND_NAMES[k]} ${byKind[k].length} 行`, el('span', { class: 'note' }, ` · ${KIND_HINTS[k]}`)),
      el('table', { class: 'stats-table rejected-table' },
        el('thead', {}, el('tr', {}, el('th', {}, '行号'), el('th', {}, '商户编号'), el('th', {}, '原因'))),
        el('tbody', {}, ...byKind[k].map((r) => el('tr', { dataset: { row: r.row, id: r.id ?? '' } },
          el('td', { class: 'num' }, String(r.row)), el('td', {}, r.id ?? ''), el('td', {}, (r.reasons_zh || r.reasons || []).join('；'))))))));
    iOut.replaceChildren(...[
      el('p', { class: `note ${stored ? '' : 'warn'}`, id: 'shop-import-summary' }, head),
      el('div', { class: 'summary-figures', id: 'shop-import-figures' }, figure('文件行数', read), figure('已落图', inserted, 'ok'),
        figure('未导入', rejected.length, rejected.length ? 'bad' : ''),
        ...KIND_ORDER.filter((k) => byKind[k]?.length).map((k) => figure(KIND_NAMES[k], byKind[k].length, 'bad'))),
      stored && inserted ? legend(Object.entries(byLevel).map(([l, n]) => ({ value: l, label: `${levelName(l)}定位`, color: LEVEL_COLORS[l] || '#1971c2', count: n })), 'circle', 'shop-import-legend') : null,
      stored && inserted > placedShown ? el('p', { class: 'note' }, `地图上标出前 ${num(placedShown)} 家；全部商户见“图层”中的沿街商铺。`) : null,
      ...groups].filter(Boolean));
    app.shops.import = { state: job.state, read, inserted, placedShown, rejected: rejected.length,
      byKind: Object.fromEntries(KIND_ORDER.map((k) => [k, (byKind[k] || []).length])) };
    if (stored && inserted) refreshShopTiles();
  }

  function refreshShopTiles() {
    // the district layer of shops (vector tiles, never cached on the server) shows the new shops too
    const src = map.getSource('src:shop_state');
    if (src?.setTiles && src.tiles) src.setTiles([...src.tiles]);
  }

  async function upload() {
    const f = file.files?.[0];
    if (!f) { iNote.textContent = '请先选择商户名单文件'; return; }
    let key = storedKey() || await askKey(ROLE_WHY);
    if (!key) { iNote.textContent = '未提供 API 密钥，已取消'; return; }
    const params = new URLSearchParams({ filename: f.name, keep_good: String(keepGood.checked), min_confidence: minConf.value || '0.6', mode: mode.value });
    run.disabled = true;
    progressRow.hidden = false;
    iOut.replaceChildren();
    app.shops.import = { state: 'uploading' };
    try {
      let answer;
      for (let attempt = 0; attempt < 2; attempt += 1) {
        bar.max = 1; bar.value = 0;
        answer = await postFile(`/api/shops/import?${params}`, f, key, (sent, total) => {
          bar.max = total || 1; bar.value = sent;
          barText.textContent = `上传 ${Math.round((100 * sent) / (total || 1))}%`;
        });
        if ((answer.status === 401 || answer.status === 403) && attempt === 0) {
          forgetKey();
          key = await askKey(`${answer.status === 401 ? '密钥无效或已吊销' : '密钥角色不足'}：${answer.body?.detail || ''}。${ROLE_WHY}`);
          if (!key) throw new ApiError(answer.status, 'no_key', '未提供有效的 API 密钥，已取消');
          continue;
        }
        break;
      }
      if (answer.status !== 202) throw new ApiError(answer.status, answer.body?.error, answer.body?.detail);
      let job = answer.body;
      const url = job.status_url || `/api/shops/import/${job.id}`;
      while (job.state === 'running') {
        bar.max = job.total || 1;
        bar.value = job.done || 0;
        barText.textContent = `${PHASES[job.phase] || job.phase} ${num(job.done)} / ${num(job.total)}`;
        app.shops.progress = { phase: job.phase, done: job.done, total: job.total };
        await sleep(250);
        job = await jobStatus(url, key);
      }
      bar.max = 1; bar.value = 1;
      barText.textContent = `完成 · ${job.seconds} 秒`;
      report(job);
    } catch (error) {
      if (error instanceof ApiError && (error.code in FAILURES || (error.status >= 400 && error.status < 500 && error.code !== 'no_key'
        && error.status !== 401 && error.status !== 403))) {
        failure(error.code, error.detail);
      } else {
        iOut.replaceChildren(el('p', { class: 'note warn', id: 'shop-import-summary' }, `导入失败：${explain(error)}`));
        app.shops.import = { state: 'error', error: explain(error) };
      }
    } finally {
      run.disabled = false;
    }
  }
  run.addEventListener('click', upload);

  map.on('click', 'overlay:shop-import', (e) => {
    if (e.citygridHandled) return;
    e.citygridHandled = true;
    openShop(e.features[0].properties.code);
  });

  // ---------------------------------------------------------------- 责任区 (门责)
  const street = el('select', { id: 'shop-area-street' }, el('option', { value: '' }, '全部街道'));
  const day = el('input', { type: 'date', id: 'shop-area-day', value: districtToday() });
  const aRun = el('button', { type: 'button', id: 'shop-areas-run', class: 'primary', disabled: !has('/api/shops/areas') }, '查看责任区');
  const aNote = el('p', { class: 'note', id: 'shop-areas-note' }, has('/api/shops/areas') ? '' : '责任区统计服务暂不可用');
  const table = el('table', { class: 'stats-table', id: 'shop-areas-table' });
  const shopLegend = el('div', { id: 'shop-area-legend' });
  districtAreas().then((areas) => street.append(...areas.filter((a) => a.level === 'street').map((a) => el('option', { value: a.code }, `${a.name}（${a.code}）`))));
  let geometries = null; // work_grids id -> geometry of the responsibility areas
  let current = null;
  let areaFeatures = [];

  async function areaGeometries() {
    if (geometries) return geometries;
    geometries = new Map();
    if (!collection('work_grids')) return geometries;
    const p = new URLSearchParams({ filter: "kind='cityscape_responsibility'", 'filter-lang': 'cql2-text', limit: '5000', properties: 'code,name' });
    try {
      const fc = await getJSON(`/ogc/collections/work_grids/items?${p}`);
      for (const f of fc.features || []) geometries.set(String(f.id), f.geometry);
    } catch { /* the table still shows the figures */ }
    return geometries;
  }

  const dayLabel = () => (day.value === districtToday() ? '今日' : '当日');

  async function loadAreas() {
    aNote.textContent = '正在统计…';
    const p = new URLSearchParams();
    if (street.value) p.set('street', street.value);
    if (day.value) p.set('day', day.value);
    let doc;
    try {
      [doc] = await Promise.all([getJSON(`/api/shops/areas?${p}`), areaGeometries()]);
    } catch (error) { aNote.textContent = `统计失败：${explain(error)}`; return; }
    current = doc;
    const d = dayLabel();
    const t = doc.totals;
    aNote.textContent = `${doc.day}：${doc.areas.length} 个市容环境卫生责任区，商户 ${num(t.shops)} 家，${d}已收运 ${num(t.collected)} 家（${num(t.collected_kg)} 公斤），未收运 ${num(t.not_collected)} 家；诚信颜色按 ${dateTime(doc.judged_at)} 判定。点击表格行或地图上的责任区查看其商户。`;
    const cells = (a) => [el('td', { class: 'num' }, num(a.shops)), el('td', { class: 'num' }, num(a.collected)), el('td', { class: 'num' }, num(a.not_collected)),
      el('td', { class: 'num' }, num(a.collected_kg)), el('td', { class: 'num red' }, num(a.red)), el('td', { class: 'num yellow' }, num(a.yellow)),
      el('td', { class: 'num green' }, num(a.green))];
    table.replaceChildren(
      el('thead', {}, el('tr', {}, el('th', {}, '责任区'), el('th', {}, '商户数'), el('th', {}, `${d}已收运`), el('th', {}, '未收运'),
        el('th', {}, '收运量(公斤)'), el('th', {}, '红'), el('th', {}, '黄'), el('th', {}, '绿'))),
      el('tbody', {}, ...doc.areas.map((a) => el('tr', { class: 'clickable', dataset: { area: a.id, code: a.code }, onclick: () => selectArea(a.id, true) },
        el('td', { title: `${a.name || ''}（${a.code}）` }, shortName(a)), ...cells(a))),
      el('tr', { class: 'total', dataset: { total: '1' } }, el('td', {}, '合计'), ...cells(t))));
    const features = doc.areas.filter((a) => geometries.get(String(a.id))).map((a) => ({ type: 'Feature', id: a.id, geometry: geometries.get(String(a.id)),
      properties: { id: a.id, code: a.code, name: a.name, _color: a.shops ? RATE_BINS.find(([min]) => a.collected / a.shops >= min)[1] : NO_SHOPS } }));
    areaFeatures = features;
    map.getSource('overlay:shop-areas').setData({ type: 'FeatureCollection', features });
    shopLegend.replaceChildren(
      el('div', { class: 'note' }, `责任区颜色：${d}收运率`),
      legend([...RATE_BINS.map(([, color, label]) => ({ label, color })), { label: '无商户', color: NO_SHOPS }], 'square', 'shop-rate-legend'));
    app.shops.areas = doc;
    if (features.length) fitTo(map, features, 16);
  }

  /** A responsibility area picked (table row or map): its figures, its shops coloured by integrity. */
  async function selectArea(id, fromTable) {
    if (!current) return;
    const a = current.areas.find((x) => String(x.id) === String(id));
    if (!a) return;
    for (const tr of table.querySelectorAll('tr[data-area]')) tr.classList.toggle('selected', tr.dataset.area === String(id));
    map.getSource('overlay:shop-areas').setData({ type: 'FeatureCollection',
      features: areaFeatures.map((f) => ({ ...f, properties: { ...f.properties, _selected: String(f.properties.id) === String(id) } })) });
    let fc = EMPTY;
    if (collection('shop_state')) {
      const p = new URLSearchParams({ filter: `area_id=${Number(id)}`, 'filter-lang': 'cql2-text', limit: '10000',
        properties: 'code,integrity' }); // the card fetches the rest on click
      try { fc = await getJSON(`/ogc/collections/shop_state/items?${p}`); } catch (error) { toast(`商户加载失败：${explain(error)}`, 'error'); }
    }
    const features = fc.features || [];
    map.getSource('overlay:area-shops').setData({ type: 'FeatureCollection', features });
    const counts = Object.fromEntries(integrity.map((i) => [i.value, 0]));
    for (const f of features) counts[f.properties.integrity] = (counts[f.properties.integrity] || 0) + 1;
    const d = dayLabel();
    showInfo(`${a.name || a.code}`,
      el('div', { class: 'summary-figures', id: 'shop-area-figures' }, figure('商户数', a.shops), figure(`${d}已收运`, a.collected, 'ok'),
        figure('未收运', a.not_collected, a.not_collected ? 'bad' : ''), figure('红', a.red, 'red'), figure('黄', a.yellow, 'yellow'), figure('绿', a.green, 'green')),
      kv([['责任区编码', a.code], ['日期', current.day], [`${d}收运量`, `${num(a.collected_kg)} 公斤`], ['地图上的商户', `${num(features.length)} 家`]]),
      el('div', { class: 'note' }, '商户按诚信颜色着色（点击商户查看最近收运与评价）：'),
      legend(integrity.map((i) => ({ value: i.value, label: i.label, color: i.color, count: counts[i.value] || 0 })), 'circle', 'shop-integrity-legend'));
    app.shops.selected = { id: a.id, code: a.code, name: a.name, figures: a, mapped: features.length, counts };
    const geom = geometries?.get(String(id));
    if (geom && fromTable) fitTo(map, [{ geometry: geom }], 17);
    else if (features.length && fromTable) fitTo(map, features, 17);
  }

  /** A shop's card: latest collection and evaluation, integrity colour now. */
  async function openShop(code) {
    let s;
    try { s = await getJSON(`/api/shops/${encodeURIComponent(code)}`); } catch (error) { toast(`商户加载失败：${explain(error)}`, 'error'); return; }
    const color = integrity.find((i) => i.value === s.integrity);
    const badge = el('span', { class: 'integrity-badge', style: `color:${color?.color || 'inherit'};font-weight:600` }, color?.label || s.integrity_name);
    const resultNames = { pass: '合格', warn: '基本合格', fail: '不合格' };
    showInfo(`${s.name}（${s.code}）`, kv([
      ['诚信', badge], ['经营地址', s.address], ['责任区', s.area_name],
      ['最近收运', s.last_collected ? `${dateTime(s.last_collected)} · ${num(s.last_weight_kg)} 公斤` : '暂无收运记录'],
      ['最近评价', s.last_evaluated ? `${dateTime(s.last_evaluated)} · ${resultNames[s.last_result] || s.last_result}` : '暂无评价记录'],
      ['30日不合格', `${s.fails_30d} 次`], ['30日基本合格', `${s.warns_30d} 次`]]),
    el('p', { class: 'note' }, '诚信颜色规则：近30日最近一次评价不合格或不合格≥2次为红；其余有不合格/基本合格或7日内未收运为黄；否则为绿。'));
    app.shops.shop = s;
  }

  map.on('click', 'overlay:area-shops', (e) => {
    if (e.citygridHandled) return;
    e.citygridHandled = true;
    openShop(e.features[0].properties.code);
  });
  map.on('click', 'overlay:shop-areas', (e) => {
    if (e.citygridHandled) return;
    e.citygridHandled = true;
    selectArea(e.features[0].properties.id, false);
  });
  aRun.addEventListener('click', loadAreas);
  app.shopsOpen = openShop;
  app.shopsSelectArea = selectArea;

  tab.append(
    el('div', { class: 'panel', id: 'panel-shop-import' }, el('h3', {}, '商户批量导入'),
      el('div', { class: 'row' }, el('label', { for: 'shop-file' }, '文件'), file),
      el('div', { class: 'row' }, el('label', { for: 'shop-mode' }, '方式'), mode),
      el('div', { class: 'row' }, el('label', { for: 'shop-min-confidence' }, '最低可信度'), minConf),
      el('label', { class: 'toggle' }, keepGood, ' 只导入可定位的行（其余列出原因）'),
      el('div', { class: 'buttons' }, run, el('button', { type: 'button', onclick: () => map.getSource('overlay:shop-import').setData(EMPTY) }, '清除标注')),
      progressRow, iNote, iOut),
    el('div', { class: 'panel', id: 'panel-shop-areas' }, el('h3', {}, '责任区（门责）'),
      layerToggle(map, 'shop_state', '显示全部沿街商铺（诚信 红/黄/绿）', 'shop-layer-toggle'),
      el('div', { class: 'row' }, el('label', { for: 'shop-area-street' }, '街道'), street),
      el('div', { class: 'row' }, el('label', { for: 'shop-area-day' }, '日期'), day),
      el('div', { class: 'buttons' }, aRun, el('button', { type: 'button', onclick: () => {
        areaFeatures = [];
        map.getSource('overlay:shop-areas').setData(EMPTY); map.getSource('overlay:area-shops').setData(EMPTY); shopLegend.replaceChildren();
      } }, '清除地图')),
      aNote, el('div', { class: 'table-scroll' }, table), shopLegend));
}
