// Browser tests of the console: Debian's Chromium (playwright-core) against
// the local stack and the real WordPress. Run with `make console-test`.
// The tests run in order and share one stack, one site and one browser:
// each step is what a user does next.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { apiClient, artifacts, launchBrowser, startStack, wordpress } from './harness.mjs';

const SITE = 'console-blog';
let stack, wp, browser, page, api;
let doomedPostID, conflictPostID;

before(async () => {
  wp = wordpress();
  stack = await startStack();
  api = await apiClient(stack.apiURL);
  browser = await launchBrowser(stack.apiURL);
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.apiURL });
  page = browser.context.pages()[0] || (await browser.context.newPage());
  page.setDefaultTimeout(20000);
});

after(async () => {
  for (const id of [doomedPostID, conflictPostID]) if (id) await wp.rest('DELETE', `wp/v2/posts/${id}?force=true`).catch(() => {});
  await browser?.close();
  await stack?.stop();
});

const card = () => page.locator(`article[data-site="${SITE}"]`);

// contentFor finds the content item pulled from a WordPress post.
async function contentFor(wordpressID) {
  for (let cursor = ''; ;) {
    const r = await api('GET', `/api/v1/content/?site_id=${SITE}&content_type=post&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    const item = r.body.items.find((c) => c.wordpress_id === wordpressID);
    if (item || !r.body.next_cursor) return item;
    cursor = encodeURIComponent(r.body.next_cursor);
  }
}

// waitForRunEnd clicks a trigger and waits until the dashboard shows the
// run's end; it returns every distinct (badge, progress) state it saw.
async function runFromDashboard(button) {
  await page.getByRole('button', { name: button }).click();
  const seen = [];
  const deadline = Date.now() + 180000;
  for (;;) {
    const sample = await page.evaluate(() => ({
      badge: document.querySelector('[data-role=run-status]')?.textContent || '',
      value: Number(document.getElementById('run-progress')?.value ?? -1),
    }));
    if (!seen.length || seen.at(-1).badge !== sample.badge || seen.at(-1).value !== sample.value) seen.push(sample);
    if (seen.some((x) => x.badge === 'Syncing') && (sample.badge === 'Done' || sample.badge === 'Failed')) return seen;
    assert.ok(Date.now() < deadline, `the run did not end in 180 s: ${JSON.stringify(seen)}`);
    await page.waitForTimeout(100);
  }
}

async function fillConnectForm(password) {
  await page.getByLabel('Site URL', { exact: true }).fill(wp.url);
  await page.getByLabel('Site ID', { exact: true }).fill(SITE);
  await page.getByLabel('WordPress username', { exact: true }).fill(wp.username);
  await page.getByLabel('Application Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Connect site' }).click();
}

test('the local stack signs the console in and the page is keyboard-usable', async () => {
  await page.goto(`${stack.apiURL}/console/`);
  assert.equal(new URL(page.url()).pathname, '/console/settings/integration');
  await page.getByRole('heading', { name: 'Integration Settings' }).waitFor();
  await page.locator('#who').getByText('Account: dev-account (admin)').waitFor();
  await page.getByText('No sites connected yet').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  // AI providers for admins: masked keys, test buttons, defaults from the registry.
  await page.getByLabel('Default text model').waitFor();
  const textModels = await page.getByLabel('Default text model').locator('option').count();
  const registry = await api('GET', '/api/v1/ai/models/?type=text');
  assert.equal(textModels, registry.body.items.length);
  assert.equal(await page.getByLabel('Default text model').inputValue(), (await api('GET', '/api/v1/ai/settings/')).body.default_text_model);
  assert.ok(await page.getByRole('button', { name: 'Test OpenAI' }).isDisabled(), 'no key set: nothing to test');
});

test('a wrong Application Password shows the diagnosis, and the integration can be deleted', async () => {
  await fillConnectForm('aaaa bbbb cccc dddd eeee ffff');
  const result = page.locator('#add-result');
  await result.getByText('Saved, but the connection test failed').waitFor();
  // WordPress 6.1 answers a wrong Application Password with 401
  // rest_not_logged_in, which the diagnosis explains.
  await result.getByText('WordPress treated the request as not logged in although credentials were sent').waitFor();
  await card().locator('[data-role=connection]', { hasText: 'Error' }).waitFor();
  await card().locator('[data-role=diagnosis]', { hasText: 'Either the username or Application Password is wrong' }).waitFor();
  await card().locator('[data-role=diagnosis]', { hasText: 'Code: auth_failed' }).waitFor();

  await card().getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText(`Delete the integration with ${wp.url}?`).waitFor();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await page.getByText('No sites connected yet').waitFor();
  assert.equal((await api('GET', '/api/v1/integration/')).body.items.length, 0);
});

test('connecting a site through the form shows it connected, with the webhook secret once', async () => {
  await fillConnectForm(wp.appPassword);
  await page.locator('#add-result').getByText(`Connected to ${wp.url}.`).waitFor();
  await card().locator('[data-role=connection]', { hasText: 'Connected' }).waitFor();
  await card().getByText(`as ${wp.username}`).waitFor();
  assert.equal(await page.getByLabel('Application Password', { exact: true }).inputValue(), '', 'the password field is cleared');

  const secret = await page.locator('[data-role=webhook-secret] code').textContent();
  assert.match(secret, /^whsec_[A-Za-z0-9+/=]{40,}$/);
  await page.getByRole('button', { name: 'Copy secret' }).click();
  await page.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await page.getByRole('button', { name: 'Done, hide it' }).click();
  await page.reload();
  await card().waitFor();
  assert.equal(await page.getByText(secret).count(), 0, 'the secret is shown only once');

  await card().getByRole('button', { name: 'Test connection' }).click();
  await page.locator('#status').getByText(`${wp.url}: connected.`).waitFor();
});

test('clicking sync: the progress bar advances to done and the counts match WordPress', async () => {
  // A post of our own, pushed to fail in the next test.
  doomedPostID = (await wp.rest('POST', 'wp/v2/posts', { title: 'Console test: deleted before its push', content: 'x', status: 'publish' })).body.id;
  conflictPostID = (await wp.rest('POST', 'wp/v2/posts', { title: 'Console test: edited on both sides', content: 'x', status: 'publish' })).body.id;
  const expected = (await wp.count('posts')) + (await wp.count('pages'));

  await card().getByRole('link', { name: 'Sync dashboard' }).click();
  await page.waitForURL(`**/console/sites/${SITE}/sync`);
  await page.getByRole('heading', { name: `WordPress Sync Dashboard: ${wp.url}` }).waitFor();
  await page.getByText('No sync has run for this site yet.').waitFor();

  const seen = await runFromDashboard('Full pull');
  assert.equal(seen.at(-1).badge, 'Done', JSON.stringify(seen));
  assert.equal(seen.at(-1).value, 100);
  assert.ok(seen.some((s) => s.badge === 'Syncing' && s.value < 100), `the bar was never seen in progress: ${JSON.stringify(seen)}`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].value >= seen[i - 1].value, `the bar went back: ${JSON.stringify(seen)}`);

  const count = async (role) => Number(await page.locator(`[data-count=${role}]`).textContent());
  // The companion plugin (make e2e installs it) may bring the two posts just
  // written in through its webhooks before the pull reads them: those count
  // as unchanged. Every post and page is in IGNY8 either way.
  assert.equal((await count('created')) + (await count('unchanged')), expected, 'created + unchanged = the posts and pages in WordPress');
  assert.ok((await count('created')) >= expected - 2, 'the pull itself created all but (at most) the two newest');
  assert.equal(await count('failed'), 0);
  const run = (await api('GET', `/api/v1/integration/${(await api('GET', `/api/v1/integration/?site_id=${SITE}`)).body.items[0].id}/sync_status/`)).body.run;
  for (const [role, field] of [['created', 'items_created'], ['updated', 'items_updated'], ['unchanged', 'items_unchanged'], ['failed', 'items_failed'], ['conflicted', 'items_conflicted']]) {
    assert.equal(await count(role), run[field], `${role} matches sync_status`);
  }
  await page.getByText(`Progress: 100% (${run.pages_done} of ${run.pages_total} pages)`).waitFor();
  await page.getByText('No errors. Everything synced.').waitFor();

  // The settings page's history has one line per pulled page.
  await page.goto(`${stack.apiURL}/console/settings/integration`);
  await card().locator('details summary').click();
  await card().locator('.history').getByText(/^post page \d+: \d+ created$/).first().waitFor();
  await page.goBack();
  await page.getByText('No errors. Everything synced.').waitFor();
});

test('a push WordPress refuses appears in the error log with a link to the item', async () => {
  const integrationID = (await api('GET', `/api/v1/integration/?site_id=${SITE}`)).body.items[0].id;
  const item = await contentFor(doomedPostID);
  assert.ok(item, `the pull stored post ${doomedPostID}`);
  // Deleted for good in WordPress: updating it is refused (404 rest_post_invalid_id).
  await wp.rest('DELETE', `wp/v2/posts/${doomedPostID}?force=true`);
  const published = await api('POST', `/api/v1/content/${item.id}/publish/`);
  assert.equal(published.status, 202, JSON.stringify(published.body));

  let failed;
  for (const deadline = Date.now() + 60000; !failed && Date.now() < deadline;) {
    const ev = await api('GET', `/api/v1/integration/${integrationID}/events/?status=failed&event_type=content_push`);
    failed = ev.body.items.find((e) => e.content_id === item.id);
    if (!failed) await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(failed, 'the push failed with an event');

  await page.reload();
  const row = page.locator(`#log-table tr[data-event="${failed.id}"]`);
  await row.waitFor();
  assert.equal(await row.locator('[data-role=message]').textContent(), failed.error_message);
  assert.match(failed.error_message, /404|Invalid post ID/i);
  const link = row.getByRole('link', { name: `WordPress #${doomedPostID}` });
  assert.equal(await link.getAttribute('href'), `${wp.url}/wp-admin/post.php?post=${doomedPostID}&action=edit`);
  await row.getByText('content_push failed').waitFor();
  await page.getByLabel('Show').selectOption('conflict');
  await page.getByText('No conflicts.').waitFor();
  await page.getByLabel('Show').selectOption('failed');
  await row.waitFor();
  doomedPostID = 0;
});

test('a conflict is listed with its resolution buttons, and keeping WordPress settles it', async () => {
  const item = await contentFor(conflictPostID);
  assert.ok(item, `the pull stored post ${conflictPostID}`);
  const edited = await api('PATCH', `/api/v1/content/${item.id}/`, { title: 'Edited in IGNY8' });
  assert.equal(edited.status, 200, JSON.stringify(edited.body));
  await wp.rest('POST', `wp/v2/posts/${conflictPostID}`, { title: 'Edited in WordPress' });

  await runFromDashboard('Incremental pull');
  const integrationID = (await api('GET', `/api/v1/integration/?site_id=${SITE}`)).body.items[0].id;
  const conflicts = (await api('GET', `/api/v1/integration/${integrationID}/events/?status=failed&event_type=conflict`)).body.items;
  assert.equal(conflicts.length, 1, JSON.stringify(conflicts));
  assert.equal(conflicts[0].content_id, item.id);
  assert.equal(await page.locator('[data-count=conflicted]').textContent(), '1');
  await page.getByLabel('Show').selectOption('conflict');
  const rows = page.locator('#log-table tr[data-event-type=conflict]');
  await rows.first().waitFor();
  assert.equal(await rows.count(), conflicts.length, 'the log lists every conflict event');
  const row = rows.first();
  assert.equal(await row.getByRole('link').getAttribute('href'), `${wp.url}/wp-admin/post.php?post=${conflictPostID}&action=edit`);
  await row.getByRole('button', { name: 'Keep WordPress' }).click();
  await page.locator('#status').getByText('Kept the WordPress version').waitFor();
  await row.getByText('Resolved').waitFor();
  assert.equal(await row.getByRole('button').count(), 0, 'a settled conflict offers no buttons');
  // Keeping WordPress pulls the post at once: its title replaces IGNY8's edit.
  let after;
  for (const deadline = Date.now() + 30000; Date.now() < deadline;) {
    after = (await api('GET', `/api/v1/content/${item.id}/`)).body;
    if (after.title === 'Edited in WordPress') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(after.title, 'Edited in WordPress', JSON.stringify(after));
  assert.equal(after.status, 'published');
  await page.getByLabel('Show').selectOption('failed');
});

test('publishing settings are edited on the dashboard and the queue shows planned times', async () => {
  const probe = await api('GET', `/api/v1/sites/${SITE}/publishing_settings/`);
  if (probe.status === 404 && probe.body.code === 'route_not_found') {
    await page.locator('[data-role=publishing-unavailable]').waitFor();
    return;
  }
  assert.equal(probe.status, 200, JSON.stringify(probe.body));
  await page.getByLabel('Daily limit').fill('3');
  const auto = page.getByLabel('Publish approved content on this schedule');
  if (!(await auto.isChecked())) await auto.check();
  for (const day of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']) await page.getByLabel(day, { exact: true }).check();
  await page.getByLabel('Time slots').fill('00:00-24:00');
  await page.getByRole('button', { name: 'Save publishing settings' }).click();
  await page.locator('#status').getByText('Publishing settings saved.').waitFor();
  const saved = (await api('GET', `/api/v1/sites/${SITE}/publishing_settings/`)).body;
  assert.equal(saved.daily_publish_limit, 3);
  assert.equal(saved.auto_publish_enabled, true);
  assert.deepEqual(saved.publish_time_slots, [{ start: '00:00', end: '24:00' }]);
  await page.locator('[data-role=schedule-summary]', { hasText: 'Auto-publish on' }).waitFor();

  // An approved item joins the queue with its planned time.
  const created = await api('POST', '/api/v1/content/', { site_id: SITE, content_type: 'post', title: 'Console test: queued item', content: 'x' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const approved = await api('POST', `/api/v1/content/${created.body.id}/approve/`);
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  const schedule = (await api('GET', `/api/v1/sites/${SITE}/publishing_schedule/?days=7`)).body;
  const slot = schedule.publications.find((p) => p.content_id === created.body.id);
  assert.ok(slot, JSON.stringify(schedule));
  await page.reload();
  const queued = page.locator('#queue tr', { hasText: 'Console test: queued item' });
  await queued.waitFor();
  assert.match(await queued.locator('td').nth(3).textContent(), new RegExp(`${slot.local_time.slice(11, 16)}$`));
  await page.locator('[data-role=schedule-summary]', { hasText: '1 approved waiting' }).waitFor();

  // A bad value is refused with the API's reason, naming the field.
  await page.getByLabel('Weekly limit').fill('1');
  await page.getByRole('button', { name: 'Save publishing settings' }).click();
  await page.getByText('daily_publish_limit (3) must not exceed weekly_publish_limit (1) Check “Daily limit”.').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'pub-daily', 'focus moves to the field at fault');
  await page.reload();
  assert.equal(await page.getByLabel('Daily limit').inputValue(), '3');
});

test('settings: edit, sync now and an AI key, as a user would', async () => {
  await page.goto(`${stack.apiURL}/console/settings/integration`);
  await card().getByRole('button', { name: 'Edit' }).click();
  const syncToggle = card().getByLabel('Sync enabled');
  assert.equal(await card().getByLabel('Site URL').evaluate((e) => e === document.activeElement), true, 'Edit moves focus into the form');
  await syncToggle.uncheck();
  await card().getByRole('button', { name: 'Save changes' }).click();
  await page.locator('#status').getByText('Saved.').waitFor();
  await card().getByText('sync off').waitFor();
  await card().getByRole('button', { name: 'Edit' }).click();
  await card().getByLabel('Sync enabled').check();
  await card().getByRole('button', { name: 'Save changes' }).click();
  await card().getByText('sync on').waitFor();

  await card().getByRole('button', { name: 'Sync now' }).click();
  await page.locator('#status').getByText(`Sync started for ${wp.url}.`).waitFor();
  await page.locator('#status').getByRole('link', { name: 'Watch it on the sync dashboard' }).waitFor();
  const id = (await api('GET', `/api/v1/integration/?site_id=${SITE}`)).body.items[0].id;
  for (const deadline = Date.now() + 60000; (await api('GET', `/api/v1/integration/${id}/sync_status/`)).body.status === 'syncing';) {
    assert.ok(Date.now() < deadline, 'the sync started from the settings page did not end');
    await new Promise((r) => setTimeout(r, 200));
  }
  await card().locator('details summary').click();
  await card().locator('.history').getByText('Last successful sync').waitFor();

  const key = 'sk-console-test-0123456789abcdWXYZ';
  await page.getByLabel('New OpenAI API key').fill(key);
  await page.getByRole('button', { name: 'Save AI settings' }).click();
  await page.locator('#status').getByText('AI settings saved.').waitFor();
  await page.getByText('••••WXYZ').waitFor();
  assert.equal(await page.getByLabel('New OpenAI API key').inputValue(), '', 'the key field is emptied');
  assert.ok(!(await page.content()).includes(key), 'the key is never shown again');
  assert.ok(await page.getByRole('button', { name: 'Test OpenAI' }).isEnabled());
  const settings = (await api('GET', '/api/v1/ai/settings/')).body;
  assert.deepEqual([settings.providers.openai.key_set, settings.providers.openai.key_last4], [true, 'WXYZ']);
});

test('without the local token (as when deployed): the sign-in form, the identity provider\'s redirect, sign-out', async () => {
  const tab = await browser.context.newPage();
  try {
    // A deployed API has no /local/console-token: its $default route answers 404.
    await tab.route('**/local/console-token', (route) => route.fulfill({ status: 404, contentType: 'application/problem+json', body: '{"code":"route_not_found","status":404}' }));
    await tab.goto(`${stack.apiURL}/console/settings/integration`);
    await tab.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await tab.locator('#app').isVisible(), false);
    await tab.getByLabel('ID token').fill(api.token);
    await tab.getByRole('button', { name: 'Use this token' }).click();
    await tab.locator('#who').getByText('Account: dev-account').waitFor();
    await tab.locator(`article[data-site="${SITE}"]`).waitFor();
    const stored = await tab.evaluate(() => ({ session: sessionStorage.getItem('igny8.console.token'), local: localStorage.length, cookies: document.cookie }));
    assert.deepEqual(stored, { session: api.token, local: 0, cookies: '' }, 'the token is kept in sessionStorage only');

    await tab.getByRole('button', { name: 'Sign out' }).click();
    await tab.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await tab.evaluate(() => sessionStorage.length), 0);

    // The identity provider sends the user back with the token in the fragment.
    await tab.goto(`${stack.apiURL}/console/sites/${SITE}/sync#id_token=${api.token}&token_type=Bearer&expires_in=3600`);
    await tab.getByRole('heading', { name: `WordPress Sync Dashboard: ${wp.url}` }).waitFor();
    assert.equal(new URL(tab.url()).hash, '', 'the token is removed from the address bar');
    assert.equal(await tab.evaluate(() => sessionStorage.getItem('igny8.console.token')), api.token);
  } finally {
    await tab.close();
  }
});

test('screenshots of both pages, desktop and phone width, with no external request', async () => {
  const shots = [['settings', '/console/settings/integration'], ['dashboard', `/console/sites/${SITE}/sync`]];
  for (const [name, path] of shots) {
    for (const [label, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
      await page.setViewportSize(viewport);
      await page.goto(stack.apiURL + path);
      await page.locator('#app:not([hidden])').waitFor();
      await page.waitForLoadState('networkidle');
      assert.doesNotMatch(await page.locator('main').innerText(), /\b(null|undefined|NaN)\b|\[object Object\]/, `${name} shows a raw value`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name} at ${label} width scrolls sideways by ${overflow}px`);
      await page.screenshot({ path: join(artifacts, `${name}-${label}.png`), fullPage: true });
    }
  }
  assert.deepEqual(browser.external, [], 'the console requested other origins');
  assert.deepEqual(browser.consoleErrors, [], 'the pages threw errors');
});
