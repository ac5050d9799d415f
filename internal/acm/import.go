package acm

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/acm/acmtypes"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/store"
)

func (a *ACM) importCertificate(ctx context.Context, in *acmtypes.ImportCertificateRequest) (*acmtypes.ImportCertificateResponse, error) {
	now := a.now()
	imp, err := parseImport(in.Certificate, in.PrivateKey, in.CertificateChain, now)
	if err != nil {
		return nil, err
	}
	tags, err := addTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	if in.CertificateArn != nil {
		if len(in.Tags) > 0 {
			// The model's sentence; UNVERIFIED as an error's.
			return nil, invalidParameter("You cannot apply tags when reimporting a certificate.")
		}
		cert, err := a.change(ctx, in.CertificateArn, func(cert *acmstate.Certificate, now time.Time) error {
			if cert.Type != acmstate.TypeImported {
				// UNVERIFIED wording.
				return validation("Certificate %s was not imported, and cannot be reimported.", cert.ARN)
			}
			return a.setImported(cert, imp, now)
		})
		if err != nil {
			return nil, err
		}
		return &acmtypes.ImportCertificateResponse{CertificateArn: awsapi.String(cert.ARN)}, nil
	}
	reg, id := region(ctx), uuid.NewString()
	cert := acmstate.Certificate{Region: reg, ID: id, ARN: acmstate.ARN(reg, a.account, id), Type: acmstate.TypeImported,
		CreatedAt: now, CTLogging: acmtypes.CertificateTransparencyLoggingPreferenceEnabled, Tags: tags}
	if err := a.setImported(&cert, imp, now); err != nil {
		return nil, err
	}
	put, err := store.PutJSON(acmstate.CertificateKey(reg, id), cert)
	if err != nil {
		return nil, err
	}
	if _, err := a.store.Txn(ctx, store.Txn{If: []store.Compare{{Key: put.Key}}, Then: []store.Op{put}}); err != nil {
		return nil, err
	}
	return &acmtypes.ImportCertificateResponse{CertificateArn: awsapi.String(cert.ARN)}, nil
}

// imported is a certificate given to ImportCertificate, checked.
type imported struct {
	leaf         *x509.Certificate
	chain        []*x509.Certificate
	key          crypto.Signer
	keyAlgorithm string
}

// setImported makes cert the certificate imp, imported at now.
func (a *ACM) setImported(cert *acmstate.Certificate, imp imported, now time.Time) error {
	cert.DomainName = imp.leaf.Subject.CommonName
	var names []string
	if cert.DomainName != "" {
		names = append(names, cert.DomainName)
	}
	for _, n := range imp.leaf.DNSNames {
		if !containsFold(names, n) {
			names = append(names, n)
		}
	}
	if cert.DomainName == "" && len(names) > 0 {
		cert.DomainName = names[0]
	}
	cert.SubjectAlternativeNames = names
	cert.KeyAlgorithm = imp.keyAlgorithm
	cert.CertificatePEM = encodeCertificates(imp.leaf)
	cert.ChainPEM = encodeCertificates(imp.chain...)
	cert.ImportedAt = now
	setX509(cert, imp.leaf)
	return cert.SealKey(a.box, imp.key)
}

func encodeCertificates(certs ...*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	return b.String()
}

// parseImport checks what ImportCertificate was given, as ACM does: one
// certificate, PEM-encoded, valid at now and with an issuer; an
// unencrypted private key of a type ACM takes that is the certificate's;
// and a chain, if any, of certificates, one of which signed it. The key
// never appears in an error.
func parseImport(certPEM, keyPEM, chainPEM []byte, now time.Time) (imported, error) {
	var imp imported
	certs, err := pemCertificates(certPEM)
	switch {
	case err != nil || len(certs) == 0:
		// UNVERIFIED wording.
		return imp, validation("The certificate is not PEM-encoded or is not valid.")
	case len(certs) > 1:
		// OBSERVED: ACM's sentence.
		return imp, validation("The certificate field contains more than one certificate. You can specify only one certificate in this field.")
	}
	imp.leaf = certs[0]
	// UNVERIFIED wording of the sentences below.
	switch {
	case now.Before(imp.leaf.NotBefore):
		return imp, validation("The certificate is not valid yet: its validity begins at %s.", imp.leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(imp.leaf.NotAfter):
		return imp, validation("The certificate has expired: its validity ended at %s.", imp.leaf.NotAfter.UTC().Format(time.RFC3339))
	case len(imp.leaf.RawIssuer) == 0 || len(imp.leaf.Issuer.Names) == 0:
		return imp, validation("The certificate's Issuer field must not be empty.")
	}
	if imp.keyAlgorithm = keyAlgorithmOf(imp.leaf.PublicKey); imp.keyAlgorithm == "" {
		return imp, validation("The certificate's public key is not supported: ACM takes RSA keys of 1024, 2048, 3072 or 4096 bits and EC keys on P-256, P-384 or P-521.")
	}
	if imp.key, err = parsePrivateKey(keyPEM); err != nil {
		return imp, err
	}
	if pub, ok := imp.key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(imp.leaf.PublicKey) {
		return imp, validation("The private key does not match the public key in the certificate.")
	}
	if len(chainPEM) == 0 {
		return imp, nil
	}
	if imp.chain, err = pemCertificates(chainPEM); err != nil || len(imp.chain) == 0 {
		return imp, validation("The certificate chain is not PEM-encoded or is not valid.")
	}
	for _, ca := range imp.chain {
		if imp.leaf.CheckSignatureFrom(ca) == nil {
			return imp, nil
		}
	}
	return imp, validation("Could not validate the certificate with the certificate chain.")
}

// errNotPEM is what pemCertificates finds that is not a PEM certificate.
var errNotPEM = errors.New("acm: not a PEM certificate")

// pemCertificates parses b, which must hold only CERTIFICATE blocks.
func pemCertificates(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		block, rest := pem.Decode(b)
		if block == nil {
			if strings.TrimSpace(string(b)) != "" {
				return nil, errNotPEM
			}
			return out, nil
		}
		if block.Type != "CERTIFICATE" {
			return nil, errNotPEM
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		b = rest
	}
}

// parsePrivateKey parses the key of an import: PKCS #8, PKCS #1 (RSA) or
// SEC 1 (EC), unencrypted; an "EC PARAMETERS" block before it, as openssl
// writes one, is skipped.
func parsePrivateKey(b []byte) (crypto.Signer, error) {
	// UNVERIFIED wording of the sentences.
	notPEM := validation("The private key is not PEM-encoded or is not valid.")
	for {
		block, rest := pem.Decode(b)
		if block == nil {
			return nil, notPEM
		}
		b = rest
		if _, encrypted := block.Headers["DEK-Info"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, validation("The private key is encrypted: ACM takes unencrypted private keys only.")
		}
		var key any
		var err error
		switch block.Type {
		case "EC PARAMETERS":
			continue
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			return nil, notPEM
		}
		if err != nil {
			return nil, notPEM
		}
		signer, ok := key.(crypto.Signer)
		if !ok || keyAlgorithmOf(signer.Public()) == "" {
			return nil, validation("The private key is not supported.")
		}
		return signer, nil
	}
}
