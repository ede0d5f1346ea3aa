#!/usr/bin/env bash
# Side-by-side benchmark: the same AWS estate in moto, read once by `skydeck status --json` and
# once by the sequence of `aws` CLI calls an engineer would run for the same facts (ECS
# clusters, services, task definitions and revisions; RDS instances and snapshots; secrets;
# one CloudWatch query). Appends the machine, the numbers and the ratio to BENCHMARKS.md.
#
# Needs .venv with moto[server] and awscli (scripts/test.sh creates it) and a release build
# (built here if missing). Uses hyperfine when installed (apt-get install hyperfine), else a
# bash loop with `date +%s%N`. Everything runs against 127.0.0.1.
#
#   scripts/bench-aws.sh              # 10 runs each
#   BENCH_RUNS=3 scripts/bench-aws.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

runs=${BENCH_RUNS:-10}
moto_server=$root/.venv/bin/moto_server
aws_cli=$root/.venv/bin/aws
if [ ! -x "$moto_server" ] || [ ! -x "$aws_cli" ]; then
  die "no .venv with moto[server] and awscli: run scripts/test.sh first"
fi

target_dir=${CARGO_TARGET_DIR:-$root/target}
say "building the release binary"
cargo build --release --locked --quiet
skydeck=$target_dir/release/skydeck
[ -x "$skydeck" ] || die "no release binary at $skydeck"

work=$(mktemp -d)
moto_pid=
cleanup() {
  if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
endpoint=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=$work/aws-config AWS_SHARED_CREDENTIALS_FILE=$work/aws-credentials
export AWS_PAGER="" MOTO_ECS_SERVICE_RUNNING=2
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL

say "starting moto on $endpoint"
"$moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || die "moto did not start (see $work/moto.log)"

aws() { "$aws_cli" --endpoint-url "$endpoint" --output json "$@"; }

say "building the estate: 2 clusters, 4 services, 3 databases, 4 secrets"
for env in prod staging; do
  aws ecs create-cluster --cluster-name "shop-$env" --tags "key=environment,value=$env" >/dev/null
done
for family in web worker; do
  for tag in v1 v2; do
    aws ecs register-task-definition --family "$family" \
      --container-definitions "[{\"name\":\"app\",\"image\":\"123456789012.dkr.ecr.us-east-1.amazonaws.com/$family:$tag\",\"memory\":512}]" >/dev/null
  done
done
for env in prod staging; do
  for family in web worker; do
    aws ecs create-service --cluster "shop-$env" --service-name "$family" --task-definition "$family:2" --desired-count 2 >/dev/null
  done
done
for db in orders-prod:35 orders-staging:7 reports-dev:0; do
  aws rds create-db-instance --db-instance-identifier "${db%%:*}" --engine postgres --engine-version 16.4 \
    --db-instance-class db.t3.micro --allocated-storage 20 --master-username app \
    --master-user-password not-a-real-password-1 --backup-retention-period "${db##*:}" >/dev/null
done
aws rds create-db-snapshot --db-instance-identifier orders-prod --db-snapshot-identifier orders-prod-before-migration >/dev/null
for name in shop/prod/db-password shop/prod/stripe-key shop/staging/db-password inference/prod/openai-key; do
  aws secretsmanager create-secret --name "$name" --secret-string "bench-value" >/dev/null
done

cat >"$work/config.toml" <<EOF
[aws]
region = "us-east-1"
endpoint_url = "$endpoint"
EOF

# What an engineer runs for the same facts, as they would script it.
cat >"$work/aws-facts.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
count() { if [ -n "${CALLS_FILE:-}" ]; then echo "$1" >>"$CALLS_FILE"; fi; }
aws() { count "$2"; "$AWS_CLI" --endpoint-url "$ENDPOINT" --output json "$@"; }
awst() { count "$2"; "$AWS_CLI" --endpoint-url "$ENDPOINT" --output text "$@"; }
for cluster in $(awst ecs list-clusters --query 'clusterArns[]'); do
  services=$(awst ecs list-services --cluster "$cluster" --query 'serviceArns[]')
  # One describe-services per cluster: counts, deployments and events; its task definitions next.
  # shellcheck disable=SC2086
  for td in $(awst ecs describe-services --cluster "$cluster" --services $services \
    --query 'services[].[taskDefinition, desiredCount, runningCount, deployments[0].rolloutState]' |
    cut -f1); do
    aws ecs describe-task-definition --task-definition "$td" >/dev/null
  done
done
for family in $(awst ecs list-task-definition-families --status ACTIVE --query 'families[]'); do
  aws ecs list-task-definitions --family-prefix "$family" --sort DESC >/dev/null
done
aws rds describe-db-instances >/dev/null
aws rds describe-db-snapshots >/dev/null
aws secretsmanager list-secrets >/dev/null
aws cloudwatch get-metric-data --start-time "$(date -u -d '-30 min' +%FT%TZ)" --end-time "$(date -u +%FT%TZ)" \
  --metric-data-queries '[{"Id":"q0","MetricStat":{"Metric":{"Namespace":"AWS/ECS","MetricName":"CPUUtilization","Dimensions":[{"Name":"ClusterName","Value":"shop-prod"},{"Name":"ServiceName","Value":"web"}]},"Period":60,"Stat":"Average"}}]' \
  >/dev/null 2>&1 || true
EOF
chmod +x "$work/aws-facts.sh"
export AWS_CLI=$aws_cli ENDPOINT=$endpoint
export XDG_DATA_HOME=$work/data XDG_STATE_HOME=$work/state XDG_CONFIG_HOME=$work/xdg-config

skydeck_cmd="$skydeck --config $work/config.toml status --json"
aws_cmd="$work/aws-facts.sh"
run_skydeck() { "$skydeck" --config "$work/config.toml" status --json; }
run_aws() { "$aws_cmd"; }

# Both must work before they are timed.
run_skydeck >"$work/status.json"
python3 - "$work/status.json" <<'EOF' || die "skydeck status did not read the estate (see $work/status.json)"
import json, sys
doc = json.load(open(sys.argv[1]))
kinds = [r["kind"] for r in doc["resources"]]
assert kinds.count("ECS service") == 4 and kinds.count("RDS instance") == 3, kinds
assert len(doc["secrets"]) == 4 and not doc["errors"], doc["errors"]
EOF
CALLS_FILE=$work/calls run_aws
calls=$(wc -l <"$work/calls")

mean_of() { # function -> mean seconds
  local total=0 start end
  for _ in $(seq 1 "$runs"); do
    start=$(date +%s%N)
    "$1" >/dev/null
    end=$(date +%s%N)
    total=$((total + end - start))
  done
  python3 -c "print(f'{$total / $runs / 1e9:.3f}')"
}

if command -v hyperfine >/dev/null; then
  tool="hyperfine $(hyperfine --version | cut -d' ' -f2), $runs runs, 1 warm-up"
  hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$work/bench.json" \
    -n skydeck "$skydeck_cmd" -n aws-cli "$aws_cmd" >&2
  stats=$(python3 -c '
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
print(" ".join(f"{r[n][k]:.3f}" for n in ("skydeck", "aws-cli") for k in ("mean", "stddev")))
' "$work/bench.json")
  read -r skydeck_s skydeck_sd aws_s aws_sd <<<"$stats"
else
  tool="bash loop with date +%s%N, $runs runs, 1 warm-up"
  run_skydeck >/dev/null
  run_aws
  skydeck_s=$(mean_of run_skydeck)
  aws_s=$(mean_of run_aws)
  skydeck_sd="n/a"
  aws_sd="n/a"
fi
ratio=$(python3 -c "print(f'{$aws_s / $skydeck_s:.1f}')")
say "skydeck ${skydeck_s}s, aws CLI ${aws_s}s: ${ratio}x"

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
moto_version=$("$root/.venv/bin/python" -c 'import moto; print(moto.__version__)')
aws_version=$("$aws_cli" --version 2>&1 | cut -d' ' -f1)
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
bench=$root/BENCHMARKS.md
[ -f "$bench" ] || printf '# Benchmarks\n' >"$bench"
grep -q '^## AWS: skydeck status vs aws CLI' "$bench" || cat >>"$bench" <<'EOF'

## AWS: skydeck status vs aws CLI

`scripts/bench-aws.sh` builds one estate in moto (2 ECS clusters with 4 services on 4 task
definition revisions, 3 RDS instances with their snapshots, 4 secrets), then times
`skydeck status --json` against the `aws` CLI calls an engineer runs for the same facts. Both
read from moto on 127.0.0.1, so the numbers compare the clients, not the network. skydeck makes
its calls concurrently from one process; the CLI starts Python once per call. Both ask
CloudWatch for metrics once; moto answers skydeck's CBOR request with a 404 at once (see
../shared/dependencies.md), so skydeck's number includes a failed metrics call, not a full one.
EOF
cat >>"$bench" <<EOF

### $(date -u +'%Y-%m-%d %H:%M UTC'), skydeck $rev

| | mean | stddev |
|---|---|---|
| \`skydeck status --json\` (release) | ${skydeck_s} s | ${skydeck_sd} s |
| the same facts with ${calls} \`aws\` CLI calls | ${aws_s} s | ${aws_sd} s |
| **ratio** | **${ratio}×** | |

Machine: ${cpu:-unknown CPU}, $(nproc) cores, $(uname -sr). $aws_version, moto $moto_version.
Timing: $tool.
EOF
say "appended to BENCHMARKS.md"
