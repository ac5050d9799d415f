package e2e

import (
	"strings"
	"testing"
	"time"
)

// containersTemplate makes an ECR repository with every setting, a
// cluster, an Auto Scaling group capacity provider (berth keeps its
// settings; it has no Auto Scaling group to scale) and the cluster's
// capacity provider associations, with the Fargate providers too.
const containersTemplate = `
Parameters:
  RepoName: {Type: String, Default: cfn-containers/app}
  Mutability: {Type: String, Default: MUTABLE}
  ScanOnPush: {Type: String, Default: 'true'}
  KeepImages: {Type: Number, Default: 5}
  EmptyOnDelete: {Type: String, Default: 'false'}
  TargetCapacity: {Type: Number, Default: 80}
  SpotWeight: {Type: Number, Default: 1}
Resources:
  Repo:
    Type: AWS::ECR::Repository
    Properties:
      RepositoryName: !Ref RepoName
      ImageTagMutability: !Ref Mutability
      ImageScanningConfiguration:
        ScanOnPush: !Ref ScanOnPush
      EmptyOnDelete: !Ref EmptyOnDelete
      LifecyclePolicy:
        LifecyclePolicyText: !Sub '{"rules":[{"rulePriority":1,"description":"keep ${KeepImages}","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":${KeepImages}},"action":{"type":"expire"}}]}'
      RepositoryPolicyText:
        Version: '2012-10-17'
        Statement:
          - Sid: AccountPull
            Effect: Allow
            Principal:
              AWS: !Sub 'arn:aws:iam::${AWS::AccountId}:root'
            Action: [ecr:BatchGetImage, ecr:GetDownloadUrlForLayer]
      Tags:
        - {Key: team, Value: web}
  Cluster:
    Type: AWS::ECS::Cluster
  Provider:
    Type: AWS::ECS::CapacityProvider
    Properties:
      AutoScalingGroupProvider:
        AutoScalingGroupArn: !Sub 'arn:aws:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:6f1c2a7e-0d3b-4c55-9a1e-2b7d9f3c4e10:autoScalingGroupName/${AWS::StackName}-hosts'
        ManagedScaling:
          Status: ENABLED
          TargetCapacity: !Ref TargetCapacity
        ManagedTerminationProtection: DISABLED
      Tags:
        - {Key: team, Value: web}
  Associations:
    Type: AWS::ECS::ClusterCapacityProviderAssociations
    Properties:
      Cluster: !Ref Cluster
      CapacityProviders: [FARGATE, FARGATE_SPOT, !Ref Provider]
      DefaultCapacityProviderStrategy:
        - {CapacityProvider: FARGATE, Base: 1, Weight: 1}
        - {CapacityProvider: FARGATE_SPOT, Weight: !Ref SpotWeight}
        - {CapacityProvider: !Ref Provider, Weight: 2}
Outputs:
  RepoName: {Value: !Ref Repo}
  RepoArn: {Value: !GetAtt Repo.Arn}
  RepoUri: {Value: !GetAtt Repo.RepositoryUri}
  Cluster: {Value: !Ref Cluster}
  Provider: {Value: !Ref Provider}
  Associations: {Value: !Ref Associations}
`

type containersRepo struct {
	RepositoryName, RepositoryArn, RepositoryUri, ImageTagMutability string
	ImageScanningConfiguration                                       struct{ ScanOnPush bool }
}

type containersCluster struct {
	ClusterName, Status             string
	CapacityProviders               []string
	DefaultCapacityProviderStrategy []struct {
		CapacityProvider string
		Base, Weight     int
	}
	Tags []struct{ Key, Value string }
}

// TestCloudFormationContainerResources: ECR repositories, ECS capacity
// providers and cluster capacity provider associations made by a stack,
// checked with the real CLI in their services, changed in place and by
// replacement, and deleted with nothing left; a repository that holds an
// image fails its stack's deletion unless EmptyOnDelete says otherwise,
// and is kept by a deletion that retains it.
func TestCloudFormationContainerResources(t *testing.T) {
	t.Parallel()
	s := StartServer(t, ServerOptions{})
	dir := t.TempDir()
	write := func(name, body string) string { return templateFile(t, dir, name, body) }
	tmpl := write("containers.yaml", containersTemplate)
	start := time.Now()

	s.AWS(t, "cloudformation", "create-stack", "--stack-name", "containers", "--template-body", tmpl,
		"--tags", "Key=stack,Value=containers").OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-create-complete", "--stack-name", "containers").OK(t)
	out := stackOutputs(t, s, "containers")

	// The repository, with its settings, policies and tags (the stack's
	// too).
	repo := describeContainersRepo(t, s, "cfn-containers/app")
	if repo.ImageTagMutability != "MUTABLE" || !repo.ImageScanningConfiguration.ScanOnPush ||
		out["RepoName"] != "cfn-containers/app" || out["RepoArn"] != repo.RepositoryArn || out["RepoUri"] != repo.RepositoryUri ||
		repo.RepositoryArn != "arn:aws:ecr:us-east-1:000000000000:repository/cfn-containers/app" ||
		repo.RepositoryUri != s.RegistryHost+"/cfn-containers/app" {
		t.Fatalf("repository %+v, outputs %v", repo, out)
	}
	wantOutput(t, s.AWS(t, "ecr", "get-lifecycle-policy", "--repository-name", "cfn-containers/app").OK(t), `keep 5`)
	wantOutput(t, s.AWS(t, "ecr", "get-repository-policy", "--repository-name", "cfn-containers/app").OK(t), `AccountPull`)
	tags := s.AWS(t, "ecr", "list-tags-for-resource", "--resource-arn", repo.RepositoryArn).OK(t)
	wantOutput(t, tags, `"Value": "web"`)
	wantOutput(t, tags, `"Value": "containers"`)

	// The capacity provider (named by CloudFormation) and the cluster
	// with its providers and default strategy.
	if !strings.HasPrefix(out["Provider"], "containers-Provider-") || !strings.HasPrefix(out["Cluster"], "containers-Cluster-") ||
		out["Associations"] != out["Cluster"] {
		t.Fatalf("outputs %v", out)
	}
	provider := s.AWS(t, "ecs", "describe-capacity-providers", "--capacity-providers", out["Provider"], "--include", "TAGS").OK(t)
	wantOutput(t, provider, `"targetCapacity": 80`)
	wantOutput(t, provider, `autoScalingGroupName/containers-hosts"`)
	wantOutput(t, provider, `"value": "web"`)
	cluster := describeContainersCluster(t, s, out["Cluster"])
	if strings.Join(cluster.CapacityProviders, ",") != "FARGATE,FARGATE_SPOT,"+out["Provider"] ||
		len(cluster.DefaultCapacityProviderStrategy) != 3 || cluster.DefaultCapacityProviderStrategy[0].Base != 1 ||
		cluster.DefaultCapacityProviderStrategy[1].Weight != 1 || cluster.DefaultCapacityProviderStrategy[2].CapacityProvider != out["Provider"] {
		t.Fatalf("cluster %+v", cluster)
	}

	// In place: tag mutability, scanning, the lifecycle policy, the
	// provider's managed scaling and the default strategy.
	s.AWS(t, "cloudformation", "update-stack", "--stack-name", "containers", "--use-previous-template", "--parameters",
		"ParameterKey=Mutability,ParameterValue=IMMUTABLE", "ParameterKey=ScanOnPush,ParameterValue=false",
		"ParameterKey=KeepImages,ParameterValue=3", "ParameterKey=TargetCapacity,ParameterValue=60",
		"ParameterKey=SpotWeight,ParameterValue=4").OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-update-complete", "--stack-name", "containers").OK(t)
	after := stackOutputs(t, s, "containers")
	repo = describeContainersRepo(t, s, "cfn-containers/app")
	if repo.ImageTagMutability != "IMMUTABLE" || repo.ImageScanningConfiguration.ScanOnPush || after["RepoArn"] != out["RepoArn"] ||
		after["Provider"] != out["Provider"] || after["Cluster"] != out["Cluster"] {
		t.Fatalf("after the update: repository %+v, outputs %v", repo, after)
	}
	wantOutput(t, s.AWS(t, "ecr", "get-lifecycle-policy", "--repository-name", "cfn-containers/app").OK(t), `keep 3`)
	wantOutput(t, s.AWS(t, "ecs", "describe-capacity-providers", "--capacity-providers", out["Provider"]).OK(t), `"targetCapacity": 60`)
	if cluster = describeContainersCluster(t, s, out["Cluster"]); cluster.DefaultCapacityProviderStrategy[1].Weight != 4 {
		t.Fatalf("cluster after the update %+v", cluster)
	}
	replaced := s.AWS(t, "cloudformation", "describe-stack-events", "--stack-name", "containers", "--query",
		"StackEvents[?ResourceStatusReason=='Requested update requires the creation of a new physical resource; hence creating one.'].LogicalResourceId",
		"--output", "text").OK(t).Stdout
	if strings.TrimSpace(replaced) != "" {
		t.Errorf("in-place changes replaced: %s", replaced)
	}

	// By replacement: a new repository name makes a new repository with
	// the same settings, and the old one goes. EmptyOnDelete changes
	// nothing until the repository is deleted.
	s.AWS(t, "cloudformation", "update-stack", "--stack-name", "containers", "--use-previous-template", "--parameters",
		"ParameterKey=RepoName,ParameterValue=cfn-containers/app2", "ParameterKey=EmptyOnDelete,ParameterValue=true",
		"ParameterKey=Mutability,UsePreviousValue=true", "ParameterKey=ScanOnPush,UsePreviousValue=true",
		"ParameterKey=KeepImages,UsePreviousValue=true", "ParameterKey=TargetCapacity,UsePreviousValue=true",
		"ParameterKey=SpotWeight,UsePreviousValue=true").OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-update-complete", "--stack-name", "containers").OK(t)
	after = stackOutputs(t, s, "containers")
	repo = describeContainersRepo(t, s, "cfn-containers/app2")
	if after["RepoName"] != "cfn-containers/app2" || after["RepoArn"] != repo.RepositoryArn || repo.ImageTagMutability != "IMMUTABLE" {
		t.Fatalf("after the replacement: repository %+v, outputs %v", repo, after)
	}
	wantOutput(t, s.AWS(t, "ecr", "get-lifecycle-policy", "--repository-name", "cfn-containers/app2").OK(t), `keep 3`)
	wantOutput(t, s.AWS(t, "ecr", "get-repository-policy", "--repository-name", "cfn-containers/app2").OK(t), `AccountPull`)
	s.AWS(t, "ecr", "describe-repositories", "--repository-names", "cfn-containers/app").Fails(t, "RepositoryNotFoundException")

	// EmptyOnDelete: the stack deletes the repository with its image.
	newImagePusher(t, s, "cfn-containers/app2").push(t, "v1")
	s.AWS(t, "cloudformation", "delete-stack", "--stack-name", "containers").OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-delete-complete", "--stack-name", "containers").OK(t)
	wantOutput(t, s.AWS(t, "ecr", "describe-repositories").OK(t), `"repositories": []`)
	wantOutput(t, s.AWS(t, "ecs", "describe-capacity-providers", "--capacity-providers", out["Provider"]).OK(t), `"reason": "MISSING"`)
	if cluster = describeContainersCluster(t, s, out["Cluster"]); cluster.Status != "INACTIVE" {
		t.Fatalf("cluster after the deletion %+v", cluster)
	}

	// Without EmptyOnDelete, a repository holding an image fails the
	// stack's deletion; a deletion that retains it completes and leaves
	// it, image and all.
	held := write("held.yaml", `
Resources:
  Repo:
    Type: AWS::ECR::Repository
  Cluster:
    Type: AWS::ECS::Cluster
  Associations:
    Type: AWS::ECS::ClusterCapacityProviderAssociations
    Properties:
      Cluster: !Ref Cluster
      CapacityProviders: [FARGATE]
      DefaultCapacityProviderStrategy:
        - {CapacityProvider: FARGATE, Weight: 1}
Outputs:
  RepoName: {Value: !Ref Repo}
  Cluster: {Value: !Ref Cluster}
`)
	s.AWS(t, "cloudformation", "create-stack", "--stack-name", "Held-Images", "--template-body", held).OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-create-complete", "--stack-name", "Held-Images").OK(t)
	heldOut := stackOutputs(t, s, "Held-Images")
	// CloudFormation's name for the repository, in lower case as ECR
	// takes names.
	if !strings.HasPrefix(heldOut["RepoName"], "held-images-repo-") || heldOut["RepoName"] != strings.ToLower(heldOut["RepoName"]) {
		t.Fatalf("outputs %v", heldOut)
	}
	newImagePusher(t, s, heldOut["RepoName"]).push(t, "v1")
	s.AWS(t, "cloudformation", "delete-stack", "--stack-name", "Held-Images").OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-delete-complete", "--stack-name", "Held-Images").Fails(t, "DELETE_FAILED")
	reasons := s.AWS(t, "cloudformation", "describe-stack-events", "--stack-name", "Held-Images", "--query",
		"StackEvents[?ResourceStatus=='DELETE_FAILED'].[LogicalResourceId,ResourceStatusReason]", "--output", "text").OK(t).Stdout
	if !strings.Contains(reasons, "Repo\tResource handler returned message:") || !strings.Contains(reasons, "still contains images") {
		t.Errorf("the deletion's failure:\n%s", reasons)
	}
	if cluster = describeContainersCluster(t, s, heldOut["Cluster"]); cluster.Status != "INACTIVE" {
		t.Errorf("the cluster is deleted all the same: %+v", cluster)
	}
	s.AWS(t, "cloudformation", "delete-stack", "--stack-name", "Held-Images", "--retain-resources", "Repo").OK(t)
	s.AWS(t, "cloudformation", "wait", "stack-delete-complete", "--stack-name", "Held-Images").OK(t)
	wantOutput(t, s.AWS(t, "ecr", "list-images", "--repository-name", heldOut["RepoName"]).OK(t), `"imageTag": "v1"`)
	s.AWS(t, "ecr", "delete-repository", "--repository-name", heldOut["RepoName"], "--force").OK(t)
	t.Logf("stacks made, changed and deleted in %v", time.Since(start))
}

func describeContainersRepo(t *testing.T, s *Server, name string) containersRepo {
	t.Helper()
	var out struct{ Repositories []containersRepo }
	s.AWS(t, "ecr", "describe-repositories", "--repository-names", name).OK(t).Decode(t, &out)
	if len(out.Repositories) != 1 {
		t.Fatalf("repositories: %+v", out)
	}
	return out.Repositories[0]
}

func describeContainersCluster(t *testing.T, s *Server, name string) containersCluster {
	t.Helper()
	var out struct{ Clusters []containersCluster }
	s.AWS(t, "ecs", "describe-clusters", "--clusters", name, "--include", "TAGS", "SETTINGS").OK(t).Decode(t, &out)
	if len(out.Clusters) != 1 {
		t.Fatalf("clusters: %+v", out)
	}
	return out.Clusters[0]
}
