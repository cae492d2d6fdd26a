// The dashboard in headless Chromium against the real engine: the snapshot, an extension card
// following signed PBX webhooks, a campaign started and paused from its buttons, a cut WebSocket
// whose replay brings exactly the missed events, a viewer token's page without buttons, and the
// credit balance going low with a campaign paused for it until a top-up, incoming-call pop-ups that
// leave when their call is answered or ends, and the agent desk: an agent's page goes available,
// is offered a queued caller, accepts it and records a disposition while the supervisor's
// wallboard counts it.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { browser, ext, fakeTwilio, inbound, makeOrg, pbx, startEngine, topUp, twilio } from './engine.mjs';

let engine;
let chrome;
before(async () => {
  // A silent PBX is resynced after 6 s; a live card unconfirmed for 12 s looks stale.
  engine = await startEngine({ SWITCHBOARD_PBX_RESYNC_S: '6' });
  chrome = await browser();
});
after(async () => {
  await chrome?.close();
  engine?.stop();
});

async function until(check, what, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the board, campaigns and the call log follow the engine, through a reconnect', async () => {
  const org = await makeOrg(engine.base, 'Browser floor');
  await pbx(engine.base, org, 30007, { extension: '201', status: 'Registered' });
  await org.request('PUT', '/api/v1/extensions/201', { name: 'Asha' });
  await pbx(engine.base, org, 30007, { extension: '202', status: 'Unregistered' });

  const page = await chrome.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${engine.base}/#token=${org.token}`);
  await page.waitForSelector('#link.up');
  assert.ok(!page.url().includes('token='), 'the token left the address bar');

  // The snapshot: both extensions, colour and text.
  const card = page.locator('.ext[data-number="201"]');
  await card.waitFor();
  assert.match(await card.getAttribute('class'), /\bonline\b/);
  assert.equal(await card.locator('.state').textContent(), 'online');
  assert.equal(await card.locator('.name').textContent(), 'Asha');
  assert.equal(await page.locator('.ext[data-number="202"] .state').textContent(), 'offline');
  assert.ok(await page.locator('.ext[data-number="202"] .dial').isDisabled(), 'no dialing an offline extension');

  // Signed webhooks move the card: ringing, in call, online again.
  const states = [['RING', 'ringing'], ['ANSWER', 'in call']];
  for (const [word, text] of states) {
    await pbx(engine.base, org, 30011, { call_id: '900.1', members: [inbound('09876543210', 'ANSWERED'), ext('201', word)] });
    await until(async () => (await card.locator('.state').textContent()) === text, `card says ${text}`);
    assert.ok(await card.locator('.dial').isDisabled(), `dial disabled while ${text}`);
  }
  assert.match(await card.locator('.party').textContent(), /^\+919876543210/);
  await pbx(engine.base, org, 30011, { call_id: '900.1', members: [inbound('09876543210', 'BYE'), ext('201', 'BYE')] });
  await until(async () => (await card.locator('.state').textContent()) === 'online', 'card back online');
  assert.ok(!(await card.locator('.dial').isDisabled()));
  // A dial the API refuses (no PBX API configured) shows the API's error.
  page.once('dialog', (dialog) => dialog.accept('09876543210'));
  await card.locator('.dial').click();
  await page.waitForSelector('#toast:not([hidden])');
  assert.match(await page.locator('#toast').textContent(), /^provider_not_configured: /);

  // A campaign started and paused from its buttons; the API follows.
  await org.request('PUT', '/api/v1/providers/twilio', {
    account_sid: 'ACbrowser', auth_token: 'browser-test-twilio', from_number: '+15550000000',
    api_base: 'http://127.0.0.1:9', calls_per_second: 0.2,
  });
  const contacts = Array.from({ length: 40 }, (_, i) => ({ phone: `+9198${String(10000000 + i)}` }));
  const { body: campaign } = await org.request('POST', '/api/v1/campaigns', { name: 'Browser run', provider: 'twilio', concurrency: 1, contacts });
  await page.click('#tabs button[data-view="campaigns"]');
  const row = page.locator(`#campaign-rows tr[data-id="${campaign.id}"]`);
  await row.waitFor();
  assert.match(await row.locator(".display").textContent(), /^0\/40 \(0 failed\)$/);
  await row.locator('button[data-action="start"]').click();
  await until(async () => (await org.request('GET', `/api/v1/campaigns/${campaign.id}`)).body.status === 'running', 'API says running');
  await row.locator('button[data-action="pause"]').waitFor();
  await row.locator('button[data-action="pause"]').click();
  await until(async () => (await org.request('GET', `/api/v1/campaigns/${campaign.id}`)).body.status === 'paused', 'API says paused');
  await row.locator('button[data-action="resume"]').waitFor();

  // Cut the WebSocket (reconnect held back ~8 s); calls happen meanwhile; the rows after the
  // reconnect are exactly the calls, none lost, none doubled.
  await page.click('#tabs button[data-view="calls"]');
  await page.evaluate(() => { window.switchboard.retry = 5; window.switchboard.socket.close(); });
  await page.waitForSelector('#link.down');
  for (let i = 2; i <= 6; i++) {
    await pbx(engine.base, org, 30011, { call_id: `900.${i}`, members: [inbound(`0987654321${i}`, 'ANSWERED'), ext('201', 'RING')] });
    await pbx(engine.base, org, 30011, { call_id: `900.${i}`, members: [inbound(`0987654321${i}`, 'BYE'), ext('201', 'BYE')] });
  }
  await page.waitForSelector('#link.up', { timeout: 20000 });
  const { body: calls } = await org.request('GET', '/api/v1/calls?limit=1000');
  const expected = calls.items.map((c) => c.id).sort();
  const shown = await until(async () => {
    const ids = await page.$$eval('#call-rows tr', (rows) => rows.map((r) => r.dataset.id));
    return ids.length === expected.length ? ids : null;
  }, `${expected.length} call rows`);
  assert.deepEqual([...shown].sort(), expected, 'every call once');
  const statuses = await page.$$eval('#call-rows tr td:nth-child(6)', (cells) => cells.map((c) => c.textContent));
  assert.equal(statuses.filter((s) => s === 'disconnected').length, 6, statuses.join());
  mkdirSync(new URL('../target', import.meta.url), { recursive: true });
  await page.click('#tabs button[data-view="board"]');
  await page.screenshot({ path: new URL('../target/dashboard-test.png', import.meta.url).pathname });
  assert.deepEqual(errors, [], 'no script errors');
  await page.close();
});

test('a viewer token opens the wallboard without a button that changes anything', async () => {
  const org = await makeOrg(engine.base, 'Wallboard floor');
  await pbx(engine.base, org, 30007, { extension: '301', status: 'Registered' });
  const { status, body: issued } = await org.request('POST', '/api/v1/tokens', { role: 'viewer' });
  assert.equal(status, 201);
  const page = await chrome.newPage();
  await page.goto(`${engine.base}/#token=${issued.token}`);
  await page.waitForSelector('#link.up');
  await page.locator('.ext[data-number="301"]').waitFor();
  assert.equal(await page.locator('#role').textContent(), 'viewer');
  assert.ok(!(await page.locator('.ext[data-number="301"] .dial').isVisible()), 'no dial button');
  assert.ok(!(await page.locator('#new-campaign').isVisible()), 'no new campaign');
  // The API refuses the viewer anyway.
  const refused = await page.evaluate(async () => (await fetch('/api/v1/dnc', {
    method: 'POST',
    headers: { Authorization: `Bearer ${window.switchboard.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ phone: '+919876543210' }),
  })).status);
  assert.equal(refused, 403);
  await page.close();
});

test('the credit balance goes low as calls are billed, and a campaign paused for it resumes after a top-up', async () => {
  const org = await makeOrg(engine.base, 'Credits floor');
  await org.request('PUT', '/api/v1/rates', { rates: [
    { provider: 'yeastar', direction: 'inbound', per_minute: '1.00', increment_s: 60 },
  ] });
  await org.request('PUT', '/api/v1/credits', { low_threshold: '1.00' });
  await topUp(engine.base, org, '1.50');
  const page = await chrome.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${engine.base}/#token=${org.token}`);
  await page.waitForSelector('#link.up');
  const credits = page.locator('.card[data-metric="Credits"]');
  await until(async () => (await credits.count()) === 1, 'a credits card');
  assert.equal(await credits.locator('.value').textContent(), '1.50 USD');
  assert.doesNotMatch(await credits.getAttribute('class'), /\blow\b/);

  // A PBX call of 61 s at 1.00 a minute, billed by the minute: 2.00, the balance goes below zero.
  await pbx(engine.base, org, 30007, { extension: '401', status: 'Registered' });
  const members = (word) => [inbound('09876543210', word === 'BYE' ? 'BYE' : 'ANSWERED'), ext('401', word)];
  for (const word of ['RING', 'ANSWER', 'BYE']) {
    await pbx(engine.base, org, 30011, { call_id: '950.1', members: members(word) });
  }
  await pbx(engine.base, org, 30012, {
    call_id: '950.1', time_start: '2025-03-04 10:00:00', call_from: '09876543210', call_to: '401',
    call_duration: 70, talk_duration: 61, status: 'ANSWERED', type: 'Inbound',
  });
  await until(async () => (await credits.locator('.value').textContent()) === '-0.50 USD', 'balance -0.50');
  assert.match(await credits.getAttribute('class'), /\blow\b/);
  assert.match(await credits.locator('.label').textContent(), /low/);

  // A campaign cannot dial on an empty balance: it pauses, and says why.
  await org.request('PUT', '/api/v1/providers/twilio', {
    account_sid: 'ACbrowser', auth_token: 'browser-test-twilio', from_number: '+15550000000',
    api_base: 'http://127.0.0.1:9', calls_per_second: 5,
  });
  const contacts = Array.from({ length: 3 }, (_, i) => ({ phone: `+9198${String(20000000 + i)}` }));
  const { body: campaign } = await org.request('POST', '/api/v1/campaigns', { name: 'Credits run', provider: 'twilio', concurrency: 1, contacts });
  await org.request('POST', `/api/v1/campaigns/${campaign.id}/start`);
  await page.click('#tabs button[data-view="campaigns"]');
  const row = page.locator(`#campaign-rows tr[data-id="${campaign.id}"]`);
  await until(async () => /credits used up/.test(await row.textContent()), 'the row says the credits ran out');
  assert.equal((await org.request('GET', `/api/v1/campaigns/${campaign.id}`)).body.failure_reason, 'insufficient_credits');

  await topUp(engine.base, org, '10.00');
  await until(async () => (await org.request('GET', `/api/v1/campaigns/${campaign.id}`)).body.status !== 'paused', 'resumed by the top-up');
  await until(async () => !/credits used up/.test(await row.textContent()), 'the row no longer says so');
  // A campaign outside its calling window runs and says it waits for it, and when it opens.
  const hhmm = (d) => d.toISOString().slice(11, 16);
  const later = new Date(Date.now() + 2 * 3600 * 1000);
  const closed = { start: hhmm(later), end: hhmm(new Date(later.getTime() + 3600 * 1000)), tz: 'UTC' };
  const { body: night } = await org.request('POST', '/api/v1/campaigns', { name: 'Night shift', provider: 'twilio', window: closed, contacts: [{ phone: '+919820009999' }] });
  await org.request('POST', `/api/v1/campaigns/${night.id}/start`);
  const waiting = page.locator(`#campaign-rows tr[data-id="${night.id}"] .waiting`);
  await until(async () => /Waiting for its calling window — opens/.test((await waiting.textContent().catch(() => '')) || ''), 'the row says it waits for its window');
  await page.click('#tabs button[data-view="board"]');
  await until(async () => (await credits.locator('.value').textContent()) === '9.50 USD', 'balance 9.50');
  assert.doesNotMatch(await credits.getAttribute('class'), /\blow\b/);
  assert.deepEqual(errors, [], 'no script errors');
  await page.close();
});

test('incoming-call pop-ups leave when their call is answered or ends, and a supervisor sees a count, not a tower', async () => {
  const org = await makeOrg(engine.base, 'Browser pops');
  const extensions = ['301', '302', '303', '304', '305'];
  for (const number of extensions) await pbx(engine.base, org, 30007, { extension: number, status: 'Registered' });
  await org.request('POST', '/api/v1/contacts', { phone: '+919876511111', name: 'Anil Rao', company: 'Rao Traders' });
  const page = await chrome.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${engine.base}/#token=${org.token}`);
  await page.waitForSelector('#link.up');
  const count = page.locator('#incoming');
  assert.ok(await count.isHidden(), 'nothing incoming yet');

  // Five callers ring five extensions at once: one compact count, no card.
  const callers = extensions.map((number, i) => ({ id: `950.${i}`, from: `0987651111${i + 1}`, number }));
  for (const c of callers) {
    await pbx(engine.base, org, 30011, { call_id: c.id, members: [inbound(c.from, 'ALERT'), ext(c.number, 'RING')] });
  }
  const summary = count.locator('summary');
  await until(async () => (await summary.textContent()) === '5 incoming', 'five incoming');
  assert.equal(await page.locator('.popup').count(), 0, 'no tower of cards');
  await summary.click();
  assert.match(await count.textContent(), /Anil Rao/, 'a known caller is named');
  assert.equal(await count.locator('li').count(), 5);

  // Answered by its extension: it goes. Hung up while ringing: it goes.
  const [first, second] = callers;
  await pbx(engine.base, org, 30011, { call_id: first.id, members: [inbound(first.from, 'ANSWERED'), ext(first.number, 'ANSWER')] });
  await until(async () => (await summary.textContent()) === '4 incoming', 'the answered call left the count');
  await pbx(engine.base, org, 30011, { call_id: second.id, members: [inbound(second.from, 'BYE'), ext(second.number, 'BYE')] });
  await until(async () => (await summary.textContent()) === '3 incoming', 'the ended call left the count');
  assert.equal(await count.locator(`li[data-call]`).count(), 3);

  // The others end or are answered: the count goes with the last of them.
  for (const c of callers.slice(2, 4)) {
    await pbx(engine.base, org, 30011, { call_id: c.id, members: [inbound(c.from, 'BYE'), ext(c.number, 'BYE')] });
  }
  await until(async () => (await summary.textContent()) === '1 incoming', 'one left');
  const last = callers[4];
  await pbx(engine.base, org, 30011, { call_id: last.id, members: [inbound(last.from, 'ANSWERED'), ext(last.number, 'ANSWER')] });
  await until(async () => count.isHidden(), 'nothing incoming any more');
  assert.deepEqual(errors, [], 'no script errors');
  await page.close();
});

test('an agent takes a queued call from its own page and disposes of it; the wallboard counts it', async () => {
  const org = await makeOrg(engine.base, 'Browser desk');
  const stand_in = await fakeTwilio();
  const authToken = 'browser-test-twilio-desk';
  await org.request('PUT', '/api/v1/providers/twilio', {
    account_sid: 'ACdesk', auth_token: authToken, from_number: '+15550000000', api_base: stand_in.base,
  });
  await org.request('POST', '/api/v1/contacts', { phone: '+919876500001', name: 'Meera Iyer', company: 'Iyer & Sons' });
  const { body: queue } = await org.request('POST', '/api/v1/queues', { name: 'Support', sla_s: 60 });
  const { body: agent } = await org.request('POST', '/api/v1/agents', { name: 'Kiran', phone: '+15550007777' });
  const { body: issued } = await org.request('POST', '/api/v1/tokens', { role: 'agent', agent_id: agent.id });

  const supervisor = await chrome.newPage({ viewport: { width: 1400, height: 900 } });
  const desk = await chrome.newPage({ viewport: { width: 1200, height: 900 } });
  const errors = [];
  for (const page of [supervisor, desk]) page.on('pageerror', (error) => errors.push(error.message));
  await supervisor.goto(`${engine.base}/#token=${org.token}`);
  await supervisor.waitForSelector('#link.up');
  await supervisor.click('#tabs button[data-view="agents"]');
  const card = supervisor.locator(`.queue[data-id="${queue.id}"]`);
  await card.waitFor();
  assert.equal(await card.locator('[data-figure="waiting"] b').textContent(), '0');
  const row = supervisor.locator(`#agent-rows tr[data-id="${agent.id}"]`);
  await row.waitFor();

  // The agent's own page: its desk in the header; it goes available from the switch.
  await desk.goto(`${engine.base}/#token=${issued.token}`);
  await desk.waitForSelector('#link.up');
  await desk.locator('#agent-desk').waitFor();
  assert.equal(await desk.locator('#agent-name').textContent(), 'Kiran');
  assert.ok(await desk.locator('#new-campaign').isHidden(), 'an agent page has no campaign controls');
  await desk.selectOption('#agent-availability', 'available');
  await until(async () => (await desk.locator('#agent-state').textContent()) === 'idle', 'the agent is idle');
  await until(async () => /idle/.test(await row.textContent()), 'the supervisor sees the agent idle');

  // A caller: queued (TwiML <Enqueue>), offered to Kiran with the screen pop.
  const voice = { CallSid: 'CAdesk1', AccountSid: 'ACdesk', From: '+919876500001', To: '+918035739222', CallStatus: 'ringing', Direction: 'inbound' };
  const twiml = await twilio(engine.base, org, 'voice', authToken, voice);
  assert.match(twiml, /<Enqueue>Support<\/Enqueue>/);
  const offer = desk.locator('.popup.offer');
  await offer.waitFor();
  assert.match(await offer.textContent(), /Meera Iyer/);
  assert.match(await offer.textContent(), /Iyer & Sons/);
  await until(async () => (await card.locator('[data-figure="waiting"] b').textContent()) === '1', 'the wallboard shows one waiting');
  // The supervisor's page: one compact count, no card, naming the caller and whom it is offered to.
  const watched = supervisor.locator('#incoming');
  await watched.waitFor();
  assert.equal(await supervisor.locator('.popup').count(), 0, "a supervisor's page has no pop-up cards");
  await until(async () => (await watched.locator('summary').textContent()) === '1 incoming · 1 offered', 'the count says one offered');
  await watched.locator('summary').click();
  assert.match(await watched.locator('li').textContent(), /Meera Iyer.*offered to Kiran/);

  await offer.locator('button.accept').click();
  await until(() => stand_in.requests.find((r) => r.url.endsWith('/Calls/CAdesk1.json')), 'the caller is moved to Kiran');
  const update = stand_in.requests.find((r) => r.url.endsWith('/Calls/CAdesk1.json'));
  assert.match(update.form.Twiml, /<Number>\+15550007777<\/Number>/);
  await until(async () => (await desk.locator('#agent-state').textContent()) === 'on a call', 'the agent is on the call');
  await until(async () => (await card.locator('[data-figure="answered"] b').textContent()) === '1', 'the wallboard counts it answered');
  await until(async () => watched.isHidden(), "the supervisor's count goes once the call is taken");
  assert.equal(await offer.count(), 0, "the agent's card went when it accepted");
  assert.equal(await card.locator('[data-figure="sla"] b').textContent(), '100%');

  // The caller hangs up: the disposition form opens on the agent's page.
  await twilio(engine.base, org, 'status', authToken, { ...voice, CallStatus: 'completed', SequenceNumber: '4', CallDuration: '42' });
  const form = desk.locator('#disposition-form');
  await form.waitFor();
  await form.locator('select[name="code"]').selectOption('SALE');
  await form.locator('input[name="note"]').fill('Annual plan');
  await form.locator('button[type="submit"]').click();
  const calls = await org.request('GET', '/api/v1/calls?provider_call_id=CAdesk1');
  await until(async () => (await org.request('GET', `/api/v1/calls/${calls.body.items[0].id}`)).body.disposition?.code === 'SALE', 'the disposition is stored');
  const call = (await org.request('GET', `/api/v1/calls/${calls.body.items[0].id}`)).body;
  assert.equal(call.disposition.note, 'Annual plan');
  assert.equal(call.agent_id, agent.id);
  mkdirSync(new URL('../target', import.meta.url).pathname, { recursive: true });
  await supervisor.screenshot({ path: new URL('../target/desk-wallboard.png', import.meta.url).pathname });

  // A second caller hangs up on hold (Kiran is in wrap-up): the call log says so, wait apart.
  const second = { ...voice, CallSid: 'CAdesk2', From: '+919876500002' };
  await twilio(engine.base, org, 'voice', authToken, second);
  await twilio(engine.base, org, 'status', authToken, { ...second, CallStatus: 'completed', SequenceNumber: '4', CallDuration: '25' });
  const held = await org.request('GET', '/api/v1/calls?provider_call_id=CAdesk2');
  await supervisor.click('#tabs button[data-view="calls"]');
  const heldRow = supervisor.locator(`#call-rows tr[data-id="${held.body.items[0].id}"]`);
  await until(async () => /abandoned in queue/.test(await heldRow.textContent()), 'the call log says abandoned in queue');
  assert.match(await heldRow.textContent(), /wait \d+s · talk 0s/);
  // A caller still on hold keeps "wait …" through the page's once-a-second timer.
  const third = { ...voice, CallSid: 'CAdesk3', From: '+919876500003' };
  await twilio(engine.base, org, 'voice', authToken, third);
  const holding = await org.request('GET', '/api/v1/calls?provider_call_id=CAdesk3');
  const holdingRow = supervisor.locator(`#call-rows tr[data-id="${holding.body.items[0].id}"]`);
  await until(async () => /waiting in queue/.test(await holdingRow.textContent()), 'the call log says waiting in queue');
  await new Promise((r) => setTimeout(r, 1500));
  assert.match(await holdingRow.locator('td').nth(6).textContent(), /^wait \d+s$/);
  await twilio(engine.base, org, 'status', authToken, { ...third, CallStatus: 'completed', SequenceNumber: '4', CallDuration: '5' });

  // A predictive campaign on the queue: its view shows the dialer's live figures.
  const { body: dialing } = await org.request('POST', '/api/v1/campaigns', {
    name: 'Predictive follow-ups', provider: 'twilio', mode: 'predictive', queue_id: queue.id,
    contacts: [{ phone: '+919876500002' }],
  });
  await org.request('POST', `/api/v1/campaigns/${dialing.id}/start`);
  await supervisor.click('#tabs button[data-view="campaigns"]');
  const campaignRow = supervisor.locator(`#campaign-rows tr[data-id="${dialing.id}"]`);
  await campaignRow.waitFor();
  await campaignRow.locator('button', { hasText: 'Open' }).click();
  const detail = supervisor.locator('#campaign-detail');
  await until(async () => /predictive/.test(await detail.textContent()), 'the campaign view names its dial mode');
  assert.match(await detail.textContent(), /agents idle/);
  assert.match(await detail.textContent(), /agents freeing/);
  await supervisor.screenshot({ path: new URL('../target/campaign-dialer.png', import.meta.url).pathname });
  assert.match(await detail.textContent(), /abandon rate/);
  assert.deepEqual(errors, [], 'no script errors');
  await supervisor.close();
  await desk.close();
  stand_in.close();
});

test('a call the PBX has not confirmed for two resync periods looks stale until the PBX speaks again', async () => {
  const org = await makeOrg(engine.base, 'Browser stale');
  await pbx(engine.base, org, 30007, { extension: '601', status: 'Registered' });
  const page = await chrome.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${engine.base}/#token=${org.token}`);
  await page.waitForSelector('#link.up');
  const card = page.locator('.ext[data-number="601"]');
  await pbx(engine.base, org, 30011, { call_id: '960.1', members: [inbound('09876560001', 'ANSWERED'), ext('601', 'ANSWER')] });
  await until(async () => (await card.locator('.state').textContent()) === 'in call', 'in call');
  assert.doesNotMatch(await card.getAttribute('class'), /\bstale\b/, 'fresh at first');
  // The PBX goes quiet (its API is not configured, so no resync can confirm it either).
  await until(async () => /\bstale\b/.test(await card.getAttribute('class')), 'the card looks stale', 20000);
  assert.match(await card.getAttribute('title'), /not confirmed by the PBX for \d+s/);
  // The engine looked at the PBX for its silence and could not ask it: the board says so.
  const sync = page.locator('#pbx-sync');
  await until(async () => /PBX could not be asked at .*not configured.* the board may be stale/.test(await sync.textContent()), 'the toolbar says the PBX could not be asked');
  assert.match(await sync.getAttribute('class'), /\bfailed\b/);
  // The PBX speaks of the call again (the agent holds): confirmed, fresh again.
  await pbx(engine.base, org, 30011, { call_id: '960.1', members: [inbound('09876560001', 'ANSWERED'), ext('601', 'HOLD')] });
  await until(async () => !/\bstale\b/.test(await card.getAttribute('class')), 'fresh again');
  assert.deepEqual(errors, [], 'no script errors');
  await page.close();
});
