// Package acm is berth's AWS Certificate Manager API: certificates
// requested from berth's own certificate authority (internal/pki) and
// issued at once, certificates imported with their keys, tags, renewal
// and the account configuration.
//
// Certificates are records in berth's store (acmstate); their private
// keys are sealed with the data dir's secrets key (secretbox) before they
// reach it, and no response, error or log line shows one. The load
// balancers read certificates, record their use and open their keys
// through acmstate. Private certificate authorities (and so private
// certificates, their export and revocation), exportable public
// certificates, HTTP validation and SearchCertificates are not
// implemented.
package acm

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
	"github.com/berth/berth/internal/pki"
	"github.com/berth/berth/internal/secretbox"
	"github.com/berth/berth/internal/store"
)

// Config wires the ACM API.
type Config struct {
	// Store holds the certificates' records.
	Store store.Store
	// Box seals the private keys.
	Box *secretbox.Box
	// CA issues the certificates RequestCertificate asks for.
	CA *pki.CA
	// AccountID names the account in ARNs. Each request works in its own
	// region (awsapi.RequestFrom).
	AccountID string
	// Now is the clock (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// ACM is the Certificate Manager service.
type ACM struct {
	store   store.Store
	box     *secretbox.Box
	ca      *pki.CA
	account string
	now     func() time.Time
	errs    *awsapi.ErrorTable
}

// New returns the ACM service.
func New(cfg Config) *ACM {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &ACM{
		store:   cfg.Store,
		box:     cfg.Box,
		ca:      cfg.CA,
		account: cfg.AccountID,
		now:     cfg.Now,
		errs:    newErrorTable(cfg.Logger.With("service", "acm")),
	}
}

// Service returns the API as the gateway serves it. Input that breaks the
// model gets the gateway's ValidationException, which is ACM's own
// answer (and never repeats a private key: the model marks it sensitive).
func (a *ACM) Service() *awsapi.Service {
	return &awsapi.Service{
		SigningName:  "acm",
		TargetPrefix: "CertificateManager",
		Protocol:     awsapi.JSON11,
		Model:        model.MustLoad("acm"),
		Operations:   a.errs.Bind(a.operations()),
		Unsupported:  func(op string) *awsapi.Error { return a.errs.Map(context.Background(), unsupported(op)) },
		Access:       a.access,
	}
}

func (a *ACM) operations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"RequestCertificate":       awsapi.Op(a.requestCertificate),
		"ImportCertificate":        awsapi.Op(a.importCertificate),
		"DescribeCertificate":      awsapi.Op(a.describeCertificate),
		"GetCertificate":           awsapi.Op(a.getCertificate),
		"ListCertificates":         awsapi.Op(a.listCertificates),
		"DeleteCertificate":        awsapi.Op(a.deleteCertificate),
		"RenewCertificate":         awsapi.Op(a.renewCertificate),
		"ExportCertificate":        awsapi.Op(a.exportCertificate),
		"ResendValidationEmail":    awsapi.Op(a.resendValidationEmail),
		"UpdateCertificateOptions": awsapi.Op(a.updateCertificateOptions),

		"AddTagsToCertificate":      awsapi.Op(a.addTagsToCertificate),
		"RemoveTagsFromCertificate": awsapi.Op(a.removeTagsFromCertificate),
		"ListTagsForCertificate":    awsapi.Op(a.listTagsForCertificate),

		"GetAccountConfiguration": awsapi.Op(a.getAccountConfiguration),
		"PutAccountConfiguration": awsapi.Op(a.putAccountConfiguration),
	}
}

// region is the request's region.
func region(ctx context.Context) string { return awsapi.RequestFrom(ctx).Region }

// loaded is a certificate's record as read, with the revision a write of
// it is guarded by.
type loaded = store.Versioned[acmstate.Certificate]

// lookup reads the certificate certARN names in the request's region.
func (a *ACM) lookup(ctx context.Context, certARN *string) (loaded, error) {
	arn := awsapi.Deref(certARN)
	if _, _, _, ok := acmstate.ParseARN(arn); !ok {
		return loaded{}, invalidARN(arn)
	}
	cert, err := acmstate.Get(ctx, a.store, region(ctx), arn)
	if errors.Is(err, acmstate.ErrNotFound) {
		return loaded{}, notFound(arn)
	}
	return cert, err
}

// change applies edit to the certificate certARN names and writes the
// result in one transaction guarded by the record's revision; a lost race
// reads and edits again. edit returns store.ErrUnchanged, before changing
// anything, to write nothing. change returns the certificate as written
// (or as read, when unchanged).
func (a *ACM) change(ctx context.Context, certARN *string, edit func(cert *acmstate.Certificate, now time.Time) error) (acmstate.Certificate, error) {
	var out acmstate.Certificate
	err := store.Retry(ctx, func() error {
		cur, err := a.lookup(ctx, certARN)
		if err != nil {
			return err
		}
		cert := cur.Value
		if err := edit(&cert, a.now()); errors.Is(err, store.ErrUnchanged) {
			out = cur.Value
			return nil
		} else if err != nil {
			return err
		}
		put, err := store.PutJSON(acmstate.CertificateKey(cert.Region, cert.ID), cert)
		if err != nil {
			return err
		}
		if _, err := a.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: put.Key, ModRevision: cur.ModRevision}},
			Then: []store.Op{put},
		}); err != nil {
			return err
		}
		out = cert
		return nil
	})
	return out, err
}
