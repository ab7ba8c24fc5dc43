#!/usr/bin/env bash
# Writes the certificates and keys of a test control plane into DIR (tests/common/real_cluster.rs
# runs it for each test process):
#
#   ca.crt ca.key                 the cluster CA (signs everything below; the API server's client CA)
#   apiserver.crt/.key            serving certificate for 127.0.0.1 and the in-cluster names
#   admin.crt/.key                client: shipdeck-admin in system:masters
#   controller-manager.crt/.key   client: system:kube-controller-manager
#   scheduler.crt/.key            client: system:kube-scheduler
#   kwok.crt/.key                 client: kwok in system:masters (it writes every node and pod)
#   service-account.key/.pub      service-account token signing key pair
#
# ECDSA P-256 keys (fast to generate). The CA is never used as a serving certificate: rustls
# rejects a CA certificate presented as a leaf.
set -euo pipefail
dir=${1:?usage: certs.sh DIR}
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key ca.key
openssl req -x509 -new -key ca.key -out ca.crt -days 3650 -subj /CN=shipdeck-real-ca \
  -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature

# leaf NAME SUBJECT EXTENSION...
leaf() {
  local name=$1 subject=$2
  shift 2
  key "$name.key"
  printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature "$@" \
    >"$name.ext"
  openssl req -new -key "$name.key" -subj "$subject" |
    openssl x509 -req -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm "$name.ext"
}

leaf apiserver /CN=kube-apiserver extendedKeyUsage=serverAuth \
  "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
leaf admin /O=system:masters/CN=shipdeck-admin extendedKeyUsage=clientAuth
leaf controller-manager /CN=system:kube-controller-manager extendedKeyUsage=clientAuth
leaf scheduler /CN=system:kube-scheduler extendedKeyUsage=clientAuth
leaf kwok /O=system:masters/CN=kwok extendedKeyUsage=clientAuth

key service-account.key
openssl pkey -in service-account.key -pubout -out service-account.pub
