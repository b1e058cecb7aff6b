// Dense point layers (城市部件: ~140,000 points) drawn as clusters below the style's `cluster_below` zoom.
// The server counts the points of each tile cell per class (tiles asked with ?cluster=Z, api/ogc/tiles.py):
// every cluster carries `point_count`, `c:<大类>` and `c:<大类>-<小类>`. The legend's switched-off classes
// are subtracted here, so the number on a cluster is how many of the drawn classes it holds, and a
// cluster holding none of them is not drawn. A click zooms in towards the points.

// a cluster of one is drawn as a small dot without a number
const RADIUS = (count) => ['step', count, 3.5, 2, 9, 10, 12, 100, 16, 1000, 21];

/** Tiles of a clustered layer ask the server for clusters below `below`. */
export function clusterTileQuery(spec) {
  return spec.cluster_below ? `?cluster=${spec.cluster_below}` : '';
}

/** The number a cluster shows: its points minus those of switched-off 大类 and 小类. */
export function clusterCount(off, offSub) {
  const minus = [];
  for (const major of off) minus.push(['coalesce', ['get', `c:${major}`], 0]);
  for (const key of offSub) {
    if (!off.has(key.split('-')[0])) minus.push(['coalesce', ['get', `c:${key}`], 0]);
  }
  return minus.length ? ['-', ['get', 'point_count'], ['+', 0, ...minus]] : ['get', 'point_count'];
}

function label(count) {
  return ['case', ['>=', count, 10000], ['concat', ['to-string', ['/', ['round', ['/', count, 1000]], 10]], '万'],
    ['to-string', count]];
}

/** Adds the cluster circles and their numbers (drawn below `spec.cluster_below`); returns their layer ids. */
export function addClusterLayers(map, id, spec, { source, sourceLayer, font, before, visible, opacity = 1 }) {
  const below = spec.cluster_below;
  const color = spec.cluster_color || '#3b5bdb';
  const circles = `${id}:clusters`;
  const numbers = `${id}:cluster-count`;
  const visibility = visible ? 'visible' : 'none';
  const count = clusterCount(new Set(), new Set());
  map.addLayer({ id: circles, type: 'circle', source, 'source-layer': sourceLayer, maxzoom: below,
    filter: ['>', count, 0], layout: { visibility },
    paint: { 'circle-color': color, 'circle-opacity': 0.8 * opacity, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.2,
      'circle-radius': RADIUS(count) } }, before);
  map.addLayer({ id: numbers, type: 'symbol', source, 'source-layer': sourceLayer, maxzoom: below,
    filter: ['>', count, 1],
    layout: { visibility, 'text-field': label(count), 'text-size': 11, 'text-font': font, 'text-allow-overlap': true },
    paint: { 'text-color': '#fff', 'text-opacity': opacity } }, before); // as fadeClusters sets them: no transition at start
  map.on('click', circles, (e) => {
    e.citygridHandled = true; // a cluster click zooms in; it does not open the identify panel
    map.easeTo({ center: e.features[0].geometry.coordinates, zoom: Math.min(map.getZoom() + 2, below) });
  });
  map.on('mouseenter', circles, () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', circles, () => { map.getCanvas().style.cursor = ''; });
  return [circles, numbers];
}

/** Applies the legend's switches to the clusters' numbers, sizes and visibility. */
export function filterClusters(map, id, off, offSub) {
  const circles = `${id}:clusters`;
  const numbers = `${id}:cluster-count`;
  if (!map.getLayer(circles)) return;
  const count = clusterCount(off, offSub);
  map.setFilter(circles, ['>', count, 0]);
  map.setFilter(numbers, ['>', count, 1]);
  map.setPaintProperty(circles, 'circle-radius', RADIUS(count));
  map.setLayoutProperty(numbers, 'text-field', label(count));
}

/** The clusters fade with their layer's opacity slider. */
export function fadeClusters(map, id, factor) {
  if (!map.getLayer(`${id}:clusters`)) return;
  map.setPaintProperty(`${id}:clusters`, 'circle-opacity', 0.8 * factor);
  map.setPaintProperty(`${id}:clusters`, 'circle-stroke-opacity', factor);
  map.setPaintProperty(`${id}:cluster-count`, 'text-opacity', factor);
}
