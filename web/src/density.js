// 部件密度 choropleth of the 普查成果 panel: the census answer (components per km² by 大类, per area of a
// level) drawn on the areas' shapes from OGC API – Features (admin_areas of that level), in five classes
// of equal count (quantiles of the non-empty areas, with their bounds in the legend), 0 drawn apart so an
// empty area never looks like a low one. A click on an area shows its numbers.
// Where the map already has the areas' vector tiles (the 行政区划 layer, src:admin_areas) the choropleth
// is drawn on them — a filter by level and a colour per code — instead of fetching every area's outline as
// GeoJSON (~1 s on the demo district for the streets' detailed outlines, fetched and parsed per draw).
import { getJSON, hasTiles } from './api.js';
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

const TILES = 'src:admin_areas';

export function densityLayer(map) {
  // the areas' tiles when the map has them (drawn from the first draw on), else GeoJSON outlines
  const tiled = !!map.getSource(TILES) && hasTiles('admin_areas');
  const shown = new Map(); // code -> the properties of a drawn area (tiles carry only code, level, name)
  if (tiled) {
    const on = { source: TILES, 'source-layer': 'admin_areas', layout: { visibility: 'none' } };
    map.addLayer({ id: 'overlay:density-fill', type: 'fill', ...on, paint: { 'fill-color': NONE, 'fill-opacity': 0.7 } });
    map.addLayer({ id: 'overlay:density-line', type: 'line', ...on, paint: { 'line-color': '#7f2704', 'line-width': 1 } });
  } else {
    map.addSource('overlay:density', { type: 'geojson', data: EMPTY });
    map.addLayer({ id: 'overlay:density-fill', type: 'fill', source: 'overlay:density',
      paint: { 'fill-color': ['get', 'color'], 'fill-opacity': 0.7 } });
    map.addLayer({ id: 'overlay:density-line', type: 'line', source: 'overlay:density', paint: { 'line-color': '#7f2704', 'line-width': 1 } });
  }
  const legend = el('ul', { class: 'legend', id: 'density-legend' });
  map.on('click', 'overlay:density-fill', (e) => {
    e.citygridHandled = true;
    const p = tiled ? shown.get(String(e.features[0].properties.id)) : e.features[0].properties;
    if (!p) return;
    showInfo(`${p.name} · 部件密度`, kv([['区域代码', p.code, 'code'], ['类别', p.major_name], ['部件数', `${p.count} 个`],
      ['面积', `${p.area_km2} 平方公里`], ['密度', `${p.density} 个/平方公里`]]));
    window.citygrid.densityClicked = { code: p.code, count: p.count, density: p.density };
  });

  /** Draws the census `doc` of `level` for one 大类 (or all components when `major` is ''). */
  async function draw(doc, level, major) {
    const byCode = new Map(doc.areas.map((a) => [a.code, a]));
    const value = (a) => {
      if (!a) return { count: 0, density: 0 };
      const c = major ? a.components?.by_major?.[major] : a.components;
      return { count: c?.count ?? 0, density: c?.density_per_km2 ?? 0 };
    };
    const upper = breaks(doc.areas.map((a) => value(a).density));
    const color = (d) => (d > 0 ? RAMP[Math.max(0, upper.findIndex((b) => d <= b))] : NONE);
    const majorName = major ? doc.areas.map((a) => a.components?.by_major?.[major]?.name).find(Boolean) || major : '全部部件';
    const props = (code, name) => {
      const a = byCode.get(code);
      const v = value(a);
      return { code, name: a?.name || name || code, major_name: majorName, count: v.count, density: v.density,
        area_km2: a?.area_km2 ?? '', color: color(v.density) };
    };
    let features;
    if (tiled) {
      // the census lists every area of the level (as the OGC items would): one colour per code on the tiles
      features = doc.areas.map((a) => ({ properties: props(a.code, a.name) }));
      shown.clear();
      for (const f of features) shown.set(f.properties.code, f.properties);
      const match = ['match', ['to-string', ['get', 'id']]];
      for (const f of features) match.push(f.properties.code, f.properties.color);
      match.push(NONE);
      const filter = ['==', ['get', 'level'], level];
      for (const id of ['overlay:density-fill', 'overlay:density-line']) {
        map.setFilter(id, filter);
        map.setLayoutProperty(id, 'visibility', 'visible');
      }
      map.setPaintProperty('overlay:density-fill', 'fill-color', features.length ? match : NONE);
    } else {
      const shapes = await getJSON(`/ogc/collections/admin_areas/items?${new URLSearchParams({ level, limit: '2000', properties: 'name' })}`);
      features = (shapes.features || []).filter((f) => f.geometry).map((f) => {
        const code = f.properties?.code ?? f.id;
        return { type: 'Feature', geometry: f.geometry, properties: props(code, f.properties?.name) };
      });
      map.getSource('overlay:density').setData({ type: 'FeatureCollection', features });
    }
    legend.replaceChildren(el('li', { class: 'legend-title' }, `${majorName}密度（个/平方公里）`),
      ...upper.map((b, i) => el('li', {}, el('span', { class: 'swatch fill', style: `background:${RAMP[i]}` }),
        el('span', {}, `${i ? `${upper[i - 1].toFixed(1)} – ` : '≤ '}${b.toFixed(1)}`))),
      el('li', {}, el('span', { class: 'swatch fill', style: `background:${NONE}` }), el('span', {}, '无部件')));
    window.citygrid.density = { level, major, areas: features.map((f) => ({ code: f.properties.code, count: f.properties.count, density: f.properties.density })) };
    return features.length;
  }

  function clear() {
    if (tiled) for (const id of ['overlay:density-fill', 'overlay:density-line']) map.setLayoutProperty(id, 'visibility', 'none');
    else map.getSource('overlay:density').setData(EMPTY);
    legend.replaceChildren();
  }
  return { draw, clear, legend };
}
