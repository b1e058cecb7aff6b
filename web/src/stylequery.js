// What the page asks of the map's live style. `map.getStyle()` serialises the whole style — every layer and
// every GeoJSON source's data — and costs 40–90 ms on the page's start in a software-rendered browser, more as
// layers are added; asked once per added layer it was the largest part of the boot's own JavaScript
// (bench/bench_web.py --profile). These read only what they need.

/** The style's layer ids, bottom to top. */
export function layerIds(map) {
  return map.getLayersOrder();
}

/**
 * Ids of the sources of the given type(s) (`vector`, `geojson` …) that at least one layer draws from —
 * with `shown`, one layer not switched off (the sources a frame asks tiles of).
 */
export function sourceIds(map, types, { shown = false } = {}) {
  const wanted = [].concat(types);
  const ids = new Set();
  for (const id of map.getLayersOrder()) {
    const source = map.getLayer(id)?.source;
    if (!source || ids.has(source) || (shown && map.getLayoutProperty(id, 'visibility') === 'none')) continue;
    if (wanted.includes(map.getSource(source)?.type)) ids.add(source);
  }
  return [...ids];
}

/** Ids of the layers that draw from a source, bottom to top. */
export function layersOfSource(map, sourceId) {
  return map.getLayersOrder().filter((id) => map.getLayer(id)?.source === sourceId);
}

