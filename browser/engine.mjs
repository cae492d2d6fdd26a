// The real engine for browser tests and benches: the built binary on a free loopback port with
// its own SQLite file, an org made through the admin API, and PBX webhooks signed as the PBX signs.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const ADMIN = 'browser-test-admin';
export const PBX_SECRET = 'browser-test-pbx-secret';
const BINARY = process.env.SWITCHBOARD_BIN || new URL('../target/debug/switchboard', import.meta.url).pathname;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts `switchboard serve`; answers its base URL and a stop function. */
export async function startEngine(env = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sb-browser-'));
  const child = spawn(BINARY, ['serve'], {
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${join(dir, 'switchboard.db')}`,
      SWITCHBOARD_BIND: `127.0.0.1:${port}`,
      SWITCHBOARD_ADMIN_TOKEN: ADMIN,
      SWITCHBOARD_METRICS_INTERVAL_S: '1',
      RUST_LOG: 'error',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch (_) { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { base, stop: () => child.kill('SIGTERM') };
}

/** An org with the PBX's secret set; answers `{id, token, request(method, path, body)}`. */
export async function makeOrg(base, name) {
  const created = await (await fetch(`${base}/api/v1/orgs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  })).json();
  const org = {
    id: created.org_id,
    token: created.api_token,
    async request(method, path, body) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { Authorization: `Bearer ${created.api_token}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
  };
  await org.request('PUT', '/api/v1/providers/yeastar', { webhook_secret: PBX_SECRET });
  return org;
}

/** The admin tops up an org's credits; answers the account. */
export async function topUp(base, org, amount) {
  const response = await fetch(`${base}/api/v1/orgs/${org.id}/credits`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ amount }),
  });
  if (!response.ok) throw new Error(`top-up answered ${response.status}`);
  return response.json();
}

/** Posts one PBX event (`{type, sn, msg}` with `msg` a JSON string), signed. */
export async function pbx(base, org, type, msg) {
  const body = JSON.stringify({ type, sn: 'TEST', msg: JSON.stringify(msg) });
  const signature = createHmac('sha256', PBX_SECRET).update(body).digest('base64');
  const response = await fetch(`${base}/webhooks/yeastar/${org.id}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Signature': signature },
    body,
  });
  if (!response.ok) throw new Error(`PBX event ${type} answered ${response.status}`);
}

export const ext = (number, status) => ({ extension: { number, channel_id: `PJSIP/${number}-1`, member_status: status } });
export const inbound = (from, status) => ({ inbound: { from, to: '8035739222', trunk_name: 'trunk', member_status: status } });

/** Debian's Chromium, headless, through playwright-core. */
export function browser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Posts a Twilio webhook (`voice` or `status`) signed with `authToken` as Twilio signs it. */
export async function twilio(base, org, kind, authToken, params) {
  const url = `${base}/webhooks/twilio/${org.id}/${kind}`;
  const signed = url + Object.keys(params).sort().map((k) => `${k}${params[k]}`).join('');
  const signature = createHmac('sha1', authToken).update(signed).digest('base64');
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': signature },
    body: new URLSearchParams(params).toString(),
  });
  if (!response.ok) throw new Error(`Twilio ${kind} answered ${response.status}`);
  return response.text();
}

/** A stand-in for Twilio's REST API on loopback: answers every request 200 and keeps them. */
export async function fakeTwilio() {
  const { createServer: http } = await import('node:http');
  const requests = [];
  const server = http((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, form: Object.fromEntries(new URLSearchParams(body)) });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ sid: 'CAfake', status: 'in-progress' }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${server.address().port}`, requests, close: () => server.close() };
}
