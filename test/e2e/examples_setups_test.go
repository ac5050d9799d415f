package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// exampleRenames replace, before anything is created, names the
// documentation uses that AWS itself refuses.
var exampleRenames = map[string][]string{
	// ECR repository names are lower case.
	"ecr/batch-delete-image#2": {"MyRepository", "my-repository"},
	"ecr/batch-get-image#2":    {"MyRepository", "my-repository"},
}

// A lifecycle policy and a repository policy for the examples that read or
// delete one.
const (
	exampleLifecyclePolicy  = `{"rules":[{"rulePriority":1,"description":"Expire images older than 14 days","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}`
	exampleRepositoryPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"AllowPull","Effect":"Allow","Principal":{"AWS":"*"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`
)

// exampleSetups adds, per example, what the generic preparation does not:
// task definitions, tasks, services and images; IAM entities' policies,
// keys, tags and memberships; secrets' versions and parameters; and the
// substitutions of the documented identifiers by berth's.
var exampleSetups = map[string]func(e *exampleEnv){
	"logs/describe-log-groups#1": func(e *exampleEnv) {
		e.logGroup("my-logs")
		_, err := e.logs.PutRetentionPolicy(e.ctx(), &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String("my-logs"), RetentionInDays: aws.Int32(5)})
		e.must(err)
	},
	"logs/describe-log-streams#1": func(e *exampleEnv) {
		e.logGroup("my-logs")
		e.logStream("my-logs", "20150531")
		e.logStream("my-logs", "20150601")
	},
	"logs/get-log-events#1": func(e *exampleEnv) {
		e.logEvents("my-logs", "20150601", "Example Event 1", "Example Event 1", "Example Event 2")
	},
	// The documented events are from 2015, older than the 14 days
	// CloudWatch Logs accepts: the files hold the same messages, now.
	"logs/put-log-events#1": func(e *exampleEnv) { e.eventsFile("events", 3) },
	"logs/put-log-events#2": func(e *exampleEnv) { e.eventsFile("events2", 2) },
	"ecr/batch-check-layer-availability#1": func(e *exampleEnv) {
		img := e.pushImage("cluster-autoscaler", "v1")
		e.sub("sha256:6171c7451a50945f8ddd72f7732cc04d7a0d1f48138a426b2e64387fdeb834ed", img.config)
	},
	"ecr/batch-delete-image#1": func(e *exampleEnv) { e.pushImage("ubuntu", "precise") },
	"ecr/batch-delete-image#2": func(e *exampleEnv) {
		e.pushImage("my-repository", "prod")
		e.pushImage("my-repository", "team1")
	},
	"ecr/batch-get-image#1": func(e *exampleEnv) { e.pushImage("cluster-autoscaler", "v1.13.6") },
	"ecr/batch-get-image#2": func(e *exampleEnv) {
		e.pushImage("my-repository", "prod")
		e.pushImage("my-repository", "team1")
	},
	"ecr/complete-layer-upload#1": func(e *exampleEnv) {
		id, digest := e.uploadLayerPart("layer-test", []byte("a layer of the complete-layer-upload example"))
		e.sub("6cb64b8a-9378-0e33-2ab1-b780fab8a9e9:48074e6d3a68b39aad8ccc002cdad912d4148c0f92b3729323e", digest)
		e.sub("6cb64b8a-9378-0e33-2ab1-b780fab8a9e9", id)
	},
	"ecr/upload-layer-part#1": func(e *exampleEnv) {
		out, err := e.ecr.InitiateLayerUpload(e.ctx(), &ecr.InitiateLayerUploadInput{RepositoryName: aws.String("layer-test")})
		e.must(err)
		layer := filepath.Join(e.dir, "layer.b64")
		e.must(os.WriteFile(layer, []byte(strings.Repeat("berth", 200)), 0o644))
		e.sub("6cb64b8a-9378-0e33-2ab1-b780fab8a9e9", aws.ToString(out.UploadId))
		e.sub("8323314", "999")
		e.sub("/var/lib/docker/image/overlay2/layerdb/sha256/ff986b10a018b48074e6d3a68b39aad8ccc002cdad912d4148c0f92b3729323e/layer.b64", layer)
	},
	"ecr/delete-lifecycle-policy#1": func(e *exampleEnv) { e.lifecyclePolicy("hello-world") },
	"ecr/get-lifecycle-policy#1":    func(e *exampleEnv) { e.lifecyclePolicy("project-a/amazon-ecs-sample") },
	"ecr/get-lifecycle-policy-preview#1": func(e *exampleEnv) {
		e.lifecyclePolicy("project-a/amazon-ecs-sample")
		_, err := e.ecr.StartLifecyclePolicyPreview(e.ctx(), &ecr.StartLifecyclePolicyPreviewInput{RepositoryName: aws.String("project-a/amazon-ecs-sample")})
		e.must(err)
		w := ecr.NewLifecyclePolicyPreviewCompleteWaiter(e.ecr, func(o *ecr.LifecyclePolicyPreviewCompleteWaiterOptions) { o.MinDelay = 100 * time.Millisecond })
		e.must(w.Wait(e.ctx(), &ecr.GetLifecyclePolicyPreviewInput{RepositoryName: aws.String("project-a/amazon-ecs-sample")}, time.Minute))
	},
	"ecr/delete-repository-policy#1": func(e *exampleEnv) { e.repositoryPolicy("cluster-autoscaler") },
	"ecr/get-repository-policy#1":    func(e *exampleEnv) { e.repositoryPolicy("cluster-autoscaler") },
	"ecr/describe-image-scan-findings#1": func(e *exampleEnv) {
		img := e.pushToolbox("sample-repo", "")
		_, err := e.ecr.StartImageScan(e.ctx(), &ecr.StartImageScanInput{RepositoryName: aws.String("sample-repo"), ImageId: &ecrtypes.ImageIdentifier{ImageDigest: aws.String(img.digest)}})
		e.must(err)
		e.sub("sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6", img.digest)
		e.waitScan("sample-repo", img.digest)
	},
	"ecr/start-image-scan#1": func(e *exampleEnv) {
		e.sub("sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6", e.pushImage("sample-repo", "").digest)
	},
	"ecr/describe-images#1": func(e *exampleEnv) { e.pushImage("cluster-autoscaler", "v1.13.6") },
	"ecr/describe-repositories#1": func(e *exampleEnv) {
		e.repository("ubuntu")
		e.repository("test")
	},
	"ecr/get-download-url-for-layer#1": func(e *exampleEnv) {
		img := e.pushImage("cluster-autoscaler", "v1")
		e.sub("sha256:6171c7451a50945f8ddd72f7732cc04d7a0d1f48138a426b2e64387fdeb834ed", img.layers[0])
	},
	"ecr/list-images#1": func(e *exampleEnv) {
		img := e.pushImage("cluster-autoscaler", "v1.13.8")
		e.tagImage("cluster-autoscaler", img, "v1.13.7")
		e.pushImage("cluster-autoscaler", "v1.13.6")
	},
	"ecr/list-tags-for-resource#1": func(e *exampleEnv) {
		e.repository("hello-world")
		_, err := e.ecr.TagResource(e.ctx(), &ecr.TagResourceInput{
			ResourceArn: aws.String(e.rewrite("arn:aws:ecr:us-west-2:012345678910:repository/hello-world")),
			Tags:        []ecrtypes.Tag{{Key: aws.String("Stage"), Value: aws.String("Integ")}},
		})
		e.must(err)
	},
	"ecr/tag-resource#1":   func(e *exampleEnv) { e.repository("hello-world") },
	"ecr/untag-resource#1": func(e *exampleEnv) { e.repository("hello-world") },
	"ecr/put-image#1": func(e *exampleEnv) {
		img := e.pushImage("hello-world", "")
		e.ex.Files["hello-world.manifest.json"] = string(img.manifest)
	},

	"ecs/capacity-provider-update#1": func(e *exampleEnv) {
		e.capacityProvider("Infra-ECS-Cluster-ECS-project-update-cluster-d6bb6d5b-EC2CapacityProvider-3fIpdkLywwFt")
	},
	"ecs/create-cluster#2": func(e *exampleEnv) {
		e.capacityProvider("MyCapacityProvider1")
		e.capacityProvider("MyCapacityProvider2")
	},
	"ecs/delete-task-definitions#1": func(e *exampleEnv) {
		e.documentedTaskDefinition("taskDefinitions", 0)
		e.deregisterTaskDefinition("curltest:1")
	},
	"ecs/describe-service-deployments#1": func(e *exampleEnv) {
		e.sub("arn:aws:ecs:us-east-1:123456789012:service-deployment/example-cluster/example-service/ejGvqq2ilnbKT9qj0vLJe", e.serviceDeployment())
	},
	"ecs/list-service-deployments#1": func(e *exampleEnv) { e.serviceDeployment() },
	"ecs/delete-account-setting#1":   func(e *exampleEnv) { e.userAccountSetting("serviceLongArnFormat", "enabled") },
	"ecs/list-account-settings#2":    func(e *exampleEnv) { e.userAccountSetting("serviceLongArnFormat", "enabled") },
	"ecs/create-capacity-provider#1": func(e *exampleEnv) { e.sub("3bac5EXAMPLE", "3bac5e0a0b0c") },
	"ecs/create-service#1": func(e *exampleEnv) {
		e.documentedNetwork()
		e.taskDefinition("sample-fargate", 1, taskDefinitionOptions{fargate: true})
	},
	"ecs/create-service#2":           func(e *exampleEnv) { e.taskDefinition("sleep360", 2, taskDefinitionOptions{}) },
	"ecs/delete-capacity-provider#1": func(e *exampleEnv) { e.capacityProvider("ExampleCapacityProvider") },
	"ecs/delete-capacity-provider#2": func(e *exampleEnv) { e.capacityProvider("ExampleCapacityProvider") },
	"ecs/delete-service#1": func(e *exampleEnv) {
		e.service("MyCluster", "MyService1", e.taskDefinition("web", 1, taskDefinitionOptions{}), 1, false)
	},
	"ecs/deregister-task-definition#1": func(e *exampleEnv) { e.documentedTaskDefinition("taskDefinition") },
	"ecs/describe-task-definition#1":   func(e *exampleEnv) { e.documentedTaskDefinition("taskDefinition") },
	"ecs/describe-capacity-providers#1": func(e *exampleEnv) {
		e.capacityProvider("MyCapacityProvider")
	},
	"ecs/describe-capacity-providers#2": func(e *exampleEnv) { e.capacityProvider("MyCapacityProvider") },
	"ecs/describe-container-instances#1": func(e *exampleEnv) {
		e.sub("a1b2c3d4-5678-90ab-cdef-11111EXAMPLE", e.containerInstance("update"))
	},
	"ecs/describe-services#1": func(e *exampleEnv) {
		e.cluster("default")
		e.createService(&ecs.CreateServiceInput{
			Cluster: aws.String("default"), ServiceName: aws.String("my-http-service"), DesiredCount: aws.Int32(1),
			TaskDefinition: aws.String(e.taskDefinition("amazon-ecs-sample", 1, taskDefinitionOptions{})),
		}, true)
	},
	"ecs/describe-tasks#1": func(e *exampleEnv) {
		td := e.taskDefinition("console-sample-app-static2", 1, taskDefinitionOptions{container: "simple-app", port: 8080})
		task := e.runTasks("MyCluster", td, 1, false)[0]
		e.sub("arn:aws:ecs:us-east-1:123456789012:task/MyCluster/4d590253bb114126b7afa7b58EXAMPLE", task)
	},
	"ecs/describe-tasks#2": func(e *exampleEnv) {
		td := e.taskDefinition("webserver", 2, taskDefinitionOptions{fargate: true, container: "web"})
		tasks := e.runTasks("MyCluster", td, 2, true)
		e.sub("74de0355a10a4f979ac495c14EXAMPLE", lastPart(tasks[0]))
		e.sub("d789e94343414c25b9f6bd59eEXAMPLE", lastPart(tasks[1]))
	},
	"ecs/list-clusters#1": func(e *exampleEnv) {
		e.cluster("MyECSCluster1")
		e.cluster("AnotherECSCluster")
	},
	"ecs/list-services#1": func(e *exampleEnv) {
		e.service("MyCluster", "MyService", e.taskDefinition("web", 1, taskDefinitionOptions{}), 0, false)
	},
	"ecs/list-tags-for-resource#1": func(e *exampleEnv) {
		e.taggedCluster("MyCluster", "key1", "value1", "key2", "value2", "key3", "value3")
	},
	"ecs/list-task-definition-families#1": func(e *exampleEnv) {
		for _, f := range []string{"node-js-app", "web-timer", "hpcc", "hpcc-c4-8xlarge"} {
			e.taskDefinition(f, 1, taskDefinitionOptions{})
		}
	},
	"ecs/list-task-definition-families#2": func(e *exampleEnv) {
		for _, f := range []string{"node-js-app", "hpcc", "hpcc-c4-8xlarge"} {
			e.taskDefinition(f, 1, taskDefinitionOptions{})
		}
	},
	"ecs/list-task-definitions#1": func(e *exampleEnv) {
		e.taskDefinition("sleep300", 2, taskDefinitionOptions{})
		e.deregisterTaskDefinition("sleep300:1")
		e.taskDefinition("sleep360", 1, taskDefinitionOptions{})
		e.taskDefinition("wordpress", 6, taskDefinitionOptions{})
		e.deregisterTaskDefinition("wordpress:1")
		e.deregisterTaskDefinition("wordpress:2")
	},
	"ecs/list-task-definitions#2": func(e *exampleEnv) {
		e.taskDefinition("sleep360", 1, taskDefinitionOptions{})
		e.taskDefinition("wordpress", 6, taskDefinitionOptions{})
		e.deregisterTaskDefinition("wordpress:1")
		e.deregisterTaskDefinition("wordpress:2")
	},
	"ecs/list-tasks#1": func(e *exampleEnv) {
		e.runTasks("default", e.taskDefinition("web", 1, taskDefinitionOptions{}), 2, false)
	},
	"ecs/list-tasks#2": func(e *exampleEnv) {
		e.runTasks("default", e.taskDefinition("web", 1, taskDefinitionOptions{}), 1, false)
		e.sub("a1b2c3d4-5678-90ab-cdef-33333EXAMPLE", e.containerInstance("default"))
	},
	"ecs/put-cluster-capacity-providers#1": func(e *exampleEnv) {
		e.capacityProvider("MyCapacityProvider1")
		e.capacityProvider("MyCapacityProvider2")
	},
	"ecs/put-cluster-capacity-providers#2": func(e *exampleEnv) {
		e.capacityProvider("MyCapacityProvider1")
		e.capacityProvider("MyCapacityProvider2")
	},
	"ecs/run-task#1": func(e *exampleEnv) { e.taskDefinition("sleep360", 1, taskDefinitionOptions{container: "sleep"}) },
	"ecs/start-task#1": func(e *exampleEnv) {
		e.cluster("default")
		e.taskDefinition("sleep360", 1, taskDefinitionOptions{container: "sleep"})
		e.sub("765936fadbdd46b5991a4bd70c2a43d4", e.containerInstance("default"))
	},
	"ecs/stop-task#1": func(e *exampleEnv) {
		task := e.runTasks("default", e.taskDefinition("sleep360", 1, taskDefinitionOptions{container: "sleep"}), 1, false)[0]
		e.sub("666fdccc2e2d4b6894dd422f4eeee8f8", task)
	},
	"ecs/tag-resource#1":   func(e *exampleEnv) { e.cluster("MyCluster") },
	"ecs/tag-resource#2":   func(e *exampleEnv) { e.cluster("MyCluster") },
	"ecs/untag-resource#1": func(e *exampleEnv) { e.taggedCluster("MyCluster", "key1", "value1", "key2", "value2") },
	"ecs/update-service#1": func(e *exampleEnv) {
		e.service("test", "my-http-service", e.taskDefinition("web", 1, taskDefinitionOptions{}), 1, false)
		e.taskDefinition("amazon-ecs-sample", 1, taskDefinitionOptions{})
	},
	"ecs/update-service#2": func(e *exampleEnv) { e.documentedService("MyCluster") },
	"ecs/update-service#4": func(e *exampleEnv) { e.documentedService("mycluster") },
	"ecs/update-service#5": func(e *exampleEnv) { e.documentedService("MyCluster") },

	// The files the documentation names but does not show.
	"iam/create-policy-version#1":     func(e *exampleEnv) { e.ex.Files["NewPolicyVersion.json"] = examplePolicy },
	"iam/create-role#1":               func(e *exampleEnv) { e.ex.Files["Test-Role-Trust-Policy.json"] = exampleTrustPolicy },
	"iam/create-role#2":               func(e *exampleEnv) { e.ex.Files["Test-Role-Trust-Policy.json"] = exampleTrustPolicy },
	"iam/create-role#3":               func(e *exampleEnv) { e.ex.Files["Test-Role-Trust-Policy.json"] = exampleTrustPolicy },
	"iam/update-assume-role-policy#1": func(e *exampleEnv) { e.ex.Files["Test-Role-Trust-Policy.json"] = exampleTrustPolicy },
	"iam/put-group-policy#1":          func(e *exampleEnv) { e.ex.Files["AdminPolicy.json"] = examplePolicy },
	"iam/put-role-policy#1":           func(e *exampleEnv) { e.ex.Files["AdminPolicy.json"] = examplePolicy },
	"iam/put-user-policy#1":           func(e *exampleEnv) { e.ex.Files["AdminPolicy.json"] = examplePolicy },

	// A managed policy berth has for the documentation's S3 one.
	"iam/create-user#4": func(e *exampleEnv) {
		e.sub("arn:aws:iam::aws:policy/AmazonS3FullAccess", exampleS3FullAccess)
	},
	"iam/delete-access-key#1": func(e *exampleEnv) {
		id, _ := e.accessKey("Bob")
		e.sub("AKIDPMS9RO4H3FEXAMPLE", id)
	},
	"iam/update-access-key#1": func(e *exampleEnv) {
		id, _ := e.accessKey("Bob")
		e.sub("AKIAIOSFODNN7EXAMPLE", id)
	},
	"iam/get-access-key-last-used#1": func(e *exampleEnv) {
		e.user("Bob")
		id, secret := e.accessKey("Bob")
		e.useKey(id, secret)
		e.sub("ABCDEXAMPLE", id)
	},
	"iam/list-access-keys#1": func(e *exampleEnv) {
		e.accessKey("Bob")
		id, _ := e.accessKey("Bob")
		_, err := e.iam.UpdateAccessKey(e.ctx(), &iam.UpdateAccessKeyInput{UserName: aws.String("Bob"), AccessKeyId: aws.String(id), Status: iamtypes.StatusTypeInactive})
		e.must(err)
	},
	"iam/delete-group-policy#1": func(e *exampleEnv) { e.inlinePolicy("group", "Admins", "ExamplePolicy", examplePolicy) },
	"iam/delete-role-policy#1":  func(e *exampleEnv) { e.inlinePolicy("role", "Test-Role", "ExamplePolicy", examplePolicy) },
	"iam/delete-user-policy#1":  func(e *exampleEnv) { e.inlinePolicy("user", "Bob", "ExamplePolicy", examplePolicy) },
	"iam/delete-policy-version#1": func(e *exampleEnv) {
		e.policyVersion("arn:aws:iam::123456789012:policy/MyPolicy", examplePolicy, false)
	},
	"iam/set-default-policy-version#1": func(e *exampleEnv) {
		e.policyVersion("arn:aws:iam::123456789012:policy/MyPolicy", examplePolicy, false)
	},
	"iam/get-policy-version#1": func(e *exampleEnv) {
		e.policyVersion("arn:aws:iam::123456789012:policy/MyPolicy", string(e.documentedOutput("PolicyVersion", "Document")), true)
	},
	"iam/list-policy-versions#1": func(e *exampleEnv) {
		e.policyVersion("arn:aws:iam::123456789012:policy/MySamplePolicy", examplePolicy, true)
	},
	"iam/delete-role-permissions-boundary#1": func(e *exampleEnv) {
		e.boundary("role", "lambda-application-role", "arn:aws:iam::aws:policy/PowerUserAccess")
	},
	"iam/delete-user-permissions-boundary#1": func(e *exampleEnv) {
		e.boundary("user", "intern", "arn:aws:iam::aws:policy/PowerUserAccess")
	},
	"iam/detach-group-policy#1": func(e *exampleEnv) {
		e.attach("group", "Testers", "arn:aws:iam::123456789012:policy/TesterAccessPolicy")
	},
	"iam/detach-role-policy#1": func(e *exampleEnv) {
		e.attach("role", "FedTesterRole", "arn:aws:iam::123456789012:policy/FederatedTesterAccessPolicy")
	},
	"iam/detach-user-policy#1": func(e *exampleEnv) {
		e.attach("user", "Bob", "arn:aws:iam::123456789012:policy/TesterPolicy")
	},
	"iam/get-account-authorization-details#1": func(e *exampleEnv) {
		// The documented account's roles, groups, users and customer
		// managed policies, with managed policies berth has in place of
		// the role's.
		e.role("EC2role", exampleEC2TrustPolicy)
		e.attach("role", "EC2role", exampleS3FullAccess)
		e.attach("role", "EC2role", exampleDynamoDBFullAccess)
		e.group("Admins")
		e.attach("group", "Admins", "arn:aws:iam::aws:policy/AdministratorAccess")
		e.group("Dev")
		e.attach("group", "Dev", "arn:aws:iam::aws:policy/PowerUserAccess")
		e.group("Finance")
		e.inlinePolicy("group", "Finance", "policygen-201310141157", string(e.documentedOutput("GroupDetailList", 2, "GroupPolicyList", 0, "PolicyDocument")))
		e.member("Alice", "Admins")
		e.member("Bob", "Admins")
		e.inlinePolicy("user", "Bob", "DenyBillingAndIAMPolicy", string(e.documentedOutput("UserDetailList", 1, "UserPolicyList", 0, "PolicyDocument")))
		e.member("Charlie", "Dev")
		for i := range 2 {
			var name string
			e.must(json.Unmarshal(e.documentedOutput("Policies", i, "PolicyName"), &name))
			e.customerPolicy(name, string(e.documentedOutput("Policies", i, "PolicyVersionList", 0, "Document")))
		}
	},
	"iam/get-group-policy#1": func(e *exampleEnv) {
		e.inlinePolicy("group", "Test-Group", "S3-ReadOnly-Policy", string(e.documentedOutput("PolicyDocument")))
	},
	"iam/get-role#1": func(e *exampleEnv) {
		_, err := e.iam.UpdateRole(e.ctx(), &iam.UpdateRoleInput{RoleName: aws.String("Test-Role"), Description: aws.String("Test Role")})
		e.must(err)
		e.useRole("Test-Role")
	},
	"iam/get-role-policy#1": func(e *exampleEnv) {
		e.inlinePolicy("role", "Test-Role", "ExamplePolicy", string(e.documentedOutput("PolicyDocument")))
	},
	"iam/get-user-policy#1": func(e *exampleEnv) {
		e.inlinePolicy("user", "Bob", "ExamplePolicy", string(e.documentedOutput("PolicyDocument")))
	},
	"iam/list-attached-group-policies#1": func(e *exampleEnv) {
		e.attach("group", "Admins", "arn:aws:iam::aws:policy/AdministratorAccess")
		e.attach("group", "Admins", exampleSecurityAudit)
	},
	"iam/list-attached-role-policies#1": func(e *exampleEnv) { e.attach("role", "SecurityAuditRole", exampleSecurityAudit) },
	"iam/list-attached-user-policies#1": func(e *exampleEnv) {
		e.attach("user", "Bob", "arn:aws:iam::aws:policy/AdministratorAccess")
		e.attach("user", "Bob", exampleSecurityAudit)
	},
	"iam/list-entities-for-policy#1": func(e *exampleEnv) {
		const policy = "arn:aws:iam::123456789012:policy/TestPolicy"
		e.group("Admins")
		e.attach("group", "Admins", policy)
		e.user("Alice")
		e.attach("user", "Alice", policy)
		e.role("DevRole", exampleTrustPolicy)
		e.attach("role", "DevRole", policy)
	},
	"iam/list-group-policies#1": func(e *exampleEnv) {
		e.inlinePolicy("group", "Admins", "AdminRoot", examplePolicy)
		e.inlinePolicy("group", "Admins", "ExamplePolicy", examplePolicy)
	},
	"iam/list-groups#1": func(e *exampleEnv) {
		e.group("Admins")
		e.group("S3-Admins")
	},
	"iam/list-groups-for-user#1": func(e *exampleEnv) { e.member("Bob", "Admin", "s3-Users") },
	"iam/list-policy-tags#1": func(e *exampleEnv) {
		e.tagIAM("policy", "arn:aws:iam::123456789012:policy/billing-access", "DeptID", "123456", "Department", "Accounting")
	},
	"iam/list-role-policies#1": func(e *exampleEnv) { e.inlinePolicy("role", "Test-Role", "ExamplePolicy", examplePolicy) },
	"iam/list-role-tags#1": func(e *exampleEnv) {
		e.tagIAM("role", "production-role", "Department", "Accounting", "DeptID", "12345")
	},
	"iam/list-roles#1": func(e *exampleEnv) {
		e.role("ExampleRole", exampleEC2TrustPolicy)
		e.role("example_path/ExampleRoleWithPath", exampleEC2TrustPolicy)
	},
	"iam/list-user-policies#1": func(e *exampleEnv) {
		e.inlinePolicy("user", "Bob", "ExamplePolicy", examplePolicy)
		e.inlinePolicy("user", "Bob", "TestPolicy", examplePolicy)
	},
	"iam/list-user-tags#1": func(e *exampleEnv) { e.tagIAM("user", "alice", "Department", "Accounting", "DeptID", "12345") },
	"iam/list-users#1": func(e *exampleEnv) {
		e.user("Adele")
		e.user("Bob")
	},
	"iam/remove-user-from-group#1": func(e *exampleEnv) { e.member("Bob", "Admins") },
	"iam/simulate-principal-policy#1": func(e *exampleEnv) {
		e.inlinePolicy("user", "alejandro", "Grant-Access-To-CodeCommit-ListRepo",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"codecommit:ListRepositories","Resource":"*"}]}`)
	},
	"iam/simulate-principal-policy#2": func(e *exampleEnv) {
		e.inlinePolicy("user", "alejandro", "DynamoDB-After-2018-08-16",
			`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}`)
	},
	"iam/update-role-description#1": func(e *exampleEnv) {
		e.trust("production-role", string(e.documentedOutput("Role", "AssumeRolePolicyDocument")))
	},
	"iam/untag-policy#1": func(e *exampleEnv) {
		e.tagIAM("policy", "arn:aws:iam::123456789012:policy/billing-access", "Department", "Accounting")
	},
	"iam/untag-role#1": func(e *exampleEnv) { e.tagIAM("role", "my-role", "Department", "Accounting") },
	"iam/untag-user#1": func(e *exampleEnv) { e.tagIAM("user", "alice", "Department", "Accounting") },

	// A role cannot be assumed with the account's root key: the
	// documentation's caller is an IAM user.
	"sts/assume-role#1": func(e *exampleEnv) {
		e.user("s3-user")
		e.inlinePolicy("user", "s3-user", "assume-roles", exampleAssumeRolePolicy)
		e.runAs("s3-user")
	},
	"sts/get-caller-identity#1": func(e *exampleEnv) {
		e.user("DevAdmin")
		e.runAs("DevAdmin")
	},

	"secretsmanager/batch-get-secret-value#1": func(e *exampleEnv) { e.documentedSecretValues() },
	"secretsmanager/batch-get-secret-value#2": func(e *exampleEnv) { e.documentedSecretValues() },
	"secretsmanager/delete-resource-policy#1": func(e *exampleEnv) { e.secretPolicy("MyTestSecret") },
	"secretsmanager/get-resource-policy#1":    func(e *exampleEnv) { e.secretPolicy("MyTestSecret") },
	"secretsmanager/describe-secret#1": func(e *exampleEnv) {
		_, err := e.secrets.UpdateSecret(e.ctx(), &secretsmanager.UpdateSecretInput{
			SecretId: aws.String("MyTestSecret"), Description: aws.String("My test secret"),
			KmsKeyId: aws.String(e.rewrite("arn:aws:kms:us-west-2:123456789012:key/EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE")),
		})
		e.must(err)
		_, err = e.secrets.TagResource(e.ctx(), &secretsmanager.TagResourceInput{SecretId: aws.String("MyTestSecret"), Tags: []smtypes.Tag{
			{Key: aws.String("SecondTag"), Value: aws.String("AnotherValue")}, {Key: aws.String("FirstTag"), Value: aws.String("SomeValue")},
		}})
		e.must(err)
		e.secretVersion("MyTestSecret", "", exampleSecretString)
		e.secretVersion("MyTestSecret", "", exampleSecretString, "AWSPENDING")
		e.getSecretValue("MyTestSecret")
	},
	"secretsmanager/get-secret-value#2": func(e *exampleEnv) { e.secretVersion("MyTestSecret", "", exampleSecretString) },
	"secretsmanager/list-secret-version-ids#1": func(e *exampleEnv) {
		// The first version lost its labels, the two others were read.
		e.secretVersion("MyTestSecret", "", exampleSecretString)
		e.getSecretValue("MyTestSecret")
		e.secretVersion("MyTestSecret", "", exampleSecretString)
		e.getSecretValue("MyTestSecret")
	},
	"secretsmanager/list-secrets#1": func(e *exampleEnv) {
		e.secret("MyTestSecret", exampleSecretString)
		e.secret("AnotherSecret", exampleSecretString)
	},
	"secretsmanager/list-secrets#2": func(e *exampleEnv) {
		e.secret("MyTestSecret", exampleSecretString)
		e.secret("AnotherSecret", exampleSecretString)
	},
	"secretsmanager/restore-secret#1": func(e *exampleEnv) {
		_, err := e.secrets.DeleteSecret(e.ctx(), &secretsmanager.DeleteSecretInput{SecretId: aws.String("MyTestSecret")})
		e.must(err)
	},
	"secretsmanager/untag-resource#1": func(e *exampleEnv) {
		_, err := e.secrets.TagResource(e.ctx(), &secretsmanager.TagResourceInput{SecretId: aws.String("MyTestSecret"), Tags: []smtypes.Tag{
			{Key: aws.String("FirstTag"), Value: aws.String("FirstValue")}, {Key: aws.String("SecondTag"), Value: aws.String("SecondValue")},
		}})
		e.must(err)
	},
	// The versions the commands name, by the documentation's ids.
	"secretsmanager/update-secret-version-stage#1": func(e *exampleEnv) {
		e.secretVersion("MyTestSecret", "a1b2c3d4-5678-90ab-cdef-EXAMPLE22222", exampleSecretString)
		e.secretVersion("MyTestSecret", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", exampleSecretString)
	},
	"secretsmanager/update-secret-version-stage#2": func(e *exampleEnv) {
		e.secretVersion("MyTestSecret", "EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE", exampleSecretString)
	},
	"secretsmanager/update-secret-version-stage#3": func(e *exampleEnv) {
		e.secretVersion("MyTestSecret", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", exampleSecretString, "AWSCURRENT", "STAGINGLABEL1")
	},

	"ssm/add-tags-to-resource#2": func(e *exampleEnv) { e.parameterVersions("My-Parameter", ssmtypes.ParameterTypeString, "a value") },
	"ssm/delete-parameter#1":     func(e *exampleEnv) { e.parameterVersions("MyParameter", ssmtypes.ParameterTypeString, "a value") },
	"ssm/delete-parameters#1": func(e *exampleEnv) {
		e.parameterVersions("MyFirstParameter", ssmtypes.ParameterTypeString, "a value")
		e.parameterVersions("MySecondParameter", ssmtypes.ParameterTypeString, "a value")
	},
	"ssm/describe-parameters#1": func(e *exampleEnv) {
		// Version 2 of an advanced parameter with policies (a description
		// and policies are a version's, not the parameter's); it expires
		// in a year rather than in the documented past.
		for range 2 {
			e.parameter(&ssm.PutParameterInput{
				Name: aws.String("MySecureStringParameter"), Type: ssmtypes.ParameterTypeSecureString, Value: aws.String("16679b88-310b-4895-a943-e0764EXAMPLE"),
				Description: aws.String("This is a SecureString parameter"), Tier: ssmtypes.ParameterTierAdvanced,
				Policies: aws.String(`[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"` + time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339) + `"}},` +
					`{"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"12","Unit":"Hours"}}]`),
			})
		}
		e.parameter(&ssm.PutParameterInput{Name: aws.String("MyStringListParameter"), Type: ssmtypes.ParameterTypeStringList,
			Value: aws.String("alpha,beta,gamma"), Description: aws.String("This is a StringList parameter")})
		e.parameter(&ssm.PutParameterInput{Name: aws.String("MyStringParameter"), Type: ssmtypes.ParameterTypeString,
			Value: aws.String("Veni"), Description: aws.String("This is a String parameter")})
		e.parameterVersions("latestAmi", ssmtypes.ParameterTypeString, "ami-1", "ami-2", "ami-3")
	},
	"ssm/get-parameter#1": func(e *exampleEnv) { e.parameterVersions("MyStringParameter", ssmtypes.ParameterTypeString, "Veni") },
	"ssm/get-parameter#2": func(e *exampleEnv) {
		e.parameterVersions("MySecureStringParameter", ssmtypes.ParameterTypeSecureString, "a first value", "16679b88-310b-4895-a943-e0764EXAMPLE")
	},
	"ssm/get-parameter#3": func(e *exampleEnv) {
		e.labelParameter("MyParameter", e.parameterVersions("MyParameter", ssmtypes.ParameterTypeString, "parameter version 1", "parameter version 2"), "label")
	},
	"ssm/get-parameter#4": func(e *exampleEnv) {
		e.parameterVersions("MyParameter", ssmtypes.ParameterTypeString, "parameter version 1", "parameter version 2")
	},
	"ssm/get-parameters#1": func(e *exampleEnv) { e.documentedParameters() },
	"ssm/get-parameters#2": func(e *exampleEnv) { e.documentedParameters() },
	"ssm/get-parameters#3": func(e *exampleEnv) {
		e.labelParameter("MyParameter", e.parameterVersions("MyParameter", ssmtypes.ParameterTypeString, "parameter version 1", "parameter version 2"), "label")
	},
	"ssm/get-parameters-by-path#1": func(e *exampleEnv) {
		e.parameterVersions("/site/newyork/department/marketing", ssmtypes.ParameterTypeString, "Floor 2")
		e.parameterVersions("/site/newyork/department/infotech", ssmtypes.ParameterTypeString, "Floor 3")
	},
	"ssm/get-parameter-history#1": func(e *exampleEnv) {
		for i, v := range []string{"first", "second", "third"} {
			e.parameter(&ssm.PutParameterInput{Name: aws.String("MyStringParameter"), Type: ssmtypes.ParameterTypeString,
				Value: aws.String([]string{"Veni", "Vidi", "Vici"}[i]), Description: aws.String("This is the " + v + " version of my String parameter")})
		}
	},
	"ssm/label-parameter-version#1": func(e *exampleEnv) {
		e.parameterVersions("MyStringParameter", ssmtypes.ParameterTypeString, "Veni", "Vidi", "Vici")
	},
	"ssm/label-parameter-version#2": func(e *exampleEnv) {
		e.parameterVersions("MyStringParameter", ssmtypes.ParameterTypeString, "Veni", "Vidi", "Vici")
	},
	"ssm/put-parameter#1": func(e *exampleEnv) { e.parameterVersions("MyStringParameter", ssmtypes.ParameterTypeString, "Veni") },
	"ssm/put-parameter#3": func(e *exampleEnv) { e.parameterVersions("MyConvertedParameter", ssmtypes.ParameterTypeString, "abc") },
	"ssm/put-parameter#5": func(e *exampleEnv) {
		e.parameter(&ssm.PutParameterInput{Name: aws.String("/Finance/Payroll/q2accesskey"), Type: ssmtypes.ParameterTypeSecureString,
			Value: aws.String("P@sSwW)rd"), Tier: ssmtypes.ParameterTierAdvanced})
	},
	"ssm/unlabel-parameter-version#1": func(e *exampleEnv) {
		// The documentation's placeholders: the version is a number.
		e.labelParameter("parameterName", e.parameterVersions("parameterName", ssmtypes.ParameterTypeString, "a value"), "label_1", "label_2", "label_3")
		e.setFlag("--parameter-version", "1")
	},
}

// AWS managed policies the documentation names that berth's catalogue,
// the policies of the services berth serves, lacks; the replay uses ones
// it has in their place.
const (
	exampleS3FullAccess       = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryFullAccess"
	exampleDynamoDBFullAccess = "arn:aws:iam::aws:policy/CloudWatchLogsFullAccess"
	exampleSecurityAudit      = "arn:aws:iam::aws:policy/ReadOnlyAccess"
)

// imagePushed is an image an example's setup pushed.
type imagePushed struct {
	digest, config string
	layers         []string
	manifest       []byte
}

func (e *exampleEnv) lifecyclePolicy(repo string) {
	e.t.Helper()
	_, err := e.ecr.PutLifecyclePolicy(e.ctx(), &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(repo), LifecyclePolicyText: aws.String(exampleLifecyclePolicy)})
	e.must(err)
}

func (e *exampleEnv) repositoryPolicy(repo string) {
	e.t.Helper()
	_, err := e.ecr.SetRepositoryPolicy(e.ctx(), &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String(repo), PolicyText: aws.String(exampleRepositoryPolicy)})
	e.must(err)
}

// tagImage puts img's manifest under another tag.
func (e *exampleEnv) tagImage(repo string, img imagePushed, tag string) {
	e.t.Helper()
	_, err := e.ecr.PutImage(e.ctx(), &ecr.PutImageInput{RepositoryName: aws.String(repo), ImageManifest: aws.String(string(img.manifest)), ImageTag: aws.String(tag)})
	e.must(err)
}

// uploadLayerPart uploads data as the one part of a new layer upload and
// returns the upload's id and the layer's digest.
func (e *exampleEnv) uploadLayerPart(repo string, data []byte) (string, string) {
	e.t.Helper()
	out, err := e.ecr.InitiateLayerUpload(e.ctx(), &ecr.InitiateLayerUploadInput{RepositoryName: aws.String(repo)})
	e.must(err)
	_, err = e.ecr.UploadLayerPart(e.ctx(), &ecr.UploadLayerPartInput{
		RepositoryName: aws.String(repo), UploadId: out.UploadId,
		PartFirstByte: aws.Int64(0), PartLastByte: aws.Int64(int64(len(data) - 1)), LayerPartBlob: data,
	})
	e.must(err)
	return aws.ToString(out.UploadId), sha256Digest(data)
}

// waitScan waits until the image's scan has finished.
func (e *exampleEnv) waitScan(repo, digest string) {
	e.t.Helper()
	w := ecr.NewImageScanCompleteWaiter(e.ecr)
	e.must(w.Wait(e.ctx(), &ecr.DescribeImageScanFindingsInput{RepositoryName: aws.String(repo), ImageId: &ecrtypes.ImageIdentifier{ImageDigest: aws.String(digest)}}, 2*time.Minute))
}

func (e *exampleEnv) capacityProvider(name string) {
	e.t.Helper()
	_, err := e.ecs.CreateCapacityProvider(e.ctx(), &ecs.CreateCapacityProviderInput{
		Name: aws.String(name),
		AutoScalingGroupProvider: &ecstypes.AutoScalingGroupProvider{
			AutoScalingGroupArn: aws.String("arn:aws:autoscaling:" + e.region + ":" + e.s.AccountID + ":autoScalingGroup:57ffcb94-11f0-4d6d-bf60-3bac5e0a0b0c:autoScalingGroupName/" + name),
		},
	})
	e.must(err)
}

// userAccountSetting sets an account setting of the documentation's user
// MyUser.
func (e *exampleEnv) userAccountSetting(name, value string) {
	e.t.Helper()
	_, err := e.ecs.PutAccountSetting(e.ctx(), &ecs.PutAccountSettingInput{
		Name: ecstypes.SettingName(name), Value: aws.String(value),
		PrincipalArn: aws.String("arn:aws:iam::" + e.s.AccountID + ":user/MyUser"),
	})
	e.must(err)
}

// serviceDeployment creates the service example-service in the cluster
// example-cluster, waits until its deployment has completed, and returns
// the deployment's ARN.
func (e *exampleEnv) serviceDeployment() string {
	e.t.Helper()
	e.cluster("example-cluster")
	service := e.createService(&ecs.CreateServiceInput{
		Cluster: aws.String("example-cluster"), ServiceName: aws.String("example-service"), DesiredCount: aws.Int32(1),
		TaskDefinition: aws.String(e.taskDefinition("web", 1, taskDefinitionOptions{})),
		// As the documented service's.
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		},
	}, true)
	out, err := e.ecs.ListServiceDeployments(e.ctx(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("example-cluster"), Service: aws.String(service)})
	e.must(err)
	if len(out.ServiceDeployments) == 0 {
		e.t.Fatal("setup: the new service has no deployment")
	}
	return aws.ToString(out.ServiceDeployments[0].ServiceDeploymentArn)
}

func (e *exampleEnv) taggedCluster(name string, keyValues ...string) {
	e.t.Helper()
	var tags []ecstypes.Tag
	for i := 0; i+1 < len(keyValues); i += 2 {
		tags = append(tags, ecstypes.Tag{Key: aws.String(keyValues[i]), Value: aws.String(keyValues[i+1])})
	}
	_, err := e.ecs.CreateCluster(e.ctx(), &ecs.CreateClusterInput{ClusterName: aws.String(name), Tags: tags})
	e.must(err)
}

func (e *exampleEnv) deregisterTaskDefinition(ref string) {
	e.t.Helper()
	_, err := e.ecs.DeregisterTaskDefinition(e.ctx(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(ref)})
	e.must(err)
}

// documentedOutput returns the member of the example's documented output
// at path (object member names; a number picks a list item).
func (e *exampleEnv) documentedOutput(path ...any) json.RawMessage {
	e.t.Helper()
	raw := json.RawMessage(e.ex.Output)
	if !json.Valid(raw) {
		// The commas some outputs lack (see documentedJSON).
		raw = json.RawMessage(missingComma.ReplaceAllString(e.ex.Output, "$1,$2"))
	}
	for _, step := range path {
		switch k := step.(type) {
		case string:
			var m map[string]json.RawMessage
			e.must(json.Unmarshal(raw, &m))
			raw = m[k]
		case int:
			var l []json.RawMessage
			e.must(json.Unmarshal(raw, &l))
			raw = l[k]
		}
	}
	return raw
}

// documentedTaskDefinition registers the task definition the example's
// output shows at path, as often as it takes to reach its revision.
func (e *exampleEnv) documentedTaskDefinition(path ...any) {
	e.t.Helper()
	doc := e.documentedOutput(path...)
	var shown struct {
		Revision int32 `json:"revision"`
	}
	e.must(json.Unmarshal(doc, &shown))
	var in ecs.RegisterTaskDefinitionInput
	e.must(json.Unmarshal([]byte(e.rewrite(string(doc))), &in))
	for {
		out, err := e.ecs.RegisterTaskDefinition(e.ctx(), &in)
		e.must(err)
		if out.TaskDefinition.Revision >= shown.Revision {
			return
		}
	}
}

// documentedService creates, in cluster, the service the example's output
// shows (its launch, network, deployment configuration and flags) with one
// task of a Fargate definition of its task definition's family, and waits
// until it has rolled out.
func (e *exampleEnv) documentedService(cluster string) {
	e.t.Helper()
	e.documentedNetwork()
	doc := e.documentedOutput("service")
	var in ecs.CreateServiceInput
	e.must(json.Unmarshal([]byte(e.rewrite(string(doc))), &in))
	family := strings.SplitN(lastPart(aws.ToString(in.TaskDefinition)), ":", 2)[0]
	// A strategy's providers must be the cluster's.
	var providers []string
	for _, item := range in.CapacityProviderStrategy {
		providers = append(providers, aws.ToString(item.CapacityProvider))
	}
	e.cluster(cluster)
	if len(providers) > 0 {
		_, err := e.ecs.PutClusterCapacityProviders(e.ctx(), &ecs.PutClusterCapacityProvidersInput{
			Cluster: aws.String(cluster), CapacityProviders: providers, DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{},
		})
		e.must(err)
	}
	in.Cluster, in.DesiredCount = aws.String(cluster), aws.Int32(1)
	in.TaskDefinition = aws.String(e.taskDefinition(family, 1, taskDefinitionOptions{fargate: true}))
	e.createService(&in, true)
}

// logEvents puts one event per message in a stream, a millisecond apart.
func (e *exampleEnv) logEvents(group, stream string, messages ...string) {
	e.t.Helper()
	now := time.Now().UnixMilli()
	events := make([]logstypes.InputLogEvent, len(messages))
	for i, m := range messages {
		events[i] = logstypes.InputLogEvent{Timestamp: aws.Int64(now + int64(i)), Message: aws.String(m)}
	}
	_, err := e.logs.PutLogEvents(e.ctx(), &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: events})
	e.must(err)
}

// templateFile writes a template the example names as file://name.
func (e *exampleEnv) templateFile(name, body string) {
	e.t.Helper()
	path := filepath.Join(e.dir, name)
	e.must(os.WriteFile(path, []byte(body), 0o644))
	e.sub("file://"+name, "file://"+path)
}

// eventsFile writes n events of now as the JSON file the command reads.
func (e *exampleEnv) eventsFile(name string, n int) {
	e.t.Helper()
	now := time.Now().UnixMilli()
	var events []map[string]any
	for i := range n {
		events = append(events, map[string]any{"timestamp": now + int64(i), "message": "Example Event " + strconv.Itoa(i+1)})
	}
	b, err := json.Marshal(events)
	e.must(err)
	path := filepath.Join(e.dir, name)
	e.must(os.WriteFile(path, b, 0o644))
	e.sub("file://"+name, "file://"+path)
}

// documentedIDs finds the subnet and security group ids an example's
// command and documented output name.
var documentedIDs = regexp.MustCompile(`\b(subnet|sg)-[0-9a-f]{8,17}\b`)

// documentedNetwork stands berth's network in for the subnets and groups
// an ECS example names, which ECS checks exist: the region's default
// subnets, in the order the example first names its subnets, and a new
// group in the default VPC for each of its groups.
func (e *exampleEnv) documentedNetwork() {
	e.t.Helper()
	seen := map[string]bool{}
	subnets := e.defaultNetwork().subnets
	n := 0
	for _, id := range documentedIDs.FindAllString(e.ex.Command+"\n"+e.ex.Output, -1) {
		if seen[id] {
			continue
		}
		seen[id] = true
		if strings.HasPrefix(id, "subnet-") {
			e.sub(id, subnets[n%len(subnets)])
			n++
			continue
		}
		e.docGroup(id, "group-"+id)
	}
}
