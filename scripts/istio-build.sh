#!/usr/bin/env bash
# Builds Istio's own programs from the istio.io/istio Go module, as peers and judges for the tests:
# istioctl (interop), pilot-discovery (istiod, for the conformance suite and side-by-side benchmarks) and
# pilot-agent (Istio's proxy agent). Go builds only these third-party test binaries; no product code is
# Go, and no Istio source is kept in this repository.
#
# Usage: istio-build.sh OUT_DIR ISTIO_MODULE_VERSION PROGRAM...
#   PROGRAM: istioctl | pilot-discovery | pilot-agent
# Idempotent: a program already in OUT_DIR is not built again. pilot-agent also gets its Envoy bootstrap
# template (envoy_bootstrap.json from the module) beside it, where tests point pilot-agent at it.
#
# istio.io/istio tags its releases without a leading "v" (e.g. 1.29.0), so the Go module proxy knows
# the module only by pseudo-versions, and the proxy reachable here refuses release tags and branches
# ("403 Forbidden: This module version is not available"): callers pin a pseudo-version of main.
set -euo pipefail
out=${1:?usage: istio-build.sh OUT_DIR ISTIO_MODULE_VERSION PROGRAM...}
ver=${2:?usage: istio-build.sh OUT_DIR ISTIO_MODULE_VERSION PROGRAM...}
shift 2
[ $# -gt 0 ] || { echo "istio: name at least one program (istioctl, pilot-discovery, pilot-agent)" >&2; exit 2; }
declare -A pkgs=(
  [istioctl]=istio.io/istio/istioctl/cmd/istioctl
  [pilot-discovery]=istio.io/istio/pilot/cmd/pilot-discovery
  [pilot-agent]=istio.io/istio/pilot/cmd/pilot-agent
)
todo=()
for p in "$@"; do
  [ -n "${pkgs[$p]:-}" ] || { echo "istio: unknown program '$p' (istioctl, pilot-discovery, pilot-agent)" >&2; exit 2; }
  [ -x "$out/$p" ] || todo+=("$p")
done
[ ${#todo[@]} -gt 0 ] || exit 0
if ! command -v go >/dev/null; then
  echo "istio: no Go toolchain on PATH. Install Go >= 1.26 (Debian: apt-get install golang-go, or the official tarball); it only builds test binaries." >&2
  exit 3
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
echo "istio: building ${todo[*]} from istio.io/istio@$ver (first build: about 5-15 minutes on 2 cores)" >&2
cd "$work"
modjson=$(go mod download -json "istio.io/istio@$ver")
modfile=$(printf '%s\n' "$modjson" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
moddir=$(printf '%s\n' "$modjson" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -f "$modfile" ] || { echo "istio: could not download istio.io/istio@$ver from the Go module proxy" >&2; exit 4; }
godirective=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$modfile" | head -1)
{
  printf 'module isthmus.local/istio-peers\n\ngo %s\n\nrequire istio.io/istio %s\n\n' "${godirective:-1.24}" "$ver"
  # Carry over istio's own replace directives (if any) so the build matches its go.sum choices.
  awk '/^replace \(/{inblock=1; print; next} inblock{print; if ($0 ~ /^\)/) inblock=0; next} /^replace /{print}' "$modfile"
} > go.mod
{
  printf 'package main\n\nimport (\n'
  for p in "${todo[@]}"; do printf '\t_ "%s"\n' "${pkgs[$p]}"; done
  printf ')\n\nfunc main() {}\n'
} > tools.go
go mod tidy
short=${ver##*-}
ldflags="-s -w -X istio.io/istio/pkg/version.buildVersion=$ver -X istio.io/istio/pkg/version.buildGitRevision=$short -X istio.io/istio/pkg/version.buildStatus=Clean -X istio.io/istio/pkg/version.buildTag=$ver"
for p in "${todo[@]}"; do
  one=$(date +%s)
  go build -trimpath -ldflags="$ldflags" -o "$p" "${pkgs[$p]}"
  mv "$p" "$out/$p"
  echo "istio: built $p in $(( $(date +%s) - one )) s" >&2
done
if [[ " ${todo[*]} " == *" pilot-agent "* ]]; then
  tmpl="$moddir/tools/packaging/common/envoy_bootstrap.json"
  [ -f "$tmpl" ] || { echo "istio: the module has no $tmpl; pilot-agent needs its bootstrap template" >&2; exit 5; }
  install -m 0644 "$tmpl" "$out/envoy_bootstrap_tmpl.json"
fi
echo "istio: built ${todo[*]} in $(( $(date +%s) - started )) s" >&2
