package iam

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/awsapitest"
	"github.com/berth/berth/internal/iam/policy"
	"github.com/berth/berth/internal/store"
)

func TestIAMErrorTable(t *testing.T) {
	awsapitest.CheckErrorTable(t, newIAMErrorTable, []awsapitest.ErrorCase{
		{Name: "no such role", Err: noSuchEntity("role", "app"), Code: "NoSuchEntity", Message: "The role with name app cannot be found.", Status: http.StatusBadRequest},
		{Name: "wrapped", Err: fmt.Errorf("reading: %w", noSuchPolicy("arn:aws:iam::1:policy/p")), Code: "NoSuchEntity", Message: "Policy arn:aws:iam::1:policy/p was not found.", Status: http.StatusBadRequest},
		{Name: "quota", Err: quotaExceeded("PoliciesPerRole", 10), Code: "LimitExceeded", Message: "Cannot exceed quota for PoliciesPerRole: 10", Status: http.StatusBadRequest},
		{Name: "conflict", Err: mustDetachPolicies(), Code: "DeleteConflict", Message: "Cannot delete entity, must detach all policies first.", Status: http.StatusBadRequest},
		{Name: "exists", Err: iamError(errEntityExists, "Role with name a already exists."), Code: "EntityAlreadyExists", Message: "Role with name a already exists.", Status: http.StatusBadRequest},
		{Name: "invalid input", Err: iamError(errInvalidInput, "bad"), Code: "InvalidInput", Message: "bad", Status: http.StatusBadRequest},
		{Name: "validation", Err: iamError(errValidation, "Invalid Marker."), Code: "ValidationError", Message: "Invalid Marker.", Status: http.StatusBadRequest},
		{Name: "malformed", Err: &policy.SyntaxError{Message: "Syntax errors in policy."}, Code: "MalformedPolicyDocument", Message: "Syntax errors in policy.", Status: http.StatusBadRequest},
		{Name: "access denied", Err: &awsapi.AccessDenied{Message: "User: x is not authorized"}, Code: "AccessDenied", Message: "User: x is not authorized", Status: http.StatusForbidden},
		{Name: "writer storm", Err: fmt.Errorf("store: 9 attempts: %w", store.ErrConflict), Code: "ConcurrentModification",
			Message: "The request was rejected because multiple requests to change this object were submitted simultaneously. Wait a few minutes and submit your request again.", Status: http.StatusBadRequest},
		{Name: "internal", Err: errors.New("disk on fire"), Code: "ServiceFailure",
			Message: "The request processing has failed because of an unknown error, exception or failure.", Status: http.StatusInternalServerError, Logged: true},
	})
}

func TestIAMEncodeDocument(t *testing.T) {
	doc := "{\"Action\": \"s3:*\", \"Resource\": \"arn:aws:s3:::a b/é~_.-\"}\n"
	got := *encodeDocument(doc)
	want := "%7B%22Action%22%3A%20%22s3%3A%2A%22%2C%20%22Resource%22%3A%20%22arn%3Aaws%3As3%3A%3A%3Aa%20b%2F%C3%A9~_.-%22%7D%0A"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if back, err := url.PathUnescape(got); err != nil || back != doc {
		t.Fatalf("round trip %q %v", back, err)
	}
}

func TestIAMDocumentSize(t *testing.T) {
	if n := documentSize("{ \"a\" :\t\"b c\"\r\n}"); n != 10 {
		t.Fatal(n)
	}
}

func TestIAMStatementSpans(t *testing.T) {
	doc := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\"},\n    {\n      \"Effect\": \"Deny\"\n    }\n  ]\n}"
	spans := statementSpans(doc)
	if len(spans) != 2 {
		t.Fatalf("spans %v", spans)
	}
	for i, want := range [][2]string{{"4:5", "4:23"}, {"5:5", "7:5"}} {
		start, end := textPosition(doc, spans[i][0]), textPosition(doc, spans[i][1])
		got := [2]string{fmt.Sprintf("%d:%d", *start.Line, *start.Column), fmt.Sprintf("%d:%d", *end.Line, *end.Column)}
		if got != want {
			t.Errorf("statement %d at %v, want %v", i, got, want)
		}
	}
	if doc[spans[1][0]] != '{' || doc[spans[1][1]] != '}' {
		t.Fatal("span ends")
	}
	single := `{"Statement": {"Effect": "Allow"}, "Version": "2012-10-17"}`
	if s := statementSpans(single); len(s) != 1 || single[s[0][0]:s[0][1]+1] != `{"Effect": "Allow"}` {
		t.Fatalf("single %v", s)
	}
	if statementSpans("[1]") != nil || statementSpans(`{"Version": "2012-10-17"}`) != nil {
		t.Fatal("spans of a document without statements")
	}
}

func TestIAMPaginate(t *testing.T) {
	items := strings.Split("a b c d e", " ")
	var got []string
	var marker *string
	for {
		p, err := paginate(items, marker, awsapi.Int32(2))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join(p.items, ""))
		if !p.truncated {
			if p.marker != nil {
				t.Fatal("marker on the last page")
			}
			break
		}
		marker = p.marker
	}
	if strings.Join(got, ",") != "ab,cd,e" {
		t.Fatal(got)
	}
	if p, err := paginate(items, nil, nil); err != nil || len(p.items) != 5 || p.truncated {
		t.Fatalf("default page %+v %v", p, err)
	}
	if _, err := paginate(items, awsapi.String("%%%"), nil); !errors.Is(err, errValidation) {
		t.Fatalf("bad marker: %v", err)
	}
}

func TestIAMSplitPolicyARN(t *testing.T) {
	for _, tc := range []struct{ arn, account, path, name string }{
		{"arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", "aws", "/service-role/", "AmazonECSTaskExecutionRolePolicy"},
		{"arn:aws:iam::123456789012:policy/p", "123456789012", "/", "p"},
	} {
		account, path, name, ok := splitPolicyARN(tc.arn)
		if !ok || account != tc.account || path != tc.path || name != tc.name {
			t.Errorf("%s: %s %s %s %v", tc.arn, account, path, name, ok)
		}
	}
	for _, bad := range []string{"arn:aws:iam::1:role/r", "arn:aws:iam::1:policy/", "policy/p", "arn:aws:s3:::policy/x"} {
		if _, _, _, ok := splitPolicyARN(bad); ok {
			t.Errorf("%s accepted", bad)
		}
	}
}
