// 场景 (一图N景): named bundles of layers, basemap and view per department, stored on the server
// (/api/scenes: planner writes, everyone reads), chosen from a list, shared as `/?scene=<slug>`, and a
// big-screen mode (`&bigscreen=16:9` or `32:9`) showing the scene's map with its key figures.
import { explain, getJSON, has, send } from './api.js';
import { setVisible, state as layerState, styleDoc } from './layers.js';
import { $, dateTime, el, onFirstOpen, toast } from './ui.js';

const DEPARTMENTS = ['环卫', '城管执法', '市政', '绿化', '垃圾分类', '综合'];
const BASEMAPS = { light: '浅色', dark: '深色' };

function syncTree() {
  for (const box of document.querySelectorAll('input[data-layer]')) {
    const id = box.dataset.layer;
    if (layerState[id]) {
      box.checked = layerState[id].visible;
      box.closest('.layer')?.classList.toggle('off', !box.checked);
    }
  }
}

export function initScenes({ map, app }) {
  const tab = $('#tab-scenes');
  if (!tab || !has('/api/scenes')) return;
  const list = el('ul', { class: 'list', id: 'scene-list' });
  const note = el('p', { class: 'note', id: 'scene-note' });
  const name = el('input', { type: 'text', id: 'scene-name', placeholder: '场景名称，如：环卫作业' });
  const slug = el('input', { type: 'text', id: 'scene-slug', placeholder: '网址名（小写字母、数字、-）' });
  const dept = el('select', { id: 'scene-department' }, ...DEPARTMENTS.map((d) => el('option', { value: d }, d)));
  const basemap = el('select', { id: 'scene-basemap' }, el('option', { value: 'light' }, '浅色底图'), el('option', { value: 'dark' }, '深色底图'));
  const figuresBox = el('div', { id: 'bigscreen-figures', hidden: true });
  document.body.append(figuresBox);
  let scenes = [];

  function setBasemap(kind) {
    // the switcher of the 图层 tab (basemaps.js) does the work; a scene may name a configured raster too
    const now = app.setBasemap ? app.setBasemap(kind) : 'light';
    basemap.value = now in BASEMAPS ? now : 'light';
  }
  basemap.addEventListener('change', () => setBasemap(basemap.value));

  function apply(scene, { fly = true } = {}) {
    const spec = scene.spec || {};
    const wanted = new Set(spec.layers || []);
    if (wanted.size) {
      for (const id of Object.keys(styleDoc()?.layers || {})) {
        if (layerState[id]?.available) setVisible(map, id, wanted.has(id));
      }
      syncTree();
    }
    setBasemap(spec.basemap || 'light');
    if (spec.view && fly) map.jumpTo({ center: spec.view.center, zoom: spec.view.zoom });
    const q = new URLSearchParams(location.search);
    q.set('scene', scene.slug);
    history.replaceState(null, '', `${location.pathname}?${q}`);
    for (const li of list.querySelectorAll('li')) li.classList.toggle('selected', li.dataset.slug === scene.slug);
    app.scene = scene;
    note.textContent = `当前场景：${scene.name}（${scene.department || '—'}），共享链接：${location.origin}/?scene=${scene.slug}`;
    if (document.body.classList.contains('bigscreen')) figures(scene);
  }

  async function load() {
    try {
      scenes = (await getJSON('/api/scenes')).scenes || [];
    } catch (error) {
      note.textContent = `场景加载失败：${explain(error)}`;
      return;
    }
    list.replaceChildren(...scenes.map((s) => el('li', { class: 'clickable', dataset: { slug: s.slug }, onclick: () => apply(s) },
      el('div', { class: 'title' }, s.name), el('div', { class: 'meta' }, `${s.department || '—'} · ${(s.spec?.layers || []).length} 个图层`))));
    if (!scenes.length) list.append(el('li', { class: 'note' }, '尚无场景；规划员可将当前地图保存为场景。'));
  }

  async function save() {
    const c = map.getCenter();
    const body = {
      slug: slug.value.trim(), name: name.value.trim(), department: dept.value,
      spec: { layers: Object.keys(layerState).filter((id) => layerState[id].visible), basemap: app.basemap || basemap.value,
        view: { center: [Number(c.lng.toFixed(6)), Number(c.lat.toFixed(6))], zoom: Number(map.getZoom().toFixed(2)) } },
    };
    try {
      const exists = scenes.some((s) => s.slug === body.slug);
      const saved = exists ? await send('PUT', `/api/scenes/${encodeURIComponent(body.slug)}`, { name: body.name, department: body.department, spec: body.spec })
        : await send('POST', '/api/scenes', body);
      toast(`场景“${saved.name}”已保存`, 'ok');
      await load();
      apply(saved, { fly: false });
    } catch (error) {
      note.textContent = `保存失败：${explain(error)}`;
    }
  }

  /** The key figures of the big screen: the scene's cases of the last 30 days of data and today's alarms. */
  async function figures(scene) {
    const cards = [el('div', { class: 'figure title' }, scene?.name || '城市运行')];
    figuresBox.replaceChildren(...cards);
    figuresBox.hidden = false;
    try {
      // days of the district's zone (as the server counts them), not UTC days: they differ from 00:00 to 08:00
      const end = new Date();
      const from = dateTime(new Date(end - 30 * 86400000)).slice(0, 10);
      const [cases, alarms] = await Promise.all([
        has('/api/stats/cases') ? getJSON(`/api/stats/cases?group=source&from=${from}`) : null,
        has('/api/stats/alarms') ? getJSON(`/api/stats/alarms?group=kind&from=${dateTime(end).slice(0, 10)}`) : null]);
      if (cases) cards.push(el('div', { class: 'figure', dataset: { figure: 'cases' } }, el('b', {}, cases.total.toLocaleString('zh-CN')), '近 30 天案件'),
        ...cases.rows.map((r) => el('div', { class: 'figure small' }, el('b', {}, String(r.count)), cases.labels?.source?.[r.source] || r.source || '（未填写）')));
      if (alarms) cards.push(el('div', { class: 'figure', dataset: { figure: 'alarms' } }, el('b', {}, String(alarms.total)), '今日报警'));
      figuresBox.replaceChildren(...cards);
    } catch (error) {
      figuresBox.append(el('div', { class: 'figure small' }, explain(error)));
    }
  }

  function bigscreen(ratio) {
    const on = Boolean(ratio);
    document.body.classList.toggle('bigscreen', on);
    document.body.classList.toggle('ratio-32-9', ratio === '32:9');
    figuresBox.hidden = !on;
    const q = new URLSearchParams(location.search);
    if (on) q.set('bigscreen', ratio); else q.delete('bigscreen');
    history.replaceState(null, '', `${location.pathname}?${q}`);
    if (on) figures(app.scene);
    setTimeout(() => map.resize(), 50);
  }
  const exit = el('button', { type: 'button', id: 'bigscreen-exit', class: 'bigscreen-only', onclick: () => bigscreen(null) }, '退出大屏');
  document.body.append(exit);

  tab.append(el('div', { class: 'panel', id: 'panel-scenes' },
    el('h3', {}, '场景'), list, note,
    el('div', { class: 'row' }, el('label', { for: 'scene-basemap' }, '底图'), basemap),
    el('h3', {}, '大屏模式'),
    el('div', { class: 'buttons' }, el('button', { type: 'button', id: 'bigscreen-16-9', onclick: () => bigscreen('16:9') }, '16:9 大屏'),
      el('button', { type: 'button', id: 'bigscreen-32-9', onclick: () => bigscreen('32:9') }, '32:9 大屏')),
    el('h3', {}, '保存当前地图为场景（规划员）'),
    el('div', { class: 'row' }, el('label', { for: 'scene-name' }, '名称'), name),
    el('div', { class: 'row' }, el('label', { for: 'scene-slug' }, '网址名'), slug),
    el('div', { class: 'row' }, el('label', { for: 'scene-department' }, '部门'), dept),
    el('div', { class: 'buttons' }, el('button', { type: 'button', id: 'scene-save', class: 'primary', onclick: save }, '保存场景'))));

  const q = new URLSearchParams(location.search);
  let started = null;
  const start = () => started || (started = load().then(() => {
    const wanted = q.get('scene');
    const scene = scenes.find((s) => s.slug === wanted);
    if (wanted && !scene) toast(`没有名为“${wanted}”的场景`, 'error');
    if (scene) apply(scene);
    if (q.get('bigscreen')) bigscreen(q.get('bigscreen') === '32:9' ? '32:9' : '16:9');
    app.scenesReady = true;
  }));
  // a shared link or a wall screen needs its scene at once; otherwise the list waits for its tab
  if (q.get('scene') || q.get('bigscreen')) start(); else onFirstOpen('scenes', start);
}
