// Logging in with a local account (or through single sign-on), showing who is logged in, logging out.
// The session lives on the server; the page holds only its cookies: the session cookie (HttpOnly, never
// read here) and the CSRF token's cookie, which api.js sends back in X-CSRF-Token with every write.
import { ApiError, ROLE_NAMES, csrfToken, dropSession, explain, getJSON, setLoginPrompt } from './api.js';
import { $, toast } from './ui.js';

const LOGIN_ERRORS = { 401: '用户名或密码错误', 429: '尝试次数过多，账号或本机已被暂时锁定，请稍后再试' };

/** Shows the person (or nobody) in the top bar and switches the button between 登录 and 退出. */
function show(me) {
  const badge = $('#whoami');
  const button = $('#login-button');
  const app = window.citygrid;
  app.session = me;
  if (me) {
    const area = me.area ? ` · 区域 ${me.area}` : '';
    badge.textContent = `${me.user || me.name} · ${ROLE_NAMES[me.role] || me.role}${area}`;
    badge.title = `已登录：${me.user || me.name}（${ROLE_NAMES[me.role] || me.role}${area}）`;
    badge.hidden = false;
    button.textContent = '退出';
    button.title = '退出登录';
  } else {
    badge.hidden = true;
    badge.textContent = '';
    button.textContent = '登录';
    button.title = '用账号登录';
  }
}

/** Asks the server who the session is (only when there is one: no 401 noise for anonymous visitors). */
export async function refresh() {
  if (!csrfToken()) { show(null); return null; }
  try {
    const me = await getJSON('/api/auth/whoami', { credentials: 'same-origin' });
    show(me);
    return me;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) dropSession();
    show(null);
    return null;
  }
}

async function postLogin(username, password) {
  const response = await fetch('/api/auth/login', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.error, LOGIN_ERRORS[response.status] || body.detail);
  return body;
}

/** Opens the login dialog; resolves true once logged in, false when cancelled. */
export function askLogin(reason) {
  const dialog = $('#login-dialog');
  const error = $('#login-error');
  $('#login-reason').textContent = reason || '以本地账号登录；登录后的写操作按账号的角色与区域授权。';
  $('#login-sso').href = `/api/auth/oidc/login?next=${encodeURIComponent(location.pathname + location.search)}`;
  error.hidden = true;
  $('#login-password').value = '';
  return new Promise((resolve) => {
    const submit = async (event) => {
      event.preventDefault(); // the dialog stays open until the server says yes
      const username = $('#login-user').value.trim();
      const password = $('#login-password').value;
      if (!username || !password) { error.textContent = '请输入用户名和密码'; error.hidden = false; return; }
      $('#login-ok').disabled = true;
      try {
        await postLogin(username, password);
        await refresh();
        finish(true);
        dialog.close('ok');
        toast(`已登录：${username}`, 'ok');
      } catch (e) {
        error.textContent = e instanceof ApiError ? (e.detail || explain(e)) : explain(e);
        error.hidden = false;
      } finally {
        $('#login-ok').disabled = false;
      }
    };
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      $('#login-form').removeEventListener('submit', submit);
      resolve(value);
    };
    $('#login-form').addEventListener('submit', submit);
    dialog.addEventListener('close', () => finish(false), { once: true });
    dialog.showModal();
    $('#login-user').focus();
  });
}

export async function logout() {
  const response = await fetch('/api/auth/logout', {
    method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrfToken() },
  });
  if (!response.ok && response.status !== 401) {
    const body = await response.json().catch(() => ({}));
    toast(`退出失败：${body.detail || response.status}`, 'error');
    return;
  }
  dropSession();
  toast('已退出登录', 'ok');
}

/** Wires the top bar's 登录/退出 button and the dialog; `config.auth.sso` shows the single sign-on link. */
export function initSession(config) {
  $('#login-sso-line').hidden = !(config.auth && config.auth.sso);
  setLoginPrompt(askLogin);
  window.addEventListener('citygrid:session', () => { refresh(); });
  $('#login-cancel').addEventListener('click', () => $('#login-dialog').close('cancel'));
  $('#login-button').addEventListener('click', async () => {
    if (window.citygrid.session) await logout();
    else await askLogin();
  });
  window.citygrid.login = askLogin;
  return refresh();
}
