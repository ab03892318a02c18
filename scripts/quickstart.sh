#!/usr/bin/env bash
# The quick start: starts `progressive serve` on its embedded SQLite store,
# creates a write token, and applies examples/quickstart with OpenTofu
# against it. State lives in .quickstart/ (ignored), so running it again
# picks up where the last run left off.
#   scripts/quickstart.sh         keep the engine running until Ctrl-C
#   scripts/quickstart.sh --once  stop the engine after the apply
# PROGRESSIVE_LISTEN changes the engine's address (default 127.0.0.1:8181).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/.quickstart"
listen="${PROGRESSIVE_LISTEN:-127.0.0.1:8181}"
endpoint="http://$listen"
mkdir -p "$state/tf"

for bin in progressive terraform-provider-progressive tofu; do
  [[ -x "$root/bin/$bin" ]] || { echo "quickstart: bin/$bin is missing; run \`make quickstart\`" >&2; exit 1; }
done

if [[ ! -s "$state/admin-token" ]]; then
  python3 -c 'import secrets; print("prog_" + secrets.token_urlsafe(32))' > "$state/admin-token"
  chmod 600 "$state/admin-token"
fi
admin="$(cat "$state/admin-token")"

get() { # url [token] -> status code
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

if [[ "$(get "$endpoint/healthz")" != 0 ]]; then
  echo "quickstart: something already listens on $listen; stop it or set PROGRESSIVE_LISTEN to a free address" >&2
  exit 1
fi

echo "==> starting the engine on $endpoint (SQLite in .quickstart/data, log in .quickstart/engine.log)"
PROGRESSIVE_LISTEN="$listen" PROGRESSIVE_DATA_DIR="$state/data" PROGRESSIVE_BOOTSTRAP_TOKEN="$admin" \
  "$root/bin/progressive" serve >"$state/engine.log" 2>&1 &
engine=$!
trap 'kill -TERM $engine 2>/dev/null; wait $engine 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [[ "$(get "$endpoint/readyz")" == 200 ]] && break
  kill -0 $engine 2>/dev/null || { echo "quickstart: the engine exited:" >&2; cat "$state/engine.log" >&2; exit 1; }
  sleep 0.1
done

if [[ ! -s "$state/write-token" || "$(get "$endpoint/v1/projects" "$(cat "$state/write-token")")" != 200 ]]; then
  echo "==> creating a write token for Terraform"
  PROGRESSIVE_ENDPOINT="$endpoint" PROGRESSIVE_TOKEN="$admin" "$root/bin/progressive" token create --kind write --name "quickstart-$(date +%s)" >"$state/write-token"
  chmod 600 "$state/write-token"
fi

cat >"$state/tofurc" <<CFG
provider_installation {
  dev_overrides {
    "registry.opentofu.org/progressive-delivery/progressive"  = "$root/bin"
    "registry.terraform.io/progressive-delivery/progressive" = "$root/bin"
  }
  direct {}
}
CFG
cp "$root/examples/quickstart/main.tf" "$state/tf/main.tf"

echo "==> tofu apply examples/quickstart"
(cd "$state/tf" && TF_CLI_CONFIG_FILE="$state/tofurc" PROGRESSIVE_ENDPOINT="$endpoint" PROGRESSIVE_TOKEN="$(cat "$state/write-token")" \
  "$root/bin/tofu" apply -auto-approve -input=false 2>&1 | grep -v -i 'provider development overrides are in effect' )

if [[ ! -s "$state/sdk-token" ]]; then
  PROGRESSIVE_ENDPOINT="$endpoint" PROGRESSIVE_TOKEN="$admin" "$root/bin/progressive" token create --kind sdk --project checkout --name "app-$(date +%s)" >"$state/sdk-token" 2>/dev/null
  chmod 600 "$state/sdk-token"
fi
echo "==> evaluating new-checkout over OFREP, as an application would"
python3 - "$endpoint" "$(cat "$state/sdk-token")" <<'PY'
import json, sys, urllib.request
for ctx in ({"targetingKey": "user-1", "email": "ann@example.com"}, {"targetingKey": "user-2", "email": "bob@shop.org"}):
    req = urllib.request.Request(sys.argv[1] + "/ofrep/v1/evaluate/flags/new-checkout", data=json.dumps({"context": ctx}).encode(),
                                 headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
    ans = json.load(urllib.request.urlopen(req, timeout=5))
    print(f"    {ctx['email']:<16} -> {json.dumps(ans['value'])} ({ans['reason']})")
PY

if [[ "${1:-}" == "--once" ]]; then
  echo "==> done; stopping the engine"
  exit 0
fi
cat <<MSG

The engine is running at $endpoint (press Ctrl-C to stop it).
  Admin token: .quickstart/admin-token    Write token: .quickstart/write-token
Try:
  PROGRESSIVE_ENDPOINT=$endpoint PROGRESSIVE_TOKEN=\$(cat .quickstart/admin-token) bin/progressive events
MSG
wait $engine
