// Address search: suggestions from /api/geocode after a pause in typing; Enter (or a pick) jumps to the
// best match with a marker and a popup (standard address, match level, confidence, grid codes).
import { explain, getJSON, has } from './api.js';
import { $, debounce, el, percent, toast } from './ui.js';

const PAUSE_MS = 280;
const NO_MATCH = '未找到匹配地址';
// Below this confidence (or when the next answer is nearly as good) the popup offers the alternatives.
const SURE = 0.8;
// Match levels coarser than an address point: the popup says the place itself was not found.
const COARSE = new Set(['region', 'zone', 'street']);

function gridCodes(grid) {
  if (!grid) return [];
  const rows = [];
  const add = (label, g) => { if (g && (g.code || g.name)) rows.push([label, g]); };
  add('区', grid.district);
  add('街道', grid.street);
  add('社区', grid.community);
  add('单元网格', grid.unit_grid);
  add('评价网格', grid.eval_grid);
  for (const w of grid.work_grids || []) add(w.kind_name || '责任网格', w);
  return rows;
}

export function gridTable(grid) {
  const rows = gridCodes(grid);
  if (!rows.length) return null;
  const dl = el('dl', { class: 'kv' });
  for (const [label, g] of rows) {
    dl.append(el('dt', {}, label), el('dd', {},
      g.code ? el('span', { class: 'code', dataset: { grid: label } }, g.code) : null, g.name ? ` ${g.name}` : ''));
  }
  return dl;
}

export function initSearch({ map, labels, maplibregl }) {
  const input = $('#search-input');
  const list = $('#search-suggest');
  const levelName = (l) => (labels.match_level || {})[l] || l || '';
  let seq = 0;
  let results = [];
  let resultsFor = null; // the text the shown suggestions answer: a stale list is never picked
  let activeIndex = -1;
  let marker = null;
  const available = has('/api/geocode');
  if (!available) input.placeholder = '地址搜索服务暂不可用';

  async function query(q, limit) {
    const doc = await getJSON(`/api/geocode?q=${encodeURIComponent(q)}&limit=${limit}`);
    return (doc.features || []).filter((f) => f.geometry);
  }

  function showList(items, message) {
    list.replaceChildren();
    activeIndex = -1;
    if (message) list.append(el('li', { class: 'empty' }, message));
    items.forEach((f, i) => {
      const p = f.properties || {};
      const li = el('li', { role: 'option', dataset: { index: i } },
        el('span', {}, p.standard_address || p.name || '（无名称）'),
        el('span', { class: 'lvl' }, `${levelName(p.match_level)} ${percent(p.confidence)}`));
      li.addEventListener('mousedown', (e) => { e.preventDefault(); jump(f, items); });
      list.append(li);
    });
    list.hidden = !items.length && !message;
  }

  const suggest = debounce(async () => {
    const q = input.value.trim();
    if (!available || q.length < 2) { showList([]); return; }
    const mine = ++seq;
    try {
      const items = await query(q, 6);
      if (mine !== seq) return;
      results = items;
      resultsFor = q;
      showList(items, items.length ? null : NO_MATCH);
    } catch (error) {
      if (mine === seq) showList([], explain(error));
    }
  }, PAUSE_MS);

  function jump(feature, others = []) {
    const p = feature.properties || {};
    const [lon, lat] = feature.geometry.coordinates;
    list.hidden = true;
    input.value = p.standard_address || input.value;
    marker?.remove();
    const coarse = COARSE.has(p.match_level);
    const alternatives = others.filter((f) => f !== feature && f.properties?.standard_address !== p.standard_address);
    const unsure = coarse || (p.confidence ?? 1) < SURE
      || (alternatives.length && (alternatives[0].properties?.confidence ?? 0) >= (p.confidence ?? 1) - 0.05);
    const content = el('div', { dataset: { testid: 'search-popup' } },
      el('div', { class: 'popup-title' }, p.standard_address || '（无标准地址）'),
      el('div', { class: `match-level${unsure ? ' warn' : ''}`, dataset: { testid: 'match-level' } },
        `匹配级别：${levelName(p.match_level)} · 置信度 ${percent(p.confidence)}`),
      coarse ? el('p', { class: 'note warn', dataset: { testid: 'coarse-match' } },
        `只匹配到${levelName(p.match_level)}“${p.standard_address || ''}”，未找到所输入的具体地址，标记位于该${levelName(p.match_level)}的代表位置`) : null,
      unsure && alternatives.length ? el('div', { class: 'alternatives', dataset: { testid: 'alternatives' } },
        el('div', { class: 'note' }, '您是不是要找：'),
        el('ul', { class: 'list' }, ...alternatives.slice(0, 4).map((f) => el('li', { class: 'clickable', onclick: () => jump(f, others) },
          `${f.properties?.standard_address || '（无名称）'}（${levelName(f.properties?.match_level)} ${percent(f.properties?.confidence)}）`)))) : null,
      el('dl', { class: 'kv' },
        el('dt', {}, '坐标'), el('dd', { class: 'code' }, `${lon.toFixed(6)}, ${lat.toFixed(6)}`)),
      gridTable(p.grid));
    marker = new maplibregl.Marker({ color: unsure ? '#f08c00' : '#e03131' }).setLngLat([lon, lat])
      .setPopup(new maplibregl.Popup({ offset: 28, maxWidth: '22rem' }).setDOMContent(content)).addTo(map);
    marker.getElement().dataset.testid = 'search-marker';
    map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 17), speed: 1.6 });
    marker.togglePopup();
    window.citygrid.searchResult = { lon, lat, properties: p, unsure, alternatives: alternatives.length };
  }

  async function best() {
    const q = input.value.trim();
    if (!q) return;
    if (!available) { toast('地址搜索服务暂不可用', 'error'); return; }
    suggest.cancel();
    const mine = ++seq;
    try {
      const picked = activeIndex >= 0 && resultsFor === q ? results[activeIndex] : null;
      const items = picked ? [picked, ...results.filter((f) => f !== picked)] : await query(q, 5);
      if (mine !== seq && !picked) return;
      if (!items.length) {
        showList([], NO_MATCH);
        toast(`${NO_MATCH}：“${q}”`, 'error');
        window.citygrid.searchResult = null;
        return;
      }
      jump(items[0], items);
    } catch (error) {
      toast(explain(error), 'error');
    }
  }

  input.addEventListener('input', () => {
    // the list on screen answers the old text: hide it and forget its choice until the new one arrives
    results = [];
    resultsFor = null;
    activeIndex = -1;
    list.replaceChildren();
    list.hidden = true;
    suggest();
  });
  input.addEventListener('keydown', (e) => {
    const fresh = !list.hidden && resultsFor === input.value.trim();
    const items = fresh ? [...list.querySelectorAll('li[role=option]')] : [];
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!items.length) return;
      e.preventDefault();
      activeIndex = (activeIndex + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length;
      items.forEach((li, i) => li.classList.toggle('active', i === activeIndex));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      best();
    } else if (e.key === 'Escape') {
      list.hidden = true;
    }
  });
  input.addEventListener('blur', () => setTimeout(() => { list.hidden = true; }, 150));
  input.addEventListener('focus', () => { if (list.children.length) list.hidden = false; });
}
