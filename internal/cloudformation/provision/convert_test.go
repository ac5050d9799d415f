package provision

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
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

// zonesAPI answers DescribeAvailabilityZones with the zones of the region
// the call is made in.
type zonesAPI struct{}

func (zonesAPI) Invoke(ctx context.Context, _, operation string, _ map[string]any) (any, error) {
	region := awsapi.RequestFrom(ctx).Region
	return map[string]any{"availabilityZoneInfo": []any{
		map[string]any{"zoneName": region + "a"}, map[string]any{"zoneName": region + "b"}}}, nil
}

func TestAvailabilityZones(t *testing.T) {
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Region: "eu-west-1"})
	for region, want := range map[string][]string{
		"":          {"eu-west-1a", "eu-west-1b"}, // the caller's region
		"us-east-2": {"us-east-2a", "us-east-2b"},
	} {
		got, err := AvailabilityZones(ctx, zonesAPI{}, region)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Fn::GetAZs %q: %v %v, want %v", region, got, err, want)
		}
	}
}
