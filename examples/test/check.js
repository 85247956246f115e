'use strict';
// Checks the example services over HTTP, with Node's own HTTP client, and
// the database with psql.  Called by examples/run_tests.sh, which starts the
// services; prints TAP lines numbered from TAP_START + 1 and writes the last
// number to TAP_LAST_FILE.
//
// Environment: PEZ_URLS and VOUCHER_URLS (comma-separated base URLs of the
// copies), PEZ_SMALL_URL (a copy serving the dispensers t_small_fwd and
// t_small_rev, 1..10, as the role sb_http_app), FLAVOUR (storagebox or
// storagebox_sql), the libpq variables for psql, and optionally
// SB_HTTP_REQUESTS (default 21000), SB_HTTP_CLIENTS (default 48), SEED.
const http = require('node:http');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const os = require('node:os');
const { performance } = require('node:perf_hooks');

const pezUrls = process.env.PEZ_URLS.split(',');
const voucherUrls = process.env.VOUCHER_URLS.split(',');
const smallUrl = process.env.PEZ_SMALL_URL;
const flavour = process.env.FLAVOUR || 'storagebox';
const requests = Number(process.env.SB_HTTP_REQUESTS || 21000);
const clients = Number(process.env.SB_HTTP_CLIENTS || 48);
const seed = Number(process.env.SEED || Date.now() % 1000000);

// ---- TAP -----------------------------------------------------------------
let n = Number(process.env.TAP_START || 0);
let failures = 0;
function ok(cond, name, diag) {
  n += 1;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`);
  if (!cond) {
    failures += 1;
    if (diag !== undefined) {
      for (const line of String(typeof diag === 'string' ? diag : JSON.stringify(diag)).split('\n').slice(0, 20)) {
        console.log(`#   ${line}`);
      }
    }
  }
  return cond;
}
function is(got, want, name) {
  return ok(got === want, name, `got:  ${JSON.stringify(got)}\nwant: ${JSON.stringify(want)}`);
}
const note = (s) => console.log(`# ${s}`);

// ---- helpers -------------------------------------------------------------
const rand = (() => { // mulberry32: a seeded generator, so a failing run can be repeated
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
})();
const pick = (list) => list[Math.floor(rand() * list.length)];
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

function psql(sql) {
  return execFileSync('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim();
}

// Kept-alive connections, each reused in turn (fifo) and closed by this side
// after 2 s unused: the server closes one after 5 s (keepAliveTimeout), and
// a request sent on a connection that the server is closing at that moment
// fails without being served (a race that HTTP/1.1 leaves to the client).
const agent = new http.Agent({ keepAlive: true, maxSockets: Math.ceil(clients / 3) + 4, scheduling: 'fifo',
                               timeout: 2000 });
// One HTTP request; resolves to {status, type, body, at} (at: wall-clock ms
// when the answer was complete), never rejects (a failure is status 0).
function request(method, url, body, type) {
  return new Promise((resolve) => {
    const headers = {};
    if (body !== undefined) {
      headers['Content-Type'] = type || 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const req = http.request(url, { method, agent, headers, timeout: 30000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode,
        type: res.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.timeOrigin + performance.now(),
      }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, type: '', body: `${err} (reused connection: ${req.reusedSocket})`,
                                       at: 0 }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}
const get = (url) => request('GET', url);
const post = (url, value, type) =>
  request('POST', url, typeof value === 'string' ? value : JSON.stringify(value), type);
function json(body) {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

// Runs jobs (functions returning promises) with `width` in flight.
async function runAll(jobs, width) {
  const results = new Array(jobs.length);
  let next = 0;
  async function worker() {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  }
  await Promise.all(Array.from({ length: width }, worker));
  return results;
}

const MAX = 9223372036854775807n; // the built-in dispensers' range is 1..MAX
function restart(dispenser, value) {
  const seq = psql(`SELECT seq FROM storagebox_data.dispenser WHERE dispenser_name = '${dispenser}'`);
  psql(`ALTER SEQUENCE ${seq} RESTART WITH ${value}`);
}

// ---- PEZ: the forms, byte for byte ----------------------------------------
async function pezForms() {
  const [a, b, c] = pezUrls;
  restart('forward', 30010);
  restart('reverse', 30010);
  let r = await get(`${a}/v1/forward`);
  is(`${r.status} ${r.type} ${r.body}`, '200 text/plain; charset=utf-8 30010', '/v1/forward: one number as plain text');
  r = await get(`${b}/v2/forward?count=5`);
  is(`${r.status} ${r.type} ${r.body}`, '200 application/json [30011, 30012, 30013, 30014, 30015]',
     '/v2/forward?count=5 on another copy: the next five as a JSON list');
  r = await get(`${c}/v2/forward`);
  is(r.body, '[30016]', '/v2/forward without a count on a third copy: [30016]');
  r = await get(`${a}/v2/forward?count=1`);
  is(r.body, '[30017]', '/v2/forward?count=1: a list of one');
  r = await get(`${a}/v1/reverse`);
  is(`${r.status} ${r.type} ${r.body}`, '200 text/plain; charset=utf-8 30010', '/v1/reverse: one number as plain text');
  r = await get(`${b}/v2/reverse?count=3`);
  is(r.body, '[30009, 30008, 30007]', '/v2/reverse?count=3 counts down');
  r = await get(`${c}/v2/reverse`);
  is(r.body, '[30006]', '/v2/reverse without a count: [30006]');
  r = await get(`${a}/v1/reverse`);
  is(r.body, '30005', '/v1/reverse goes on counting down');

  // the wrap at the end of the range, and numbers past 2^53 kept exact
  restart('forward', MAX - 2n);
  r = await get(`${b}/v2/forward?count=5`);
  is(r.body, '[9223372036854775805, 9223372036854775806, 9223372036854775807, 1, 2]',
     '/v2/forward wraps from 9223372036854775807 to 1 inside one list');
  r = await get(`${c}/v1/forward`);
  is(r.body, '3', '/v1/forward goes on after the wrap');
  restart('reverse', 2);
  r = await get(`${a}/v2/reverse?count=4`);
  is(r.body, '[2, 1, 9223372036854775807, 9223372036854775806]',
     '/v2/reverse wraps from 1 to 9223372036854775807 inside one list');
  r = await get(`${b}/v1/reverse`);
  is(r.body, '9223372036854775805', '/v1/reverse goes on after the wrap');

  // the cap, and each bad count
  restart('forward', 1000);
  r = await get(`${c}/v2/forward?count=100`);
  const hundred = Array.from({ length: 100 }, (_, i) => 1000 + i).join(', ');
  is(r.body, `[${hundred}]`, '/v2/forward?count=100 (storagebox.max_count, default 100): 100 numbers');
  const bad = ['101', '0', '-1', '-100', 'abc', '', '1.5', '1e2', '0x10', '5abc', ' 5', '99999999999', '1000001'];
  for (const count of bad) {
    r = await get(`${pick(pezUrls)}/v2/forward?count=${encodeURIComponent(count)}`);
    const body = json(r.body);
    ok(r.status === 400 && r.type === 'application/json' && body && typeof body.error === 'string',
       `/v2/forward?count=${JSON.stringify(count)}: 400 with a JSON error`, r);
  }
  r = await get(`${a}/v2/reverse?count=101`);
  ok(r.status === 400 && /between 1 and 100/.test((json(r.body) || {}).error),
     '/v2/reverse?count=101: 400 naming the cap, 100', r);
  r = await get(`${a}/v1/forward`);
  is(r.body, '1100', 'no bad request took a number');
  r = await get(`${a}/v3/forward`);
  ok(r.status === 404 && json(r.body) !== undefined, 'an unknown path: 404 with a JSON error', r);
  r = await request('POST', `${a}/v1/forward`);
  ok(r.status === 405 && json(r.body) !== undefined, 'POST /v1/forward: 405 with a JSON error', r);
}

// ---- PEZ over other dispensers, as an ordinary role with its own cap -------
async function pezSmall() {
  // t_small_fwd and t_small_rev: 1..10; the cap is 7: run_tests.sh set it
  // for the role in the C flavour; the SQL flavour keeps it in a table, for
  // every role, so it is set here and put back at the end.
  if (flavour === 'storagebox_sql') {
    psql('INSERT INTO storagebox_data.setting (max_count) VALUES (7) '
         + 'ON CONFLICT (one_row) DO UPDATE SET max_count = excluded.max_count');
  }
  try {
    await pezSmallChecks();
  } finally {
    if (flavour === 'storagebox_sql') psql('DELETE FROM storagebox_data.setting');
  }
}
async function pezSmallChecks() {
  let r = await get(`${smallUrl}/v2/forward?count=4`);
  is(r.body, '[1, 2, 3, 4]', 'PEZ_FORWARD_DISPENSER: /v2/forward?count=4 from a dispenser of 1..10');
  r = await get(`${smallUrl}/v2/forward?count=4`);
  is(r.body, '[5, 6, 7, 8]', 'and the next four');
  r = await get(`${smallUrl}/v2/forward?count=4`);
  is(r.body, '[9, 10, 1, 2]', 'and four across the wrap at 10');
  r = await get(`${smallUrl}/v1/reverse`);
  is(r.body, '10', 'PEZ_REVERSE_DISPENSER: /v1/reverse starts at 10');
  r = await get(`${smallUrl}/v2/reverse?count=7`);
  is(r.body, '[9, 8, 7, 6, 5, 4, 3]', '/v2/reverse?count=7: the cap set for this role (or database) is 7');
  r = await get(`${smallUrl}/v2/reverse?count=8`);
  ok(r.status === 400 && /between 1 and 7/.test((json(r.body) || {}).error),
     '/v2/reverse?count=8: 400 naming the cap, 7', r);
  r = await get(`${smallUrl}/v1/reverse`);
  is(r.body, '2', 'the refused count took no number');
}

// ---- PEZ: a concurrent run over the copies --------------------------------
function checkRun(direction, results, start, total) {
  const step = direction === 'forward' ? 1n : -1n;
  const wrap = (v) => (v > MAX ? 1n : v < 1n ? MAX : v);
  let badBatch = null;
  let dup = null;
  const seen = new Set();
  let handed = 0;
  for (const { batch, want } of results) {
    if (batch.length !== want && !badBatch) badBatch = { want, got: batch.length };
    for (let i = 0; i < batch.length; i += 1) {
      const v = BigInt(batch[i]);
      if ((v < 1n || v > MAX || (i > 0 && wrap(BigInt(batch[i - 1]) + step) !== v)) && !badBatch) {
        badBatch = batch;
      }
      const key = batch[i];
      if (seen.has(key) && !dup) dup = key;
      seen.add(key);
      handed += 1;
    }
  }
  ok(!badBatch, `${direction}: every batch has the count asked for and is contiguous in the range (wrap included)`,
     badBatch);
  ok(!dup, `${direction}: no number handed out twice (${handed} numbers)`, dup);
  // No number is lost either: the answers together are exactly the `total`
  // numbers from `start` on.
  let missing = null;
  let v = start;
  for (let i = 0; i < total && !missing; i += 1) {
    if (!seen.has(String(v))) missing = String(v);
    v = wrap(v + step);
  }
  ok(!missing && handed === total, `${direction}: the answers are exactly the ${total} numbers from ${start} on`,
     { missing, handed, total });
  const wrapped = results.some(({ batch }) => batch.length && (batch.includes(String(MAX)) || batch.includes('1')));
  ok(wrapped, `${direction}: the run crossed the wrap`);
  return v; // the next number
}

async function pezLoad() {
  const plan = [];
  const totals = { forward: 0, reverse: 0 };
  for (let i = 0; i < requests; i += 1) {
    const direction = rand() < 0.5 ? 'forward' : 'reverse';
    const kind = rand();
    let path;
    let want;
    if (kind < 0.4) {
      path = `/v1/${direction}`;
      want = 1;
    } else if (kind < 0.5) {
      path = `/v2/${direction}`;
      want = 1;
    } else {
      want = randInt(1, 100);
      path = `/v2/${direction}?count=${want}`;
    }
    totals[direction] += want;
    plan.push({ url: pick(pezUrls) + path, direction, want, v1: kind < 0.4 });
  }
  // Start each dispenser so that the run crosses its wrap halfway.
  const fstart = MAX - BigInt(Math.floor(totals.forward / 2)) + 1n;
  const rstart = BigInt(Math.floor(totals.reverse / 2));
  restart('forward', fstart);
  restart('reverse', rstart);
  const t0 = performance.now();
  const answers = await runAll(plan.map((p) => () => get(p.url)), clients);
  const seconds = (performance.now() - t0) / 1000;
  const failed = answers.filter((r) => r.status !== 200);
  ok(failed.length === 0, `${requests} requests over ${pezUrls.length} copies, ${clients} at a time: all 200`,
     failed.slice(0, 3));
  const byDirection = { forward: [], reverse: [] };
  let malformed = null;
  answers.forEach((r, i) => {
    const p = plan[i];
    let batch = [];
    if (r.status === 200) {
      if (p.v1 ? /^[0-9]+$/.test(r.body) : /^\[[0-9]+(, [0-9]+)*\]$/.test(r.body)) {
        batch = p.v1 ? [r.body] : r.body.slice(1, -1).split(', ');
      } else if (!malformed) {
        malformed = r.body;
      }
    }
    byDirection[p.direction].push({ batch, want: p.want });
  });
  ok(!malformed, 'every answer has its form: v1 a number, v2 a list', malformed);
  const fnext = checkRun('forward', byDirection.forward, fstart, totals.forward);
  const rnext = checkRun('reverse', byDirection.reverse, rstart, totals.reverse);
  const next = psql("SELECT string_agg(next_value::text, ' ' ORDER BY dispenser) FROM sb_dispensers "
                    + "WHERE dispenser IN ('forward', 'reverse')");
  is(next, `${fnext} ${rnext}`, 'sb_dispensers: each dispenser stands right after the last number handed out');
  const numbers = totals.forward + totals.reverse;
  note(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  note(`PEZ run: ${requests} requests (${numbers} numbers) over ${pezUrls.length} copies in ${seconds.toFixed(2)} s: `
       + `${Math.round(requests / seconds)} requests/s, ${Math.round(numbers / seconds)} numbers/s (seed ${seed})`);
  return { requests, seconds };
}

// sb_forward() straight from pgbench, for comparison, with as many clients
// as the services' pools hold.
function pgbenchForward() {
  const file = `${process.env.TAP_LAST_FILE}.pgbench.sql`;
  fs.writeFileSync(file, 'SELECT sb_forward();\n');
  try {
    const out = execFileSync('pgbench', ['-n', '-M', 'prepared', '-f', file, '-c', '24', '-j', '2', '-T', '3'],
                             { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const tps = /tps = ([0-9.]+) \(without initial connection time\)/.exec(out);
    note(`pgbench SELECT sb_forward() in the same run, 24 clients, 3 s: ${tps ? Math.round(tps[1]) : '?'} calls/s`);
  } catch (err) {
    note(`pgbench did not run: ${String(err.message).split('\n')[0]}`);
  }
}

// ---- vouchers: 1,000 codes, 5,000 users pressing 1 to 3 times --------------
async function vouchers() {
  const codes = 1000;
  const users = 5000;
  psql("SELECT sb_create_bank('vouchers')");
  psql(`SELECT sb_add_items('vouchers', ARRAY(SELECT 'V-' || lpad(g::text, 4, '0') FROM generate_series(1, ${codes}) g))`);
  const presses = [];
  for (let u = 1; u <= users; u += 1) {
    const times = randInt(1, 3);
    for (let t = 0; t < times; t += 1) presses.push(`user-${u}`);
  }
  for (let i = presses.length - 1; i > 0; i -= 1) { // shuffle: a user's presses land anywhere
    const j = Math.floor(rand() * (i + 1));
    [presses[i], presses[j]] = [presses[j], presses[i]];
  }
  const t0 = performance.now();
  const answers = await runAll(presses.map((user) => () => post(`${pick(voucherUrls)}/banks/vouchers/claim`, { user })),
                               clients);
  const seconds = (performance.now() - t0) / 1000;

  const odd = answers.filter((r) => !(r.status === 200 || r.status === 410));
  ok(odd.length === 0, `${presses.length} presses by ${users} users over ${voucherUrls.length} copies: `
     + 'every answer is 200 or 410', odd.slice(0, 3));
  const userCode = new Map(); // user -> code
  const codeUser = new Map(); // code -> user
  const soldOutUsers = new Set();
  let twoCodes = null;
  let twoUsers = null;
  let soldOutLast = 0; // the latest time a 410 was received, and the earliest
  let soldOutFirst = Infinity;
  answers.forEach((r, i) => {
    const user = presses[i];
    if (r.status === 410) {
      soldOutUsers.add(user);
      soldOutFirst = Math.min(soldOutFirst, r.at);
      soldOutLast = Math.max(soldOutLast, r.at);
      return;
    }
    if (r.status !== 200) return;
    const { item } = json(r.body) || {};
    if (userCode.has(user) && userCode.get(user) !== item && !twoCodes) twoCodes = { user, a: userCode.get(user), b: item };
    userCode.set(user, item);
    if (codeUser.has(item) && codeUser.get(item) !== user && !twoUsers) twoUsers = { item, a: codeUser.get(item), b: user };
    codeUser.set(item, user);
  });
  ok(!twoUsers, 'no code went to two users', twoUsers);
  ok(!twoCodes, 'a user always got the same code', twoCodes);
  const both = [...soldOutUsers].filter((u) => userCode.has(u));
  ok(both.length === 0, 'no user was told "sold out" and also got a code', both.slice(0, 3));
  is(userCode.size, codes, 'exactly 1,000 users got a code');
  is(codeUser.size, codes, 'and the 1,000 codes are all different');
  const allCodes = [...codeUser.keys()].every((c) => /^V-[0-9]{4}$/.test(c));
  ok(allCodes, 'every code is one of the bank\'s');
  is(soldOutUsers.size, users - codes, 'the other 4,000 users were told "sold out" (410)');
  const bank = psql("SELECT concat_ws(' ', items_total, items_handed_out, items_left, items_held) FROM sb_banks "
                    + "WHERE bank = 'vouchers'");
  is(bank, '1000 1000 0 0', 'sb_banks agrees: 1000 total, 1000 handed out, 0 left, 0 held');
  const holders = psql("SELECT string_agg(dedup_id || '=' || item, ',' ORDER BY dedup_id COLLATE \"C\") "
                       + "FROM sb_holders('vouchers')");
  const expected = [...userCode.entries()].sort(([x], [y]) => (x < y ? -1 : 1)) // ASCII: the same as COLLATE "C"
    .map(([u, c]) => `${u}=${c}`).join(',');
  ok(holders === expected, 'sb_holders lists exactly the users and codes that the HTTP answers gave',
     { holders: holders.slice(0, 200), expected: expected.slice(0, 200) });
  // "Sold out" only once all the codes were gone: every 410 was received
  // after the last code had been taken (held_since, the same clock; 1 ms for
  // the client's clock reading).
  const lastTaken = Number(psql("SELECT extract(epoch FROM max(held_since)) * 1000 FROM sb_holders('vouchers')"));
  ok(soldOutFirst + 1 >= lastTaken, 'every "sold out" came after the last of the 1,000 codes was taken',
     { firstSoldOut: new Date(soldOutFirst).toISOString(), lastTaken: new Date(lastTaken).toISOString() });
  note(`voucher run: ${presses.length} presses over ${voucherUrls.length} copies in ${seconds.toFixed(2)} s: `
       + `${Math.round(presses.length / seconds)} requests/s`);
  return { requests: presses.length, seconds };
}

// ---- seat booking: hold, confirm, release ----------------------------------
async function seats() {
  const [a, b, c] = voucherUrls;
  psql("SELECT sb_create_bank('seats')");
  psql("SELECT sb_add_items('seats', ARRAY['S1', 'S2', 'S3'])");
  const call = async (url, action, value, type) => {
    const r = await post(`${url}/banks/seats/${action}`, value, type);
    return { status: r.status, item: (json(r.body) || {}).item, body: r.body };
  };
  const said = (r) => `${r.status} ${r.item === undefined ? '-' : r.item}`;
  is(said(await call(a, 'hold', { user: 'order-1', seconds: 600 })), '200 S1', 'hold: order-1 holds S1');
  is(said(await call(b, 'hold', { user: 'order-1', seconds: 600 })), '200 S1', 'hold again on another copy: the same seat');
  is(said(await call(c, 'hold', { user: 'order-2' })), '200 S2', 'hold without "seconds" (600): order-2 holds S2');
  is(said(await call(a, 'hold', 'user=order-3&seconds=600', 'application/x-www-form-urlencoded')), '200 S3',
     'hold from a form: order-3 holds S3');
  let r = await call(b, 'hold', { user: 'order-4' });
  ok(r.status === 410 && json(r.body).error === 'sold out', 'hold on a full bank: 410 sold out', r);
  is(said(await call(c, 'confirm', { user: 'order-1' })), '200 S1', 'confirm: order-1 keeps S1 for good');
  is(said(await call(a, 'confirm', { user: 'order-1' })), '200 S1', 'confirm again: harmless');
  is(psql("SELECT string_agg(dedup_id || ':' || (hold_expires IS NULL), ',' ORDER BY dedup_id) FROM sb_holders('seats')"),
     'order-1:true,order-2:false,order-3:false', 'sb_holders: order-1 permanent, order-2 and order-3 on holds');
  is(said(await call(b, 'release', { user: 'order-2' })), '200 S2', 'release: order-2 gives S2 back');
  is(said(await call(c, 'release', { user: 'order-2' })), '200 null', 'release again: nothing held (item null)');
  is(said(await call(a, 'confirm', { user: 'order-2' })), '409 -', 'confirm after release: 409');
  is(said(await call(b, 'hold', { user: 'order-4' })), '200 S2', 'the released seat goes to the next order');
  is(said(await call(c, 'release', { user: 'order-3' })), '200 S3', 'order-3 cancels: S3 back');
  is(said(await call(a, 'hold', { user: 'order-5', seconds: 1 })), '200 S3', 'order-5 holds S3 for 1 second');
  await new Promise((done) => setTimeout(done, 1300));
  is(said(await call(b, 'confirm', { user: 'order-5' })), '409 -', 'confirm after the hold expired: 409');
  is(said(await call(c, 'hold', { user: 'order-6' })), '200 S3', 'the expired hold\'s seat goes to the next order');
  is(said(await call(a, 'claim', { user: 'order-1' })), '200 S1', 'claim by the confirmed order: its seat');
  is(psql("SELECT concat_ws(' ', items_total, items_handed_out, items_left, items_held) FROM sb_banks WHERE bank = 'seats'"),
     '3 3 0 2', 'sb_banks: 3 seats, 3 handed out, 0 left, 2 on holds');

  // bad input: 400 with a JSON error, and nothing changes
  const badInputs = [
    ['claim', undefined, undefined, 'no body'],
    ['claim', 'not json', 'application/json', 'a body that is not JSON'],
    ['claim', '[1]', 'application/json', 'a JSON array'],
    ['claim', {}, undefined, 'no user'],
    ['claim', { user: '' }, undefined, 'an empty user'],
    ['claim', { user: 5 }, undefined, 'a user that is not a string'],
    ['claim', { user: 'u'.repeat(2000) }, undefined, 'a user id over 1024 bytes'],
    ['claim', 'name=x', 'application/x-www-form-urlencoded', 'a form without user'],
    ['claim', JSON.stringify({ user: 'x', pad: 'p'.repeat(20000) }), 'application/json', 'a body over 16 KiB'],
    ['hold', { user: 'order-9', seconds: 0 }, undefined, 'a hold of 0 seconds'],
    ['hold', { user: 'order-9', seconds: -5 }, undefined, 'a negative hold'],
    ['hold', { user: 'order-9', seconds: 'abc' }, undefined, 'a hold that is not a number'],
    ['hold', { user: 'order-9', seconds: 1.5 }, undefined, 'a hold of 1.5 seconds'],
  ];
  for (const [action, value, type, what] of badInputs) {
    r = value === undefined ? await request('POST', `${pick(voucherUrls)}/banks/seats/${action}`)
                            : await post(`${pick(voucherUrls)}/banks/seats/${action}`, value, type);
    const body = json(r.body);
    ok(r.status === 400 && r.type === 'application/json' && body && typeof body.error === 'string',
       `${action} with ${what}: 400 with a JSON error`, r);
  }
  r = await post(`${a}/banks/%E0%A4%A/claim`, { user: 'x' });
  ok(r.status === 400 && json(r.body) !== undefined, 'a bank name that is not valid percent-encoding: 400', r);
  for (const action of ['claim', 'hold', 'confirm', 'release']) {
    r = await post(`${pick(voucherUrls)}/banks/no_such_bank/${action}`, { user: 'x' });
    const body = json(r.body) || {};
    ok(r.status === 404 && /no_such_bank/.test(body.error), `${action} on a bank that does not exist: 404 (42704)`, r);
  }
  r = await get(`${a}/banks/seats/claim`);
  ok(r.status === 405 && json(r.body) !== undefined, 'GET on claim: 405 with a JSON error', r);
  r = await post(`${a}/banks/seats/steal`, { user: 'x' });
  ok(r.status === 404 && json(r.body) !== undefined, 'an unknown action: 404 with a JSON error', r);
  is(psql("SELECT concat_ws(' ', items_total, items_handed_out, items_left, items_held) FROM sb_banks WHERE bank = 'seats'"),
     '3 3 0 2', 'the bad requests changed nothing');

  // a bank whose name needs escaping in a URL, and is data, never SQL
  psql("SELECT sb_create_bank('o''brien; sale/1')");
  psql("SELECT sb_add_items('o''brien; sale/1', ARRAY['X1'])");
  r = await post(`${b}/banks/${encodeURIComponent("o'brien; sale/1")}/claim`, { user: 'ann' });
  is(`${r.status} ${(json(r.body) || {}).item}`, '200 X1', 'a bank named o\'brien; sale/1, percent-encoded: its item');
  r = await post(`${c}/banks/${encodeURIComponent("o'brien; sale/1")}/claim`, 'user=bob', 'application/x-www-form-urlencoded');
  ok(r.status === 410, 'and sold out for the next user: 410', r);
}

async function main() {
  note(`flavour ${flavour}, seed ${seed}`);
  await pezForms();
  await pezSmall();
  const pez = await pezLoad();
  pgbenchForward();
  const v = await vouchers();
  await seats();
  note(`throughput of the ${pezUrls.length} copies: PEZ ${Math.round(pez.requests / pez.seconds)} requests/s, `
       + `vouchers ${Math.round(v.requests / v.seconds)} requests/s`);
}

const guard = setTimeout(() => {
  ok(false, 'the checks finished within 300 s');
  finish();
}, 300000);
function finish() {
  clearTimeout(guard);
  fs.writeFileSync(process.env.TAP_LAST_FILE, String(n));
  agent.destroy();
  process.exit(failures ? 1 : 0);
}
main().catch((err) => {
  ok(false, 'the checks ran to their end', err.stack);
}).finally(finish);
