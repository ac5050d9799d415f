package resourcespec

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// articleValues stand in for the article template's Ref and Fn::GetAtt:
// Normalize sees properties after intrinsic functions are evaluated.
var articleValues = map[string]any{
	"ImageUri":          "api:v1.0.0",
	"VpcId":             "vpc-0a1b2c3d4e5f67890",
	"PublicSubnets":     []any{"subnet-0aaa1111bbbb22220", "subnet-0aaa1111bbbb22221"},
	"PrivateSubnets":    []any{"subnet-0ccc3333dddd44440", "subnet-0ccc3333dddd44441"},
	"AWS::Region":       "us-east-1",
	"LogGroup":          "/ecs/api-service",
	"Cluster":           "prod-cluster",
	"TaskDefinition":    "arn:aws:ecs:us-east-1:123456789012:task-definition/api-service:1",
	"TargetGroup":       "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-tg/0123456789abcdef",
	"ALB":               "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/api-alb/0123456789abcdef",
	"ALBSecurityGroup":  "sg-0123456789abcdef0",
	"TaskSecurityGroup": "sg-0123456789abcdef1",
	"ExecutionRole.Arn": "arn:aws:iam::123456789012:role/ExecutionRole",
	"TaskRole.Arn":      "arn:aws:iam::123456789012:role/TaskRole",
}

// articleResources reads the article's resources, with intrinsic functions
// replaced by articleValues and scalars typed as the template parser types
// them.
func articleResources(t *testing.T) map[string]struct {
	Type       string
	Properties map[string]any
} {
	t.Helper()
	data, err := os.ReadFile("../template/testdata/article.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var resources map[string]any
	root := doc.Content[0]
	for i := 0; i < len(root.Content); i += 2 {
		if root.Content[i].Value == "Resources" {
			resources = toValue(t, root.Content[i+1]).(map[string]any)
		}
	}
	out := map[string]struct {
		Type       string
		Properties map[string]any
	}{}
	for id, r := range resources {
		r := r.(map[string]any)
		props, _ := r["Properties"].(map[string]any)
		out[id] = struct {
			Type       string
			Properties map[string]any
		}{r["Type"].(string), props}
	}
	return out
}

func toValue(t *testing.T, n *yaml.Node) any {
	t.Helper()
	switch n.Tag {
	case "!Ref", "!GetAtt":
		v, ok := articleValues[n.Value]
		if !ok {
			t.Fatalf("line %d: no value for %s %s", n.Line, n.Tag, n.Value)
		}
		return v
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i < len(n.Content); i += 2 {
			m[n.Content[i].Value] = toValue(t, n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			l = append(l, toValue(t, c))
		}
		return l
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		return json.Number(n.Value)
	case "!!bool":
		return n.Value == "true"
	case "!!null":
		return nil
	case "!!str":
		return n.Value
	}
	t.Fatalf("line %d: unhandled tag %s", n.Line, n.Tag)
	return nil
}

func TestNormalizeArticle(t *testing.T) {
	resources := articleResources(t)
	if len(resources) != 11 {
		t.Fatalf("read %d resources from the article, want 11", len(resources))
	}
	for id, r := range resources {
		typ := mustLookup(t, r.Type)
		got, err := typ.Normalize(r.Properties)
		if err != nil {
			var verr *ValidationError
			if errors.As(err, &verr) {
				t.Errorf("%s", verr.ForResource(id))
			} else {
				t.Errorf("%s: %v", id, err)
			}
			continue
		}
		// The article writes every value in its schema's type already.
		if !reflect.DeepEqual(got, r.Properties) {
			t.Errorf("%s: Normalize changed the properties\n got %#v\nwant %#v", id, got, r.Properties)
		}
	}
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

func TestNormalizeConverts(t *testing.T) {
	for _, tc := range []struct {
		name, typ, props, want string
	}{
		{"string to integer", "AWS::ECS::Service",
			`{"DesiredCount": "3", "HealthCheckGracePeriodSeconds": "0120"}`,
			`{"DesiredCount": 3, "HealthCheckGracePeriodSeconds": 120}`},
		{"string to integer within an enum", "AWS::Logs::LogGroup",
			`{"RetentionInDays": "14"}`,
			`{"RetentionInDays": 14}`},
		{"number to string", "AWS::ECS::TaskDefinition",
			`{"Cpu": 512, "Memory": 1024.0}`,
			`{"Cpu": "512", "Memory": "1024.0"}`},
		{"boolean to string", "AWS::SSM::Parameter",
			`{"Type": "String", "Value": true}`,
			`{"Type": "String", "Value": "true"}`},
		{"string to boolean", "AWS::ECS::TaskDefinition",
			`{"ContainerDefinitions": [{"Name": "api", "Image": "nginx", "Essential": "true", "Privileged": "FALSE"}]}`,
			`{"ContainerDefinitions": [{"Name": "api", "Image": "nginx", "Essential": true, "Privileged": false}]}`},
		{"string to number", "AWS::ApplicationAutoScaling::ScalingPolicy",
			`{"PolicyName": "cpu", "PolicyType": "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration": {"TargetValue": "70.5", "ScaleInCooldown": "60"}}`,
			`{"PolicyName": "cpu", "PolicyType": "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70.5, "ScaleInCooldown": 60}}`},
		{"numbers in a map of strings", "AWS::ECS::TaskDefinition",
			`{"ContainerDefinitions": [{"Name": "api", "Image": "nginx", "DockerLabels": {"port": 8080}}]}`,
			`{"ContainerDefinitions": [{"Name": "api", "Image": "nginx", "DockerLabels": {"port": "8080"}}]}`},
		{"tag values", "AWS::ECS::Cluster",
			`{"Tags": [{"Key": "cost-centre", "Value": 42}]}`,
			`{"Tags": [{"Key": "cost-centre", "Value": "42"}]}`},
		{"map tags", "AWS::SSM::Parameter",
			`{"Type": "String", "Value": "v", "Tags": {"team": "platform", "tier": 2}}`,
			`{"Type": "String", "Value": "v", "Tags": {"team": "platform", "tier": "2"}}`},
		{"policy document as a string", "AWS::IAM::Role",
			`{"AssumeRolePolicyDocument": "{\"Version\": \"2012-10-17\", \"Statement\": []}"}`,
			`{"AssumeRolePolicyDocument": "{\"Version\": \"2012-10-17\", \"Statement\": []}"}`},
		{"json property as a string", "AWS::Logs::LogGroup",
			`{"DataProtectionPolicy": "{\"Name\": \"p\"}", "FieldIndexPolicies": [{"Fields": ["a"]}]}`,
			`{"DataProtectionPolicy": "{\"Name\": \"p\"}", "FieldIndexPolicies": [{"Fields": ["a"]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := decode(t, tc.props)
			before := decode(t, tc.props)
			got, err := mustLookup(t, tc.typ).Normalize(in)
			if err != nil {
				t.Fatal(err)
			}
			if want := decode(t, tc.want); !equal(got, want) || !sameShape(got, want) {
				t.Errorf("Normalize(%s)\n got %#v\nwant %#v", tc.props, got, want)
			}
			if !reflect.DeepEqual(in, before) {
				t.Errorf("Normalize modified its input: %#v", in)
			}
		})
	}
}

// sameShape is reflect.DeepEqual, except that numbers compare by value
// (equal does that) once both sides hold a json.Number.
func sameShape(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b := b.(map[string]any)
		for k := range a {
			if !sameShape(a[k], b[k]) {
				return false
			}
		}
		return true
	case []any:
		b := b.([]any)
		for i := range a {
			if !sameShape(a[i], b[i]) {
				return false
			}
		}
		return true
	}
	return reflect.TypeOf(a) == reflect.TypeOf(b)
}

func TestNormalizeGoNumbers(t *testing.T) {
	got, err := mustLookup(t, "AWS::ECS::Service").Normalize(map[string]any{"DesiredCount": 2, "ServiceName": 7.5})
	if err != nil {
		t.Fatal(err)
	}
	if got["DesiredCount"] != json.Number("2") || got["ServiceName"] != "7.5" {
		t.Errorf("Normalize = %#v", got)
	}
}

func TestNormalizeRejects(t *testing.T) {
	for _, tc := range []struct {
		name, typ, props, want string
	}{
		{"extraneous key", "AWS::ECS::Service",
			`{"ServiceName": "api", "Foo": 1}`,
			`[#: extraneous key [Foo] is not permitted]`},
		{"required key", "AWS::IAM::Role",
			`{}`,
			`[#: required key [AssumeRolePolicyDocument] not found]`},
		{"nothing given", "AWS::SSM::Parameter",
			`null`,
			`[#: required key [Type] not found, #: required key [Value] not found]`},
		{"string for an integer", "AWS::ECS::Service",
			`{"DesiredCount": "three"}`,
			`[#/DesiredCount: expected type: Number, found: String]`},
		{"decimal for an integer", "AWS::ECS::Service",
			`{"DesiredCount": 2.5}`,
			`[#/DesiredCount: expected type: Integer, found: BigDecimal]`},
		{"null for an integer", "AWS::ECS::Service",
			`{"DesiredCount": null}`,
			`[#/DesiredCount: expected type: Number, found: Null]`},
		{"string for a boolean", "AWS::ECS::Service",
			`{"EnableExecuteCommand": "yes"}`,
			`[#/EnableExecuteCommand: expected type: Boolean, found: String]`},
		{"object for a list", "AWS::ECS::Cluster",
			`{"Tags": {"Key": "a", "Value": "b"}}`,
			`[#/Tags: expected type: JSONArray, found: JSONObject]`},
		{"list for a string", "AWS::ECS::TaskDefinition",
			`{"ExecutionRoleArn": ["arn:aws:iam::123456789012:role/r"]}`,
			`[#/ExecutionRoleArn: expected type: String, found: JSONArray]`},
		{"string for an object", "AWS::ECS::Service",
			`{"NetworkConfiguration": "awsvpc"}`,
			`[#/NetworkConfiguration: expected type: JSONObject, found: String]`},
		{"enum", "AWS::Logs::LogGroup",
			`{"RetentionInDays": 13}`,
			`[#/RetentionInDays: failed validation constraint for keyword [enum]]`},
		{"string enum", "AWS::ECS::Service",
			`{"LaunchType": "fargate"}`,
			`[#/LaunchType: failed validation constraint for keyword [enum]]`},
		{"enum in a list", "AWS::ECS::Service",
			`{"DeploymentConfiguration": {"LifecycleHooks": [{"HookTargetArn": "a", "RoleArn": "r", "LifecycleStages": ["PRE_SCALE_UP", "SOMETIME"]}]}}`,
			`[#/DeploymentConfiguration/LifecycleHooks/0/LifecycleStages/1: failed validation constraint for keyword [enum]]`},
		{"nested extraneous key", "AWS::ECS::TaskDefinition",
			`{"ContainerDefinitions": [{"Name": "api", "Image": "nginx", "Entrypoint": ["task"], "LinuxParameters": {"initProcessEnabled": true}}]}`,
			`[#/ContainerDefinitions/0: extraneous key [Entrypoint] is not permitted, #/ContainerDefinitions/0/LinuxParameters: extraneous key [initProcessEnabled] is not permitted]`},
		{"map value", "AWS::ECS::TaskDefinition",
			`{"ContainerDefinitions": [{"Name": "api", "Image": "nginx", "DockerLabels": {"a/b~c": {"x": 1}}}]}`,
			`[#/ContainerDefinitions/0/DockerLabels/a~1b~0c: expected type: String, found: JSONObject]`},
		{"map values in key order", "AWS::ECS::TaskDefinition",
			`{"ContainerDefinitions": [{"Name": "api", "Image": "nginx", "DockerLabels": {"z": [], "a": {}, "m": "ok"}}]}`,
			`[#/ContainerDefinitions/0/DockerLabels/a: expected type: String, found: JSONObject, #/ContainerDefinitions/0/DockerLabels/z: expected type: String, found: JSONArray]`},
		{"tag without value", "AWS::ECS::Service",
			`{"Tags": [{"Key": "a"}, {"Key": "b", "Value": "c", "Extra": 1}]}`,
			`[#/Tags/0: required key [Value] not found, #/Tags/1: extraneous key [Extra] is not permitted]`},
		{"json property", "AWS::Logs::LogGroup",
			`{"DataProtectionPolicy": "not json"}`,
			`[#/DataProtectionPolicy: expected type: JSONObject, found: String]`},
		{"union", "AWS::IAM::Role",
			`{"AssumeRolePolicyDocument": []}`,
			`[#/AssumeRolePolicyDocument: #: no subschema matched out of the total 2 subschemas, #/AssumeRolePolicyDocument: expected type: JSONObject, found: JSONArray, #/AssumeRolePolicyDocument: expected type: String, found: JSONArray]`},
		{"every violation", "AWS::ElasticLoadBalancingV2::Listener",
			`{"Port": "eighty", "Protocol": "HTTP", "Foo": true, "Bar": {}}`,
			`[#: required key [DefaultActions] not found, #: required key [LoadBalancerArn] not found, #: extraneous key [Bar] is not permitted, #: extraneous key [Foo] is not permitted, #/Port: expected type: Number, found: String]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mustLookup(t, tc.typ).Normalize(decode(t, tc.props))
			if err == nil {
				t.Fatalf("Normalize(%s) = %v, want an error", tc.props, got)
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Normalize(%s) error %T, want *ValidationError", tc.props, err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("Normalize(%s) error\n got %s\nwant %s", tc.props, got, tc.want)
			}
			if want := "Properties validation failed for resource MyResource with message: " + tc.want; verr.ForResource("MyResource") != want {
				t.Errorf("ForResource = %s\nwant %s", verr.ForResource("MyResource"), want)
			}
		})
	}
}

func TestValidationErrorViolations(t *testing.T) {
	_, err := mustLookup(t, "AWS::ECS::Service").Normalize(map[string]any{"DesiredCount": "x", "Foo": "y"})
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error %v, want *ValidationError", err)
	}
	want := []Violation{
		{Pointer: "#", Message: "extraneous key [Foo] is not permitted"},
		{Pointer: "#/DesiredCount", Message: "expected type: Number, found: String"},
	}
	if !reflect.DeepEqual(verr.Violations, want) {
		t.Errorf("Violations = %#v, want %#v", verr.Violations, want)
	}
}

func TestIsJSONNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-1": true, "1.5": true, "1e3": true, "-0.5E-2": true,
		"": false, "01": false, ".5": false, "1.": false, "+1": false, "1e": false, "NaN": false, "0x1": false,
	} {
		if got := isJSONNumber(s); got != want {
			t.Errorf("isJSONNumber(%q) = %v", s, got)
		}
	}
}
