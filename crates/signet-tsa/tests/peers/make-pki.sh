#!/usr/bin/env bash
# Make a throw-away test PKI and `openssl ts` configuration in DIR (made at run time by the
# tests; never committed):
#   root.pem            root CA (P-256), the trust anchor
#   inter.pem           intermediate CA, signed by root
#   tsa.pem / tsa.key   TSA (P-256), signed by inter, critical EKU timeStamping, serial 0x1001
#   tsa-chain.pem       tsa.pem + inter.pem
#   tsa-rsa.pem / .key  TSA (RSA 2048), signed by root
#   tsa-expired.pem     TSA (same key as tsa.key), signed by root, valid 2020-01-01..2021-01-01
#   wrong-eku.pem       same key, issuer and serial as tsa.pem but EKU serverAuth (openssl
#                       refuses to sign with it; tests put it into a token in place of tsa.pem)
#   other-root.pem      an unrelated root CA (an untrusted anchor)
#   tsa.cnf             `openssl ts` config: sections tsa_ec, tsa_rsa, tsa_expired
set -euo pipefail
dir=${1:?usage: make-pki.sh DIR}
mkdir -p "$dir"
cd "$dir"
q() { local out; out=$("$@" 2>&1) || { echo "failed: $*" >&2; echo "$out" >&2; exit 1; }; }

cat > ext.cnf <<'X'
[req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_tsa]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_server]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, serverAuth
X

ec() { q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
ec root.key
q openssl req -x509 -new -key root.key -subj "/CN=signet test root/O=TEST FIXTURE" -days 3650 \
  -extensions v3_ca -config ext.cnf -set_serial 1 -out root.pem
ec other-root.key
q openssl req -x509 -new -key other-root.key -subj "/CN=signet test root/O=TEST FIXTURE" -days 3650 \
  -extensions v3_ca -config ext.cnf -set_serial 1 -out other-root.pem

issue() { # key subject issuer-cert issuer-key ext serial out
  q openssl req -new -key "$1" -subj "$2" -config ext.cnf -out req.csr
  q openssl x509 -req -in req.csr -CA "$3" -CAkey "$4" -extfile ext.cnf -extensions "$5" \
    -set_serial "$6" -days 825 -sha256 -out "$7"
}
ec inter.key
issue inter.key "/CN=signet test intermediate/O=TEST FIXTURE" root.pem root.key v3_ca 2 inter.pem
ec tsa.key
issue tsa.key "/CN=signet test tsa/O=TEST FIXTURE" inter.pem inter.key v3_tsa 0x1001 tsa.pem
issue tsa.key "/CN=signet test tsa/O=TEST FIXTURE" inter.pem inter.key v3_server 0x1001 wrong-eku.pem
cat tsa.pem inter.pem > tsa-chain.pem
q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out tsa-rsa.key
issue tsa-rsa.key "/CN=signet test tsa rsa/O=TEST FIXTURE" root.pem root.key v3_tsa 0x2001 tsa-rsa.pem

# The expired TSA certificate needs explicit dates: `openssl ca`.
mkdir -p ca.db && : > ca.db/index.txt && echo 3001 > ca.db/serial
cat > ca.cnf <<X
[ca]
default_ca = test
[test]
database = $dir/ca.db/index.txt
serial = $dir/ca.db/serial
new_certs_dir = $dir/ca.db
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
organizationName = optional
X
q openssl req -new -key tsa.key -subj "/CN=signet test tsa expired/O=TEST FIXTURE" -config ext.cnf -out req.csr
q openssl ca -batch -notext -config ca.cnf -cert root.pem -keyfile root.key -in req.csr \
  -startdate 20200101000000Z -enddate 20210101000000Z -extfile ext.cnf -extensions v3_tsa \
  -out tsa-expired.pem

echo 01 > tsaserial
cat > tsa.cnf <<X
[tsa_ec]
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/inter.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
other_policies = 1.3.6.1.4.1.99999.2
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500
clock_precision_digits = 3
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
[tsa_rsa]
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa-rsa.pem
signer_key = $dir/tsa-rsa.key
signer_digest = sha384
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
[tsa_expired]
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa-expired.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
X
rm -f req.csr
