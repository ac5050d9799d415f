package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// stmt wraps statement JSON in a 2012-10-17 document.
func stmt(statements string) string {
	return `{"Version":"2012-10-17","Statement":` + statements + `}`
}

func TestParseRefusals(t *testing.T) {
	iamPaths := `IAM resource path must either be "*" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.`
	tests := []struct {
		name string
		kind Kind
		doc  string
		want string
	}{
		{"not JSON", Identity, `This is not a json document`, "Syntax errors in policy."},
		{"not an object", Identity, `["a"]`, "Syntax errors in policy."},
		{"trailing data", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`) + `{}`, "Syntax errors in policy."},
		{"unknown version", Identity, `{"Version":"2013-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}}`, "Syntax errors in policy."},
		{"no statement", Identity, `{"Version":"2012-10-17"}`, "Syntax errors in policy."},
		{"empty statement list", Identity, stmt(`[]`), "Syntax errors in policy."},
		{"statement not an object", Identity, stmt(`["afd"]`), "Syntax errors in policy."},
		{"unknown top-level element", Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"},"Extra field":"value"}`, "Syntax errors in policy."},
		{"unknown statement element", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Extra field":"value"}`), "Syntax errors in policy."},
		{"element names are case-sensitive", Identity, stmt(`{"effect":"Allow","Action":"s3:*","Resource":"*"}`), "Syntax errors in policy."},
		{"duplicate key", Identity, stmt(`{"Effect":"Allow","Effect":"Deny","Action":"s3:*","Resource":"*"}`), "Syntax errors in policy."},
		{"Id not a string", Identity, `{"Version":"2012-10-17","Id":{},"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, "Syntax errors in policy."},
		{"Sid not a string", Identity, stmt(`{"Sid":[],"Effect":"Allow","Action":"s3:*","Resource":"*"}`), "Syntax errors in policy."},
		{"no Effect", Identity, stmt(`{"Action":"s3:ListBucket","Resource":"*"}`), "Syntax errors in policy."},
		{"unknown Effect", Identity, stmt(`{"Effect":"invalid","Action":"s3:*","Resource":"*"}`), "Syntax errors in policy."},
		{"Action and NotAction", Identity, stmt(`{"Effect":"Allow","Action":"iam:dsf","NotAction":"s3:ListBucket","Resource":"*"}`), "Syntax errors in policy."},
		{"Resource and NotResource", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}`), "Syntax errors in policy."},
		{"Action an object", Identity, stmt(`{"Effect":"Allow","Action":{},"Resource":"*"}`), "Syntax errors in policy."},
		{"Action a nested list", Identity, stmt(`{"Effect":"Deny","Action":[[]],"Resource":"*"}`), "Syntax errors in policy."},
		{"Resource list with an object", Identity, stmt(`{"Effect":"Deny","Action":"s3:*","Resource":["adfdf",{}]}`), "Syntax errors in policy."},
		{"Condition a list", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":[]}`), "Syntax errors in policy."},
		{"Condition block a string", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateGreaterThan":"b"}}`), "Syntax errors in policy."},
		{"Condition value an object", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateGreaterThan":{"a":{}}}}`), "Syntax errors in policy."},
		{"Condition value null", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"a":null}}}`), "Syntax errors in policy."},
		{"unknown operator", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"x":{"a":"1"}}}`), "Syntax errors in policy."},
		{"malformed qualifier", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForAnyValue::StringEqualsIfExists":{"a":"asf"}}}`), "Syntax errors in policy."},
		{"Effect in another case", Identity, stmt(`{"Effect":"denY","Action":"s3:*","Resource":"*"}`), "The policy failed legacy parsing"},
		{"unreadable date", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}}`), "The policy failed legacy parsing"},
		{"month 13", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThanEquals":{"a":"234-13"}}}`), "The policy failed legacy parsing"},
		{"one-digit zone", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThanEquals":{"a":"2016-12-13t2:00:00.593194+1"}}}`), "The policy failed legacy parsing"},
		{"epoch out of range", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"a":"9223372036854775808"}}}`), "The policy failed legacy parsing"},
		{"short ARN with an empty segment", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3::example_bucket"}`), "The policy failed legacy parsing"},
		{"empty service", Identity, stmt(`{"Effect":"Allow","NotAction":"s3:ListBucket","Resource":"arn:aws::::example_bucket"}`), "The policy failed legacy parsing"},
		{"identity policy with Principal", Identity, stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}`), "Policy document should not specify a principal."},
		{"identity policy with NotPrincipal", Identity, stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:*","Resource":"*"}`), "Policy document should not specify a principal."},
		{"trust policy with Resource", Trust, stmt(`{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Resource":"*"}`), "Has prohibited field Resource"},
		{"trust policy without Principal", Trust, stmt(`{"Effect":"Allow","Action":"sts:AssumeRole"}`), "Missing required field Principal"},
		{"resource policy without Principal", Resource, stmt(`{"Effect":"Allow","Action":"ecr:BatchGetImage"}`), "Missing required field Principal"},
		{"Sid with a hyphen", Identity, stmt(`{"Sid":"autogenerated-id","Effect":"Allow","Action":"s3:*","Resource":"*"}`), "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"},
		{"Sid twice", Identity, stmt(`[{"Sid":"sdf","Effect":"Allow","Action":"s3:ListBucket","Resource":"*"},{"Sid":"sdf","Effect":"Allow"}]`), "Statement IDs (SID) in a single policy must be unique."},
		{"no action", Identity, stmt(`{"Effect":"Allow","Resource":"arn:aws:s3:::example_bucket"}`), "Policy statement must contain actions."},
		{"empty action list", Identity, stmt(`{"Effect":"Allow","Action":[],"Resource":"*"}`), "Policy statement must contain actions."},
		{"second statement without action", Identity, stmt(`[{"Effect":"Deny"},{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]`), "Policy statement must contain actions."},
		{"no resource", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket"}`), "Policy statement must contain resources."},
		{"empty resource list", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":[]}`), "Policy statement must contain resources."},
		{"resource checked before action", Identity, stmt(`{"Effect":"Allow","Action":"invalid"}`), "Policy statement must contain resources."},
		{"resource not an ARN", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"invalid resource"}`), `Resource invalid resource must be in ARN format or "*".`},
		{"empty resource", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":""}`), `Resource  must be in ARN format or "*".`},
		{"resource in a list", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":["adf"]}`), `Resource adf must be in ARN format or "*".`},
		{"unknown partition, short", Identity, stmt(`{"Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:bsdfdsafsad"}`), `Partition "bsdfdsafsad" is not valid for resource "arn:bsdfdsafsad:*:*:*:*".`},
		{"unknown partition, long", Identity, stmt(`{"Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:b:c:d:e:f:g:h"}`), `Partition "b" is not valid for resource "arn:b:c:d:e:f:g:h".`},
		{"missing arn prefix", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"aws:s3:::example_bucket"}`), `Partition "s3" is not valid for resource "arn:s3:::example_bucket:*".`},
		{"no vendor in resource", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws"}`), "Resource vendor must be fully qualified and cannot contain regexes."},
		{"IAM resource with a region", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:us-east-1::example_bucket"}`), "IAM resource arn:aws:iam:us-east-1::example_bucket cannot contain region information."},
		{"S3 resource with a region", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:us-east-1::example_bucket"}`), "Resource arn:aws:s3:us-east-1::example_bucket can not contain region information."},
		{"IAM resource of no known type", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:::example_bucket"}`), iamPaths},
		{"action without vendor", Identity, stmt(`{"Effect":"Allow","Action":"invalid","Resource":"*"}`), "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"empty NotAction", Identity, stmt(`{"Effect":"Allow","NotAction":"","Resource":"*"}`), "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."},
		{"action with two colons", Identity, stmt(`{"Effect":"Allow","Action":"s3:List:Bucket","Resource":"*"}`), "Actions/Condition can contain only one colon."},
		{"vendor with a space", Identity, stmt(`{"Effect":"Allow","Action":"a a:ListBucket","Resource":"*"}`), "Vendor a a is not valid"},
		{"vendor wildcard", Identity, stmt(`{"Effect":"Allow","Action":"*:Untag*","Resource":"*"}`), "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards"},
		{"trust policy with another service's action", Trust, stmt(`{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"s3:GetObject"}`), "AssumeRole policy may only specify STS AssumeRole actions."},
		{"invalid AWS principal", Trust, stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:group/admins"},"Action":"sts:AssumeRole"}`), `Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:group/admins"`},
		{"wildcard in an AWS principal", Resource, stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/*"},"Action":"ecr:*"}`), `Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:user/*"`},
		{"principal that is no account", Resource, stmt(`{"Effect":"Allow","Principal":{"AWS":"12345"},"Action":"ecr:*"}`), `Invalid principal in policy: "AWS":"12345"`},
		{"no principals", Trust, stmt(`{"Effect":"Allow","Principal":{"AWS":[]},"Action":"sts:AssumeRole"}`), "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!"},
		{"principal string other than *", Resource, stmt(`{"Effect":"Allow","Principal":"123456789012","Action":"ecr:*"}`), "Syntax errors in policy."},
		{"unknown principal type", Resource, stmt(`{"Effect":"Allow","Principal":{"Users":"bob"},"Action":"ecr:*"}`), "Syntax errors in policy."},
		{"deep nesting", Identity, strings.Repeat("[", 100000), "Syntax errors in policy."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.doc, tt.kind)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse = %v, %v; want %q", p, err, tt.want)
			}
			if se.Message != tt.want {
				t.Fatalf("message %q, want %q", se.Message, tt.want)
			}
		})
	}
}

// ecsTaskExecutionRolePolicy is the AmazonECSTaskExecutionRolePolicy
// managed policy.
const ecsTaskExecutionRolePolicy = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
                "logs:CreateLogStream",
                "logs:PutLogEvents"
            ],
            "Resource": "*"
        }
    ]
}`

// ecsTasksTrustPolicy is a task role's trust policy, with the conditions
// the ECS guide recommends against the confused deputy.
const ecsTasksTrustPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "",
      "Effect": "Allow",
      "Principal": {"Service": "ecs-tasks.amazonaws.com"},
      "Action": "sts:AssumeRole",
      "Condition": {
        "ArnLike": {"aws:SourceArn": "arn:aws:ecs:us-west-2:111122223333:*"},
        "StringEquals": {"aws:SourceAccount": "111122223333"}
      }
    }
  ]
}`

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		doc  string
	}{
		{"task execution role policy", Identity, ecsTaskExecutionRolePolicy},
		{"ecs-tasks trust policy", Trust, ecsTasksTrustPolicy},
		{"no Version", Identity, `{"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}`},
		{"Version 2008-10-17", Trust, `{"Version":"2008-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/SecurityMonkey"},"Action":"sts:AssumeRole"}]}`},
		{"Id", Identity, `{"Version":"2012-10-17","Id":"sdfsdfsdf","Statement":{"Effect":"Allow","NotAction":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}`},
		{"free action name", Identity, stmt(`{"Effect":"Allow","Action":"iam: asdf safdsf af ","Resource":"arn:aws:s3:::example_bucket"}`)},
		{"vendor with - and .", Identity, stmt(`{"Effect":"Allow","Action":["s3-s:ListBucket","s3.s:ListBucket"],"Resource":"*"}`)},
		{"unknown service ARN", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:invalid-service:us-east-1::example_bucket"}`)},
		{"short ARN", Identity, stmt(`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:fdsasf"}`)},
		{"NotAction with NotResource", Identity, stmt(`{"Effect":"Allow","NotAction":"s3:ListBucket","NotResource":"*"}`)},
		{"empty condition", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{}}`)},
		{"empty unknown operators", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"x":{},"y":{}}}`)},
		{"empty value list", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateGreaterThan":{"a":[]}}}`)},
		{"qualifier and IfExists", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForAnyValue:StringEqualsIfExists":{"a":"asf"}}}`)},
		{"date forms", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{
			"DateLessThanEquals":{"a":["2019-07-01T13:20:15Z","2016-12-13T21:20:37.593194+00:00","2016-12-13t2:00:00.593194+23","01T","-292275054","1500000000"]}}}`)},
		{"JSON booleans and numbers as values", Identity, stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10}}}`)},
		{"policy variables", Identity, stmt(`{"Effect":"Allow","Action":"iam:ChangePassword","Resource":"arn:aws:iam::*:user/${aws:username}"}`)},
		{"NotResource list", Identity, stmt(`{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}`)},
		{"Sid unique apart from empty ones", Identity, stmt(`[{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"","Effect":"Allow","Action":"s3:*","Resource":"*"}]`)},
		{"resource policy without Resource", Resource, stmt(`{"Sid":"AllowPull","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:root","210987654321"]},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}`)},
		{"resource policy Sid with spaces", Resource, stmt(`{"Sid":"new statement","Effect":"Allow","Principal":"*","Action":"ecr:*"}`)},
		{"principal forms", Resource, stmt(`{"Effect":"Allow","Principal":{"AWS":["*","123456789012","arn:aws:iam::123456789012:user/path/bob","arn:aws:iam::123456789012:role/r","arn:aws:sts::123456789012:assumed-role/r/s","arn:aws:sts::123456789012:federated-user/f"],"Service":["ecs-tasks.amazonaws.com"],"Federated":"arn:aws:iam::123456789012:oidc-provider/example.com","CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"ecr:*","Resource":"*"}`)},
		{"trust policy with session tags", Trust, stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":["sts:AssumeRole","sts:TagSession"]}`)},
		{"variables in 2008-10-17 are text", Identity, `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(tt.doc, tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != tt.kind || len(p.Statements) == 0 {
				t.Fatalf("parsed %+v", p)
			}
		})
	}
}

func TestParseKeepsDocumentFields(t *testing.T) {
	p, err := Parse(`{"Version":"2012-10-17","Id":"x","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"B","Effect":"Deny","Action":"s3:*","Resource":"*"}]}`, Identity)
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != "2012-10-17" || p.ID != "x" || len(p.Statements) != 2 {
		t.Fatalf("%+v", p)
	}
	for i, want := range []struct{ sid, effect string }{{"A", "Allow"}, {"B", "Deny"}} {
		s := p.Statements[i]
		if s.Sid != want.sid || s.Effect != want.effect || s.Index != i {
			t.Errorf("statement %d: %+v", i, s)
		}
	}
}

func TestValidateManaged(t *testing.T) {
	for doc, want := range map[string]string{
		ecsTaskExecutionRolePolicy:                                                               "",
		`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`:                        "Policy document must be version 2012-10-17 or greater.",
		`{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`: "Policy document must be version 2012-10-17 or greater.",
	} {
		p, err := Parse(doc, Identity)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if err := p.ValidateManaged(); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("%s: %q, want %q", doc, got, want)
		}
	}
}

func TestPrincipalARNs(t *testing.T) {
	p, err := Parse(stmt(`[{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::123456789012:role/r"]},"Action":"sts:AssumeRole"},
		{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:user/u"},"Action":"sts:AssumeRole"}]`), Trust)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"arn:aws:iam::123456789012:role/r", "arn:aws:iam::123456789012:user/u"}
	if got := p.PrincipalARNs(); !slices.Equal(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
	if msg := InvalidPrincipalError(want[0]).Error(); msg != `Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/r"` {
		t.Fatal(msg)
	}
}
