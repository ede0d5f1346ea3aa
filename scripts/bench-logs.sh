#!/usr/bin/env bash
# Side-by-side benchmark of headless log filtering: the same 10^6-line file filtered by
# `skydeck logs SOURCE --filter RE`, `grep -E`, `rg` and `lnav -n`, each writing the matching
# lines to a file. Wall time with hyperfine (medians), peak RSS with /usr/bin/time, and the
# RSS of skydeck at 10^7 lines. Prints a Markdown section with the date, commit and machine;
# BENCH_APPEND=1 appends it to BENCHMARKS.md.
#
# Public tools only: apt-get install hyperfine ripgrep lnav time (installed here if missing
# and running as root). Everything is local; the file is generated with a fixed seed.
#
#   scripts/bench-logs.sh                 # 10 runs each, 10^6 lines (+ one 10^7-line RSS run)
#   BENCH_RUNS=3 BENCH_SKIP_10M=1 scripts/bench-logs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

runs=${BENCH_RUNS:-10}
pattern='ERROR .*took=8[0-9]{2}ms'

missing=()
for tool in hyperfine rg lnav; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=("${missing[@]/rg/ripgrep}")
  [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: apt-get install ${pkgs[*]}"
  say "installing ${pkgs[*]}"
  { apt-get update -qq && apt-get install -y -qq "${pkgs[@]}"; } >&2 || die "could not install ${pkgs[*]}"
fi

target_dir=${CARGO_TARGET_DIR:-$root/target}
say "building the release binary"
cargo build --release --locked --quiet
skydeck=$target_dir/release/skydeck
[ -x "$skydeck" ] || die "no release binary at $skydeck"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One access-log line per request: time, level, method, path, status, latency, region.
generate() {
  python3 - "$1" "$2" <<'EOF'
import random, sys
lines, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(42)
levels = ["INFO"] * 90 + ["WARN"] * 7 + ["ERROR"] * 3
paths = ["/api/v1/orders", "/api/v1/payments", "/api/v1/users", "/healthz", "/api/v1/search"]
regions = ["eu-west-1", "us-east-1", "ap-south-1"]
with open(path, "w", buffering=1 << 20) as out:
    for i in range(lines):
        ms = i // 10
        level = rng.choice(levels)
        status = 500 if level == "ERROR" and rng.random() < 0.5 else 200
        out.write(
            f"2026-11-23T{ms // 3600000 % 24:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}Z "
            f"{level} {rng.choice(['GET', 'POST'])} {rng.choice(paths)}/{rng.randrange(100000)} "
            f"status={status} took={rng.randrange(1000)}ms region={rng.choice(regions)}\n"
        )
EOF
}

say "generating 10^6 lines"
log=$work/app.log
generate 1000000 "$log"
cat >"$work/config.toml" <<EOF
[[logs]]
file = "$log"
name = "app"
EOF
export XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/state XDG_CONFIG_HOME=$work/config
unset SKYDECK_CONFIG

sk=("$skydeck" --config "$work/config.toml" logs app --filter "$pattern")
lnav_cmd=(lnav -n -c ":filter-in $pattern" "$log")
# Every tool finds the same lines (lnav and skydeck reformat nothing but skydeck adds columns).
"${sk[@]}" >"$work/sk.out"
grep -E "$pattern" "$log" >"$work/grep.out"
matches=$(wc -l <"$work/grep.out")
[ "$(wc -l <"$work/sk.out")" -eq "$matches" ] || die "skydeck printed $(wc -l <"$work/sk.out") lines, grep $matches"
[ "$(rg -c "$pattern" "$log")" -eq "$matches" ] || die "rg disagrees with grep"

say "timing ($runs runs each, $matches matching lines)"
hyperfine --warmup 2 --runs "$runs" --export-json "$work/times.json" --style basic \
  -n "skydeck logs" "$(printf '%q ' "${sk[@]}") > $work/o1" \
  -n "grep -E" "grep -E '$pattern' $log > $work/o2" \
  -n "rg" "rg '$pattern' $log > $work/o3" \
  -n "lnav -n" "$(printf '%q ' "${lnav_cmd[@]}") > $work/o4" >&2

peak_rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
rss_sk=$(peak_rss "${sk[@]}")
rss_grep=$(peak_rss grep -E "$pattern" "$log")
rss_rg=$(peak_rss rg "$pattern" "$log")
rss_lnav=$(peak_rss "${lnav_cmd[@]}")

# The TUI with the same file in its log buffer: process RSS once the buffer is full (it stops
# growing), against the bytes of text the buffer holds.
tui_rss="(tmux missing)"
if command -v tmux >/dev/null; then
  say "TUI: loading the 10^6 lines into the log buffer"
  session=skydeck-bench-logs-$$
  tmux new-session -d -s "$session" -x 120 -y 40 \
    "XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/state XDG_CONFIG_HOME=$work/config $skydeck --config $work/config.toml"
  sleep 1
  pid=
  for _ in $(seq 1 50); do
    pid=$(pgrep -nf "^$skydeck --config $work/config.toml") && break
    sleep 0.1
  done
  [ -n "$pid" ] || die "the TUI did not start in tmux"
  rss_of() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
  # A file source first reads its newest 100 000 lines; the rest loads as the Logs screen is
  # scrolled to its top. Go to Logs and press g (first line) until RSS stops moving for 3 s.
  sleep 2
  tmux send-keys -t "$session" 8
  previous=0
  still=0
  for _ in $(seq 1 600); do
    tmux send-keys -t "$session" g
    sleep 0.5
    now_rss=$(rss_of)
    if [ "$now_rss" = "$previous" ]; then still=$((still + 1)); else still=0; fi
    previous=$now_rss
    [ "$still" -ge 6 ] && break
  done
  peak=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  tmux kill-session -t "$session"
  text_bytes=$(wc -c <"$log")
  lines=$(wc -l <"$log")
  tui_rss=$(awk -v r="$previous" -v p="$peak" -v t="$text_bytes" -v n="$lines" \
    'BEGIN { printf "%d MiB RSS (peak %d MiB) holding %d lines of %.1f MB text: %.2f× the text", r / 1024, p / 1024, n, (t - n) / 1e6, r * 1024 / (t - n) }')
fi

rss_10m="(skipped)"
if [ "${BENCH_SKIP_10M:-0}" != "1" ]; then
  say "generating 10^7 lines for the memory run"
  generate 10000000 "$log"
  rss_10m="$(( $(peak_rss "${sk[@]}") / 1024 )) MiB"
fi

(python3 - "$work/times.json" "$rss_sk" "$rss_grep" "$rss_rg" "$rss_lnav" "$rss_10m" "$matches" "$tui_rss" "$pattern" <<EOF
import json, sys
times = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
rss = dict(zip(["skydeck logs", "grep -E", "rg", "lnav -n"], [int(v) // 1024 for v in sys.argv[2:6]]))
grep = times["grep -E"]["median"]
print(f"### Headless log filter: \`scripts/bench-logs.sh\`, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)")
print()
print(f"$(nproc) cores, $(uname -m), {sys.argv[7]} of 10^6 lines match \`{sys.argv[9]}\`; file in page cache; output to a file.")
print()
print("| tool | median | × grep -E | peak RSS |")
print("|---|---|---|---|")
for name in ["skydeck logs", "grep -E", "rg", "lnav -n"]:
    t = times[name]["median"]
    print(f"| {name} | {t * 1000:.0f} ms | {t / grep:.2f}× | {rss[name]} MiB |")
print()
print(f"skydeck at 10^7 lines: peak RSS {sys.argv[6]}.")
print()
print(f"The TUI with the 10^6 lines in its log buffer: {sys.argv[8]}.")
EOF
) >"$work/report.md"
cat "$work/report.md"
if [ "${BENCH_APPEND:-0}" = "1" ]; then
  { echo; cat "$work/report.md"; } >>BENCHMARKS.md
  say "appended to BENCHMARKS.md"
fi
