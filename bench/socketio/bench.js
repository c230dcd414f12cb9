// The Socket.IO side of `roomcast bench`: the fanout and idle scenarios
// with the same counts, payload, timestamp method, window and summary
// keys, against server.js.
//
//   node bench.js --url http://127.0.0.1:3000 --scenario fanout [--subscribers 1000]
//       [--payload 100] [--duration 10s] [--window 64] [--rate 0] [--drain 5s]
//   node bench.js --url http://127.0.0.1:3000 --scenario idle [--connections 10000]
//       [--http-addr HOST:PORT] [--settle 2s]
//
// A progress line goes to stderr every second; one JSON line goes to
// stdout at the end, also after Ctrl-C (with "interrupted": true).
//
// Every client is its own WebSocket connection (forceNew, websocket
// transport only: no long-polling upgrade dance). The payload is a string
// whose first 19 characters are the send time in unix nanoseconds, zero
// padded; latency is taken in this process at receipt. Unlike the Go
// tool, this one is a single thread: with many subscribers the client
// itself can be the bottleneck, which the summary cannot tell apart from
// the server's latency. Watch its CPU (top) while it runs.
"use strict";

const { io } = require("socket.io-client");
const hdr = require("hdr-histogram-js");

// ---- flags ---------------------------------------------------------------

const defaults = {
  url: "http://127.0.0.1:3000",
  scenario: "fanout",
  subscribers: 1000,
  payload: 100,
  duration: "10s",
  window: 64,
  rate: 0,
  drain: "5s",
  connections: 10000,
  "http-addr": "",
  settle: "2s",
  "source-ips": 0,
  "connect-concurrency": 64,
  "connect-timeout": "10s",
  quiet: false,
};

function parseFlags(argv) {
  const f = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in f)) die(`unknown argument ${argv[i]}\nflags: ${Object.keys(f).join(", ")}`);
    const name = m[1];
    if (typeof defaults[name] === "boolean") {
      f[name] = m[2] === undefined ? true : m[2] === "true";
      continue;
    }
    const v = m[2] !== undefined ? m[2] : argv[++i];
    if (v === undefined) die(`--${name} needs a value`);
    f[name] = typeof defaults[name] === "number" ? Number(v) : v;
    if (Number.isNaN(f[name])) die(`--${name}: not a number: ${v}`);
  }
  return f;
}

// seconds reads a Go-style duration ("500ms", "10s", "2m") or plain seconds.
function seconds(v) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(v));
  if (!m) die(`bad duration ${v}`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n / 1000 : m[2] === "m" ? n * 60 : n;
}

function die(msg) {
  console.error(`bench.js: ${msg}`);
  process.exit(2);
}

// A load generator pointed elsewhere by mistake is an attack: loopback only.
function requireLoopback(name, hostport) {
  const host = hostport.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  if (host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host)) return;
  die(`--${name} ${hostport}: bench only targets loopback addresses (localhost, 127.0.0.0/8, ::1)`);
}

// ---- time, payload, histogram -------------------------------------------

// Unix time in microseconds with sub-millisecond resolution: the clock of
// performance.now() anchored at performance.timeOrigin.
const { performance } = require("node:perf_hooks");
function nowMicros() {
  return (performance.timeOrigin + performance.now()) * 1000;
}

// stamp returns the payload: the time as 19 digits of unix nanoseconds,
// then filler, `size` characters in all. A double holds microseconds
// exactly but not nanoseconds, so the nanoseconds are written as
// microseconds and three more digits.
function makeStamper(size) {
  const filler = "x".repeat(size - 19);
  return (micros) => {
    const whole = Math.floor(micros);
    const frac = Math.floor((micros - whole) * 1000);
    return String(whole).padStart(16, "0") + String(frac).padStart(3, "0") + filler;
  };
}

// sentMicros reads the send time back, in microseconds.
function sentMicros(s) {
  if (typeof s !== "string" || s.length < 19) return NaN;
  return Number(s.slice(0, 16)) + Number(s.slice(16, 19)) / 1000;
}

// Microseconds from 1 µs to an hour, three significant digits: the same
// histogram as the Go tool's.
function newHistogram() {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3600 * 1e6,
    numberOfSignificantValueDigits: 3,
    autoResize: false,
  });
}

function record(h, micros) {
  h.recordValue(Math.min(Math.max(Math.round(micros), 1), 3600 * 1e6));
}

// ---- clients --------------------------------------------------------------

const sourceAddrs = [];
let nextSource = 0;

// connect opens one client (its own connection), waits for "connect", and
// joins room when given; it resolves to the socket or rejects.
function connect(cfg, room) {
  return new Promise((resolve, reject) => {
    const opts = {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      timeout: cfg.connectTimeoutMs,
    };
    if (sourceAddrs.length > 0) opts.localAddress = sourceAddrs[nextSource++ % sourceAddrs.length];
    const socket = io(cfg.url, opts);
    const timer = setTimeout(() => fail(new Error("connect timed out")), cfg.connectTimeoutMs);
    function fail(err) {
      clearTimeout(timer);
      socket.disconnect();
      reject(err);
    }
    socket.once("connect_error", fail);
    socket.once("connect", () => {
      if (room === undefined) {
        clearTimeout(timer);
        resolve(socket);
        return;
      }
      socket.emit("join", room, () => {
        clearTimeout(timer);
        resolve(socket);
      });
    });
  });
}

// connectAll connects count clients, cfg.connectConcurrency at a time,
// calling started(i, socket) for each; it gives up when connects keep
// failing (no server) or the run is interrupted.
async function connectAll(cfg, count, room, started, state) {
  const clients = new Array(count).fill(null);
  let next = 0;
  let failed = 0;
  let succeeded = 0;
  let firstErr = null;
  const giveUp = () => failed >= 16 && failed > succeeded / 10;
  async function worker() {
    while (!state.interrupted && !giveUp() && next < count) {
      const i = next++;
      try {
        const s = await connect(cfg, room);
        succeeded++;
        clients[i] = s;
        started(i, s);
      } catch (err) {
        failed++;
        if (!firstErr) firstErr = err;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(cfg.connectConcurrency, count) }, worker));
  return { clients, failed, firstErr };
}

function closeAll(clients) {
  for (const s of clients) if (s) s.disconnect();
}

// ---- progress and summary -------------------------------------------------

function startProgress(cfg, read) {
  if (cfg.quiet) return () => {};
  const start = Date.now();
  let last = read();
  let lastAt = start;
  const t = setInterval(() => {
    const now = Date.now();
    const s = read();
    const rate = (s.delivered - last.delivered) / ((now - lastAt) / 1000);
    process.stderr.write(
      `bench ${cfg.scenario}: elapsed ${((now - start) / 1000).toFixed(1).padStart(5)}s  ` +
        `clients ${s.clients}  published ${s.published}  delivered ${s.delivered}  deliveries/s ${rate.toFixed(0)}\n`,
    );
    last = s;
    lastAt = now;
  }, 1000);
  return () => clearInterval(t);
}

function newSummary(cfg) {
  // Key order and names as the Go tool's Summary.
  return {
    scenario: cfg.scenario,
    clients: 0,
    connect_seconds: 0,
    seconds: 0,
    published: 0,
    published_per_s: 0,
    expected: 0,
    delivered: 0,
    delivery_ratio: 1,
    deliveries_per_s: 0,
    p50_ms: 0,
    p90_ms: 0,
    p99_ms: 0,
    max_ms: 0,
    dropped: 0,
    errors: 0,
    disconnects: 0,
    interrupted: false,
  };
}

const r3 = (v) => Math.round(v * 1000) / 1000;

// The Go tool's Summary fields, in its order.
const summaryKeys = [
  "scenario", "clients", "connect_seconds", "seconds", "published", "published_per_s", "expected",
  "delivered", "delivery_ratio", "deliveries_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "dropped",
  "errors", "disconnects", "interrupted", "subscribers", "publishers", "rooms", "payload_bytes", "window",
  "target_rate", "kb_per_conn", "server_rss_bytes", "server_rss_before_bytes", "server_cpu_seconds",
  "server_cpu_us_per_delivery", "warnings",
];

function printSummary(sum) {
  if (sum.warnings && sum.warnings.length === 0) delete sum.warnings;
  const out = {};
  for (const k of [...summaryKeys, ...Object.keys(sum)]) {
    if (!(k in sum) || k in out) continue;
    const v = sum[k];
    out[k] = typeof v === "number" && !Number.isInteger(v) ? r3(v) : v;
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

function setLatency(sum, h) {
  if (h.totalCount === 0) return;
  sum.p50_ms = h.getValueAtPercentile(50) / 1000;
  sum.p90_ms = h.getValueAtPercentile(90) / 1000;
  sum.p99_ms = h.getValueAtPercentile(99) / 1000;
  sum.max_ms = h.maxValue / 1000;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- fanout ---------------------------------------------------------------

// One room of subscribers and one publisher in it. The publisher keeps at
// most `window` messages in flight and counts one done when its own copy
// comes back, as the Go tool does; --rate fixes the rate instead, still
// capped by the window.
async function fanout(cfg, state) {
  const room = "bench-0";
  const n = cfg.subscribers;
  const sum = newSummary(cfg);
  Object.assign(sum, { clients: n + 1, warnings: [] });
  const hist = newHistogram();
  let connected = 0;
  let delivered = 0;
  let lastDelivery = 0;
  let published = 0;
  let closing = false;
  const stopProgress = startProgress(cfg, () => ({ clients: connected, published, delivered }));

  const onEnd = () => {
    connected--;
    if (!closing) {
      sum.errors++;
      sum.disconnects++;
    }
  };
  const t0 = Date.now();
  const subs = await connectAll(cfg, n, room, (i, s) => {
    connected++;
    s.on("msg", (data) => {
      const now = nowMicros();
      const sent = sentMicros(data);
      if (!Number.isNaN(sent)) record(hist, now - sent);
      delivered++;
      lastDelivery = now;
    });
    s.on("disconnect", onEnd);
  }, state);
  let pub = null;
  let pubErr = null;
  if (!state.interrupted) {
    try {
      pub = await connect(cfg, room);
      connected++;
      pub.on("disconnect", onEnd);
    } catch (err) {
      pubErr = err;
    }
  }
  sum.connect_seconds = (Date.now() - t0) / 1000;
  sum.errors += subs.failed + (pubErr ? 1 : 0);
  const subscribed = subs.clients.filter(Boolean).length;
  if (subs.failed > 0) sum.warnings.push(`${subs.failed} of ${n + 1} clients failed to connect; first error: ${subs.firstErr}`);
  Object.assign(sum, { subscribers: n, publishers: 1, rooms: 1, payload_bytes: cfg.payload, window: cfg.window });
  if (cfg.rate > 0) sum.target_rate = cfg.rate;
  const finish = () => {
    stopProgress();
    closing = true;
    closeAll(subs.clients);
    if (pub) pub.disconnect();
    return sum;
  };
  if (state.interrupted) return finish();
  if (!pub || subscribed === 0) {
    sum.warnings.push(`no ${pub ? "subscriber" : "publisher"} could connect: ${pubErr || subs.firstErr}`);
    state.failed = true;
    return finish();
  }

  // The server's CPU time over the run, from its /metrics (best effort).
  const cpuBefore = await scrapeMetric(cfg.httpAddr, "process_cpu_seconds_total").catch((err) => {
    sum.warnings.push(`no server CPU time: ${err.message}`);
    return null;
  });

  // Publish.
  const stamp = makeStamper(cfg.payload);
  let expected = 0;
  let inFlight = 0;
  let stopped = false;
  const start = Date.now();
  const startMicros = nowMicros();
  const due = () => (cfg.rate > 0 ? Math.floor(((Date.now() - start) / 1000) * cfg.rate) : Infinity);
  function pump() {
    while (!stopped && inFlight < cfg.window && published < due()) {
      pub.emit("msg", room, stamp(nowMicros()));
      published++;
      inFlight++;
      expected += subscribed;
    }
  }
  pub.on("msg", () => {
    inFlight = Math.max(inFlight - 1, 0);
    pump();
  });
  // With a rate, a timer lets the due count grow; the window alone
  // needs only the own copies.
  const pacer = cfg.rate > 0 ? setInterval(pump, 1) : null;
  pump();
  await Promise.race([sleep(cfg.durationMs), state.interruptedPromise]);
  stopped = true;
  if (pacer) clearInterval(pacer);
  const publishSeconds = (Date.now() - start) / 1000;

  // Drain: until everything expected arrived, the drain runs out, or no
  // subscriber is left.
  const drainMs = state.interrupted ? Math.min(cfg.drainMs, 1000) : cfg.drainMs;
  const drainEnd = Date.now() + drainMs;
  while (delivered < expected && connected > 1 && Date.now() < drainEnd) await sleep(5);
  sum.seconds = (Date.now() - start) / 1000;
  sum.published = published;
  sum.expected = expected;
  sum.delivered = delivered;
  sum.dropped = Math.max(expected - delivered, 0);
  sum.delivery_ratio = expected > 0 ? delivered / expected : 1;
  sum.published_per_s = published / publishSeconds;
  sum.deliveries_per_s = lastDelivery > 0 ? delivered / ((lastDelivery - startMicros) / 1e6) : 0;
  setLatency(sum, hist);
  if (cpuBefore !== null) {
    try {
      sum.server_cpu_seconds = (await scrapeMetric(cfg.httpAddr, "process_cpu_seconds_total")) - cpuBefore;
      if (sum.delivered > 0) sum.server_cpu_us_per_delivery = (sum.server_cpu_seconds * 1e6) / sum.delivered;
    } catch (err) {
      sum.warnings.push(`no server CPU time after the run: ${err.message}`);
    }
  }
  if (sum.dropped > 0 && sum.disconnects === 0 && !state.interrupted) {
    sum.warnings.push(`${sum.dropped} deliveries did not arrive within the ${drainMs / 1000}s drain`);
  }
  return finish();
}

// ---- idle -----------------------------------------------------------------

// scrapeMetric reads one sample from the server's /metrics.
async function scrapeMetric(addr, name) {
  const res = await fetch(`http://${addr}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET http://${addr}/metrics: ${res.status}`);
  const text = await res.text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, "m").exec(text);
  if (!m) throw new Error(`http://${addr}/metrics has no ${name}`);
  return Number(m[1]);
}

async function scrapeRSS(addr) {
  return Math.trunc(await scrapeMetric(addr, "process_resident_memory_bytes"));
}

// Connections clients in "/" doing nothing; the server's RSS before and
// after gives what one idle connection costs it.
async function idle(cfg, state) {
  const n = cfg.connections;
  const sum = newSummary(cfg);
  Object.assign(sum, { clients: n, warnings: [] });
  let before = 0;
  try {
    before = await scrapeRSS(cfg.httpAddr);
  } catch (err) {
    sum.warnings.push(`no server RSS before connecting: ${err.message}`);
  }
  let connected = 0;
  let closing = false;
  const stopProgress = startProgress(cfg, () => ({ clients: connected, published: 0, delivered: 0 }));
  const t0 = Date.now();
  const res = await connectAll(cfg, n, undefined, (i, s) => {
    connected++;
    s.on("disconnect", () => {
      connected--;
      if (!closing) {
        sum.disconnects++;
        sum.errors++;
      }
    });
  }, state);
  sum.connect_seconds = (Date.now() - t0) / 1000;
  sum.errors += res.failed;
  if (res.failed > 0) sum.warnings.push(`${res.failed} of ${n} clients failed to connect; first error: ${res.firstErr}`);
  const hold = Date.now();
  await Promise.race([sleep(cfg.settleMs), state.interruptedPromise]);
  sum.seconds = (Date.now() - hold) / 1000;
  const held = connected;
  try {
    const after = await scrapeRSS(cfg.httpAddr);
    sum.server_rss_bytes = after;
    if (before > 0) {
      sum.server_rss_before_bytes = before;
      if (held > 0) sum.kb_per_conn = (after - before) / held / 1024;
    }
  } catch (err) {
    sum.warnings.push(`no server RSS after connecting: ${err.message}`);
  }
  stopProgress();
  closing = true;
  closeAll(res.clients);
  return sum;
}

// ---- main -----------------------------------------------------------------

async function main() {
  const f = parseFlags(process.argv.slice(2));
  const url = new URL(f.url);
  requireLoopback("url", url.host);
  const cfg = {
    url: f.url,
    scenario: f.scenario,
    subscribers: f.subscribers,
    payload: f.payload,
    durationMs: seconds(f.duration) * 1000,
    window: f.window,
    rate: f.rate,
    drainMs: seconds(f.drain) * 1000,
    connections: f.connections,
    httpAddr: f["http-addr"] || url.host,
    settleMs: seconds(f.settle) * 1000,
    connectConcurrency: f["connect-concurrency"],
    connectTimeoutMs: seconds(f["connect-timeout"]) * 1000,
    quiet: f.quiet,
  };
  requireLoopback("http-addr", cfg.httpAddr);
  if (!["fanout", "idle"].includes(cfg.scenario)) die(`--scenario must be fanout or idle (rooms and churn are roomcast-only)`);
  if (cfg.payload < 19 || cfg.payload > 1 << 20) die("--payload must be in [19, 1048576]");
  if (!(cfg.window >= 1)) die("--window must be at least 1");
  if (!(cfg.subscribers >= 1 && cfg.subscribers < 200000)) die("--subscribers must be in [1, 200000)");
  if (!(cfg.connections >= 1 && cfg.connections <= 200000)) die("--connections must be in [1, 200000]");
  if (!(cfg.durationMs > 0 && cfg.durationMs <= 3600e3)) die("--duration must be in (0, 1h]");
  // Source addresses as the Go tool spreads them: one source address has
  // about 28k ephemeral ports towards one server port.
  const demand = cfg.scenario === "idle" ? cfg.connections : cfg.subscribers + 1;
  let nSources = f["source-ips"];
  if (nSources === 0 && demand > 26000 && /^(127\.|localhost)/.test(url.hostname)) nSources = Math.ceil(demand / 26000);
  for (let i = 0; i < Math.min(Math.max(nSources, 0), 250); i++) sourceAddrs.push(`127.0.0.${2 + i}`);
  if (sourceAddrs.length > 0 && !cfg.quiet) console.error(`bench ${cfg.scenario}: connections spread over ${sourceAddrs.length} source addresses`);

  // Ctrl-C ends the run early; the summary still prints.
  const state = { interrupted: false, failed: false };
  state.interruptedPromise = new Promise((resolve) => {
    const onSignal = () => {
      if (state.interrupted) process.exit(130); // a second Ctrl-C: out now
      state.interrupted = true;
      resolve();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });

  const sum = cfg.scenario === "fanout" ? await fanout(cfg, state) : await idle(cfg, state);
  sum.interrupted = state.interrupted;
  printSummary(sum);
  // Sockets close asynchronously; do not wait for every close handshake.
  setTimeout(() => process.exit(state.failed ? 1 : 0), 200);
}

main().catch((err) => {
  console.error(`bench.js: ${err.stack || err}`);
  process.exit(1);
});
