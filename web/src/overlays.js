// Overlays with nothing to draw are not drawn. Every panel adds its GeoJSON overlay (heat, flows, fences,
// track, statistics, density, plans, shops …) at start-up, empty until the panel is used. MapLibre still
// keeps tiles of an empty source for every visible layer and, before each fill or line layer whose source
// differs from the previous layer's, draws the tiles' clipping masks into the stencil buffer — two
// full-viewport passes, in the opaque and again in the translucent pass — whether or not the layer has
// anything in it. With ~15 empty overlay sources that was most of a frame in software GL (measured with
// bench/bench_web.py --only frames: 0.8 s a frame with the overlays, 0.3 s without). So a layer of an
// empty overlay source is hidden, and shown again (as its panel wants it) when the source gets features.
//
// Panels keep calling `setData` as before; a panel that switches an overlay layer on or off itself
// (live.js: the vehicles) goes through `setOverlayVisible`, so an empty source never shows it.

import { layersOfSource, sourceIds } from './stylequery.js';

/** Layer ids of each watched source; the visibility each layer's panel wants; sources holding features. */
const layersOf = new Map();
const wanted = new Map();
const filled = new Map();
/** Per source, the number of its latest setData (a show waiting for older data does not apply). */
const pending = new Map();

/**
 * Sources left visible while empty: only circle and symbol layers (no stencil masks to pay), filled at a
 * moment where the frame that switching them on would cost is itself the figure (the 案件统计 bar's cases).
 */
export const ALWAYS_SHOWN = new Set();

/**
 * Sources a panel fills as the page starts (the fences, the vehicles): their layers are left as the panel
 * wants them until that first setData, so the map's first view asks for their tiles together with the
 * district's and draws them in the same frame (firstframes.js) instead of one frame later. Nothing is drawn
 * for them while they are empty, as firstframes.js holds the frames; if their data has not come by the map's
 * first idle (a failed request), they are treated as empty from then on.
 */
export const FILLED_AT_START = new Set();

/** True for a FeatureCollection without features (a URL or a single Feature counts as something). */
export function isEmptyData(data) {
  return !!data && typeof data === 'object' && data.type === 'FeatureCollection' && !(data.features || []).length;
}

function apply(map, sourceId) {
  for (const layerId of layersOf.get(sourceId) || []) {
    if (!map.getLayer(layerId)) continue;
    const visibility = filled.get(sourceId) ? wanted.get(layerId) : 'none';
    if ((map.getLayoutProperty(layerId, 'visibility') || 'visible') !== visibility) {
      map.setLayoutProperty(layerId, 'visibility', visibility);
    }
  }
}

/** Watches every `overlay:` GeoJSON source of the map's style: its layers are drawn only while it has features. */
export function hideEmptyOverlays(map) {
  for (const sourceId of sourceIds(map, 'geojson')) {
    if (!sourceId.startsWith('overlay:') || layersOf.has(sourceId) || ALWAYS_SHOWN.has(sourceId)) continue;
    const layers = layersOfSource(map, sourceId);
    for (const layerId of layers) wanted.set(layerId, map.getLayoutProperty(layerId, 'visibility') || 'visible');
    layersOf.set(sourceId, layers);
    const source = map.getSource(sourceId);
    const initial = source.serialize().data; // as the panel added it (a URL counts as something)
    const expected = FILLED_AT_START.has(sourceId);
    filled.set(sourceId, !isEmptyData(initial) || expected);
    const setData = source.setData.bind(source);
    let first = expected;
    if (expected) {
      map.once('idle', () => {
        if (!first) return;
        first = false;
        filled.set(sourceId, !isEmptyData(initial));
        apply(map, sourceId);
      });
    }
    source.setData = (data, ...rest) => {
      first = false;
      // emptying what is empty changes nothing drawn, but would still reload the source's tiles and paint
      // a frame (the alarm list filtered to nothing, a panel's 清除 pressed twice)
      if (!filled.get(sourceId) && isEmptyData(data)) return rest[0] === true ? Promise.resolve() : source;
      const wasFilled = filled.get(sourceId);
      const result = setData(data, ...rest);
      filled.set(sourceId, !isEmptyData(data));
      const mine = (pending.get(sourceId) || 0) + 1;
      pending.set(sourceId, mine);
      if (wasFilled || !filled.get(sourceId)) apply(map, sourceId);
      else {
        // shown once the worker has parsed the data, not at once: a layer shown before would cost a
        // frame (0.2–1 s in software GL) that draws nothing new
        const show = (e) => {
          if (e.sourceId !== sourceId || e.sourceDataType !== 'metadata') return;
          map.off('sourcedata', show);
          if (pending.get(sourceId) === mine) apply(map, sourceId);
        };
        map.on('sourcedata', show);
      }
      return result;
    };
    apply(map, sourceId);
  }
}

/** Switches an overlay layer on or off as a panel wants it; it still stays hidden while its source is empty. */
export function setOverlayVisible(map, layerId, visible) {
  wanted.set(layerId, visible ? 'visible' : 'none');
  const sourceId = map.getLayer(layerId)?.source;
  if (sourceId && layersOf.has(sourceId)) apply(map, sourceId);
  else map.setLayoutProperty(layerId, 'visibility', visible ? 'visible' : 'none');
}
