package acm

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/berth/berth/internal/acm/acmstate"
	"github.com/berth/berth/internal/acm/acmtypes"
	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/store"
)

// maxTags is how many tags a certificate may have.
const maxTags = 50

func (a *ACM) addTagsToCertificate(ctx context.Context, in *acmtypes.AddTagsToCertificateRequest) (*struct{}, error) {
	_, err := a.change(ctx, in.CertificateArn, func(cert *acmstate.Certificate, _ time.Time) error {
		tags, err := addTags(cert.Tags, in.Tags)
		if err != nil {
			return err
		}
		cert.Tags = tags
		return nil
	})
	return nil, err
}

// removeTagsFromCertificate removes each tag named by its key alone, and
// each named with a value only if it has that value.
func (a *ACM) removeTagsFromCertificate(ctx context.Context, in *acmtypes.RemoveTagsFromCertificateRequest) (*struct{}, error) {
	if err := checkTagKeys(in.Tags); err != nil {
		return nil, err
	}
	_, err := a.change(ctx, in.CertificateArn, func(cert *acmstate.Certificate, _ time.Time) error {
		kept := slices.DeleteFunc(slices.Clone(cert.Tags), func(t acmstate.Tag) bool {
			return slices.ContainsFunc(in.Tags, func(r acmtypes.Tag) bool {
				return awsapi.Deref(r.Key) == t.Key && (r.Value == nil || (t.Value != nil && *r.Value == *t.Value))
			})
		})
		if len(kept) == len(cert.Tags) {
			return store.ErrUnchanged
		}
		cert.Tags = kept
		return nil
	})
	return nil, err
}

func (a *ACM) listTagsForCertificate(ctx context.Context, in *acmtypes.ListTagsForCertificateRequest) (*acmtypes.ListTagsForCertificateResponse, error) {
	cert, err := a.lookup(ctx, in.CertificateArn)
	if err != nil {
		return nil, err
	}
	out := &acmtypes.ListTagsForCertificateResponse{}
	for _, t := range cert.Value.Tags {
		out.Tags = append(out.Tags, acmtypes.Tag{Key: awsapi.String(t.Key), Value: t.Value})
	}
	return out, nil
}

// addTags returns tags with more added (a key already there takes the new
// value), refusing AWS's reserved keys and more than maxTags in all.
func addTags(tags []acmstate.Tag, more []acmtypes.Tag) ([]acmstate.Tag, error) {
	if err := checkTagKeys(more); err != nil {
		return nil, err
	}
	out := slices.Clone(tags)
	for _, t := range more {
		tag := acmstate.Tag{Key: awsapi.Deref(t.Key), Value: t.Value}
		if i := slices.IndexFunc(out, func(o acmstate.Tag) bool { return o.Key == tag.Key }); i >= 0 {
			out[i] = tag
		} else {
			out = append(out, tag)
		}
	}
	if len(out) > maxTags {
		pairs := make([]string, len(out))
		for i, t := range out {
			pairs[i] = t.Key + "=" + awsapi.Deref(t.Value)
		}
		// UNVERIFIED wording.
		return nil, awsapi.WithMessage(errTooManyTags, "the TagSet: '{%s}' contains too many Tags", strings.Join(pairs, ", "))
	}
	return out, nil
}

// checkTagKeys refuses keys in AWS's reserved "aws:" space.
func checkTagKeys(tags []acmtypes.Tag) error {
	for _, t := range tags {
		if key := awsapi.Deref(t.Key); strings.HasPrefix(strings.ToLower(key), "aws:") {
			// UNVERIFIED wording.
			return invalidTag("Invalid Tag Key: %q. AWS internal tags cannot be changed with this API.", key)
		}
	}
	return nil
}
