#!/usr/bin/env bash
# Passthrough benchmark: cogcheck-proxy against nginx as a reverse proxy, both in front of the
# same upstream, measured in the same run so the numbers are ratios, not absolutes.
#
#   bash proxy/benches/passthrough.sh            # needs nginx and wrk (apt-get install nginx wrk)
#
# The upstream is nginx answering every POST with a small Cognito-shaped JSON body, so the
# proxies, not an emulator, are what is measured. Prints requests per second and p99 latency at
# 128 connections for: nginx proxy (baseline), cogcheck-proxy passthrough, cogcheck-proxy
# recording; and cogcheck-proxy's RSS at 1,000 open connections. Targets from the proxy issue:
# passthrough >= 0.9x nginx's requests/s with p99 <= 1.1x, recording >= 0.7x, RSS <= 50 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v nginx >/dev/null && command -v wrk >/dev/null || {
  echo "needs nginx and wrk: apt-get install -y nginx wrk" >&2; exit 2; }

DURATION=${DURATION:-10s}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
UP=$(free_port); NG=$(free_port); PX=$(free_port); PR=$(free_port)

cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream cognito { server 127.0.0.1:$UP; keepalive 256; }
  server {
    listen 127.0.0.1:$UP;
    location / {
      default_type application/x-amz-json-1.1;
      add_header x-amzn-RequestId bench;
      return 200 '{"UserPools":[{"Id":"us-east-1_bench","Name":"bench"}]}';
    }
  }
  server {
    listen 127.0.0.1:$NG;
    location / {
      proxy_pass http://cognito;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
nginx -c "$work/nginx.conf" -p "$work" -g 'daemon off;' &
pids+=($!)

cargo build -q --release -p cogcheck-proxy
bin=target/release/cogcheck-proxy
$bin --listen "127.0.0.1:$PX" --upstream "http://127.0.0.1:$UP" > "$work/px.log" 2>&1 &
pids+=($!); px_pid=$!
$bin --listen "127.0.0.1:$PR" --upstream "http://127.0.0.1:$UP" --record "$work/bench.jsonl" > "$work/pr.log" 2>&1 &
pids+=($!)

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"MaxResults":10}'
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AWSCognitoIdentityProviderService.ListUserPools"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f\n", summary.requests / (summary.duration / 1e6), latency:percentile(99) / 1000))
end
LUA
for p in $UP $NG $PX $PR; do
  for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.1; done
done

measure() { wrk -t2 -c128 -d"$DURATION" -s "$work/post.lua" "http://127.0.0.1:$1/" | awk '/^RESULT/{print $2, $3}'; }
read -r ng_rps ng_p99 < <(measure "$NG")
read -r px_rps px_p99 < <(measure "$PX")
read -r pr_rps pr_p99 < <(measure "$PR")

# RSS with 1,000 connections open and busy.
wrk -t2 -c1000 -d5s -s "$work/post.lua" "http://127.0.0.1:$PX/" > /dev/null &
wrk_pid=$!
sleep 3
rss_kb=$(awk '/VmRSS/{print $2}' "/proc/$px_pid/status")
wait $wrk_pid || true

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
printf '%-28s %12s %10s\n' "" "requests/s" "p99 ms"
printf '%-28s %12s %10s\n' "nginx proxy (baseline)" "$ng_rps" "$ng_p99"
printf '%-28s %12s %10s   %sx rps, %sx p99  (target >= 0.9x, <= 1.1x)\n' "cogcheck-proxy passthrough" "$px_rps" "$px_p99" "$(ratio "$px_rps" "$ng_rps")" "$(ratio "$px_p99" "$ng_p99")"
printf '%-28s %12s %10s   %sx rps  (target >= 0.7x)\n' "cogcheck-proxy recording" "$pr_rps" "$pr_p99" "$(ratio "$pr_rps" "$ng_rps")"
printf 'cogcheck-proxy RSS at 1,000 connections: %s MB (target <= 50 MB)\n' "$((rss_kb / 1024))"
