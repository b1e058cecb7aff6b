// Click anywhere: reverse geocode, the full grid hierarchy and the attributes of the features under
// the cursor, in the info panel.
import { explain, getJSON, has } from './api.js';
import { drawing } from './draw.js';
import { styleDoc, visibleLayerIds } from './layers.js';
import { gridTable } from './search.js';
import { $, el, hideInfo, kv, metres, showInfo } from './ui.js';

const GRID_LAYERS = new Set(['admin_areas', 'unit_grids', 'eval_grids', 'work_grids']);

function layerTitle(mapLayerId) {
  const id = mapLayerId.split(':')[0];
  return styleDoc()?.layers?.[id]?.title || id;
}

function classLabel(layerId, props) {
  const spec = styleDoc()?.layers?.[layerId];
  const classes = spec?.classes;
  if (!classes) return null;
  const item = classes.items.find((i) => String(i.value) === String(props[classes.property]));
  return item ? item.label : null;
}

function attributes(feature, labels) {
  const names = labels.layer_fields || {};
  const props = feature.properties || {};
  const layerId = feature.layer.id.split(':')[0];
  const pairs = [];
  const cls = classLabel(layerId, props);
  if (cls) pairs.push(['类别', cls]);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === '' || key.startsWith('_')) continue;
    let shown = value;
    if (key === 'level') shown = (labels.admin_level || {})[value] || value;
    const vocab = window.citygrid.catalogLabels?.[layerId]?.[key];
    if (vocab && vocab[value]) shown = vocab[value];
    pairs.push([names[key] || key, typeof shown === 'object' ? JSON.stringify(shown) : shown, /code|^id$/.test(key) ? 'code' : null]);
  }
  return kv(pairs);
}

export function initIdentify({ map, labels, maplibregl }) {
  const pin = new maplibregl.Marker({ color: '#1864ab', scale: 0.8 });
  let seq = 0;
  $('#info-close').addEventListener('click', () => { hideInfo(); pin.remove(); });

  map.on('click', async (e) => {
    if (drawing() || window.citygrid.mode || e.citygridHandled) return;
    const { lng, lat } = e.lngLat;
    const mine = ++seq;
    pin.setLngLat([lng, lat]).addTo(map);
    const addressBox = el('div', { class: 'info-section' }, el('p', { class: 'note' }, '正在查询地址…'));
    const gridBox = el('div', { class: 'info-section' }, el('h4', {}, '网格'), el('p', { class: 'note' }, '正在查询网格…'));
    const featureBox = el('div', { class: 'info-section' });
    const nearBox = el('div', { class: 'info-section' });
    showInfo('位置信息',
      kv([['经纬度', `${lng.toFixed(6)}, ${lat.toFixed(6)}`, 'code'], ['坐标系', 'CGCS2000 (EPSG:4490)']]),
      nearBox, addressBox, gridBox, featureBox);
    window.dispatchEvent(new CustomEvent('citygrid:identify', { detail: { lng, lat, box: nearBox } }));

    // features under the cursor (a few pixels of tolerance), nearest layers first
    const box = [[e.point.x - 4, e.point.y - 4], [e.point.x + 4, e.point.y + 4]];
    const layers = visibleLayerIds().filter((id) => map.getLayer(id));
    const seen = new Set();
    const features = map.queryRenderedFeatures(box, { layers }).filter((f) => {
      const key = `${f.layer.id.split(':')[0]}|${f.id ?? JSON.stringify(f.properties)}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }).slice(0, 8);
    if (features.length) {
      featureBox.append(el('h4', {}, `要素（${features.length}）`));
      for (const f of features) featureBox.append(el('div', { class: 'feature' }, el('strong', {}, layerTitle(f.layer.id)), attributes(f, labels)));
    }

    const reverse = has('/api/reverse')
      ? getJSON(`/api/reverse?lon=${lng}&lat=${lat}`).catch((error) => ({ error })) : Promise.resolve(null);
    const locate = has('/api/grids/locate')
      ? getJSON(`/api/grids/locate?lon=${lng}&lat=${lat}`).catch((error) => ({ error })) : Promise.resolve(null);
    const [rev, grid] = await Promise.all([reverse, locate]);
    if (mine !== seq) return;

    addressBox.replaceChildren(el('h4', {}, '标准地址'));
    if (!rev) addressBox.append(el('p', { class: 'note' }, '逆地理编码服务暂不可用'));
    else if (rev.error) addressBox.append(el('p', { class: 'note warn' }, explain(rev.error)));
    else {
      const p = rev.properties || rev;
      addressBox.append(el('p', { class: 'address', dataset: { testid: 'reverse-address' } }, p.standard_address || p.address || '（附近无地址）'),
        kv([['匹配级别', (labels.match_level || {})[p.match_level] || p.match_level],
          ['最近门牌', p.nearest_doorplate?.address || (typeof p.nearest_doorplate === 'string' ? p.nearest_doorplate : null)],
          ['最近街巷', typeof p.nearest_street === 'string' ? p.nearest_street : p.nearest_street?.name],
          ['距离', Number.isFinite(p.distance_m) ? metres(p.distance_m) : null]]));
    }

    gridBox.replaceChildren(el('h4', {}, '网格'));
    const g = grid && !grid.error ? grid : (rev && !rev.error ? (rev.properties || {}).grid : null);
    const table = gridTable(g);
    if (table) gridBox.append(table);
    else if (grid?.error) gridBox.append(el('p', { class: 'note warn' }, explain(grid.error)));
    else if (!grid && !has('/api/grids/locate')) gridBox.append(el('p', { class: 'note' }, '网格定位服务暂不可用'));
    else {
      // locate found nothing here, but the map may draw grids at this spot (an edge, a grid the index has
      // not yet picked up): say what the map shows rather than "no grid" next to a list of grids
      const drawn = features.filter((f) => GRID_LAYERS.has(f.layer.id.split(':')[0]) && f.properties?.code);
      if (drawn.length) {
        gridBox.append(el('p', { class: 'note warn' }, '网格定位未返回结果；图上此处的网格：'),
          kv(drawn.map((f) => [layerTitle(f.layer.id), `${f.properties.code}${f.properties.name ? ` ${f.properties.name}` : ''}`, 'code'])));
      } else gridBox.append(el('p', { class: 'note' }, '此处不在任何网格内'));
    }
    window.citygrid.lastIdentify = { lng, lat, grid: g, reverse: rev && !rev.error ? rev : null, features: features.length };
  });
}
