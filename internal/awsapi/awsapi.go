// Package awsapi holds what the gateway and the API service packages share:
// the description of a service and its typed operations, AWS errors and the
// tables that map a service's errors to them, the per-request context and
// the wire timestamp type. Service packages (ecr,
// ecs, ...) import it; the gateway imports it and the services' Service
// values, wired together by cmd/berth.
package awsapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/berth/berth/internal/awsapi/model"
)

// Protocol is an AWS wire protocol.
type Protocol string

const (
	JSON11 Protocol = "json"  // awsJson1_1: POST / with X-Amz-Target
	Query  Protocol = "query" // awsQuery: a form with Action and Version, routed by credential scope
	EC2    Protocol = "ec2"   // ec2Query: awsQuery's form in, EC2's own XML out
)

// Service describes one AWS API service to the gateway.
type Service struct {
	// SigningName is the SigV4 credential scope service (ecr, ecs, logs, ...).
	SigningName string
	// TargetPrefix routes awsJson1_1 requests (X-Amz-Target: <prefix>.<Op>).
	TargetPrefix string
	Protocol     Protocol
	// Model is the service's API model: shapes for validation and codecs.
	Model *model.API
	// Operations by name. An operation in the model but not here answers
	// the service's "not supported" error. A service maps its operations'
	// errors to AWS errors with its ErrorTable (ErrorTable.Bind); an error
	// left unmapped answers InternalFailure.
	Operations map[string]Operation
	// ValidationError builds the service's own error for input that breaks a
	// model constraint. path is the member path in AWS's form
	// ("repositoryName", "imageIds.1.member.imageTag"; for ec2Query the
	// parameter as sent, "Filter.1.Name"); value is the value
	// as AWS's messages show it ("null" for a missing member, "" for a
	// sensitive one); constraint is the AWS wording of the broken rule
	// ("Member must have length less than or equal to 256").
	ValidationError func(path, value, constraint string) *Error
	// Unsupported is the error for a modelled operation berth does not
	// implement; nil answers UnsupportedOperation (UnsupportedOperationException
	// for awsJson1_1).
	Unsupported func(operation string) *Error
	// Access lists what a call asks to do in IAM's terms, for the gateway
	// to authorize before the handler runs: one Access per action and
	// resource. nil, or an operation it returns nil for, needs
	// "<signing name>:<operation>" on "*". An error (a resource that
	// cannot be read) fails the call.
	Access func(ctx context.Context, operation string, input any) ([]Access, error)
}

// Access is one permission a call needs.
type Access struct {
	Action   string // "ecs:RunTask"
	Resource string // an ARN, or "*"
	// Context holds the condition keys the call sets (ecs:cluster,
	// aws:RequestTag/<key>, aws:ResourceTag/<key>, aws:TagKeys).
	Context map[string][]string
	// ResourcePolicy is the resource's own policy document, "" for none
	// (an ECR repository policy, a secret's resource policy).
	ResourcePolicy string
	// ResourceTags, if set, reads the resource's tags as condition keys
	// (aws:ResourceTag/<key> and the service's own <svc>:ResourceTag/<key>).
	// The authorizer calls it only when a policy that applies tests such
	// a key: reading them costs a store read per resource.
	ResourceTags func(ctx context.Context) (map[string][]string, error)
}

// Caller is who signed a request.
type Caller struct {
	// ARN is arn:aws:iam::<account>:root for berth's admin key,
	// arn:aws:iam::<account>:user/<path><name> for an IAM user, and
	// arn:aws:sts::<account>:assumed-role/<role>/<session> for a role
	// session.
	ARN string
	// UserID is GetCallerIdentity's UserId: the account id for the root,
	// the user's id (AIDA...), or "<role id>:<session name>".
	UserID string
	// Admin marks berth's admin key, which may do everything, as the
	// account's root user may.
	Admin bool
}

// Operation is one typed handler, wrapped for the gateway.
type Operation struct {
	// NewInput returns a pointer to a zero input struct to decode into.
	NewInput func() any
	// Call runs the handler with the decoded input; the result is a
	// pointer to the output struct (or nil for an empty output).
	Call func(ctx context.Context, input any) (any, error)
}

// A StreamingOutput is an operation's output sent as an event stream
// (CloudWatch Logs' StartLiveTail): once the call has succeeded the gateway
// answers 200 and hands it the response, which it writes until ctx ends.
type StreamingOutput interface {
	WriteStream(ctx context.Context, w http.ResponseWriter)
}

// Op wraps a typed handler.
func Op[In, Out any](fn func(context.Context, *In) (*Out, error)) Operation {
	return Operation{
		NewInput: func() any { return new(In) },
		Call: func(ctx context.Context, input any) (any, error) {
			out, err := fn(ctx, input.(*In))
			if err != nil {
				return nil, err
			}
			return out, nil
		},
	}
}

// RequestInfo is what the gateway learned about a request; handlers read it
// from the context.
type RequestInfo struct {
	RequestID   string
	AccountID   string
	Region      string
	AccessKeyID string
	Caller      Caller
	Service     string
	Operation   string
	// Received is when the gateway received the request (UTC).
	Received time.Time
	// Endpoint is the base URL the client addressed ("http://host:port"):
	// where it reaches this server, for URLs handed back to it.
	Endpoint string
}

type requestKey struct{}

// WithRequest returns ctx carrying info.
func WithRequest(ctx context.Context, info *RequestInfo) context.Context {
	return context.WithValue(ctx, requestKey{}, info)
}

// CallerARN is the ARN of who signed the request in ctx, as services
// record a resource's author or a session's owner; the account's root
// for a request nobody signed.
func CallerARN(ctx context.Context, account string) string {
	if arn := RequestFrom(ctx).Caller.ARN; arn != "" {
		return arn
	}
	return "arn:aws:iam::" + account + ":root"
}

// RequestFrom returns the request info in ctx, or an empty one.
func RequestFrom(ctx context.Context) *RequestInfo {
	if info, ok := ctx.Value(requestKey{}).(*RequestInfo); ok {
		return info
	}
	return &RequestInfo{}
}

// ARNRegion returns the region an ARN names, or fallback for a reference
// that is not an ARN (a bare name or id) or names none.
func ARNRegion(ref, fallback string) string {
	parts := strings.SplitN(ref, ":", 5)
	if len(parts) == 5 && parts[0] == "arn" && parts[3] != "" {
		return parts[3]
	}
	return fallback
}

// RequestTags are the condition keys of the tags a call sets
// (aws:RequestTag/<key> and aws:TagKeys), nil when it sets none; tag reads
// a tag's key and value from the service's own tag shape.
func RequestTags[T any](tags []T, tag func(T) (key, value *string)) map[string][]string {
	if len(tags) == 0 {
		return nil
	}
	c := map[string][]string{}
	for _, t := range tags {
		k, v := tag(t)
		c["aws:RequestTag/"+Deref(k)] = []string{Deref(v)}
		c["aws:TagKeys"] = append(c["aws:TagKeys"], Deref(k))
	}
	return c
}
