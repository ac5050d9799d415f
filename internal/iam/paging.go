package iam

import (
	"encoding/base64"
	"strconv"

	"github.com/berth/berth/internal/awsapi"
)

// iamDefaultMaxItems is the page size of IAM's listings when the caller
// gives no MaxItems.
const iamDefaultMaxItems = 100

// listPage is one page of a listing: its items, and the marker that asks
// for the next page when the listing goes on.
type listPage[T any] struct {
	items     []T
	truncated bool
	marker    *string
}

// paginate returns the page of items that follows marker (the Marker an
// earlier page of the same listing returned), at most maxItems long. The
// marker is opaque to clients: it holds the offset of the next item.
func paginate[T any](items []T, marker *string, maxItems *int32) (listPage[T], error) {
	start := 0
	if m := awsapi.Deref(marker); m != "" {
		raw, err := base64.RawURLEncoding.DecodeString(m)
		n, nerr := strconv.Atoi(string(raw))
		if err != nil || nerr != nil || n < 0 {
			return listPage[T]{}, iamError(errValidation, "Invalid Marker.") // UNVERIFIED wording
		}
		// A listing that shrank since the marker was issued just ends.
		start = min(n, len(items))
	}
	size := iamDefaultMaxItems
	if maxItems != nil {
		size = int(*maxItems)
	}
	end := min(start+size, len(items))
	p := listPage[T]{items: items[start:end]}
	if end < len(items) {
		p.truncated = true
		p.marker = awsapi.String(base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
	}
	return p, nil
}

// itemsOf is the items of type T in a page of a listing that mixes kinds
// of item, in their order: empty, not nil, for none, as a list IAM's
// model requires is sent.
func itemsOf[T any](items []any) []T {
	out := []T{}
	for _, item := range items {
		if t, ok := item.(T); ok {
			out = append(out, t)
		}
	}
	return out
}
