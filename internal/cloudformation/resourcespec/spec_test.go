package resourcespec

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestEmbeddedDefinesProvisionedTypes fails when spec.json.gz was generated
// from another list than provisioned.txt, or lacks a type's definition.
func TestEmbeddedDefinesProvisionedTypes(t *testing.T) {
	f, err := os.Open("provisioned.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line, _, _ := strings.Cut(s.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			want = append(want, line)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if got := Provisioned(); !slices.Equal(got, want) {
		t.Errorf("Provisioned() = %v\nprovisioned.txt lists %v\nrun scripts/update-cfn-resource-spec.sh", got, want)
	}
	for _, name := range want {
		typ, ok := Lookup(name)
		if !ok {
			t.Errorf("Lookup(%q): no definition", name)
			continue
		}
		if !Known(name) {
			t.Errorf("Known(%q) = false for a provisioned type", name)
		}
		if typ.Name() != name {
			t.Errorf("Lookup(%q).Name() = %q", name, typ.Name())
		}
		if len(typ.Properties()) == 0 {
			t.Errorf("%s has no properties", name)
		}
	}
	pkg, version := Source()
	if pkg != "@aws-cdk/aws-service-spec" || version == "" {
		t.Errorf("Source() = %q, %q", pkg, version)
	}
}

func TestKnown(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		want bool
	}{
		{"AWS::ECS::Service", true},
		{"AWS::Lambda::Function", true},
		{"AWS::CloudFormation::WaitConditionHandle", true},
		{"AWS::S3::Bucket", true},
		{"AWS::ECS::Servce", false},
		{"aws::ecs::service", false},
		{"Custom::Thing", false},
		{"", false},
	} {
		if got := Known(tc.typ); got != tc.want {
			t.Errorf("Known(%q) = %v, want %v", tc.typ, got, tc.want)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		want bool
	}{
		{"AWS::ECS::Service", true},
		{"AWS::ApplicationAutoScaling::ScalingPolicy", true},
		{"AWS::Lambda::Function", false}, // known, not provisioned
		{"AWS::Nope::Nope", false},
	} {
		if _, got := Lookup(tc.typ); got != tc.want {
			t.Errorf("Lookup(%q) ok = %v, want %v", tc.typ, got, tc.want)
		}
	}
}

func mustLookup(t *testing.T, name string) *Type {
	t.Helper()
	typ, ok := Lookup(name)
	if !ok {
		t.Fatalf("Lookup(%q): not provisioned", name)
	}
	return typ
}

func TestAttributes(t *testing.T) {
	for _, tc := range []struct {
		typ, attr string
		kind      Kind
	}{
		{"AWS::ECS::Service", "ServiceArn", KindString},
		{"AWS::ECS::Service", "Name", KindString},
		{"AWS::ECS::Cluster", "Arn", KindString},
		{"AWS::IAM::Role", "Arn", KindString},
		{"AWS::IAM::Role", "RoleId", KindString},
		{"AWS::ElasticLoadBalancingV2::LoadBalancer", "DNSName", KindString},
		{"AWS::ElasticLoadBalancingV2::LoadBalancer", "SecurityGroups", KindArray},
		{"AWS::ElasticLoadBalancingV2::ListenerRule", "IsDefault", KindBoolean},
		{"AWS::EC2::VPC", "VpcEncryptionControl.State", KindString},
		{"AWS::EC2::Subnet", "BlockPublicAccessStates", KindObject},
		{"AWS::ECS::Service", "ServiceName", ""},
		{"AWS::ECS::CapacityProvider", "Arn", ""},
	} {
		typ := mustLookup(t, tc.typ)
		if got := typ.AttributeKind(tc.attr); got != tc.kind {
			t.Errorf("%s AttributeKind(%q) = %q, want %q", tc.typ, tc.attr, got, tc.kind)
		}
		if got := typ.HasAttribute(tc.attr); got != (tc.kind != "") {
			t.Errorf("%s HasAttribute(%q) = %v", tc.typ, tc.attr, got)
		}
	}
	if got, want := mustLookup(t, "AWS::ECS::Service").Attributes(), []string{"Name", "ServiceArn"}; !slices.Equal(got, want) {
		t.Errorf("ECS::Service Attributes() = %v, want %v", got, want)
	}
	if got := mustLookup(t, "AWS::ECS::CapacityProvider").Attributes(); len(got) != 0 {
		t.Errorf("ECS::CapacityProvider Attributes() = %v, want none", got)
	}
}

func TestIdentifiers(t *testing.T) {
	for _, tc := range []struct {
		typ          string
		primary, ref []string
		tags         string
	}{
		{"AWS::ECS::Service", []string{"ServiceArn", "Cluster"}, []string{"ServiceArn"}, "Tags"},
		{"AWS::ECS::Cluster", []string{"ClusterName"}, nil, "Tags"},
		{"AWS::ApplicationAutoScaling::ScalableTarget", []string{"ResourceId", "ScalableDimension", "ServiceNamespace"}, nil, "Tags"},
		{"AWS::IAM::Policy", []string{"Id"}, nil, ""},
		{"AWS::SSM::Parameter", []string{"Name"}, nil, "Tags"},
	} {
		typ := mustLookup(t, tc.typ)
		if got := typ.PrimaryIdentifier(); !slices.Equal(got, tc.primary) {
			t.Errorf("%s PrimaryIdentifier() = %v, want %v", tc.typ, got, tc.primary)
		}
		if got := typ.RefIdentifier(); !slices.Equal(got, tc.ref) {
			t.Errorf("%s RefIdentifier() = %v, want %v", tc.typ, got, tc.ref)
		}
		if got := typ.TagProperty(); got != tc.tags {
			t.Errorf("%s TagProperty() = %q, want %q", tc.typ, got, tc.tags)
		}
	}
}
