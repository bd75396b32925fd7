#!/bin/sh
# make_test_ca.sh DIR -- create the TLS material the integration tests need.
#
# In DIR:
#   ca.pem, ca.key               test CA
#   server.pem, server.key       signed by the CA, SAN IP:127.0.0.1, DNS:localhost
#   wronghost.pem, wronghost.key signed by the CA, SAN DNS:wrong.example only
#                                (host-name mismatch test)
#   other-ca.pem, other-ca.key   an unrelated CA (trust it instead of ca.pem to
#                                get "unknown CA" for server.pem)
#   selfsigned.pem, selfsigned.key  unrelated self-signed cert for 127.0.0.1 and
#                                localhost (serve it to a client that trusts
#                                ca.pem: "unknown CA")
#
# EC P-256 keys (fast to make, supported by OpenSSL and GnuTLS builds of
# libcurl). Idempotent: does nothing when a complete, valid set is present.
# Quiet; on failure prints openssl's output and exits non-zero.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR=$1
DAYS=3650
FILES="ca.pem ca.key server.pem server.key wronghost.pem wronghost.key
       other-ca.pem other-ca.key selfsigned.pem selfsigned.key"

mkdir -p "$DIR"

# Already complete and valid for at least another day? Then nothing to do.
complete=1
for f in $FILES; do
    [ -s "$DIR/$f" ] || complete=0
done
if [ $complete = 1 ] &&
   openssl x509 -noout -checkend 86400 -in "$DIR/server.pem" >/dev/null 2>&1 &&
   openssl verify -CAfile "$DIR/ca.pem" "$DIR/server.pem" "$DIR/wronghost.pem" \
       >/dev/null 2>&1; then
    exit 0
fi

WORK=$(mktemp -d "$DIR/.make_test_ca.XXXXXX")
LOG=$WORK/openssl.log
trap 'rm -rf "$WORK"' EXIT
umask 077

fail() {
    echo "make_test_ca.sh: $1 failed:" >&2
    cat "$LOG" >&2
    exit 1
}

serial() { echo "0x$(openssl rand -hex 16)"; }

# self_signed NAME SUBJECT EXTENSION-LINES -- its own configuration file, so
# that no default section of the system's openssl.cnf adds extensions (OpenSSL
# 1.1.1, Debian 11, would add a second basicConstraints to -addext's, and a
# CA certificate with one extension twice verifies nothing).
self_signed() {
    name=$1 subj=$2
    printf '[req]\ndistinguished_name = dn\nx509_extensions = ext\n[dn]\n[ext]\n%s\n' \
        "$3" >"$WORK/$name.cnf"
    openssl req -x509 -config "$WORK/$name.cnf" -newkey ec \
        -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$WORK/$name.key" -out "$WORK/$name.pem" -days $DAYS \
        -subj "$subj" -set_serial "$(serial)" >>"$LOG" 2>&1 ||
        fail "self-signed $name"
}

# signed NAME SUBJECT SAN -- a server certificate signed by the test CA
signed() {
    name=$1 subj=$2 san=$3
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$WORK/$name.key" -out "$WORK/$name.csr" -subj "$subj" \
        >>"$LOG" 2>&1 || fail "request for $name"
    cat >"$WORK/$name.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    openssl x509 -req -in "$WORK/$name.csr" -CA "$WORK/ca.pem" \
        -CAkey "$WORK/ca.key" -set_serial "$(serial)" -days $DAYS \
        -extfile "$WORK/$name.ext" -out "$WORK/$name.pem" >>"$LOG" 2>&1 ||
        fail "signing $name"
}

CA_EXT="basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash"
self_signed ca "/O=collectd-anticaptcha tests/CN=Test CA" "$CA_EXT"
self_signed other-ca "/O=Unrelated/CN=Other Test CA" "$CA_EXT"
self_signed selfsigned "/O=Unrelated/CN=127.0.0.1" "basicConstraints = critical, CA:FALSE
subjectAltName = IP:127.0.0.1, DNS:localhost
extendedKeyUsage = serverAuth"
signed server "/O=collectd-anticaptcha tests/CN=localhost" \
    "IP:127.0.0.1, DNS:localhost"
signed wronghost "/O=collectd-anticaptcha tests/CN=wrong.example" \
    "DNS:wrong.example"

openssl verify -CAfile "$WORK/ca.pem" "$WORK/server.pem" "$WORK/wronghost.pem" \
    >>"$LOG" 2>&1 || fail "verification"

for f in $FILES; do
    mv -f "$WORK/$f" "$DIR/$f"
done
chmod 644 "$DIR"/*.pem
exit 0
