package policy

import (
	"fmt"
	"testing"
)

// BenchmarkEvaluate decides a request of a role session with ten attached
// policies of a few statements each, with wildcards and conditions; the
// statement that allows is in the last policy.
func BenchmarkEvaluate(b *testing.B) {
	var sources []Source
	services := []string{"ec2", "logs", "ssm", "secretsmanager", "ecs", "sqs", "sns", "kms", "dynamodb", "ecr"}
	for i, svc := range services {
		doc := stmt(fmt.Sprintf(`[
			{"Sid":"Read","Effect":"Allow","Action":["%[1]s:Get*","%[1]s:Describe*","%[1]s:List*"],"Resource":"arn:aws:%[1]s:*:111122223333:*"},
			{"Sid":"Write","Effect":"Allow","Action":["%[1]s:Put*","%[1]s:Batch*"],"Resource":"arn:aws:%[1]s:us-east-1:111122223333:repository/team-${aws:PrincipalTag/team}-*",
			 "Condition":{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]},"Bool":{"aws:SecureTransport":"true"}}},
			{"Sid":"NoDelete","Effect":"Deny","Action":"%[1]s:Delete*","Resource":"*","Condition":{"StringNotLike":{"aws:PrincipalTag/role":"admin*"}}}
		]`, svc))
		sources = append(sources, Source{Name: fmt.Sprintf("arn:aws:iam::111122223333:policy/p%d", i), Policy: mustParse(b, Identity, doc)})
	}
	req := Request{
		Principal: session,
		Action:    "ecr:BatchGetImage",
		Resource:  "arn:aws:ecr:us-east-1:111122223333:repository/team-web-api",
		Context: map[string][]string{
			"aws:RequestedRegion":   {"us-east-1"},
			"aws:SecureTransport":   {"true"},
			"aws:PrincipalTag/team": {"web"},
			"aws:PrincipalTag/role": {"developer"},
			"aws:username":          {"app"},
		},
	}
	set := Set{Identity: sources}
	if d := Evaluate(req, set); d.Effect != Allowed || d.Matched.Sid != "Write" {
		b.Fatalf("%+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(req, set)
	}
}
