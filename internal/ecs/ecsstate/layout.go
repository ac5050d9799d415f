package ecsstate

import (
	"context"
	"slices"
	"strings"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/store"
)

// regionalPrefixes are the kinds whose ids begin with their region since
// layout version 2.
var regionalPrefixes = []string{
	ClusterPrefix, TaskDefinitionPrefix, FamilyPrefix, TaskPrefix, ServicePrefix, CapacityProviderPrefix,
}

// regionFieldPrefixes are the kinds whose records hold their region.
var regionFieldPrefixes = []string{ClusterPrefix, TaskPrefix, ServicePrefix}

// Relayout moves ECS's records from the layout without regions (version
// 1, when a server had one region) to LayoutVersion, putting each in
// region, the server's default: the region they were created in. Records
// that hold their region get it; every other field is kept as it was. It
// runs once per store (store.Relayout) and reports how many keys moved.
func Relayout(ctx context.Context, s store.Store, region string) (int, error) {
	return store.Relayout(ctx, s, "ecs", LayoutVersion, "ecs/", func(kv store.KV) (string, []byte, error) {
		for _, prefix := range regionalPrefixes {
			id, ok := strings.CutPrefix(kv.Key, prefix)
			if !ok {
				continue
			}
			value := kv.Value
			if slices.Contains(regionFieldPrefixes, prefix) {
				var err error
				if value, err = withRegion(value, region); err != nil {
					return "", nil, err
				}
			}
			return RegionPrefix(prefix, region) + id, value, nil
		}
		return kv.Key, kv.Value, nil // nodes, and kinds that are not regional
	})
}

// withRegion returns the JSON object record with its "region" member set,
// its other members unchanged.
func withRegion(record []byte, region string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(record, &fields); err != nil {
		return nil, err
	}
	quoted, err := json.Marshal(region)
	if err != nil {
		return nil, err
	}
	fields["region"] = quoted
	return json.Marshal(fields)
}
