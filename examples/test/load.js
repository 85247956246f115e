'use strict';
// A closed-loop HTTP load: CLIENTS requests in flight, spread over the
// copies in turn, for SECONDS; prints one JSON line {requests, seconds,
// numbers, errors}.  `numbers` counts the numbers in the answers (v1: one,
// v2: the list's length).  Used by examples/bench.sh.
//   node load.js SECONDS CLIENTS PATH URL [URL ...]
const http = require('node:http');
const { performance } = require('node:perf_hooks');

const [seconds, clients, path, ...urls] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(clients), scheduling: 'fifo', timeout: 2000 });
let requests = 0;
let numbers = 0;
let errors = 0;
let turn = 0;
const end = performance.now() + Number(seconds) * 1000;

function once(url) {
  return new Promise((resolve) => {
    http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        if (res.statusCode === 200) {
          requests += 1;
          numbers += body.startsWith('[') ? body.split(',').length : 1;
        } else {
          errors += 1;
        }
        resolve();
      });
    }).on('error', () => { errors += 1; resolve(); });
  });
}

async function client() {
  while (performance.now() < end) {
    turn = (turn + 1) % urls.length;
    await once(urls[turn] + path);
  }
}

const start = performance.now();
Promise.all(Array.from({ length: Number(clients) }, client)).then(() => {
  const took = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ requests, seconds: took, numbers, errors }));
  agent.destroy();
});
