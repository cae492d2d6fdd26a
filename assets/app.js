// Switchboard's live dashboard: plain JavaScript, no build step, no network but this server.
// State comes from the WebSocket (snapshot, then committed events in seq order; after a reconnect,
// `since=<last seq>` replays exactly what was missed). Rendering is batched: events only mark
// what changed, and one animation frame redraws just those cards and rows.
'use strict';

const $ = (id) => document.getElementById(id);
const CALL_ROWS = 200;
// Calls kept in the page: every live one, and the newest finished ones (a wall runs all day).
const CALL_MEMORY = 2000;
const LIVE = new Set(['queued', 'dialing', 'ringing', 'answered']);

const state = {
  token: null,
  role: 'owner',
  org: null,
  seq: null,
  socket: null,
  connected: false,
  retry: 0,
  extensions: new Map(),   // number → extension object
  calls: new Map(),        // id → call object
  campaigns: new Map(),    // id → campaign object
  progress: new Map(),     // campaign id → progress object
  agents: new Map(),       // id → agent object (with its live state)
  queues: new Map(),       // id → queue object (with its live figures)
  codes: [],               // the org's disposition codes
  disposed: new Set(),     // calls whose disposition form this agent has seen
  metrics: null,
  // A ringing or in-call card the PBX has not confirmed for this long is shown as stale.
  staleAfterS: null,
  openCampaign: null,
  // What the next frame redraws.
  dirty: { ext: new Set(), calls: new Set(), campaigns: false, metrics: false, board: false, desk: false, incoming: false, sync: false },
  // The last look at the PBX's own API (`presence:resynced`): when, why, and whether it answered.
  pbxSync: null,
  frame: 0,
  events: 0,
};
window.switchboard = state;

// ---------------------------------------------------------------------------------------------
// The token: from the URL fragment (then removed from the address bar), else the browser's store,
// else asked for once.

function readToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get('token');
  if (given) {
    localStorage.setItem('switchboard.token', given);
    history.replaceState(null, '', location.pathname + location.search);
    return given;
  }
  return localStorage.getItem('switchboard.token');
}

async function api(method, path, body, contentType) {
  const headers = { Authorization: `Bearer ${state.token}` };
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = contentType || 'application/json';
    payload = contentType ? body : JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new Error(json && json.message ? json.message : `${response.status}`);
    error.code = json && json.error;
    error.status = response.status;
    throw error;
  }
  return json;
}

function toast(message) {
  const t = $('toast');
  t.textContent = message;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

/** Runs an action of the user's; its error (the API's own words) is shown. */
async function act(work) {
  try {
    return await work();
  } catch (error) {
    toast(error.code ? `${error.code}: ${error.message}` : error.message);
    return undefined;
  }
}

async function signIn(token) {
  state.token = token;
  const me = await api('GET', '/api/v1/org');
  state.org = me;
  state.role = me.role;
  for (const role of ['owner', 'viewer', 'agent']) document.body.classList.toggle(role, me.role === role);
  $('org-name').textContent = me.name;
  $('role').hidden = me.role === 'owner';
  $('role').textContent = me.role;
  $('agent-desk').hidden = me.role !== 'agent';
  loadDesk();
  $('login').hidden = true;
  $('app').hidden = false;
  connect();
  loadRecentCalls();
  api('GET', '/api/v1/metrics').then((m) => { state.metrics = m; mark('metrics'); }).catch(() => {});
}

// ---------------------------------------------------------------------------------------------
// The live stream.

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  let url = `${scheme}://${location.host}/api/v1/ws?token=${encodeURIComponent(state.token)}`;
  if (state.seq !== null) url += `&since=${state.seq}`;
  const socket = new WebSocket(url);
  state.socket = socket;
  socket.onopen = () => { state.retry = 0; setLink(true); };
  socket.onmessage = (message) => receive(JSON.parse(message.data));
  socket.onclose = () => {
    if (state.socket !== socket) return;
    setLink(false);
    const wait = Math.min(10000, 250 * 2 ** state.retry++);
    setTimeout(connect, wait);
  };
}

function setLink(up) {
  state.connected = up;
  const link = $('link');
  link.className = `link ${up ? 'up' : 'down'}`;
  link.textContent = up ? 'live' : 'reconnecting…';
}

function receive(event) {
  if (event.type === 'snapshot') {
    applySnapshot(event);
    return;
  }
  // Replay and live stream never overlap, but a frame seen twice must not count twice.
  if (state.seq !== null && event.seq <= state.seq) return;
  state.seq = event.seq;
  state.events += 1;
  const data = event.data;
  switch (event.type) {
    case 'call:created':
    case 'call:updated':
      putCall(data);
      break;
    case 'extension:updated':
      state.extensions.set(data.number, data);
      state.dirty.ext.add(data.number);
      break;
    case 'campaign:updated':
      if (!state.progress.has(data.id)) loadProgress(data.id);
      state.campaigns.set(data.id, data);
      mark('campaigns');
      break;
    case 'campaign:progress':
      state.progress.set(data.campaignId, data);
      mark('campaigns');
      break;
    case 'metrics:updated':
      state.metrics = data;
      mark('metrics');
      break;
    case 'credits:updated':
      // The balance moves at once; the other totals with the next metrics:updated.
      state.metrics = Object.assign({}, state.metrics || {}, {
        credits: { balance: data.balance, currency: data.currency, low: data.low },
      });
      mark('metrics');
      break;
    case 'incoming:call':
      popup(data);
      if (data.call) putCall(data.call);
      break;
    case 'agent:updated':
      state.agents.set(data.id, data);
      if (data.id === myAgent() && !(data.offer)) dropOffers();
      // A supervisor's list: a call this agent no longer holds an offer for waits again.
      for (const [id, pop] of incoming) {
        if (pop.offer && pop.offer.agent_id === data.id && !(data.offer && data.offer.call_id === id)) {
          incoming.set(id, { ...pop, offer: null });
          mark('incoming');
        }
      }
      mark('desk');
      break;
    case 'queue:updated':
      state.queues.set(data.id, data);
      mark('desk');
      break;
    case 'presence:resynced':
      state.pbxSync = { at: event.at, ...data };
      mark('sync');
      break;
    default:
      break;
  }
  schedule();
}

function applySnapshot(event) {
  state.seq = event.seq;
  const data = event.data || {};
  state.staleAfterS = data.stale_after_s ?? null;
  state.extensions = new Map((data.extensions || []).map((e) => [e.number, e]));
  for (const call of data.calls || []) putCall(call);
  state.campaigns = new Map((data.campaigns || []).map((c) => [c.id, c]));
  // A pop-up of a call that ended while this page was away goes with it.
  const live = new Set((data.calls || []).map((c) => c.id));
  for (const id of [...incoming.keys(), ...popups.keys()]) if (!live.has(id)) settle(id);
  state.dirty.board = true;
  mark('campaigns');
  for (const campaign of state.campaigns.values()) loadProgress(campaign.id);
  // The desk is not in the snapshot: read again after every (re)connect.
  if (state.org) loadDesk();
  schedule();
}

function putCall(call) {
  if (!state.calls.has(call.id) && state.calls.size >= CALL_MEMORY) forgetOldCalls();
  state.calls.set(call.id, call);
  state.dirty.calls.add(call.id);
  for (const number of call.extensions || []) state.dirty.ext.add(number);
  if (call.campaign_id && call.campaign_id === state.openCampaign) mark('campaigns');
  if (taken(call)) settle(call.id);
  maybeDispose(call);
}

function forgetOldCalls() {
  const finished = [...state.calls.values()].filter((c) => !LIVE.has(c.status))
    .sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
  for (const call of finished.slice(0, Math.max(0, finished.length - CALL_MEMORY / 2))) state.calls.delete(call.id);
}

async function loadRecentCalls() {
  const page = await api('GET', `/api/v1/calls?limit=${CALL_ROWS}`).catch(() => null);
  if (!page) return;
  for (const call of page.items) {
    const known = state.calls.get(call.id);
    if (!known || known.updated_at <= call.updated_at) putCall(call);
  }
  schedule();
}

async function loadProgress(id) {
  const progress = await api('GET', `/api/v1/campaigns/${id}/progress`).catch(() => null);
  if (progress) { state.progress.set(id, progress); mark('campaigns'); schedule(); }
}

function mark(what) { state.dirty[what] = true; }

function schedule() {
  if (!state.frame) state.frame = requestAnimationFrame(render);
}

// ---------------------------------------------------------------------------------------------
// Rendering: only what changed, once per frame.

function render() {
  state.frame = 0;
  const dirty = state.dirty;
  if (dirty.board) {
    renderBoard();
    dirty.board = false;
    dirty.ext.clear();
  } else if (dirty.ext.size) {
    for (const number of dirty.ext) renderExtension(number);
    dirty.ext.clear();
    renderBoardSummary();
  }
  if (dirty.calls.size && !$('view-calls').hidden) {
    renderCalls(dirty.calls);
    dirty.calls.clear();
  }
  if (dirty.campaigns) { renderCampaigns(); dirty.campaigns = false; }
  if (dirty.metrics) { renderMetrics(); dirty.metrics = false; }
  if (dirty.desk) { renderDesk(); dirty.desk = false; }
  if (dirty.incoming) { renderIncoming(); dirty.incoming = false; }
  if (dirty.sync) { renderPbxSync(); dirty.sync = false; }
}

// What the last look at the PBX found: a board the PBX could not confirm says so.
function renderPbxSync() {
  const sync = state.pbxSync;
  const line = $('pbx-sync');
  const at = new Date(sync.at).toLocaleTimeString();
  line.classList.toggle('failed', !sync.ok);
  if (!sync.ok) {
    line.textContent = `PBX could not be asked at ${at}: ${sync.error} — the board may be stale`;
    return;
  }
  const c = sync.changed || {};
  const fixed = (c.calls_ended || 0) + (c.extensions_changed || 0) + (c.records_applied || 0);
  line.textContent = `PBX checked at ${at}` + (fixed ? ` · corrected ${c.calls_ended} ended calls, ` +
    `${c.extensions_changed} extensions, ${c.records_applied} missed call records` : ' · the board matched');
}

const cards = new Map(); // number → card element
// Only cards on screen get their timers ticked (a 2,000-extension board is mostly off screen).
const onScreen = new Set();
const watcher = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (entry.isIntersecting) onScreen.add(entry.target); else onScreen.delete(entry.target);
  }
});

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderBoard() {
  const board = $('board');
  board.textContent = '';
  cards.clear();
  onScreen.clear();
  watcher.disconnect();
  const numbers = [...state.extensions.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const fragment = document.createDocumentFragment();
  for (const number of numbers) {
    const card = makeCard(number);
    cards.set(number, card);
    watcher.observe(card);
    fragment.appendChild(card);
    fillCard(card, state.extensions.get(number));
  }
  board.appendChild(fragment);
  renderBoardSummary();
  applyFilter();
}

function makeCard(number) {
  const card = el('article', 'ext');
  card.dataset.number = number;
  card.append(el('div', 'num', number), el('div', 'name'), el('span', 'state'), el('div', 'since'), el('div', 'party'));
  const buttons = el('div', 'buttons act');
  const dial = el('button', 'dial', 'Dial');
  dial.onclick = () => dialFrom(number);
  const reset = el('button', 'reset', 'Reset');
  reset.title = 'End what this extension is stuck in';
  reset.onclick = () => act(() => api('POST', `/api/v1/extensions/${encodeURIComponent(number)}/reset`));
  buttons.append(dial, reset);
  card.appendChild(buttons);
  card.querySelector('.name').onclick = () => rename(number);
  return card;
}

function renderExtension(number) {
  const ext = state.extensions.get(number);
  if (!ext) return;
  let card = cards.get(number);
  if (!card) {
    // A new extension: the board is rebuilt once, in order.
    state.dirty.board = true;
    schedule();
    return;
  }
  fillCard(card, ext);
}

const PRESENCE_TEXT = { online: 'online', ringing: 'ringing', incall: 'in call', offline: 'offline', dnd: 'do not disturb' };

function fillCard(card, ext) {
  card.className = `ext ${ext.presence}`;
  card.querySelector('.name').textContent = ext.name || (state.role === 'viewer' ? '' : 'add a name');
  card.querySelector('.state').textContent = PRESENCE_TEXT[ext.presence] || ext.presence;
  card.dataset.since = ext.since || '';
  card.dataset.confirmed = ext.confirmed_at || '';
  card.dataset.live = ext.presence === 'ringing' || ext.presence === 'incall' ? 'yes' : '';
  const call = currentCall(ext);
  card.dataset.callStart = call ? (call.answered_at || call.ringing_at || call.created_at) : '';
  card.dataset.party = call ? otherParty(call, ext.number) : '';
  const busy = ext.presence === 'ringing' || ext.presence === 'incall' || ext.presence === 'offline';
  card.querySelector('.dial').disabled = busy;
  card.querySelector('.reset').disabled = (ext.active_calls || []).length === 0;
  tickCard(card, Date.now());
}

function currentCall(ext) {
  for (const id of ext.active_calls || []) {
    const call = state.calls.get(id);
    if (call) return call;
  }
  return null;
}

function otherParty(call, number) {
  return call.from === number ? (call.to || '…') : (call.from || '…');
}

function ago(iso, now) {
  if (!iso) return '';
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function tickCard(card, now) {
  card.querySelector('.since').textContent = card.dataset.since ? `for ${ago(card.dataset.since, now)}` : '';
  // A call the PBX has not spoken of for a while may have ended unheard: the card says so.
  const { confirmed, live } = card.dataset;
  const age = confirmed ? (now - Date.parse(confirmed)) / 1000 : Infinity;
  const stale = Boolean(live) && state.staleAfterS !== null && age > state.staleAfterS;
  card.classList.toggle('stale', stale);
  card.title = stale ? (confirmed ? `not confirmed by the PBX for ${ago(confirmed, now)}` : 'never confirmed by the PBX') : '';
  const { party, callStart } = card.dataset;
  card.querySelector('.party').textContent = party ? (callStart ? `${party} · ${ago(callStart, now)}` : party) : '';
}

function renderBoardSummary() {
  const counts = {};
  for (const ext of state.extensions.values()) counts[ext.presence] = (counts[ext.presence] || 0) + 1;
  $('board-summary').textContent = `${state.extensions.size} extensions · ` +
    ['online', 'ringing', 'incall', 'offline', 'dnd'].map((p) => `${counts[p] || 0} ${PRESENCE_TEXT[p]}`).join(' · ');
}

function applyFilter() {
  const q = $('board-filter').value.trim().toLowerCase();
  for (const [number, card] of cards) {
    const ext = state.extensions.get(number);
    card.hidden = q !== '' && !number.toLowerCase().includes(q) && !(ext.name || '').toLowerCase().includes(q);
  }
}

// Timers: once a second, in one frame.
setInterval(() => requestAnimationFrame(() => {
  const now = Date.now();
  for (const card of onScreen) if (!card.hidden) tickCard(card, now);
  if ($('view-calls').hidden) return;
  for (const row of $('call-rows').children) {
    const call = state.calls.get(row.dataset.id);
    if (call && LIVE.has(call.status)) row.children[6].textContent = callTimes(call, now);
  }
}), 1000);

async function dialFrom(number) {
  const to = prompt(`Call from extension ${number} to:`);
  if (!to) return;
  await act(() => api('POST', `/api/v1/extensions/${encodeURIComponent(number)}/dial`, { to }));
}

async function rename(number) {
  if (state.role === 'viewer') return;
  const ext = state.extensions.get(number);
  const name = prompt(`Name of extension ${number}:`, ext.name || '');
  if (name === null) return;
  await act(() => api('PUT', `/api/v1/extensions/${encodeURIComponent(number)}`, { name }));
}

// Calls: newest first, at most CALL_ROWS rows, each row updated in place.
const callRows = new Map();

function duration(call, now) {
  if (call.duration_s !== null && call.duration_s !== undefined) return `${call.duration_s}s`;
  if (LIVE.has(call.status)) return ago(call.answered_at || call.ringing_at || call.created_at, now);
  return '';
}

/** A queued call's outcome as the call log says it (a handled one shows its status). */
const QUEUE_TEXT = { waiting: 'waiting in queue', abandoned: 'abandoned in queue', overflowed: 'overflowed' };

/** A queued call's wait and talk, apart: the hold is not talk. */
function queueTimes(call, now) {
  const wait = call.wait_s !== null && call.wait_s !== undefined ? `${call.wait_s}s`
    : call.queue_outcome === 'waiting' ? ago(call.queued_at || call.created_at, now) : '';
  const talk = call.talk_s !== null && call.talk_s !== undefined ? `${call.talk_s}s`
    : call.answered_at && LIVE.has(call.status) ? ago(call.answered_at, now) : '';
  return [wait && `wait ${wait}`, talk && `talk ${talk}`].filter(Boolean).join(' · ');
}

/** The call log's time column: a queued call's wait and talk apart, any other call's duration. */
function callTimes(call, now) {
  return call.queue_outcome ? queueTimes(call, now) : duration(call, now);
}

function renderCalls(ids) {
  const body = $('call-rows');
  const now = Date.now();
  for (const id of ids) {
    const call = state.calls.get(id);
    if (!call) continue;
    let row = callRows.get(id);
    if (!row) {
      row = el('tr', 'clickable');
      row.dataset.id = id;
      for (let i = 0; i < 8; i++) row.appendChild(el('td'));
      row.onclick = () => showTimeline(id);
      callRows.set(id, row);
    }
    const cells = row.children;
    cells[0].textContent = new Date(call.created_at).toLocaleTimeString();
    cells[1].textContent = call.from || '';
    cells[2].textContent = call.to || '';
    cells[3].textContent = call.provider;
    cells[4].textContent = call.direction;
    cells[5].replaceChildren(el('span', `status ${call.status}`, QUEUE_TEXT[call.queue_outcome] || call.status.replace('_', ' ')));
    cells[6].textContent = callTimes(call, now);
    cells[7].textContent = call.cost ? `${call.cost} ${call.currency || ''}` : '';
  }
  // Newest first; rows beyond the limit leave the page (the API still has them).
  const ordered = [...state.calls.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : (a.id < b.id ? 1 : -1)));
  const keep = ordered.slice(0, CALL_ROWS);
  const keepIds = new Set(keep.map((c) => c.id));
  for (const [id, row] of callRows) if (!keepIds.has(id)) { row.remove(); callRows.delete(id); }
  let previous = null;
  for (const call of keep) {
    const row = callRows.get(call.id);
    const expected = previous ? previous.nextSibling : body.firstChild;
    if (row !== expected) body.insertBefore(row, expected);
    previous = row;
  }
}

async function showTimeline(id) {
  const call = state.calls.get(id);
  const timeline = await act(() => api('GET', `/api/v1/calls/${id}/events?limit=200`));
  if (!timeline) return;
  const body = $('modal-body');
  body.replaceChildren(el('h2', '', `${call.from || '?'} → ${call.to || '?'} · ${call.status}`));
  const meta = el('p', 'mono', `${call.provider} ${call.provider_call_id || ''} · ${call.direction}` +
    (call.hangup_cause ? ` · ${call.hangup_cause}` : '') + (call.talk_s ? ` · talked ${call.talk_s}s` : '') +
    (call.agent_id ? ` · agent ${agentName(call.agent_id)}` : '') +
    (call.disposition ? ` · ${call.disposition.code}${call.disposition.note ? ` (${call.disposition.note})` : ''}` : ''));
  body.appendChild(meta);
  if (call.recording_url) {
    const link = el('a', 'mono', 'Recording');
    link.href = call.recording_url;
    link.target = '_blank';
    link.rel = 'noreferrer';
    body.appendChild(link);
  }
  if (call.analytics) body.appendChild(el('pre', '', JSON.stringify(call.analytics, null, 2)));
  const table = el('table', 'grid');
  table.innerHTML = '<thead><tr><th>Received</th><th>Source</th><th>Kind</th><th>Status word</th><th>After</th></tr></thead>';
  const rows = el('tbody');
  for (const e of timeline.items) {
    const row = el('tr');
    for (const text of [new Date(e.received_at).toLocaleTimeString(), e.source, e.kind, e.raw_status || '', e.status_after]) row.appendChild(el('td', '', text));
    rows.appendChild(row);
  }
  table.appendChild(rows);
  body.appendChild(table);
  $('modal').showModal();
}

// Campaigns.
/** A campaign's stored reason as a supervisor reads it. */
const REASONS = { insufficient_credits: 'Paused: credits used up. A top-up resumes it.' };

/** What a running campaign that dials nothing waits for (its progress's `status_detail`). */
const WAITING = {
  waiting_for_window: (at) => `Waiting for its calling window${at ? ` — opens ${when(at)}` : ''}`,
  waiting_for_retry: (at) => `Waiting for retries${at ? ` — next ${when(at)}` : ''}`,
  waiting_for_agents: () => 'Waiting for a free agent',
};

/** A time today as a clock, another day with its date. */
function when(at) {
  const date = new Date(at);
  return date.toDateString() === new Date().toDateString() ? date.toLocaleTimeString() : date.toLocaleString();
}

const CONTROLS = { pending: ['start', 'cancel'], running: ['pause', 'cancel'], paused: ['resume', 'cancel'], completed: ['start'], cancelled: ['start'], failed: [] };

function renderCampaigns() {
  const body = $('campaign-rows');
  body.textContent = '';
  const campaigns = [...state.campaigns.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  for (const campaign of campaigns) {
    const progress = state.progress.get(campaign.id);
    const row = el('tr');
    row.dataset.id = campaign.id;
    row.appendChild(el('td', '', campaign.name));
    const status = el('td');
    status.appendChild(el('span', `status ${campaign.status}`, campaign.status));
    if (campaign.failure_reason) status.appendChild(el('div', 'error', REASONS[campaign.failure_reason] || campaign.failure_reason));
    const waiting = campaign.status === 'running' && progress && WAITING[progress.status_detail];
    if (waiting) status.appendChild(el('div', 'waiting', waiting(progress.next_attempt_at)));
    row.appendChild(status);
    row.appendChild(el('td', '', campaign.provider));
    const cell = el('td', 'progress');
    const total = progress ? progress.totalContacts : 0;
    const reached = progress ? progress.contacts.done + progress.contacts.failed + progress.contacts.skipped : 0;
    cell.appendChild(el('div', 'display', progress ? progress.display : '…'));
    const bar = el('span', 'bar');
    const fill = el('i');
    fill.style.width = `${total ? Math.round((reached / total) * 100) : 0}%`;
    bar.appendChild(fill);
    cell.appendChild(bar);
    row.appendChild(cell);
    const open = el('td');
    const view = el('button', '', 'Open');
    view.onclick = () => openCampaign(campaign.id);
    open.appendChild(view);
    row.appendChild(open);
    const controls = el('td', 'act');
    for (const action of CONTROLS[campaign.status] || []) {
      const button = el('button', action === 'cancel' ? 'danger' : 'primary', action[0].toUpperCase() + action.slice(1));
      button.dataset.action = action;
      button.onclick = () => act(async () => {
        const updated = await api('POST', `/api/v1/campaigns/${campaign.id}/${action}`);
        state.campaigns.set(updated.id, updated);
        mark('campaigns');
        schedule();
      });
      controls.appendChild(button);
    }
    row.appendChild(controls);
    body.appendChild(row);
  }
  if (state.openCampaign) renderCampaignDetail();
}

async function openCampaign(id) {
  state.openCampaign = id;
  await loadProgress(id);
  await loadCampaignContacts(id);
  mark('campaigns');
  schedule();
}

const campaignContacts = new Map();

async function loadCampaignContacts(id) {
  const page = await api('GET', `/api/v1/campaigns/${id}/contacts?limit=1000`).catch(() => null);
  if (page) campaignContacts.set(id, page.items);
}

function renderCampaignDetail() {
  const id = state.openCampaign;
  const campaign = state.campaigns.get(id);
  const progress = state.progress.get(id);
  const panel = $('campaign-detail');
  if (!campaign || !progress) { panel.hidden = true; return; }
  panel.hidden = false;
  panel.textContent = '';
  const close = el('button', '', 'Close');
  close.style.float = 'right';
  close.onclick = () => { state.openCampaign = null; panel.hidden = true; };
  panel.append(close, el('h2', '', `${campaign.name} · ${campaign.status}`));
  const c = progress.contacts;
  const reached = c.done + c.failed + c.skipped;
  const figures = el('div', 'figures');
  const figure = (label, value) => { const d = el('div'); d.append(el('b', '', String(value)), el('span', '', label)); figures.appendChild(d); };
  figure('progress', progress.display);
  figure('answer rate', `${Math.round((progress.answerRate || 0) * 100)}%`);
  figure('successful', c.done);
  figure('failed', c.failed + c.skipped);
  figure('pending', c.pending + c.retry_scheduled);
  figure('live calls', progress.liveCalls);
  // The dialer's live figures (its actor's): pace, abandon rate, idle agents (and, predictive,
  // those about to be free), time to finish.
  if (progress.dialMode) {
    figure('dial mode', progress.dialMode);
    figure('dials/s', progress.dialRate);
    figure('abandon rate', `${((progress.abandonRate || 0) * 100).toFixed(1)}%`);
    if (progress.agentsIdle !== null && progress.agentsIdle !== undefined) figure('agents idle', progress.agentsIdle);
    if (progress.dialMode === 'predictive' && progress.agentsFreeing !== null && progress.agentsFreeing !== undefined) figure('agents freeing', progress.agentsFreeing);
    figure('time to finish', progress.etaSeconds === null || progress.etaSeconds === undefined ? '—' : ago(new Date(Date.now() - progress.etaSeconds * 1000).toISOString(), Date.now()));
  }
  for (const [code, n] of Object.entries(progress.dispositions || {})) figure(code, n);
  for (const key of ['processed', 'ringing', 'call-ended', 'completed']) figure(key, progress.callCounts[key]);
  panel.appendChild(figures);
  const bar = el('span', 'bar');
  const fill = el('i');
  fill.style.width = `${progress.totalContacts ? Math.round((reached / progress.totalContacts) * 100) : 0}%`;
  bar.appendChild(fill);
  panel.appendChild(bar);
  panel.appendChild(el('h2', '', 'Last 20 calls'));
  const recent = [...state.calls.values()].filter((call) => call.campaign_id === id)
    .sort((a, b) => (a.created_at < b.created_at ? 1 : -1)).slice(0, 20);
  const calls = el('table', 'grid');
  calls.innerHTML = '<thead><tr><th>Started</th><th>To</th><th>Status</th><th>Duration</th></tr></thead>';
  const callBody = el('tbody');
  for (const call of recent) {
    const row = el('tr', 'clickable');
    row.onclick = () => showTimeline(call.id);
    row.append(el('td', '', new Date(call.created_at).toLocaleTimeString()), el('td', '', call.to || ''));
    const s = el('td');
    s.appendChild(el('span', `status ${call.status}`, call.status));
    row.append(s, el('td', '', duration(call, Date.now())));
    callBody.appendChild(row);
  }
  calls.appendChild(callBody);
  panel.appendChild(calls);
  panel.appendChild(el('h2', '', 'Contacts'));
  const contacts = el('table', 'grid');
  contacts.innerHTML = '<thead><tr><th>Phone</th><th>Status</th><th>Attempts</th><th>Last outcome</th><th>Error</th></tr></thead>';
  const contactBody = el('tbody');
  for (const contact of (campaignContacts.get(id) || []).slice(0, 300)) {
    const row = el('tr');
    row.appendChild(el('td', '', contact.phone));
    const s = el('td');
    s.appendChild(el('span', `status ${contact.status}`, contact.status.replace('_', ' ')));
    row.append(s, el('td', '', String(contact.attempts)), el('td', '', contact.last_outcome || ''), el('td', 'error', contact.last_error || ''));
    contactBody.appendChild(row);
  }
  contacts.appendChild(contactBody);
  panel.appendChild(contacts);
  clearTimeout(renderCampaignDetail.timer);
  renderCampaignDetail.timer = setTimeout(() => { if (state.openCampaign === id) loadCampaignContacts(id).then(() => { mark('campaigns'); schedule(); }); }, 3000);
}

function newCampaign() {
  const body = $('modal-body');
  body.innerHTML = `<h2>New campaign</h2>
    <form id="campaign-form">
      <label>Name <input name="name" required></label>
      <label>Provider <select name="provider"><option>twilio</option><option>plivo</option><option>exotel</option><option>bolna</option></select></label>
      <label>Concurrency <input name="concurrency" type="number" min="1" max="1000" value="5"></label>
      <label>Attempts per contact <input name="max_attempts" type="number" min="1" max="20" value="1"></label>
      <label>Dial mode <select name="mode"><option value="fixed">fixed (concurrency)</option><option value="progressive">progressive (one call per idle agent)</option><option value="predictive">predictive (ahead of agents, abandon cap)</option></select></label>
      <label>Agents' queue (progressive, predictive) <select name="queue_id"><option value="">—</option>${[...state.queues.values()].map((q) => `<option value="${q.id}">${q.name.replace(/[<&"]/g, '')}</option>`).join('')}</select></label>
      <label>Contacts: one phone per line, or CSV with a <code>phone</code> column <textarea name="contacts" placeholder="phone,name&#10;+919876543210,Asha"></textarea></label>
      <label>… or a CSV file <input name="file" type="file" accept=".csv,text/csv"></label>
      <p><button type="submit" class="primary">Create</button> <span id="campaign-report"></span></p>
    </form>`;
  $('campaign-form').onsubmit = (submit) => {
    submit.preventDefault();
    const form = new FormData(submit.target);
    act(async () => {
      const campaign = await api('POST', '/api/v1/campaigns', {
        name: form.get('name'), provider: form.get('provider'),
        concurrency: Number(form.get('concurrency')), max_attempts: Number(form.get('max_attempts')),
        mode: form.get('mode'), queue_id: form.get('queue_id') || undefined,
      });
      let text = String(form.get('contacts') || '').trim();
      const file = form.get('file');
      if (file && file.size) text = await file.text();
      if (text) {
        const csv = text.split('\n')[0].toLowerCase().includes('phone') ? text : `phone\n${text}`;
        const report = await api('POST', `/api/v1/campaigns/${campaign.id}/contacts`, csv, 'text/csv');
        $('campaign-report').textContent = `${report.added} added, ${report.invalid.length} unreadable`;
      }
      state.campaigns.set(campaign.id, campaign);
      loadProgress(campaign.id);
      mark('campaigns');
      schedule();
    });
  };
  $('modal').showModal();
}

function renderMetrics() {
  const m = state.metrics;
  if (!m) return;
  const cost = Object.entries(m.cost || {}).map(([currency, amount]) => `${amount} ${currency}`).join(', ') || '—';
  const cards = [
    ['Calls', m.calls], ['Live calls', m.live_calls], ['Answered', m.answered],
    ['Answer rate', `${Math.round((m.answer_rate || 0) * 100)}%`], ['Minutes', (m.talk_minutes || 0).toFixed(1)],
    ['Average talk', `${Math.round(m.average_talk_s || 0)}s`], ['Cost', cost],
  ];
  if (m.billed_minutes !== undefined) cards.push(['Billed minutes', (m.billed_minutes || 0).toFixed(1)]);
  const credits = m.credits && typeof m.credits === 'object' ? m.credits : null;
  if (credits) cards.push(['Credits', `${credits.balance} ${credits.currency || ''}`.trim(), credits.low ? 'low' : '']);
  const section = $('metrics');
  section.textContent = '';
  for (const [label, value, warn] of cards) {
    const card = el('div', warn ? `card ${warn}` : 'card');
    card.dataset.metric = label;
    const text = value === undefined ? '—' : String(value);
    card.append(el('div', 'label', warn ? `${label} · low` : label), el('div', text.length > 9 ? 'value long' : 'value', text));
    section.appendChild(card);
  }
}

// ---------------------------------------------------------------------------------------------
// Incoming calls. An agent's page shows its own offers (Accept / Reject) and screen pops as cards;
// a supervisor's page one compact count of the callers nobody has taken yet, who they are in a
// list under it. Either goes when its call is taken, offered elsewhere, or ends.

const incoming = new Map(); // a supervisor's page: call id → its latest incoming:call data
const popups = new Map(); // an agent's page: call id → its card

/** A call nobody waits on any more: ended, taken by an agent, or answered by a person (a caller
 * who waits in a queue is held by the engine, not answered, until an agent takes it). */
function taken(call) {
  return !LIVE.has(call.status) || Boolean(call.agent_id) || (!call.queue_id && call.status === 'answered');
}

/** The call's pop-up goes, on either kind of page. */
function settle(id) {
  if (incoming.delete(id)) { mark('incoming'); schedule(); }
  const box = popups.get(id);
  if (box) { box.remove(); popups.delete(id); }
}

function popup(data) {
  const id = data.call_id || (data.call && data.call.id);
  if (!id) return;
  const known = state.calls.get(id);
  if (known && taken(known)) return;
  if (!myAgent()) {
    incoming.set(id, data);
    mark('incoming');
    return;
  }
  if (data.offer) { offerPopup(data); return; }
  const box = callerCard(id, data, 'popup');
  if (data.suggested_agent) box.appendChild(el('div', '', `Suggested: ${data.suggested_agent.number} ${data.suggested_agent.name || ''}`));
  const dismiss = el('button', '', 'Dismiss');
  dismiss.onclick = () => settle(id);
  box.appendChild(dismiss);
  showCard(id, box);
}

/** A pop-up card with what is known of the caller (the screen pop). */
function callerCard(id, data, className) {
  const box = el('div', className);
  box.dataset.call = id;
  const contact = data.contact || {};
  box.appendChild(el('h3', '', `Incoming call · ${callerName(data)}`));
  if (data.company || contact.company) box.appendChild(el('div', '', data.company || contact.company));
  box.appendChild(el('div', 'mono', (data.call && data.call.from) || ''));
  box.appendChild(el('div', '', `${data.previous_calls || 0} previous calls` + (data.last_call_at ? ` · last ${new Date(data.last_call_at).toLocaleString()} (${data.last_call_status})` : '')));
  if (data.last_sentiment) box.appendChild(el('div', '', `Last bot call: ${data.last_sentiment}`));
  return box;
}

/** Puts a call's card on an agent's page, in place of any earlier one of the same call. */
function showCard(id, box) {
  settle(id);
  popups.set(id, box);
  $('popups').prepend(box);
}

function callerName(data) {
  const contact = data.contact || {};
  return data.caller_name || contact.name || contact.phone || (data.call && data.call.from) || 'unknown caller';
}

/** A supervisor's compact count of incoming calls, newest first in its list. */
function renderIncoming() {
  const box = $('incoming');
  for (const id of incoming.keys()) {
    const call = state.calls.get(id);
    if (call && taken(call)) incoming.delete(id);
  }
  box.hidden = incoming.size === 0;
  if (box.hidden) { box.open = false; return; }
  const items = [...incoming.entries()].reverse();
  const offered = items.filter(([, d]) => d.offer).length;
  box.querySelector('summary').textContent = `${incoming.size} incoming` + (offered ? ` · ${offered} offered` : '');
  const list = box.querySelector('ul');
  list.textContent = '';
  for (const [id, data] of items.slice(0, INCOMING_LISTED)) {
    const item = el('li');
    item.dataset.call = id;
    const queued = data.call && data.call.queue_id;
    const where = data.offer ? `offered to ${agentName(data.offer.agent_id)}`
      : queued ? 'waiting' : data.suggested_agent ? `ringing ${data.suggested_agent.number}` : 'ringing';
    item.append(el('b', '', callerName(data)), el('span', 'mono', (data.call && data.call.from) || ''), el('span', 'where', where));
    list.appendChild(item);
  }
  if (items.length > INCOMING_LISTED) list.appendChild(el('li', 'more', `and ${items.length - INCOMING_LISTED} more`));
}

/** How many incoming callers a supervisor's list names. */
const INCOMING_LISTED = 8;

async function loadLogs() {
  const provider = $('log-provider').value;
  const page = await act(() => api('GET', `/api/v1/webhooks?limit=100${provider ? `&provider=${provider}` : ''}`));
  if (!page) return;
  const body = $('log-rows');
  body.textContent = '';
  for (const item of page.items) {
    const row = el('tr');
    row.append(el('td', '', new Date(item.received_at).toLocaleTimeString()), el('td', '', item.provider), el('td', '', item.kind), el('td', '', item.outcome));
    const cell = el('td');
    let text = item.body;
    try { text = JSON.stringify(JSON.parse(item.body), null, 1); } catch (_) { /* a form body */ }
    cell.appendChild(el('pre', '', text));
    row.appendChild(cell);
    body.appendChild(row);
  }
}

async function loadDnc() {
  const page = await act(() => api('GET', '/api/v1/dnc?limit=1000'));
  if (!page) return;
  const body = $('dnc-rows');
  body.textContent = '';
  for (const entry of page.items) {
    const row = el('tr');
    row.append(el('td', 'mono', entry.phone), el('td', '', entry.reason || ''), el('td', '', new Date(entry.created_at).toLocaleString()));
    const cell = el('td', 'act');
    const remove = el('button', 'danger', 'Remove');
    remove.onclick = () => act(async () => { await api('DELETE', `/api/v1/dnc/${encodeURIComponent(entry.phone)}`); loadDnc(); });
    cell.appendChild(remove);
    row.appendChild(cell);
    body.appendChild(row);
  }
}

// ---------------------------------------------------------------------------------------------
// The agent desk: queues (the wallboard), agents, offers with Accept / Reject for this agent's
// own, and the disposition form after its call.

/** The agent this page is the desk of (an agent token's), or null. */
function myAgent() { return state.org && state.org.agent_id ? state.org.agent_id : null; }

function agentName(id) { const a = state.agents.get(id); return a ? a.name : id; }

async function loadDesk() {
  const [agents, queues, codes] = await Promise.all([
    api('GET', '/api/v1/agents?limit=1000').catch(() => null),
    api('GET', '/api/v1/queues?limit=1000').catch(() => null),
    api('GET', '/api/v1/dispositions').catch(() => null),
  ]);
  if (agents) state.agents = new Map(agents.items.map((a) => [a.id, a]));
  if (queues) state.queues = new Map(queues.items.map((q) => [q.id, q]));
  if (codes) state.codes = codes.items;
  // An offer made before this page was open (or while it reconnected) still gets its pop-up.
  const mine = state.agents.get(myAgent());
  if (mine && mine.offer && !popups.has(mine.offer.call_id)) {
    const call = await api('GET', `/api/v1/calls/${mine.offer.call_id}`).catch(() => null);
    offerPopup({ call_id: mine.offer.call_id, call, offer: { ...mine.offer, agent_id: mine.id } });
  }
  mark('desk');
  schedule();
}

const STATE_TEXT = { idle: 'idle', offered: 'offered a call', busy: 'on a call', wrap_up: 'wrap-up', unavailable: 'unavailable' };

function renderDesk() {
  const mine = state.agents.get(myAgent());
  if (mine) {
    $('agent-name').textContent = mine.name;
    const badge = $('agent-state');
    badge.className = `status ${mine.state}`;
    badge.textContent = STATE_TEXT[mine.state] || mine.state;
    const select = $('agent-availability');
    if (document.activeElement !== select) select.value = mine.availability;
  }
  const cards = $('queue-cards');
  cards.textContent = '';
  const queues = [...state.queues.values()].sort((a, b) => (b.priority - a.priority) || a.name.localeCompare(b.name));
  for (const q of queues) {
    const card = el('article', q.waiting ? 'queue waiting' : 'queue');
    card.dataset.id = q.id;
    card.appendChild(el('h3', '', q.name + (q.number ? ` · ${q.number}` : '')));
    const figures = el('div', 'figures');
    const sla = q.answered ? `${Math.round((q.answered_within_sla / q.answered) * 100)}%` : '—';
    for (const [label, value, key] of [['waiting', q.waiting, 'waiting'], ['longest wait', ago(new Date(Date.now() - (q.longest_wait_s || 0) * 1000).toISOString(), Date.now()), 'longest'],
      ['answered', q.answered, 'answered'], [`within ${q.sla_s}s`, sla, 'sla'], ['abandoned', q.abandoned, 'abandoned']]) {
      const d = el('div');
      d.dataset.figure = key;
      d.append(el('b', '', String(value === undefined ? '—' : value)), el('span', '', label));
      figures.appendChild(d);
    }
    card.appendChild(figures);
    const agents = q.agents || {};
    card.appendChild(el('div', 'agents', ['idle', 'offered', 'busy', 'wrap_up', 'unavailable'].map((s) => `${agents[s] || 0} ${STATE_TEXT[s]}`).join(' · ')));
    cards.appendChild(card);
  }
  if (!queues.length) cards.appendChild(el('p', '', 'No queues yet: inbound calls pop up without being offered.'));
  const body = $('agent-rows');
  body.textContent = '';
  for (const a of [...state.agents.values()].sort((x, y) => x.name.localeCompare(y.name))) {
    const row = el('tr');
    row.dataset.id = a.id;
    const s = el('td');
    s.appendChild(el('span', `status ${a.state}`, STATE_TEXT[a.state] || a.state));
    row.append(el('td', '', a.name), s, el('td', '', a.availability + (a.availability_reason ? ` (${a.availability_reason.replace('_', ' ')})` : '')),
      el('td', 'mono', (a.extensions || []).join(', ')), el('td', '', (a.skills || []).join(', ')), el('td', '', ago(a.availability_since, Date.now())));
    const cell = el('td', 'owner');
    const link = el('button', '', 'Desk link');
    link.onclick = () => act(async () => {
      const issued = await api('POST', '/api/v1/tokens', { role: 'agent', agent_id: a.id });
      $('agent-link').textContent = `${a.name}: ${location.origin}/#token=${issued.token}`;
    });
    cell.appendChild(link);
    row.appendChild(cell);
    body.appendChild(row);
  }
}

/** This agent has no offer any more: its offer cards go (its screen pops stay). */
function dropOffers() {
  for (const [id, box] of popups) if (box.classList.contains('offer')) { box.remove(); popups.delete(id); }
}

/** An offer on an agent's page: its own get a card with Accept / Reject until the offer
 * expires; one offered elsewhere goes. */
function offerPopup(data) {
  const offer = data.offer;
  if (offer.agent_id !== myAgent()) { settle(data.call_id); return; }
  const box = callerCard(data.call_id, data, 'popup offer');
  box.appendChild(el('div', 'expires', 'For you'));
  const buttons = el('div', 'buttons');
  const accept = el('button', 'primary accept', 'Accept');
  const reject = el('button', 'danger reject', 'Reject');
  const answer = (verb) => act(async () => {
    accept.disabled = true; reject.disabled = true;
    try {
      const call = await api('POST', `/api/v1/calls/${data.call_id}/${verb}`, {});
      if (verb === 'accept' && call) putCall(call);
    } finally { settle(data.call_id); }
  });
  accept.onclick = () => answer('accept');
  reject.onclick = () => answer('reject');
  buttons.append(accept, reject);
  box.appendChild(buttons);
  showCard(data.call_id, box);
  const left = Math.max(1000, Date.parse(offer.expires_at) - Date.now());
  setTimeout(() => { if (popups.get(data.call_id) === box) settle(data.call_id); }, left);
}

/** After this agent's call ends: the disposition form, once per call. */
function maybeDispose(call) {
  const me = myAgent();
  if (!me || call.agent_id !== me || LIVE.has(call.status) || call.disposition || state.disposed.has(call.id)) return;
  state.disposed.add(call.id);
  const body = $('modal-body');
  body.replaceChildren(el('h2', '', `Disposition · ${call.from || ''}`));
  const form = el('form');
  form.id = 'disposition-form';
  const codes = el('select');
  codes.name = 'code';
  for (const c of state.codes) { const o = el('option', '', c.label); o.value = c.code; codes.appendChild(o); }
  const note = el('input');
  note.name = 'note';
  note.placeholder = 'Note (optional)';
  const when = el('input');
  when.name = 'callback_at';
  when.type = 'datetime-local';
  // A callback is a time to come: the engine refuses one in the past.
  when.min = new Date(Date.now() + 60000 - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  const whenLabel = el('label', '', 'Call back at');
  whenLabel.hidden = true;
  whenLabel.appendChild(when);
  codes.onchange = () => { whenLabel.hidden = codes.value !== 'CALLBACK'; };
  const save = el('button', 'primary', 'Save');
  save.type = 'submit';
  form.append(codes, note, whenLabel, save);
  form.onsubmit = (submit) => {
    submit.preventDefault();
    act(async () => {
      const wanted = { code: codes.value, note: note.value || undefined };
      if (codes.value === 'CALLBACK' && when.value) wanted.callback_at = new Date(when.value).toISOString();
      const disposed = await api('POST', `/api/v1/calls/${call.id}/disposition`, wanted);
      putCall(disposed);
      $('modal').close();
    });
  };
  body.appendChild(form);
  if (!$('modal').open) $('modal').showModal();
}

async function newAgent() {
  const name = prompt('Agent name:');
  if (!name) return;
  const extensions = (prompt('Extensions (comma separated, optional):') || '').split(',').map((x) => x.trim()).filter(Boolean);
  const phone = prompt('Phone or sip: URI the caller is connected to (optional):') || undefined;
  await act(async () => {
    const agent = await api('POST', '/api/v1/agents', { name, extensions, phone });
    state.agents.set(agent.id, agent);
    mark('desk');
    schedule();
  });
}

async function newQueue() {
  const name = prompt('Queue name:');
  if (!name) return;
  const skills = (prompt('Skills agents need (comma separated, optional):') || '').split(',').map((x) => x.trim()).filter(Boolean);
  await act(async () => {
    const queue = await api('POST', '/api/v1/queues', { name, skills });
    state.queues.set(queue.id, queue);
    mark('desk');
    schedule();
  });
}

function show(view) {
  for (const button of document.querySelectorAll('#tabs button')) button.classList.toggle('active', button.dataset.view === view);
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${view}`;
  if (view === 'calls') { for (const id of state.calls.keys()) state.dirty.calls.add(id); schedule(); }
  if (view === 'logs') loadLogs();
  if (view === 'dnc') loadDnc();
}

// ---------------------------------------------------------------------------------------------
// Wiring.

for (const button of document.querySelectorAll('#tabs button')) button.onclick = () => show(button.dataset.view);
$('board-filter').oninput = applyFilter;
$('new-campaign').onclick = newCampaign;
$('new-agent').onclick = newAgent;
$('new-queue').onclick = newQueue;
$('agent-availability').onchange = () => act(async () => {
  const agent = await api('PATCH', `/api/v1/agents/${myAgent()}`, { availability: $('agent-availability').value });
  state.agents.set(agent.id, agent);
  mark('desk');
  schedule();
});
$('log-refresh').onclick = loadLogs;
$('log-provider').onchange = loadLogs;
$('dnc-form').onsubmit = (submit) => {
  submit.preventDefault();
  act(async () => {
    await api('POST', '/api/v1/dnc', { phone: $('dnc-phone').value, reason: $('dnc-reason').value || undefined });
    $('dnc-phone').value = '';
    $('dnc-reason').value = '';
    loadDnc();
  });
};
$('make-viewer').onclick = () => act(async () => {
  const issued = await api('POST', '/api/v1/tokens', { role: 'viewer' });
  $('viewer-link').textContent = `${location.origin}/#token=${issued.token}`;
});
$('login-form').onsubmit = (submit) => {
  submit.preventDefault();
  signIn($('login-token').value.trim()).catch((error) => { $('login-error').textContent = error.message; });
};

(function start() {
  const token = readToken();
  if (!token) { $('login').hidden = false; return; }
  signIn(token).catch((error) => {
    localStorage.removeItem('switchboard.token');
    $('login').hidden = false;
    $('login-error').textContent = `That token did not open the dashboard (${error.message}).`;
  });
}());
