package gateway

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

func TestInvoke(t *testing.T) {
	authz := &denyList{denied: map[string]bool{"ecr:BatchDeleteImage": true}}
	f := newFixture(t, func(f *fixture, c *Config) { c.Authorizer = authz })
	user := awsapi.Caller{ARN: "arn:aws:iam::" + testAccount + ":user/dev", UserID: "AIDAEXAMPLE"}
	ctx := awsapi.WithRequest(context.Background(), &awsapi.RequestInfo{Caller: user, Region: "eu-west-1"})

	// The handler gets the typed input, and the caller and region of ctx.
	out, err := f.gw.Invoke(ctx, "ecr", "CreateRepository", map[string]any{
		"repositoryName": "web", "imageTagMutability": "IMMUTABLE"})
	if err != nil {
		t.Fatal(err)
	}
	repo := out.(*createRepositoryOutput).Repository
	if awsapi.Deref(repo.RepositoryName) != "web" || awsapi.Deref(repo.ImageTagMutability) != "IMMUTABLE" {
		t.Fatalf("output %+v", repo)
	}
	info := f.rec.last()
	if info.Caller != user || info.Region != "eu-west-1" || info.AccountID != testAccount ||
		info.Operation != "CreateRepository" || info.Service != "ecr" || info.RequestID == "" {
		t.Fatalf("the handler saw %+v", info)
	}
	if got := authz.asked[len(authz.asked)-1]; got.Action != "ecr:CreateRepository" {
		t.Fatalf("asked %+v", got)
	}

	// Input the model refuses never reaches the handler, in the service's words.
	before := f.rec.last().RequestID
	_, err = f.gw.Invoke(ctx, "ecr", "CreateRepository", map[string]any{"repositoryName": "web", "imageTagMutability": "SOMETIMES"})
	var aerr *awsapi.Error
	if !errors.As(err, &aerr) || aerr.Code != "ValidationException" || !strings.Contains(aerr.Message, "imageTagMutability") {
		t.Fatalf("invalid input: %v", err)
	}
	if f.rec.last().RequestID != before {
		t.Fatal("the handler ran for invalid input")
	}

	// The service's own errors, refusals and panics come back as errors.
	for _, tc := range []struct {
		op    string
		input map[string]any
		code  string
	}{
		{"CreateRepository", map[string]any{"repositoryName": "exists"}, "RepositoryAlreadyExistsException"},
		{"BatchDeleteImage", map[string]any{"repositoryName": "web", "imageIds": []any{map[string]any{"imageTag": "x"}}}, "AccessDeniedException"},
		{"DeleteRepository", map[string]any{"repositoryName": "web"}, "UnsupportedOperationException"},
	} {
		_, err := f.gw.Invoke(ctx, "ecr", tc.op, tc.input)
		if !errors.As(err, &aerr) || aerr.Code != tc.code {
			t.Errorf("%s: %v, want %s", tc.op, err, tc.code)
		}
	}
	if _, err := f.gw.Invoke(ctx, "ecr", "CreateRepository", map[string]any{"repositoryName": "panic"}); err == nil {
		t.Error("a panicking handler: no error")
	}
	if _, err := f.gw.Invoke(ctx, "kinesis", "PutRecord", nil); err == nil {
		t.Error("an unknown service: no error")
	}
}

func TestWireNames(t *testing.T) {
	api := model.MustLoad("ec2")
	got := wireNames(api, api.Operations["AuthorizeSecurityGroupIngress"].Input, map[string]any{
		"GroupId": "sg-1",
		"IpPermissions": []any{map[string]any{"IpProtocol": "tcp",
			"UserIdGroupPairs": []any{map[string]any{"GroupId": "sg-2"}}}},
	})
	want := map[string]any{
		"GroupId": "sg-1",
		"IpPermissions": []any{map[string]any{"ipProtocol": "tcp",
			"groups": []any{map[string]any{"groupId": "sg-2"}}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
}

func TestInvokeFillsIdempotencyTokens(t *testing.T) {
	api := model.MustLoad("secretsmanager")
	ref := api.Operations["CreateSecret"].Input
	got := withTokens(api, ref, map[string]any{"Name": "db"})
	if token, _ := got["ClientRequestToken"].(string); len(token) != 36 || got["Name"] != "db" {
		t.Errorf("filled: %v", got)
	}
	given := map[string]any{"Name": "db", "ClientRequestToken": "mine"}
	if got := withTokens(api, ref, given); got["ClientRequestToken"] != "mine" {
		t.Errorf("a given token was replaced: %v", got)
	}
}
