package ecrstate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/berth/berth/internal/store"
)

// LayoutVersion is the version of the key layout paths.go describes.
// Version 1 (before regions) had no region in any key and one registry
// scanning configuration at "ecr/registry/scanning".
const LayoutVersion = 2

// regionScoped are the prefixes whose keys carry "<region>|" in front of
// the repository since version 2.
var regionScoped = []string{RepositoryPrefix, ImagePrefix, TagPrefix, BlobPrefix, ReferrerPrefix, ScanPrefix, LifecyclePreviewPrefix}

// Relayout moves ECR's records of a store written before regions into
// region, once (store.Relayout): every repository, its images, tags, blob
// links, referrers, scan records and lifecycle preview, the registry
// scanning configuration and the layer-upload sessions' records belong
// to region afterwards. It reports how many keys moved.
func Relayout(ctx context.Context, st store.Store, region string) (int, error) {
	return store.Relayout(ctx, st, "ecr", LayoutVersion, Prefix, func(kv store.KV) (string, []byte, error) {
		if kv.Key == RegistryPrefix+"scanning" {
			return ScanningKey(region), kv.Value, nil
		}
		if strings.HasPrefix(kv.Key, UploadPrefix) {
			value, err := withRegion(kv.Value, region)
			return kv.Key, value, err
		}
		for _, prefix := range regionScoped {
			if rest, ok := strings.CutPrefix(kv.Key, prefix); ok {
				return prefix + region + "|" + rest, kv.Value, nil
			}
		}
		return kv.Key, kv.Value, nil
	})
}

// withRegion adds region to a JSON object's fields, keeping the others as
// they are.
func withRegion(value []byte, region string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(value, &fields); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	fields["region"], _ = json.Marshal(region) // a string always encodes
	return json.Marshal(fields)
}
