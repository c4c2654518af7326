#!/usr/bin/env bash
# Builds the test bed's third-party binaries from the Go module proxy: kube-apiserver and
# kube-controller-manager from k8s.io/kubernetes, and etcd from go.etcd.io/etcd/server/v3.
# Go builds only these test binaries; no product code is Go.
# Usage: testbed-build.sh OUT_DIR [K8S_VERSION] [ETCD_VERSION]
# Idempotent: a binary already in OUT_DIR is not built again.
set -euo pipefail
# shellcheck source=lib/k8s-build.sh
. "$(dirname "$0")/lib/k8s-build.sh"
out=${1:?usage: testbed-build.sh OUT_DIR [K8S_VERSION] [ETCD_VERSION]}
k8s=${2:-v1.34.4}
etcd=${3:-v3.6.16}
if ! command -v go >/dev/null; then
  echo "testbed: no Go toolchain on PATH. Install Go >= 1.24 (Debian: apt-get install golang-go, or the official tarball); it only builds test binaries." >&2
  exit 3
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -x "$out/kube-apiserver" ] || [ ! -x "$out/kube-controller-manager" ]; then
  echo "testbed: building kube-apiserver and kube-controller-manager $k8s (first build: 15-25 minutes on 2 cores)" >&2
  k8s_build "$work" "$out" "$k8s" kube-apiserver kube-controller-manager
fi

if [ ! -x "$out/etcd" ]; then
  echo "testbed: building etcd $etcd" >&2
  mkdir -p "$work/etcd"
  cd "$work/etcd"
  printf 'module isthmus.local/testbed-etcd\n\ngo 1.24\n' > go.mod
  go get "go.etcd.io/etcd/server/v3@$etcd"
  go build -trimpath -ldflags='-s -w' -o etcd go.etcd.io/etcd/server/v3
  mv etcd "$out/etcd"
fi
"$out/kube-apiserver" --version >&2
"$out/etcd" --version | head -1 >&2
