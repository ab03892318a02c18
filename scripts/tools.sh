#!/usr/bin/env bash
# Installs the test stack's programs, all from package registries:
#   - OpenTofu, built from the Go module proxy and cached in the user cache
#     directory keyed by version (a fresh clone on the same machine reuses it);
#   - moto in server mode, in a project-local virtualenv (.venv);
#   - golangci-lint and tfplugindocs, with `go install`, into bin/;
#   - the OpenFeature SDK and its OFREP provider for the conformance test,
#     with `npm ci` from test/ofrep/package-lock.json into test/ofrep/node_modules.
# Everything else lands in bin/ (ignored). Re-running is cheap: each step is
# skipped when the pinned version is already there.
set -euo pipefail

TOFU_VERSION="${TOFU_VERSION:-v1.12.6}"
MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
GOLANGCI_LINT_VERSION="${GOLANGCI_LINT_VERSION:-v2.15.0}"
TFPLUGINDOCS_VERSION="${TFPLUGINDOCS_VERSION:-v0.24.0}"

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/bin"
mkdir -p "$bin"

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/progressive"

log() { printf '==> %s\n' "$*" >&2; }

install_tofu() {
  local cached="$cache_root/tofu/$TOFU_VERSION/tofu"
  if [[ ! -x "$cached" ]]; then
    log "building OpenTofu $TOFU_VERSION from the Go module proxy (about 10 minutes the first time)"
    local dir
    dir="$(GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    if [[ -z "$dir" || ! -d "$dir" ]]; then
      echo "tools: could not download github.com/opentofu/opentofu@$TOFU_VERSION from the Go module proxy" >&2
      exit 1
    fi
    local work
    work="$(mktemp -d)"
    cp -r "$dir/." "$work/"
    chmod -R u+w "$work"
    mkdir -p "$(dirname "$cached")"
    (cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$cached.tmp" ./cmd/tofu)
    mv "$cached.tmp" "$cached"
    rm -rf "$work"
  fi
  ln -sf "$cached" "$bin/tofu"
  log "tofu: $(TF_CLI_CONFIG_FILE=/dev/null "$bin/tofu" version | grep -m1 OpenTofu)"
}

install_moto() {
  local venv="$root/.venv"
  if [[ -x "$venv/bin/moto_server" ]] && "$venv/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    log "moto_server: $MOTO_VERSION (cached)"
  else
    log "installing moto[server]==$MOTO_VERSION into .venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
  ln -sf "$venv/bin/moto_server" "$bin/moto_server"
}

go_tool() { # name module version
  local name="$1" module="$2" version="$3"
  local stamp="$bin/.$name-$version"
  if [[ -x "$bin/$name" && -f "$stamp" ]]; then
    log "$name: $version (cached)"
    return
  fi
  log "installing $name $version"
  GOBIN="$bin" go install "$module@$version"
  rm -f "$bin/.$name-"*
  touch "$stamp"
}

# install_node_deps installs test/ofrep's locked npm packages, again only when
# package-lock.json is newer than the last install (node_modules/.stamp).
install_node_deps() {
  local dir="$root/test/ofrep"
  local missing=()
  command -v node >/dev/null 2>&1 || missing+=(node)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if (( ${#missing[@]} )); then
    echo "tools: ${missing[*]} not found on PATH; the OFREP conformance test (test/ofrep) needs Node.js 20 or later with npm (Debian: apt-get install nodejs npm)" >&2
    exit 1
  fi
  if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
    echo "tools: node $(node --version) is too old; the OpenFeature SDK in test/ofrep needs Node.js 20 or later" >&2
    exit 1
  fi
  local stamp="$dir/node_modules/.stamp"
  if [[ -d "$dir/node_modules" && -f "$stamp" && ! "$dir/package-lock.json" -nt "$stamp" ]]; then
    log "OpenFeature SDK (test/ofrep): cached, node $(node --version)"
    return
  fi
  log "installing test/ofrep's npm packages from package-lock.json"
  (cd "$dir" && npm ci --no-audit --no-fund)
  touch "$stamp"
}

what="${1:-all}"
case "$what" in
  tofu) install_tofu ;;
  moto) install_moto ;;
  lint) go_tool golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint "$GOLANGCI_LINT_VERSION" ;;
  docs) go_tool tfplugindocs github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs "$TFPLUGINDOCS_VERSION" ;;
  node) install_node_deps ;;
  test) install_tofu; install_moto; install_node_deps ;;
  all)
    install_tofu
    install_moto
    install_node_deps
    go_tool golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint "$GOLANGCI_LINT_VERSION"
    go_tool tfplugindocs github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs "$TFPLUGINDOCS_VERSION"
    ;;
  *) echo "usage: $0 [all|test|tofu|moto|lint|docs|node]" >&2; exit 2 ;;
esac
