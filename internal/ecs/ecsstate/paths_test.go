package ecsstate

import "testing"

func TestParsePlacementKey(t *testing.T) {
	for _, tc := range []struct {
		key          string
		node, placer string
		ok           bool
	}{
		{PlacementKey("n1", "p1"), "n1", "p1", true},
		{"ecs/placement/n1", "", "", false}, // no placer
		{"ecs/placement//p1", "", "", false},
		{"ecs/placement/n1/", "", "", false},
		{"ecs/node/n1/p1", "", "", false},
	} {
		node, placer, ok := ParsePlacementKey(tc.key)
		if ok != tc.ok || (ok && (node != tc.node || placer != tc.placer)) {
			t.Errorf("ParsePlacementKey(%q) = %q, %q, %v; want %q, %q, %v", tc.key, node, placer, ok, tc.node, tc.placer, tc.ok)
		}
	}
}
