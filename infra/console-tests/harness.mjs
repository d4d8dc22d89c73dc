// Test harness: the local stack (bin/localstack on random ports, in memory),
// the real WordPress (its env file), and Debian's Chromium through
// playwright-core with a fresh user data dir.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const artifacts = process.env.CONSOLE_ARTIFACTS || join(process.cwd(), 'artifacts');
mkdirSync(artifacts, { recursive: true });

// The flags the issue fixes; Playwright adds its own automation flags.
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

export function readEnvFile(path) {
  const vars = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) vars[m[1]] = m[2].replace(/^['"]|['"]$/g, '');
  }
  return vars;
}

export function wordpress() {
  const path = process.env.CONSOLE_WP_ENV;
  if (!path) throw new Error('CONSOLE_WP_ENV must name the env file of infra/wordpress/start.sh (make console-test sets it)');
  const v = readEnvFile(path);
  const auth = 'Basic ' + Buffer.from(`${v.WP_USERNAME}:${v.WP_APP_PASSWORD}`).toString('base64');
  return {
    url: v.WP_URL, username: v.WP_USERNAME, appPassword: v.WP_APP_PASSWORD,
    // rest calls the real WordPress's REST API as the admin.
    async rest(method, path, body) {
      const r = await fetch(`${v.WP_URL}/wp-json/${path}`, {
        method, headers: { Authorization: auth, 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`WordPress ${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
      return { headers: r.headers, body: text ? JSON.parse(text) : null };
    },
    // count is what a full pull must find: every status, trash included.
    async count(base) {
      const r = await this.rest('GET', `wp/v2/${base}?per_page=1&context=edit&status=publish,future,draft,pending,private,trash&_fields=id`);
      return Number(r.headers.get('x-wp-total'));
    },
  };
}

// startStack runs the local stack binary on random ports, in memory, and
// resolves with its API URL once the banner is printed.
export async function startStack() {
  const bin = process.env.CONSOLE_STACK_BIN;
  if (!bin) throw new Error('CONSOLE_STACK_BIN must name a built infra/local/cmd/localstack (make console-test builds it)');
  const dir = mkdtempSync(join(tmpdir(), 'igny8-console-stack-'));
  const log = createWriteStream(join(artifacts, 'stack.log'));
  const child = spawn(bin, ['-api-addr', '127.0.0.1:0', '-webhook-addr', '127.0.0.1:0', '-data-dir', '',
    '-signing-key', join(dir, 'key.pem'), '-name-prefix', `console${process.pid}-`, '-log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(log);
  const apiURL = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`local stack did not start in 60 s:\n${out}`)), 60000);
    child.stdout.on('data', (b) => {
      out += b;
      log.write(b);
      const m = /HTTP API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m && out.includes('Stop: Ctrl-C')) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`local stack exited with ${code}:\n${out}`)));
  });
  return {
    apiURL,
    // stop ends the stack and fails when it did not exit cleanly (a
    // race-detector build exits 66 after a data race).
    async stop() {
      const done = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
      child.kill('SIGTERM');
      const { code, signal } = await done;
      log.end();
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) throw new Error(`the local stack exited with ${code ?? signal}${code === 66 ? ' (data race)' : ''}; see ${join(artifacts, 'stack.log')}`);
    },
  };
}

// launchBrowser starts Chromium with a fresh profile and records every
// request that leaves the stack's origin (the console must make none).
export async function launchBrowser(origin) {
  const profile = mkdtempSync(join(tmpdir(), 'igny8-console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 900 },
  });
  const external = [];
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(origin + '/') || u.startsWith('data:')) return route.continue();
    external.push(u);
    return route.abort();
  });
  const consoleErrors = [];
  const watch = (p) => p.on('pageerror', (e) => consoleErrors.push(`${p.url()}: ${e}`));
  context.pages().forEach(watch); // the tab Chromium opened at launch
  context.on('page', watch);
  return {
    context, external, consoleErrors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// apiClient calls the stack's API with the console's own local token.
export async function apiClient(apiURL) {
  const { token } = await (await fetch(`${apiURL}/local/console-token`)).json();
  const call = async (method, path, body) => {
    const r = await fetch(apiURL + path, {
      method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };
  call.token = token;
  return call;
}
