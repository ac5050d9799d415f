package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeWorld is the checker and resolver of the tests.
type fakeWorld struct {
	existing map[string]bool // "type value"
	ssm      map[string]string
	exports  map[string]string
}

func (w fakeWorld) Exists(typ, value string) bool { return w.existing[typ+" "+value] }

func (w fakeWorld) SSMParameter(name string) (string, bool) {
	v, ok := w.ssm[name]
	return v, ok
}

func (fakeWorld) Ref(id string) (any, error) { return "phys-" + id, nil }

func (fakeWorld) GetAtt(id, attr string) (any, error) { return id + "." + attr, nil }

func (fakeWorld) GetAZs(region string) ([]string, error) {
	return []string{region + "a", region + "b", region + "c"}, nil
}

func (w fakeWorld) ImportValue(name string) (string, error) {
	v, ok := w.exports[name]
	if !ok {
		return "", errors.New("No export named " + name + " found")
	}
	return v, nil
}

var world = fakeWorld{
	existing: map[string]bool{
		"AWS::EC2::VPC::Id vpc-0abc":          true,
		"AWS::EC2::Subnet::Id subnet-pub1":    true,
		"AWS::EC2::Subnet::Id subnet-pub2":    true,
		"AWS::EC2::Subnet::Id subnet-priv1":   true,
		"AWS::EC2::Subnet::Id subnet-priv2":   true,
		"AWS::EC2::KeyPair::KeyName my-key":   true,
		"AWS::EC2::SecurityGroup::Id sg-1234": true,
	},
	ssm: map[string]string{
		"/ami/latest": "ami-0123",
		"/app/names":  "a,b,c",
		"/app/vpc":    "vpc-0abc",
		"/app/badvpc": "vpc-nope",
	},
	exports: map[string]string{"SharedVpc": "vpc-0abc"},
}

var pseudo = PseudoParameters{Region: "us-east-1", AccountID: "123456789012", StackName: "s",
	StackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1"}

func mustParse(t *testing.T, body string) *Template {
	t.Helper()
	tmpl, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return tmpl
}

func TestShortFormTags(t *testing.T) {
	tests := []struct {
		yaml string
		want any
	}{
		{`!Ref Foo`, map[string]any{"Ref": "Foo"}},
		{`!GetAtt Res.Attr`, map[string]any{"Fn::GetAtt": []any{"Res", "Attr"}}},
		{`!GetAtt DB.Endpoint.Address`, map[string]any{"Fn::GetAtt": []any{"DB", "Endpoint.Address"}}},
		{`!GetAtt [Res, Attr]`, map[string]any{"Fn::GetAtt": []any{"Res", "Attr"}}},
		{`!Sub "${AWS::Region}-x"`, map[string]any{"Fn::Sub": "${AWS::Region}-x"}},
		{`!Sub ["${A}", {A: b}]`, map[string]any{"Fn::Sub": []any{"${A}", map[string]any{"A": "b"}}}},
		{`!Join [",", [a, b]]`, map[string]any{"Fn::Join": []any{",", []any{"a", "b"}}}},
		{`!Select [0, !GetAZs ""]`, map[string]any{"Fn::Select": []any{json.Number("0"), map[string]any{"Fn::GetAZs": ""}}}},
		{`!Split [",", "a,b"]`, map[string]any{"Fn::Split": []any{",", "a,b"}}},
		{`!If [C, a, !Ref AWS::NoValue]`, map[string]any{"Fn::If": []any{"C", "a", map[string]any{"Ref": "AWS::NoValue"}}}},
		{`!Equals [a, b]`, map[string]any{"Fn::Equals": []any{"a", "b"}}},
		{`!And [!Condition A, !Condition B]`, map[string]any{"Fn::And": []any{map[string]any{"Condition": "A"}, map[string]any{"Condition": "B"}}}},
		{`!Or [!Condition A, !Not [!Condition B]]`, map[string]any{"Fn::Or": []any{map[string]any{"Condition": "A"}, map[string]any{"Fn::Not": []any{map[string]any{"Condition": "B"}}}}}},
		{`!FindInMap [M, k1, k2]`, map[string]any{"Fn::FindInMap": []any{"M", "k1", "k2"}}},
		{`!GetAZs ''`, map[string]any{"Fn::GetAZs": ""}},
		{`!Base64 hello`, map[string]any{"Fn::Base64": "hello"}},
		{`!Cidr [10.0.0.0/16, 6, 8]`, map[string]any{"Fn::Cidr": []any{"10.0.0.0/16", json.Number("6"), json.Number("8")}}},
		{`!ImportValue Shared`, map[string]any{"Fn::ImportValue": "Shared"}},
		{`!Ref 123`, map[string]any{"Ref": "123"}},
		{`0x1F`, json.Number("31")},
		{`1.50`, json.Number("1.50")},
		{`yes`, "yes"},
		{`true`, true},
		{`2010-09-09`, "2010-09-09"},
		{`~`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			root, err := parseDocument([]byte("V: " + tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			v, err := toValue(root)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, v.(map[string]any)["V"]); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSONTemplate(t *testing.T) {
	body := `{
	"AWSTemplateFormatVersion": "2010-09-09",
	"Parameters": {"Size": {"Type": "Number", "Default": 3}},
	"Resources": {
		"Zeta": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 14, "Ratio": 1.5, "On": true}},
		"Alpha": {"Type": "AWS::ECS::Cluster", "DependsOn": "Zeta", "Properties": {"ClusterName": {"Fn::Sub": "${Zeta}-c"}}}
	},
	"Outputs": {"Z": {"Value": {"Ref": "Zeta"}}, "A": {"Value": {"Fn::GetAtt": ["Alpha", "Arn"]}}}
}`
	tmpl := mustParse(t, body)
	var ids, outputs []string
	for _, r := range tmpl.Resources {
		ids = append(ids, r.LogicalID)
	}
	for _, o := range tmpl.Outputs {
		outputs = append(outputs, o.Name)
	}
	if diff := cmp.Diff([]string{"Zeta", "Alpha"}, ids); diff != "" {
		t.Errorf("resource order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Z", "A"}, outputs); diff != "" {
		t.Errorf("output order (-want +got):\n%s", diff)
	}
	zeta, _ := tmpl.Resource("Zeta")
	want := map[string]any{"RetentionInDays": json.Number("14"), "Ratio": json.Number("1.5"), "On": true}
	if diff := cmp.Diff(want, zeta.Properties); diff != "" {
		t.Errorf("properties (-want +got):\n%s", diff)
	}
	if p, _ := tmpl.Parameter("Size"); *p.Default != "3" {
		t.Errorf("default = %q, want 3", *p.Default)
	}
	if diff := cmp.Diff([]string{"Zeta"}, tmpl.Dependencies("Alpha")); diff != "" {
		t.Errorf("dependencies (-want +got):\n%s", diff)
	}
}

func TestArticleTemplate(t *testing.T) {
	body, err := os.ReadFile("testdata/article.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := mustParse(t, string(body))
	if tmpl.Description != "ECS Fargate service with ALB" || len(tmpl.Resources) != 11 || len(tmpl.Outputs) != 3 {
		t.Fatalf("parsed %q with %d resources, %d outputs", tmpl.Description, len(tmpl.Resources), len(tmpl.Outputs))
	}
	service, _ := tmpl.Resource("Service")
	if diff := cmp.Diff([]string{"Listener"}, service.DependsOn); diff != "" {
		t.Errorf("Service DependsOn (-want +got):\n%s", diff)
	}
	scope, err := tmpl.NewScope(map[string]string{
		"ImageUri":       "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1.0.0",
		"VpcId":          "vpc-0abc",
		"PublicSubnets":  "subnet-pub1,subnet-pub2",
		"PrivateSubnets": "subnet-priv1,subnet-priv2",
	}, pseudo, world)
	if err != nil {
		t.Fatal(err)
	}
	waves, err := scope.CreationWaves()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Cluster", "LogGroup", "TargetGroup", "ALBSecurityGroup", "ExecutionRole", "TaskRole"},
		{"TaskDefinition", "ALB", "TaskSecurityGroup"},
		{"Listener"},
		{"Service"},
	}
	if diff := cmp.Diff(want, waves); diff != "" {
		t.Errorf("waves (-want +got):\n%s", diff)
	}

	props, err := scope.Evaluate(service.Properties, world)
	if err != nil {
		t.Fatal(err)
	}
	network := props.(map[string]any)["NetworkConfiguration"].(map[string]any)["AwsvpcConfiguration"]
	wantNetwork := map[string]any{"Subnets": []any{"subnet-priv1", "subnet-priv2"},
		"SecurityGroups": []any{"phys-TaskSecurityGroup"}, "AssignPublicIp": "DISABLED"}
	if diff := cmp.Diff(wantNetwork, network); diff != "" {
		t.Errorf("service network (-want +got):\n%s", diff)
	}
	taskDef, _ := tmpl.Resource("TaskDefinition")
	props, err = scope.Evaluate(taskDef.Properties, world)
	if err != nil {
		t.Fatal(err)
	}
	container := props.(map[string]any)["ContainerDefinitions"].([]any)[0].(map[string]any)
	wantLogs := map[string]any{"awslogs-group": "phys-LogGroup", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "api"}
	if diff := cmp.Diff(wantLogs, container["LogConfiguration"].(map[string]any)["Options"]); diff != "" {
		t.Errorf("log options (-want +got):\n%s", diff)
	}
	if got := props.(map[string]any)["ExecutionRoleArn"]; got != "ExecutionRole.Arn" {
		t.Errorf("ExecutionRoleArn = %v", got)
	}

	outputs, err := scope.Outputs(world)
	if err != nil {
		t.Fatal(err)
	}
	wantOutputs := []OutputValue{{Name: "ALBUrl", Value: "ALB.DNSName"}, {Name: "ClusterName", Value: "phys-Cluster"}, {Name: "ServiceName", Value: "phys-Service"}}
	if diff := cmp.Diff(wantOutputs, outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}

	_, err = tmpl.NewScope(map[string]string{"ImageUri": "x", "VpcId": "vpc-0abc", "PublicSubnets": "subnet-pub1"}, pseudo, world)
	if err == nil || err.Error() != "Parameters: [PrivateSubnets] must have values" {
		t.Errorf("missing parameter: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	const res = "Resources:\n  A:\n    Type: AWS::Logs::LogGroup\n"
	tests := []struct {
		name, body, want string
	}{
		{"yaml syntax", "Resources:\n  A: b: c\n", "Template format error: YAML not well-formed. (line 2)"},
		{"json syntax", `{"Resources": {"A": }`, "Template format error: JSON not well-formed."},
		{"not a map", "just text", "Template format error: unsupported structure."},
		{"no resources", "Description: x\n", "Template format error: At least one Resources member must be defined."},
		{"empty resources", "Resources: {}\n", "Template format error: At least one Resources member must be defined."},
		{"unknown section", res + "Foo: 1\nBar: 2\n", "Template format error: Invalid template property or properties [Foo, Bar]"},
		{"no type", "Resources:\n  A:\n    Properties: {}\n", "Template format error: Every Resources object must contain a Type member."},
		{"resource not a map", "Resources:\n  A: x\n", "Template format error: Every Resources object must contain a Type member."},
		{"bad logical id", "Resources:\n  my-res:\n    Type: T\n", "Template format error: Resource name my-res is non alphanumeric."},
		{"misspelt attribute", "Resources:\n  A:\n    Type: T\n    Propertes: {}\n", "Template format error: Invalid template resource property 'Propertes'"},
		{"unresolved ref", "Resources:\n  A:\n    Type: T\n    Properties:\n      X: !Ref Nope\n      Y: !Sub '${Nope2}'\n",
			"Template format error: Unresolved resource dependencies [Nope, Nope2] in the Resources block of the template"},
		{"unresolved DependsOn", "Resources:\n  A:\n    Type: T\n    DependsOn: [Nope]\n",
			"Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"},
		{"unresolved in outputs", res + "Outputs:\n  O:\n    Value: !Ref Nope\n",
			"Template format error: Unresolved resource dependencies [Nope] in the Outputs block of the template"},
		{"GetAtt undefined", "Resources:\n  A:\n    Type: T\n    Properties:\n      X: !GetAtt Nope.Arn\n",
			"Template error: instance of Fn::GetAtt references undefined resource Nope"},
		{"GetAtt undefined in Sub", res + "Outputs:\n  O:\n    Value: !Sub '${Nope.Arn}'\n",
			"Template error: instance of Fn::GetAtt references undefined resource Nope"},
		{"GetAtt malformed", "Resources:\n  A:\n    Type: T\n    Properties:\n      X: !GetAtt Nope\n",
			"Template error: every Fn::GetAtt object requires two non-empty parameters"},
		{"cycle", "Resources:\n  B:\n    Type: T\n    Properties: {X: !Ref A}\n  A:\n    Type: T\n    Properties: {X: !GetAtt B.Arn}\n  C:\n    Type: T\n",
			"Circular dependency between resources: [A, B]"},
		{"self reference", "Resources:\n  A:\n    Type: T\n    Properties: {X: !Sub '${A}'}\n",
			"Circular dependency between resources: [A]"},
		{"resource in conditions", res + "Conditions:\n  C: !Equals [!Ref A, x]\n",
			"Template format error: Unresolved dependencies [A]. Cannot reference resources in the Conditions block of the template"},
		{"unknown condition", "Resources:\n  A:\n    Type: T\n    Properties: {X: !If [Nope, a, b]}\n",
			"Template error: unresolved condition dependency Nope in Fn::If"},
		{"unsupported function", "Resources:\n  A:\n    Type: T\n    Properties: {X: {'Fn::Nope': 1}}\n",
			"Template format error: Encountered unsupported function: Fn::Nope Supported functions are: [" + strings.Join(functionNames, ", ") + "]"},
		{"parameter without type", "Parameters:\n  P: {Default: x}\n" + res, "Template format error: Every Parameters object must contain a Type member."},
		{"bad parameter type", "Parameters:\n  P: {Type: Strin}\n" + res, "Template format error: Unrecognized parameter type: Strin"},
		{"output without value", res + "Outputs:\n  O:\n    Description: x\n", "Template format error: Every Outputs member must contain a Value object"},
		{"bad Sub", "Resources:\n  A:\n    Type: T\n    Properties: {X: !Sub [a, b, c]}\n", errSubArgs.Error()},
		{"duplicate key", "Resources:\n  A:\n    Type: T\n  A:\n    Type: T\n", "Template format error: YAML not well-formed. (line 4, column 3)"},
		{"unknown tag", "Resources:\n  A:\n    Type: !Foo T\n", "Template format error: YAML not well-formed. (line 3, column 11)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body))
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestUnrecognizedResourceTypes(t *testing.T) {
	tmpl := mustParse(t, "Resources:\n  A: {Type: AWS::Foo::Bar}\n  B: {Type: AWS::Logs::LogGroup}\n  C: {Type: AWS::Baz::Qux}\n")
	err := tmpl.UnrecognizedResourceTypes(func(typ string) bool { return typ == "AWS::Logs::LogGroup" })
	if want := "Template format error: Unrecognized resource types: [AWS::Baz::Qux, AWS::Foo::Bar]"; err == nil || err.Error() != want {
		t.Errorf("err = %v", err)
	}
}

const evalTemplate = `
Parameters:
  Env: {Type: String, Default: prod}
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
  Count: {Type: Number, Default: "2"}
Mappings:
  Sizes:
    prod: {Cpu: "1024", Zones: [x, y]}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  ProdOrDev: !Or [!Condition IsProd, !Condition IsDev]
  Both: !And [!Condition IsProd, !Condition IsDev]
  CountIsTwo: !Equals [!Ref Count, 2]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  DevOnly:
    Type: AWS::S3::Bucket
    Condition: IsDev
Outputs:
  Shown:
    Value: !Ref Names
    Export: {Name: !Sub '${AWS::StackName}-names'}
  Hidden:
    Condition: IsDev
    Value: !Ref DevOnly
`

func TestEvaluate(t *testing.T) {
	tmpl := mustParse(t, evalTemplate)
	scope, err := tmpl.NewScope(nil, pseudo, world)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string // YAML
		want any
		err  string
	}{
		{"ref parameter", `!Ref Env`, "prod", ""},
		{"ref list parameter", `!Ref Names`, []any{"a", "b", "c"}, ""},
		{"ref number parameter", `!Ref Count`, "2", ""},
		{"ref resource", `!Ref Bucket`, "phys-Bucket", ""},
		{"ref pseudo", `[!Ref AWS::Region, !Ref AWS::AccountId, !Ref AWS::Partition, !Ref AWS::URLSuffix, !Ref AWS::StackName]`,
			[]any{"us-east-1", "123456789012", "aws", "amazonaws.com", "s"}, ""},
		{"ref inactive resource", `!Ref DevOnly`, nil, "Template format error: Unresolved resource dependencies [DevOnly] in the Resources block of the template"},
		{"getatt", `!GetAtt Bucket.Arn`, "Bucket.Arn", ""},
		{"getatt attribute by ref", `{"Fn::GetAtt": [Bucket, !Ref Env]}`, "Bucket.prod", ""},
		{"sub", `!Sub '${AWS::Region}:${Env}:${Bucket}:${Bucket.Arn}'`, "us-east-1:prod:phys-Bucket:Bucket.Arn", ""},
		{"sub escape", `!Sub '${!Literal}-${Env}-${!AWS::Region}'`, "${Literal}-prod-${AWS::Region}", ""},
		{"sub with map", `!Sub ['${A}-${Env}', {A: !Ref Bucket}]`, "phys-Bucket-prod", ""},
		{"sub unterminated", `!Sub 'x-${Env'`, "x-${Env", ""},
		{"sub list", `!Sub '${Names}'`, nil, "Template error: variable Names in Fn::Sub expression does not resolve to a string"},
		{"join", `!Join [",", [a, !Ref Env, 3]]`, "a,prod,3", ""},
		{"join list function", `!Join ["-", !Ref Names]`, "a-b-c", ""},
		{"join bad", `!Join [","]`, nil, errJoinArgs.Error()},
		{"select number", `!Select [1, !Ref Names]`, "b", ""},
		{"select string index", `!Select ["2", [x, y, z]]`, "z", ""},
		{"select out of range", `!Select [5, [x]]`, nil, "Template error: Fn::Select cannot select nonexistent value at index 5"},
		{"split", `!Split ["|", "a|b||c"]`, []any{"a", "b", "", "c"}, ""},
		{"if true", `!If [IsProd, yes, no]`, "yes", ""},
		{"if false", `!If [IsDev, yes, no]`, "no", ""},
		{"novalue removes key", `{A: !If [IsDev, x, !Ref AWS::NoValue], B: b}`, map[string]any{"B": "b"}, ""},
		{"novalue removes item", `[a, !If [IsDev, x, !Ref AWS::NoValue], c]`, []any{"a", "c"}, ""},
		{"novalue at top", `!Ref AWS::NoValue`, nil, ""},
		{"findinmap", `!FindInMap [Sizes, !Ref Env, Cpu]`, "1024", ""},
		{"findinmap list", `!FindInMap [Sizes, prod, Zones]`, []any{"x", "y"}, ""},
		{"findinmap missing", `!FindInMap [Sizes, dev, Cpu]`, nil, "Template error: Unable to get mapping for Sizes::dev::Cpu"},
		{"getazs", `!GetAZs ''`, []any{"us-east-1a", "us-east-1b", "us-east-1c"}, ""},
		{"getazs region", `!GetAZs eu-west-1`, []any{"eu-west-1a", "eu-west-1b", "eu-west-1c"}, ""},
		{"select getazs", `!Select [0, !GetAZs '']`, "us-east-1a", ""},
		{"base64", `!Base64 hello`, "aGVsbG8=", ""},
		{"base64 sub", `{"Fn::Base64": !Sub '#!/bin/sh ${Env}'}`, "IyEvYmluL3NoIHByb2Q=", ""},
		{"cidr", `!Cidr [10.0.0.0/16, 3, 8]`, []any{"10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"}, ""},
		{"importvalue", `!ImportValue SharedVpc`, "vpc-0abc", ""},
		{"importvalue missing", `!ImportValue Nope`, nil, "No export named Nope found"},
		{"tojsonstring", `{"Fn::ToJsonString": {a: [1, x]}}`, `{"a":[1,"x"]}`, ""},
		{"length", `{"Fn::Length": !Ref Names}`, json.Number("3"), ""},
		{"condition key is literal outside Conditions", `{Condition: {StringEquals: {k: v}}}`,
			map[string]any{"Condition": map[string]any{"StringEquals": map[string]any{"k": "v"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := parseDocument([]byte("V: " + tt.in))
			if err != nil {
				t.Fatal(err)
			}
			v, err := toValue(root)
			if err != nil {
				t.Fatal(err)
			}
			got, err := scope.Evaluate(v.(map[string]any)["V"], world)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	tmpl := mustParse(t, evalTemplate)
	for _, tt := range []struct {
		env  string
		want map[string]bool
	}{
		{"prod", map[string]bool{"IsProd": true, "IsDev": false, "ProdOrDev": true, "Both": false, "CountIsTwo": true}},
		{"dev", map[string]bool{"IsProd": false, "IsDev": true, "ProdOrDev": true, "Both": false, "CountIsTwo": true}},
	} {
		scope, err := tmpl.NewScope(map[string]string{"Env": tt.env}, pseudo, world)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, scope.Conditions); diff != "" {
			t.Errorf("%s: conditions (-want +got):\n%s", tt.env, diff)
		}
		var active []string
		for _, r := range scope.ActiveResources() {
			active = append(active, r.LogicalID)
		}
		outputs, err := scope.Outputs(world)
		if err != nil {
			t.Fatal(err)
		}
		if tt.env == "prod" {
			if diff := cmp.Diff([]string{"Bucket"}, active); diff != "" {
				t.Errorf("active (-want +got):\n%s", diff)
			}
			want := []OutputValue{{Name: "Shown", Value: "a,b,c", ExportName: "s-names"}}
			if diff := cmp.Diff(want, outputs); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
		} else if len(active) != 2 || len(outputs) != 2 {
			t.Errorf("dev: active %v, outputs %v", active, outputs)
		}
	}
}

func TestConditionalDependencies(t *testing.T) {
	tmpl := mustParse(t, `
Parameters:
  UseQueue: {Type: String, AllowedValues: ["true", "false"]}
Conditions:
  HasQueue: !Equals [!Ref UseQueue, "true"]
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Condition: HasQueue
  Bucket:
    Type: AWS::S3::Bucket
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Target: !If [HasQueue, !GetAtt Queue.Arn, !Ref Bucket]
  Bad:
    Type: AWS::Lambda::Function
    Properties:
      Target: !Ref Queue
`)
	if diff := cmp.Diff([]string{"Bucket", "Queue"}, tmpl.Dependencies("Function")); diff != "" {
		t.Errorf("static dependencies (-want +got):\n%s", diff)
	}
	scope, err := tmpl.NewScope(map[string]string{"UseQueue": "false"}, pseudo, world)
	if err != nil {
		t.Fatal(err)
	}
	deps, err := scope.Dependencies("Function")
	if err != nil || !cmp.Equal([]string{"Bucket"}, deps) {
		t.Errorf("dependencies = %v, %v", deps, err)
	}
	_, err = scope.CreationWaves()
	if want := "Template format error: Unresolved resource dependencies [Queue] in the Resources block of the template"; err == nil || err.Error() != want {
		t.Errorf("err = %v", err)
	}
	scope, err = tmpl.NewScope(map[string]string{"UseQueue": "true"}, pseudo, world)
	if err != nil {
		t.Fatal(err)
	}
	waves, err := scope.CreationWaves()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"Queue", "Bucket"}, {"Function", "Bad"}}, waves); diff != "" {
		t.Errorf("waves (-want +got):\n%s", diff)
	}
}

func TestCidr(t *testing.T) {
	tests := []struct {
		block           string
		count, hostBits int
		want            []string
		err             bool
	}{
		{"10.0.0.0/16", 6, 8, []string{"10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24", "10.0.4.0/24", "10.0.5.0/24"}, false},
		{"192.168.0.0/24", 4, 6, []string{"192.168.0.0/26", "192.168.0.64/26", "192.168.0.128/26", "192.168.0.192/26"}, false},
		{"10.0.0.0/16", 2, 12, []string{"10.0.0.0/20", "10.0.16.0/20"}, false},
		{"10.0.5.7/16", 1, 16, []string{"10.0.0.0/16"}, false},
		{"2001:db8::/56", 2, 64, []string{"2001:db8::/64", "2001:db8:0:1::/64"}, false},
		{"192.168.0.0/24", 5, 6, nil, true},
		{"10.0.0.0/16", 1, 17, nil, true},
		{"10.0.0.0/16", 0, 8, nil, true},
		{"not-a-cidr", 1, 8, nil, true},
	}
	for _, tt := range tests {
		got, err := cidrSubnets(tt.block, tt.count, tt.hostBits)
		if (err != nil) != tt.err {
			t.Errorf("%s %d %d: err = %v", tt.block, tt.count, tt.hostBits, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s %d %d (-want +got):\n%s", tt.block, tt.count, tt.hostBits, diff)
		}
	}
}

func TestResolveParameters(t *testing.T) {
	tmpl := mustParse(t, `
Parameters:
  Name: {Type: String, MinLength: 2, MaxLength: 5, AllowedPattern: "[a-z]+"}
  Described: {Type: String, Default: ok, AllowedPattern: "[a-z]+", ConstraintDescription: must be lowercase}
  Env: {Type: String, Default: prod, AllowedValues: [prod, dev]}
  Size: {Type: Number, Default: 3, MinValue: 1, MaxValue: 10}
  Sizes: {Type: "List<Number>", Default: "1,2"}
  Names: {Type: CommaDelimitedList, Default: "x,y"}
  Vpc: {Type: "AWS::EC2::VPC::Id", Default: vpc-0abc}
  Subnets: {Type: "List<AWS::EC2::Subnet::Id>", Default: "subnet-pub1,subnet-pub2"}
  Key: {Type: "AWS::EC2::KeyPair::KeyName", Default: my-key, NoEcho: true}
  Ami: {Type: "AWS::SSM::Parameter::Value<String>", Default: /ami/latest}
  SsmNames: {Type: "AWS::SSM::Parameter::Value<List<String>>", Default: /app/names}
  SsmVpc: {Type: "AWS::SSM::Parameter::Value<AWS::EC2::VPC::Id>", Default: /app/vpc}
Resources:
  A: {Type: T}
`)
	values, err := tmpl.ResolveParameters(map[string]string{"Name": "abc"}, world)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]any{
		"Name": "abc", "Size": "3", "Sizes": []any{"1", "2"}, "Names": []any{"x", "y"}, "Vpc": "vpc-0abc",
		"Subnets": []any{"subnet-pub1", "subnet-pub2"}, "Ami": "ami-0123", "SsmNames": []any{"a", "b", "c"}, "SsmVpc": "vpc-0abc",
	}
	for name, want := range checks {
		if diff := cmp.Diff(want, values[name].Ref()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if v := values["Ami"]; v.ParameterValue != "/ami/latest" || v.ResolvedValue != "ami-0123" {
		t.Errorf("Ami = %+v", v)
	}
	if !values["Key"].NoEcho {
		t.Error("Key is not NoEcho")
	}

	tests := []struct {
		name  string
		given map[string]string
		want  string
	}{
		{"missing", map[string]string{}, "Parameters: [Name] must have values"},
		{"unknown", map[string]string{"Name": "abc", "Zed": "1", "Nope": "2"}, "Parameters: [Nope, Zed] do not exist in the template"},
		{"not allowed", map[string]string{"Name": "abc", "Env": "qa"}, "Parameter 'Env' must be one of AllowedValues"},
		{"not a number", map[string]string{"Name": "abc", "Size": "big"}, "Parameter 'Size' must be a number."},
		{"not a number list", map[string]string{"Name": "abc", "Sizes": "1,x"}, "Parameter 'Sizes' must be a number list."},
		{"too small", map[string]string{"Name": "abc", "Size": "0"}, "Parameter 'Size' must be a number not less than 1"},
		{"too big", map[string]string{"Name": "abc", "Size": "10.5"}, "Parameter 'Size' must be a number not greater than 10"},
		{"too short", map[string]string{"Name": "a"}, "Parameter 'Name' must contain at least 2 characters"},
		{"too long", map[string]string{"Name": "abcdef"}, "Parameter 'Name' must contain at most 5 characters"},
		{"pattern", map[string]string{"Name": "AB"}, "Malformed input-Parameter Name must match pattern [a-z]+"},
		{"constraint description", map[string]string{"Name": "abc", "Described": "UP"}, "Parameter Described failed to satisfy constraint: must be lowercase"},
		{"vpc missing", map[string]string{"Name": "abc", "Vpc": "vpc-nope"}, "Parameter validation failed: parameter value vpc-nope for parameter name Vpc does not exist."},
		{"subnet missing", map[string]string{"Name": "abc", "Subnets": "subnet-pub1,subnet-x"}, "Parameter validation failed: parameter value subnet-x for parameter name Subnets does not exist."},
		{"ssm missing", map[string]string{"Name": "abc", "Ami": "/nope"}, "Unable to fetch parameters [/nope] from parameter store for this account."},
		{"ssm value checked", map[string]string{"Name": "abc", "SsmVpc": "/app/badvpc"}, "Parameter validation failed: parameter value vpc-nope for parameter name SsmVpc does not exist."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tmpl.ResolveParameters(tt.given, world)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestUnsupportedAttributes(t *testing.T) {
	has := func(resourceType, attribute string) (bool, bool) {
		if resourceType != "AWS::ElasticLoadBalancingV2::LoadBalancer" {
			return false, false
		}
		return true, attribute == "DNSName"
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"a known attribute", `{"Resources": {"L": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer"}}, "Outputs": {"U": {"Value": {"Fn::GetAtt": ["L", "DNSName"]}}}}`, ""},
		{"an unknown one", `{"Resources": {"L": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer"}}, "Outputs": {"U": {"Value": {"Fn::GetAtt": ["L", "DNSNam"]}}}}`,
			"Template error: resource L does not support attribute type DNSNam in Fn::GetAtt"},
		{"in Fn::Sub", `{"Resources": {"L": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer"}, "G": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Fn::Sub": "/x/${L.Nope}"}}}}}`,
			"Template error: resource L does not support attribute type Nope in Fn::GetAtt"},
		{"a type whose attributes are not known", `{"Resources": {"G": {"Type": "AWS::Logs::LogGroup"}}, "Outputs": {"A": {"Value": {"Fn::GetAtt": ["G", "Whatever"]}}}}`, ""},
	} {
		tmpl, err := Parse([]byte(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		err = tmpl.UnsupportedAttributes(has)
		if got := fmt.Sprint(err); tc.want == "" && err != nil || tc.want != "" && got != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
