#!/usr/bin/env bash
# Measures the TUI's CPU use while nothing changes: skydeck runs in tmux on a config with
# environments but no sources (so no data arrives), and utime+stime are read from /proc
# before and after a quiet period. Usage: scripts/idle-cpu.sh [SECONDS] [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
bin=${2:-${CARGO_TARGET_DIR:-target}/release/skydeck}
command -v tmux >/dev/null || { echo "tmux is needed (apt-get install tmux)" >&2; exit 1; }
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --release)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'tmux kill-session -t skydeck-idle 2>/dev/null || true; rm -rf "$tmp"' EXIT
printf '[[environments]]\nname = "production"\n' > "$tmp/c.toml"
tmux new-session -d -s skydeck-idle -x 120 -y 40 \
  "XDG_DATA_HOME=$tmp/d XDG_STATE_HOME=$tmp/s $bin --config $tmp/c.toml"
sleep 2
pid=$(pgrep -f "$bin --config $tmp/c.toml" | head -1)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks "$pid")
sleep "$seconds"
after=$(ticks "$pid")
used=$((after - before))
awk -v u="$used" -v hz="$hz" -v s="$seconds" 'BEGIN { printf "idle CPU over %ss: %.3f s of CPU = %.3f %% of one core\n", s, u / hz, 100 * u / hz / s }'
