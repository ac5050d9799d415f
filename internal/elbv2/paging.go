package elbv2

import (
	"encoding/base64"
	"strconv"

	"github.com/berth/berth/internal/awsapi"
)

// defaultPageSize is the page size of ELBv2's listings when the caller
// gives no PageSize (the model's maximum).
const defaultPageSize = 400

// paginate returns the page of items that follows marker (the NextMarker
// an earlier page of the same listing returned), at most pageSize long,
// and the marker of the next page, nil when the listing ends there. The
// marker is opaque to clients: it holds the offset of the next item.
func paginate[T any](items []T, marker *string, pageSize *int32) ([]T, *string, error) {
	start := 0
	if m := awsapi.Deref(marker); m != "" {
		raw, err := base64.RawURLEncoding.DecodeString(m)
		n, nerr := strconv.Atoi(string(raw))
		if err != nil || nerr != nil || n < 0 {
			return nil, nil, validation("Invalid marker '%s'", m) // UNVERIFIED wording
		}
		// A listing that shrank since the marker was issued just ends.
		start = min(n, len(items))
	}
	size := defaultPageSize
	if pageSize != nil {
		size = int(*pageSize)
	}
	end := min(start+size, len(items))
	if end < len(items) {
		return items[start:end], awsapi.String(base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))), nil
	}
	return items[start:end], nil, nil
}
