package registry

import "testing"

func TestResolveImage(t *testing.T) {
	for _, tc := range []struct {
		image  string
		ok     bool
		region string
		repo   string
		ref    string
	}{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app:v1.2.3", true, "us-east-1", "my-app", "v1.2.3"},
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api", true, "eu-west-1", "team/api", "latest"},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:abc", true, "us-east-1", "api", "sha256:abc"},
		{"localhost:4566/my-app:latest", true, "", "my-app", "latest"},
		{"localhost:4566/team/app", true, "", "team/app", "latest"},
		{"999999999999.dkr.ecr.us-east-1.amazonaws.com/my-app:v1", false, "", "", ""},
		{"public.ecr.aws/xray/aws-xray-daemon:3.x", false, "", "", ""},
		{"nginx:latest", false, "", "", ""},
		{"localhost:4566/", false, "", "", ""},
		{"localhost:4566/app:", false, "", "", ""},
	} {
		got, ok := ResolveImage(tc.image, "localhost:4566", "123456789012")
		if ok != tc.ok || got.Region != tc.region || got.Repository != tc.repo || got.Reference != tc.ref {
			t.Errorf("ResolveImage(%q) = %+v, %v", tc.image, got, ok)
		}
	}
}
