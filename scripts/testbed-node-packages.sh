#!/usr/bin/env bash
# Installs the Debian packages a test-bed node needs, when a tool is missing: the container
# runtime (containerd, runc), pod networking (CNI plugins, iptables, nftables, conntrack, socat) and the
# local image tooling (umoci, skopeo, busybox-static, a C compiler with static glibc for pause).
# Usage: testbed-node-packages.sh [--check]   (--check only reports what is missing, exit 5 if any)
set -euo pipefail
check_only=false
[ "${1:-}" = --check ] && check_only=true

# tool-or-path:package pairs; a path is checked with -e, a name with command -v.
wanted=(
  containerd:containerd
  ctr:containerd
  runc:runc
  /usr/lib/cni/bridge:containernetworking-plugins
  /usr/lib/cni/host-local:containernetworking-plugins
  /usr/lib/cni/portmap:containernetworking-plugins
  /usr/lib/cni/loopback:containernetworking-plugins
  umoci:umoci
  skopeo:skopeo
  iptables:iptables
  nft:nftables
  conntrack:conntrack
  socat:socat
  nsenter:util-linux
  /bin/busybox:busybox-static
  cc:gcc
  /usr/lib/x86_64-linux-gnu/libc.a:libc6-dev
  ip:iproute2
)
missing_pkgs=()
missing_desc=()
for pair in "${wanted[@]}"; do
  tool=${pair%%:*}
  pkg=${pair#*:}
  if [[ $tool == /* ]]; then [ -e "$tool" ] && continue; else command -v "$tool" >/dev/null && continue; fi
  missing_desc+=("$tool (Debian package $pkg)")
  [[ " ${missing_pkgs[*]-} " == *" $pkg "* ]] || missing_pkgs+=("$pkg")
done
# busybox (not -static) also provides /bin/busybox but links dynamically; images need the static one.
if [ -e /bin/busybox ] && ! dpkg -s busybox-static >/dev/null 2>&1 && file -L /bin/busybox 2>/dev/null | grep -q dynamically; then
  missing_desc+=("a static /bin/busybox (Debian package busybox-static)")
  missing_pkgs+=(busybox-static)
fi
[ ${#missing_pkgs[@]} -eq 0 ] && exit 0
if $check_only; then
  printf 'testbed: missing for real nodes: %s\n' "${missing_desc[@]}" >&2
  echo "testbed: install with: apt-get install ${missing_pkgs[*]}" >&2
  exit 5
fi
echo "testbed: installing Debian packages for real nodes: ${missing_pkgs[*]}" >&2
[ "$(id -u)" = 0 ] && sudo= || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >&2
exec "$0" --check
