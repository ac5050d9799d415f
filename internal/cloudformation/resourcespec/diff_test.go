package resourcespec

import (
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	const container = `{"Name": "api", "Image": "api:v1", "Essential": true}`
	for _, tc := range []struct {
		name, typ, old, new string
		want                Diff
	}{
		{"no change", "AWS::ECS::Service",
			`{"ServiceName": "api", "DesiredCount": 3}`,
			`{"ServiceName": "api", "DesiredCount": "3"}`,
			Diff{Replacement: ReplacementFalse, Changed: []ChangedProperty{}}},
		{"service name replaces", "AWS::ECS::Service",
			`{"ServiceName": "api", "DesiredCount": 3}`,
			`{"ServiceName": "api-v2", "DesiredCount": 3}`,
			Diff{Replace: true, Replacement: ReplacementTrue, Changed: []ChangedProperty{
				{Name: "ServiceName", Attribute: AttributeProperties, RequiresRecreation: RecreationAlways},
			}}},
		{"desired count in place", "AWS::ECS::Service",
			`{"ServiceName": "api", "DesiredCount": 3}`,
			`{"ServiceName": "api", "DesiredCount": 4}`,
			Diff{Replacement: ReplacementFalse, Changed: []ChangedProperty{
				{Name: "DesiredCount", Attribute: AttributeProperties, RequiresRecreation: RecreationNever},
			}}},
		{"task definition of a service in place", "AWS::ECS::Service",
			`{"TaskDefinition": "arn:td:1"}`,
			`{"TaskDefinition": "arn:td:2", "Tags": [{"Key": "a", "Value": "b"}]}`,
			Diff{Replacement: ReplacementFalse, Changed: []ChangedProperty{
				{Name: "Tags", Attribute: AttributeTags, RequiresRecreation: RecreationNever},
				{Name: "TaskDefinition", Attribute: AttributeProperties, RequiresRecreation: RecreationNever},
			}}},
		{"strongest change wins", "AWS::ECS::Service",
			`{"ServiceName": "api", "DesiredCount": 3, "LaunchType": "FARGATE"}`,
			`{"ServiceName": "api", "DesiredCount": 1}`,
			Diff{Replace: true, Replacement: ReplacementTrue, Changed: []ChangedProperty{
				{Name: "DesiredCount", Attribute: AttributeProperties, RequiresRecreation: RecreationNever},
				{Name: "LaunchType", Attribute: AttributeProperties, RequiresRecreation: RecreationAlways},
			}}},
		// The spec marks ContainerDefinitions (and most of a task
		// definition) causesReplacement "yes": task definitions are
		// immutable revisions.
		{"container definitions replace", "AWS::ECS::TaskDefinition",
			`{"Family": "api", "ContainerDefinitions": [` + container + `]}`,
			`{"Family": "api", "ContainerDefinitions": [{"Name": "api", "Image": "api:v2", "Essential": true}]}`,
			Diff{Replace: true, Replacement: ReplacementTrue, Changed: []ChangedProperty{
				{Name: "ContainerDefinitions", Attribute: AttributeProperties, RequiresRecreation: RecreationAlways},
			}}},
		{"task definition tags in place", "AWS::ECS::TaskDefinition",
			`{"Family": "api", "ContainerDefinitions": [` + container + `]}`,
			`{"Family": "api", "ContainerDefinitions": [` + container + `], "Tags": [{"Key": "a", "Value": "b"}]}`,
			Diff{Replacement: ReplacementFalse, Changed: []ChangedProperty{
				{Name: "Tags", Attribute: AttributeTags, RequiresRecreation: RecreationNever},
			}}},
		{"retention in place", "AWS::Logs::LogGroup",
			`{"LogGroupName": "/ecs/api", "RetentionInDays": 14}`,
			`{"LogGroupName": "/ecs/api", "RetentionInDays": 30}`,
			Diff{Replacement: ReplacementFalse, Changed: []ChangedProperty{
				{Name: "RetentionInDays", Attribute: AttributeProperties, RequiresRecreation: RecreationNever},
			}}},
		{"naming a log group replaces", "AWS::Logs::LogGroup",
			`{"RetentionInDays": 14}`,
			`{"LogGroupName": "/ecs/api", "RetentionInDays": 14}`,
			Diff{Replace: true, Replacement: ReplacementTrue, Changed: []ChangedProperty{
				{Name: "LogGroupName", Attribute: AttributeProperties, RequiresRecreation: RecreationAlways},
			}}},
		{"nested property replaces", "AWS::ServiceDiscovery::Service",
			`{"DnsConfig": {"NamespaceId": "ns-1", "DnsRecords": [{"Type": "A", "TTL": 60}]}}`,
			`{"DnsConfig": {"NamespaceId": "ns-2", "DnsRecords": [{"Type": "A", "TTL": 60}]}}`,
			Diff{Replace: true, Replacement: ReplacementTrue, Changed: []ChangedProperty{
				{Name: "DnsConfig", Attribute: AttributeProperties, RequiresRecreation: RecreationAlways},
			}}},
		{"nested property in place", "AWS::ServiceDiscovery::Service",
			`{"DnsConfig": {"NamespaceId": "ns-1", "DnsRecords": [{"Type": "A", "TTL": 60}]}}`,
			`{"DnsConfig": {"NamespaceId": "ns-1", "DnsRecords": [{"Type": "A", "TTL": 10}]}}`,
			Diff{Replacement: ReplacementFalse, Changed: []ChangedProperty{
				{Name: "DnsConfig", Attribute: AttributeProperties, RequiresRecreation: RecreationNever},
			}}},
		{"adding an object with a replacing property", "AWS::ECS::CapacityProvider",
			`{"Name": "cp"}`,
			`{"Name": "cp", "AutoScalingGroupProvider": {"AutoScalingGroupArn": "arn:asg"}}`,
			Diff{Replace: true, Replacement: ReplacementTrue, Changed: []ChangedProperty{
				{Name: "AutoScalingGroupProvider", Attribute: AttributeProperties, RequiresRecreation: RecreationAlways},
			}}},
		{"tenancy to dedicated replaces", "AWS::EC2::VPC",
			`{"CidrBlock": "10.0.0.0/16", "InstanceTenancy": "default"}`,
			`{"CidrBlock": "10.0.0.0/16", "InstanceTenancy": "dedicated"}`,
			Diff{Replace: true, Replacement: ReplacementConditional, Changed: []ChangedProperty{
				{Name: "InstanceTenancy", Attribute: AttributeProperties, RequiresRecreation: RecreationConditionally},
			}}},
		{"tenancy to default in place", "AWS::EC2::VPC",
			`{"CidrBlock": "10.0.0.0/16", "InstanceTenancy": "dedicated"}`,
			`{"CidrBlock": "10.0.0.0/16"}`,
			Diff{Replacement: ReplacementConditional, Changed: []ChangedProperty{
				{Name: "InstanceTenancy", Attribute: AttributeProperties, RequiresRecreation: RecreationConditionally},
			}}},
		{"other conditional property in place", "AWS::EC2::Subnet",
			`{"VpcId": "vpc-1", "Ipv6CidrBlock": "2001:db8::/64"}`,
			`{"VpcId": "vpc-1", "Ipv6CidrBlock": "2001:db8:0:1::/64"}`,
			Diff{Replacement: ReplacementConditional, Changed: []ChangedProperty{
				{Name: "Ipv6CidrBlock", Attribute: AttributeProperties, RequiresRecreation: RecreationConditionally},
			}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ := mustLookup(t, tc.typ)
			old, err := typ.Normalize(decode(t, tc.old))
			if err != nil {
				t.Fatalf("old: %v", err)
			}
			new, err := typ.Normalize(decode(t, tc.new))
			if err != nil {
				t.Fatalf("new: %v", err)
			}
			if got := typ.Diff(old, new); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Diff\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{`{"a": 1}`, `{"a": 1.0}`, true},
		{`{"a": 1e3}`, `{"a": 1000}`, true},
		{`{"a": "1"}`, `{"a": 1}`, false},
		{`{"a": [1, 2]}`, `{"a": [2, 1]}`, false},
		{`{"a": {"b": null}}`, `{"a": {}}`, false},
		{`{"a": {"b": [true]}}`, `{"a": {"b": [true]}}`, true},
	} {
		if got := equal(decode(t, tc.a), decode(t, tc.b)); got != tc.want {
			t.Errorf("equal(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
