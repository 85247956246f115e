'use strict';
// PEZ's HTTP API over storagebox's number dispensers.
//
//   GET /v1/forward          30010                                  (text/plain)
//   GET /v1/reverse          9223372036854775807                    (text/plain)
//   GET /v2/forward?count=5  [30011, 30012, 30013, 30014, 30015]    (application/json)
//   GET /v2/forward          [30016]
//   GET /v2/reverse?count=N  the same, counting down
//
// Stateless: every number comes from one SQL call on a pooled connection, so
// any number of copies can serve one database.  A bad count (0, negative,
// not a whole number, over storagebox.max_count) is a 400 with a JSON body.
//
// Environment: PORT (default 8080; 0 picks a free port), HOST (default: every interface),
// DATABASE_URL or the libpq variables (PGHOST, PGPORT, PGUSER, PGDATABASE,
// PGPASSWORD, ...), POOL_SIZE (default 10), and PEZ_FORWARD_DISPENSER /
// PEZ_REVERSE_DISPENSER to serve other dispensers than the built-in
// `forward` and `reverse` (sb_forward()/sb_reverse()).
const http = require('node:http');
const { Pool, DatabaseError } = require('pg');

const pool = new Pool({
  connectionString: process.env.DATABASE_URL, // unset: pg reads PGHOST, PGPORT, ...
  max: Number(process.env.POOL_SIZE || 10),
});
pool.on('error', (err) => console.error('idle connection lost:', err.message));

// One statement per route, prepared once per connection (named).  Numbers
// travel as text: a bigint does not fit a JavaScript number.
function statements(direction, dispenser) {
  if (!dispenser) {
    const fn = direction === 'forward' ? 'sb_forward' : 'sb_reverse';
    return {
      one: () => ({ name: `${fn}1`, text: `SELECT ${fn}()::text AS v`, values: [] }),
      many: (n) => ({ name: `${fn}n`, text: `SELECT ${fn}($1)::text AS v`, values: [n] }),
    };
  }
  return {
    one: () => ({ name: 'next1', text: 'SELECT sb_next($1)::text AS v', values: [dispenser] }),
    many: (n) => ({ name: 'nextn', text: 'SELECT sb_next($1, $2)::text AS v', values: [dispenser, n] }),
  };
}
const routes = {
  forward: statements('forward', process.env.PEZ_FORWARD_DISPENSER),
  reverse: statements('reverse', process.env.PEZ_REVERSE_DISPENSER),
};

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
function sendError(res, status, error, extra) {
  send(res, status, 'application/json', JSON.stringify({ error, ...extra }));
}

// Database errors: a count the server refuses (22023: below 1, over
// storagebox.max_count or over the dispenser's range) is the client's
// fault.  The hint, meant for the database's administrator, is left out.
function sendDbError(res, err) {
  if (!(err instanceof DatabaseError)) {
    console.error('database unreachable:', err.message);
    return sendError(res, 503, 'database unavailable');
  }
  if (err.code.startsWith('22')) {
    return sendError(res, 400, err.message, { detail: err.detail });
  }
  console.error('database error:', err.code, err.message);
  return sendError(res, 500, 'internal error');
}

async function handle(req, res) {
  let url;
  try {
    url = new URL(req.url, 'http://x');
  } catch {
    return sendError(res, 400, 'bad URL');
  }
  const m = /^\/(v1|v2)\/(forward|reverse)$/.exec(url.pathname);
  if (!m) return sendError(res, 404, 'not found');
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET');
    return sendError(res, 405, 'method not allowed');
  }
  const [, version, direction] = m;
  const route = routes[direction];
  try {
    if (version === 'v1') {
      const { rows } = await pool.query(route.one());
      return send(res, 200, 'text/plain; charset=utf-8', rows[0].v);
    }
    let count = 1;
    const given = url.searchParams.get('count');
    if (given !== null) {
      // The range, 1 to storagebox.max_count, is checked by the database
      // on every call: the setting may differ per role and per database, and
      // its error names the limit.
      if (!/^-?[0-9]{1,7}$/.test(given)) {
        return sendError(res, 400, 'count must be a whole number', { detail: `The count given was "${given}".` });
      }
      count = Number(given);
    }
    const { rows } = await pool.query(route.many(count));
    // '{30011,30012}' -> '[30011, 30012]'
    return send(res, 200, 'application/json', `[${rows[0].v.slice(1, -1).split(',').join(', ')}]`);
  } catch (err) {
    return sendDbError(res, err);
  }
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendError(res, 500, 'internal error');
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
  console.log(`pez-http listening on ${process.env.HOST || '*'}:${server.address().port}`);
});
