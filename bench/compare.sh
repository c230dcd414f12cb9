#!/usr/bin/env bash
# Runs the same scenarios against roomcast, Socket.IO and Centrifugo on this
# machine, in one go, taking turns so that all see the same machine, and prints
# one JSON summary line per run followed by the medians (min–max) of each.
# Each fanout run is followed by a paced one at 70% of the rate it reached,
# for latency below saturation. roomcast's paced run is repeated with the
# bench's lean HTTP/2 clients (--transport h2), and bench/tcpfloor, plain
# TCP, runs at the same rate: the floor under any server's latency. Idle
# also runs roomcast with grpc-go's transport (--transport grpc-go) and
# bench/grpcfloor, grpc-go with no hub behind it.
#
#   bench/compare.sh [runs] [subscribers] [connections] [seconds]
#
# Centrifugo v6 is installed from the Go module proxy on the first run (a
# few minutes) into the user's cache; bench/centrifugo drives it with its
# own Go client through the same scenarios' code as roomcast bench.
#
# Every server listens on 127.0.0.1 and is stopped at the end; idle runs
# each get a fresh server, so that "before" is a new process's memory.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
subscribers=${2:-1000}
connections=${3:-10000}
seconds=${4:-10}

work=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/roomcast" ./cmd/roomcast
go build -o "$work/grpcfloor" ./bench/grpcfloor
go build -o "$work/tcpfloor" ./bench/tcpfloor
go build -o "$work/centrifugo-bench" ./bench/centrifugo
centrifugo_version=v6.9.1
centrifugo_bin="${XDG_CACHE_HOME:-$HOME/.cache}/roomcast-bench/centrifugo-$centrifugo_version"
if [ ! -x "$centrifugo_bin/centrifugo" ]; then
	echo "installing Centrifugo $centrifugo_version into $centrifugo_bin" >&2
	GOBIN="$centrifugo_bin" go install "github.com/centrifugal/centrifugo/v6@$centrifugo_version"
fi
(cd bench/socketio && [ -d node_modules ] || npm ci --no-audit --no-fund >/dev/null)

# start_grpc BINARY ARGS... starts a server that logs "grpc_addr=...
# http_addr=..." (roomcast serve, grpcfloor) on random ports and sets grpc
# and http; start_socketio sets url.
start_grpc() {
	"$@" --grpc-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 2>"$work/grpc.log" &
	pids+=($!)
	for _ in $(seq 100); do
		if line=$(grep -m1 -o 'grpc_addr=[^ ]* http_addr=[^ ]*' "$work/grpc.log"); then
			grpc=${line#grpc_addr=}; grpc=${grpc%% *}; http=${line##*http_addr=}
			return
		fi
		sleep 0.1
	done
	echo "$* did not start" >&2; exit 1
}
start_roomcast() { start_grpc "$work/roomcast" serve "$@"; }
start_floor() { start_grpc "$work/grpcfloor"; }
start_socketio() {
	node bench/socketio/server.js --host 127.0.0.1 --port 0 >"$work/sio.log" &
	pids+=($!)
	for _ in $(seq 100); do
		if url=$(grep -m1 -o 'http://[^"]*' "$work/sio.log"); then return; fi
		sleep 0.1
	done
	echo "socket.io server did not start" >&2; exit 1
}
# start_centrifugo sets cf_addr, the HTTP address of a fresh Centrifugo
# with bench/centrifugo/config.json on a free port.
start_centrifugo() {
	local port
	port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
	"$centrifugo_bin/centrifugo" --config bench/centrifugo/config.json --http_server.port "$port" >"$work/centrifugo.log" 2>&1 &
	pids+=($!)
	cf_addr=127.0.0.1:$port
	for _ in $(seq 100); do
		# Gone already: the port was taken between choosing and binding it.
		kill -0 "${pids[-1]}" 2>/dev/null || break
		if node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "http://$cf_addr/metrics"; then return; fi
		sleep 0.1
	done
	echo "centrifugo did not start: $(cat "$work/centrifugo.log")" >&2; exit 1
}
stop_last() { kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'; }

# rate70 is 70% of the published_per_s of a summary line: the paced rate
# at which the second fanout run of each server measures latency.
rate70() { node -e 'console.log(Math.max(1, Math.round(0.7 * JSON.parse(process.argv[1]).published_per_s)))' "$1"; }

results="$work/results.jsonl"
for run in $(seq "$runs"); do
	start_roomcast
	line=$("$work/roomcast" bench --quiet --addr "$grpc" --http-addr "$http" --scenario fanout --subscribers "$subscribers" --duration "${seconds}s")
	echo "$line" | sed 's/^{/{"server":"roomcast",/' | tee -a "$results"
	rate=$(rate70 "$line")
	# Paced, with grpc-go's clients and with the bench's lean HTTP/2
	# clients (which leave more of the machine to the server), in turn
	# first, so that neither always has the warmer server.
	paced() {
		"$work/roomcast" bench --quiet --addr "$grpc" --http-addr "$http" --scenario fanout --subscribers "$subscribers" --duration "${seconds}s" --rate "$rate" --transport "$1" |
			sed "s/^{/{\"server\":\"$2\",\"paced\":true,/" | tee -a "$results"
	}
	if ((run % 2)); then
		paced grpc-go roomcast
		paced h2 "roomcast, h2 clients"
	else
		paced h2 "roomcast, h2 clients"
		paced grpc-go roomcast
	fi
	stop_last
	# The latency floor at that rate: plain TCP, one write per connection
	# per batch, no protocol.
	"$work/tcpfloor" --conns "$subscribers" --rate "$rate" --duration "${seconds}s" |
		sed 's/^{/{"server":"tcp floor","paced":true,/' | tee -a "$results"
	start_socketio
	line=$(node bench/socketio/bench.js --quiet --url "$url" --scenario fanout --subscribers "$subscribers" --duration "${seconds}s")
	echo "$line" | sed 's/^{/{"server":"socket.io",/' | tee -a "$results"
	node bench/socketio/bench.js --quiet --url "$url" --scenario fanout --subscribers "$subscribers" --duration "${seconds}s" --rate "$(rate70 "$line")" |
		sed 's/^{/{"server":"socket.io","paced":true,/' | tee -a "$results"
	stop_last
	start_centrifugo
	line=$("$work/centrifugo-bench" --quiet --addr "$cf_addr" --scenario fanout --subscribers "$subscribers" --duration "${seconds}s")
	echo "$line" | sed 's/^{/{"server":"centrifugo",/' | tee -a "$results"
	"$work/centrifugo-bench" --quiet --addr "$cf_addr" --scenario fanout --subscribers "$subscribers" --duration "${seconds}s" --rate "$(rate70 "$line")" |
		sed 's/^{/{"server":"centrifugo","paced":true,/' | tee -a "$results"
	stop_last
	start_roomcast
	"$work/roomcast" bench --quiet --addr "$grpc" --http-addr "$http" --scenario idle --connections "$connections" |
		sed 's/^{/{"server":"roomcast",/' | tee -a "$results"
	stop_last
	start_socketio
	node bench/socketio/bench.js --quiet --url "$url" --scenario idle --connections "$connections" |
		sed 's/^{/{"server":"socket.io",/' | tee -a "$results"
	stop_last
	start_centrifugo
	"$work/centrifugo-bench" --quiet --addr "$cf_addr" --scenario idle --connections "$connections" |
		sed 's/^{/{"server":"centrifugo",/' | tee -a "$results"
	stop_last
	# The same hub on grpc-go's transport, and grpc-go alone.
	start_roomcast --transport grpc-go
	"$work/roomcast" bench --quiet --addr "$grpc" --http-addr "$http" --scenario idle --connections "$connections" |
		sed 's/^{/{"server":"roomcast on grpc-go",/' | tee -a "$results"
	stop_last
	start_floor
	"$work/roomcast" bench --quiet --addr "$grpc" --http-addr "$http" --scenario idle --connections "$connections" |
		sed 's/^{/{"server":"grpc-go floor",/' | tee -a "$results"
	stop_last
	echo "run $run of $runs done" >&2
done

# Medians, with the range, per server and scenario.
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const keys = { fanout: ["deliveries_per_s", "published_per_s", "delivery_ratio", "p50_ms", "p90_ms", "p99_ms", "max_ms", "server_cpu_us_per_delivery"], idle: ["kb_per_conn", "connect_seconds"] };
const groups = {};
for (const l of lines) (groups[l.server + " " + l.scenario + (l.paced ? " at 70%" : "")] ??= []).push(l);
for (const [name, runs] of Object.entries(groups)) {
  const out = { group: name, runs: runs.length };
  for (const k of keys[runs[0].scenario]) {
    const v = runs.map(r => r[k]).sort((a, b) => a - b);
    out[k] = { median: v[Math.floor((v.length - 1) / 2)], min: v[0], max: v[v.length - 1] };
  }
  console.log(JSON.stringify(out));
}' "$results"
