#!/usr/bin/env bash
# A/B of the API's two HTTP servers (--http-server jdk vs jetty) under ./mixtral loadtest, on loopback.
# Both servers run side by side on the tiny model, with the same limits; every measurement is taken
# on one and then the other (order alternating by round), so a ratio compares runs minutes apart at most.
# usage: benchmarks/http-server/ab.sh [ROUNDS] [OUT_DIR]      (docs/http-server.md has the figures)
#   AB_STEPS="c1 c16 c64 sse2000 halfopen" (the default: all), AB_TIMEOUT=10s (the servers' idle and read timeouts)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ROUNDS="${1:-2}"; OUT="${2:-/tmp/http-server-ab}"
MODEL="$ROOT/testdata/golden/tiny/mixtral-tiny-Q8_0.gguf"
STEPS=" ${AB_STEPS:-c1 c16 c64 sse2000 halfopen} "; TIMEOUT="${AB_TIMEOUT:-10s}"
mkdir -p "$OUT"
# A copy of the built CLI, so that rebuilding the tree during a run changes nothing under it
"$ROOT/mixtral" --version >/dev/null
SNAP="$OUT/cli"; rm -rf "$SNAP"; mkdir -p "$SNAP"; cp -r "$ROOT/cli/target/mixtral-cli.jar" "$ROOT/cli/target/lib" "$SNAP/"
JAVA="$(ls -d /usr/lib/jvm/temurin-25* | head -1)/bin/java"
FLAGS=$(sed -n 's:.*<jvm.flags>\(.*\)</jvm.flags>.*:\1:p' "$ROOT/pom.xml")
# shellcheck disable=SC2206 # the flags are words
CLI=("$JAVA" $FLAGS -Dmixtral.home="$ROOT" -cp "$SNAP/mixtral-cli.jar:$SNAP/lib/*" dev.mixtral.cli.Main)
declare -A PORT=([jdk]=18501 [jetty]=18502) PID=()
cleanup() { for k in "${!PID[@]}"; do kill "${PID[$k]}" 2>/dev/null || true; done; }
trap cleanup EXIT
for k in jdk jetty; do
  "${CLI[@]}" serve --model "$MODEL" --host 127.0.0.1 --port "${PORT[$k]}" --grpc-port -1 --http-server "$k" \
    --max-running 256 --max-waiting 8192 --max-concurrent-requests 8192 --max-connections 8192 \
    --idle-timeout "$TIMEOUT" --request-read-timeout "$TIMEOUT" >"$OUT/serve-$k.out" 2>"$OUT/serve-$k.err" &
  PID[$k]=$!
done
for k in jdk jetty; do
  for _ in $(seq 180); do curl -sf "http://127.0.0.1:${PORT[$k]}/ready" >/dev/null && break; sleep 1; done
done
rss() { awk '/VmRSS|VmHWM/{printf "%s %d MB ", $1, $2/1024}' "/proc/${PID[$1]}/status"; }
load() { # kind name loadtest-args...
  local k=$1 name=$2; shift 2
  "${CLI[@]}" loadtest --url "http://127.0.0.1:${PORT[$k]}" --seed 7 \
    --json "$OUT/$name-$k-r$r.json" "$@" >"$OUT/$name-$k-r$r.log" 2>&1 || true
  echo "[ab] round $r $name $k: $(python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print('ok=%d failed=%d req/s=%.1f tok/s=%.0f ttft p50/p99=%.1f/%.1f ms itl p50/p99=%.2f/%.2f ms valid=%s' % (d['completed'],d['failed'],d['request_throughput'],d['output_throughput'],d['median_ttft_ms'],d['p99_ttft_ms'],d['median_itl_ms'],d['p99_itl_ms'],d['valid']))" "$OUT/$name-$k-r$r.json" 2>/dev/null || echo 'no result')"
}
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then ORDER="jdk jetty"; else ORDER="jetty jdk"; fi
  [[ $STEPS == *" c1 "* ]] && for k in $ORDER; do load "$k" c1 --concurrency 1 --input-len 16 --timeout 120s --num-prompts 20 --output-len 16; done
  [[ $STEPS == *" c16 "* ]] && for k in $ORDER; do load "$k" c16 --concurrency 16 --input-len 16 --timeout 120s --num-prompts 96 --output-len 16; done
  [[ $STEPS == *" c64 "* ]] && for k in $ORDER; do load "$k" c64 --concurrency 64 --input-len 16 --timeout 120s --num-prompts 192 --output-len 16; done
  [[ $STEPS == *" sse2000 "* ]] && for k in $ORDER; do load "$k" sse2000 --concurrency 2000 --num-prompts 2000 --input-len 4 --output-len 2 --warmup 0 --timeout 600s; echo "[ab] round $r $k memory: $(rss "$k")"; done
  [[ $STEPS == *" halfopen "* ]] && for k in $ORDER; do echo "[ab] round $r halfopen $k: $(python3 "$ROOT/benchmarks/http-server/half_open.py" "${PORT[$k]}" 3000 40)"; done
done
for k in jdk jetty; do echo "[ab] final $k memory: $(rss "$k")"; done
