#!/usr/bin/env bash
# Builds Istio's pilot-agent (the sidecar's agent: CSR client, SDS server, xDS proxy) from the
# istio.io/istio Go module at the same pinned pseudo-version as istioctl, for tests that run Istio's
# real data plane against Isthmus. Go builds only this third-party test binary.
# Usage: pilot-agent-build.sh OUT_DIR [ISTIO_MODULE_VERSION]
# Idempotent: a pilot-agent already in OUT_DIR is not built again. Also copies Istio's Envoy bootstrap
# template from the module next to the binary (pilot-agent needs it at run time).
set -euo pipefail
out=${1:?usage: pilot-agent-build.sh OUT_DIR [ISTIO_MODULE_VERSION]}
ver=${2:-v0.0.0-20260827124520-eed52ebb66ad}
if ! command -v go >/dev/null; then
  echo "pilot-agent: no Go toolchain on PATH (Debian: apt-get install golang-go); it only builds test binaries." >&2
  exit 3
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -x "$out/pilot-agent" ] && [ -f "$out/envoy_bootstrap.json" ]; then
  echo "$out/pilot-agent"
  exit 0
fi
export GOFLAGS="-mod=mod ${GOFLAGS:-}" GOTOOLCHAIN=local CGO_ENABLED=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
echo "pilot-agent: building from istio.io/istio@$ver" >&2
cd "$work"
info=$(go mod download -json "istio.io/istio@$ver")
modfile=$(printf '%s' "$info" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
moddir=$(printf '%s' "$info" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -f "$modfile" ] && [ -d "$moddir" ] || { echo "pilot-agent: could not download istio.io/istio@$ver" >&2; exit 4; }
godirective=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$modfile" | head -1)
{
  printf 'module isthmus.local/interop-pilot-agent\n\ngo %s\n\nrequire istio.io/istio %s\n\n' "${godirective:-1.24}" "$ver"
  awk '/^replace \(/{inblock=1; print; next} inblock{print; if ($0 ~ /^\)/) inblock=0; next} /^replace /{print}' "$modfile"
} > go.mod
printf 'package main\n\nimport (\n\t_ "istio.io/istio/pilot/cmd/pilot-agent/app"\n)\n\nfunc main() {}\n' > tools.go
go mod tidy
short=${ver##*-}
ldflags="-s -w -X istio.io/istio/pkg/version.buildVersion=$ver -X istio.io/istio/pkg/version.buildGitRevision=$short -X istio.io/istio/pkg/version.buildStatus=Clean -X istio.io/istio/pkg/version.buildTag=$ver"
go build -trimpath -ldflags="$ldflags" -o pilot-agent istio.io/istio/pilot/cmd/pilot-agent
mv pilot-agent "$out/pilot-agent"
cp "$moddir/tools/packaging/common/envoy_bootstrap.json" "$out/envoy_bootstrap.json"
chmod 0644 "$out/envoy_bootstrap.json"
echo "pilot-agent: built in $(( $(date +%s) - started )) s" >&2
echo "$out/pilot-agent"
