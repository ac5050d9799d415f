package ecsstate

import "testing"

func TestClusterScopedIDs(t *testing.T) {
	a := ARNs{Region: "us-east-1", Account: "123456789012"}
	cases := []struct {
		ref, cluster, id string
		ok               bool
		parse            func(string) (string, string, bool)
	}{
		{"0123abcd", "", "0123abcd", true, a.TaskID},
		{"arn:aws:ecs:us-east-1:123456789012:task/prod/0123abcd", "prod", "0123abcd", true, a.TaskID},
		{"arn:aws:ecs:us-east-1:123456789012:task/0123abcd", "", "0123abcd", true, a.TaskID},
		{"arn:aws:ecs:us-east-1:123456789012:task/prod/", "", "", false, a.TaskID},
		{"arn:aws:ecs:us-west-2:123456789012:task/prod/0123abcd", "", "", false, a.TaskID},
		{"arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0123abcd", "", "", false, a.TaskID},
		{"arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0123abcd", "prod", "0123abcd", true, a.ContainerInstanceID},
		{"a/b", "", "", false, a.ContainerInstanceID},
		{"", "", "", false, a.ContainerInstanceID},
	}
	for _, c := range cases {
		cluster, id, ok := c.parse(c.ref)
		if ok != c.ok || ok && (cluster != c.cluster || id != c.id) {
			t.Errorf("%q: (%q, %q, %v), want (%q, %q, %v)", c.ref, cluster, id, ok, c.cluster, c.id, c.ok)
		}
	}
}
