package policy

import "testing"

func TestMessage(t *testing.T) {
	pull := Request{Action: "ecr:BatchGetImage", Resource: repoARN}
	token := Request{Action: "ecr:GetAuthorizationToken", Resource: "*"}
	assume := Request{Action: "sts:AssumeRole", Resource: "arn:aws:iam::111122223333:role/task"}
	list := Request{Action: "codecommit:ListRepositories"}
	tests := []struct {
		name      string
		principal string
		req       Request
		decision  Decision
		want      string
	}{
		{"no identity-based policy", sessionARN, token, Decision{Effect: ImplicitDeny, DeniedBy: DeniedByIdentity},
			"User: arn:aws:sts::111122223333:assumed-role/app/s1 is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the ecr:GetAuthorizationToken action"},
		{"explicit deny, identity-based", userARN, pull, Decision{Effect: ExplicitDeny, DeniedBy: DeniedByIdentity},
			"User: arn:aws:iam::111122223333:user/bob is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:111122223333:repository/web with an explicit deny in an identity-based policy"},
		{"explicit deny, resource-based", userARN, pull, Decision{Effect: ExplicitDeny, DeniedBy: DeniedByResource},
			"User: arn:aws:iam::111122223333:user/bob is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:111122223333:repository/web with an explicit deny in a resource-based policy"},
		{"no resource-based policy", "arn:aws:sts::444455556666:assumed-role/ci/GitHubActions", pull, Decision{Effect: ImplicitDeny, DeniedBy: DeniedByResource},
			"User: arn:aws:sts::444455556666:assumed-role/ci/GitHubActions is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:111122223333:repository/web because no resource-based policy allows the ecr:BatchGetImage action"},
		{"no session policy", sessionARN, pull, Decision{Effect: ImplicitDeny, DeniedBy: DeniedBySession},
			"User: arn:aws:sts::111122223333:assumed-role/app/s1 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:111122223333:repository/web because no session policy allows the ecr:BatchGetImage action"},
		{"no permissions boundary", userARN, pull, Decision{Effect: ImplicitDeny, DeniedBy: DeniedByBoundary},
			"User: arn:aws:iam::111122223333:user/bob is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:111122223333:repository/web because no permissions boundary allows the ecr:BatchGetImage action"},
		{"explicit deny, permissions boundary", userARN, pull, Decision{Effect: ExplicitDeny, DeniedBy: DeniedByBoundary},
			"User: arn:aws:iam::111122223333:user/bob is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:111122223333:repository/web with an explicit deny in a permissions boundary"},
		{"explicit deny, session policy", sessionARN, pull, Decision{Effect: ExplicitDeny, DeniedBy: DeniedBySession},
			"User: arn:aws:sts::111122223333:assumed-role/app/s1 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:111122223333:repository/web with an explicit deny in a session policy"},
		{"no role trust policy", userARN, assume, Decision{Effect: ImplicitDeny, DeniedBy: DeniedByTrust},
			"User: arn:aws:iam::111122223333:user/bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/task because no role trust policy allows the sts:AssumeRole action"},
		{"explicit deny, role trust policy", userARN, assume, Decision{Effect: ExplicitDeny, DeniedBy: DeniedByTrust},
			"User: arn:aws:iam::111122223333:user/bob is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/task with an explicit deny in the role trust policy"},
		{"no resource", "arn:aws:iam::123456789012:user/JohnDoe", list, Decision{Effect: ImplicitDeny, DeniedBy: DeniedByIdentity},
			"User: arn:aws:iam::123456789012:user/JohnDoe is not authorized to perform: codecommit:ListRepositories because no identity-based policy allows the codecommit:ListRepositories action"},
		{"allowed", userARN, pull, Decision{Effect: Allowed}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.decision.Message(tt.principal, tt.req); got != tt.want {
				t.Fatalf("\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestMessageOfEvaluate(t *testing.T) {
	req := Request{Principal: session, Action: "ecr:GetAuthorizationToken", Resource: "*"}
	d := Evaluate(req, Set{})
	want := "User: arn:aws:sts::111122223333:assumed-role/app/s1 is not authorized to perform: ecr:GetAuthorizationToken on resource: * because no identity-based policy allows the ecr:GetAuthorizationToken action"
	if got := d.Message(req.Principal.ARN, req); got != want {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
}
