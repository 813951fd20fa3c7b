#!/usr/bin/env bash
# Suite overhead: how much longer a full run takes than the target spent answering.
#
#   bash suite/benches/overhead.sh                # against moto (the suite's default target)
#   bash suite/benches/overhead.sh ministack      # another target from fixtures/targets.toml
#   REPS=3 bash suite/benches/overhead.sh         # three runs, each printed, then the median
#
# One full `cogcheck run` (every scenario, the default --jobs, release build) per repetition.
# From its results JSON:
#   wall    = run.finished - run.started (the target is already up: its install and start-up
#             are not the suite's cost and are left out);
#   answers = the time the target spent answering: every step's duration_ms (request sent,
#             answer read; an eventually consistent read's attempts and pauses) plus every
#             scenario's cleanup_ms (the calls that delete what it created: target time too,
#             though no step's);
#   ideal   = what the run would take if the harness cost nothing: answers divided by --jobs
#             (the jobs always full), but never less than the longest scenario's own answers
#             (one scenario's steps run one after another: a prefix domain that takes a minute
#             to appear holds the run for that minute however the rest is packed);
#   ratio   = wall / ideal. The target is <= 1.10 (the harness adds at most 10%). The ratio
#             against answers / --jobs alone is printed too.
# Not a timed test: wall times on a shared machine vary; read the ratio beside the load average
# it prints. A scenario that must run alone (`exclusive`) leaves jobs idle, which this ratio
# counts as overhead; a scenario waiting long inside itself (TOTP windows, a slow eventually
# consistent read) gives its job to the next scenario while it waits (`suite/src/clock.rs`).
#
# Environment: REPS (1), JOBS (the default of `cogcheck run --jobs`), FILTER (every scenario).
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${1:-${TARGET:-moto}}
REPS=${REPS:-1}
FILTER=${FILTER:-}

cargo build -q --release -p cogcheck
bin=$PWD/target/release/cogcheck
# The help text of --jobs, up to its `[default: N]` line, however many lines it wraps to.
default_jobs=$("$bin" run --help | sed -n '/--jobs/,/default:/p' | grep -o 'default: [0-9]*' | head -1 | tr -dc 0-9 || true)
JOBS=${JOBS:-${default_jobs:-4}}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq "$REPS"); do
  args=(run --target "$TARGET" --jobs "$JOBS" --no-progress --results "$work/run-$rep.json")
  [ -n "$FILTER" ] && args+=(--filter "$FILTER")
  echo "run $rep/$REPS: cogcheck ${args[*]}" >&2
  # A run with deviations exits non-zero; the results file is what is measured.
  "$bin" "${args[@]}" >"$work/run-$rep.out" 2>"$work/run-$rep.err" || true
  [ -s "$work/run-$rep.json" ] || { echo "no results from run $rep:" >&2; tail -20 "$work/run-$rep.err" >&2; exit 1; }
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$TARGET" "$JOBS" "$load_start" "$load_end" "$work"/run-*.json <<'PY'
import datetime, json, re, statistics, sys
target, jobs, load_start, load_end, files = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]

def when(text):
    # RFC 3339 with nanoseconds; Python reads microseconds.
    m = re.match(r"(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.datetime.fromisoformat(f"{m.group(1)}.{frac}{tz}")

ratios = []
for f in files:
    d = json.load(open(f))
    wall = (when(d["run"]["finished"]) - when(d["run"]["started"])).total_seconds()
    scenarios = d["scenarios"]
    # Each scenario's steps and clean-up, in seconds, summed once: the run's totals add them
    # up, and a scenario's own answering time bounds the run (its steps run one after another).
    per = {sc["name"]: (sum(s["duration_ms"] for s in sc["steps"] if s["status"] != "not_run") / 1e3,
                        sc.get("cleanup_ms", 0) / 1e3) for sc in scenarios}
    step_count = sum(1 for sc in scenarios for s in sc["steps"] if s["status"] != "not_run")
    step_s = sum(steps for steps, _ in per.values())
    clean_s = sum(clean for _, clean in per.values())
    longest_name, longest_s = max(((name, steps + clean) for name, (steps, clean) in per.items()),
                                  key=lambda kv: kv[1], default=("-", 0.0))
    packed = (step_s + clean_s) / jobs
    ideal = max(packed, longest_s)
    ratio = wall / ideal if ideal else float("inf")
    ratios.append(ratio)
    print(f"{target}: {len(scenarios)} scenarios, {step_count} steps, --jobs {jobs}: wall {wall:.1f} s; "
          f"steps {step_s:.1f} s + clean-up {clean_s:.1f} s = {step_s + clean_s:.1f} s / {jobs} = "
          f"{packed:.1f} s; longest scenario {longest_s:.1f} s ({longest_name}); ideal "
          f"{ideal:.1f} s -> ratio {ratio:.2f} ({'within' if ratio <= 1.10 else 'over'} the 1.10 "
          f"target); against the packed time alone {wall / packed if packed else float('inf'):.2f}")
m = statistics.median(ratios)
print(f"suite overhead against {target}: {m:.2f}x the target's answering time (median of "
      f"{len(ratios)}; target <= 1.10: {'met' if m <= 1.10 else 'NOT met'}); load average "
      f"{load_start} before, {load_end} after (above 2 on two cores: other work shared them)")
PY
