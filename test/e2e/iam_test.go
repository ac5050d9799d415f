package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The secret and parameter values of the article's task definition.
const (
	articleDBPassword = "s3cret-db-pw"
	articleAPIKey     = "api-key-0123"
)

// ecsTasksTrust is the trust policy of the article's roles.
const ecsTasksTrust = `{
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                "Action": "sts:AssumeRole"
            }]
        }`

// articleRoles runs the article's "IAM Roles for ECS" commands verbatim,
// and gives the execution role the secrets permission the article shows.
func articleRoles(t testing.TB, s *Server) {
	t.Helper()
	role := s.AWS(t, "iam", "create-role",
		"--role-name", "ecsTaskExecutionRole",
		"--assume-role-policy-document", ecsTasksTrust).OK(t)
	if arn := role.JSON["Role"].(map[string]any)["Arn"]; arn != "arn:aws:iam::123456789012:role/ecsTaskExecutionRole" {
		t.Fatalf("create-role: %s", role.Stdout)
	}
	s.AWS(t, "iam", "attach-role-policy",
		"--role-name", "ecsTaskExecutionRole",
		"--policy-arn", "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy").OK(t)
	s.AWSv2(t, "iam", "create-role",
		"--role-name", "api-service-task-role",
		"--assume-role-policy-document", ecsTasksTrust).OK(t)
	s.AWS(t, "iam", "put-role-policy", "--role-name", "ecsTaskExecutionRole", "--policy-name", "secrets",
		"--policy-document", `{
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": [
            "secretsmanager:GetSecretValue",
            "ssm:GetParameters"
        ],
        "Resource": [
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-*",
            "arn:aws:ssm:us-east-1:123456789012:parameter/api/*"
        ]
    }]
}`).OK(t)
}

// httpBody GETs url and returns its body, failing unless it answers 200.
func httpBody(t testing.TB, url string) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// httpJSON GETs url, expects status and returns the JSON object it
// answers.
func httpJSON(t testing.TB, url string, status int) map[string]any {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode != status || json.Unmarshal(b, &out) != nil {
		t.Fatalf("GET %s: %s: %s, want %d and a JSON object", url, resp.Status, b, status)
	}
	return out
}

// TestTaskWithoutSecretAccessStops: a task whose execution role may not
// read its secret stops with ECS's ResourceInitializationError naming the
// secret and IAM's refusal, never the value; the container is never made.
func TestTaskWithoutSecretAccessStops(t *testing.T) {
	s := StartECSServer(t, ServerOptions{AccountID: articleAccount, Region: "us-east-1"})
	image := pushToolbox(t, s, "api-service", "v1")
	s.AWS(t, "iam", "create-role", "--role-name", "limited-exec", "--assume-role-policy-document", ecsTasksTrust).OK(t)
	s.AWS(t, "iam", "attach-role-policy", "--role-name", "limited-exec",
		"--policy-arn", "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy").OK(t)
	secretARN := s.AWS(t, "secretsmanager", "create-secret", "--name", "db-password", "--secret-string", articleDBPassword).OK(t).JSON["ARN"].(string)
	s.AWS(t, "ecs", "create-cluster", "--cluster-name", "c").OK(t)
	td := map[string]any{
		"family": "limited", "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"},
		"cpu": "256", "memory": "512", "executionRoleArn": "arn:aws:iam::123456789012:role/limited-exec",
		"containerDefinitions": []map[string]any{{
			"name": "app", "image": image, "essential": true,
			"secrets": []map[string]string{{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password"}},
		}},
	}
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "limited.json", td)).OK(t)
	arn := runTask(t, s, "--cluster", "c", "--task-definition", "limited", "--network-configuration", awsvpcFlag(t, s))
	stopped := waitTaskStatus(t, s, "c", arn, "STOPPED", 60*time.Second)
	reason := *stopped.StoppedReason
	if !strings.HasPrefix(reason, "ResourceInitializationError: unable to pull secrets or registry auth: ") ||
		!strings.Contains(reason, "AccessDeniedException") || !strings.Contains(reason, "secretsmanager:GetSecretValue") ||
		!strings.Contains(reason, "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password") {
		t.Fatalf("stoppedReason %q", reason)
	}
	if strings.Contains(reason, articleDBPassword) || !strings.HasPrefix(secretARN, "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password-") {
		t.Fatalf("reason %q, secret ARN %s", reason, secretARN)
	}
	if c := container(t, stopped, "app"); c.RuntimeId != nil {
		t.Fatalf("the container was created: %s", *c.RuntimeId)
	}
}

// TestIAMUserPullsOnlyWhatItMay: an IAM user whose policy lets it pull one
// repository can `docker pull` that and nothing else.
func TestIAMUserPullsOnlyWhatItMay(t *testing.T) {
	s := StartServer(t, ServerOptions{AccountID: articleAccount, Region: "us-east-1"})
	pushToolbox(t, s, "allowed", "v1")
	pushToolbox(t, s, "other", "v1")
	s.AWS(t, "iam", "create-user", "--user-name", "puller").OK(t)
	s.AWS(t, "iam", "put-user-policy", "--user-name", "puller", "--policy-name", "pull-one", "--policy-document", `{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
    {"Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
     "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/allowed"}
  ]
}`).OK(t)
	key := s.AWS(t, "iam", "create-access-key", "--user-name", "puller").OK(t).JSON["AccessKey"].(map[string]any)
	user := s.As(key["AccessKeyId"].(string), key["SecretAccessKey"].(string))

	who := user.AWS(t, "sts", "get-caller-identity").OK(t)
	if who.JSON["Arn"] != "arn:aws:iam::123456789012:user/puller" {
		t.Fatalf("get-caller-identity: %s", who.Stdout)
	}
	user.AWS(t, "ecs", "list-clusters").Fails(t, "User: arn:aws:iam::123456789012:user/puller is not authorized to perform: ecs:ListClusters")

	user.DockerLogin(t)
	for _, repo := range []string{"allowed", "other"} {
		Docker(t, "image", "rm", "--force", s.ImageRef(repo, "v1"))
	}
	Docker(t, "pull", s.ImageRef("allowed", "v1")).OK(t)
	t.Cleanup(func() { Docker(t, "image", "rm", "--force", s.ImageRef("allowed", "v1")) })
	if out := Docker(t, "pull", s.ImageRef("other", "v1")); out.ExitCode == 0 ||
		!strings.Contains(out.Stderr, "is not authorized to perform: ecr:BatchGetImage") {
		t.Fatalf("pull of another repository: %d\n%s", out.ExitCode, out.Stderr)
	}
	Docker(t, "tag", s.ImageRef("allowed", "v1"), s.ImageRef("allowed", "v2")).OK(t)
	t.Cleanup(func() { Docker(t, "image", "rm", "--force", s.ImageRef("allowed", "v2")) })
	if out := Docker(t, "push", s.ImageRef("allowed", "v2")); out.ExitCode == 0 || !strings.Contains(out.Stderr, "denied") {
		t.Fatalf("push: %d\n%s", out.ExitCode, out.Stderr)
	}
}

// TestIAMEnforcementOff: with --iam-enforce=false any valid key may do
// anything and any role ARN of the account goes: a task naming roles that
// do not exist runs with its secret, and its SDK gets credentials.
func TestIAMEnforcementOff(t *testing.T) {
	s := StartECSServer(t, ServerOptions{AccountID: articleAccount, Region: "us-east-1", Args: []string{"--iam-enforce=false"}})
	image := pushToolbox(t, s, "api-service", "v1")
	s.AWS(t, "iam", "create-user", "--user-name", "nobody").OK(t)
	key := s.AWS(t, "iam", "create-access-key", "--user-name", "nobody").OK(t).JSON["AccessKey"].(map[string]any)
	s.As(key["AccessKeyId"].(string), key["SecretAccessKey"].(string)).AWS(t, "ecs", "create-cluster", "--cluster-name", "c").OK(t)
	s.AWS(t, "secretsmanager", "create-secret", "--name", "db-password", "--secret-string", articleDBPassword).OK(t)
	td := map[string]any{
		"family": "loose", "networkMode": "awsvpc", "requiresCompatibilities": []string{"FARGATE"},
		"cpu": "256", "memory": "512",
		"executionRoleArn": "arn:aws:iam::123456789012:role/no-such-exec-role",
		"taskRoleArn":      "arn:aws:iam::123456789012:role/no-such-task-role",
		"containerDefinitions": []map[string]any{{
			"name": "app", "image": image, "essential": true,
			"secrets": []map[string]string{{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-password"}},
		}},
	}
	s.AWS(t, "ecs", "register-task-definition", "--cli-input-json", writeJSON(t, "loose.json", td)).OK(t)
	arn := runTask(t, s, "--cluster", "c", "--task-definition", "loose", "--network-configuration", awsvpcFlag(t, s))
	s.AWSv2(t, "ecs", "wait", "tasks-running", "--cluster", "c", "--tasks", arn).OK(t)
	base := "http://" + taskIP(t, describeTask(t, s, "c", arn)) + ":8080"
	waitHTTPOK(t, base+"/health", 10*time.Second)
	if got := httpBody(t, base+"/env/DB_PASSWORD"); got != articleDBPassword {
		t.Fatalf("DB_PASSWORD %q", got)
	}
	var who map[string]string
	json.Unmarshal([]byte(httpBody(t, base+"/aws/whoami")), &who)
	if !strings.HasPrefix(who["Arn"], "arn:aws:sts::123456789012:assumed-role/no-such-task-role/") {
		t.Fatalf("GetCallerIdentity inside the task: %v", who)
	}
	if repos := httpBody(t, base+"/aws/ecr/repositories"); !strings.Contains(repos, `"api-service"`) {
		t.Fatalf("ECR call without enforcement: %s", repos)
	}
}
