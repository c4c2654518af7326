#!/usr/bin/env bash
# Builds the test bed's third-party binaries from the Go module proxy: kube-apiserver and
# kube-controller-manager from k8s.io/kubernetes, and etcd from go.etcd.io/etcd/server/v3.
# Go builds only these test binaries; no product code is Go.
# Usage: testbed-build.sh OUT_DIR [K8S_VERSION] [ETCD_VERSION]
# Idempotent: a binary already in OUT_DIR is not built again.
set -euo pipefail
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
  mkdir -p "$work/k8s/bin"
  cd "$work/k8s"
  modfile=$(go mod download -json "k8s.io/kubernetes@$k8s" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$modfile" ] || { echo "testbed: could not download k8s.io/kubernetes@$k8s from the Go module proxy" >&2; exit 4; }
  {
    printf 'module isthmus.local/testbed-k8s\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n\n' "$k8s"
    # k8s.io/kubernetes points each staging module at a local path; use the published v0.x.y instead.
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$modfile" | awk -v v="v0.${k8s#v1.}" '{print "replace " $1 " => " $1 " " v}'
  } > go.mod
  printf 'package main\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"\n)\n\nfunc main() {}\n' > tools.go
  go mod tidy
  minor=${k8s#v1.}; minor=${minor%%.*}
  ver="-X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  go build -trimpath -ldflags="-s -w $ver" -o bin/ k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
  mv bin/kube-apiserver bin/kube-controller-manager "$out/"
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
