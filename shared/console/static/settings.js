// Integration Settings: connect, test, sync, edit, rotate the webhook
// secret, delete; per-site sync status and recent history; AI providers
// (admins only).
import { api, ApiError, copyText, el, notice, problemText, renderSignIn, renderWho, signIn, when } from './api.js';

const $ = (id) => document.getElementById(id);
const status = $('status');

function confirmAction(text, okLabel) {
  const dialog = $('confirm');
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

// connectionBadge: connected / error / not tested, with the diagnosis.
function connectionView(it) {
  const conn = (it.config_json && it.config_json.connection) || {};
  const ok = it.connection_status === 'connected';
  const badge = el('span', { class: `badge ${ok ? 'ok' : it.connection_status === 'error' ? 'err' : 'muted'}`, dataset: { role: 'connection' } },
    ok ? 'Connected' : it.connection_status === 'error' ? 'Error' : 'Not tested');
  const parts = [badge];
  if (!ok && conn.error) {
    parts.push(el('div', { class: 'notice err', dataset: { role: 'diagnosis' } },
      el('strong', {}, conn.error.message || conn.error.code), conn.error.hint ? el('p', { class: 'hint' }, conn.error.hint) : null,
      el('p', { class: 'meta' }, `Code: ${conn.error.code}${conn.error.http_status ? `, HTTP ${conn.error.http_status}` : ''}`)));
  }
  if (ok && conn.user) parts.push(el('span', { class: 'meta' }, ` as ${conn.user.name || conn.user.username} (${(conn.user.roles || []).join(', ')})`));
  if (conn.checked_at) parts.push(el('span', { class: 'meta' }, ` · checked ${when(conn.checked_at)}`));
  return el('div', {}, ...parts);
}

function syncBadge(s) {
  const cls = s === 'syncing' ? 'warn' : s === 'error' ? 'err' : s === 'success' || s === 'succeeded' || s === 'idle' ? 'ok' : 'muted';
  return el('span', { class: `badge ${cls}`, dataset: { role: 'sync-status' } }, s || 'never synced');
}

// eventSummary is the one-line outcome of a successful event: a pulled
// page counts its posts by outcome; a webhook or push names its result.
function eventSummary(e) {
  const m = e.metadata || {};
  if (m.items) {
    const parts = ['created', 'updated', 'trashed'].filter((k) => Array.isArray(m[k])).map((k) => `${m[k].length} ${k}`);
    return `${e.content_type || 'items'} page ${m.page || ''}: ${parts.join(', ')}`;
  }
  return m.result || m.action || '';
}

async function loadHistory(it, box) {
  try {
    const [health, events] = await Promise.all([
      api('GET', `/api/v1/integration/${it.id}/sync_health/`),
      api('GET', `/api/v1/integration/${it.id}/events/?limit=5`),
    ]);
    const rows = (events.items || []).map((e) => el('tr', {},
      el('td', {}, when(e.created_at)), el('td', {}, e.event_type), el('td', {}, e.direction || ''),
      el('td', {}, el('span', { class: `badge ${e.status === 'failed' ? 'err' : 'ok'}` }, e.status)),
      el('td', {}, e.error_message || eventSummary(e))));
    const run = health.last_run;
    box.replaceChildren(
      el('dl', { class: 'kv' },
        el('dt', {}, 'Last successful sync'), el('dd', {}, when(health.last_successful_sync)),
        el('dt', {}, 'Last run'), el('dd', {}, run ? `${run.direction} ${run.mode}: ${run.status}, ${run.percent}% (${run.items_created} created, ${run.items_updated} updated, ${run.items_failed} failed)` : 'none'),
        el('dt', {}, 'Failures'), el('dd', {}, `${health.failed_events_24h} in 24 h, ${health.failed_events_7d} in 7 days`)),
      rows.length ? el('div', { class: 'table-wrap' }, el('table', {},
        el('caption', { class: 'visually-hidden' }, 'Recent sync history'),
        el('thead', {}, el('tr', {}, ...['When', 'Event', 'Direction', 'Status', 'Details'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...rows))) : el('p', { class: 'meta' }, 'No sync history yet.'));
  } catch (err) {
    box.replaceChildren(el('p', { class: 'notice err' }, problemText(err)));
  }
}

function editForm(it, card) {
  const id = it.id;
  const form = el('form', { class: 'edit', 'aria-label': `Edit ${it.external_site_url}` },
    el('div', { class: 'grid' },
      el('div', { class: 'field' }, el('label', { for: `e-url-${id}` }, 'Site URL'), el('input', { id: `e-url-${id}`, type: 'url', value: it.external_site_url, required: true })),
      el('div', { class: 'field' }, el('label', { for: `e-user-${id}` }, 'WordPress username'), el('input', { id: `e-user-${id}`, type: 'text', value: (it.credentials && it.credentials.username) || '' })),
      el('div', { class: 'field' }, el('label', { for: `e-pass-${id}` }, 'New Application Password'),
        el('input', { id: `e-pass-${id}`, type: 'password', autocomplete: 'new-password', 'aria-describedby': `e-pass-hint-${id}` }),
        el('p', { class: 'hint', id: `e-pass-hint-${id}` }, `Leave empty to keep the current one (ending ${(it.credentials && it.credentials.application_password_last4) || '—'}).`))),
    el('label', { class: 'check' }, el('input', { type: 'checkbox', id: `e-active-${id}`, checked: it.is_active }), 'Active'),
    el('label', { class: 'check' }, el('input', { type: 'checkbox', id: `e-sync-${id}`, checked: it.sync_enabled }), 'Sync enabled'),
    el('div', { class: 'actions' }, el('button', { class: 'primary', type: 'submit' }, 'Save changes'),
      el('button', { type: 'button', onclick: () => { form.remove(); } }, 'Cancel')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const patch = { version: it.version, external_site_url: $(`e-url-${id}`).value.trim(), is_active: $(`e-active-${id}`).checked, sync_enabled: $(`e-sync-${id}`).checked };
    const user = $(`e-user-${id}`).value.trim();
    const pass = $(`e-pass-${id}`).value;
    if (pass || user !== ((it.credentials && it.credentials.username) || '')) {
      patch.credentials = { username: user };
      if (pass) patch.credentials.application_password = pass;
    }
    try {
      await api('PATCH', `/api/v1/integration/${id}/`, patch);
      notice(status, 'ok', 'Saved.');
      await loadIntegrations();
    } catch (err) {
      notice(status, 'err', problemText(err));
    }
  });
  card.append(form);
  $(`e-url-${id}`).focus();
}

function showSecret(box, secret, extra) {
  const region = el('div', { role: 'status' });
  box.replaceChildren(el('div', { class: 'notice warn', dataset: { role: 'webhook-secret' } },
    el('p', {}, el('strong', {}, 'Webhook signing secret — shown only once. '), 'Copy it now if you configure the WordPress plugin by hand.'),
    el('p', {}, el('code', { class: 'secret' }, secret)),
    extra ? el('p', { class: 'meta' }, extra) : null,
    el('div', { class: 'actions' },
      el('button', { type: 'button', onclick: () => copyText(secret, region) }, 'Copy secret'),
      el('button', { type: 'button', onclick: () => box.replaceChildren() }, 'Done, hide it')),
    region));
}

function integrationCard(it) {
  const card = el('article', { class: 'card', 'aria-labelledby': `t-${it.id}`, dataset: { integration: it.id, site: it.site_id } });
  const secretBox = el('div');
  const history = el('div', { class: 'history' }, el('p', { class: 'meta' }, 'Loading history…'));
  const busy = async (btn, fn) => {
    btn.disabled = true;
    try { await fn(); } catch (err) { notice(status, 'err', problemText(err)); } finally { btn.disabled = false; }
  };
  const testBtn = el('button', { type: 'button' }, 'Test connection');
  testBtn.addEventListener('click', () => busy(testBtn, async () => {
    const r = await api('POST', `/api/v1/integration/${it.id}/test_connection/`);
    notice(status, r.connection_status === 'connected' ? 'ok' : 'err', `${it.external_site_url}: ${r.connection_status === 'connected' ? 'connected' : 'connection failed'}.`);
    await loadIntegrations();
  }));
  const syncBtn = el('button', { type: 'button' }, 'Sync now');
  syncBtn.addEventListener('click', () => busy(syncBtn, async () => {
    try {
      await api('POST', `/api/v1/integration/${it.id}/sync/`, {});
      notice(status, 'ok', `Sync started for ${it.external_site_url}. `, el('a', { href: `/console/sites/${encodeURIComponent(it.site_id)}/sync` }, 'Watch it on the sync dashboard'));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) notice(status, 'warn', 'A sync is already running for this site.');
      else throw err;
    }
    await loadIntegrations();
  }));
  const rotateBtn = el('button', { type: 'button' }, 'Rotate webhook secret');
  rotateBtn.addEventListener('click', () => busy(rotateBtn, async () => {
    if (!(await confirmAction(`Create a new webhook signing secret for ${it.external_site_url}? The current one keeps working for a grace period.`, 'Rotate'))) return;
    const r = await api('POST', `/api/v1/integration/${it.id}/webhook_secret/`);
    const pluginNote = r.plugin && r.plugin.configured ? 'The WordPress plugin was sent the new secret.' : 'Enter it on the plugin\u2019s settings page in WordPress.';
    showSecret(secretBox, r.webhook_secret, `${pluginNote}${r.previous_secret_valid_until ? ` The previous secret works until ${when(r.previous_secret_valid_until)}.` : ''}`);
  }));
  const deleteBtn = el('button', { type: 'button', class: 'danger' }, 'Delete');
  deleteBtn.addEventListener('click', () => busy(deleteBtn, async () => {
    if (!(await confirmAction(`Delete the integration with ${it.external_site_url}? Its stored credentials and webhook secret are deleted; WordPress is not changed.`, 'Delete'))) return;
    await api('DELETE', `/api/v1/integration/${it.id}/`);
    notice(status, 'ok', `Deleted ${it.external_site_url}.`);
    await loadIntegrations();
  }));
  const editBtn = el('button', { type: 'button', onclick: () => { if (!card.querySelector('form.edit')) editForm(it, card); } }, 'Edit');
  card.append(
    el('h3', { id: `t-${it.id}` }, it.external_site_url),
    el('p', { class: 'meta' }, `Site ID ${it.site_id} · ${it.is_active ? 'active' : 'inactive'} · sync ${it.sync_enabled ? 'on' : 'off'}`),
    connectionView(it),
    el('p', {}, 'Sync: ', syncBadge(it.sync_status), ` · last sync ${when(it.last_sync_at)}`, it.sync_error ? el('span', { class: 'meta' }, ` · ${it.sync_error}`) : null),
    el('div', { class: 'actions' }, testBtn, syncBtn, editBtn, rotateBtn, deleteBtn,
      el('a', { class: 'button', href: `/console/sites/${encodeURIComponent(it.site_id)}/sync` }, 'Sync dashboard')),
    secretBox,
    el('details', { ontoggle: (ev) => { if (ev.target.open) loadHistory(it, history); } }, el('summary', {}, 'Sync status and recent history'), history));
  return card;
}

async function loadIntegrations() {
  const box = $('integrations');
  try {
    const list = await api('GET', '/api/v1/integration/?limit=100');
    const items = list.items || [];
    box.replaceChildren(...(items.length ? items.map(integrationCard) : [el('p', { class: 'meta' }, 'No sites connected yet. Use the form above.')]));
  } catch (err) {
    box.replaceChildren(el('p', { class: 'notice err' }, problemText(err)));
  }
}

function setupAddForm() {
  const form = $('add-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const result = $('add-result');
    if (!form.checkValidity()) {
      const bad = form.querySelector(':invalid');
      notice(result, 'err', `Please fill in “${form.querySelector(`label[for="${bad.id}"]`).textContent}”.`);
      bad.focus();
      return;
    }
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    notice(result, '', 'Connecting and testing the site…');
    try {
      const r = await api('POST', '/api/v1/integration/', {
        site_id: $('add-site').value.trim(), platform: 'wordpress', external_site_url: $('add-url').value.trim(),
        credentials: { username: $('add-user').value.trim(), application_password: $('add-pass').value },
      });
      $('add-pass').value = '';
      if (r.connection_status === 'connected') {
        notice(result, 'ok', `Connected to ${r.external_site_url}.`);
      } else {
        const e = (r.connection && r.connection.error) || {};
        notice(result, 'err', el('strong', {}, `Saved, but the connection test failed: ${e.message || e.code || 'unknown error'}`), e.hint ? el('p', {}, e.hint) : null);
      }
      if (r.webhook_secret) {
        const box = el('div');
        result.append(box);
        showSecret(box, r.webhook_secret, r.connection && r.connection.plugin && r.connection.plugin.configured ? 'The WordPress plugin was configured with it.' : '');
      }
      await loadIntegrations();
    } catch (err) {
      const field = err instanceof ApiError && err.problem.field;
      notice(result, 'err', problemText(err));
      const input = field && form.querySelector(`[name="${field}"]`);
      if (input) input.focus();
    } finally {
      btn.disabled = false;
    }
  });
}

const PROVIDERS = [['openai', 'OpenAI'], ['anthropic', 'Anthropic'], ['runware', 'Runware'], ['bria', 'Bria']];

async function loadAI() {
  const box = $('ai');
  let settings;
  try {
    settings = await api('GET', '/api/v1/ai/settings/');
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      box.replaceChildren(el('p', { class: 'meta' }, 'AI provider settings are managed by administrators.'));
      return;
    }
    box.replaceChildren(el('p', { class: 'notice err' }, problemText(err)));
    return;
  }
  const [text, image] = await Promise.all([api('GET', '/api/v1/ai/models/?type=text'), api('GET', '/api/v1/ai/models/?type=image')]);
  const result = el('div', { role: 'status' });
  const rows = PROVIDERS.map(([p, name]) => {
    const k = settings.providers[p] || {};
    const testOut = el('span', { class: 'meta', 'aria-live': 'polite' });
    const testBtn = el('button', { type: 'button', disabled: !k.key_set }, `Test ${name}`);
    testBtn.addEventListener('click', async () => {
      testBtn.disabled = true;
      testOut.textContent = ' testing…';
      try {
        const r = await api('POST', `/api/v1/ai/providers/${p}/test/`);
        testOut.replaceChildren(r.status === 'ok' ? el('span', { class: 'badge ok' }, `OK, ${r.latency_ms} ms`)
          : el('span', { class: 'badge err' }, `${r.error.code}: ${r.error.message}`));
      } catch (err) {
        testOut.textContent = ` ${problemText(err)}`;
      } finally {
        testBtn.disabled = false;
      }
    });
    return el('fieldset', {}, el('legend', {}, name),
      el('p', {}, k.key_set ? el('span', {}, 'Key set: ', el('code', { class: 'secret' }, `••••${k.key_last4 || ''}`), el('span', { class: 'meta' }, ` · updated ${when(k.updated_at)}`)) : el('span', { class: 'badge muted' }, 'No key')),
      el('div', { class: 'field' }, el('label', { for: `ai-key-${p}` }, `New ${name} API key`),
        el('input', { id: `ai-key-${p}`, type: 'password', autocomplete: 'off', 'aria-describedby': `ai-key-hint-${p}` }),
        el('p', { class: 'hint', id: `ai-key-hint-${p}` }, 'Leave empty to keep the stored key. Keys are never shown again.')),
      k.key_set ? el('label', { class: 'check' }, el('input', { type: 'checkbox', id: `ai-clear-${p}` }), `Remove the ${name} key`) : null,
      el('div', { class: 'actions' }, testBtn, testOut));
  });
  const option = (m, selected) => el('option', { value: m.id, selected: m.id === selected }, `${m.display_name || m.id} (${m.provider})`);
  const textSel = el('select', { id: 'ai-text-model' }, ...(text.items || []).map((m) => option(m, settings.default_text_model)));
  const imageModels = image.items || [];
  const imageSel = el('select', { id: 'ai-image-model' }, ...imageModels.map((m) => option(m, settings.default_image_model)));
  const form = el('form', {}, ...rows,
    el('div', { class: 'grid' },
      el('div', { class: 'field' }, el('label', { for: 'ai-text-model' }, 'Default text model'), textSel),
      el('div', { class: 'field' }, el('label', { for: 'ai-image-model' }, 'Default image model'), imageSel)),
    el('div', { class: 'actions' }, el('button', { class: 'primary', type: 'submit' }, 'Save AI settings')), result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { version: settings.version, default_text_model: textSel.value, default_image_model: imageSel.value };
    const img = imageModels.find((m) => m.id === imageSel.value);
    if (img) body.default_image_provider = img.provider;
    for (const [p] of PROVIDERS) {
      const v = $(`ai-key-${p}`).value.trim();
      if (v) body[`${p}_api_key`] = v;
      else if ($(`ai-clear-${p}`) && $(`ai-clear-${p}`).checked) body[`${p}_api_key`] = null;
    }
    try {
      await api('PATCH', '/api/v1/ai/settings/', body);
      await loadAI();
      notice(status, 'ok', 'AI settings saved.');
    } catch (err) {
      notice(result, 'err', problemText(err));
    }
  });
  box.replaceChildren(form);
}

async function main() {
  if (!(await signIn())) {
    $('signin').hidden = false;
    renderSignIn($('signin'), () => location.reload());
    return;
  }
  renderWho($('who'));
  $('app').hidden = false;
  setupAddForm();
  await Promise.all([loadIntegrations(), loadAI()]);
}

main();
