'use strict';
// The "one voucher per user" button and the seat-booking flow over
// storagebox's item banks.  The user's id is sent as JSON {"user": "..."} or
// as a form field user=...
//
//   POST /banks/{bank}/claim    200 {"bank","user","item"}, 410 when sold out
//   POST /banks/{bank}/hold     same, the item held for "seconds" (default 600)
//   POST /banks/{bank}/confirm  200 {"item"}, 409 when the user holds nothing
//                               (never held, released, or the hold expired)
//   POST /banks/{bank}/release  200 {"item"}: the item given back, or null
//
// A repeat returns the same item.  Bad input is a 400 with a JSON body, an
// unknown bank a 404.  Stateless: run any number of copies on one database.
//
// Environment: PORT (default 8080; 0 picks a free port), HOST (default: every interface),
// DATABASE_URL or the libpq variables (PGHOST, PGPORT, PGUSER, PGDATABASE,
// PGPASSWORD, ...), POOL_SIZE (default 10).
const http = require('node:http');
const { Pool, DatabaseError } = require('pg');

const pool = new Pool({
  connectionString: process.env.DATABASE_URL, // unset: pg reads PGHOST, PGPORT, ...
  max: Number(process.env.POOL_SIZE || 10),
});
pool.on('error', (err) => console.error('idle connection lost:', err.message));

// One statement per action, each one call in autocommit.
const actions = {
  claim: { text: 'SELECT sb_fetch_item($1, $2) AS item', empty: [410, 'sold out'] },
  hold: { text: 'SELECT sb_hold_item($1, $2, make_interval(secs => $3)) AS item', empty: [410, 'sold out'] },
  confirm: { text: 'SELECT sb_confirm($1, $2) AS item',
             empty: [409, 'nothing to confirm: no hold, released, or the hold expired'] },
  release: { text: 'SELECT sb_release($1, $2) AS item', empty: null },
};

class BadRequest extends Error {}

function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

// SQLSTATE -> HTTP: 42704 unknown bank, class 22 bad argument (empty or too
// long id, bad hold), 42501 no right on the bank.  A single-id call in
// autocommit raises neither 40001 nor 40P01; should one come, the client
// may retry.
function sendDbError(res, err) {
  if (!(err instanceof DatabaseError)) {
    console.error('database unreachable:', err.message);
    return sendJson(res, 503, { error: 'database unavailable' });
  }
  const extra = { error: err.message, detail: err.detail };
  if (err.code === '42704') return sendJson(res, 404, extra);
  if (err.code.startsWith('22')) return sendJson(res, 400, extra);
  if (err.code === '42501') return sendJson(res, 403, extra);
  if (err.code === '40001' || err.code === '40P01') return sendJson(res, 503, { error: 'try again' });
  console.error('database error:', err.code, err.message);
  return sendJson(res, 500, { error: 'internal error' });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > 16384) reject(new BadRequest('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function parseInput(req) {
  const text = await readBody(req);
  const type = (req.headers['content-type'] || '').split(';')[0].trim();
  if (type === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(text));
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BadRequest('the body must be JSON {"user": "..."} or a form with user=...');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequest('the body must be a JSON object');
  }
  return value;
}

function userOf(input) {
  if (typeof input.user !== 'string' || input.user === '') {
    throw new BadRequest('"user" must be a non-empty string');
  }
  return input.user;
}

function secondsOf(input) {
  if (input.seconds === undefined) return 600;
  const s = String(input.seconds);
  if (!/^[0-9]{1,9}$/.test(s) || Number(s) < 1) {
    throw new BadRequest('"seconds" must be a whole number of seconds, 1 or more');
  }
  return Number(s);
}

async function handle(req, res) {
  const m = /^\/banks\/([^/]+)\/(claim|hold|confirm|release)$/.exec(req.url.split('?')[0]);
  if (!m) return sendJson(res, 404, { error: 'not found' });
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return sendJson(res, 405, { error: 'method not allowed' });
  }
  const action = actions[m[2]];
  let bank, user, values;
  try {
    try {
      bank = decodeURIComponent(m[1]);
    } catch {
      throw new BadRequest('bad bank name in the path');
    }
    const input = await parseInput(req);
    user = userOf(input);
    values = m[2] === 'hold' ? [bank, user, secondsOf(input)] : [bank, user];
  } catch (err) {
    if (err instanceof BadRequest) return sendJson(res, 400, { error: err.message });
    throw err;
  }
  let item;
  try {
    ({ rows: [{ item }] } = await pool.query({ name: m[2], text: action.text, values }));
  } catch (err) {
    return sendDbError(res, err);
  }
  if (item === null && action.empty) {
    const [status, error] = action.empty;
    return sendJson(res, status, { error, bank, user });
  }
  return sendJson(res, 200, { bank, user, item });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
  });
});

function stop() {
  server.close();
  if (server.closeIdleConnections) server.closeIdleConnections();
  pool.end().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

const port = Number(process.env.PORT || 8080);
server.listen(port, process.env.HOST, () => {
  console.log(`voucher-http listening on ${process.env.HOST || '*'}:${server.address().port}`);
});
