package policy

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		ecsTaskExecutionRolePolicy,
		ecsTasksTrustPolicy,
		stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username, 'x'}/${*}","Condition":{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*",1,true]},"DateLessThan":{"aws:CurrentTime":"2016-12-13t2:00:00.593194+23"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`),
		stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":["123456789012","arn:aws:sts::123456789012:assumed-role/r/s"]},"NotAction":"ecr:*","NotResource":"arn:aws:ecr:*:*:repository/${"}`),
		`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"}]}`,
		`[[[[`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, kind := range []Kind{Identity, Resource, Trust} {
			p, err := Parse(text, kind)
			if err != nil {
				var se *SyntaxError
				if !errors.As(err, &se) || se.Message == "" {
					t.Fatalf("error %#v is no IAM message", err)
				}
				continue
			}
			req := Request{
				Principal: session,
				Action:    "ecr:BatchGetImage",
				Resource:  repoARN,
				Context:   map[string][]string{"aws:username": {"bob"}, "aws:TagKeys": {"a", "b"}, "aws:CurrentTime": {"2020-01-01T00:00:00Z"}},
			}
			src := []Source{{Name: "fuzz", Policy: p}}
			Evaluate(req, Set{Identity: src, Resource: src, Boundary: src, Session: src})
		}
	})
}
