// Talking to the CityGrid server: which endpoints exist (read once from /openapi.json, so that a
// missing capability is a message on the page rather than a failed request), JSON helpers, and the
// credentials of writes: the login session (cookie + CSRF token, see session.js) or else an API key,
// asked for once and kept in sessionStorage.
import { $ } from './ui.js';

const KEY_STORE = 'citygrid.apiKey';
let paths = new Set();
let collections = new Map();

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

/** Reads the server's OpenAPI document and the OGC collections list (when the OGC API is there). */
export async function discover() {
  // both at once (the page waits for them before the map is made); the collections count only if the
  // OpenAPI document offers them
  const [api, list] = await Promise.all([
    getJSON('/openapi.json').catch(() => null),
    getJSON('/ogc/collections').catch(() => null),
  ]);
  paths = new Set(Object.keys(api?.paths || {}));
  collections = new Map();
  if (has('/ogc/collections')) for (const c of list?.collections || []) collections.set(c.id, c);
  return { paths, collections };
}

/** Whether the server offers `path` (an OpenAPI path template, e.g. '/api/fences/{fence_id}'). */
export function has(path) {
  if (paths.has(path)) return true;
  if (path.includes('{')) {
    const re = new RegExp(`^${path.replace(/\{[^}]+\}/g, '\\{[^}]+\\}')}$`);
    for (const p of paths) if (re.test(p)) return true;
  }
  return false;
}

/** The concrete OpenAPI path matching a template with any parameter names ('/api/fences/{}'). */
export function pathLike(template) {
  const re = new RegExp(`^${template.replace(/\{\}/g, '\\{[^}]+\\}')}$`);
  for (const p of paths) if (re.test(p)) return p;
  return null;
}

export function collection(id) { return collections.get(id) || null; }

/** Whether the collection advertises vector tiles (or the server exposes a tiles path for it). */
export function hasTiles(id) {
  const c = collections.get(id);
  if (!c) return false;
  const rels = (c.links || []).map((l) => `${l.rel} ${l.href}`).join(' ');
  return /tilesets-vector|\/tiles/.test(rels) || has(`/ogc/collections/${id}/tiles`) ||
    has('/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}');
}

async function parse(response) {
  const type = response.headers.get('content-type') || '';
  const body = type.includes('json') ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const code = body && typeof body === 'object' ? body.error : undefined;
    const detail = body && typeof body === 'object' ? body.detail : String(body || '').slice(0, 200);
    throw new ApiError(response.status, code, detail);
  }
  return body;
}

/** The answer index.html asked for before this script ran, for a plain GET of `url`; once. */
function early(url, options) {
  const asked = window.citygridEarly;
  if (!asked?.has(url) || Object.keys(options).length) return null;
  const response = asked.get(url);
  asked.delete(url);
  return response;
}

export async function getJSON(url, options = {}) {
  const response = await (early(url, options)
    || fetch(url, { headers: { Accept: 'application/json, application/geo+json' }, ...options }));
  return parse(response);
}

/** The CSRF token of the login session (its cookie is readable by the page; the session cookie is not). */
export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)citygrid_csrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : '';
}

/** Forgets a session the server has ended (timed out): the page shows it logged out. */
export function dropSession() {
  document.cookie = 'citygrid_csrf=; Max-Age=0; path=/; SameSite=Lax';
  window.dispatchEvent(new CustomEvent('citygrid:session'));
}

// The login dialog (session.js registers it: api.js stays free of the page's panels).
let loginPrompt = async () => false;
export function setLoginPrompt(fn) { loginPrompt = fn; }

export function storedKey() { return sessionStorage.getItem(KEY_STORE) || ''; }
export function forgetKey() { sessionStorage.removeItem(KEY_STORE); }

/** Marker answered by askKey when the person chose to log in with an account instead. */
export const LOGIN_INSTEAD = '\u0000login';

/** Asks for an API key in the dialog; resolves to the key, '' when cancelled, or LOGIN_INSTEAD. */
export function askKey(reason) {
  const dialog = $('#key-dialog');
  const input = $('#key-input');
  $('#key-reason').textContent = reason || '此操作需要具有相应角色（如“规划员”）的 API 密钥。密钥只保存在本次浏览会话中。';
  input.value = storedKey();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (dialog.returnValue === 'login') { resolve(LOGIN_INSTEAD); return; }
      const key = dialog.returnValue === 'ok' ? input.value.trim() : '';
      if (key) sessionStorage.setItem(KEY_STORE, key);
      resolve(key);
    }, { once: true });
    dialog.showModal();
    input.focus();
  });
}

export const ROLE_NAMES = { viewer: '浏览员', inspector: '巡查员', planner: '规划员', admin: '管理员', device: '设备' };

/** A write with the login session: the cookie goes by itself, the CSRF token in its header. */
async function sendWithSession(method, url, body) {
  const headers = { 'X-CSRF-Token': csrfToken(), Accept: 'application/json, application/geo+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(url, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
}

/** A write: with the login session when logged in (and no key was chosen), else with the stored key; asks
 * for a key (or a login) first, and again once when the server refuses it. */
export async function send(method, url, body, { role = 'planner' } = {}) {
  const why = `此操作需要“${ROLE_NAMES[role] || role}”或更高角色的 API 密钥（X-API-Key），或以相应角色的账号登录。密钥只保存在本次浏览会话中。`;
  if (csrfToken() && !storedKey()) {
    const response = await sendWithSession(method, url, body);
    if (response.status !== 401) return parse(response);
    dropSession(); // timed out or logged out elsewhere: log in again (or give a key)
    if (await loginPrompt('登录已超时或已退出，请重新登录。')) return parse(await sendWithSession(method, url, body));
  }
  let key = storedKey() || await askKey(why);
  if (key === LOGIN_INSTEAD) {
    if (await loginPrompt(why)) return parse(await sendWithSession(method, url, body));
    throw new ApiError(401, 'no_login', '未登录，操作已取消');
  }
  if (!key) throw new ApiError(401, 'no_key', '未提供 API 密钥，操作已取消');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const headers = { 'X-API-Key': key, Accept: 'application/json, application/geo+json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if ((response.status === 401 || response.status === 403) && attempt === 0) {
      forgetKey();
      const detail = await response.json().catch(() => ({}));
      key = await askKey(`${response.status === 401 ? '密钥无效或已吊销' : '密钥角色不足'}：${detail.detail || ''}。${why}`);
      if (key === LOGIN_INSTEAD) {
        if (await loginPrompt(why)) return parse(await sendWithSession(method, url, body));
        throw new ApiError(401, 'no_login', '未登录，操作已取消');
      }
      if (!key) throw new ApiError(response.status, 'no_key', '未提供有效的 API 密钥，操作已取消');
      continue;
    }
    return parse(response);
  }
  throw new ApiError(403, 'forbidden', '密钥被拒绝');
}

/** A short Chinese sentence for an error shown to the user. */
export function explain(error) {
  if (error instanceof ApiError) {
    const head = { 400: '请求有误', 401: '未授权', 403: '无权限', 404: '未找到', 409: '冲突', 413: '数据过大',
      422: '数据无效', 429: '请求过于频繁', 503: '服务暂不可用' }[error.status] || `服务器错误 ${error.status}`;
    return `${head}：${error.detail || error.code || ''}`;
  }
  return `网络错误：${error.message || error}`;
}
