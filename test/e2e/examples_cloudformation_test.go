package e2e

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// The setups of the examples of CloudFormation: the stacks, change sets
// and exports the documented commands name, made in the example's region
// with the aws CLI, and the templates they read.
//
// berth provisions no S3 buckets or Lambda functions, which the
// documentation's stacks hold: log groups and SSM parameters stand in for
// them, under the documented logical ids (a resource's type is a free
// string to the comparison). The stand-ins make no IAM entities, so that
// the examples need not take turns with IAM's (globalExample).
func init() {
	for id, setup := range cloudFormationExampleSetups {
		if _, dup := exampleSetups[id]; dup {
			panic("two setups for " + id)
		}
		exampleSetups[id] = setup
	}
}

// The documentation's change sets, by the ids their ARNs end with.
const (
	// docChangeSetID is my-change-set's id in the ARN execute-change-set
	// and describe-change-set name it by.
	docChangeSetID = "bc9555ba-a949-xmpl-bfb8-f41d04ec5784"
	// docDeletedChangeSetID is my-change-set's id in the ARN
	// delete-change-set names it by.
	docDeletedChangeSetID = "4eca1a01-e285-xmpl-8026-9a1967bfb4b0"
)

// cloudFormationExampleSetups are the setups of the examples of
// CloudFormation, as exampleSetups'.
var cloudFormationExampleSetups = map[string]func(e *exampleEnv){
	// The templates the commands name, as the documented answers describe
	// them.
	"cloudformation/validate-template#1": func(e *exampleEnv) {
		e.templateFile("sampletemplate.json", `{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Description": "AWS CloudFormation Sample Template S3_Bucket: Sample template showing how to create a publicly accessible S3 bucket. **WARNING** This template creates an S3 bucket. You will be billed for the AWS resources used if you create a stack from this template.",
  "Resources": {"S3Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"AccessControl": "PublicRead"}}},
  "Outputs": {"BucketName": {"Value": {"Ref": "S3Bucket"}}}
}`)
	},
	"cloudformation/get-template-summary#1": func(e *exampleEnv) {
		e.templateFile("template.yaml", `AWSTemplateFormatVersion: "2010-09-09"
Description: A VPC and subnets.
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.0.0.0/16}
  SubnetA:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24}
  SubnetB:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24}
  RouteTable:
    Type: AWS::EC2::RouteTable
    Properties: {VpcId: !Ref Vpc}
  S3Endpoint:
    Type: AWS::EC2::VPCEndpoint
    Properties: {VpcId: !Ref Vpc, ServiceName: !Sub "com.amazonaws.${AWS::Region}.s3", RouteTableIds: [!Ref RouteTable]}
  AssociationA:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref SubnetA, RouteTableId: !Ref RouteTable}
  AssociationB:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref SubnetB, RouteTableId: !Ref RouteTable}
  DynamoDBEndpoint:
    Type: AWS::EC2::VPCEndpoint
    Properties: {VpcId: !Ref Vpc, ServiceName: !Sub "com.amazonaws.${AWS::Region}.dynamodb", RouteTableIds: [!Ref RouteTable]}
`)
	},
	// The template create-stack names, with the parameters it gives.
	"cloudformation/create-stack#1": func(e *exampleEnv) {
		e.templateFile("sampletemplate.json", `{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Description": "A key pair's name and subnets, kept as an SSM parameter.",
  "Parameters": {
    "KeyPairName": {"Type": "String", "Description": "The key pair of the instances"},
    "SubnetIDs": {"Type": "CommaDelimitedList", "Description": "The subnets of the instances"}
  },
  "Resources": {
    "Settings": {"Type": "AWS::SSM::Parameter", "Properties": {
      "Type": "StringList",
      "Description": {"Fn::Sub": "The subnets of the instances with the key pair ${KeyPairName}"},
      "Value": {"Fn::Join": [",", {"Ref": "SubnetIDs"}]}
    }}
  }
}`)
	},
	// deploy's template, with the parameters it overrides, at the path
	// the command names.
	"cloudformation/deploy#1": func(e *exampleEnv) {
		path := e.writeTemplate(`{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Parameters": {"Key1": {"Type": "String"}, "Key2": {"Type": "String"}},
  "Resources": {
    "Settings": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": {"Fn::Sub": "${Key1} ${Key2}"}}}
  }
}`)
		e.sub("/path_to_template/template.json", path)
	},

	// Stacks that are there.
	"cloudformation/delete-stack#1":                  func(e *exampleEnv) { e.docFunctionStack("my-stack", false) },
	"cloudformation/update-termination-protection#1": func(e *exampleEnv) { e.docFunctionStack("my-stack", false) },
	"cloudformation/describe-stack-resources#1":      func(e *exampleEnv) { e.docFunctionStack("my-stack", true) },
	"cloudformation/list-stack-resources#1":          func(e *exampleEnv) { e.docFunctionStack("my-stack", true) },
	"cloudformation/describe-stack-events#1": func(e *exampleEnv) {
		e.docFunctionStack("my-stack", true)
		// The documented output follows the command in its block, without
		// an "Output::" of its own: the harness reads it as more words of
		// the command, which the command does not take.
		if i := slices.Index(e.ex.Args, "--max-items"); i >= 0 && i+2 < len(e.ex.Args) {
			e.ex.Args = e.ex.Args[:i+2]
		}
	},
	"cloudformation/describe-stack-resource#1": func(e *exampleEnv) {
		// MyFunction, updated since the stack's creation, with empty
		// metadata.
		const function = `Resources:
  MyFunction:
    Type: AWS::Logs::LogGroup
    Metadata: {}
    Properties: {RetentionInDays: %d}
`
		e.createStack("MyStack", fmt.Sprintf(function, 7))
		e.updateStack("MyStack", fmt.Sprintf(function, 14), "UPDATE_COMPLETE")
	},
	"cloudformation/describe-stacks#1": func(e *exampleEnv) {
		e.sampleStack("myteststack", e.documentedOutput("Stacks", 0, "Description"))
	},
	"cloudformation/list-stacks#1": func(e *exampleEnv) {
		e.sampleStack("myteststack", e.documentedOutput(0, "TemplateDescription"))
	},
	"cloudformation/get-template#1": func(e *exampleEnv) {
		// The documented template, whose bucket berth does not provision:
		// the stack's creation fails and rolls back, and the stack keeps
		// its template.
		e.createStackStatus("myteststack", string(e.documentedOutput("TemplateBody")), "ROLLBACK_COMPLETE")
	},
	// A stack whose template takes no parameters, which
	// --use-previous-template would need values of.
	"cloudformation/update-stack#3": func(e *exampleEnv) { e.docFunctionStack("mystack", false) },

	// Change sets.
	"cloudformation/create-change-set#1": func(e *exampleEnv) {
		e.createStack("my-application", "Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n")
		// The new template adds an IAM role, which the change set
		// acknowledges; the role is made only when the change set runs.
		e.templateFile("template.yaml", `Resources:
  Logs:
    Type: AWS::Logs::LogGroup
  functionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: "sts:AssumeRole"}
`)
	},
	"cloudformation/describe-change-set#1": func(e *exampleEnv) { e.docChangeSet("my-stack") },
	"cloudformation/describe-change-set#2": func(e *exampleEnv) { e.sub(docChangeSetID, lastPart(e.docChangeSet("my-stack"))) },
	"cloudformation/execute-change-set#1":  func(e *exampleEnv) { e.docChangeSet("my-stack") },
	"cloudformation/execute-change-set#2":  func(e *exampleEnv) { e.sub(docChangeSetID, lastPart(e.docChangeSet("my-stack"))) },
	"cloudformation/delete-change-set#1":   func(e *exampleEnv) { e.docChangeSet("my-stack") },
	"cloudformation/delete-change-set#2": func(e *exampleEnv) {
		e.sub(docDeletedChangeSetID, lastPart(e.docChangeSet("my-stack")))
	},
	"cloudformation/list-change-sets#1": func(e *exampleEnv) { e.docChangeSet("my-stack") },

	// Exports and imports.
	"cloudformation/list-exports#1": func(e *exampleEnv) { e.privateVPCStack() },
	"cloudformation/list-imports#1": func(e *exampleEnv) {
		e.privateVPCStack()
		e.createStack("my-database-stack", `Resources:
  Database:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !ImportValue private-vpc-vpcid}
`)
	},

	// Updates that do not end by themselves.
	"cloudformation/cancel-update-stack#1": func(e *exampleEnv) { e.stuckUpdate("myteststack") },
	"cloudformation/continue-update-rollback#1": func(e *exampleEnv) {
		// The stack's log group is deleted behind its back: the update
		// of its retention fails, and so does the rollback's.
		e.docFunctionStack("my-stack", false)
		group := strings.TrimSpace(e.cfn("describe-stack-resource", "--stack-name", "my-stack", "--logical-resource-id", "function",
			"--query", "StackResourceDetail.PhysicalResourceId", "--output", "text").Stdout)
		_, err := e.logs.DeleteLogGroup(e.ctx(), &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)})
		e.must(err)
		e.updateStack("my-stack", functionStackTemplate(14), "UPDATE_ROLLBACK_FAILED")
	},
}

// cfn runs an aws cloudformation command in the example's region, which
// must succeed.
func (e *exampleEnv) cfn(args ...string) Result {
	e.t.Helper()
	return e.aws(append([]string{"--region", e.region, "cloudformation"}, args...)...).OK(e.t)
}

// writeTemplate writes a template into the example's directory and
// returns its path.
func (e *exampleEnv) writeTemplate(body string) string {
	e.t.Helper()
	f, err := os.CreateTemp(e.dir, "stack-*.template")
	e.must(err)
	_, err = f.WriteString(body)
	e.must(err)
	e.must(f.Close())
	return f.Name()
}

// createStack creates a stack from a template and waits until it is
// CREATE_COMPLETE.
func (e *exampleEnv) createStack(name, body string) {
	e.t.Helper()
	e.createStackStatus(name, body, "CREATE_COMPLETE")
}

// createStackStatus creates a stack from a template and waits until its
// creation ends in status.
func (e *exampleEnv) createStackStatus(name, body, status string) {
	e.t.Helper()
	e.cfn("create-stack", "--stack-name", name, "--template-body", "file://"+e.writeTemplate(body))
	e.waitStack(name, status)
}

// updateStack updates a stack to a template and waits until the update
// ends in status.
func (e *exampleEnv) updateStack(name, body, status string) {
	e.t.Helper()
	e.cfn("update-stack", "--stack-name", name, "--template-body", "file://"+e.writeTemplate(body))
	e.waitStack(name, status)
}

// waitStack waits until the stack's operation has ended, in status.
func (e *exampleEnv) waitStack(name, status string) {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got := strings.TrimSpace(e.cfn("describe-stacks", "--stack-name", name, "--query", "Stacks[0].StackStatus", "--output", "text").Stdout)
		if got == status {
			return
		}
		if !strings.HasSuffix(got, "_IN_PROGRESS") || time.Now().After(deadline) {
			failures := e.cfn("describe-stack-events", "--stack-name", name, "--query",
				"StackEvents[?ends_with(ResourceStatus, '_FAILED')].[LogicalResourceId,ResourceStatus,ResourceStatusReason]", "--output", "text")
			e.t.Fatalf("setup: stack %s is %s, not %s; failures:\n%s", name, got, status, failures.Stdout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// functionStackTemplate is the documentation's my-stack: a bucket, a
// function and the function's role (describe-stack-resources), with the
// function's setting that updates change.
func functionStackTemplate(retention int) string {
	return fmt.Sprintf(`Description: A bucket, a function and its role, as log groups and an SSM parameter.
Resources:
  bucket:
    Type: AWS::Logs::LogGroup
  function:
    Type: AWS::Logs::LogGroup
    Properties: {RetentionInDays: %d}
  functionRole:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: function-role}
`, retention)
}

// docFunctionStack creates the documentation's my-stack (functionStackTemplate)
// under name and, if updated, updates its function, as the documented
// resources show.
func (e *exampleEnv) docFunctionStack(name string, updated bool) {
	e.t.Helper()
	e.createStack(name, functionStackTemplate(7))
	if updated {
		e.updateStack(name, functionStackTemplate(14), "UPDATE_COMPLETE")
	}
}

// docChangeSet creates the stack (docFunctionStack) and its change set
// my-change-set, which modifies the function's setting, with the IAM
// capability acknowledged as the documented one has it; it returns the
// change set's ARN.
func (e *exampleEnv) docChangeSet(stack string) string {
	e.t.Helper()
	e.docFunctionStack(stack, false)
	return strings.TrimSpace(e.cfn("create-change-set", "--stack-name", stack, "--change-set-name", "my-change-set",
		"--template-body", "file://"+e.writeTemplate(functionStackTemplate(14)), "--capabilities", "CAPABILITY_IAM",
		"--query", "Id", "--output", "text").Stdout)
}

// sampleStack creates the stack of the sample template the documentation
// describes (a bucket and its name as an output), with the documented
// description; a log group stands in for the bucket.
func (e *exampleEnv) sampleStack(name string, description []byte) {
	e.t.Helper()
	e.createStack(name, `{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Description": `+string(description)+`,
  "Resources": {"S3Bucket": {"Type": "AWS::Logs::LogGroup"}},
  "Outputs": {"BucketName": {"Description": "Name of S3 bucket to hold website content", "Value": {"Ref": "S3Bucket"}}}
}`)
}

// privateVPCStack creates the stack private-vpc, which exports its VPC's
// and subnets' ids. They are the documented ones, kept in an SSM
// parameter: a VPC of its own would take a range of the host's network
// for every example that makes the stack.
func (e *exampleEnv) privateVPCStack() {
	e.t.Helper()
	e.createStack("private-vpc", `Description: A private VPC's ids, exported.
Parameters:
  VpcId: {Type: String, Default: vpc-011d7xmpl100e9841}
  SubnetA: {Type: String, Default: subnet-07b410xmplddcfa03}
  SubnetB: {Type: String, Default: subnet-075ed3xmplebd2fb1}
Resources:
  Network:
    Type: AWS::SSM::Parameter
    Properties: {Type: StringList, Value: !Join [",", [!Ref VpcId, !Ref SubnetA, !Ref SubnetB]]}
Outputs:
  VpcId:
    Value: !Ref VpcId
    Export: {Name: !Sub "${AWS::StackName}-vpcid"}
  SubnetA:
    Value: !Ref SubnetA
    Export: {Name: !Sub "${AWS::StackName}-subnet-a"}
  SubnetB:
    Value: !Ref SubnetB
    Export: {Name: !Sub "${AWS::StackName}-subnet-b"}
`)
}

// stuckServiceTemplate is a cluster with a service of a task definition
// whose container needs memory MiB, running count tasks.
const stuckServiceTemplate = `Description: A service whose update cannot finish.
Resources:
  Cluster:
    Type: AWS::ECS::Cluster
  TaskDefinition:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - {Name: web, Image: %q, Memory: %d, Essential: true}
  Service:
    Type: AWS::ECS::Service
    Properties:
      Cluster: !Ref Cluster
      TaskDefinition: !Ref TaskDefinition
      DesiredCount: %d
`

// stuckUpdate leaves the stack name in UPDATE_IN_PROGRESS: it creates a
// service that runs no task, then updates it to a task that no container
// instance has the memory for, so that the service's deployment, which
// the update waits for, never completes. Cancelling the update rolls the
// service back to no task.
func (e *exampleEnv) stuckUpdate(name string) {
	e.t.Helper()
	e.createStack(name, fmt.Sprintf(stuckServiceTemplate, e.image, 64, 0))
	e.cfn("update-stack", "--stack-name", name, "--template-body",
		"file://"+e.writeTemplate(fmt.Sprintf(stuckServiceTemplate, e.image, 4<<20, 1)))
	// The new task definition is there and the service waits for its
	// deployment.
	deadline := time.Now().Add(time.Minute)
	for {
		out := e.cfn("describe-stack-resources", "--stack-name", name, "--query",
			"StackResources[].[LogicalResourceId,ResourceStatus]", "--output", "text").Stdout
		status := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(line); len(f) == 2 {
				status[f[0]] = f[1]
			}
		}
		if status["TaskDefinition"] == "UPDATE_COMPLETE" && status["Service"] == "UPDATE_IN_PROGRESS" {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("setup: the update of %s did not reach its service: %v", name, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.checkStackStatus(name, "UPDATE_IN_PROGRESS")
}

// checkStackStatus fails the setup unless the stack is in status.
func (e *exampleEnv) checkStackStatus(name, status string) {
	e.t.Helper()
	got := strings.TrimSpace(e.cfn("describe-stacks", "--stack-name", name, "--query", "Stacks[0].StackStatus", "--output", "text").Stdout)
	if got != status {
		e.t.Fatalf("setup: stack %s is %s, not %s", name, got, status)
	}
}
