#!/usr/bin/env bash
# Builds the real control plane for the real-cluster tests from the pinned Go modules in
# tests/real/tools/ (versions in versions.env) and prints the directory it is in:
#
#   <cache>/<key>/bin/      kube-apiserver kube-controller-manager kube-scheduler etcd kwok helm
#   <cache>/<key>/stages/   kwok's upstream node and pod stages (pod-ready with a 1-2 s delay)
#   <cache>/<key>/crds/     Gateway API (standard), Istio and SMI TrafficSplit CRDs
#
# <cache> is $SHIPDECK_REAL_CACHE, or ~/.cache/shipdeck/real. <key> hashes the versions, the
# wrapper modules' go.mod/go.sum, our prep helper, this script and the Go version, so a change
# to any of them builds a new directory; an existing complete one makes this a no-op.
#
#   tests/real/build.sh            build if needed, print the directory
#   tests/real/build.sh --locate   print the directory if it is built, else exit 1 (no build)
#
# Our own kwok stages (the faults) are not copied: the tests read tests/real/stages/ directly.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tools=$here/tools
# shellcheck source=versions.env
source "$here/versions.env"
# The checked-in go.mod/go.sum are the pins: never edit them, never fetch another toolchain.
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0

mode=${1:-build}
case $mode in
  build | --locate) ;;
  *) echo "usage: $0 [--locate]" >&2; exit 2 ;;
esac

if ! command -v go >/dev/null; then
  echo "build.sh: go is not installed" >&2
  exit 1
fi

cache_root=${SHIPDECK_REAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shipdeck/real}
key=$(
  cd "$here"
  {
    go version
    cat versions.env build.sh tools/prep/*.go
    cat tools/*/go.mod tools/*/go.sum
  } | sha256sum | cut -c1-16
)
out=$cache_root/$key

if [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi
if [ "$mode" = --locate ]; then
  echo "build.sh: the real control plane is not built for these versions ($out)" >&2
  exit 1
fi

mkdir -p "$cache_root"
# One build at a time per cache (a second caller waits, then finds the directory complete).
exec 9>"$cache_root/.lock"
flock 9
if [ -f "$out/.complete" ]; then
  echo "$out"
  exit 0
fi

work=$(mktemp -d "$cache_root/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/stages" "$work/crds"
times=$work/build-times.txt
log() { echo "build.sh: $*" >&2; }

# Runs "$@" in tools/<module>, and records how long it took under <label>.
timed() {
  local label=$1 module=$2
  shift 2
  local start=$SECONDS
  log "$label ..."
  (cd "$tools/$module" && "$@") >&2
  echo "$label $((SECONDS - start))s" >>"$times"
  log "$label done in $((SECONDS - start))s"
}

# The module cache is shared by all builds; downloading is timed apart from compiling.
for module in kube etcd kwok helm crds prep; do
  timed "download-$module" "$module" go mod download
done

build() { go build -trimpath "$@"; }

# Version variables as hack/lib/version.sh sets them; without them /version says v0.0.0-master.
minor=${KUBE_VERSION#v1.}
minor=${minor%%.*}
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean"
  kube_ldflags+=" -X $pkg.gitCommit=0000000000000000000000000000000000000000"
  kube_ldflags+=" -X $pkg.buildDate=2026-01-01T00:00:00Z"
done
timed build-kube kube build -ldflags "$kube_ldflags" -o "$work/bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler

timed build-etcd etcd build -ldflags "-s -w" -o "$work/bin/etcd" go.etcd.io/etcd/server/v3

timed build-kwok kwok build -ldflags "-s -w" -o "$work/bin/kwok" sigs.k8s.io/kwok/cmd/kwok

# As helm's Makefile: its version, and the Kubernetes version its client-go stands for.
helm_k8s=$(cd "$tools/helm" && go list -m -f '{{.Version}}' k8s.io/client-go) # v0.36.2
helm_k8s_minor=${helm_k8s#v0.}
helm_k8s_minor=${helm_k8s_minor%%.*}
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
helm_ldflags+=" -X helm.sh/helm/v3/internal/version.metadata="
helm_ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$helm_k8s_minor"
done
timed build-helm helm build -ldflags "$helm_ldflags" -o "$work/bin/helm" helm.sh/helm/v3/cmd/helm

timed build-prep prep build -ldflags "-s -w" -o "$work/bin/prep" .
prep=$work/bin/prep

# Where a pinned module's files are (downloaded and checksum-verified above).
module_dir() { (cd "$tools/$1" && go list -m -f '{{.Dir}}' "$2"); }

# kwok's stages: since v0.8 the kwok binary has none built in. The fast pod-ready would make a
# pod Ready the instant it is scheduled; a 1-2 s delay keeps a rollout observable.
kwok_dir=$(module_dir kwok sigs.k8s.io/kwok)/kustomize/stage
cp "$kwok_dir/node/fast/node-initialize.yaml" "$kwok_dir/node/heartbeat/node-heartbeat.yaml" \
  "$kwok_dir/pod/fast/pod-complete.yaml" "$kwok_dir/pod/fast/pod-delete.yaml" "$work/stages/"
"$prep" delay "$kwok_dir/pod/fast/pod-ready.yaml" "$work/stages/pod-ready.yaml" 1000 2000

# CRDs from their projects' modules.
gateway_dir=$(module_dir crds sigs.k8s.io/gateway-api)
mkdir -p "$work/crds/gateway-api"
cp "$gateway_dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml "$work/crds/gateway-api/"
cp "$(module_dir crds istio.io/api)/kubernetes/customresourcedefinitions.gen.yaml" \
  "$work/crds/istio.yaml"
# smi-sdk-go's split.yaml is apiextensions.k8s.io/v1beta1 (see tools/prep/main.go). shipdeck
# reads and writes v1alpha2, so v1alpha2 and v1alpha3 are served besides upstream's v1alpha4.
"$prep" smi-crd "$(module_dir crds github.com/servicemeshinterface/smi-sdk-go)/crds/split.yaml" \
  "$work/crds/smi-split.yaml" v1alpha2,v1alpha3,v1alpha4
chmod -R u+w "$work"

cp "$here/versions.env" "$work/"
"$work/bin/kube-apiserver" --version >"$work/versions.txt"
"$work/bin/etcd" --version | head -1 >>"$work/versions.txt"
"$work/bin/helm" version --short >>"$work/versions.txt"
"$work/bin/kwok" --version >>"$work/versions.txt" 2>&1 || true
log "built: $(tr '\n' ';' <"$work/versions.txt")"
log "times: $(tr '\n' ' ' <"$times")"
log "size: $(du -sh "$work" | cut -f1)"

touch "$work/.complete"
rm -rf "$out"
mv "$work" "$out"
trap - EXIT
echo "$out"
