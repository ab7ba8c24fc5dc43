#!/usr/bin/env bash
# Regenerates the wrapper modules' go.mod and go.sum in tests/real/tools/ from versions.env.
# Run it after changing a version there, then commit the changed go.mod/go.sum files; build.sh
# only reads them (it never changes them), so a build is pinned by their checksums.
#
# Needs go and jq. The Go module proxy is the only network access.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tools=$here/tools
# shellcheck source=versions.env
source "$here/versions.env"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

# Staging modules are published as v0.<minor>.<patch> for Kubernetes v1.<minor>.<patch>.
staging_version=v0.${KUBE_VERSION#v1.}

# Starts a module from scratch: a new go.mod, no go.sum.
fresh() {
  local dir=$1 path=$2
  mkdir -p "$dir"
  rm -f "$dir/go.mod" "$dir/go.sum"
  (cd "$dir" && go mod init "$path" >/dev/null 2>&1)
}

# kube-apiserver, kube-controller-manager and kube-scheduler. k8s.io/kubernetes replaces each
# staging module with a local path (./staging/src/k8s.io/...), which only works inside its own
# repository; we replace each with the published version instead. The list comes from the
# downloaded go.mod, so a new minor's extra staging modules are picked up.
gen_kube() {
  local dir=$tools/kube gomod
  fresh "$dir" shipdeck.test/real/kube
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | jq -r .GoMod)
  local staging
  staging=$(go mod edit -json "$gomod" |
    jq -r '.Replace[] | select(.New.Path | startswith("./staging/")) | .Old.Path')
  [ -n "$staging" ] || { echo "no staging replaces found in $gomod" >&2; exit 1; }
  cd "$dir"
  go mod edit -require "k8s.io/kubernetes@$KUBE_VERSION"
  local m
  for m in $staging; do
    go mod edit -replace "$m=$m@$staging_version"
  done
  go get -tool \
    "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" \
    "k8s.io/kubernetes/cmd/kube-controller-manager@$KUBE_VERSION" \
    "k8s.io/kubernetes/cmd/kube-scheduler@$KUBE_VERSION"
  echo "kube: $(echo "$staging" | wc -l) staging modules replaced with $staging_version"
}

# etcd's server module has in-repo replaces too (../api, ../client/v3 ...), but those apply
# only when it is the main module; as a dependency it takes the published modules it requires.
gen_etcd() {
  fresh "$tools/etcd" shipdeck.test/real/etcd
  (cd "$tools/etcd" && go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
}

gen_kwok() {
  fresh "$tools/kwok" shipdeck.test/real/kwok
  (cd "$tools/kwok" && go get -tool "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION")
}

gen_helm() {
  fresh "$tools/helm" shipdeck.test/real/helm
  (cd "$tools/helm" && go get -tool "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
}

# The modules whose files are CRDs. No code imports them; requiring them puts their checksums
# in go.sum, so build.sh's `go mod download` verifies what it copies.
gen_crds() {
  fresh "$tools/crds" shipdeck.test/real/crds
  (cd "$tools/crds" && go get \
    "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" \
    "istio.io/api@$ISTIO_API_VERSION" \
    "github.com/servicemeshinterface/smi-sdk-go@$SMI_SDK_VERSION")
}

# Our own helper (main.go is ours and committed): converts the SMI CRD and prepares stages. It
# uses the apiextensions types of the same Kubernetes version as the API server.
gen_prep() {
  local dir=$tools/prep
  rm -f "$dir/go.mod" "$dir/go.sum"
  (cd "$dir" && go mod init shipdeck.test/real/prep >/dev/null 2>&1 &&
    go get "k8s.io/apiextensions-apiserver@$staging_version" \
      "k8s.io/apimachinery@$staging_version" &&
    go mod tidy)
}

for component in kube etcd kwok helm crds prep; do
  echo "== $component"
  (gen_"$component")
done
echo "regenerated: $(cd "$here" && echo tools/*/go.mod)"
