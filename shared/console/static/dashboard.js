// WordPress Sync Dashboard of one site (/console/sites/{site_id}/sync): the
// current or last run with a live progress bar (polling sync_status), the
// content queue with planned publish times, the error log with conflict
// resolution, manual triggers and publishing settings.
import { api, ApiError, el, notice, problemText, renderSignIn, renderWho, signIn, when } from './api.js';

const $ = (id) => document.getElementById(id);
const status = $('status');
const siteID = decodeURIComponent(location.pathname.split('/')[3] || '');
let integration = null;
let pollTimer = null;
let lastRunStatus = null;
const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'], ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];

// wpItemLink links an event or content item to the post in WordPress: its
// public link when known, else the post's edit screen.
function wpItemLink(externalID, link) {
  if (link) return el('a', { href: link, rel: 'noopener noreferrer', target: '_blank' }, `WordPress #${externalID || ''}`.trim());
  if (!externalID) return null;
  const base = integration.external_site_url.replace(/\/+$/, '');
  return el('a', { href: `${base}/wp-admin/post.php?post=${externalID}&action=edit`, rel: 'noopener noreferrer', target: '_blank' }, `WordPress #${externalID}`);
}

// siteTime shows a planned time in the site's own zone, as the schedule
// gives it ("2026-11-30T09:00:00+01:00" → "Mon 30 Nov 09:00").
function siteTime(p) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2})/.exec(p.local_time || '');
  if (!m) return when(p.at);
  const day = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return `${day.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' })} ${m[4]}`;
}

function renderRun(s) {
  const box = $('run');
  const run = s.run;
  if (!run) {
    box.replaceChildren(el('p', { class: 'meta' }, 'No sync has run for this site yet.'));
    return;
  }
  const active = s.status === 'syncing';
  const pct = Math.max(0, Math.min(100, run.percent || 0));
  const count = (label, v, role) => el('div', {}, el('dt', {}, label), el('dd', { dataset: { count: role } }, String(v ?? 0)));
  box.replaceChildren(
    el('p', {}, el('span', { class: `badge ${active ? 'warn' : run.status === 'succeeded' ? 'ok' : run.status === 'error' || run.status === 'failed' ? 'err' : 'muted'}`, dataset: { role: 'run-status' } }, active ? 'Syncing' : ({ succeeded: 'Done', failed: 'Failed', canceled: 'Canceled' }[run.status] || run.status)),
      ` ${run.direction} · ${run.mode}${active && run.phase ? ` · ${run.phase}` : ''}`),
    el('label', { for: 'run-progress' }, `Progress: ${pct}% (${run.pages_done} of ${run.pages_total || '?'} pages)`),
    el('progress', { id: 'run-progress', max: 100, value: pct, 'aria-valuetext': `${pct} percent` }),
    el('dl', { class: 'counts' },
      count('Created', run.items_created, 'created'), count('Updated', run.items_updated, 'updated'),
      count('Unchanged', run.items_unchanged, 'unchanged'), count('Failed', run.items_failed, 'failed'),
      count('Conflicts', run.items_conflicted, 'conflicted')),
    el('p', { class: 'meta' }, `Started ${when(run.started_at)}${run.finished_at ? ` · finished ${when(run.finished_at)}` : ''}`),
    ...(run.error ? [el('p', { class: 'notice err' }, run.error)] : []));
  for (const b of $('triggers').querySelectorAll('button')) b.disabled = active;
}

// poll reads sync_status every second while a run is active, every 10 s
// otherwise; when a run ends, the queue and the log are read again.
async function poll() {
  clearTimeout(pollTimer);
  let s;
  try {
    s = await api('GET', `/api/v1/integration/${integration.id}/sync_status/`);
    renderRun(s);
  } catch (err) {
    notice(status, 'err', problemText(err));
  }
  const active = s && s.status === 'syncing';
  if (lastRunStatus === 'syncing' && !active) {
    notice(status, s && s.run && s.run.status === 'succeeded' ? 'ok' : 'warn', `Sync ${s && s.run ? s.run.status : 'ended'}.`);
    loadQueue();
    loadLog();
  }
  lastRunStatus = s ? s.status : lastRunStatus;
  pollTimer = setTimeout(poll, active ? 1000 : 10000);
}

async function startSync(direction, mode) {
  try {
    await api('POST', `/api/v1/integration/${integration.id}/sync/`, { direction, mode });
    notice(status, 'ok', `${mode === 'full' ? 'Full' : 'Incremental'} ${direction} started.`);
    lastRunStatus = 'syncing';
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) notice(status, 'warn', 'A sync is already running for this site.');
    else notice(status, 'err', problemText(err));
  }
  poll();
}

async function loadQueue() {
  const box = $('queue');
  try {
    const [approved, schedule] = await Promise.all([
      api('GET', `/api/v1/content/?site_id=${encodeURIComponent(siteID)}&status=approved&limit=100`),
      api('GET', `/api/v1/sites/${encodeURIComponent(siteID)}/publishing_schedule/?days=7`).catch((err) => {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      }),
    ]);
    const planned = new Map();
    for (const p of (schedule && schedule.publications) || []) if (p.content_id) planned.set(p.content_id, p);
    const items = approved.items || [];
    const rows = items.map((c) => {
      const p = planned.get(c.id);
      return el('tr', {}, el('td', {}, c.title || '(untitled)'), el('td', {}, c.content_type),
        el('td', {}, c.wordpress_id ? 'update' : 'new post'),
        el('td', {}, p ? siteTime(p) : schedule ? (schedule.auto_publish_enabled ? 'after the next 7 days' : 'manual (auto-publish off)') : '—'),
        el('td', {}, wpItemLink(c.wordpress_id, c.wordpress_link) || ''));
    });
    const parts = [];
    if (schedule) {
      parts.push(el('p', { class: 'meta', dataset: { role: 'schedule-summary' } },
        `Auto-publish ${schedule.auto_publish_enabled ? 'on' : 'off'} · ${schedule.approved_waiting} approved waiting · published today ${schedule.published.today}, this week ${schedule.published.this_week}, this month ${schedule.published.this_month} · times in ${schedule.timezone}`));
    } else {
      parts.push(el('p', { class: 'notice warn' }, 'Planned publish times are not available on this deployment.'));
    }
    parts.push(rows.length ? el('div', { class: 'table-wrap' }, el('table', {},
      el('caption', { class: 'visually-hidden' }, 'Approved content waiting to be pushed'),
      el('thead', {}, el('tr', {}, ...['Title', 'Type', 'Push', 'Planned', 'WordPress'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows))) : el('p', { class: 'meta' }, 'No approved content is waiting to be pushed.'));
    if (schedule && schedule.publications && schedule.publications.length) {
      parts.push(el('details', {}, el('summary', {}, `Schedule for the next 7 days (${schedule.publications.length} planned times)`),
        el('ul', {}, ...schedule.publications.map((p) => el('li', {}, `${siteTime(p)}: ${p.title || (p.content_id ? p.content_id : 'nothing waiting')}`)))));
    }
    box.replaceChildren(...parts);
  } catch (err) {
    box.replaceChildren(el('p', { class: 'notice err' }, problemText(err)));
  }
}

async function resolve(contentID, keep, btn) {
  btn.disabled = true;
  try {
    await api('POST', `/api/v1/content/${contentID}/resolve_conflict/`, { keep });
    notice(status, 'ok', keep === 'igny8' ? 'Kept the IGNY8 version: it is being pushed to WordPress.' : 'Kept the WordPress version: it is being pulled from WordPress.');
    loadLog();
  } catch (err) {
    notice(status, 'err', problemText(err));
    btn.disabled = false;
  }
}

async function loadLog() {
  const box = $('log');
  const filter = $('log-filter').value;
  const q = filter === 'conflict' ? 'status=failed&event_type=conflict' : 'status=failed';
  try {
    const list = await api('GET', `/api/v1/integration/${integration.id}/events/?${q}&limit=50`);
    const items = list.items || [];
    if (!items.length) {
      box.replaceChildren(el('p', { class: 'meta' }, filter === 'conflict' ? 'No conflicts.' : 'No errors. Everything synced.'));
      return;
    }
    // A conflict stays in the history after it is settled: offer the
    // buttons only while its item is still in conflict.
    const conflictIDs = [...new Set(items.filter((e) => e.event_type === 'conflict' && e.content_id).map((e) => e.content_id))];
    const stillInConflict = new Set((await Promise.all(conflictIDs.map((id) => api('GET', `/api/v1/content/${id}/`).catch(() => null))))
      .filter((c) => c && c.status === 'conflict').map((c) => c.id));
    box.replaceChildren(el('div', { class: 'table-wrap' }, el('table', { id: 'log-table' },
      el('caption', { class: 'visually-hidden' }, 'Failed sync events and conflicts, newest first'),
      el('thead', {}, el('tr', {}, ...['When', 'Event', 'Message', 'Item', 'Action'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...items.map((e) => {
        const actions = [];
        if (e.event_type === 'conflict' && e.content_id && !stillInConflict.has(e.content_id)) {
          actions.push(el('span', { class: 'badge ok' }, 'Resolved'));
        } else if (e.event_type === 'conflict' && e.content_id) {
          const a = el('button', { type: 'button' }, 'Keep IGNY8');
          const b = el('button', { type: 'button' }, 'Keep WordPress');
          a.addEventListener('click', () => resolve(e.content_id, 'igny8', a));
          b.addEventListener('click', () => resolve(e.content_id, 'wordpress', b));
          actions.push(a, b);
        }
        return el('tr', { dataset: { event: e.id, eventType: e.event_type } },
          el('td', {}, when(e.created_at)),
          el('td', {}, el('span', { class: `badge ${e.event_type === 'conflict' ? 'warn' : 'err'}` }, e.event_type === 'conflict' ? 'conflict' : `${e.event_type} failed`)),
          el('td', { dataset: { role: 'message' } }, e.error_message || ''),
          el('td', {}, wpItemLink(e.external_id, e.metadata && e.metadata.link) || (e.content_id ? `IGNY8 ${e.content_id}` : '')),
          el('td', {}, el('div', { class: 'actions' }, ...actions)));
      })))));
  } catch (err) {
    box.replaceChildren(el('p', { class: 'notice err' }, problemText(err)));
  }
}

// PUBLISHING_FIELDS maps the API's field names to the form's controls.
const PUBLISHING_FIELDS = {
  daily_publish_limit: 'pub-daily', weekly_publish_limit: 'pub-weekly', monthly_publish_limit: 'pub-monthly',
  publish_time_slots: 'pub-slots', timezone: 'pub-tz',
};

function slotsText(slots) {
  return (slots || []).map((s) => `${s.start}-${s.end}`).join(', ');
}

function parseSlots(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const [start, end] = s.split('-').map((x) => x.trim());
    return { start, end };
  });
}

async function loadPublishing() {
  const box = $('publishing');
  let ps;
  try {
    ps = await api('GET', `/api/v1/sites/${encodeURIComponent(siteID)}/publishing_settings/`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.problem.code === 'route_not_found') {
      box.replaceChildren(el('p', { class: 'notice warn', dataset: { role: 'publishing-unavailable' } }, 'Publishing settings are not available on this deployment yet.'));
      return;
    }
    box.replaceChildren(el('p', { class: 'notice err' }, problemText(err)));
    return;
  }
  const num = (id, label, v, hint) => el('div', { class: 'field' }, el('label', { for: id }, label),
    el('input', { id, type: 'number', min: 0, max: 10000, step: 1, value: v, required: true, 'aria-describedby': `${id}-hint` }), el('p', { class: 'hint', id: `${id}-hint` }, hint));
  const result = el('div', { role: 'status' });
  const form = el('form', {},
    el('label', { class: 'check' }, el('input', { type: 'checkbox', id: 'pub-auto-approve', checked: ps.auto_approval_enabled }), 'Approve new content automatically'),
    el('label', { class: 'check' }, el('input', { type: 'checkbox', id: 'pub-auto-publish', checked: ps.auto_publish_enabled }), 'Publish approved content on this schedule'),
    el('div', { class: 'grid' },
      num('pub-daily', 'Daily limit', ps.daily_publish_limit, 'Also how many planned times a publish day has.'),
      num('pub-weekly', 'Weekly limit', ps.weekly_publish_limit, 'At least the daily limit (ISO week, Monday first).'),
      num('pub-monthly', 'Monthly limit', ps.monthly_publish_limit, 'At least the weekly limit.')),
    el('fieldset', {}, el('legend', {}, 'Publish days'),
      el('div', { class: 'grid' }, ...DAYS.map(([d, name]) => el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'day', value: d, checked: (ps.publish_days || []).includes(d) }), name)))),
    el('div', { class: 'grid' },
      el('div', { class: 'field' }, el('label', { for: 'pub-slots' }, 'Time slots'),
        el('input', { id: 'pub-slots', type: 'text', value: slotsText(ps.publish_time_slots), 'aria-describedby': 'pub-slots-hint' }),
        el('p', { class: 'hint', id: 'pub-slots-hint' }, 'Comma-separated HH:MM-HH:MM ranges in the site\u2019s time zone, e.g. 09:00-12:00, 14:00-17:00.')),
      el('div', { class: 'field' }, el('label', { for: 'pub-tz' }, 'Time zone'),
        el('input', { id: 'pub-tz', type: 'text', value: ps.timezone, 'aria-describedby': 'pub-tz-hint' }),
        el('p', { class: 'hint', id: 'pub-tz-hint' }, 'An IANA zone such as Europe/Berlin.'))),
    el('p', { class: 'meta' }, `${ps.approved_waiting} approved item(s) waiting · updated ${when(ps.updated_at)}`),
    el('div', { class: 'actions' }, el('button', { class: 'primary', type: 'submit' }, 'Save publishing settings')), result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {
      version: ps.version,
      auto_approval_enabled: $('pub-auto-approve').checked, auto_publish_enabled: $('pub-auto-publish').checked,
      daily_publish_limit: Number($('pub-daily').value), weekly_publish_limit: Number($('pub-weekly').value), monthly_publish_limit: Number($('pub-monthly').value),
      publish_days: [...form.querySelectorAll('input[name=day]:checked')].map((i) => i.value),
      publish_time_slots: parseSlots($('pub-slots').value), timezone: $('pub-tz').value.trim(),
    };
    try {
      await api('PATCH', `/api/v1/sites/${encodeURIComponent(siteID)}/publishing_settings/`, body);
      await loadPublishing();
      notice(status, 'ok', 'Publishing settings saved.');
      loadQueue();
    } catch (err) {
      // Point at the control the API names.
      const field = err instanceof ApiError && err.problem.field;
      const input = field && $(PUBLISHING_FIELDS[field.split(/[.[]/)[0]]);
      const label = input && form.querySelector(`label[for="${input.id}"]`);
      notice(result, 'err', problemText(err), label ? ` Check “${label.textContent}”.` : '');
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
    }
  });
  box.replaceChildren(form);
}

async function main() {
  $('nav-dashboard').setAttribute('href', location.pathname);
  if (!(await signIn())) {
    $('signin').hidden = false;
    renderSignIn($('signin'), () => location.reload());
    return;
  }
  renderWho($('who'));
  try {
    const list = await api('GET', `/api/v1/integration/?site_id=${encodeURIComponent(siteID)}&platform=wordpress`);
    integration = (list.items || [])[0] || null;
  } catch (err) {
    notice(status, 'err', problemText(err));
    return;
  }
  if (!integration) {
    notice(status, 'warn', `No WordPress site is connected as “${siteID}”. `, el('a', { href: '/console/settings/integration' }, 'Connect one in Integration Settings'));
    return;
  }
  $('title').textContent = `WordPress Sync Dashboard: ${integration.external_site_url}`;
  document.title = `${integration.external_site_url} · Sync Dashboard · IGNY8`;
  $('app').hidden = false;
  for (const b of $('triggers').querySelectorAll('button')) b.addEventListener('click', () => startSync(b.dataset.direction, b.dataset.mode));
  $('log-filter').addEventListener('change', loadLog);
  await Promise.all([poll(), loadQueue(), loadLog(), loadPublishing()]);
}

main();
