// Measure tool: distance along a drawn line, area of a drawn polygon (geodesic, by turf).
import area from '@turf/area';
import length from '@turf/length';

import { DrawSession } from './draw.js';
import { metres, squareMetres, showInfo, kv, el } from './ui.js';

export function lineLength(geometry) {
  return length({ type: 'Feature', properties: {}, geometry }, { units: 'kilometers' }) * 1000;
}

export function polygonArea(geometry) {
  return area({ type: 'Feature', properties: {}, geometry });
}

export function initMeasure({ map }) {
  const buttons = document.querySelectorAll('#toolbar .tool[data-tool^="measure"]');
  for (const button of buttons) {
    button.addEventListener('click', () => {
      const mode = button.dataset.tool === 'measure-area' ? 'polygon' : 'line';
      for (const b of buttons) b.classList.toggle('active', b === button);
      const describe = (g) => (mode === 'line' ? `长度 ${metres(lineLength(g))}` : `面积 ${squareMetres(polygonArea(g))}，周长 ${metres(lineLength({ type: 'LineString', coordinates: g.coordinates[0] }))}`);
      new DrawSession(map, {
        mode,
        label: mode === 'line' ? '测距' : '测面',
        describe,
        onFinish: (g) => {
          for (const b of buttons) b.classList.remove('active');
          showInfo(mode === 'line' ? '测量距离' : '测量面积', el('p', { class: 'address', dataset: { testid: 'measure-result' } }, describe(g)),
            kv([['节点数', mode === 'line' ? g.coordinates.length : g.coordinates[0].length - 1], ['计算方法', '椭球面测地线（CGCS2000≈WGS84）']]));
        },
        onCancel: () => { for (const b of buttons) b.classList.remove('active'); },
      });
    });
  }
}
