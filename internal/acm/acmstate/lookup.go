package acmstate

import (
	"context"
	"errors"
	"slices"

	"github.com/berth/berth/internal/store"
)

// ErrNotFound: no certificate of the region has the ARN (malformed, of
// another region or account, or deleted).
var ErrNotFound = errors.New("acm: certificate not found")

// Get reads the certificate certARN names in region, with the revision a
// write of it is guarded by: ErrNotFound if there is none there. The
// Elastic Load Balancing API answers CertificateNotFound for it.
func Get(ctx context.Context, s store.Store, region, certARN string) (store.Versioned[Certificate], error) {
	r, _, id, ok := ParseARN(certARN)
	if !ok || r != region {
		return store.Versioned[Certificate]{}, ErrNotFound
	}
	cert, err := store.Get[Certificate](ctx, s, CertificateKey(region, id))
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && cert.Value.ARN != certARN):
		// The ARN names another account's certificate of the same id.
		return store.Versioned[Certificate]{}, ErrNotFound
	case err != nil:
		return store.Versioned[Certificate]{}, err
	}
	return cert, nil
}

// UseOps returns what records (inUse) or forgets (!inUse) that userARN
// (a load balancer's ARN) uses the certificate certARN of region, for the
// caller to commit in its own transaction: the compare holds the
// certificate at the revision read, so a certificate deleted, renewed or
// re-imported meanwhile makes the transaction conflict, and the caller
// reads and decides again (store.Retry). DeleteCertificate refuses a
// certificate in use, and ACM's DescribeCertificate lists its users.
//
// Recording a use of a certificate that does not exist is ErrNotFound;
// forgetting one returns nothing to do. When the use is already as asked,
// the compare alone is returned, so the caller's decision still rests on
// the certificate existing.
func UseOps(ctx context.Context, s store.Store, region, certARN, userARN string, inUse bool) ([]store.Compare, []store.Op, error) {
	cur, err := Get(ctx, s, region, certARN)
	if errors.Is(err, ErrNotFound) && !inUse {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	cert := cur.Value
	key := CertificateKey(cert.Region, cert.ID)
	compare := []store.Compare{{Key: key, ModRevision: cur.ModRevision}}
	i, found := slices.BinarySearch(cert.InUseBy, userARN)
	switch {
	case found == inUse:
		return compare, nil, nil
	case inUse:
		cert.InUseBy = slices.Insert(slices.Clone(cert.InUseBy), i, userARN)
	default:
		cert.InUseBy = slices.Delete(slices.Clone(cert.InUseBy), i, i+1)
	}
	put, err := store.PutJSON(key, cert)
	if err != nil {
		return nil, nil, err
	}
	return compare, []store.Op{put}, nil
}

// MarkInUse commits UseOps on its own, reading again after a lost race.
func MarkInUse(ctx context.Context, s store.Store, region, certARN, userARN string, inUse bool) error {
	return store.Retry(ctx, func() error {
		compare, ops, err := UseOps(ctx, s, region, certARN, userARN, inUse)
		if err != nil || len(ops) == 0 {
			return err
		}
		_, err = s.Txn(ctx, store.Txn{If: compare, Then: ops})
		return err
	})
}
