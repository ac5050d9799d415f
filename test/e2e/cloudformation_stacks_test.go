package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stackTemplate makes resources of four services, one output from each
// kind of reference, and an export.
const stackTemplate = `
Description: berth stack test
Parameters:
  Retention:
    Type: Number
    Default: 7
    AllowedValues: [1, 7, 14]
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub '/stacks/${AWS::StackName}'
      RetentionInDays: !Ref Retention
  Cluster:
    Type: AWS::ECS::Cluster
    Properties:
      ClusterSettings:
        - Name: containerInsights
          Value: enabled
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: ecs-tasks.amazonaws.com}
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy
  Group:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: !Ref Logs
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 80, ToPort: 80, CidrIp: 0.0.0.0/0}
Outputs:
  LogGroup:
    Value: !Ref Logs
  RoleArn:
    Value: !GetAtt Role.Arn
    Export:
      Name: !Sub '${AWS::StackName}-role'
`

// TestCloudFormationStacks: a stack's life with the real CLI v1 and v2:
// create (with the waiter), its resources in each service, events and
// resources, a failure that rolls back to nothing, and a deletion that
// leaves nothing behind.
func TestCloudFormationStacks(t *testing.T) {
	t.Parallel()
	s := StartServer(t, ServerOptions{})
	dir := t.TempDir()
	write := func(name, body string) string { return templateFile(t, dir, name, body) }
	good := write("good.yaml", stackTemplate)

	// IAM resources need the capability acknowledged; a bad parameter
	// value is refused before anything is made.
	s.AWS(t, "cloudformation", "create-stack", "--stack-name", "app", "--template-body", good).
		Fails(t, "Requires capabilities : [CAPABILITY_IAM]")
	s.AWS(t, "cloudformation", "create-stack", "--stack-name", "app", "--template-body", good, "--capabilities", "CAPABILITY_IAM",
		"--parameters", "ParameterKey=Retention,ParameterValue=3").Fails(t, "Parameter 'Retention' must be one of AllowedValues")

	var created struct{ StackId string }
	s.AWS(t, "cloudformation", "create-stack", "--stack-name", "app", "--template-body", good, "--capabilities", "CAPABILITY_IAM",
		"--parameters", "ParameterKey=Retention,ParameterValue=14", "--tags", "Key=team,Value=web").OK(t).Decode(t, &created)
	s.AWS(t, "cloudformation", "create-stack", "--stack-name", "app", "--template-body", good, "--capabilities", "CAPABILITY_IAM").
		Fails(t, "AlreadyExistsException")
	s.AWS(t, "cloudformation", "wait", "stack-create-complete", "--stack-name", "app").OK(t)

	var stacks struct {
		Stacks []struct {
			StackId, StackStatus string
			Outputs              []struct{ OutputKey, OutputValue, ExportName string }
			Parameters           []struct{ ParameterKey, ParameterValue string }
		}
	}
	s.AWSv2(t, "cloudformation", "describe-stacks", "--stack-name", "app").OK(t).Decode(t, &stacks)
	st := stacks.Stacks[0]
	if st.StackId != created.StackId || st.StackStatus != "CREATE_COMPLETE" || len(st.Outputs) != 2 ||
		st.Outputs[0].OutputValue != "/stacks/app" || !strings.HasPrefix(st.Outputs[1].OutputValue, "arn:aws:iam::") ||
		st.Outputs[1].ExportName != "app-role" || st.Parameters[0].ParameterValue != "14" {
		t.Fatalf("describe-stacks: %+v", st)
	}

	// The resources are real, in their own services.
	var groups struct {
		LogGroups []struct {
			LogGroupName    string
			RetentionInDays int
		}
	}
	s.AWS(t, "logs", "describe-log-groups", "--log-group-name-prefix", "/stacks/app").OK(t).Decode(t, &groups)
	if len(groups.LogGroups) != 1 || groups.LogGroups[0].RetentionInDays != 14 {
		t.Errorf("log groups: %+v", groups)
	}
	var resources struct {
		StackResourceSummaries []struct{ LogicalResourceId, PhysicalResourceId, ResourceStatus string }
	}
	s.AWSv2(t, "cloudformation", "list-stack-resources", "--stack-name", "app").OK(t).Decode(t, &resources)
	physical := map[string]string{}
	for _, r := range resources.StackResourceSummaries {
		physical[r.LogicalResourceId] = r.PhysicalResourceId
		if r.ResourceStatus != "CREATE_COMPLETE" {
			t.Errorf("resource %+v", r)
		}
	}
	if len(physical) != 4 || !strings.HasPrefix(physical["Cluster"], "app-Cluster-") || !strings.HasPrefix(physical["Group"], "sg-") {
		t.Fatalf("resources: %v", physical)
	}
	wantOutput(t, s.AWS(t, "ecs", "describe-clusters", "--clusters", physical["Cluster"], "--include", "TAGS").OK(t), `"team"`)
	wantOutput(t, s.AWS(t, "iam", "list-attached-role-policies", "--role-name", physical["Role"]).OK(t), "AmazonECSTaskExecutionRolePolicy")
	wantOutput(t, s.AWS(t, "ec2", "describe-security-groups", "--group-ids", physical["Group"]).OK(t), `"FromPort": 80`)
	events := s.AWS(t, "cloudformation", "describe-stack-events", "--stack-name", "app", "--query",
		"StackEvents[].[LogicalResourceId,ResourceStatus,ResourceStatusReason]", "--output", "text").OK(t).Stdout
	if first := strings.SplitN(events, "\n", 2)[0]; first != "app\tCREATE_COMPLETE\tNone" || !strings.Contains(events, "app\tCREATE_IN_PROGRESS\tUser Initiated") {
		t.Errorf("events, newest first:\n%s", events)
	}

	// A template whose task definition ECS refuses rolls back to nothing.
	bad := write("bad.yaml", `
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: /stacks/bad
  Task:
    Type: AWS::ECS::TaskDefinition
    DependsOn: Logs
    Properties:
      RequiresCompatibilities: [FARGATE]
      NetworkMode: awsvpc
      Cpu: '3'
      Memory: '1024'
      ContainerDefinitions:
        - Name: app
          Image: busybox
`)
	s.AWSv2(t, "cloudformation", "create-stack", "--stack-name", "bad", "--template-body", bad).OK(t)
	s.AWSv2(t, "cloudformation", "wait", "stack-create-complete", "--stack-name", "bad").Fails(t, "ROLLBACK_COMPLETE")
	reasons := s.AWS(t, "cloudformation", "describe-stack-events", "--stack-name", "bad", "--query",
		"StackEvents[?ResourceStatus=='CREATE_FAILED'].ResourceStatusReason", "--output", "text").OK(t).Stdout
	if !strings.Contains(reasons, "Resource handler returned message:") {
		t.Errorf("the failure's reason: %s", reasons)
	}
	wantOutput(t, s.AWS(t, "logs", "describe-log-groups", "--log-group-name-prefix", "/stacks/bad").OK(t), `"logGroups": []`)
	wantOutput(t, s.AWS(t, "ecs", "list-task-definitions").OK(t), `"taskDefinitionArns": []`)

	// An update with the previous template and a new parameter value
	// changes the log group in place.
	s.AWS(t, "cloudformation", "update-stack", "--stack-name", "app", "--use-previous-template", "--capabilities", "CAPABILITY_IAM",
		"--parameters", "ParameterKey=Retention,ParameterValue=1").OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-update-complete", "--stack-name", "app").OK(t)
	s.AWS(t, "logs", "describe-log-groups", "--log-group-name-prefix", "/stacks/app").OK(t).Decode(t, &groups)
	if len(groups.LogGroups) != 1 || groups.LogGroups[0].RetentionInDays != 1 {
		t.Errorf("after the update: %+v", groups)
	}
	s.AWS(t, "cloudformation", "update-stack", "--stack-name", "app", "--use-previous-template", "--capabilities", "CAPABILITY_IAM",
		"--parameters", "ParameterKey=Retention,UsePreviousValue=true").Fails(t, "No updates are to be performed.")

	// Another stack imports the role's export: the exporting stack
	// cannot be deleted while it does.
	consumer := write("consumer.yaml", `
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: /stacks/consumer
      Tags:
        - Key: role
          Value: !ImportValue app-role
Outputs:
  Role:
    Value: !ImportValue app-role
`)
	s.AWS(t, "cloudformation", "create-stack", "--stack-name", "consumer", "--template-body", consumer).OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-create-complete", "--stack-name", "consumer").OK(t)
	if got := stackOutputs(t, s, "consumer")["Role"]; got != st.Outputs[1].OutputValue {
		t.Errorf("the imported value: %q", got)
	}
	wantOutput(t, s.AWS(t, "cloudformation", "list-exports").OK(t), `"Name": "app-role"`)
	wantOutput(t, s.AWSv2(t, "cloudformation", "list-imports", "--export-name", "app-role").OK(t), `"consumer"`)
	s.AWS(t, "cloudformation", "update-termination-protection", "--stack-name", "app", "--enable-termination-protection").OK(t)
	s.AWS(t, "cloudformation", "delete-stack", "--stack-name", "app").Fails(t, "cannot be deleted while TerminationProtection is enabled")
	s.AWS(t, "cloudformation", "update-termination-protection", "--stack-name", "app", "--no-enable-termination-protection").OK(t)
	s.AWS(t, "cloudformation", "delete-stack", "--stack-name", "app").OK(t)
	waitFor(t, time.Minute, "the deletion to fail", func() bool {
		return strings.Contains(s.AWS(t, "cloudformation", "describe-stacks", "--stack-name", "app").OK(t).Stdout, `"DELETE_FAILED"`)
	})
	wantOutput(t, s.AWS(t, "cloudformation", "describe-stacks", "--stack-name", "app").OK(t), "Export app-role cannot be deleted as it is in use by consumer")
	wantOutput(t, s.AWS(t, "logs", "describe-log-groups", "--log-group-name-prefix", "/stacks/app").OK(t), `"/stacks/app"`)
	s.AWS(t, "cloudformation", "delete-stack", "--stack-name", "consumer").OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-delete-complete", "--stack-name", "consumer").OK(t)

	// Deleting removes every resource; the stack is then found by id only.
	s.AWS(t, "cloudformation", "delete-stack", "--stack-name", "app").OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-delete-complete", "--stack-name", "app").OK(t)
	s.AWS(t, "cloudformation", "describe-stacks", "--stack-name", "app").Fails(t, "Stack with id app does not exist")
	wantOutput(t, s.AWS(t, "cloudformation", "describe-stacks", "--stack-name", created.StackId).OK(t), "DELETE_COMPLETE")
	wantOutput(t, s.AWS(t, "logs", "describe-log-groups", "--log-group-name-prefix", "/stacks/app").OK(t), `"logGroups": []`)
	wantOutput(t, s.AWS(t, "ecs", "describe-clusters", "--clusters", physical["Cluster"]).OK(t), `"INACTIVE"`)
	s.AWS(t, "iam", "get-role", "--role-name", physical["Role"]).Fails(t, "NoSuchEntity")
	s.AWS(t, "ec2", "describe-security-groups", "--group-ids", physical["Group"]).Fails(t, "InvalidGroup.NotFound")
	wantOutput(t, s.AWS(t, "cloudformation", "list-stacks", "--stack-status-filter", "DELETE_COMPLETE").OK(t), created.StackId)
}

// templateFile writes a template into dir and returns it as the CLI's
// file:// argument.
func templateFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + path
}

// wantOutput fails the test unless a command's output mentions want.
func wantOutput(t *testing.T, r Result, want string) {
	t.Helper()
	if !strings.Contains(r.Stdout, want) {
		t.Errorf("want output mentioning %q, got:\n%s", want, r.Stdout)
	}
}
