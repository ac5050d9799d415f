// Package pki is berth's own certificate authority: a root key and
// certificate kept in the data dir, created on first start and reused
// ever after, that issues the certificates ACM's RequestCertificate hands
// out. A client that trusts the root (`berth ca` prints it) trusts those
// certificates, as browsers trust ACM's.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/berth/berth/internal/secretfile"
)

// The files of the authority in the data dir.
const (
	// KeyFile holds the root's private key (PKCS #8 PEM, mode 0600).
	KeyFile = "ca.key"
	// CertFile holds the root's certificate (PEM, mode 0644: it is public,
	// and users copy it into their trust stores).
	CertFile = "ca.pem"
)

const (
	// CommonName is the root's subject.
	CommonName = "berth local CA"
	// RootValidity is how long the root is valid from its creation.
	RootValidity = 10 * 365 * 24 * time.Hour
	// LeafValidity is how long an issued certificate is valid: ACM's 395
	// days.
	LeafValidity = 395 * 24 * time.Hour
	// maxCommonName is RFC 5280's upper bound of a common name.
	maxCommonName = 64
)

// The key algorithms Issue supports, in ACM's names (its KeyAlgorithm
// enum).
const (
	RSA2048      = "RSA_2048"
	ECPrime256v1 = "EC_prime256v1"
	ECSecp384r1  = "EC_secp384r1"
)

// ErrKeyAlgorithm is Issue's answer to a key algorithm it does not issue.
var ErrKeyAlgorithm = errors.New("pki: unsupported key algorithm")

// CA is the certificate authority.
type CA struct {
	key     *ecdsa.PrivateKey
	root    *x509.Certificate
	rootPEM []byte
}

// LoadOrCreate returns the authority whose files are in dir, creating
// them on first use. The key is written first: a crash before the
// certificate is written leaves a key the next start certifies, never a
// certificate without its key.
func LoadOrCreate(dir string) (*CA, error) {
	rawKey, err := secretfile.LoadOrCreate(filepath.Join(dir, KeyFile), newRootKey, func(b []byte) error {
		_, err := parseRootKey(b)
		return err
	})
	if err != nil {
		return nil, err
	}
	key, err := parseRootKey(rawKey)
	if err != nil {
		return nil, err
	}
	certPath := filepath.Join(dir, CertFile)
	rootPEM, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		der, cerr := selfSign(key, time.Now())
		if cerr != nil {
			return nil, cerr
		}
		rootPEM, err = writeOnce(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	}
	if err != nil {
		return nil, err
	}
	root, err := parseRoot(rootPEM, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	return &CA{key: key, root: root, rootPEM: rootPEM}, nil
}

// RootPEM is the root certificate, PEM-encoded: what clients add to their
// trust stores.
func (ca *CA) RootPEM() []byte { return bytes.Clone(ca.rootPEM) }

// IssueRequest is what a certificate is issued for.
type IssueRequest struct {
	// DNSNames are the names the certificate is for; the first is also its
	// common name when it fits one (64 characters). "*.example.com" is a
	// wildcard.
	DNSNames []string
	// KeyAlgorithm is the key's algorithm in ACM's names: RSA2048 (also
	// ""), ECPrime256v1 or ECSecp384r1.
	KeyAlgorithm string
	// Now is the moment of issue (zero: time.Now). Validity starts at its
	// UTC midnight, as ACM's does, so a client whose clock is a little
	// behind accepts the certificate too.
	Now time.Time
}

// Issue issues a TLS server certificate for req with a new key, and
// returns it and the chain above it (the root) as PEM, and the key.
func (ca *CA) Issue(req IssueRequest) (certPEM, chainPEM []byte, key crypto.Signer, err error) {
	if len(req.DNSNames) == 0 {
		return nil, nil, nil, errors.New("pki: no DNS name to issue for")
	}
	key, err = newLeafKey(req.KeyAlgorithm)
	if err != nil {
		return nil, nil, nil, err
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	notBefore := now.UTC().Truncate(24 * time.Hour)
	usage := x509.KeyUsageDigitalSignature
	if _, ok := key.(*rsa.PrivateKey); ok {
		// RSA key exchange (TLS 1.2's RSA suites) encrypts with the key.
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		DNSNames:              req.DNSNames,
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(LeafValidity),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if cn := req.DNSNames[0]; len(cn) <= maxCommonName {
		tmpl.Subject = pkix.Name{CommonName: cn}
	}
	if tmpl.SubjectKeyId, err = keyID(key.Public()); err != nil {
		return nil, nil, nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.root, key.Public(), ca.key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("pki: issue: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.RootPEM(), key, nil
}

func newLeafKey(alg string) (crypto.Signer, error) {
	switch alg {
	case "", RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case ECPrime256v1:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECSecp384r1:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	}
	return nil, fmt.Errorf("%w: %q", ErrKeyAlgorithm, alg)
}

func newRootKey() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func parseRootKey(b []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("no PEM private key")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 key")
	}
	return key, nil
}

// selfSign makes the root certificate for key, valid from an hour before
// now (for clients whose clocks are behind) for RootValidity.
func selfSign(key *ecdsa.PrivateKey, now time.Time) ([]byte, error) {
	id, err := keyID(key.Public())
	if err != nil {
		return nil, err
	}
	notBefore := now.UTC().Add(-time.Hour).Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: CommonName},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(RootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// The root signs leaves directly, never another authority.
		MaxPathLenZero: true,
		SubjectKeyId:   id,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
}

// parseRoot parses the root certificate and checks that it is an
// authority certifying key.
func parseRoot(b []byte, key *ecdsa.PrivateKey) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := root.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) {
		return nil, fmt.Errorf("the certificate is not %s's: remove it to have berth certify the key again", KeyFile)
	}
	if !root.IsCA {
		return nil, errors.New("not a CA certificate")
	}
	return root, nil
}

// keyID is a subject key identifier: RFC 5280's method 1, the SHA-1 of
// the public key's bits.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// randomSerial is a positive 128-bit serial number, as long as ACM's.
func randomSerial() *big.Int {
	b := secretfile.RandomBytes(16)
	b[0] &= 0x7f // positive in DER without a leading zero byte
	b[0] |= 0x40 // and always 16 bytes long
	return new(big.Int).SetBytes(b)
}

// writeOnce writes content to path unless a file is there already, and
// returns what path then holds: through a synced temporary file linked
// into place and the directory synced, so the file appears whole or not
// at all, and racing writers all end up with the first one's content.
func writeOnce(path string, content []byte, perm os.FileMode) ([]byte, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(perm)
	if err == nil {
		_, err = tmp.Write(content)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return os.ReadFile(path)
		}
		return nil, err
	}
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return content, d.Sync()
}
