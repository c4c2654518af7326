#!/usr/bin/env bash
# Builds the real istioctl from the istio.io/istio Go module, for the interop tests (test/interop/).
# Go builds only this third-party test binary; no product code is Go, and no Istio source is kept here.
# Usage: istioctl-build.sh OUT_DIR [ISTIO_MODULE_VERSION]
# Idempotent: an istioctl already in OUT_DIR is not built again.
#
# istio.io/istio tags its releases without a leading "v" (e.g. 1.29.0), so the Go module proxy knows
# the module only by pseudo-versions, and the proxy reachable here refuses release tags and branches
# ("403 Forbidden: This module version is not available"). The default below is therefore a pinned
# pseudo-version of the main branch (VERSION file: 1.31, i.e. 1.31-dev, commit eed52ebb66ad).
set -euo pipefail
out=${1:?usage: istioctl-build.sh OUT_DIR [ISTIO_MODULE_VERSION]}
ver=${2:-v0.0.0-20260827124520-eed52ebb66ad}
if ! command -v go >/dev/null; then
  echo "istioctl: no Go toolchain on PATH. Install Go >= 1.26 (Debian: apt-get install golang-go, or the official tarball); it only builds test binaries." >&2
  exit 3
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -x "$out/istioctl" ]; then
  "$out/istioctl" version --remote=false >&2 || true
  exit 0
fi
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
echo "istioctl: building istioctl from istio.io/istio@$ver (first build: about 5-15 minutes on 2 cores)" >&2
cd "$work"
modfile=$(go mod download -json "istio.io/istio@$ver" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -f "$modfile" ] || { echo "istioctl: could not download istio.io/istio@$ver from the Go module proxy" >&2; exit 4; }
godirective=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$modfile" | head -1)
{
  printf 'module isthmus.local/interop-istioctl\n\ngo %s\n\nrequire istio.io/istio %s\n\n' "${godirective:-1.24}" "$ver"
  # Carry over istio's own replace directives (if any) so the build matches its go.sum choices.
  awk '/^replace \(/{inblock=1; print; next} inblock{print; if ($0 ~ /^\)/) inblock=0; next} /^replace /{print}' "$modfile"
} > go.mod
printf 'package main\n\nimport (\n\t_ "istio.io/istio/istioctl/cmd"\n)\n\nfunc main() {}\n' > tools.go
go mod tidy
short=${ver##*-}
ldflags="-s -w -X istio.io/istio/pkg/version.buildVersion=$ver -X istio.io/istio/pkg/version.buildGitRevision=$short -X istio.io/istio/pkg/version.buildStatus=Clean -X istio.io/istio/pkg/version.buildTag=$ver"
go build -trimpath -ldflags="$ldflags" -o istioctl istio.io/istio/istioctl/cmd/istioctl
mv istioctl "$out/istioctl"
echo "istioctl: built in $(( $(date +%s) - started )) s" >&2
"$out/istioctl" version --remote=false >&2 || true
