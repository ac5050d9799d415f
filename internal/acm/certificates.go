package acm

import (
	"context"
	"errors"
	"time"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/acm/acmtypes"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/store"
)

func (a *ACM) describeCertificate(ctx context.Context, in *acmtypes.DescribeCertificateRequest) (*acmtypes.DescribeCertificateResponse, error) {
	cert, err := a.lookup(ctx, in.CertificateArn)
	if err != nil {
		return nil, err
	}
	return &acmtypes.DescribeCertificateResponse{Certificate: detail(cert.Value, a.now())}, nil
}

// getCertificate answers the certificate and its chain. ACM's
// RequestInProgressException never comes: berth issues at once.
func (a *ACM) getCertificate(ctx context.Context, in *acmtypes.GetCertificateRequest) (*acmtypes.GetCertificateResponse, error) {
	cert, err := a.lookup(ctx, in.CertificateArn)
	if err != nil {
		return nil, err
	}
	return &acmtypes.GetCertificateResponse{
		Certificate:      awsapi.String(cert.Value.CertificatePEM),
		CertificateChain: awsapi.OptionalString(cert.Value.ChainPEM),
	}, nil
}

// deleteCertificate deletes a certificate nothing uses, with its token
// record. The transaction holds the certificate at the revision read, so
// a load balancer that started using it meanwhile makes it read again
// and refuse.
func (a *ACM) deleteCertificate(ctx context.Context, in *acmtypes.DeleteCertificateRequest) (*struct{}, error) {
	return nil, store.Retry(ctx, func() error {
		cur, err := a.lookup(ctx, in.CertificateArn)
		if err != nil {
			return err
		}
		cert := cur.Value
		if len(cert.InUseBy) > 0 {
			return inUse(cert)
		}
		key := acmstate.CertificateKey(cert.Region, cert.ID)
		txn := store.Txn{If: []store.Compare{{Key: key, ModRevision: cur.ModRevision}}, Then: []store.Op{store.Delete(key)}}
		if cert.Token != "" {
			tok, err := store.Get[acmstate.Token](ctx, a.store, cert.Token)
			switch {
			case err == nil && tok.Value.ARN == cert.ARN:
				txn.If = append(txn.If, store.Compare{Key: cert.Token, ModRevision: tok.ModRevision})
				txn.Then = append(txn.Then, store.Delete(cert.Token))
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		_, err = a.store.Txn(ctx, txn)
		return err
	})
}

// exportCertificate refuses, as ACM does for a public certificate: only
// private ones (and exportable public ones), which berth does not issue,
// can be exported.
func (a *ACM) exportCertificate(ctx context.Context, in *acmtypes.ExportCertificateRequest) (*acmtypes.ExportCertificateResponse, error) {
	cert, err := a.lookup(ctx, in.CertificateArn)
	if err != nil {
		return nil, err
	}
	// UNVERIFIED wording.
	return nil, validation("Certificate ARN: %s is not a private certificate", cert.Value.ARN)
}

// resendValidationEmail refuses, as ACM does for a certificate not
// pending validation: berth's are all validated at once.
func (a *ACM) resendValidationEmail(ctx context.Context, in *acmtypes.ResendValidationEmailRequest) (*struct{}, error) {
	cert, err := a.lookup(ctx, in.CertificateArn)
	if err != nil {
		return nil, err
	}
	// UNVERIFIED wording.
	return nil, invalidState("Certificate %s is in status %s, not PENDING_VALIDATION.", cert.Value.ARN, cert.Value.Status(a.now()))
}

func (a *ACM) updateCertificateOptions(ctx context.Context, in *acmtypes.UpdateCertificateOptionsRequest) (*struct{}, error) {
	opts := awsapi.Deref(in.Options)
	_, err := a.change(ctx, in.CertificateArn, func(cert *acmstate.Certificate, _ time.Time) error {
		if export := awsapi.Deref(opts.Export); export != "" && export != acmtypes.CertificateExportDisabled {
			// The model's sentence; UNVERIFIED as an error's.
			return validation("You cannot update the value of Export after the certificate is created.")
		}
		pref := awsapi.Deref(opts.CertificateTransparencyLoggingPreference)
		if pref == "" || pref == cert.CTLogging {
			return store.ErrUnchanged
		}
		cert.CTLogging = pref
		return nil
	})
	return nil, err
}
