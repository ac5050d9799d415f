package awsapi

import (
	"cmp"
	"encoding/base64"
	"slices"
)

// PageByKey returns the page of items (sorted by key) after the one token
// ended, at most limit long (0: all), and the token of the next page. A
// token names the key a page ended at, so items made or deleted between
// pages shift no other. ok is false for a token PageByKey did not make.
func PageByKey[T any](items []T, key func(T) string, token string, limit int) (page []T, next *string, ok bool) {
	slices.SortFunc(items, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	start := 0
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) == 0 {
			return nil, nil, false
		}
		after := string(raw)
		start, _ = slices.BinarySearchFunc(items, after, func(v T, k string) int { return cmp.Compare(key(v), k) })
		for start < len(items) && key(items[start]) <= after {
			start++
		}
	}
	end := len(items)
	if limit > 0 {
		end = min(start+limit, len(items))
	}
	page = items[start:end]
	if end == len(items) || len(page) == 0 {
		return page, nil, true
	}
	t := base64.RawURLEncoding.EncodeToString([]byte(key(page[len(page)-1])))
	return page, &t, true
}
