#!/usr/bin/env bash
# A development CA and the cluster's silo certificate (ECDSA P-256), for deploy/compose.yaml and deploy/k8s/:
#   deploy/certs/make-dev-certs.sh [-f] [OUT_DIR]          (OUT_DIR defaults to this folder, deploy/certs/)
# Writes into OUT_DIR:
#   ca.crt            the CA certificate: what agents trust (--silo-ca); public
#   ca.key            the CA's private key (0600): keep it off the silo and agent machines; needed only to issue again
#   silo.crt          the silo certificate (serverAuth + clientAuth: silos also present it to each other as clients)
#   silo.key          its private key (0600): every silo of the cluster gets this same pair
#   silo.crt.sha256   the silo certificate's SHA-256 (lowercase hex), for agents that pin (--silo-cert-sha256-file)
# Subject alternative names: the compose services (silo-1, silo-2, regatta-silo), the Kubernetes gateway Service
# (regatta-gateway[.regatta[.svc[.cluster.local]]]), localhost, 127.0.0.1 and ::1; add more with
#   REGATTA_CERT_SANS="DNS:regatta.example.internal,IP:10.0.0.5" deploy/certs/make-dev-certs.sh
# Agents that find the gateways with --gateways-url connect by IP, so they pass --silo-tls-name with one of these names.
# An existing silo.key is kept unless -f (a new certificate means restarting every silo and updating pinned agents).
# For development and test clusters: in production use your own CA (or cert-manager) with the same key usages.
set -euo pipefail

force=0
if [[ "${1:-}" == "-f" ]]; then force=1; shift; fi
if [[ $# -gt 1 || "${1:-}" == -* ]]; then
  echo "usage: $0 [-f] [OUT_DIR]" >&2
  exit 2
fi
out="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
days="${REGATTA_CERT_DAYS:-825}"
command -v openssl >/dev/null || { echo "openssl is needed" >&2; exit 1; }

mkdir -p "$out"
cd "$out"
if [[ -e silo.key && $force -eq 0 ]]; then
  echo "$out/silo.key exists; keeping it (-f makes a new CA and certificate)" >&2
  exit 1
fi

sans="DNS:silo-1,DNS:silo-2,DNS:regatta-silo"
sans+=",DNS:regatta-gateway,DNS:regatta-gateway.regatta,DNS:regatta-gateway.regatta.svc,DNS:regatta-gateway.regatta.svc.cluster.local"
sans+=",DNS:localhost,IP:127.0.0.1,IP:::1"
if [[ -n "${REGATTA_CERT_SANS:-}" ]]; then sans+=",${REGATTA_CERT_SANS}"; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Private keys are created 0600 (umask in a subshell) and never exist with wider modes.
new_key() { (umask 077 && rm -f "$1" && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"); }

new_key ca.key
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=Regatta dev CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" \
  -out ca.crt

new_key silo.key
openssl req -new -key silo.key -subj "/CN=regatta-silo" -out "$work/silo.csr"
cat > "$work/silo.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$sans
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
openssl x509 -req -in "$work/silo.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
  -sha256 -days "$days" -extfile "$work/silo.ext" -out silo.crt 2>/dev/null

openssl verify -CAfile ca.crt -purpose sslserver silo.crt >/dev/null
openssl verify -CAfile ca.crt -purpose sslclient silo.crt >/dev/null
chmod 600 ca.key silo.key
chmod 644 ca.crt silo.crt
fingerprint=$(openssl x509 -in silo.crt -noout -fingerprint -sha256 | sed 's/^.*=//; s/://g' | tr 'A-F' 'a-f')
echo "$fingerprint" > silo.crt.sha256
chmod 644 silo.crt.sha256

echo "wrote $out: ca.crt, ca.key (0600), silo.crt, silo.key (0600), silo.crt.sha256"
echo "silo certificate SHA-256: $fingerprint"
echo "names: $sans"
