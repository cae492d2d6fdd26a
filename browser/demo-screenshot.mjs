// The README's screenshots, taken from `switchboard demo` as a newcomer sees it: the demo on a
// fresh database at its defaults (or the flags given), the dashboard opened from its first line
// after DEMO_SECONDS (90), the extensions board saved as docs/dashboard.png and the agents and
// queues view as docs/demo-desk.png. Run after `cargo build`: `node demo-screenshot.mjs [flags]`.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { browser } from './engine.mjs';

const BINARY = process.env.SWITCHBOARD_BIN || new URL('../target/debug/switchboard', import.meta.url).pathname;
const seconds = Number(process.env.DEMO_SECONDS || 90);
const dir = mkdtempSync(join(tmpdir(), 'sb-demo-'));
const demo = spawn(BINARY, ['demo', '--bind', '127.0.0.1:0', '--database', join(dir, 'demo.db'), ...process.argv.slice(2)], {
  env: { ...process.env, RUST_LOG: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const lines = createInterface({ input: demo.stdout });
const url = await new Promise((resolve) => lines.on('line', (line) => {
  if (line.startsWith('Dashboard: ')) resolve(line.slice('Dashboard: '.length));
}));
const chrome = await browser();
try {
  const page = await chrome.newPage({ viewport: { width: 1400, height: 1050 } });
  await page.goto(url);
  await page.waitForSelector('#link.up');
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const docs = (name) => new URL(`../docs/${name}`, import.meta.url).pathname;
  await page.screenshot({ path: docs('dashboard.png') });
  await page.click('#tabs button[data-view="agents"]');
  await page.locator('.queue').first().waitFor();
  await new Promise((r) => setTimeout(r, 500));
  await page.screenshot({ path: docs('demo-desk.png') });
  const figures = await page.locator('.queue').first().textContent();
  console.log(`after ${seconds} s: ${figures}`);
} finally {
  await chrome.close();
  demo.kill('SIGTERM');
}
