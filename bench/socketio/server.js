// The Socket.IO side of the comparison: a Socket.IO 4 server that does
// what `roomcast serve` does for `roomcast bench`, and nothing more.
//
//   node server.js [--host 127.0.0.1] [--port 3000]
//
// Namespace "/": a client joins a room with a "join" event (acknowledged
// once joined), and a "msg" event (room, data) is relayed to everyone in
// the room, the sender included, as roomcast's emit does. The same HTTP
// port serves /metrics with process_resident_memory_bytes, the metric
// that roomcast's /metrics has, so that both harnesses read RSS alike.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = flag("host", "127.0.0.1");
const port = Number(flag("port", "3000"));

function cpuSeconds() {
  const { user, system } = process.cpuUsage(); // microseconds
  return (user + system) / 1e6;
}

const httpServer = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/metrics") {
    res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" });
    res.end(
      "# HELP process_resident_memory_bytes Resident memory size in bytes.\n" +
        "# TYPE process_resident_memory_bytes gauge\n" +
        `process_resident_memory_bytes ${process.memoryUsage.rss()}\n` +
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n" +
        "# TYPE process_cpu_seconds_total counter\n" +
        `process_cpu_seconds_total ${cpuSeconds()}\n`,
    );
    return;
  }
  // Socket.IO answers its own path (/socket.io/) before this handler.
  res.writeHead(404).end();
});

const io = new Server(httpServer, {
  // Compression costs CPU per message per recipient; roomcast does not
  // compress either.
  perMessageDeflate: false,
  serveClient: false,
});

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(String(room));
    if (typeof ack === "function") ack();
  });
  socket.on("msg", (room, data) => {
    io.to(String(room)).emit("msg", data);
  });
});

httpServer.listen(port, host, () => {
  const a = httpServer.address();
  // One line a script can read to find a random port (--port 0).
  console.log(JSON.stringify({ url: `http://${a.address}:${a.port}` }));
  console.error(`socket.io serving on http://${a.address}:${a.port} (pid ${process.pid})`);
});

function stop() {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
