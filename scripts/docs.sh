#!/usr/bin/env bash
# Regenerates docs/ from the provider's schema, examples/ and templates/,
# offline: the schema comes from OpenTofu with a dev_overrides CLI config, so
# tfplugindocs never downloads Terraform.
#   scripts/docs.sh          write docs/
#   scripts/docs.sh --check  fail when docs/ differs from what would be written
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
for tool in bin/tofu bin/tfplugindocs; do
  [[ -x "$tool" ]] || { echo "docs: $tool is missing; run \`make tools\`" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
go build -o "$work/plugins/terraform-provider-progressive" .
cat > "$work/tofurc" <<CFG
provider_installation {
  dev_overrides {
    "registry.terraform.io/progressive-delivery/progressive" = "$work/plugins"
  }
  direct {}
}
CFG
mkdir -p "$work/config"
cat > "$work/config/main.tf" <<'CFG'
terraform {
  required_providers {
    progressive = {
      source = "registry.terraform.io/progressive-delivery/progressive"
    }
  }
}
CFG
(cd "$work/config" && TF_CLI_CONFIG_FILE="$work/tofurc" "$root/bin/tofu" providers schema -json 2>/dev/null) > "$work/schema.raw.json"
# tfplugindocs looks the provider up as plain "progressive".
python3 - "$work/schema.raw.json" "$work/schema.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
schemas = doc["provider_schemas"]
key = next(k for k in schemas if k.endswith("/progressive"))
doc["provider_schemas"] = {"progressive": schemas[key]}
json.dump(doc, open(sys.argv[2], "w"))
PY

# Generate from copies of the inputs, so that --check writes nothing here.
mkdir -p "$work/src"
cp -r examples templates "$work/src/"
bin/tfplugindocs generate --provider-dir "$work/src" --provider-name progressive --providers-schema "$work/schema.json" >/dev/null
if [[ "${1:-}" == "--check" ]]; then
  if ! diff -ru docs "$work/src/docs"; then
    echo "docs: docs/ is stale; run \`make docs\` and commit the result" >&2
    exit 1
  fi
  echo "docs: up to date"
else
  rm -rf docs
  cp -r "$work/src/docs" docs
fi
