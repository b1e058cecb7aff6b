// The basemap switcher: the district's own vector layers in light or dark (always there, nothing fetched
// from outside), and the raster basemaps /web/config.json offers — 天地图矢量/影像 only with a configured
// key, a configured XYZ/WMTS template. Options that are not configured are listed disabled, saying why.
// Dark repaints the base layers with the `themes.dark` paint of styles/layers.json and restores the
// light paint on the way back; a raster basemap lies under the district layers.
import { layerIds } from './stylequery.js';
import { el } from './ui.js';

const OWN = [{ id: 'light', title: '浅色（本地矢量）' }, { id: 'dark', title: '深色（本地矢量）' }];
const TIANDITU = [{ id: 'tdt-vec', title: '天地图矢量' }, { id: 'tdt-img', title: '天地图影像' }];

/** The style the map starts from: the background and every configured raster basemap, hidden. */
export function baseStyle(doc, config) {
  const sources = {};
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': doc.background || '#eef0ec' } }];
  for (const option of config.basemaps || []) {
    option.tiles.forEach((tiles, index) => {
      const id = `basemap:${option.id}:${index}`;
      sources[id] = { type: 'raster', tiles, tileSize: 256, attribution: index === 0 ? option.attribution || '' : '' };
      layers.push({ id, type: 'raster', source: id, layout: { visibility: 'none' } });
    });
  }
  // paint changes apply at once: a 300 ms fade is two or three whole frames in software GL (0.15–0.4 s each)
  return { version: 8, sources, layers, transition: { duration: 0, delay: 0 } };
}

/** The default: a configured raster basemap if there is one (as before the switcher), else light. */
export function defaultBasemap(config) { return config.basemaps?.[0]?.id || 'light'; }

export function initBasemaps({ map, doc, config, app }) {
  const rasters = config.basemaps || [];
  const theme = doc.themes?.dark || {};
  const saved = {}; // light paint values replaced by the dark theme: layer → property → value
  let current = null;

  function paintTheme(dark) {
    map.setPaintProperty('background', 'background-color', dark ? theme.background || '#1f2430' : doc.background || '#eef0ec');
    for (const [layerId, paint] of Object.entries(theme.paint || {})) {
      if (!map.getLayer(layerId)) continue;
      saved[layerId] = saved[layerId] || {};
      for (const [prop, value] of Object.entries(paint)) {
        if (!(prop in saved[layerId])) saved[layerId][prop] = map.getPaintProperty(layerId, prop);
        map.setPaintProperty(layerId, prop, dark ? value : saved[layerId][prop]);
      }
    }
    document.body.classList.toggle('basemap-dark', dark);
  }

  /** Switches to a basemap id (light, dark or a configured raster); unknown ids fall back to light. */
  function setBasemap(id) {
    const known = OWN.some((o) => o.id === id) || rasters.some((r) => r.id === id);
    const next = known ? id : 'light';
    for (const layerId of layerIds(map)) {
      if (layerId.startsWith('basemap:')) {
        map.setLayoutProperty(layerId, 'visibility', layerId.startsWith(`basemap:${next}:`) ? 'visible' : 'none');
      }
    }
    paintTheme(next === 'dark');
    current = next;
    select.value = next;
    app.basemap = next;
    return next;
  }

  const select = el('select', { id: 'basemap-select', 'aria-label': '底图' },
    ...OWN.map((o) => el('option', { value: o.id }, o.title)),
    ...TIANDITU.map((o) => {
      const on = rasters.some((r) => r.id === o.id);
      return el('option', { value: o.id, disabled: !on, title: on ? '' : '未配置天地图密钥（CITYGRID_TIANDITU_KEY）' },
        on ? o.title : `${o.title}（未配置密钥）`);
    }),
    ...rasters.filter((r) => !TIANDITU.some((t) => t.id === r.id)).map((r) => el('option', { value: r.id }, r.title)));
  select.addEventListener('change', () => setBasemap(select.value));
  const box = el('div', { class: 'row basemap-row' }, el('label', { for: 'basemap-select' }, '底图'), select);
  setBasemap(defaultBasemap(config));
  app.setBasemap = setBasemap;
  return { element: box, setBasemap, current: () => current };
}
