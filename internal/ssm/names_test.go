package ssm

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestWellFormed(t *testing.T) {
	for name, want := range map[string]bool{
		"name": true, "/a/b/c": true, "/a": true, "a.b-c_d": true, "/Dev/DB-1/my.param": true,
		"": false, "/": false, "a/b": false, "/a//b": false, "/a/": false, "has space": false, "a:b": false, "/a/b@c": false, "é": false,
	} {
		if got := wellFormed(name); got != want {
			t.Errorf("wellFormed(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCheckName(t *testing.T) {
	s := &service{account: "123456789012"}
	for _, tc := range []struct {
		name string
		want error
	}{
		{"ok", nil},
		{"/a/b", nil},
		{"a/b", ErrInvalidName},
		{"ssmthing", ErrInvalidName},
		{"/Ssm/x", ErrInvalidName},
		{"awsthing", errReservedName},
		{"/AWS/x", errReservedName},
		{strings.Repeat("/x", 16), errHierarchyLevelLimit},
		{"/" + strings.Repeat("x", 1000), errValidation},
	} {
		err := s.checkName("us-east-1", tc.name)
		if (tc.want == nil) != (err == nil) || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("checkName(%q) = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := s.checkReadName("us-east-1", "/aws/service/x"); !errors.Is(err, ErrParameterNotFound) {
		t.Errorf("reading a public parameter: %v", err)
	}
}

func TestParseRef(t *testing.T) {
	s := &service{account: "123456789012"}
	for _, tc := range []struct {
		given   string
		want    ref
		wantErr error
	}{
		{given: "/a/b", want: ref{region: "eu-west-1", names: []string{"/a/b"}}},
		{given: " name ", want: ref{region: "eu-west-1", names: []string{"name"}}},
		{given: "/a/b:3", want: ref{region: "eu-west-1", names: []string{"/a/b"}, selector: ":3", version: 3}},
		{given: "/a/b:prod", want: ref{region: "eu-west-1", names: []string{"/a/b"}, selector: ":prod", label: "prod"}},
		{given: "/a/b:99999999999999999999", want: ref{region: "eu-west-1", names: []string{"/a/b"}, selector: ":99999999999999999999", version: -1}},
		{given: "arn:aws:ssm:us-east-2:123456789012:parameter/a/b", want: ref{region: "us-east-2", names: []string{"/a/b"}}},
		{given: "arn:aws:ssm:us-east-2:123456789012:parameter/db", want: ref{region: "us-east-2", names: []string{"db", "/db"}}},
		{given: "arn:aws:ssm:us-east-2:123456789012:parameter/db:2", want: ref{region: "us-east-2", names: []string{"db", "/db"}, selector: ":2", version: 2}},
		{given: "arn:aws:ssm:us-east-2:210987654321:parameter/db", wantErr: ErrParameterNotFound},
		{given: "arn:aws:secretsmanager:us-east-2:123456789012:secret:db", wantErr: ErrInvalidName},
		{given: "arn:aws:ssm:us-east-2:123456789012:document/db", wantErr: ErrInvalidName},
		{given: "/a/b:", wantErr: ErrInvalidName},
		{given: "/a/b:1:2", wantErr: ErrInvalidName},
	} {
		got, err := s.parseRef("eu-west-1", tc.given)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("parseRef(%q): %v, want %v", tc.given, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.region != tc.want.region || !slices.Equal(got.names, tc.want.names) || got.selector != tc.want.selector ||
			got.version != tc.want.version || got.label != tc.want.label {
			t.Errorf("parseRef(%q) = %+v, %v; want %+v", tc.given, got, err, tc.want)
		}
	}
}

func TestValidLabel(t *testing.T) {
	for label, want := range map[string]bool{
		"prod": true, "Release_1.2-rc": true, "x9": true,
		"": false, "1st": false, "123": false, "aws-x": false, "AWSome": false, "ssm": false, "a/b": false, "a b": false, "a:b": false,
		strings.Repeat("l", 101): false,
	} {
		if got := validLabel(label); got != want {
			t.Errorf("validLabel(%q) = %v, want %v", label, got, want)
		}
	}
}

func TestCheckPath(t *testing.T) {
	for path, ok := range map[string]bool{
		"/": true, "/a": true, "/a/b/": true, "/aws/service/x": true,
		"a": false, "/a//b": false, "/SSM": false, "/AWS/x": false, "/a b": false, "": false,
	} {
		if err := checkPath(path); (err == nil) != ok {
			t.Errorf("checkPath(%q) = %v", path, err)
		}
	}
}

func TestUnderPath(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		recursive  bool
		want       bool
	}{
		{"/a/b", "/a", false, true},
		{"/a/b/c", "/a", false, false},
		{"/a/b/c", "/a", true, true},
		{"/a/b", "/a/", false, true},
		{"/ab", "/a", true, false},
		{"/a", "/a", true, false},
		{"/x", "/", false, true},
		{"/x/y", "/", false, false},
		{"/x/y", "/", true, true},
		{"flat", "/", false, true},
		{"flat", "/a", true, false},
	} {
		if got := underPath(tc.name, tc.path, tc.recursive); got != tc.want {
			t.Errorf("underPath(%q, %q, %v) = %v", tc.name, tc.path, tc.recursive, got)
		}
	}
}
