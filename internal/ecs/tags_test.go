package ecs

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
)

func TestTags(t *testing.T) {
	e := newAPITestEnv(t)
	ctx := e.ctx
	if _, err := e.client.CreateCluster(ctx, &sdk.CreateClusterInput{ClusterName: aws.String("prod"),
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RegisterTaskDefinition(ctx, &sdk.RegisterTaskDefinitionInput{Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(64)}}}); err != nil {
		t.Fatal(err)
	}
	taskID := "0123456789abcdef0123456789abcdef"
	e.putTask(ecsstate.Task{Region: apiTestRegion, ID: taskID, Cluster: "prod", Spec: ecsstate.TaskSpec{Tags: []ecstypes.Tag{{Key: aws.String("owner"), Value: aws.String("me")}}},
		Observed: ecsstate.TaskStatus{LastStatus: "STOPPED"}})

	tagString := func(arn string) string {
		t.Helper()
		out, err := e.client.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, tag := range out.Tags {
			s = append(s, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
		}
		return fmt.Sprint(s)
	}
	clusterARN := "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
	tdARN := "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
	taskARN := "arn:aws:ecs:us-east-1:123456789012:task/prod/" + taskID
	for arn, want := range map[string]string{clusterARN: "[env=prod]", tdARN: "[]", taskARN: "[owner=me]"} {
		if got := tagString(arn); got != want {
			t.Fatalf("%s: %s, want %s", arn, got, want)
		}
		if _, err := e.client.TagResource(ctx, &sdk.TagResourceInput{ResourceArn: aws.String(arn),
			Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}, {Key: aws.String("cost"), Value: aws.String("42")}}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := tagString(clusterARN); got != "[env=test cost=42]" {
		t.Fatalf("cluster tags %s", got)
	}
	if got := tagString(taskARN); got != "[owner=me env=test cost=42]" {
		t.Fatalf("task tags %s", got)
	}
	if _, err := e.client.UntagResource(ctx, &sdk.UntagResourceInput{ResourceArn: aws.String(tdARN), TagKeys: []string{"env", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if got := tagString(tdARN); got != "[cost=42]" {
		t.Fatalf("task definition tags %s", got)
	}
	desc, err := e.client.DescribeTaskDefinition(ctx, &sdk.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil || len(desc.Tags) != 1 {
		t.Fatalf("describe with tags: %+v %v", desc, err)
	}

	// The 50-tag limit counts what the resource already has.
	var many []types.Tag
	for i := range 49 {
		many = append(many, types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")})
	}
	_, err = e.client.TagResource(ctx, &sdk.TagResourceInput{ResourceArn: aws.String(clusterARN), Tags: many})
	wantAPIErr(t, err, "InvalidParameterException", "The maximum number of tags per resource is 50.")
	_, err = e.client.TagResource(ctx, &sdk.TagResourceInput{ResourceArn: aws.String(tdARN), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}})
	wantAPIErr(t, err, "ClientException", "Tag keys beginning with 'aws:' are reserved for AWS use.")

	for _, tc := range []struct{ arn, code, msg string }{
		{"arn:aws:ecs:us-east-1:123456789012:cluster/nope", "ClusterNotFoundException", "Cluster not found."},
		{"arn:aws:ecs:us-east-1:123456789012:task-definition/web:9", "ClientException", "Unable to describe task definition."},
		{"arn:aws:ecs:us-east-1:123456789012:task-definition/web", "InvalidParameterException", "The ARN provided is invalid."},
		{"arn:aws:ecs:us-east-1:123456789012:task/prod/ffffffffffffffffffffffffffffffff", "InvalidParameterException", "The specified task does not exist."},
		{"arn:aws:ecr:us-east-1:123456789012:repository/web", "InvalidParameterException", "The ARN provided is invalid."},
		{"arn:aws:ecs:us-east-1:123456789012:service/prod/web", "InvalidParameterException", "The specified service does not exist."},
	} {
		_, err := e.client.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{ResourceArn: aws.String(tc.arn)})
		wantAPIErr(t, err, tc.code, tc.msg)
	}
	if _, err := e.client.DeleteCluster(ctx, &sdk.DeleteClusterInput{Cluster: aws.String("prod")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.ListTagsForResource(ctx, &sdk.ListTagsForResourceInput{ResourceArn: aws.String(clusterARN)})
	wantAPIErr(t, err, "InvalidParameterException", "The specified cluster is inactive. Specify an active cluster and try again.")
}
