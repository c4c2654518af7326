# Sourced by the test bed's build scripts: builds commands of k8s.io/kubernetes at one release from
# the Go module proxy. k8s.io/kubernetes points each of its staging modules at a local path, so a
# small wrapper module requires it and replaces every staging module with its published v0.x.y.
# Go builds only these third-party test binaries; no product code is Go.

# k8s_build WORK_DIR OUT_DIR K8S_VERSION CMD... : builds k8s.io/kubernetes/cmd/<CMD> into OUT_DIR.
k8s_build() {
  local work=$1 out=$2 k8s=$3
  shift 3
  local dir="$work/k8s-$(printf '%s' "$*" | tr ' ' '-')"
  mkdir -p "$dir/bin"
  (
    cd "$dir"
    local modfile
    modfile=$(go mod download -json "k8s.io/kubernetes@$k8s" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    [ -f "$modfile" ] || { echo "testbed: could not download k8s.io/kubernetes@$k8s from the Go module proxy" >&2; exit 4; }
    {
      printf 'module isthmus.local/testbed-k8s\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n\n' "$k8s"
      grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$modfile" | awk -v v="v0.${k8s#v1.}" '{print "replace " $1 " => " $1 " " v}'
    } > go.mod
    {
      printf 'package main\n\nimport (\n'
      for c in "$@"; do printf '\t_ "k8s.io/kubernetes/cmd/%s/app"\n' "$c"; done
      printf ')\n\nfunc main() {}\n'
    } > tools.go
    go mod tidy
    local minor=${k8s#v1.}; minor=${minor%%.*}
    local ver="-X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
    local pkgs=()
    for c in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
    nice -n 10 go build -trimpath -ldflags="-s -w $ver" -o bin/ "${pkgs[@]}"
    for c in "$@"; do mv "bin/$c" "$out/"; done
  )
}
