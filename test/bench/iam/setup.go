package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/berth/berth/test/bench/benchserver"
)

const (
	clusterName = "bench"
	userName    = "bench-reader"
	// The user's and the services' team tag, which the policy that allows
	// DescribeServices compares through a policy variable.
	team = "web"
)

// managedPolicyServices are the services of the user's ten managed
// policies, one each; the last one's policy allows ecs:DescribeServices.
var managedPolicyServices = []string{"ec2", "logs", "ssm", "secretsmanager", "sqs", "sns", "kms", "dynamodb", "ecr", "ecs"}

// target is a started server set up for the measurement: its cluster's
// services and an ECS client signed by the user.
type target struct {
	srv      *benchserver.Berth
	enforced bool
	cluster  string
	services []string
	ecs      *ecs.Client
}

// startTarget starts berth with --iam-enforce=enforced and sets it up with
// the admin key.
func startTarget(ctx context.Context, cfg config, enforced bool) (*target, error) {
	srv, err := benchserver.StartBerth(ctx, cfg.berthBin, cfg.keep, false, fmt.Sprintf("--iam-enforce=%t", enforced))
	if err != nil {
		return nil, err
	}
	t, err := setUp(ctx, cfg, srv)
	if err != nil {
		srv.Stop()
		return nil, srv.Annotate(err)
	}
	t.enforced = enforced
	return t, nil
}

func (t *target) name() string {
	if t.enforced {
		return "enforced"
	}
	return "unenforced"
}

func setUp(ctx context.Context, cfg config, srv *benchserver.Berth) (*target, error) {
	admin, err := srv.AWSConfig()
	if err != nil {
		return nil, err
	}
	admin.HTTPClient = newHTTPClient(cfg.concurrency)
	adminECS := newECSClient(admin)
	cluster, err := adminECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(clusterName)})
	if err != nil {
		return nil, fmt.Errorf("CreateCluster: %w", err)
	}
	clusterARN := aws.ToString(cluster.Cluster.ClusterArn)
	parsed, err := arn.Parse(clusterARN)
	if err != nil {
		return nil, fmt.Errorf("CreateCluster: cluster ARN: %w", err)
	}
	services, err := createServices(ctx, adminECS, cfg.services)
	if err != nil {
		return nil, err
	}
	key, err := createUser(ctx, iam.NewFromConfig(admin), parsed.AccountID, clusterARN)
	if err != nil {
		return nil, err
	}
	user := admin.Copy()
	user.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKeyId), aws.ToString(key.SecretAccessKey), "")
	return &target{srv: srv, cluster: clusterName, services: services, ecs: newECSClient(user)}, nil
}

// createServices registers a task definition that needs no role, image
// pull or network of berth's, and creates n services of it that run no
// task.
func createServices(ctx context.Context, client *ecs.Client, n int) ([]string, error) {
	def, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("bench-app"),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityEc2},
		NetworkMode:             ecstypes.NetworkModeBridge,
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name:      aws.String("app"),
			Image:     aws.String("busybox"),
			Memory:    aws.Int32(64),
			Essential: aws.Bool(true),
			Command:   []string{"sleep", "3600"},
		}},
	})
	if err != nil {
		return nil, fmt.Errorf("RegisterTaskDefinition: %w", err)
	}
	var names []string
	for i := range n {
		name := fmt.Sprintf("svc-%d", i)
		_, err := client.CreateService(ctx, &ecs.CreateServiceInput{
			Cluster:        aws.String(clusterName),
			ServiceName:    aws.String(name),
			TaskDefinition: def.TaskDefinition.TaskDefinitionArn,
			LaunchType:     ecstypes.LaunchTypeEc2,
			DesiredCount:   aws.Int32(0),
			Tags:           []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String(team)}},
		})
		if err != nil {
			return nil, fmt.Errorf("CreateService %s: %w", name, err)
		}
		names = append(names, name)
	}
	return names, nil
}

// createUser creates the user with its ten managed policies and inline
// policy, and returns an access key of it.
func createUser(ctx context.Context, client *iam.Client, account, clusterARN string) (*iamtypes.AccessKey, error) {
	if _, err := client.CreateUser(ctx, &iam.CreateUserInput{
		UserName: aws.String(userName),
		Tags: []iamtypes.Tag{
			{Key: aws.String("team"), Value: aws.String(team)},
			{Key: aws.String("role"), Value: aws.String("developer")},
		},
	}); err != nil {
		return nil, fmt.Errorf("CreateUser: %w", err)
	}
	for _, service := range managedPolicyServices {
		doc, err := managedPolicy(service, account, clusterARN)
		if err != nil {
			return nil, err
		}
		p, err := client.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("bench-" + service), PolicyDocument: aws.String(doc)})
		if err != nil {
			return nil, fmt.Errorf("CreatePolicy bench-%s: %w", service, err)
		}
		if _, err := client.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(userName), PolicyArn: p.Policy.Arn}); err != nil {
			return nil, fmt.Errorf("AttachUserPolicy %s: %w", aws.ToString(p.Policy.Arn), err)
		}
	}
	inline, err := policyDocument([]statement{
		{Sid: "ListInCluster", Effect: "Allow", Action: []string{"ecs:ListServices", "ecs:ListTasks"}, Resource: []string{"*"},
			Condition: map[string]map[string]any{"ArnEquals": {"ecs:cluster": clusterARN}}},
		{Sid: "NoClusterChanges", Effect: "Deny", Action: []string{"ecs:*Cluster*"}, Resource: []string{"*"}},
	})
	if err != nil {
		return nil, err
	}
	if _, err := client.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(userName), PolicyName: aws.String("inline"), PolicyDocument: aws.String(inline)}); err != nil {
		return nil, fmt.Errorf("PutUserPolicy: %w", err)
	}
	key, err := client.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(userName)})
	if err != nil {
		return nil, fmt.Errorf("CreateAccessKey: %w", err)
	}
	return key.AccessKey, nil
}

// managedPolicy is the user's policy for service: reads in the account,
// writes to the team's resources in two regions, no deletes but for
// admins. The ecs one also allows DescribeServices of the cluster's
// services of the team.
func managedPolicy(service, account, clusterARN string) (string, error) {
	statements := []statement{
		{Sid: "Read", Effect: "Allow", Action: []string{service + ":Get*", service + ":List*"},
			Resource: []string{fmt.Sprintf("arn:aws:%s:*:%s:*", service, account)}},
		{Sid: "Write", Effect: "Allow", Action: []string{service + ":Put*", service + ":Update*"},
			Resource:  []string{fmt.Sprintf("arn:aws:%s:*:%s:*/team-${aws:PrincipalTag/team}-*", service, account)},
			Condition: map[string]map[string]any{"StringEquals": {"aws:RequestedRegion": []string{"us-east-1", "eu-west-1"}}}},
		{Sid: "NoDelete", Effect: "Deny", Action: []string{service + ":Delete*"}, Resource: []string{"*"},
			Condition: map[string]map[string]any{"StringNotLike": {"aws:PrincipalTag/role": "admin*"}}},
	}
	if service == "ecs" {
		services := strings.Replace(clusterARN, ":cluster/", ":service/", 1) + "/*"
		statements = append(statements, statement{Sid: "DescribeTeamServices", Effect: "Allow", Action: []string{"ecs:DescribeServ*"},
			Resource: []string{services},
			Condition: map[string]map[string]any{
				"ArnEquals":    {"ecs:cluster": clusterARN},
				"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"},
			}})
	}
	return policyDocument(statements)
}

type statement struct {
	Sid       string
	Effect    string
	Action    []string
	Resource  []string
	Condition map[string]map[string]any `json:",omitempty"`
}

func policyDocument(statements []statement) (string, error) {
	doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	return string(doc), err
}

// checkEnforcement makes sure the user may describe the services, and that
// a call its policies do not allow (DescribeClusters) is refused exactly
// when the server enforces IAM, so that the two servers differ in that.
func (t *target) checkEnforcement(ctx context.Context) error {
	if err := t.describeServices(ctx); err != nil {
		return err
	}
	_, err := t.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{t.cluster}})
	var apiErr smithy.APIError
	denied := errors.As(err, &apiErr) && apiErr.ErrorCode() == "AccessDeniedException"
	switch {
	case t.enforced && !denied:
		return fmt.Errorf("DescribeClusters by %s with enforcement on: want AccessDeniedException, got %v", userName, err)
	case !t.enforced && err != nil:
		return fmt.Errorf("DescribeClusters by %s with enforcement off: %w", userName, err)
	}
	return nil
}

// describeServices is the measured call.
func (t *target) describeServices(ctx context.Context) error {
	out, err := t.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(t.cluster), Services: t.services})
	if err != nil {
		return err
	}
	if len(out.Services) != len(t.services) || len(out.Failures) > 0 {
		return fmt.Errorf("DescribeServices: %d services and %d failures, want %d services", len(out.Services), len(out.Failures), len(t.services))
	}
	return nil
}

// newECSClient is the SDK's client without retries: a failed call is a
// finding, not something to hide in the figures.
func newECSClient(cfg aws.Config) *ecs.Client {
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.Retryer = aws.NopRetryer{} })
}

// newHTTPClient is the SDK's HTTP client keeping a connection per caller
// (the SDK keeps 10), behind plainBodies.
func newHTTPClient(callers int) aws.HTTPClient {
	return plainBodies{awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConnsPerHost = max(callers, awshttp.DefaultHTTPTransportMaxIdleConnsPerHost)
	})}
}

// plainBodies hides the WriteTo method of request bodies from net/http:
// smithy-go's returns io.EOF once the SDK has closed the body, which it
// does as soon as a response arrives, and net/http then closes the
// connection under the response being read (the whole story is in
// test/bench/logs/client.go). Read returns a plain io.EOF after Close.
type plainBodies struct{ c aws.HTTPClient }

func (p plainBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = readOnlyBody{r.Body}
	}
	return p.c.Do(r)
}

// readOnlyBody has only Read and Close.
type readOnlyBody struct{ io.ReadCloser }
