// The first view is drawn once its tiles are in, not tile by tile. MapLibre paints a frame whenever a tile
// or a GeoJSON source arrives; in a software-rendered browser (SwiftShader: the benchmark's case, and an
// office PC without a usable GPU) each frame of the first view costs 0.1–0.5 s of CPU and blocks the page's
// main thread while it is read back, so the tiles that come in meanwhile wait and each batch brings another
// frame: 6–8 frames before the map was idle, most of them of a half-drawn map (bench/bench_web.py --profile).
//
// So, from the map's creation:
//   1. no frame until the district layers are in the style and every source a shown layer draws from —
//      the district's vector tiles and the panels' GeoJSON overlays shown at start — is loaded (a
//      frame before that asks for no tile: it only paints the bare background);
//   2. the next frame is painted — MapLibre asks for the visible tiles while it renders;
//   3. then repaints are held until every visible source has its tiles (`map.areTilesLoaded()`), and done
//      as one frame.
// At most HOLD_MS after the map's creation and again after the layers are added, or as soon as the user
// moves the map, repaints go back to normal, so a slow server still shows what has come. Nothing is drawn
// differently, and the map's first idle is still the moment every default layer is drawn.

import { sourceIds } from './stylequery.js';

/** The longest the first view waits for its tiles before it is painted with what has come. */
export const HOLD_MS = 1500;

/**
 * Holds the map's repaints as described above; call it as the map is created, and the function it returns
 * once the district layers (and the panels' overlays) are added. `log` records what happened when (for
 * the benchmark's profile: window.citygrid.firstFrames).
 */
export function drawFirstViewAtOnce(map, log = []) {
  const repaint = map.triggerRepaint.bind(map);
  // adding (layers) → waiting (metadata) → asking (one frame) → held (for tiles) → released
  let state = 'adding';
  let wanted = false;
  let painting = false;
  // a GeoJSON source whose data the worker has not yet indexed asks for no tile in the frame that asks
  // for the district's: its tiles would come one frame later (the earlier the asking frame, the likelier)
  let drawn = [];
  const sourcesReady = () => drawn.every((id) => map.getSource(id)?.loaded());
  let timer = setTimeout(() => release('timeout'), HOLD_MS);
  const note = (what) => log.push([what, Math.round(performance.now())]);

  function release(why) {
    if (state === 'released') return;
    state = 'released';
    note(typeof why === 'string' ? why : 'moved');
    clearTimeout(timer);
    map.off('dataloading', onAsk);
    map.off('sourcedata', onData);
    map.off('movestart', release);
    map.off('render', onRender);
    delete map.triggerRepaint; // the prototype's again
    if (wanted) repaint();
  }
  function ask() {
    state = 'asking';
    note('asking');
    painting = false;
    if (wanted) paint();
  }
  // one frame while asking: repaints wanted during it (MapLibre asks for some before it asks for tiles)
  // wait, or that frame would be followed by another of a map whose tiles are still coming
  function paint() {
    if (painting) { wanted = true; return; }
    painting = true;
    wanted = false;
    repaint();
  }
  function onRender() {
    // a frame that asked for no tile (nothing to ask for): the next one may
    if (state === 'asking') { painting = false; if (wanted) paint(); }
  }
  function onAsk(e) {
    if (state !== 'asking' || !e.tile) return;
    state = 'held';
    note('held');
  }
  function onData(e) {
    if (state === 'waiting' && e.sourceDataType === 'metadata' && sourcesReady()) ask();
    else if (state === 'held' && map.areTilesLoaded()) release('tiles loaded');
  }
  map.triggerRepaint = () => {
    if (state === 'released') repaint();
    else if (state === 'asking') paint();
    else wanted = true;
  };
  map.on('dataloading', onAsk);
  map.on('render', onRender);
  map.on('sourcedata', onData);
  map.on('movestart', release);
  return function layersAdded() {
    if (state !== 'adding') return;
    state = 'waiting';
    note('layers added');
    drawn = sourceIds(map, ['vector', 'geojson'], { shown: true });
    clearTimeout(timer);
    timer = setTimeout(() => release('timeout'), HOLD_MS);
    if (sourcesReady()) ask();
  };
}
