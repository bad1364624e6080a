#!/bin/sh
# Seed corpus for the DER differential tests, made by the openssl command line (not by certloop):
# every key type, every SAN kind, long and multi-valued names, many extensions, UTF8/BMP strings, dates past
# 2050, a root/intermediate/leaf chain, CSRs and private keys in PKCS#8, PKCS#1 and SEC1.
# Run from anywhere: sh packages/core/test-data/generate-openssl.sh  (rewrites packages/core/test-data/openssl/)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/openssl"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$out"
cd "$tmp"

cat > ext.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ca_pathlen]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
nameConstraints = critical, permitted;DNS:.example.test, permitted;IP:10.0.0.0/255.0.0.0, excluded;email:bad.example.test
[leaf_all_sans]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = @sans
[sans]
DNS.1 = a.example.test
DNS.2 = *.wild.example.test
IP.1 = 10.1.2.3
IP.2 = 2001:db8::1
IP.3 = ::ffff:192.0.2.1
URI.1 = spiffe://certloop.test/ns/default/sa/agent
URI.2 = https://example.test/path?q=1
email.1 = agent@example.test
otherName.1 = 1.3.6.1.4.1.311.20.2.3;UTF8:upn@example.test
dirName.1 = dir_sect
RID.1 = 1.2.3.4.5
[dir_sect]
C = DE
O = Directory Name Org
CN = directory name
[leaf_many]
basicConstraints = critical, CA:FALSE
keyUsage = digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement
extendedKeyUsage = serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, OCSPSigning, 1.3.6.1.4.1.99999.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always, issuer:always
subjectAltName = DNS:many.example.test
certificatePolicies = 2.23.140.1.2.1, 1.3.6.1.4.1.99999.2.1
crlDistributionPoints = URI:http://crl.example.test/ca.crl
authorityInfoAccess = OCSP;URI:http://ocsp.example.test, caIssuers;URI:http://ca.example.test/ca.crt
nsComment = "a Netscape comment"
1.3.6.1.4.1.99999.3 = ASN1:UTF8String:an unknown non-critical extension
[leaf_plain]
subjectAltName = DNS:plain.example.test
[leaf_unknown_critical]
subjectAltName = DNS:crit.example.test
1.3.6.1.4.1.99999.4 = critical, ASN1:NULL
CNF

key() { # name, genpkey args...
  name=$1; shift
  openssl genpkey "$@" -out "$name.key" 2>/dev/null
}
key p256 -algorithm EC -pkeyopt ec_paramgen_curve:P-256
key p384 -algorithm EC -pkeyopt ec_paramgen_curve:P-384
key p521 -algorithm EC -pkeyopt ec_paramgen_curve:P-521
key k256 -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1
key rsa1024 -algorithm RSA -pkeyopt rsa_keygen_bits:1024
key rsa2048 -algorithm RSA -pkeyopt rsa_keygen_bits:2048
key rsa3072 -algorithm RSA -pkeyopt rsa_keygen_bits:3072
key rsa4096 -algorithm RSA -pkeyopt rsa_keygen_bits:4096
key rsapss -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048
key ed25519 -algorithm ED25519
key ed448 -algorithm ED448

# Private keys in every PEM form certloop imports (and some it refuses).
for k in p256 p384 p521 k256 rsa1024 rsa2048 rsa3072 rsa4096 rsapss ed25519 ed448; do cp "$k.key" "$out/key-$k.pkcs8.pem"; done
openssl rsa -in rsa2048.key -traditional -out "$out/key-rsa2048.pkcs1.pem" 2>/dev/null
openssl ec -in p256.key -out "$out/key-p256.sec1.pem" 2>/dev/null
openssl ec -in p384.key -param_out -out "$out/key-p384.sec1-params.pem" 2>/dev/null
openssl ec -in p256.key -conv_form compressed -out "$out/key-p256.sec1-compressed.pem" 2>/dev/null

# Self-signed roots, one per key type (dates past 2050 for some: GeneralizedTime).
root() { # key, days, subject, [digest]
  openssl req -x509 -new -key "$1.key" -days "$2" -subj "$3" -config ext.cnf -extensions ca ${4:+-$4} \
    -out "$out/root-$1.pem" 2>/dev/null
}
root p256 30 "/CN=openssl root p256/O=certloop corpus"
root p384 20000 "/CN=openssl root p384 past 2050/O=certloop corpus"
root p521 30 "/CN=openssl root p521"
root k256 30 "/CN=openssl root secp256k1"
root rsa1024 30 "/CN=openssl root rsa1024"
root rsa2048 30 "/CN=openssl root rsa2048/C=DE/ST=Berlin/L=Berlin/O=certloop corpus/OU=tests"
root rsa3072 30 "/CN=openssl root rsa3072" sha384
root rsa4096 30 "/CN=openssl root rsa4096" sha512
root rsapss 30 "/CN=openssl root rsa-pss"
root ed25519 20000 "/CN=openssl root ed25519 past 2050"
root ed448 30 "/CN=openssl root ed448"
openssl req -x509 -new -key rsa2048.key -days 30 -subj "/CN=openssl root sha1" -config ext.cnf -extensions ca -sha1 \
  -out "$out/root-rsa2048-sha1.pem" 2>/dev/null

# Names: UTF8 and BMP strings, a 64-character CN, a multi-valued RDN, many RDNs, escaped characters.
openssl req -x509 -new -key p256.key -days 30 -utf8 -subj "/CN=ünïcödé 名前 😀/O=Grüße GmbH" \
  -config ext.cnf -extensions leaf_plain -out "$out/name-utf8.pem" 2>/dev/null
openssl req -x509 -new -key p256.key -days 30 -utf8 -subj "/CN=bmp ünïcödé 名前/O=BMP" -config ext.cnf \
  -extensions leaf_plain -reqopt '' -out "$out/name-bmp.pem" -multivalue-rdn 2>/dev/null || true
printf '[req]\ndistinguished_name=dn\nprompt=no\nstring_mask=nombstr\n[dn]\nCN=printable only\nO=no utf8\n' > nombstr.cnf
openssl req -x509 -new -key p256.key -days 30 -config nombstr.cnf -out "$out/name-printable.pem" 2>/dev/null
printf '[req]\ndistinguished_name=dn\nprompt=no\nstring_mask=pkix\nutf8=yes\n[dn]\nCN=bmp ünïcödé 名前\nO=bmp string org\n' > bmp.cnf
openssl req -x509 -new -key p256.key -days 30 -config bmp.cnf -out "$out/name-bmp.pem" 2>/dev/null
long=$(printf 'x%.0s' $(seq 1 64))
openssl req -x509 -new -key p256.key -days 30 -subj "/CN=$long/O=$long/OU=$long/L=$long/ST=$long/C=US" \
  -config ext.cnf -extensions leaf_plain -out "$out/name-long.pem" 2>/dev/null
openssl req -x509 -new -key p256.key -days 30 -multivalue-rdn -subj "/CN=multi+UID=valued/O=rdn, \"quoted\"; <x>" \
  -config ext.cnf -extensions leaf_plain -out "$out/name-multivalued.pem" 2>/dev/null
openssl req -x509 -new -key p256.key -days 30 \
  -subj "/DC=test/DC=example/C=US/ST=CA/L=SF/O=o1/O=o2/OU=u1/OU=u2/CN=first/CN=second/emailAddress=a@example.test/serialNumber=42" \
  -config ext.cnf -extensions leaf_plain -out "$out/name-many-rdns.pem" 2>/dev/null
openssl req -x509 -new -key p256.key -days 30 -subj "/" -config ext.cnf -extensions leaf_plain \
  -out "$out/name-empty.pem" 2>/dev/null || true

# A chain: root -> intermediate (pathlen 0, name constraints) -> leaves with every SAN kind, many extensions.
openssl req -new -key p384.key -subj "/CN=openssl intermediate/O=certloop corpus" -out inter.csr 2>/dev/null
openssl x509 -req -in inter.csr -CA "$out/root-p256.pem" -CAkey p256.key -set_serial 0x0102030405060708090a0b0c0d0e0f1011121314 \
  -days 30 -extfile ext.cnf -extensions ca_pathlen -out "$out/chain-intermediate.pem" 2>/dev/null
leaf() { # name, key, extensions, days
  openssl req -new -key "$2.key" -subj "/CN=openssl leaf $1/O=certloop corpus" -out "$1.csr" 2>/dev/null
  cp "$1.csr" "$out/csr-$1.pem"
  openssl x509 -req -in "$1.csr" -CA "$out/chain-intermediate.pem" -CAkey p384.key -CAcreateserial -days "$4" \
    -extfile ext.cnf -extensions "$3" -out "$out/chain-leaf-$1.pem" 2>/dev/null
}
leaf all-sans p256 leaf_all_sans 30
leaf many-extensions rsa2048 leaf_many 30
leaf ed25519 ed25519 leaf_plain 30
leaf past-2050 p384 leaf_plain 12000
leaf unknown-critical p256 leaf_unknown_critical 30
# Serial numbers: small, the high bit set (a sign octet), 20 octets.
openssl req -x509 -new -key p256.key -days 30 -subj "/CN=serial one" -set_serial 1 -out "$out/serial-1.pem" 2>/dev/null
openssl req -x509 -new -key p256.key -days 30 -subj "/CN=serial 128" -set_serial 128 -out "$out/serial-128.pem" 2>/dev/null
openssl req -x509 -new -key p256.key -days 30 -subj "/CN=serial 20 octets" -set_serial 0x7fffffffffffffffffffffffffffffffffffffff \
  -out "$out/serial-20-octets.pem" 2>/dev/null

# CSRs of every key type, with SANs requested (and one with requested basicConstraints).
for k in p256 p384 p521 rsa2048 rsa4096 ed25519 ed448 rsapss; do
  openssl req -new -key "$k.key" -subj "/CN=openssl csr $k" -addext "subjectAltName=DNS:$k.example.test,IP:10.9.8.7,URI:spiffe://c/$k,email:$k@example.test" \
    -out "$out/csr-$k.pem" 2>/dev/null
done
openssl req -new -key p256.key -subj "/CN=csr ca request" -addext "basicConstraints=critical,CA:TRUE,pathlen:1" \
  -addext "keyUsage=critical,keyCertSign" -out "$out/csr-ca-request.pem" 2>/dev/null
openssl req -new -key p256.key -utf8 -subj "/CN=csr ünïcödé/O=Grüße" -out "$out/csr-utf8.pem" 2>/dev/null
openssl req -new -key p256.key -subj "/" -addext "subjectAltName=DNS:nameless.example.test" -out "$out/csr-empty-subject.pem" 2>/dev/null

rm -f "$out"/*.srl
ls "$out" | wc -l
