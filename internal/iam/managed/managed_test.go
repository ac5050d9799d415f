package managed

import (
	"regexp"
	"strings"
	"testing"

	"github.com/berth/berth/internal/iam/policy"
)

var policyID = regexp.MustCompile(`^ANPA[A-Z0-9]{17}$`)

func TestPolicies(t *testing.T) {
	all := All()
	if len(all) < 19 {
		t.Fatalf("%d policies", len(all))
	}
	ids := map[string]bool{}
	for i, p := range all {
		if i > 0 && all[i-1].Name >= p.Name {
			t.Errorf("not sorted by name at %s", p.Name)
		}
		if !policyID.MatchString(p.ID) || ids[p.ID] {
			t.Errorf("%s: id %q", p.Name, p.ID)
		}
		ids[p.ID] = true
		if p.ARN != "arn:aws:iam::aws:policy"+p.Path+p.Name || !strings.HasPrefix(p.Path, "/") || !strings.HasSuffix(p.Path, "/") {
			t.Errorf("%s: arn %q path %q", p.Name, p.ARN, p.Path)
		}
		if p.Description == "" || !strings.HasPrefix(p.DefaultVersion, "v") || p.Created.IsZero() || p.Updated.Before(p.Created) {
			t.Errorf("%s: %+v", p.Name, p)
		}
		if got, ok := Lookup(p.ARN); !ok || got != p {
			t.Errorf("Lookup(%s)", p.ARN)
		}
		if _, err := policy.Parse(p.Document, policy.Identity); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
}

func TestTaskExecutionRolePolicy(t *testing.T) {
	p, ok := Lookup("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
	if !ok {
		t.Fatal("AmazonECSTaskExecutionRolePolicy missing")
	}
	if p.ID != "ANPAJG4T4G4PV56DE72PY" || p.DefaultVersion != "v1" || p.Path != "/service-role/" {
		t.Fatalf("%+v", p)
	}
	want := `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "logs:CreateLogStream",
        "logs:PutLogEvents"
      ],
      "Resource": "*"
    }
  ]
}`
	if p.Document != want {
		t.Fatalf("document:\n%s", p.Document)
	}
	if _, ok := Lookup("arn:aws:iam::aws:policy/AmazonECSTaskExecutionRolePolicy"); ok {
		t.Fatal("found under the wrong path")
	}
}
