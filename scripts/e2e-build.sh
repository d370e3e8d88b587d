#!/usr/bin/env bash
# Builds the control plane that `make e2e` runs, from the Go module proxy and
# nothing else: etcd, kube-apiserver, kube-controller-manager, and KEDA's
# operator and metrics API server at the version go.mod pins. Each is built
# once per version into $KEDASTRAL_E2E_CACHE (default
# $HOME/.cache/kedastral-e2e/<module>-<version>/) and reused after that.
#
# The modules' go.mod files replace their sibling modules by local paths that
# the module zips lack (k8s.io/kubernetes: ./staging/src/k8s.io/*; etcd:
# ../api, ../pkg, ...). The script copies each module out of the module cache
# and points those replaces at the published modules of the same release.
#
# It also gathers the CRDs the tests install: KEDA's (keda-crds/), and the
# Prometheus Operator's ServiceMonitor and PrometheusRule and cert-manager's
# (crds/), which the chart's objects need. Build times go to
# build-times.txt beside the binaries, for docs/e2e.md.
#
# Prints, last, the directory that holds every binary and the CRDs.
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

K8S_VERSION=${K8S_VERSION:-v1.35.4}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
# The newest Prometheus Operator root module the proxy serves (deploy/ uses
# its API module, a later version): monitoring.coreos.com/v1 is stable across them.
PROMETHEUS_OPERATOR_VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
CERT_MANAGER_VERSION=${CERT_MANAGER_VERSION:-$($GO -C deploy list -m -f '{{.Version}}' github.com/cert-manager/cert-manager)}
KEDA_VERSION=${KEDA_VERSION:-$($GO list -m -f '{{.Version}}' github.com/kedacore/keda/v2)}
CACHE=${KEDASTRAL_E2E_CACHE:-$HOME/.cache/kedastral-e2e}
OUT=$CACHE/bin-k8s-$K8S_VERSION-etcd-$ETCD_VERSION-keda-$KEDA_VERSION
mkdir -p "$CACHE"

log() { echo ">> e2e-build: $*" >&2; }

# workdir MODULE VERSION: a writable copy of the module, without workspace or
# vendor files, with no toolchain line (this machine's Go is used).
workdir() {
	local dir src
	src=$($GO mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$src" ] || { log "cannot download $1@$2"; exit 1; }
	dir=$CACHE/src/$(basename "$src")
	rm -rf "$dir" && mkdir -p "$CACHE/src" && cp -r "$src" "$dir" && chmod -R u+w "$dir"
	rm -rf "$dir/go.work" "$dir/go.work.sum" "$dir/vendor"
	sed -i '/^toolchain /d' "$dir/go.mod"
	echo "$dir"
}

# build DIR OUTPUT PACKAGE LDFLAGS: go build, timed, into a temporary name first.
build() {
	local start=$SECONDS
	log "building $(basename "$2") (once; minutes on a cold cache)"
	(cd "$1" && $GO build -trimpath -ldflags "-s -w $4" -o "$2.tmp" "$3")
	mv "$2.tmp" "$2"
	log "built $(basename "$2") in $((SECONDS - start)) s"
	echo "$(basename "$2") $((SECONDS - start)) s" >>"$OUT/build-times.txt"
}

mkdir -p "$OUT"

if [ ! -x "$OUT/etcd" ]; then
	dir=$(workdir go.etcd.io/etcd/server/v3 "$ETCD_VERSION")
	sed -i -E "s#^(\s*)(go\.etcd\.io/etcd/[a-z/]+/v3) => \.\./[a-z0-9/]+#\1\2 => \2 $ETCD_VERSION#" "$dir/go.mod"
	build "$dir" "$OUT/etcd" . ""
	rm -rf "$dir"
fi

if [ ! -x "$OUT/kube-apiserver" ] || [ ! -x "$OUT/kube-controller-manager" ]; then
	dir=$(workdir k8s.io/kubernetes "$K8S_VERSION")
	staging=v0${K8S_VERSION#v1}
	sed -i -E "s#=> \./staging/src/(k8s\.io/[a-z0-9-]+)#=> \1 $staging#" "$dir/go.mod"
	minor=$(echo "$K8S_VERSION" | cut -d. -f2)
	ver="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
	for cmd in kube-apiserver kube-controller-manager; do
		[ -x "$OUT/$cmd" ] || build "$dir" "$OUT/$cmd" "./cmd/$cmd" "$ver"
	done
	rm -rf "$dir"
fi

if [ ! -x "$OUT/keda-operator" ] || [ ! -x "$OUT/keda-adapter" ] || [ ! -d "$OUT/keda-crds" ]; then
	dir=$(workdir github.com/kedacore/keda/v2 "$KEDA_VERSION")
	ver="-X github.com/kedacore/keda/v2/version.Version=$KEDA_VERSION"
	[ -x "$OUT/keda-operator" ] || build "$dir" "$OUT/keda-operator" ./cmd/operator "$ver"
	[ -x "$OUT/keda-adapter" ] || build "$dir" "$OUT/keda-adapter" ./cmd/adapter "$ver"
	rm -rf "$OUT/keda-crds" && cp -r "$dir/config/crd/bases" "$OUT/keda-crds"
	rm -rf "$dir"
fi

if [ ! -d "$OUT/crds" ]; then
	rm -rf "$OUT/crds.tmp" && mkdir -p "$OUT/crds.tmp"
	moddir() { $GO mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }
	po=$(moddir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")
	cp "$po"/example/prometheus-operator-crd/monitoring.coreos.com_{servicemonitors,prometheusrules}.yaml "$OUT/crds.tmp/"
	cm=$(moddir github.com/cert-manager/cert-manager "$CERT_MANAGER_VERSION")
	cp "$cm"/deploy/crds/cert-manager.io_*.yaml "$OUT/crds.tmp/"
	chmod u+w "$OUT"/crds.tmp/* && mv "$OUT/crds.tmp" "$OUT/crds"
fi

echo "$OUT"
