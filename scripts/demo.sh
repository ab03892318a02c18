#!/usr/bin/env bash
# The demo: a canary release with a cluster immune system, on a laptop.
# Starts moto (a local AWS emulator) and `progressive serve` on its embedded
# SQLite store, seeds a demo ALB with two target groups and two CloudWatch
# alarms, applies examples/quickstart with OpenTofu, then:
#   1. releases v2 to green through the canary policy's stages while
#      `progressive watch` shows them (employees → 5 % → fleet);
#   2. deploys v3 to blue and releases it; an alarm fires in stage 2, the
#      engine rolls back by itself, and the release history shows it all.
# State lives in .demo/ (recreated on every run; PROGRESSIVE_DEMO_DIR moves
# it). PROGRESSIVE_LISTEN changes the engine's address (default
# 127.0.0.1:8182); PROGRESSIVE_DEMO_BIN names another directory holding the
# progressive and terraform-provider-progressive binaries (default bin/).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="${PROGRESSIVE_DEMO_DIR:-$root/.demo}"
bindir="${PROGRESSIVE_DEMO_BIN:-$root/bin}"
listen="${PROGRESSIVE_LISTEN:-127.0.0.1:8182}"
endpoint="http://$listen"

for bin in progressive terraform-provider-progressive; do
  [[ -x "$bindir/$bin" ]] || { echo "demo: $bindir/$bin is missing; run \`make demo\`" >&2; exit 1; }
done
for bin in tofu moto_server; do
  [[ -x "$root/bin/$bin" ]] || { echo "demo: bin/$bin is missing; run \`make demo\`" >&2; exit 1; }
done
python="$root/.venv/bin/python"
[[ -x "$python" ]] || { echo "demo: .venv is missing; run \`make demo\`" >&2; exit 1; }

rm -rf "$state"
mkdir -p "$state/tf"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
status() { # url [token] -> HTTP status, 0 when unreachable
  python3 - "$@" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 2:
    req.add_header("Authorization", "Bearer " + sys.argv[2])
try:
    print(urllib.request.urlopen(req, timeout=2).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print(0)
PY
}
if [[ "$(status "$endpoint/healthz")" != 0 ]]; then
  echo "demo: something already listens on $listen; stop it or set PROGRESSIVE_LISTEN to a free address" >&2
  exit 1
fi

moto_port="$(free_port)"
echo "==> starting moto (local AWS) on 127.0.0.1:$moto_port"
"$root/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$state/moto.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do [[ "$(status "http://127.0.0.1:$moto_port/moto-api/")" == 200 ]] && break; sleep 0.2; done
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo

echo "==> seeding a demo ALB, target groups with registered targets, and alarms"
"$python" "$root/scripts/demo_aws.py" seed "$state/tf/aws.auto.tfvars.json"

admin="$(python3 -c 'import secrets; print("prog_" + secrets.token_urlsafe(32))')"
echo "==> starting the engine on $endpoint (SQLite in .demo/data, log in .demo/engine.log)"
PROGRESSIVE_LISTEN="$listen" PROGRESSIVE_DATA_DIR="$state/data" PROGRESSIVE_BOOTSTRAP_TOKEN="$admin" \
  "$bindir/progressive" serve >"$state/engine.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  [[ "$(status "$endpoint/readyz")" == 200 ]] && break
  sleep 0.1
done
[[ "$(status "$endpoint/readyz")" == 200 ]] || { echo "demo: the engine did not start:" >&2; cat "$state/engine.log" >&2; exit 1; }
export PROGRESSIVE_ENDPOINT="$endpoint"
write="$(PROGRESSIVE_TOKEN="$admin" "$bindir/progressive" token create --kind write --name demo 2>/dev/null)"

cat >"$state/tofurc" <<CFG
provider_installation {
  dev_overrides {
    "registry.opentofu.org/progressive-delivery/progressive"  = "$bindir"
    "registry.terraform.io/progressive-delivery/progressive" = "$bindir"
  }
  direct {}
}
CFG
cp "$root/examples/quickstart/main.tf" "$state/tf/main.tf"
apply() {
  echo "==> tofu apply $*"
  (cd "$state/tf" && TF_CLI_CONFIG_FILE="$state/tofurc" PROGRESSIVE_TOKEN="$write" \
    TF_IN_AUTOMATION=1 "$root/bin/tofu" apply -auto-approve -input=false -no-color "$@" 2>&1 |
    grep -v -i -E 'provider development overrides are in effect|^ - progressive-delivery/progressive in |^The behavior may therefore not match|^of your plugins|^configuration values may not be' | sed 's/^/    /')
}
cli() { PROGRESSIVE_TOKEN="$admin" "$bindir/progressive" "$1" --project checkout "${@:2}"; }

apply -var blue_version=v1 -var green_version=v1
echo
echo "==> deploy v2 to green (the idle slot) and release it: employees → 5% → fleet"
apply -var blue_version=v1 -var green_version=v2 -var release_slot=green -var release_trigger=v2
cli watch checkout
echo
echo "==> deploy v3 to blue and release it; in stage 2 the alarm checkout-5xx fires"
"$python" "$root/scripts/demo_aws.py" fire "$endpoint" "$admin" checkout-5xx &
pids+=($!)
apply -var blue_version=v3 -var green_version=v2 -var release_slot=blue -var release_trigger=v3
if cli watch checkout; then
  echo "demo: the release was expected to roll back" >&2
  exit 1
fi
echo
echo "==> the release history (progressive history checkout)"
cli history checkout
echo
echo "==> and the next plan is empty, with a warning that says what was rolled back"
(cd "$state/tf" && TF_CLI_CONFIG_FILE="$state/tofurc" PROGRESSIVE_TOKEN="$write" \
  TF_IN_AUTOMATION=1 "$root/bin/tofu" plan -input=false -no-color -var blue_version=v3 -var green_version=v2 -var release_slot=blue -var release_trigger=v3 2>&1 |
  grep -v -i -E 'provider development overrides are in effect|^ - progressive-delivery/progressive in |^The behavior may therefore not match|^of your plugins|^configuration values may not be' | sed 's/^/    /')
echo "==> demo done"
