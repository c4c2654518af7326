#!/usr/bin/env bash
# Builds what a real test-bed node needs, beside the API-server binaries:
#   - kubelet, kube-scheduler and kube-proxy from k8s.io/kubernetes (same wrapper module and version
#     as scripts/testbed-build.sh builds kube-apiserver with);
#   - pause, compiled statically from build/pause/linux/pause.c of that module with the system C compiler;
#   - CoreDNS (github.com/coredns/coredns, only the plugins cluster DNS needs), run per node as cluster DNS;
#   - two images as docker archives, built without a registry (umoci, then skopeo):
#     localhost/pause:<tag> (the sandbox image) and localhost/busybox:<tag> (busybox-static with its applets).
# Installs the Debian packages it needs first (scripts/testbed-node-packages.sh).
# Usage: testbed-node-build.sh OUT_DIR [K8S_VERSION]
# Idempotent: whatever is already in OUT_DIR is not built again. Each step prints its time.
set -euo pipefail
out=${1:?usage: testbed-node-build.sh OUT_DIR [K8S_VERSION]}
k8s=${2:-v1.34.4}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/k8s-build.sh
. "$here/lib/k8s-build.sh"
bash "$here/testbed-node-packages.sh"
if ! command -v go >/dev/null; then
  echo "testbed: no Go toolchain on PATH. Install Go >= 1.24 (Debian: apt-get install golang-go); it only builds test binaries." >&2
  exit 3
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The image tags are part of the cache: src/testing/testbed/nodes.ts names the same ones.
pause_tag=3.10.1
coredns=v1.15.0
busybox_tag=static

step() { step_name=$1; step_start=$(date +%s); echo "testbed: $1" >&2; }
done_step() { echo "testbed: $step_name took $(( $(date +%s) - step_start )) s" >&2; }

k8s_src() {
  local dir
  dir=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$k8s" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$dir" ] || { echo "testbed: could not download k8s.io/kubernetes@$k8s from the Go module proxy" >&2; exit 4; }
  echo "$dir"
}

if [ ! -x "$out/pause" ]; then
  step "compiling pause (static) from k8s.io/kubernetes@$k8s build/pause/linux/pause.c"
  src=$(k8s_src)/build/pause/linux/pause.c
  [ -f "$src" ] || { echo "testbed: $src is missing from the module" >&2; exit 4; }
  cc -Os -Wall -Werror -static -DVERSION="v$pause_tag-isthmus" -o "$work/pause" "$src"
  strip "$work/pause" 2>/dev/null || true
  mv "$work/pause" "$out/pause"
  done_step
fi

# build_image NAME TAG ENTRYPOINT CMD FILL_FUNCTION: an OCI layout with one layer (umoci), converted to a
# docker archive (skopeo) at $out/images/NAME.tar, which `ctr images import` takes.
build_image() {
  local name=$1 tag=$2 entry=$3 cmd=$4 fill=$5
  local dir="$work/img-$name"
  mkdir -p "$dir" "$out/images"
  (
    cd "$dir"
    umoci init --layout oci
    umoci new --image "oci:$tag"
    umoci unpack --image "oci:$tag" bundle >/dev/null
    "$fill" bundle/rootfs
    umoci repack --image "oci:$tag" bundle
    local args=(--image "oci:$tag" --os linux --architecture amd64 --config.entrypoint "$entry" --config.env PATH=/bin:/usr/bin:/sbin:/usr/sbin)
    [ -n "$cmd" ] && args+=(--config.cmd "$cmd")
    umoci config "${args[@]}"
    skopeo copy --quiet "oci:oci:$tag" "docker-archive:$out/images/$name.tar.tmp:localhost/$name:$tag"
  )
  mv "$out/images/$name.tar.tmp" "$out/images/$name.tar"
}
fill_pause() { install -m 0755 "$out/pause" "$1/pause"; }
fill_busybox() {
  mkdir -p "$1/bin" "$1/tmp" "$1/etc"
  install -m 0755 /bin/busybox "$1/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$1/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$1/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$1/etc/group"
}

if [ ! -f "$out/images/pause.tar" ]; then
  step "building image localhost/pause:$pause_tag"
  build_image pause "$pause_tag" /pause "" fill_pause
  done_step
fi
if [ ! -f "$out/images/busybox.tar" ]; then
  step "building image localhost/busybox:$busybox_tag"
  build_image busybox "$busybox_tag" /bin/sh "" fill_busybox
  done_step
fi
if [ ! -x "$out/kubelet" ] || [ ! -x "$out/kube-scheduler" ] || [ ! -x "$out/kube-proxy" ]; then
  step "building kubelet, kube-scheduler and kube-proxy $k8s (a few minutes once kube-apiserver was built)"
  k8s_build "$work" "$out" "$k8s" kubelet kube-scheduler kube-proxy
  done_step
fi

if [ ! -x "$out/coredns" ]; then
  step "building CoreDNS $coredns with the plugins cluster DNS needs (bind, ready, errors, log, cache, kubernetes)"
  mkdir -p "$work/coredns"
  cd "$work/coredns"
  printf 'module isthmus.local/testbed-coredns\n\ngo 1.24\n' > go.mod
  # Only the plugins the test bed uses: the full set pulls in every cloud provider's SDK. The list
  # keeps the order of CoreDNS's plugin.cfg, which is the order plugins run in.
  cat > main.go <<'GO'
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	dnsserver.Directives = []string{"bind", "ready", "errors", "log", "cache", "kubernetes"}
}

func main() { coremain.Run() }
GO
  go get "github.com/coredns/coredns@$coredns"
  go mod tidy
  nice -n 10 go build -trimpath -ldflags='-s -w' -o coredns .
  mv coredns "$out/coredns"
  done_step
fi
"$out/kubelet" --version >&2
