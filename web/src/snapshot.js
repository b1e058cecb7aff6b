// 导出图片: the current view as a PNG — the map as drawn, with a footer saying what it is (time in the
// district's zone, zoom, centre, scale, attribution). The WebGL canvas is read inside a `render` event,
// right after a frame is drawn, so the map needs no `preserveDrawingBuffer` (which would slow every
// frame for the sake of an occasional export).
import { $, dateTime, el, toast } from './ui.js';

const FOOTER = 34;

function grabCanvas(map) {
  return new Promise((resolve) => {
    map.once('render', () => resolve(map.getCanvas().toDataURL('image/png')));
    map.triggerRepaint();
  });
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = reject;
    img.src = url;
  });
}

/** The view as a PNG data URL, footer included; also kept on `window.citygrid.snapshot` for tests. */
export async function snapshot(map) {
  const img = await loadImage(await grabCanvas(map));
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = img.height + FOOTER * (window.devicePixelRatio || 1);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const ratio = window.devicePixelRatio || 1;
  ctx.fillStyle = '#17324d';
  ctx.fillRect(0, img.height, canvas.width, canvas.height - img.height);
  ctx.fillStyle = '#ffffff';
  ctx.font = `${13 * ratio}px "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif`;
  ctx.textBaseline = 'middle';
  const c = map.getCenter();
  const scale = $('.maplibregl-ctrl-scale')?.textContent || '';
  const text = `CityGrid 城市运行网格地图 · 导出 ${dateTime(new Date())} · 缩放 ${map.getZoom().toFixed(1)} · 中心 ${c.lng.toFixed(5)}, ${c.lat.toFixed(5)} (CGCS2000)`
    + `${scale ? ` · 比例尺 ${scale}` : ''} · 演示数据为合成数据`;
  ctx.fillText(text, 10 * ratio, img.height + (FOOTER * ratio) / 2);
  const url = canvas.toDataURL('image/png');
  window.citygrid.snapshot = { width: canvas.width, height: canvas.height, mapHeight: img.height, url };
  return url;
}

/** The 导出 button of the top bar: downloads `地图-<time>.png`. */
export function initSnapshot({ map }) {
  const button = el('button', { class: 'tool', id: 'export-png', type: 'button', title: '导出当前视图为 PNG 图片' }, '导出');
  button.addEventListener('click', async () => {
    try {
      const url = await snapshot(map);
      const a = el('a', { href: url, download: `地图-${dateTime(new Date()).replace(/[: ]/g, '')}.png` });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (error) {
      toast(`导出失败：${error.message || error}`, 'error');
    }
  });
  $('#toolbar').prepend(button);
}
