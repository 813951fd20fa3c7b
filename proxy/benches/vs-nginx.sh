#!/usr/bin/env bash
# cogcheck-proxy against nginx as a reverse proxy, on the same core, in every mode.
#
#   bash proxy/benches/vs-nginx.sh                    # 3 x 10 s per cell, about 15 minutes
#   REPS=1 DURATION=3s bash proxy/benches/vs-nginx.sh # a quick look
#   bash proxy/benches/vs-nginx.sh --write-readme     # also rewrite proxy/README.md's table
#
# Fair by construction, because absolute numbers on a shared machine mean little:
# - the upstream, nginx and every cogcheck-proxy run on SERVER_CPU (default 0), the load
#   generator wrk on CLIENT_CPU (default 1), so neither proxy gets a core the other lacks and
#   wrk never competes with what it measures;
# - nginx runs WORKERS worker processes and cogcheck-proxy WORKERS runtime threads (--workers);
# - nginx keeps up to 256 idle keep-alive connections to the upstream;
# - the upstream is nginx answering a fixed 1,549-byte DescribeUserPool body, so neither an
#   emulator nor the upstream's variance is measured;
# - every cell (row x concurrency) is measured REPS times, interleaved (rep 1 of every cell,
#   then rep 2, ...), so a burst of outside load hits every row alike; medians are reported;
# - CPU per request is the process's own utime+stime (/proc/PID/stat, all its threads; for
#   nginx, master and workers) over the requests wrk completed: the cost of a request, which
#   throughput alone hides when the client is the bottleneck;
# - hypervisor steal (/proc/stat) and the load average are printed, so a noisy run shows.
#
# Environment: REPS (3), DURATION (10s, wrk syntax), CONNS ("1 16 128"), IDLE_CONNS (1000),
# SERVER_CPU (0), CLIENT_CPU (1), WORKERS (1), ROWS (every row; a subset such as
# "nginx passthrough" for a quick comparison), WRITE_README=1 (same as --write-readme).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

for arg in "$@"; do
  case $arg in
    --write-readme) WRITE_README=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done
REPS=${REPS:-3}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-1 16 128}
IDLE_CONNS=${IDLE_CONNS:-1000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
WORKERS=${WORKERS:-1}
ALL_ROWS="direct nginx passthrough record faults-idle faults-latency shadow replay"
ROWS=${ROWS:-$ALL_ROWS}
WRITE_README=${WRITE_README:-0}

# --- tools -----------------------------------------------------------------------------------
nginx_bin() { command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; }; }
missing=()
nginx_bin >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v taskset >/dev/null || missing+=(util-linux)
command -v python3 >/dev/null || missing+=(python3)
if ((${#missing[@]})); then
  sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing ${missing[*]} (apt-get)" >&2
  $sudo apt-get install -y "${missing[@]}" >/dev/null ||
    { $sudo apt-get update >/dev/null && $sudo apt-get install -y "${missing[@]}" >/dev/null; }
fi
NGINX=$(nginx_bin)
cargo build -q --release -p cogcheck-proxy
bin=$root/target/release/cogcheck-proxy
# 1,000 idle connections plus the proxies' upstream connections need more than the default 1,024.
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# Arrays rather than functions: a function run with `&` is a subshell, and $! would be its pid
# rather than the server's, whose CPU time is what is measured.
on_server=(taskset -c "$SERVER_CPU")
on_client=(taskset -c "$CLIENT_CPU")
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on port $1; logs in $work" >&2; exit 1
}

# --- the upstream: a DescribeUserPool answer of 1,549 bytes ------------------------------------
python3 - "$work/body.json" <<'PY'
import json, sys
pool = {"UserPool": {
    "Id": "us-east-1_bench01", "Name": "bench-pool",
    "Arn": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_bench01",
    "Status": "Enabled", "LastModifiedDate": 1.7e9, "CreationDate": 1.7e9,
    "Policies": {"PasswordPolicy": {"MinimumLength": 8, "RequireUppercase": True,
        "RequireLowercase": True, "RequireNumbers": True, "RequireSymbols": True,
        "TemporaryPasswordValidityDays": 7}},
    "DeletionProtection": "INACTIVE", "LambdaConfig": {},
    "SchemaAttributes": [
        {"Name": n, "AttributeDataType": t, "DeveloperOnlyAttribute": False, "Mutable": m,
         "Required": r, "StringAttributeConstraints": {"MinLength": "0", "MaxLength": "2048"}}
        for n, t, m, r in [("sub", "String", False, True), ("email", "String", True, False),
                           ("name", "String", True, False)]],
    "AutoVerifiedAttributes": ["email"], "UsernameAttributes": ["email"],
    "VerificationMessageTemplate": {"DefaultEmailOption": "CONFIRM_WITH_CODE"},
    "MfaConfiguration": "OFF", "EstimatedNumberOfUsers": 42,
    "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
    "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False,
                              "UnusedAccountValidityDays": 7},
    "UsernameConfiguration": {"CaseSensitive": False},
    "AccountRecoverySetting": {"RecoveryMechanisms": [
        {"Priority": 1, "Name": "verified_email"}]},
    "UserPoolTier": "ESSENTIALS",
    "EmailVerificationMessage": "",
}}
body = json.dumps(pool, separators=(",", ":"))
pad = 1549 - len(body)
assert pad >= 0, len(body)
pool["UserPool"]["EmailVerificationMessage"] = ("Your verification code is {####}. " * 60)[:pad]
body = json.dumps(pool, separators=(",", ":"))
assert len(body) == 1549 and "'" not in body and "$" not in body, len(body)
open(sys.argv[1], "w").write(body)
PY
body=$(cat "$work/body.json")
UP=$(free_port); UP2=$(free_port); NG=$(free_port)
cat >"$work/upstream.conf" <<CONF
worker_processes 1;
pid $work/upstream.pid;
error_log $work/upstream.err;
events { worker_connections 20000; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UP;
    listen 127.0.0.1:$UP2;
    location / {
      default_type application/x-amz-json-1.1;
      add_header x-amzn-RequestId 9d5f2b0c-bench-4a3e-8f1d-0123456789ab;
      return 200 '$body';
    }
  }
}
CONF
cat >"$work/nginx.conf" <<CONF
worker_processes $WORKERS;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 20000; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream cognito { server 127.0.0.1:$UP; keepalive 256; keepalive_requests 1000000; }
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
"${on_server[@]}" "$NGINX" -c "$work/upstream.conf" -p "$work" -g 'daemon off;' &
pids+=($!); up_pid=$!
"${on_server[@]}" "$NGINX" -c "$work/nginx.conf" -p "$work" -g 'daemon off;' &
pids+=($!); ng_pid=$!
wait_port "$UP"; wait_port "$UP2"; wait_port "$NG"

# --- the proxies, one process per mode ----------------------------------------------------------
cat >"$work/faults-idle.toml" <<'TOML'
# Rules that select nothing the benchmark sends: what having --faults on costs.
[[rules]]
id = "never-delete"
actions = ["DeleteUserPool", "AdminDeleteUser"]
fault = { kind = "error", error = "TooManyRequestsException" }

[[rules]]
id = "never-unsigned-signup"
actions = ["SignUp"]
probability = 0.5
fault = { kind = "status", status = 503 }
TOML
cat >"$work/faults-latency.toml" <<'TOML'
# One request in ten answered 2 ms late.
[[rules]]
id = "slow-tenth"
probability = 0.1
fault = { kind = "latency", distribution = "fixed", ms = 2 }
TOML
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"UserPoolId":"us-east-1_bench01"}'
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AWSCognitoIdentityProviderService.DescribeUserPool"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
LUA
request() { # port: one request, as wrk sends it
  python3 - "$1" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("POST", "/", body='{"UserPoolId":"us-east-1_bench01"}', headers={
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Target": "AWSCognitoIdentityProviderService.DescribeUserPool"})
r = c.getresponse(); r.read()
assert r.status == 200, r.status
PY
}

declare -A port pid
start_proxy() { # row, flags...
  local row=$1; shift
  port[$row]=$(free_port)
  "${on_server[@]}" "$bin" --workers "$WORKERS" --listen "127.0.0.1:${port[$row]}" \
    --upstream "http://127.0.0.1:$UP" "$@" >"$work/$row.out" 2>"$work/$row.err" &
  pids+=($!); pid[$row]=$!
  wait_port "${port[$row]}"
}
port[direct]=$UP; pid[direct]=$up_pid
port[nginx]=$NG; pid[nginx]=$ng_pid
for row in $ROWS; do
  case $row in
    direct | nginx) ;;
    passthrough) start_proxy "$row" ;;
    record) start_proxy "$row" --record "$work/record.jsonl" ;;
    faults-idle) start_proxy "$row" --faults "$work/faults-idle.toml" ;;
    faults-latency) start_proxy "$row" --faults "$work/faults-latency.toml" ;;
    shadow) start_proxy "$row" --shadow "http://127.0.0.1:$UP2" ;;
    replay)
      # The cassette is recorded just before, by a proxy that then stops (it is fsynced then).
      start_proxy recorder --record "$work/replay.jsonl"
      request "${port[recorder]}"
      kill -TERM "${pid[recorder]}"; wait "${pid[recorder]}" || true
      start_proxy "$row" --replay "$work/replay.jsonl" --mode none ;;
    *) echo "unknown row $row; rows: $ALL_ROWS" >&2; exit 2 ;;
  esac
  request "${port[$row]}"
done

# --- measuring ----------------------------------------------------------------------------------
ticks() { # pid: utime+stime of it and its children (nginx's workers), in clock ticks
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}
stat_cpu() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9, $9}' /proc/stat; }
results=$work/results.txt
: >"$results"
read -r run_total0 run_steal0 < <(stat_cpu)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
cells=$(($(wc -w <<<"$ROWS") * $(wc -w <<<"$CONNS") * REPS))
echo "measuring $cells cells of $DURATION (REPS=$REPS, rows: $ROWS)" >&2
for rep in $(seq "$REPS"); do
  for c in $CONNS; do
    for row in $ROWS; do
      t0=$(ticks "${pid[$row]}")
      read -r tot0 st0 < <(stat_cpu)
      out=$("${on_client[@]}" wrk -t1 -c"$c" -d"$DURATION" -s "$work/post.lua" "http://127.0.0.1:${port[$row]}/")
      read -r tot1 st1 < <(stat_cpu)
      t1=$(ticks "${pid[$row]}")
      load1=$(cut -d' ' -f1 /proc/loadavg)
      read -r _ n dur p99 errors < <(grep '^RESULT' <<<"$out")
      echo "$row $c $rep $n $dur $p99 $errors $((t1 - t0)) $((st1 - st0)) $((tot1 - tot0)) $load1" >>"$results"
      awk -v r="$rep" -v c="$c" -v row="$row" -v n="$n" -v d="$dur" -v e="$errors" 'BEGIN {
        printf "  rep %s c=%-4s %-15s %9.0f req/s  errors %s\n", r, c, row, n * 1e6 / d, e }' >&2
      # The cassette would otherwise grow by gigabytes; the recorder appends, so truncating
      # it keeps the file small without changing what is written per exchange.
      [ "$row" = record ] && : >"$work/record.jsonl"
    done
  done
done
read -r run_total1 run_steal1 < <(stat_cpu)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# RSS with IDLE_CONNS keep-alive connections that each completed one exchange and stay open.
rss=$work/rss.txt
: >"$rss"
for row in $ROWS; do
  [ "$row" = direct ] && continue
  procs="${pid[$row]} $(pgrep -P "${pid[$row]}" | tr "\n" " " || true)"
  "${on_client[@]}" python3 - "$row" "${port[$row]}" "$IDLE_CONNS" $procs >>"$rss" <<'PY' ||
import socket, sys, time
row, port, n, procs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
body = b'{"UserPoolId":"us-east-1_bench01"}'
req = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
       b"X-Amz-Target: AWSCognitoIdentityProviderService.DescribeUserPool\r\n"
       b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
def rss_kib():
    total = 0
    for p in procs:
        for line in open(f"/proc/{p}/status"):
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total
before = rss_kib()
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
for s in socks:  # all at once, as a burst of clients would
    s.sendall(req)
for s in socks:
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, rest = data.split(b"\r\n\r\n", 1)
    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
    assert length and head.startswith(b"HTTP/1.1 200"), head[:200]
    while len(rest) < length[0]:
        rest += s.recv(65536)
time.sleep(1)
print(row, before, rss_kib())
for s in socks:
    s.close()
PY
    echo "$row: the idle-connection client failed" >&2
done

# --- the report ---------------------------------------------------------------------------------
machine="$(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - "$results" "$rss" "$WRITE_README" "$root/proxy/README.md" <<PY
import statistics, sys
results, rss_file, write, readme = sys.argv[1:5]
meta = dict(machine="""$machine""", rev="$rev", reps=$REPS, duration="$DURATION",
            workers=$WORKERS, server_cpu="$SERVER_CPU", client_cpu="$CLIENT_CPU",
            idle=$IDLE_CONNS, load_start="$load_start", load_end="$load_end",
            steal=100.0 * ($run_steal1 - $run_steal0) / max(1, $run_total1 - $run_total0))
rows = "$ROWS".split()
conns = [int(c) for c in "$CONNS".split()]
hz = 100.0
cells, steals, loads = {}, [], []
for line in open(results):
    row, c, rep, n, dur, p99, errors, ticks, dsteal, dtotal, load1 = line.split()
    n, dur = int(n), int(dur)
    cells.setdefault((row, int(c)), []).append(dict(
        rps=n * 1e6 / dur, p99=int(p99) / 1000.0, errors=int(errors),
        cpu=int(ticks) / hz * 1e6 / max(1, n)))
    steals.append(100.0 * int(dsteal) / max(1, int(dtotal)))
    loads.append(float(load1))
med = {k: {m: statistics.median(r[m] for r in v) for m in ("rps", "p99", "cpu")}
       | {"errors": sum(r["errors"] for r in v)} for k, v in cells.items()}
rss = {}
for line in open(rss_file):
    row, before, after = line.split()
    rss[row] = int(after) / 1024.0
names = {"direct": "upstream, direct (no proxy)", "nginx": "nginx reverse proxy (baseline)",
         "passthrough": "cogcheck-proxy passthrough", "record": "cogcheck-proxy --record",
         "faults-idle": "cogcheck-proxy --faults, rules match nothing",
         "faults-latency": "cogcheck-proxy --faults, 10% +2 ms latency",
         "shadow": "cogcheck-proxy --shadow (compare)", "replay": "cogcheck-proxy --replay"}

def ratio(row, c, m):
    base = med.get(("nginx", c))
    return None if base is None or (row, c) not in med else med[(row, c)][m] / max(base[m], 1e-9)

def verdicts(row, c):
    """The issue's targets, checked at 16 and 128 connections."""
    if c not in (16, 128):
        return []
    out = []
    def check(ok, text):
        if ok is not None:
            out.append(("✓ " if ok else "✗ ") + text)
    if row == "passthrough":
        r = ratio(row, c, "rps"); check(r and r >= 0.9, "req/s ≥ 0.9×")
        r = ratio(row, c, "p99"); check(r and r <= 1.1, "p99 ≤ 1.1×")
        r = ratio(row, c, "cpu"); check(r and r <= 1.1, "CPU ≤ 1.1×")
    elif row == "record":
        r = ratio(row, c, "rps"); check(r and r >= 0.7, "req/s ≥ 0.7×")
    elif row == "faults-idle" and ("passthrough", c) in med:
        p, f = med[("passthrough", c)], med[(row, c)]
        check(f["rps"] >= 0.95 * p["rps"], "req/s within 5% of passthrough")
        check(f["cpu"] <= 1.05 * p["cpu"], "CPU within 5% of passthrough")
    return out

def fmt(x, unit=""):
    return "–" if x is None else (f"{x:,.0f}{unit}" if x >= 100 else f"{x:.2f}{unit}" if x < 10 else f"{x:.1f}{unit}")

def times(x):
    return "–" if x is None else f"{x:.2f}×"

lines = ["| mode | conns | req/s | × nginx | p99 ms | × nginx | CPU µs/req | × nginx | targets |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
for c in conns:
    for row in rows:
        m = med.get((row, c))
        if m is None:
            continue
        nginx_rel = row not in ("direct", "nginx")
        cpu = m["cpu"]
        err = f" ({m['errors']} errors)" if m["errors"] else ""
        lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            names[row] + err, c, fmt(m["rps"]), times(ratio(row, c, "rps")) if nginx_rel else "",
            fmt(m["p99"]), times(ratio(row, c, "p99")) if nginx_rel else "",
            fmt(cpu) + (" (upstream's)" if row == "direct" else ""),
            times(ratio(row, c, "cpu")) if nginx_rel else "", "; ".join(verdicts(row, c))))
lines += ["", f"| RSS with {meta['idle']:,} idle keep-alive connections | MiB | × nginx | target |",
          "|---|---:|---:|---|"]
for row in rows:
    if row in rss:
        r = rss[row] / rss["nginx"] if "nginx" in rss and row != "nginx" else None
        target = "" if row == "nginx" else ("✓" if rss[row] <= 30 else "✗") + " ≤ 30 MiB"
        lines.append(f"| {names[row]} | {rss[row]:.1f} | {times(r) if r else ''} | {target} |")
lines += ["", f"Machine: {meta['machine']}. Upstream, nginx and cogcheck-proxy on CPU "
          f"{meta['server_cpu']}, wrk on CPU {meta['client_cpu']}; {meta['workers']} nginx worker "
          f"process(es) and cogcheck-proxy runtime thread(s). Medians of {meta['reps']} interleaved "
          f"runs of {meta['duration']} per cell, at commit {meta['rev']}. Hypervisor steal "
          f"{meta['steal']:.1f}% over the run (worst cell {max(steals):.1f}%); load average "
          f"{meta['load_start']} at the start, {meta['load_end']} at the end (1-minute peak "
          f"{max(loads):.2f}): a load above 2 means something else was using the cores."]
table = "\n".join(lines)
print(table)
if write == "1":
    text = open(readme).read()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin not in text or end not in text:
        sys.exit(f"{readme}: no {begin} ... {end} markers to write between")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    open(readme, "w").write(head + begin + "\n" + table + "\n" + end + tail)
    print(f"wrote the table into {readme}", file=sys.stderr)
PY
