package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// identityTemplate uses every IAM, Secrets Manager, Systems Manager and
// Cloud Map type berth provisions besides the role, each referring to
// others.
const identityTemplate = `
Parameters:
  VpcId:
    Type: String
  GroupName:
    Type: String
  Action:
    Type: String
    Default: s3:GetObject
  ConfigValue:
    Type: String
    Default: a,b
  NamespaceDescription:
    Type: String
    Default: first
  KeySerial:
    Type: Number
    Default: 1
  KeyStatus:
    Type: String
    Default: Active
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: ecs-tasks.amazonaws.com}
            Action: sts:AssumeRole
  User:
    Type: AWS::IAM::User
    Properties:
      UserName: !Sub '${AWS::StackName}-user'
      Path: /app/
      Groups: [!Ref GroupName]
      ManagedPolicyArns: [arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly]
      Policies:
        - PolicyName: own
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - {Effect: Allow, Action: 'logs:CreateLogStream', Resource: '*'}
      Tags:
        - {Key: team, Value: identity}
  Inline:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: app-inline
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Action: [!Ref Action, 'secretsmanager:GetSecretValue']
            Resource: [!Ref Secret, 'arn:aws:s3:::bucket/*']
      Roles: [!Ref Role]
      Users: [!Ref User]
  Managed:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      ManagedPolicyName: !Sub '${AWS::StackName}-managed'
      Description: the stack's managed policy
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - {Effect: Allow, Action: !Ref Action, Resource: 'arn:aws:s3:::bucket/*'}
      Roles: [!Ref Role]
      Groups: [!Ref GroupName]
  Key:
    Type: AWS::IAM::AccessKey
    Properties:
      UserName: !Ref User
      Serial: !Ref KeySerial
      Status: !Ref KeyStatus
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties:
      Description: generated
      GenerateSecretString:
        SecretStringTemplate: '{"username": "app"}'
        GenerateStringKey: password
        PasswordLength: 20
        ExcludePunctuation: true
      Tags:
        - {Key: team, Value: identity}
  Credentials:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub '${AWS::StackName}/credentials'
      SecretString: !Sub '{"id": "${Key}", "secret": "${Key.SecretAccessKey}"}'
  SecretArn:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub '/${AWS::StackName}/secret-arn'
      Type: String
      Value: !Ref Secret
      Description: where the secret is
      Tags: {team: identity}
  Config:
    Type: AWS::SSM::Parameter
    Properties:
      Type: StringList
      Value: !Ref ConfigValue
  Namespace:
    Type: AWS::ServiceDiscovery::PrivateDnsNamespace
    Properties:
      Name: !Sub '${AWS::StackName}.internal'
      Vpc: !Ref VpcId
      Description: !Ref NamespaceDescription
      Properties:
        DnsProperties:
          SOA: {TTL: 60}
      Tags:
        - {Key: team, Value: identity}
  Discovery:
    Type: AWS::ServiceDiscovery::Service
    Properties:
      Name: api
      Description: the api
      DnsConfig:
        NamespaceId: !Ref Namespace
        RoutingPolicy: MULTIVALUE
        DnsRecords:
          - {Type: A, TTL: 10}
      HealthCheckCustomConfig:
        FailureThreshold: 1
Outputs:
  InlineRef: {Value: !Ref Inline}
  InlineId: {Value: !GetAtt Inline.Id}
  ManagedRef: {Value: !Ref Managed}
  ManagedArn: {Value: !GetAtt Managed.PolicyArn}
  ManagedId: {Value: !GetAtt Managed.PolicyId}
  ManagedVersion: {Value: !GetAtt Managed.DefaultVersionId}
  ManagedAttachments: {Value: !GetAtt Managed.AttachmentCount}
  UserRef: {Value: !Ref User}
  UserArn: {Value: !GetAtt User.Arn}
  KeyRef: {Value: !Ref Key}
  SecretRef: {Value: !Ref Secret}
  SecretId: {Value: !GetAtt Secret.Id}
  ParameterRef: {Value: !Ref SecretArn}
  ParameterValue: {Value: !GetAtt SecretArn.Value}
  ConfigType: {Value: !GetAtt Config.Type}
  ConfigValue: {Value: !GetAtt Config.Value}
  NamespaceRef: {Value: !Ref Namespace}
  NamespaceId: {Value: !GetAtt Namespace.Id}
  NamespaceArn: {Value: !GetAtt Namespace.Arn}
  HostedZone: {Value: !GetAtt Namespace.HostedZoneId}
  ServiceRef: {Value: !Ref Discovery}
  ServiceId: {Value: !GetAtt Discovery.Id}
  ServiceArn: {Value: !GetAtt Discovery.Arn}
  ServiceName: {Value: !GetAtt Discovery.Name}
`

// TestCloudFormationIdentityAndConfigResources: a stack of IAM policies, a
// user with an access key, secrets, parameters and a Cloud Map namespace
// with a service is made, checked in each service with the real CLI,
// updated in place (policy documents, a parameter's value, the
// namespace's description) and by replacement (the access key's
// Serial), and deleted with nothing left behind.
func TestCloudFormationIdentityAndConfigResources(t *testing.T) {
	t.Parallel()
	s := StartServer(t, ServerOptions{})
	body := templateFile(t, t.TempDir(), "identity.yaml", identityTemplate)
	vpc := strings.TrimSpace(s.AWS(t, "ec2", "describe-vpcs", "--filters", "Name=is-default,Values=true",
		"--query", "Vpcs[0].VpcId", "--output", "text").OK(t).Stdout)
	if !strings.HasPrefix(vpc, "vpc-") {
		t.Fatalf("default VPC: %q", vpc)
	}
	// The group is the account's, not the stack's: the user joins it and
	// the managed policy is attached to it.
	s.AWS(t, "iam", "create-group", "--group-name", "developers").OK(t)
	params := func(extra ...string) []string {
		return append([]string{"--parameters", "ParameterKey=VpcId,ParameterValue=" + vpc, "ParameterKey=GroupName,ParameterValue=developers"}, extra...)
	}

	// Named IAM resources need CAPABILITY_NAMED_IAM.
	create := append([]string{"cloudformation", "create-stack", "--stack-name", "ident", "--template-body", body}, params()...)
	s.AWS(t, append(create, "--capabilities", "CAPABILITY_IAM")...).Fails(t, "CAPABILITY_NAMED_IAM")
	s.AWS(t, append(create, "--capabilities", "CAPABILITY_NAMED_IAM")...).OK(t)
	identityWait(t, s, "stack-create-complete", "ident")

	out := stackOutputs(t, s, "ident")
	physical := identityStackResources(t, s, "ident")
	role := physical["Role"]
	for name, pattern := range map[string]string{
		"InlineRef":          `^ident-Inlin-[A-Z0-9]{12}$`,
		"ManagedRef":         `^arn:aws:iam::\d{12}:policy/ident-managed$`,
		"ManagedId":          `^ANPA[A-Z2-7]{17}$`,
		"ManagedVersion":     `^v1$`,
		"ManagedAttachments": `^2$`,
		"UserRef":            `^ident-user$`,
		"UserArn":            `^arn:aws:iam::\d{12}:user/app/ident-user$`,
		"KeyRef":             `^AKIA[A-Z0-9]{16}$`,
		"SecretRef":          `^arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:ident-Secret-[A-Za-z0-9]{12}-[A-Za-z0-9]{6}$`,
		"ParameterRef":       `^/ident/secret-arn$`,
		"ConfigType":         `^StringList$`,
		"ConfigValue":        `^a,b$`,
		"NamespaceRef":       `^ns-[a-z0-9]+$`,
		"NamespaceArn":       `^arn:aws:servicediscovery:[a-z0-9-]+:\d{12}:namespace/ns-[a-z0-9]+$`,
		"HostedZone":         `^Z[A-Z0-9]+$`,
		"ServiceRef":         `^srv-[a-z0-9]+$`,
		"ServiceArn":         `^arn:aws:servicediscovery:[a-z0-9-]+:\d{12}:service/srv-[a-z0-9]+$`,
		"ServiceName":        `^api$`,
	} {
		if !regexp.MustCompile(pattern).MatchString(out[name]) {
			t.Errorf("output %s = %q, want %s", name, out[name], pattern)
		}
	}
	for ref, att := range map[string]string{"InlineRef": "InlineId", "ManagedRef": "ManagedArn", "SecretRef": "SecretId",
		"NamespaceRef": "NamespaceId", "ServiceRef": "ServiceId"} {
		if out[ref] != out[att] {
			t.Errorf("%s %q differs from %s %q", ref, out[ref], att, out[att])
		}
	}
	if out["ParameterValue"] != out["SecretRef"] || physical["SecretArn"] != out["ParameterRef"] || physical["Inline"] != out["InlineRef"] {
		t.Errorf("outputs %v, resources %v", out, physical)
	}

	// IAM: the inline policy on the role and the user, the managed policy
	// on the role and the group, the user with its path, group, policies,
	// tags and key.
	wantOutput(t, s.AWS(t, "iam", "get-role-policy", "--role-name", role, "--policy-name", "app-inline").OK(t), "s3:GetObject")
	wantOutput(t, s.AWS(t, "iam", "get-user-policy", "--user-name", "ident-user", "--policy-name", "app-inline").OK(t), out["SecretRef"])
	wantOutput(t, s.AWS(t, "iam", "get-user-policy", "--user-name", "ident-user", "--policy-name", "own").OK(t), "logs:CreateLogStream")
	wantOutput(t, s.AWS(t, "iam", "list-attached-user-policies", "--user-name", "ident-user").OK(t), "AmazonEC2ContainerRegistryReadOnly")
	wantOutput(t, s.AWS(t, "iam", "list-groups-for-user", "--user-name", "ident-user").OK(t), `"GroupName": "developers"`)
	wantOutput(t, s.AWS(t, "iam", "list-user-tags", "--user-name", "ident-user").OK(t), `"Value": "identity"`)
	entities := s.AWS(t, "iam", "list-entities-for-policy", "--policy-arn", out["ManagedRef"]).OK(t)
	wantOutput(t, entities, role)
	wantOutput(t, entities, `"GroupName": "developers"`)
	wantOutput(t, s.AWS(t, "iam", "get-policy", "--policy-arn", out["ManagedRef"]).OK(t), "the stack's managed policy")
	var keys struct {
		AccessKeyMetadata []struct{ AccessKeyId, Status string }
	}
	s.AWS(t, "iam", "list-access-keys", "--user-name", "ident-user").OK(t).Decode(t, &keys)
	if len(keys.AccessKeyMetadata) != 1 || keys.AccessKeyMetadata[0].AccessKeyId != out["KeyRef"] || keys.AccessKeyMetadata[0].Status != "Active" {
		t.Errorf("access keys: %+v", keys)
	}

	// Secrets Manager: the generated password in its template, and the
	// key's secret in the other secret.
	secret := map[string]string{}
	secretValue := func(id string) {
		t.Helper()
		var v struct{ SecretString string }
		s.AWS(t, "secretsmanager", "get-secret-value", "--secret-id", id).OK(t).Decode(t, &v)
		secret = map[string]string{}
		if err := json.Unmarshal([]byte(v.SecretString), &secret); err != nil {
			t.Fatalf("secret %s: %q: %v", id, v.SecretString, err)
		}
	}
	secretValue(out["SecretRef"])
	if secret["username"] != "app" || !regexp.MustCompile(`^[A-Za-z0-9]{20}$`).MatchString(secret["password"]) {
		t.Errorf("generated secret: %v", secret)
	}
	wantOutput(t, s.AWS(t, "secretsmanager", "describe-secret", "--secret-id", out["SecretRef"]).OK(t), `"Value": "identity"`)
	secretValue("ident/credentials")
	if secret["id"] != out["KeyRef"] || len(secret["secret"]) != 40 {
		t.Errorf("credentials secret: %v", secret)
	}

	// Systems Manager: the secret's ARN, tagged; the list.
	wantOutput(t, s.AWS(t, "ssm", "get-parameter", "--name", "/ident/secret-arn").OK(t), out["SecretRef"])
	wantOutput(t, s.AWS(t, "ssm", "list-tags-for-resource", "--resource-type", "Parameter", "--resource-id", "/ident/secret-arn").OK(t), `"Value": "identity"`)
	wantOutput(t, s.AWS(t, "ssm", "get-parameter", "--name", physical["Config"]).OK(t), `"Value": "a,b"`)

	// Cloud Map: the namespace in the VPC with its SOA TTL and hosted
	// zone, the service in it.
	ns := s.AWS(t, "servicediscovery", "get-namespace", "--id", out["NamespaceRef"]).OK(t)
	wantOutput(t, ns, `"Description": "first"`)
	wantOutput(t, ns, `"HostedZoneId": "`+out["HostedZone"]+`"`)
	wantOutput(t, ns, `"TTL": 60`)
	wantOutput(t, s.AWS(t, "servicediscovery", "list-tags-for-resource", "--resource-arn", out["NamespaceArn"]).OK(t), `"Value": "identity"`)
	svc := s.AWS(t, "servicediscovery", "get-service", "--id", out["ServiceRef"]).OK(t)
	wantOutput(t, svc, `"NamespaceId": "`+out["NamespaceRef"]+`"`)
	wantOutput(t, svc, `"RoutingPolicy": "MULTIVALUE"`)
	wantOutput(t, svc, `"Description": "the api"`)

	// The update changes the policies' documents, a parameter's value and
	// the namespace's description in place, and replaces the access key
	// (a new Serial), whose id the credentials secret follows.
	s.AWS(t, append([]string{"cloudformation", "update-stack", "--stack-name", "ident", "--use-previous-template",
		"--capabilities", "CAPABILITY_NAMED_IAM"}, params("ParameterKey=Action,ParameterValue=s3:PutObject",
		`ParameterKey=ConfigValue,ParameterValue=a\,b\,c`, "ParameterKey=NamespaceDescription,ParameterValue=second",
		"ParameterKey=KeySerial,ParameterValue=2", "ParameterKey=KeyStatus,ParameterValue=Inactive")...)...).OK(t)
	identityWait(t, s, "stack-update-complete", "ident")
	after := stackOutputs(t, s, "ident")
	for _, same := range []string{"InlineRef", "ManagedRef", "UserRef", "SecretRef", "NamespaceRef", "ServiceRef", "HostedZone"} {
		if after[same] != out[same] {
			t.Errorf("%s changed in an update in place: %q -> %q", same, out[same], after[same])
		}
	}
	if after["ManagedVersion"] != "v2" || after["ConfigValue"] != "a,b,c" || after["KeyRef"] == out["KeyRef"] {
		t.Errorf("outputs after the update: %v", after)
	}
	wantOutput(t, s.AWS(t, "iam", "get-role-policy", "--role-name", role, "--policy-name", "app-inline").OK(t), "s3:PutObject")
	wantOutput(t, s.AWS(t, "iam", "get-user-policy", "--user-name", "ident-user", "--policy-name", "app-inline").OK(t), "s3:PutObject")
	wantOutput(t, s.AWS(t, "iam", "get-policy-version", "--policy-arn", out["ManagedRef"], "--version-id", "v2").OK(t), "s3:PutObject")
	wantOutput(t, s.AWS(t, "iam", "get-policy", "--policy-arn", out["ManagedRef"]).OK(t), `"DefaultVersionId": "v2"`)
	wantOutput(t, s.AWS(t, "ssm", "get-parameter", "--name", physical["Config"]).OK(t), `"Version": 2`)
	wantOutput(t, s.AWS(t, "servicediscovery", "get-namespace", "--id", out["NamespaceRef"]).OK(t), `"Description": "second"`)
	s.AWS(t, "iam", "list-access-keys", "--user-name", "ident-user").OK(t).Decode(t, &keys)
	if len(keys.AccessKeyMetadata) != 1 || keys.AccessKeyMetadata[0].AccessKeyId != after["KeyRef"] || keys.AccessKeyMetadata[0].Status != "Inactive" {
		t.Errorf("access keys after the rotation: %+v", keys)
	}
	secretValue("ident/credentials")
	if secret["id"] != after["KeyRef"] {
		t.Errorf("credentials secret after the rotation: %v", secret)
	}

	// Deleting the stack leaves nothing of it in any service; the group
	// made outside it stays, emptied of the stack's user and policy.
	s.AWS(t, "cloudformation", "delete-stack", "--stack-name", "ident").OK(t)
	identityWait(t, s, "stack-delete-complete", "ident")
	s.AWS(t, "iam", "get-user", "--user-name", "ident-user").Fails(t, "NoSuchEntity")
	s.AWS(t, "iam", "get-role", "--role-name", role).Fails(t, "NoSuchEntity")
	s.AWS(t, "iam", "get-policy", "--policy-arn", out["ManagedRef"]).Fails(t, "NoSuchEntity")
	group := s.AWS(t, "iam", "get-group", "--group-name", "developers").OK(t)
	wantOutput(t, group, `"Users": []`)
	wantOutput(t, s.AWS(t, "iam", "list-attached-group-policies", "--group-name", "developers").OK(t), `"AttachedPolicies": []`)
	wantOutput(t, s.AWS(t, "secretsmanager", "list-secrets").OK(t), `"SecretList": []`)
	s.AWS(t, "secretsmanager", "describe-secret", "--secret-id", out["SecretRef"]).Fails(t, "ResourceNotFoundException")
	wantOutput(t, s.AWS(t, "ssm", "describe-parameters").OK(t), `"Parameters": []`)
	wantOutput(t, s.AWS(t, "servicediscovery", "list-namespaces").OK(t), `"Namespaces": []`)
	wantOutput(t, s.AWS(t, "servicediscovery", "list-services").OK(t), `"Services": []`)
}

// identityStackResources maps a stack's logical ids to physical ids.
func identityStackResources(t *testing.T, s *Server, stack string) map[string]string {
	t.Helper()
	var resources struct {
		StackResourceSummaries []struct{ LogicalResourceId, PhysicalResourceId, ResourceStatus string }
	}
	s.AWS(t, "cloudformation", "list-stack-resources", "--stack-name", stack).OK(t).Decode(t, &resources)
	physical := map[string]string{}
	for _, r := range resources.StackResourceSummaries {
		physical[r.LogicalResourceId] = r.PhysicalResourceId
		if !strings.HasSuffix(r.ResourceStatus, "_COMPLETE") {
			t.Errorf("resource %+v", r)
		}
	}
	return physical
}

// identityWait waits for a stack with a waiter; a failure shows why the
// resources failed.
func identityWait(t *testing.T, s *Server, waiter, stack string) {
	t.Helper()
	if r := s.AWS(t, "cloudformation", "wait", waiter, "--stack-name", stack); r.ExitCode != 0 {
		events := s.AWS(t, "cloudformation", "describe-stack-events", "--stack-name", stack, "--query",
			"StackEvents[?ends_with(ResourceStatus, '_FAILED')].[LogicalResourceId,ResourceStatus,ResourceStatusReason]", "--output", "text")
		t.Fatalf("wait %s: %s\nfailures:\n%s", waiter, r.Stderr, events.Stdout)
	}
}
