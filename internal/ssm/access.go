package ssm

import (
	"context"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ssm/ssmtypes"
)

// access is what a Systems Manager call needs in IAM's terms, as the
// Service Authorization Reference lists it: the action "ssm:<operation>"
// on each parameter named (arn:aws:ssm:<region>:<account>:parameter/<name>,
// a name's leading slash dropped), on the path for GetParametersByPath,
// and on "*" for DescribeParameters. GetParameters and DeleteParameters
// need the action on every parameter they name, so one denied name fails
// the call, as in AWS. TerminateSession and ResumeSession need it on the
// session (arn:aws:ssm:<region>:<account>:session/<session id>),
// DescribeSessions on "*".
func (s *service) access(ctx context.Context, op string, input any) ([]awsapi.Access, error) {
	action := "ssm:" + op
	on := func(names ...string) []awsapi.Access {
		out := make([]awsapi.Access, 0, len(names))
		for _, n := range names {
			out = append(out, awsapi.Access{Action: action, Resource: s.accessARN(ctx, n)})
		}
		return out
	}
	switch in := input.(type) {
	case *ssmtypes.PutParameterRequest:
		acc := on(awsapi.Deref(in.Name))
		acc[0].Context = requestTags(in.Tags)
		return acc, nil
	case *ssmtypes.GetParameterRequest:
		return on(awsapi.Deref(in.Name)), nil
	case *ssmtypes.GetParametersRequest:
		return on(in.Names...), nil
	case *ssmtypes.GetParametersByPathRequest:
		return on(awsapi.Deref(in.Path)), nil
	case *ssmtypes.GetParameterHistoryRequest:
		return on(awsapi.Deref(in.Name)), nil
	case *ssmtypes.DeleteParameterRequest:
		return on(awsapi.Deref(in.Name)), nil
	case *ssmtypes.DeleteParametersRequest:
		return on(in.Names...), nil
	case *ssmtypes.LabelParameterVersionRequest:
		return on(awsapi.Deref(in.Name)), nil
	case *ssmtypes.UnlabelParameterVersionRequest:
		return on(awsapi.Deref(in.Name)), nil
	case *ssmtypes.AddTagsToResourceRequest:
		acc := on(awsapi.Deref(in.ResourceId))
		acc[0].Context = requestTags(in.Tags)
		return acc, nil
	case *ssmtypes.RemoveTagsFromResourceRequest:
		acc := on(awsapi.Deref(in.ResourceId))
		acc[0].Context = map[string][]string{"aws:TagKeys": in.TagKeys}
		return acc, nil
	case *ssmtypes.ListTagsForResourceRequest:
		return on(awsapi.Deref(in.ResourceId)), nil
	case *ssmtypes.TerminateSessionRequest:
		return []awsapi.Access{{Action: action, Resource: s.sessionARN(ctx, awsapi.Deref(in.SessionId))}}, nil
	case *ssmtypes.ResumeSessionRequest:
		return []awsapi.Access{{Action: action, Resource: s.sessionARN(ctx, awsapi.Deref(in.SessionId))}}, nil
	}
	return nil, nil // DescribeParameters, DescribeSessions, and what berth does not serve: "*"
}

// sessionARN is the ARN of a session of the request's region.
func (s *service) sessionARN(ctx context.Context, id string) string {
	return "arn:aws:ssm:" + region(ctx) + ":" + s.account + ":session/" + id
}

// accessARN is the ARN a parameter reference (a name or an ARN, perhaps
// with a :version or :label selector) is authorized on.
func (s *service) accessARN(ctx context.Context, given string) string {
	given = cleanName(given)
	if strings.HasPrefix(given, "arn:") {
		// The selector comes after the ARN's sixth field.
		if i := strings.Index(given, ":parameter/"); i >= 0 {
			name, _, _ := strings.Cut(given[i+len(":parameter/"):], ":")
			return given[:i] + ":parameter/" + name
		}
		return given
	}
	name, _, _ := strings.Cut(given, ":")
	return "arn:aws:ssm:" + region(ctx) + ":" + s.account + ":parameter/" + strings.TrimPrefix(name, "/")
}

// requestTags are the condition keys of the tags a call sets.
func requestTags(tags []ssmtypes.Tag) map[string][]string {
	return awsapi.RequestTags(tags, func(t ssmtypes.Tag) (*string, *string) { return t.Key, t.Value })
}
