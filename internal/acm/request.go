package acm

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/acm/acmtypes"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/pki"
	"github.com/berth/berth/internal/store"
)

// requestKeyAlgorithms are the key algorithms RequestCertificate takes
// (ACM's: the others are for imported certificates only).
var requestKeyAlgorithms = []string{pki.RSA2048, pki.ECPrime256v1, pki.ECSecp384r1}

// tokenLifetime is how long an idempotency token repeats its request.
const tokenLifetime = time.Hour

func (a *ACM) requestCertificate(ctx context.Context, in *acmtypes.RequestCertificateRequest) (*acmtypes.RequestCertificateResponse, error) {
	switch {
	case in.CertificateAuthorityArn != nil:
		return nil, unsupported("private certificates")
	case in.ManagedBy != nil:
		return nil, unsupported("certificates managed by CloudFront")
	case awsapi.Deref(in.ValidationMethod) == acmtypes.ValidationMethodHttp:
		return nil, unsupported("HTTP validation")
	case in.Options != nil && awsapi.Deref(in.Options.Export) == acmtypes.CertificateExportEnabled:
		return nil, unsupported("exportable public certificates")
	}
	keyAlgorithm := awsapi.Deref(in.KeyAlgorithm)
	if keyAlgorithm == "" {
		keyAlgorithm = pki.RSA2048
	}
	if !slices.Contains(requestKeyAlgorithms, keyAlgorithm) {
		return nil, pki.ErrKeyAlgorithm
	}
	names, err := certificateNames(awsapi.Deref(in.DomainName), in.SubjectAlternativeNames)
	if err != nil {
		return nil, err
	}
	// ACM validates by email unless told otherwise (UNVERIFIED).
	method := awsapi.Deref(in.ValidationMethod)
	if method == "" {
		method = acmtypes.ValidationMethodEmail
	}
	validations, err := a.validations(method, names, in.DomainValidationOptions)
	if err != nil {
		return nil, err
	}
	tags, err := addTags(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	ctLogging := acmtypes.CertificateTransparencyLoggingPreferenceEnabled
	if in.Options != nil && in.Options.CertificateTransparencyLoggingPreference != nil {
		ctLogging = *in.Options.CertificateTransparencyLoggingPreference
	}
	reg := region(ctx)
	tokenKey := ""
	if in.IdempotencyToken != nil {
		digest, err := requestDigest(in)
		if err != nil {
			return nil, err
		}
		tokenKey = acmstate.TokenKey(reg, digest)
	}

	var issued *acmstate.Certificate
	var arn string
	err = store.Retry(ctx, func() error {
		var compare []store.Compare
		var ops []store.Op
		now := a.now()
		if tokenKey != "" {
			tok, err := store.Get[acmstate.Token](ctx, a.store, tokenKey)
			switch {
			case err == nil && now.Before(tok.Value.Expires):
				arn = tok.Value.ARN
				return nil
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return err
			}
			compare = append(compare, store.Compare{Key: tokenKey, ModRevision: tok.ModRevision})
		}
		// Issued once, whatever races the write loses: a key is costly.
		if issued == nil {
			id := uuid.NewString()
			cert := acmstate.Certificate{
				Region: reg, ID: id, ARN: acmstate.ARN(reg, a.account, id), Type: acmstate.TypeAmazonIssued,
				DomainName: names[0], SubjectAlternativeNames: names, ValidationMethod: method, Validations: validations,
				KeyAlgorithm: keyAlgorithm, CreatedAt: now, CTLogging: ctLogging, Tags: tags, Token: tokenKey,
			}
			if err := a.issue(&cert, now); err != nil {
				return err
			}
			issued = &cert
		}
		put, err := store.PutJSON(acmstate.CertificateKey(reg, issued.ID), issued)
		if err != nil {
			return err
		}
		compare = append(compare, store.Compare{Key: put.Key})
		ops = append(ops, put)
		if tokenKey != "" {
			tok, err := store.PutJSON(tokenKey, acmstate.Token{ARN: issued.ARN, Expires: now.Add(tokenLifetime)})
			if err != nil {
				return err
			}
			ops = append(ops, tok)
		}
		if _, err := a.store.Txn(ctx, store.Txn{If: compare, Then: ops}); err != nil {
			return err
		}
		arn = issued.ARN
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &acmtypes.RequestCertificateResponse{CertificateArn: awsapi.String(arn)}, nil
}

// requestDigest names a request for its idempotency token: the token and
// every argument, so the same token with other arguments is another
// request.
func requestDigest(in *acmtypes.RequestCertificateRequest) (string, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// issue has berth's CA issue cert (again) for its names and key
// algorithm, and records the certificate, its chain and its sealed key.
func (a *ACM) issue(cert *acmstate.Certificate, now time.Time) error {
	certPEM, chainPEM, key, err := a.ca.Issue(pki.IssueRequest{DNSNames: cert.SubjectAlternativeNames, KeyAlgorithm: cert.KeyAlgorithm, Now: now})
	if err != nil {
		return err
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return errors.New("acm: the CA issued no PEM certificate")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	cert.CertificatePEM, cert.ChainPEM = string(certPEM), string(chainPEM)
	setX509(cert, leaf)
	cert.IssuedAt = now
	return cert.SealKey(a.box, key)
}

func (a *ACM) renewCertificate(ctx context.Context, in *acmtypes.RenewCertificateRequest) (*struct{}, error) {
	_, err := a.change(ctx, in.CertificateArn, func(cert *acmstate.Certificate, now time.Time) error {
		if cert.Type != acmstate.TypeAmazonIssued {
			// UNVERIFIED wording.
			return validation("Certificate %s is not eligible for renewal.", cert.ARN)
		}
		cert.RenewedAt = now
		return a.issue(cert, now)
	})
	return nil, err
}
