package acm

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/acm/acmtypes"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/store"
)

// maxListItems is the largest page of ListCertificates (the model's
// MaxItems), and the page without MaxItems.
const maxListItems = 1000

// defaultKeyTypes are the key algorithms ListCertificates lists unless
// Includes names others (the model's Filters.keyTypes).
var defaultKeyTypes = []string{acmtypes.KeyAlgorithmRsa1024, acmtypes.KeyAlgorithmRsa2048}

func (a *ACM) listCertificates(ctx context.Context, in *acmtypes.ListCertificatesRequest) (*acmtypes.ListCertificatesResponse, error) {
	if (in.SortBy == nil) != (in.SortOrder == nil) {
		// The model's sentence; UNVERIFIED as an error's.
		return nil, validation("If you specify SortBy, you must also specify SortOrder, and the other way round.")
	}
	all, _, err := store.List[acmstate.Certificate](ctx, a.store, acmstate.RegionCertificates(region(ctx)), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	now := a.now()
	filter := newListFilter(in, now)
	var certs []acmstate.Certificate
	for _, c := range all {
		if filter.passes(c.Value) {
			certs = append(certs, c.Value)
		}
	}
	desc := awsapi.Deref(in.SortOrder) == acmtypes.SortOrderDescending
	page, next, err := paginate(certs, desc, in.NextToken, int(awsapi.Deref(in.MaxItems)))
	if err != nil {
		return nil, err
	}
	// An empty list when nothing matches: the aws CLI prints nothing at
	// all for a missing one. UNVERIFIED: that ACM answers it so.
	out := &acmtypes.ListCertificatesResponse{CertificateSummaryList: []acmtypes.CertificateSummary{}, NextToken: next}
	for _, c := range page {
		out.CertificateSummaryList = append(out.CertificateSummaryList, summary(c, now))
	}
	return out, nil
}

// listFilter is what ListCertificates lists: certificates of one of the
// statuses (any without), of one of the key types, and with one of the
// key usages and extended key usages asked for (any without).
// UNVERIFIED: that a certificate needs one of several usages asked for
// rather than all of them.
type listFilter struct {
	now                          time.Time
	statuses, keyTypes           []string
	keyUsages, extendedKeyUsages []string
	// none: exportable or CloudFront-managed certificates asked for, which
	// berth has none of.
	none bool
}

func newListFilter(in *acmtypes.ListCertificatesRequest, now time.Time) listFilter {
	f := listFilter{now: now, statuses: in.CertificateStatuses, keyTypes: defaultKeyTypes}
	if inc := in.Includes; inc != nil {
		if len(inc.KeyTypes) > 0 {
			f.keyTypes = inc.KeyTypes
		}
		f.keyUsages, f.extendedKeyUsages = inc.KeyUsage, inc.ExtendedKeyUsage
		f.none = inc.ManagedBy != nil || awsapi.Deref(inc.ExportOption) == acmtypes.CertificateExportEnabled
	}
	return f
}

func (f listFilter) passes(c acmstate.Certificate) bool {
	if f.none || !slices.Contains(f.keyTypes, c.KeyAlgorithm) {
		return false
	}
	if len(f.statuses) > 0 && !slices.Contains(f.statuses, c.Status(f.now)) {
		return false
	}
	if len(f.keyUsages) > 0 && !slices.ContainsFunc(f.keyUsages, func(u string) bool {
		return u == acmtypes.KeyUsageNameAny || slices.Contains(c.KeyUsages, u)
	}) {
		return false
	}
	return len(f.extendedKeyUsages) == 0 || slices.ContainsFunc(f.extendedKeyUsages, func(u string) bool {
		if u == acmtypes.ExtendedKeyUsageNameNone {
			return len(c.ExtendedKeyUsages) == 0
		}
		return slices.ContainsFunc(c.ExtendedKeyUsages, func(e acmstate.ExtendedKeyUsage) bool { return e.Name == u })
	})
}

// position is where a certificate is in a list, and what a page token
// holds of the certificate a page ended at: its creation, then its ARN.
type position struct {
	created int64
	arn     string
}

func positionOf(c acmstate.Certificate) position { return position{c.CreatedAt.UnixNano(), c.ARN} }

func comparePositions(a, b position, desc bool) int {
	c := cmp.Or(cmp.Compare(a.created, b.created), cmp.Compare(a.arn, b.arn))
	if desc {
		return -c
	}
	return c
}

// paginate sorts certificates by creation, oldest first unless desc
// (UNVERIFIED: ACM's order without SortBy), and returns the page after
// the one token ended (limit 0: maxListItems), with the token of the page
// after it. A token names a position, not an index, so a certificate
// created or deleted between pages shifts no other.
func paginate(certs []acmstate.Certificate, desc bool, token *string, limit int) ([]acmstate.Certificate, *string, error) {
	slices.SortFunc(certs, func(a, b acmstate.Certificate) int { return comparePositions(positionOf(a), positionOf(b), desc) })
	start := 0
	if token != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*token)
		created, arn, ok := strings.Cut(string(raw), "|")
		var after position
		if _, serr := fmt.Sscan(created, &after.created); err != nil || !ok || serr != nil {
			// UNVERIFIED wording.
			return nil, nil, awsapi.WithMessage(errInvalidArgs, "The NextToken is not valid.")
		}
		after.arn = arn
		for start < len(certs) && comparePositions(positionOf(certs[start]), after, desc) <= 0 {
			start++
		}
	}
	if limit <= 0 {
		limit = maxListItems
	}
	end := min(start+limit, len(certs))
	page := certs[start:end]
	if end == len(certs) {
		return page, nil, nil
	}
	last := positionOf(page[len(page)-1])
	next := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d|%s", last.created, last.arn))
	return page, &next, nil
}
