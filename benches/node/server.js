// The stack Switchboard replaces, as issue 13 describes it, for `cargo bench --bench ingest` to
// measure side by side: Express + socket.io + PostgreSQL through `pg`'s pool, one statement per
// change, each its own autocommit. It does the same job for a Twilio status callback as the
// engine: verify the signature, keep the raw webhook (a duplicate is answered as one), create or
// advance the call, append the timeline entry and the org event, push `call:updated` to the org's
// dashboards, answer JSON.
//
// Env: DATABASE_URL (a fresh PostgreSQL database; the tables are created here), TWILIO_TOKEN (the
// auth token the callbacks are signed with), ORG_ID, API_TOKEN (what a dashboard presents).
// Prints `listening <port>` once ready.
'use strict';
const crypto = require('node:crypto');
const http = require('node:http');
const express = require('express');
const { Server } = require('socket.io');
const { Pool } = require('pg');

const { DATABASE_URL, TWILIO_TOKEN, ORG_ID, API_TOKEN } = process.env;
const pool = new Pool({ connectionString: DATABASE_URL, max: 10 });

const SCHEMA = `
CREATE TABLE IF NOT EXISTS inbox (id uuid PRIMARY KEY, org_id text NOT NULL, dedupe_key text NOT NULL,
  body text NOT NULL, received_at timestamptz NOT NULL, UNIQUE (org_id, dedupe_key));
CREATE TABLE IF NOT EXISTS calls (id uuid PRIMARY KEY, org_id text NOT NULL, provider_call_id text NOT NULL,
  status text NOT NULL, rank int NOT NULL, from_number text, to_number text, duration_s int,
  created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, UNIQUE (org_id, provider_call_id));
CREATE TABLE IF NOT EXISTS call_events (id uuid PRIMARY KEY, call_id uuid NOT NULL, raw_status text,
  status_after text NOT NULL, data jsonb NOT NULL, received_at timestamptz NOT NULL);
CREATE INDEX IF NOT EXISTS call_events_call ON call_events (call_id);
CREATE TABLE IF NOT EXISTS org_events (seq bigserial PRIMARY KEY, org_id text NOT NULL, type text NOT NULL,
  data jsonb NOT NULL, at timestamptz NOT NULL);
`;

const WORDS = { queued: 'queued', initiated: 'initiated', ringing: 'ringing', 'in-progress': 'in_progress',
  completed: 'completed', busy: 'busy', failed: 'failed', 'no-answer': 'no_answer', canceled: 'canceled' };
const RANK = { queued: 0, initiated: 1, ringing: 2, in_progress: 3, completed: 4, busy: 4, failed: 4,
  no_answer: 4, canceled: 4 };

/** Twilio's signature: HMAC-SHA1 over the URL and the sorted parameters, base64. */
function signed(url, params, presented) {
  const data = Object.keys(params).sort().reduce((acc, k) => acc + k + params[k], url);
  const expected = crypto.createHmac('sha1', TWILIO_TOKEN).update(data).digest();
  const given = Buffer.from(presented || '', 'base64');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

const app = express();
app.use(express.urlencoded({ extended: false }));
const server = http.createServer(app);
const io = new Server(server, { serveClient: false });

io.use((socket, next) =>
  socket.handshake.query.token === API_TOKEN ? next() : next(new Error('unauthorized')));
io.on('connection', (socket) => socket.join(ORG_ID));

app.post('/webhooks/twilio/:org/status', async (req, res) => {
  try {
    const url = `${req.protocol}://${req.get('host')}${req.originalUrl}`;
    if (req.params.org !== ORG_ID || !signed(url, req.body, req.get('X-Twilio-Signature'))) {
      return res.status(401).json({ error: 'unauthorized', message: 'signature' });
    }
    const p = req.body;
    const status = WORDS[p.CallStatus];
    if (!p.CallSid || !status) return res.status(400).json({ error: 'invalid_payload' });
    const key = `twilio:${p.CallSid}:${p.CallStatus}:${p.SequenceNumber || ''}`;
    const now = new Date();
    const inbox = await pool.query(
      'INSERT INTO inbox (id, org_id, dedupe_key, body, received_at) VALUES ($1, $2, $3, $4, $5) ' +
        'ON CONFLICT (org_id, dedupe_key) DO NOTHING RETURNING id',
      [crypto.randomUUID(), ORG_ID, key, new URLSearchParams(p).toString(), now]);
    const found = await pool.query(
      'SELECT * FROM calls WHERE org_id = $1 AND provider_call_id = $2', [ORG_ID, p.CallSid]);
    let call = found.rows[0];
    if (inbox.rowCount === 0) return res.json({ status: 'duplicate', call_id: call && call.id });
    const duration = p.CallDuration ? parseInt(p.CallDuration, 10) : null;
    let type = 'call:updated';
    if (!call) {
      type = 'call:created';
      const inserted = await pool.query(
        'INSERT INTO calls (id, org_id, provider_call_id, status, rank, from_number, to_number, duration_s, ' +
          'created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ' +
          'ON CONFLICT (org_id, provider_call_id) DO UPDATE SET updated_at = EXCLUDED.updated_at RETURNING *',
        [crypto.randomUUID(), ORG_ID, p.CallSid, status, RANK[status], p.From, p.To, duration, now]);
      call = inserted.rows[0];
    }
    if (RANK[status] > call.rank) {
      const updated = await pool.query(
        'UPDATE calls SET status = $1, rank = $2, duration_s = COALESCE($3, duration_s), updated_at = $4 ' +
          'WHERE id = $5 RETURNING *', [status, RANK[status], duration, now, call.id]);
      call = updated.rows[0];
    }
    await pool.query(
      'INSERT INTO call_events (id, call_id, raw_status, status_after, data, received_at) ' +
        'VALUES ($1, $2, $3, $4, $5, $6)',
      [crypto.randomUUID(), call.id, p.CallStatus, call.status, JSON.stringify(p), now]);
    const data = { id: call.id, provider_call_id: call.provider_call_id, status: call.status,
      from: call.from_number, to: call.to_number, duration_s: call.duration_s };
    const event = await pool.query(
      'INSERT INTO org_events (org_id, type, data, at) VALUES ($1, $2, $3, $4) RETURNING seq',
      [ORG_ID, type, JSON.stringify(data), now]);
    io.to(ORG_ID).emit(type, { type, seq: Number(event.rows[0].seq), data });
    res.json({ status: 'accepted', call_id: call.id });
  } catch (error) {
    res.status(503).json({ error: 'database_unavailable', message: String(error.message) });
  }
});

pool.query(SCHEMA).then(() => {
  server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
}, (error) => {
  console.error(`cannot create the tables: ${error.message}`);
  process.exit(1);
});
