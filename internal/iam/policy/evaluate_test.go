package policy

import (
	"testing"
)

const (
	account      = "111122223333"
	otherAccount = "444455556666"
	userARN      = "arn:aws:iam::111122223333:user/bob"
	roleARN      = "arn:aws:iam::111122223333:role/app"
	sessionARN   = "arn:aws:sts::111122223333:assumed-role/app/s1"
	repoARN      = "arn:aws:ecr:us-east-1:111122223333:repository/web"
)

var (
	user    = Principal{ARN: userARN, Account: account}
	session = Principal{ARN: sessionARN, Account: account, RoleARN: roleARN}
)

func mustParse(t testing.TB, kind Kind, doc string) *Policy {
	t.Helper()
	p, err := Parse(doc, kind)
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	return p
}

// identity parses statements as one identity-based policy.
func identity(t testing.TB, name, statements string) []Source {
	return []Source{{Name: name, Policy: mustParse(t, Identity, stmt(statements))}}
}

func resource(t testing.TB, statements string) []Source {
	return []Source{{Name: "resource policy", Policy: mustParse(t, Resource, stmt(statements))}}
}

type evalCase struct {
	name     string
	req      Request
	set      Set
	effect   Effect
	deniedBy string
	matched  *Match // checked when set
}

func runEvalCases(t *testing.T, tests []evalCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Evaluate(tt.req, tt.set)
			if d.Effect != tt.effect {
				t.Fatalf("effect %v (%+v), want %v", d.Effect, d, tt.effect)
			}
			if tt.effect != Allowed && d.DeniedBy != tt.deniedBy {
				t.Fatalf("denied by %q, want %q", d.DeniedBy, tt.deniedBy)
			}
			if tt.matched != nil && (d.Matched == nil || *d.Matched != *tt.matched) {
				t.Fatalf("matched %+v, want %+v", d.Matched, tt.matched)
			}
			if tt.effect == ImplicitDeny && d.Matched != nil {
				t.Fatalf("implicit deny names %+v", d.Matched)
			}
		})
	}
}

func TestEvaluateIdentityPolicies(t *testing.T) {
	execution := []Source{{Name: "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", Policy: mustParse(t, Identity, ecsTaskExecutionRolePolicy)}}
	denyDelete := append(identity(t, "arn:aws:iam::111122223333:policy/all", `{"Sid":"All","Effect":"Allow","Action":"ecr:*","Resource":"*"}`),
		identity(t, "arn:aws:iam::111122223333:policy/guard", `[{"Sid":"Other","Effect":"Deny","Action":"s3:*","Resource":"*"},{"Sid":"NoDelete","Effect":"Deny","Action":"ecr:Delete*","Resource":"*"}]`)...)
	mfa := identity(t, "mfa", `[{"Effect":"Allow","Action":"*","Resource":"*"},
		{"Sid":"DenyAllExceptListedIfNoMFA","Effect":"Deny","NotAction":["iam:CreateVirtualMFADevice","iam:EnableMFADevice","iam:GetUser","iam:ListMFADevices","iam:ListVirtualMFADevices","iam:ResyncMFADevice","sts:GetSessionToken"],"Resource":"*",
		 "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]`)
	payroll := identity(t, "payroll", `[{"Effect":"Allow","Action":"s3:*","Resource":"*"},
		{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::HRBucket/Payroll","arn:aws:s3:::HRBucket/Payroll/*"]}]`)
	runEvalCases(t, []evalCase{
		{"managed policy allows", Request{Principal: session, Action: "ecr:BatchGetImage", Resource: repoARN}, Set{Identity: execution}, Allowed, "",
			&Match{Source: "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", Index: 0}},
		{"actions ignore case", Request{Principal: session, Action: "ECR:batchgetimage", Resource: repoARN}, Set{Identity: execution}, Allowed, "", nil},
		{"no policy allows", Request{Principal: session, Action: "ecr:PutImage", Resource: repoARN}, Set{Identity: execution}, ImplicitDeny, DeniedByIdentity, nil},
		{"no policies at all", Request{Principal: user, Action: "ecr:PutImage", Resource: repoARN}, Set{}, ImplicitDeny, DeniedByIdentity, nil},
		{"explicit deny overrides an allow", Request{Principal: user, Action: "ecr:DeleteRepository", Resource: repoARN}, Set{Identity: denyDelete}, ExplicitDeny, DeniedByIdentity,
			&Match{Source: "arn:aws:iam::111122223333:policy/guard", Sid: "NoDelete", Index: 1}},
		{"deny for other actions leaves the allow", Request{Principal: user, Action: "ecr:PutImage", Resource: repoARN}, Set{Identity: denyDelete}, Allowed, "",
			&Match{Source: "arn:aws:iam::111122223333:policy/all", Sid: "All"}},
		{"NotAction deny without MFA", Request{Principal: user, Action: "ecr:BatchGetImage", Resource: repoARN, Context: map[string][]string{"aws:MultiFactorAuthPresent": {"false"}}}, Set{Identity: mfa}, ExplicitDeny, DeniedByIdentity, nil},
		{"NotAction deny when the key is absent", Request{Principal: user, Action: "ecr:BatchGetImage", Resource: repoARN}, Set{Identity: mfa}, ExplicitDeny, DeniedByIdentity, nil},
		{"NotAction deny spares listed actions", Request{Principal: user, Action: "iam:ListMFADevices", Resource: userARN}, Set{Identity: mfa}, Allowed, "", nil},
		{"NotAction deny with MFA", Request{Principal: user, Action: "ecr:BatchGetImage", Resource: repoARN, Context: map[string][]string{"aws:MultiFactorAuthPresent": {"true"}}}, Set{Identity: mfa}, Allowed, "", nil},
		{"NotResource deny outside payroll", Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::HRBucket/Bonus/x"}, Set{Identity: payroll}, ExplicitDeny, DeniedByIdentity, nil},
		{"NotResource spares payroll", Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::HRBucket/Payroll/x"}, Set{Identity: payroll}, Allowed, "", nil},
	})
}

func TestEvaluateMatching(t *testing.T) {
	ecr := identity(t, "p", `{"Effect":"Allow","Action":["ecr:Get*","ecr:Batch?etImage"],"Resource":"arn:aws:ecr:*:111122223333:repository/team-*"}`)
	logs := identity(t, "p", `{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:*:*:log-group:/ecs/*:*"}`)
	runEvalCases(t, []evalCase{
		{"* and ? in actions and resources", Request{Principal: user, Action: "ecr:BatchGetImage", Resource: "arn:aws:ecr:eu-west-1:111122223333:repository/team-a/web"}, Set{Identity: ecr}, Allowed, "", nil},
		{"? is one character", Request{Principal: user, Action: "ecr:BatchPutImage", Resource: "arn:aws:ecr:eu-west-1:111122223333:repository/team-a"}, Set{Identity: ecr}, ImplicitDeny, DeniedByIdentity, nil},
		{"resources are case-sensitive", Request{Principal: user, Action: "ecr:GetDownloadUrlForLayer", Resource: "arn:aws:ecr:eu-west-1:111122223333:repository/Team-a"}, Set{Identity: ecr}, ImplicitDeny, DeniedByIdentity, nil},
		{"a wildcard stays within its segment", Request{Principal: Principal{ARN: userARN}, Action: "ecr:GetDownloadUrlForLayer", Resource: "arn:aws:ecr:eu-west-1:999999999999:x:111122223333:repository/team-a"}, Set{Identity: ecr}, ImplicitDeny, DeniedByIdentity, nil},
		{"* in the last segment spans colons", Request{Principal: user, Action: "logs:PutLogEvents", Resource: "arn:aws:logs:us-east-1:111122223333:log-group:/ecs/web:log-stream:ecs/web/1"}, Set{Identity: logs}, Allowed, "", nil},
		{"* is not any resource for a non-ARN", Request{Principal: user, Action: "ecr:GetAuthorizationToken", Resource: "*"}, Set{Identity: ecr}, ImplicitDeny, DeniedByIdentity, nil},
	})
}

func TestEvaluateConditions(t *testing.T) {
	allowIf := func(condition string) []Source {
		return identity(t, "p", `{"Effect":"Allow","Action":"*","Resource":"*","Condition":`+condition+`}`)
	}
	ctx := func(kv ...string) map[string][]string {
		m := map[string][]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = append(m[kv[i]], kv[i+1])
		}
		return m
	}
	req := func(context map[string][]string) Request {
		return Request{Principal: user, Action: "ec2:RunInstances", Resource: "*", Context: context}
	}
	instanceType := allowIf(`{"StringLikeIfExists":{"ec2:InstanceType":["t1.*","t2.*","m3.*"]}}`)
	noTemporary := allowIf(`{"Null":{"aws:TokenIssueTime":"true"}}`)
	temporary := allowIf(`{"Null":{"aws:TokenIssueTime":"false"}}`)
	allTags := allowIf(`{"ForAllValues:StringEquals":{"aws:TagKeys":["CostCenter","Owner"]}}`)
	anyTag := allowIf(`{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}`)
	anyTagNot := allowIf(`{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}}`)
	notEquals := allowIf(`{"StringNotEquals":{"aws:PrincipalAccount":["444455556666","777788889999"]}}`)
	ignoreCase := allowIf(`{"StringEqualsIgnoreCase":{"aws:PrincipalTag/dept":"Data"}}`)
	keysAnd := allowIf(`{"StringEquals":{"ec2:ResourceTag/Project":"DataAnalytics","aws:PrincipalTag/Department":"Data"}}`)
	operatorsAnd := allowIf(`{"StringEquals":{"aws:PrincipalTag/Department":"Data"},"Bool":{"aws:SecureTransport":"true"}}`)
	sourceArn := allowIf(`{"ArnLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}`)
	sourceString := allowIf(`{"StringLike":{"aws:SourceArn":"arn:aws:someservice:*:111122223333:finance/*"}}`)
	arnNotLike := allowIf(`{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:111122223333:*"}}`)
	sourceIP := allowIf(`{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64","198.51.100.7"]}}`)
	notSourceIP := allowIf(`{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`)
	before := allowIf(`{"DateLessThan":{"aws:CurrentTime":"2020-06-30T00:00:00Z"}}`)
	beforeEpoch := allowIf(`{"DateLessThanEquals":{"aws:EpochTime":"1593475200"}}`)
	between := allowIf(`{"DateGreaterThan":{"aws:CurrentTime":"2017-07-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2017-12-31T23:59:59Z"}}`)
	dateNot := allowIf(`{"DateNotEquals":{"aws:CurrentTime":"2020-01-01T00:00:00+01:00"}}`)
	secure := identity(t, "p", `[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]`)
	maxKeys := allowIf(`{"NumericLessThanEquals":{"s3:max-keys":"10"}}`)
	maxKeysNot := allowIf(`{"NumericNotEquals":{"s3:max-keys":["10","20"]}}`)
	binary := allowIf(`{"BinaryEquals":{"example:blob":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}`)

	runEvalCases(t, []evalCase{
		{"IfExists with the key absent", req(nil), Set{Identity: instanceType}, Allowed, "", nil},
		{"IfExists with a matching value", req(ctx("ec2:InstanceType", "t2.micro")), Set{Identity: instanceType}, Allowed, "", nil},
		{"IfExists with another value", req(ctx("ec2:InstanceType", "m5.large")), Set{Identity: instanceType}, ImplicitDeny, DeniedByIdentity, nil},
		{"condition keys ignore case", req(ctx("EC2:instancetype", "m5.large")), Set{Identity: instanceType}, ImplicitDeny, DeniedByIdentity, nil},
		{"Null true, key absent", req(nil), Set{Identity: noTemporary}, Allowed, "", nil},
		{"Null true, key present", req(ctx("aws:TokenIssueTime", "2020-01-01T00:00:00Z")), Set{Identity: noTemporary}, ImplicitDeny, DeniedByIdentity, nil},
		{"Null false, key present", req(ctx("aws:TokenIssueTime", "2020-01-01T00:00:00Z")), Set{Identity: temporary}, Allowed, "", nil},
		{"Null false, key with no values", req(map[string][]string{"aws:TokenIssueTime": {}}), Set{Identity: temporary}, ImplicitDeny, DeniedByIdentity, nil},
		{"ForAllValues with no values holds", req(nil), Set{Identity: allTags}, Allowed, "", nil},
		{"ForAllValues with a subset", req(ctx("aws:TagKeys", "Owner")), Set{Identity: allTags}, Allowed, "", nil},
		{"ForAllValues with an extra value", req(ctx("aws:TagKeys", "Owner", "aws:TagKeys", "Other")), Set{Identity: allTags}, ImplicitDeny, DeniedByIdentity, nil},
		{"ForAnyValue with no values fails", req(nil), Set{Identity: anyTag}, ImplicitDeny, DeniedByIdentity, nil},
		{"ForAnyValue with one match", req(ctx("aws:TagKeys", "team", "aws:TagKeys", "env")), Set{Identity: anyTag}, Allowed, "", nil},
		{"ForAnyValue with none", req(ctx("aws:TagKeys", "team")), Set{Identity: anyTag}, ImplicitDeny, DeniedByIdentity, nil},
		{"ForAnyValue negated, one other value", req(ctx("aws:TagKeys", "env", "aws:TagKeys", "team")), Set{Identity: anyTagNot}, Allowed, "", nil},
		{"ForAnyValue negated, only the value", req(ctx("aws:TagKeys", "env")), Set{Identity: anyTagNot}, ImplicitDeny, DeniedByIdentity, nil},
		{"StringNotEquals with the key absent holds", req(nil), Set{Identity: notEquals}, Allowed, "", nil},
		{"StringNotEquals matches none of its values", req(ctx("aws:PrincipalAccount", "111122223333")), Set{Identity: notEquals}, Allowed, "", nil},
		{"StringNotEquals with one of its values", req(ctx("aws:PrincipalAccount", "777788889999")), Set{Identity: notEquals}, ImplicitDeny, DeniedByIdentity, nil},
		{"StringEqualsIgnoreCase", req(ctx("aws:PrincipalTag/dept", "DATA")), Set{Identity: ignoreCase}, Allowed, "", nil},
		{"keys of one operator AND", req(ctx("ec2:ResourceTag/Project", "DataAnalytics", "aws:PrincipalTag/Department", "Data")), Set{Identity: keysAnd}, Allowed, "", nil},
		{"keys of one operator AND, one fails", req(ctx("ec2:ResourceTag/Project", "DataAnalytics", "aws:PrincipalTag/Department", "Sales")), Set{Identity: keysAnd}, ImplicitDeny, DeniedByIdentity, nil},
		{"operators AND", req(ctx("aws:PrincipalTag/Department", "Data", "aws:SecureTransport", "false")), Set{Identity: operatorsAnd}, ImplicitDeny, DeniedByIdentity, nil},
		{"ArnLike matches segments", req(ctx("aws:SourceArn", "arn:aws:someservice:us-east-2:111122223333:finance/document.txt")), Set{Identity: sourceArn}, Allowed, "", nil},
		{"ArnLike does not span segments", req(ctx("aws:SourceArn", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt")), Set{Identity: sourceArn}, ImplicitDeny, DeniedByIdentity, nil},
		{"StringLike spans them", req(ctx("aws:SourceArn", "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt")), Set{Identity: sourceString}, Allowed, "", nil},
		{"ArnNotLike", req(ctx("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:topic")), Set{Identity: arnNotLike}, ImplicitDeny, DeniedByIdentity, nil},
		{"IpAddress in an IPv4 range", req(ctx("aws:SourceIp", "203.0.113.77")), Set{Identity: sourceIP}, Allowed, "", nil},
		{"IpAddress in an IPv6 range", req(ctx("aws:SourceIp", "2001:db8:1234:5678::1")), Set{Identity: sourceIP}, Allowed, "", nil},
		{"IpAddress, a lone address is /32", req(ctx("aws:SourceIp", "198.51.100.7")), Set{Identity: sourceIP}, Allowed, "", nil},
		{"IpAddress outside", req(ctx("aws:SourceIp", "198.51.100.8")), Set{Identity: sourceIP}, ImplicitDeny, DeniedByIdentity, nil},
		{"NotIpAddress", req(ctx("aws:SourceIp", "203.0.113.1")), Set{Identity: notSourceIP}, ImplicitDeny, DeniedByIdentity, nil},
		{"DateLessThan before", req(ctx("aws:CurrentTime", "2020-01-01T00:00:00Z")), Set{Identity: before}, Allowed, "", nil},
		{"DateLessThan after", req(ctx("aws:CurrentTime", "2020-07-01T00:00:00Z")), Set{Identity: before}, ImplicitDeny, DeniedByIdentity, nil},
		{"DateLessThan, epoch seconds in the request", req(ctx("aws:CurrentTime", "1577836800")), Set{Identity: before}, Allowed, "", nil},
		{"DateLessThanEquals, epoch seconds in the policy", req(ctx("aws:EpochTime", "1593475200")), Set{Identity: beforeEpoch}, Allowed, "", nil},
		{"date range inside", req(ctx("aws:CurrentTime", "2017-09-01T12:00:00Z")), Set{Identity: between}, Allowed, "", nil},
		{"date range outside", req(ctx("aws:CurrentTime", "2018-01-01T00:00:00Z")), Set{Identity: between}, ImplicitDeny, DeniedByIdentity, nil},
		{"DateNotEquals compares instants, not text", req(ctx("aws:CurrentTime", "2019-12-31T23:00:00Z")), Set{Identity: dateNot}, ImplicitDeny, DeniedByIdentity, nil},
		{"Bool aws:SecureTransport false is denied", req(ctx("aws:SecureTransport", "false")), Set{Identity: secure}, ExplicitDeny, DeniedByIdentity, nil},
		{"Bool aws:SecureTransport true is allowed", req(ctx("aws:SecureTransport", "true")), Set{Identity: secure}, Allowed, "", nil},
		{"NumericLessThanEquals", req(ctx("s3:max-keys", "10")), Set{Identity: maxKeys}, Allowed, "", nil},
		{"NumericLessThanEquals above", req(ctx("s3:max-keys", "11")), Set{Identity: maxKeys}, ImplicitDeny, DeniedByIdentity, nil},
		{"NumericLessThanEquals, not a number", req(ctx("s3:max-keys", "ten")), Set{Identity: maxKeys}, ImplicitDeny, DeniedByIdentity, nil},
		{"NumericNotEquals", req(ctx("s3:max-keys", "20.0")), Set{Identity: maxKeysNot}, ImplicitDeny, DeniedByIdentity, nil},
		{"BinaryEquals", req(ctx("example:blob", "QmluYXJ5VmFsdWVJbkJhc2U2NA==")), Set{Identity: binary}, Allowed, "", nil},
		{"BinaryEquals other bytes", req(ctx("example:blob", "AAAA")), Set{Identity: binary}, ImplicitDeny, DeniedByIdentity, nil},
	})
}

func TestEvaluatePolicyVariables(t *testing.T) {
	own := identity(t, "p", `{"Effect":"Allow","Action":"iam:ChangePassword","Resource":"arn:aws:iam::*:user/${aws:username}"}`)
	prefix := identity(t, "p", `{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::bucket","Condition":{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}}`)
	team := identity(t, "p", `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-${aws:PrincipalTag/team, 'company-wide'}/*"}`)
	star := identity(t, "p", `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/${*}${?}${$}"}`)
	tagMatch := identity(t, "p", `{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"s3:ExistingObjectTag/Team":"${aws:PrincipalTag/Team}"}}}`)
	tagMismatch := identity(t, "p", `{"Effect":"Deny","Action":"s3:GetObject","Resource":"*","Condition":{"StringNotEquals":{"s3:ExistingObjectTag/Team":"${aws:PrincipalTag/Team}"}}}`)
	legacy := []Source{{Name: "p", Policy: mustParse(t, Identity, `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"iam:ChangePassword","Resource":"arn:aws:iam::*:user/${aws:username}"}}`)}}
	bob := map[string][]string{"aws:username": {"bob"}}
	runEvalCases(t, []evalCase{
		{"own user", Request{Principal: user, Action: "iam:ChangePassword", Resource: userARN, Context: bob}, Set{Identity: own}, Allowed, "", nil},
		{"another user", Request{Principal: user, Action: "iam:ChangePassword", Resource: "arn:aws:iam::111122223333:user/alice", Context: bob}, Set{Identity: own}, ImplicitDeny, DeniedByIdentity, nil},
		{"no value matches nothing", Request{Principal: user, Action: "iam:ChangePassword", Resource: userARN}, Set{Identity: own}, ImplicitDeny, DeniedByIdentity, nil},
		{"2008-10-17 has no variables", Request{Principal: user, Action: "iam:ChangePassword", Resource: userARN, Context: bob}, Set{Identity: legacy}, ImplicitDeny, DeniedByIdentity, nil},
		{"2008-10-17 reads them as text", Request{Principal: user, Action: "iam:ChangePassword", Resource: "arn:aws:iam::111122223333:user/${aws:username}", Context: bob}, Set{Identity: legacy}, Allowed, "", nil},
		{"variable in StringLike", Request{Principal: user, Action: "s3:ListBucket", Resource: "arn:aws:s3:::bucket", Context: map[string][]string{"aws:username": {"bob"}, "s3:prefix": {"home/bob/docs"}}}, Set{Identity: prefix}, Allowed, "", nil},
		{"variable in StringLike, other prefix", Request{Principal: user, Action: "s3:ListBucket", Resource: "arn:aws:s3:::bucket", Context: map[string][]string{"aws:username": {"bob"}, "s3:prefix": {"home/alice/docs"}}}, Set{Identity: prefix}, ImplicitDeny, DeniedByIdentity, nil},
		{"a value is literal text", Request{Principal: user, Action: "iam:ChangePassword", Resource: "arn:aws:iam::111122223333:user/bob", Context: map[string][]string{"aws:username": {"b*"}}}, Set{Identity: own}, ImplicitDeny, DeniedByIdentity, nil},
		{"tag value", Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket-yellow/a", Context: map[string][]string{"aws:PrincipalTag/team": {"yellow"}}}, Set{Identity: team}, Allowed, "", nil},
		{"default value", Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket-company-wide/a"}, Set{Identity: team}, Allowed, "", nil},
		{"default value, other bucket", Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket-yellow/a"}, Set{Identity: team}, ImplicitDeny, DeniedByIdentity, nil},
		{"special characters", Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/*?$"}, Set{Identity: star}, Allowed, "", nil},
		{"special characters are not wildcards", Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::bucket/ab$"}, Set{Identity: star}, ImplicitDeny, DeniedByIdentity, nil},
		{"variable in StringEquals", Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/o", Context: map[string][]string{"aws:PrincipalTag/Team": {"red"}, "s3:ExistingObjectTag/Team": {"red"}}}, Set{Identity: tagMatch}, Allowed, "", nil},
		{"StringNotEquals against no value holds", Request{Principal: user, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/o", Context: map[string][]string{"s3:ExistingObjectTag/Team": {"red"}}}, Set{Identity: append(tagMatch, tagMismatch...)}, ExplicitDeny, DeniedByIdentity, nil},
	})
}

func TestEvaluateBoundariesAndSessions(t *testing.T) {
	all := identity(t, "admin", `{"Effect":"Allow","Action":"ecr:*","Resource":"*"}`)
	pullOnly := identity(t, "session policy", `{"Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"*"}`)
	describe := identity(t, "boundary", `{"Effect":"Allow","Action":["ecr:Describe*","ecr:BatchGetImage"],"Resource":"*"}`)
	denyInBoundary := identity(t, "boundary", `[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ecr:DescribeImages","Resource":"*"}]`)
	denyInSession := identity(t, "session policy", `[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ecr:DescribeImages","Resource":"*"}]`)
	get := func(action string) Request { return Request{Principal: session, Action: action, Resource: repoARN} }
	runEvalCases(t, []evalCase{
		{"session policy narrows: allowed by both", get("ecr:BatchGetImage"), Set{Identity: all, Session: pullOnly}, Allowed, "", nil},
		{"session policy narrows: not by the session policy", get("ecr:PutImage"), Set{Identity: all, Session: pullOnly}, ImplicitDeny, DeniedBySession, nil},
		{"session policy grants nothing alone", get("ecr:BatchGetImage"), Set{Session: pullOnly}, ImplicitDeny, DeniedByIdentity, nil},
		{"passed but empty session policies allow nothing", get("ecr:BatchGetImage"), Set{Identity: all, Session: []Source{}}, ImplicitDeny, DeniedBySession, nil},
		{"boundary narrows: inside", get("ecr:DescribeRepositories"), Set{Identity: all, Boundary: describe}, Allowed, "", nil},
		{"boundary narrows: outside", get("ecr:PutImage"), Set{Identity: all, Boundary: describe}, ImplicitDeny, DeniedByBoundary, nil},
		{"boundary grants nothing alone", get("ecr:DescribeRepositories"), Set{Boundary: describe}, ImplicitDeny, DeniedByIdentity, nil},
		{"boundary, then session policy", get("ecr:DescribeRepositories"), Set{Identity: all, Boundary: describe, Session: pullOnly}, ImplicitDeny, DeniedBySession, nil},
		{"explicit deny in a boundary", get("ecr:DescribeImages"), Set{Identity: all, Boundary: denyInBoundary}, ExplicitDeny, DeniedByBoundary, nil},
		{"explicit deny in a session policy", get("ecr:DescribeImages"), Set{Identity: all, Session: denyInSession}, ExplicitDeny, DeniedBySession, nil},
	})
}

func TestEvaluateResourcePolicies(t *testing.T) {
	grant := func(principal string) []Source {
		return resource(t, `{"Sid":"Pull","Effect":"Allow","Principal":{"AWS":"`+principal+`"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}`)
	}
	public := resource(t, `{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}`)
	denyAll := resource(t, `{"Sid":"Lock","Effect":"Deny","Principal":"*","Action":"ecr:*"}`)
	denyOthers := resource(t, `{"Sid":"OnlyApp","Effect":"Deny","NotPrincipal":{"AWS":["`+roleARN+`","`+sessionARN+`"]},"Action":"ecr:*"}`)
	pullIdentity := identity(t, "pull", `{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}`)
	nothing := identity(t, "session policy", `{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`)
	pull := func(p Principal, resourceARN string) Request {
		return Request{Principal: p, Action: "ecr:BatchGetImage", Resource: resourceARN}
	}
	crossUser := Principal{ARN: "arn:aws:iam::444455556666:user/eve", Account: otherAccount}
	crossRepo := "arn:aws:ecr:us-east-1:444455556666:repository/shared"
	root := Principal{ARN: "arn:aws:iam::111122223333:root", Account: account}
	runEvalCases(t, []evalCase{
		{"user named, no identity policy", pull(user, repoARN), Set{Resource: grant(userARN)}, Allowed, "", &Match{Source: "resource policy", Sid: "Pull"}},
		{"user named, despite a boundary", pull(user, repoARN), Set{Resource: grant(userARN), Boundary: nothing}, Allowed, "", nil},
		{"session named, despite a session policy", pull(session, repoARN), Set{Resource: grant(sessionARN), Session: nothing, Boundary: nothing}, Allowed, "", nil},
		{"role named, no identity policy", pull(session, repoARN), Set{Resource: grant(roleARN)}, Allowed, "", nil},
		{"role named, limited by the session policy", pull(session, repoARN), Set{Resource: grant(roleARN), Session: nothing}, ImplicitDeny, DeniedBySession, nil},
		{"role named, limited by the boundary", pull(session, repoARN), Set{Resource: grant(roleARN), Boundary: nothing}, ImplicitDeny, DeniedByBoundary, nil},
		{"account named delegates to identity policies", pull(user, repoARN), Set{Resource: grant(account)}, ImplicitDeny, DeniedByIdentity, nil},
		{"account named, identity policy allows", pull(user, repoARN), Set{Resource: grant("arn:aws:iam::111122223333:root"), Identity: pullIdentity}, Allowed, "", nil},
		{"another user named", pull(user, repoARN), Set{Resource: grant("arn:aws:iam::111122223333:user/alice")}, ImplicitDeny, DeniedByIdentity, nil},
		{"everyone", pull(user, repoARN), Set{Resource: public}, Allowed, "", &Match{Source: "resource policy", Sid: "Public"}},
		{"deny in the resource policy", pull(user, repoARN), Set{Resource: denyAll, Identity: pullIdentity}, ExplicitDeny, DeniedByResource, &Match{Source: "resource policy", Sid: "Lock"}},
		{"NotPrincipal deny spares the role's sessions", pull(session, repoARN), Set{Resource: denyOthers, Identity: pullIdentity}, Allowed, "", nil},
		{"NotPrincipal deny for others", pull(user, repoARN), Set{Resource: denyOthers, Identity: pullIdentity}, ExplicitDeny, DeniedByResource, nil},
		{"cross-account: both sides allow", pull(crossUser, repoARN), Set{Resource: grant(otherAccount), Identity: pullIdentity}, Allowed, "", &Match{Source: "resource policy", Sid: "Pull"}},
		{"cross-account: no resource policy", pull(crossUser, repoARN), Set{Identity: pullIdentity}, ImplicitDeny, DeniedByResource, nil},
		{"cross-account: user named but no identity policy", pull(crossUser, repoARN), Set{Resource: grant(crossUser.ARN)}, ImplicitDeny, DeniedByIdentity, nil},
		{"cross-account: the other way", pull(user, crossRepo), Set{Identity: pullIdentity}, ImplicitDeny, DeniedByResource, nil},
		{"an AWS managed policy is no other account's", Request{Principal: user, Action: "iam:GetPolicy", Resource: "arn:aws:iam::aws:policy/AdministratorAccess"},
			Set{Identity: identity(t, "read", `{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}`)}, Allowed, "", nil},
		{"root user needs no identity policy", pull(root, repoARN), Set{}, Allowed, "", nil},
		{"root user is denied by a resource policy", pull(root, repoARN), Set{Resource: denyAll}, ExplicitDeny, DeniedByResource, nil},
	})
}

func TestEvaluateTrustPolicies(t *testing.T) {
	ecsTrust := []Source{{Name: "trust policy", Policy: mustParse(t, Trust, ecsTasksTrustPolicy)}}
	accountTrust := []Source{{Name: "trust policy", Policy: mustParse(t, Trust, stmt(`[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"},
		{"Sid":"NoEve","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/eve"},"Action":"sts:AssumeRole"}]`))}}
	assume := identity(t, "assume", `{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/*"}`)
	target := "arn:aws:iam::111122223333:role/task"
	ecsTasks := Principal{Service: "ecs-tasks.amazonaws.com"}
	fromCluster := map[string][]string{"aws:SourceArn": {"arn:aws:ecs:us-west-2:111122223333:task/c/0123"}, "aws:SourceAccount": {"111122223333"}}
	fromElsewhere := map[string][]string{"aws:SourceArn": {"arn:aws:ecs:us-west-2:999999999999:task/c/0123"}, "aws:SourceAccount": {"999999999999"}}
	eve := Principal{ARN: "arn:aws:iam::111122223333:user/eve", Account: account}
	runEvalCases(t, []evalCase{
		{"service principal trusted", Request{Principal: ecsTasks, Action: "sts:AssumeRole", Resource: target, Context: fromCluster}, Set{Resource: ecsTrust}, Allowed, "", &Match{Source: "trust policy"}},
		{"service principal, wrong source", Request{Principal: ecsTasks, Action: "sts:AssumeRole", Resource: target, Context: fromElsewhere}, Set{Resource: ecsTrust}, ImplicitDeny, DeniedByTrust, nil},
		{"another service", Request{Principal: Principal{Service: "ec2.amazonaws.com"}, Action: "sts:AssumeRole", Resource: target, Context: fromCluster}, Set{Resource: ecsTrust}, ImplicitDeny, DeniedByTrust, nil},
		{"identity policy alone cannot assume", Request{Principal: user, Action: "sts:AssumeRole", Resource: target, Context: fromCluster}, Set{Resource: ecsTrust, Identity: assume}, ImplicitDeny, DeniedByTrust, nil},
		{"account trusted, identity policy allows", Request{Principal: user, Action: "sts:AssumeRole", Resource: target}, Set{Resource: accountTrust, Identity: assume}, Allowed, "", nil},
		{"account trusted, no identity policy", Request{Principal: user, Action: "sts:AssumeRole", Resource: target}, Set{Resource: accountTrust}, ImplicitDeny, DeniedByIdentity, nil},
		{"explicit deny in the trust policy", Request{Principal: eve, Action: "sts:AssumeRole", Resource: target}, Set{Resource: accountTrust, Identity: assume}, ExplicitDeny, DeniedByTrust, &Match{Source: "trust policy", Sid: "NoEve", Index: 1}},
	})
}

func TestExtraContextAndReferencedKeys(t *testing.T) {
	p, err := Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:DescribeServices","Resource":"*",
		"Condition":{"StringEquals":{"aws:resourcetag/team":"web","ecs:cluster":"arn:aws:ecs:us-east-1:123456789012:cluster/c"}}}]}`, Identity)
	if err != nil {
		t.Fatal(err)
	}
	if !p.ReferencesKey("ResourceTag/") || p.ReferencesKey("RequestTag/") {
		t.Fatal("ReferencesKey")
	}
	set := Set{Identity: []Source{{Name: "p", Policy: p}}}
	shared := map[string][]string{"ecs:cluster": {"arn:aws:ecs:us-east-1:123456789012:cluster/c"}}
	req := Request{Principal: Principal{ARN: "arn:aws:iam::123456789012:user/u", Account: "123456789012"},
		Action: "ecs:DescribeServices", Resource: "arn:aws:ecs:us-east-1:123456789012:service/c/s", Context: shared}
	if Evaluate(req, set).Effect == Allowed {
		t.Fatal("allowed without the resource's tag")
	}
	req.Extra = map[string][]string{"aws:ResourceTag/team": {"web"}}
	if Evaluate(req, set).Effect != Allowed {
		t.Fatal("Extra's key not seen")
	}
	// Extra wins over Context.
	req.Extra["ecs:cluster"] = []string{"arn:aws:ecs:us-east-1:123456789012:cluster/other"}
	if Evaluate(req, set).Effect == Allowed {
		t.Fatal("Context's key seen over Extra's")
	}
	if len(shared) != 1 {
		t.Fatal("the shared context changed")
	}
}
