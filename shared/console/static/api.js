// Shared by both console pages: the bearer token, API calls, and small DOM
// helpers. The token lives in sessionStorage at most (gone when the tab
// closes); it comes from, in order:
//   1. the URL fragment after the identity provider's sign-in redirect
//      (#id_token=… or #access_token=…, OAuth 2.0 implicit response), which
//      is removed from the address bar at once;
//   2. sessionStorage (this tab, earlier);
//   3. the local stack's /local/console-token (exists only under `make dev`);
//   4. a token pasted into the sign-in form.
const TOKEN_KEY = 'igny8.console.token';
const LOCAL_TOKEN_PATH = '/local/console-token';

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.message || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

function tokenFromFragment() {
  if (!location.hash || location.hash.length < 2) return null;
  const params = new URLSearchParams(location.hash.slice(1));
  const tok = params.get('id_token') || params.get('access_token');
  if (tok) history.replaceState(null, '', location.pathname + location.search);
  return tok;
}

async function tokenFromLocalStack() {
  try {
    const r = await fetch(LOCAL_TOKEN_PATH, { cache: 'no-store', credentials: 'omit' });
    if (!r.ok) return null;
    const body = await r.json();
    return typeof body.token === 'string' ? body.token : null;
  } catch {
    return null;
  }
}

let token = null;

export async function signIn() {
  token = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY) || (await tokenFromLocalStack());
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  return token;
}

export function useToken(t) {
  token = t.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function signOut() {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
}

// claims decodes the token's payload for display (the API checks it).
export function claims() {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

// api calls the API. A 401 drops the token and, once, fetches a fresh one
// (the local stack's key may have changed); otherwise it throws ApiError.
export async function api(method, path, body, { retried = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  if (r.status === 401 && !retried) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (await tokenFromLocalStack().then((t) => t && (useToken(t), true))) {
      return api(method, path, body, { retried: true });
    }
  }
  if (r.status === 204) return null;
  const text = await r.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { detail: text }; }
  }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

// el builds an element: el('button', {class: 'primary', onclick}, 'Save').
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// problemText says what went wrong in plain words.
export function problemText(err) {
  if (err instanceof ApiError) {
    const p = err.problem;
    let s = p.detail || p.message || p.title || `The API answered ${err.status}.`;
    if (p.hint) s += ` ${p.hint}`;
    if (err.status === 401) s = 'Your sign-in has expired or is missing. Sign in again.';
    if (err.status === 403) s = p.detail || 'Your account is not allowed to do this.';
    return s;
  }
  return `Could not reach the API: ${err.message}`;
}

// notice replaces the contents of a live region with a message.
export function notice(region, kind, ...text) {
  region.replaceChildren(el('div', { class: `notice ${kind}` }, ...text));
}

export function when(iso) {
  if (!iso) return 'never';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export async function copyText(text, statusRegion) {
  try {
    await navigator.clipboard.writeText(text);
    notice(statusRegion, 'ok', 'Copied to the clipboard.');
  } catch {
    notice(statusRegion, 'warn', 'Copy is not allowed here: select the text and copy it by hand.');
  }
}

// renderSignIn renders the production sign-in: a token from the identity
// provider (pasted, or arriving in the URL fragment after its redirect).
export function renderSignIn(container, onDone) {
  const input = el('textarea', { id: 'token-input', rows: 3, autocomplete: 'off', spellcheck: 'false', required: true });
  const form = el('form', {
    onsubmit: (ev) => {
      ev.preventDefault();
      useToken(input.value);
      onDone();
    },
  },
  el('h2', {}, 'Sign in'),
  el('p', {}, 'Sign in with your organisation\u2019s identity provider; it sends you back here signed in. ',
    'Or paste an ID token issued for this API. It is kept only in this browser tab and forgotten when the tab closes.'),
  el('div', { class: 'field' }, el('label', { for: 'token-input' }, 'ID token'), input),
  el('button', { class: 'primary', type: 'submit' }, 'Use this token'));
  container.replaceChildren(form);
}

export function renderWho(container) {
  const c = claims();
  const account = c['custom:account_id'] || c.account_id || c.sub || 'signed in';
  const admin = String(c.scope || '').split(' ').includes('igny8/admin') || (c['cognito:groups'] || []).includes?.('igny8/admin');
  container.replaceChildren(el('span', {}, `Account: ${account}${admin ? ' (admin)' : ''} `),
    el('button', { type: 'button', onclick: () => { signOut(); location.reload(); } }, 'Sign out'));
}
