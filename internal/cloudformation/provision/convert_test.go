package provision

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi/model"
)

func TestAPIInput(t *testing.T) {
	ecs := model.MustLoad("ecs")
	got, err := apiInput(ecs, "RegisterTaskDefinition", map[string]any{
		"Family": "skipped",
		"Cpu":    json.Number("512"),
		"ContainerDefinitions": []any{map[string]any{
			"Name": "api", "Essential": "true", "Memory": "128",
			"LogConfiguration": map[string]any{"LogDriver": "awslogs",
				// A map's keys are the user's: they stay as written.
				"Options": map[string]any{"awslogs-group": "/ecs/api", "Mode": "x"}},
		}},
	}, nil, "Family")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"cpu": "512",
		"containerDefinitions": []any{map[string]any{
			"name": "api", "essential": true, "memory": json.Number("128"),
			"logConfiguration": map[string]any{"logDriver": "awslogs",
				"options": map[string]any{"awslogs-group": "/ecs/api", "Mode": "x"}},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}

	// Renamed properties, and one the API has no member for.
	got, err = apiInput(ecs, "CreateService", map[string]any{"PlacementStrategies": []any{map[string]any{"Type": "spread", "Field": "x"}}},
		serviceRenames)
	if err != nil || got["placementStrategy"] == nil {
		t.Errorf("rename: %v %v", got, err)
	}
	if _, err := apiInput(ecs, "CreateCluster", map[string]any{"Nonsense": "x"}, nil); err == nil || !strings.Contains(err.Error(), "Nonsense") {
		t.Errorf("unknown property: %v", err)
	}
}

func TestPhysicalName(t *testing.T) {
	for _, tc := range []struct {
		stack, logical string
		max            int
	}{
		{"app", "LogGroup", 512},
		{"a-very-long-stack-name-indeed", "TargetGroupForTheApi", 32},
	} {
		name := PhysicalName(tc.stack, tc.logical, tc.max)
		if len(name) > tc.max || strings.Count(name, "-") < 2 || len(name[strings.LastIndex(name, "-")+1:]) != 12 {
			t.Errorf("PhysicalName(%q, %q, %d) = %q", tc.stack, tc.logical, tc.max, name)
		}
	}
	if first, second := PhysicalName("app", "Logs", 64), PhysicalName("app", "Logs", 64); first == second {
		t.Error("two names alike")
	}
}
