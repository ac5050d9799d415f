package secretsmanager

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/secretsmanager/smstate"
	"github.com/berth/berth/internal/secretsmanager/smtypes"
	"github.com/berth/berth/internal/store"
)

const defaultListResults = 100

func (s *SecretsManager) listSecrets(ctx context.Context, in *smtypes.ListSecretsRequest) (*smtypes.ListSecretsResponse, error) {
	filters, err := parseFilters(in.Filters)
	if err != nil {
		return nil, err
	}
	secrets, err := s.matching(ctx, region(ctx), filters, awsapi.Deref(in.IncludePlannedDeletion))
	if err != nil {
		return nil, err
	}
	// UNVERIFIED: the model says only that secrets are listed by
	// CreatedDate; berth lists the oldest first unless told otherwise.
	order := listOrder{by: awsapi.Deref(in.SortBy), desc: awsapi.Deref(in.SortOrder) == smtypes.SortOrderTypeDesc}
	page, next, err := paginate(secrets, order, in.NextToken, int(awsapi.Deref(in.MaxResults)), defaultListResults)
	if err != nil {
		return nil, err
	}
	out := &smtypes.ListSecretsResponse{SecretList: make([]smtypes.SecretListEntry, len(page)), NextToken: next}
	for i, sec := range page {
		out.SecretList[i] = listEntry(describe(sec))
	}
	return out, nil
}

// listEntry is a secret as ListSecrets shows it: what DescribeSecret shows
// of it (d), under the entry's names.
func listEntry(d *smtypes.DescribeSecretResponse) smtypes.SecretListEntry {
	return smtypes.SecretListEntry{
		ARN: d.ARN, Name: d.Name, Description: d.Description, KmsKeyId: d.KmsKeyId,
		CreatedDate: d.CreatedDate, LastChangedDate: d.LastChangedDate, LastAccessedDate: d.LastAccessedDate, DeletedDate: d.DeletedDate,
		Tags: d.Tags, SecretVersionsToStages: d.VersionIdsToStages,
	}
}

// matching returns the secrets of region that pass every filter; those
// scheduled for deletion only if includePlanned.
func (s *SecretsManager) matching(ctx context.Context, region string, filters []filter, includePlanned bool) ([]smstate.Secret, error) {
	all, _, err := store.List[smstate.Secret](ctx, s.store, smstate.RegionSecrets(region), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []smstate.Secret
	for _, sec := range all {
		if sec.Value.Gone(now) || (sec.Value.ScheduledForDeletion() && !includePlanned) {
			continue
		}
		if !slices.ContainsFunc(filters, func(f filter) bool { return !f.passes(sec.Value) }) {
			out = append(out, sec.Value)
		}
	}
	return out, nil
}

// filter is one of the Filters of ListSecrets and BatchGetSecretValue.
// A secret passes it if one of its values matches (when it has any that
// are not negated) and none of its negated ("!") values does.
// UNVERIFIED: how Secrets Manager combines several values, negated or
// not, of one filter.
type filter struct {
	key                string
	positive, negative []string
}

func parseFilters(in []smtypes.Filter) ([]filter, error) {
	out := make([]filter, len(in))
	for i, f := range in {
		if f.Key == nil {
			// UNVERIFIED wording.
			return nil, invalidParameter("A filter must have a key.")
		}
		out[i].key = *f.Key
		for _, v := range f.Values {
			if neg, ok := strings.CutPrefix(v, "!"); ok {
				out[i].negative = append(out[i].negative, neg)
			} else {
				out[i].positive = append(out[i].positive, v)
			}
		}
	}
	return out, nil
}

func (f filter) passes(sec smstate.Secret) bool {
	attrs, fold := f.attributes(sec)
	matches := func(pattern string) bool {
		return slices.ContainsFunc(attrs, func(attr string) bool { return matchText(pattern, attr, fold) })
	}
	return (len(f.positive) == 0 || slices.ContainsFunc(f.positive, matches)) && !slices.ContainsFunc(f.negative, matches)
}

// attributes are what the filter's key looks at in sec, and whether it
// ignores case.
func (f filter) attributes(sec smstate.Secret) (attrs []string, fold bool) {
	var keys, values []string
	for _, t := range sec.Tags {
		keys, values = append(keys, t.Key), append(values, t.Value)
	}
	var description []string
	if sec.Description != "" {
		description = []string{sec.Description}
	}
	switch f.key {
	case smtypes.FilterNameStringTypeName:
		return []string{sec.Name}, false
	case smtypes.FilterNameStringTypeDescription:
		return description, true
	case smtypes.FilterNameStringTypeTagKey:
		return keys, false
	case smtypes.FilterNameStringTypeTagValue:
		return values, false
	case smtypes.FilterNameStringTypePrimaryRegion:
		return []string{sec.Region}, false
	case smtypes.FilterNameStringTypeAll:
		return slices.Concat([]string{sec.Name}, description, keys, values), true
	}
	// owning-service: no berth secret is managed by another service.
	return nil, false
}

// matchText reports whether attr matches a filter's pattern: the pattern
// begins attr, or each of its words begins one of attr's words (words
// split at punctuation and at a lower case letter followed by an upper
// case one, so "Test" matches "MyTestSecret", as the aws CLI's own
// example shows).
func matchText(pattern, attr string, fold bool) bool {
	norm := func(s string) string {
		if fold {
			return strings.ToLower(s)
		}
		return s
	}
	if strings.HasPrefix(norm(attr), norm(pattern)) {
		return true
	}
	patternWords, attrWords := words(pattern), words(attr)
	if len(patternWords) == 0 {
		return false
	}
	for _, p := range patternWords {
		if !slices.ContainsFunc(attrWords, func(a string) bool { return strings.HasPrefix(norm(a), norm(p)) }) {
			return false
		}
	}
	return true
}

// words splits s into words: runs of letters and digits, split again
// where a lower case letter is followed by an upper case one.
func words(s string) []string {
	var out []string
	for _, field := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		start := 0
		runes := []rune(field)
		for i := 1; i < len(runes); i++ {
			if unicode.IsLower(runes[i-1]) && unicode.IsUpper(runes[i]) {
				out = append(out, string(runes[start:i]))
				start = i
			}
		}
		out = append(out, string(runes[start:]))
	}
	return out
}

// listOrder is the order secrets are listed in: by the SortBy date (or
// name), then by name; descending if desc.
type listOrder struct {
	by   string
	desc bool
}

// position is where a secret is in a listOrder, and what a page token
// holds of the secret a page ended at.
type position struct {
	key, name string
}

func (o listOrder) position(sec smstate.Secret) position {
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return fmt.Sprintf("%020d", t.UnixNano())
	}
	switch o.by {
	case smtypes.SortByTypeName:
		return position{key: sec.Name, name: sec.Name}
	case smtypes.SortByTypeLastAccessedDate:
		return position{key: at(sec.LastAccessed), name: sec.Name}
	case smtypes.SortByTypeLastChangedDate:
		return position{key: at(sec.LastChanged), name: sec.Name}
	}
	return position{key: at(sec.Created), name: sec.Name}
}

func (o listOrder) compare(a, b position) int {
	c := cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.name, b.name))
	if o.desc {
		return -c
	}
	return c
}

// paginate sorts secrets in order and returns the page after the one
// token ended (limit 0: def long), with the token of the page after it.
// A token names a position, not an index, so a secret created or deleted
// between pages shifts no other.
func paginate(secrets []smstate.Secret, order listOrder, token *string, limit, def int) ([]smstate.Secret, *string, error) {
	slices.SortFunc(secrets, func(a, b smstate.Secret) int { return order.compare(order.position(a), order.position(b)) })
	start := 0
	if token != nil {
		raw, err := base64.RawURLEncoding.DecodeString(*token)
		key, name, ok := strings.Cut(string(raw), "\x00")
		if err != nil || !ok {
			return nil, nil, errInvalidNextToken
		}
		after := position{key: key, name: name}
		for start < len(secrets) && order.compare(order.position(secrets[start]), after) <= 0 {
			start++
		}
	}
	if limit <= 0 {
		limit = def
	}
	end := min(start+limit, len(secrets))
	page := secrets[start:end]
	if end == len(secrets) {
		return page, nil, nil
	}
	last := order.position(page[len(page)-1])
	return page, awsapi.String(base64.RawURLEncoding.EncodeToString([]byte(last.key + "\x00" + last.name))), nil
}
