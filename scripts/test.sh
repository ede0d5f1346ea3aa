#!/usr/bin/env bash
# Runs every test skydeck has. Installs what the tests need (and fails loudly if it cannot),
# builds with network access, then runs the tests in a network namespace with only loopback
# where the machine allows it, so no test can reach anything but 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo not found: install Rust from https://rustup.rs"

# Tools the tests call.
need_apt=()
command -v shellcheck >/dev/null || need_apt+=(shellcheck)
# The team store tests start real PostgreSQL servers (tests/support/pg.rs): initdb + postgres.
pg_initdb() { find /usr/lib/postgresql -maxdepth 3 -name initdb -path '*/bin/*' 2>/dev/null | sort | tail -1; }
[ -n "${SKYDECK_PG_BIN:-}" ] || [ -n "$(pg_initdb)" ] || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]}"
  if [ "$(id -u)" -eq 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo); fi
  { "${sudo_cmd[@]}" apt-get update -qq && "${sudo_cmd[@]}" apt-get install -y -qq "${need_apt[@]}"; } >&2 \
    || die "could not install ${need_apt[*]} (needed by the tests); install it and run again"
fi
if [ -z "${SKYDECK_PG_BIN:-}" ]; then
  initdb_path="$(pg_initdb)"
  [ -n "$initdb_path" ] || die "PostgreSQL's initdb not found after installing postgresql (the team store tests need a real server)"
  SKYDECK_PG_BIN="$(dirname "$initdb_path")"
  export SKYDECK_PG_BIN
fi
# PostgreSQL will not run as root: as root the tests run it in a user namespace as uid 1000.
if [ "$(id -u)" -eq 0 ] && ! unshare --map-user=1000 --map-group=1000 true 2>/dev/null; then
  die "PostgreSQL cannot run as root and user namespaces are unavailable (unshare --map-user): run the tests as a normal user"
fi

# moto (the AWS emulator the AWS tests start) and awscli (scripts/bench-aws.sh), in .venv.
# Installed here, with network access, before the tests run without it. moto is pinned: the
# tests know what this version emulates: 5.2.5 refuses the CloudWatch CBOR calls with 404, which
# the AWS tests expect; 5.2.6 (out 2026-12) answers them and would need those tests moved on (see
# ../shared/dependencies.md). A new release must not turn a clean checkout red.
MOTO_VERSION=5.2.5
moto_installed() { .venv/bin/python -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null; }
if [ ! -x .venv/bin/moto_server ] || [ ! -x .venv/bin/aws ] || [ "$(moto_installed)" != "$MOTO_VERSION" ]; then
  command -v python3 >/dev/null || die "python3 not found (needed for moto, the AWS emulator): install it and run again"
  say "installing moto[server] and awscli into .venv"
  { [ -x .venv/bin/pip ] || python3 -m venv .venv; } >&2 \
    || die "could not create .venv (python3 -m venv); on Debian/Ubuntu: apt-get install python3-venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" awscli >&2 \
    || die "could not install moto[server] and awscli into .venv (needs network access to PyPI)"
fi

say "building tests"
cargo test --locked --workspace --all-targets --no-run

# Cloud SDKs must never probe instance metadata from a test.
export AWS_EC2_METADATA_DISABLED=true

run_tests() { cargo test --locked --workspace --all-targets "$@"; }

if [ "${SKYDECK_TEST_NETNS:-1}" = "1" ] && unshare -rn true 2>/dev/null; then
  say "running tests in a network namespace with only loopback"
  # -r maps us to root inside the namespace so `ip link set lo up` works without privileges.
  unshare -rn bash -c 'ip link set lo up && exec cargo test --offline --locked --workspace --all-targets "$@"' _ "$@"
else
  say "network namespaces unavailable here: running tests without isolation"
  run_tests "$@"
fi
