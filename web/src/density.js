// 部件密度 choropleth of the 普查成果 panel: the census answer (components per km² by 大类, per area of a
// level) drawn on the areas' shapes from OGC API – Features (admin_areas of that level), in five classes
// of equal count (quantiles of the non-empty areas, with their bounds in the legend), 0 drawn apart so an
// empty area never looks like a low one. A click on an area shows its numbers.
import { getJSON } from './api.js';
import { el, kv, showInfo } from './ui.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
const RAMP = ['#fff5eb', '#fdd0a2', '#fd8d3c', '#e6550d', '#a63603'];
const NONE = '#e9ecef';

/** Upper bounds of up to five classes of the positive values (quantiles), ascending and distinct. */
function breaks(values) {
  const v = values.filter((x) => x > 0).sort((a, b) => a - b);
  if (!v.length) return [];
  const out = [];
  for (let k = 1; k <= RAMP.length; k += 1) {
    const b = v[Math.min(v.length - 1, Math.ceil((k * v.length) / RAMP.length) - 1)];
    if (!out.length || b > out[out.length - 1]) out.push(b);
  }
  return out;
}

export function densityLayer(map) {
  map.addSource('overlay:density', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'overlay:density-fill', type: 'fill', source: 'overlay:density',
    paint: { 'fill-color': ['get', 'color'], 'fill-opacity': 0.7 } });
  map.addLayer({ id: 'overlay:density-line', type: 'line', source: 'overlay:density', paint: { 'line-color': '#7f2704', 'line-width': 1 } });
  const legend = el('ul', { class: 'legend', id: 'density-legend' });
  map.on('click', 'overlay:density-fill', (e) => {
    e.citygridHandled = true;
    const p = e.features[0].properties;
    showInfo(`${p.name} · 部件密度`, kv([['区域代码', p.code, 'code'], ['类别', p.major_name], ['部件数', `${p.count} 个`],
      ['面积', `${p.area_km2} 平方公里`], ['密度', `${p.density} 个/平方公里`]]));
    window.citygrid.densityClicked = { code: p.code, count: p.count, density: p.density };
  });

  /** Draws the census `doc` of `level` for one 大类 (or all components when `major` is ''). */
  async function draw(doc, level, major) {
    const shapes = await getJSON(`/ogc/collections/admin_areas/items?${new URLSearchParams({ level, limit: '2000', properties: 'name' })}`);
    const byCode = new Map(doc.areas.map((a) => [a.code, a]));
    const value = (a) => {
      if (!a) return { count: 0, density: 0 };
      const c = major ? a.components?.by_major?.[major] : a.components;
      return { count: c?.count ?? 0, density: c?.density_per_km2 ?? 0 };
    };
    const upper = breaks(doc.areas.map((a) => value(a).density));
    const color = (d) => (d > 0 ? RAMP[Math.max(0, upper.findIndex((b) => d <= b))] : NONE);
    const majorName = major ? doc.areas.map((a) => a.components?.by_major?.[major]?.name).find(Boolean) || major : '全部部件';
    const features = (shapes.features || []).filter((f) => f.geometry).map((f) => {
      const code = f.properties?.code ?? f.id;
      const a = byCode.get(code);
      const v = value(a);
      return { type: 'Feature', geometry: f.geometry, properties: { code, name: a?.name || f.properties?.name || code, major_name: majorName,
        count: v.count, density: v.density, area_km2: a?.area_km2 ?? '', color: color(v.density) } };
    });
    map.getSource('overlay:density').setData({ type: 'FeatureCollection', features });
    legend.replaceChildren(el('li', { class: 'legend-title' }, `${majorName}密度（个/平方公里）`),
      ...upper.map((b, i) => el('li', {}, el('span', { class: 'swatch fill', style: `background:${RAMP[i]}` }),
        el('span', {}, `${i ? `${upper[i - 1].toFixed(1)} – ` : '≤ '}${b.toFixed(1)}`))),
      el('li', {}, el('span', { class: 'swatch fill', style: `background:${NONE}` }), el('span', {}, '无部件')));
    window.citygrid.density = { level, major, areas: features.map((f) => ({ code: f.properties.code, count: f.properties.count, density: f.properties.density })) };
    return features.length;
  }

  function clear() {
    map.getSource('overlay:density').setData(EMPTY);
    legend.replaceChildren();
  }
  return { draw, clear, legend };
}
