package acmstate

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/store"
)

// SealKey seals key (PKCS #8) into c.SealedKey, under c's KeyContext: set
// c's ARN and Serial first.
func (c *Certificate) SealKey(box *secretbox.Box, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("acm: seal key: %w", err)
	}
	c.SealedKey = box.Seal(der, c.KeyContext())
	return nil
}

// PrivateKey opens the certificate's private key (secretbox.ErrOpen for a
// key sealed under another data dir's key or another certificate).
func (c Certificate) PrivateKey(box *secretbox.Box) (crypto.Signer, error) {
	der, err := box.Open(c.SealedKey, c.KeyContext())
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("acm: key of %s: %w", c.ARN, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("acm: key of %s: a %T cannot sign", c.ARN, key)
	}
	return signer, nil
}

// KeyPair is the certificate as a TLS server presents it: the certificate,
// then its chain without self-signed certificates (clients hold their
// roots, and a root sent is only bytes on the wire), and the opened
// private key.
func (c Certificate) KeyPair(box *secretbox.Box) (tls.Certificate, error) {
	key, err := c.PrivateKey(box)
	if err != nil {
		return tls.Certificate{}, err
	}
	certs, err := parseCertificates([]byte(c.CertificatePEM + "\n" + c.ChainPEM))
	if err == nil && len(certs) == 0 {
		err = errors.New("no certificate")
	}
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("acm: certificate of %s: %w", c.ARN, err)
	}
	out := tls.Certificate{PrivateKey: key, Leaf: certs[0], Certificate: [][]byte{certs[0].Raw}}
	for _, ca := range certs[1:] {
		if !selfSigned(ca) {
			out.Certificate = append(out.Certificate, ca.Raw)
		}
	}
	return out, nil
}

// LoadKeyPair is the KeyPair of the certificate certARN names in region:
// what the load balancers' data plane serves for a listener's
// certificate. ErrNotFound if there is none.
func LoadKeyPair(ctx context.Context, s store.Store, box *secretbox.Box, region, certARN string) (tls.Certificate, error) {
	cert, err := Get(ctx, s, region, certARN)
	if err != nil {
		return tls.Certificate{}, err
	}
	return cert.Value.KeyPair(box)
}

// parseCertificates parses every CERTIFICATE block of b.
func parseCertificates(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return out, nil
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}
