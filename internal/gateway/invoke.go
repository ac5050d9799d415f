package gateway

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/google/uuid"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/awsapi/model"
)

// Invoke makes an AWS API call from inside berth, the way CloudFormation
// calls the services a stack's resources live in: as the caller that
// ctx's RequestInfo names (its account and region too; the gateway's
// defaults where it names none), through the same model validation,
// authorization and handler as a client's request, so a resource made
// by a stack is made by the one implementation its API has.
//
// service is the API model's name ("ecs", "elbv2", "servicediscovery"),
// input the call's input by the model's member names, with strings,
// json.Number, bools, maps and lists. The result is the handler's typed
// output (a pointer, or nil for an empty one), whose JSON has the wire's
// names (EC2's groupId); an error is the service's *awsapi.Error, a
// refusal included.
func (g *Gateway) Invoke(ctx context.Context, service, operation string, input map[string]any) (out any, err error) {
	svc := g.byModel[service]
	if svc == nil {
		return nil, fmt.Errorf("gateway: no service %q to invoke", service)
	}
	op := svc.Model.Operations[operation]
	if op == nil {
		return nil, fmt.Errorf("gateway: service %s has no operation %q", service, operation)
	}
	start := g.now()
	code := ""
	defer func() {
		var aerr *awsapi.Error
		if errors.As(err, &aerr) {
			code = aerr.Code
		} else if err != nil {
			code = awsapi.InternalFailure().Code
		}
		g.metrics.observe(svc.SigningName, operation, code, g.now().Sub(start))
	}()
	handler, ok := svc.Operations[operation]
	if !ok {
		return nil, svc.unsupported(operation)
	}
	if input == nil {
		input = map[string]any{}
	}
	in, err := bindInput(svc, op, wireNames(svc.Model, op.Input, withTokens(svc.Model, op.Input, input)))
	if err != nil {
		return nil, err
	}
	outer := awsapi.RequestFrom(ctx)
	info := &awsapi.RequestInfo{
		RequestID: uuid.NewString(),
		AccountID: outer.AccountID,
		Region:    outer.Region,
		Caller:    outer.Caller,
		Service:   svc.SigningName,
		Operation: operation,
		Received:  start.UTC(),
		Endpoint:  outer.Endpoint,
	}
	if info.AccountID == "" {
		info.AccountID = g.cfg.AccountID
	}
	if info.Region == "" {
		info.Region = g.cfg.Region
	}
	ctx = awsapi.WithRequest(ctx, info)
	if err := g.authorize(ctx, svc, info, in); err != nil {
		return nil, err
	}
	return g.call(ctx, handler, in)
}

// withTokens fills the idempotency token members the input leaves out
// with fresh UUIDs, as the SDKs do: an in-process caller is no raw HTTP
// client, which the services would ask to send one.
func withTokens(api *model.API, ref *model.ShapeRef, input map[string]any) map[string]any {
	s := api.Shapes[ref.Shape]
	if s == nil {
		return input
	}
	var out map[string]any
	for name, member := range s.Members {
		if !member.IdempotencyToken || input[name] != nil {
			continue
		}
		if out == nil {
			out = maps.Clone(input)
		}
		out[name] = uuid.NewString()
	}
	if out == nil {
		return input
	}
	return out
}

// wireNames renames a tree's members from the model's member names to
// the names the codecs decode into (a member's locationName, as EC2's
// GroupDescription for Description), recursively; map keys are data and
// stay.
func wireNames(api *model.API, ref *model.ShapeRef, v any) any {
	if ref == nil {
		return v
	}
	s := api.Shapes[ref.Shape]
	if s == nil {
		return v
	}
	switch s.Type {
	case "structure":
		m, ok := v.(map[string]any)
		if !ok || s.Document {
			return v
		}
		out := make(map[string]any, len(m))
		for k, item := range m {
			if member := s.Members[k]; member != nil {
				out[jsonName(k, member)] = wireNames(api, member, item)
			} else {
				out[k] = item
			}
		}
		return out
	case "list":
		l, ok := v.([]any)
		if !ok {
			return v
		}
		out := make([]any, len(l))
		for i, item := range l {
			out[i] = wireNames(api, s.Member, item)
		}
		return out
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		out := make(map[string]any, len(m))
		for k, item := range m {
			out[k] = wireNames(api, s.Value, item)
		}
		return out
	}
	return v
}
