// Browser bench: the dashboard in headless Chromium with BENCH_EXTENSIONS (default 2,000)
// extensions while BENCH_RATE (default 200) PBX events per second arrive for BENCH_SECONDS (10).
// Measures the time to render the snapshot, and the frame interval under load as a ratio to the
// same page's idle frame interval measured in the same run. Run: `cd browser && npm run bench`
// (after `cargo build --release`; SWITCHBOARD_BIN picks the binary).
import { browser, ext, inbound, makeOrg, pbx, startEngine } from './engine.mjs';

const EXTENSIONS = Number(process.env.BENCH_EXTENSIONS || 2000);
const RATE = Number(process.env.BENCH_RATE || 200);
const SECONDS = Number(process.env.BENCH_SECONDS || 10);

const engine = await startEngine({ SWITCHBOARD_WRITER_MAX_BATCH: '1000' });
const org = await makeOrg(engine.base, 'Bench floor');
const numbers = Array.from({ length: EXTENSIONS }, (_, i) => String(1000 + i));
// Registrations, 50 at a time.
for (let i = 0; i < numbers.length; i += 50) {
  await Promise.all(numbers.slice(i, i + 50).map((n) => pbx(engine.base, org, 30007, { extension: n, status: 'Registered' })));
}

const chrome = await browser();
const page = await chrome.newPage({ viewport: { width: 1600, height: 1000 } });
const opened = Date.now();
await page.goto(`${engine.base}/#token=${org.token}`);
await page.waitForFunction((n) => document.querySelectorAll('.ext').length === n, EXTENSIONS, { timeout: 120000 });
const snapshotMs = Date.now() - opened;

/** Frame intervals (ms) over `ms`, recorded in the page. */
async function frames(ms) {
  return page.evaluate((duration) => new Promise((resolve) => {
    const gaps = [];
    let last = performance.now();
    const end = last + duration;
    function tick(now) {
      gaps.push(now - last);
      last = now;
      if (now < end) requestAnimationFrame(tick); else resolve(gaps);
    }
    requestAnimationFrame(tick);
  }), ms);
}

const stats = (gaps) => {
  const sorted = [...gaps].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { frames: gaps.length, p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] };
};

const idle = stats(await frames(3000));

// Load: calls ring, are answered and end on random extensions, RATE events a second.
let sent = 0;
let calls = 0;
const started = Date.now();
const loading = (async () => {
  const interval = 1000 / RATE;
  while (Date.now() - started < SECONDS * 1000) {
    const number = numbers[Math.floor(Math.random() * numbers.length)];
    const id = `77.${calls++}`;
    const steps = ['RING', 'ANSWER', 'BYE'];
    for (const word of steps) {
      const due = started + sent * interval;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pbx(engine.base, org, 30011, { call_id: id, members: [inbound('09876543210', word === 'RING' ? 'ANSWERED' : word), ext(number, word)] }).catch(() => {});
      sent += 1;
    }
  }
})();
const busy = stats(await frames(SECONDS * 1000));
await loading;
const seen = await page.evaluate(() => window.switchboard.events);

console.log(`dashboard bench: ${EXTENSIONS} extensions, ${RATE} PBX events/s for ${SECONDS} s (${sent} sent, ${seen} reached the page)`);
console.log(`snapshot rendered:      ${snapshotMs} ms (navigation to ${EXTENSIONS} cards)`);
console.log(`idle frame interval:    p50 ${idle.p50.toFixed(1)} ms, p95 ${idle.p95.toFixed(1)} ms, max ${idle.max.toFixed(1)} ms`);
console.log(`frame interval, loaded: p50 ${busy.p50.toFixed(1)} ms, p95 ${busy.p95.toFixed(1)} ms, max ${busy.max.toFixed(1)} ms`);
console.log(`ratio to idle:          p50 ${(busy.p50 / idle.p50).toFixed(2)}x, p95 ${(busy.p95 / idle.p95).toFixed(2)}x`);
await chrome.close();
engine.stop();
