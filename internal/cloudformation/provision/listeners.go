package provision

import (
	"context"
	"fmt"

	"github.com/berth/berth/internal/awsapi/model"
)

func init() {
	// AWS::ElasticLoadBalancingV2::ListenerRule: Ref is the rule's ARN;
	// RuleArn and IsDefault are its attributes.
	register("AWS::ElasticLoadBalancingV2::ListenerRule", &Provisioner{Create: createListenerRule, Update: updateListenerRule, Delete: deleteListenerRule})
	// AWS::ElasticLoadBalancingV2::ListenerCertificate: certificates added
	// to a listener's certificate list. CloudFormation documents no Ref
	// value; its registry schema identifies the resource by an Id it
	// makes. berth's is made up as CloudFormation makes physical names
	// (stack-logical id-random), and is the Id attribute too (UNVERIFIED:
	// the form of CloudFormation's own).
	register("AWS::ElasticLoadBalancingV2::ListenerCertificate", &Provisioner{Create: createListenerCertificate, Update: updateListenerCertificate, Delete: deleteListenerCertificate})
}

func createListenerRule(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("elbv2"), "CreateRule", c.Properties, nil, "Tags")
	if err != nil {
		return Result{}, err
	}
	c.elbv2Tags(in)
	out, err := c.invoke(ctx, "elbv2", "CreateRule", in)
	if err != nil {
		return Result{}, err
	}
	rules, _ := out["Rules"].([]any)
	if len(rules) == 0 {
		return Result{}, fmt.Errorf("CreateRule answered no rule")
	}
	rule, _ := rules[0].(map[string]any)
	arn := fmt.Sprint(rule["RuleArn"])
	isDefault, _ := rule["IsDefault"].(bool)
	return Result{PhysicalID: arn, Attributes: map[string]any{"RuleArn": arn, "IsDefault": isDefault}}, nil
}

func updateListenerRule(ctx context.Context, c *Call) (Result, error) {
	arn := c.PhysicalID
	if c.changed("Actions", "Conditions", "Transforms") {
		in, err := apiInput(model.MustLoad("elbv2"), "ModifyRule", pick(c.Properties, "Actions", "Conditions", "Transforms"), nil)
		if err != nil {
			return Result{}, err
		}
		in["RuleArn"] = arn
		if _, had := c.Previous["Transforms"]; had && c.Properties["Transforms"] == nil {
			in["ResetTransforms"] = true
		}
		if _, err := c.invoke(ctx, "elbv2", "ModifyRule", in); err != nil {
			return Result{}, err
		}
	}
	if c.changed("Priority") {
		if _, err := c.invoke(ctx, "elbv2", "SetRulePriorities", map[string]any{"RulePriorities": []any{
			map[string]any{"RuleArn": arn, "Priority": c.Properties["Priority"]},
		}}); err != nil {
			return Result{}, err
		}
	}
	if err := c.retagELBv2(ctx, arn); err != nil {
		return Result{}, err
	}
	return Result{PhysicalID: arn, Attributes: c.Attributes}, nil
}

func deleteListenerRule(ctx context.Context, c *Call) error {
	_, err := c.invoke(ctx, "elbv2", "DeleteRule", map[string]any{"RuleArn": c.PhysicalID})
	if isNotFound(err, "RuleNotFound", "ListenerNotFound", "LoadBalancerNotFound") {
		return nil
	}
	return err
}

// listenerCertificateARNs are the certificate ARNs of a Certificates
// property.
func listenerCertificateARNs(props map[string]any) []string {
	list, _ := props["Certificates"].([]any)
	var out []string
	for _, item := range list {
		if m, ok := item.(map[string]any); ok {
			if arn, ok := m["CertificateArn"].(string); ok && arn != "" {
				out = append(out, arn)
			}
		}
	}
	return out
}

// elbv2CertificateList is ARNs as ELBv2's Certificates member.
func elbv2CertificateList(arns []string) []any {
	out := make([]any, len(arns))
	for i, arn := range arns {
		out[i] = map[string]any{"CertificateArn": arn}
	}
	return out
}

func createListenerCertificate(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("elbv2"), "AddListenerCertificates", c.Properties, nil)
	if err != nil {
		return Result{}, err
	}
	if _, err := c.invoke(ctx, "elbv2", "AddListenerCertificates", in); err != nil {
		return Result{}, err
	}
	id := PhysicalName(c.Stack.Name, c.LogicalID, 128)
	return Result{PhysicalID: id, Attributes: map[string]any{"Id": id}}, nil
}

// updateListenerCertificate adds the certificates the list gained and
// removes those it lost (the listener stays: a new ListenerArn replaces
// the resource).
func updateListenerCertificate(ctx context.Context, c *Call) (Result, error) {
	listener := c.str("ListenerArn")
	now, was := listenerCertificateARNs(c.Properties), listenerCertificateARNs(c.Previous)
	kept := map[string]bool{}
	for _, arn := range now {
		kept[arn] = true
	}
	var gone []string
	for _, arn := range was {
		if !kept[arn] {
			gone = append(gone, arn)
		}
	}
	if len(now) > 0 {
		if _, err := c.invoke(ctx, "elbv2", "AddListenerCertificates", map[string]any{"ListenerArn": listener, "Certificates": elbv2CertificateList(now)}); err != nil {
			return Result{}, err
		}
	}
	if len(gone) > 0 {
		if _, err := c.invoke(ctx, "elbv2", "RemoveListenerCertificates", map[string]any{"ListenerArn": listener, "Certificates": elbv2CertificateList(gone)}); err != nil {
			return Result{}, err
		}
	}
	return Result{PhysicalID: c.PhysicalID, Attributes: c.Attributes}, nil
}

func deleteListenerCertificate(ctx context.Context, c *Call) error {
	arns := listenerCertificateARNs(c.Properties)
	if len(arns) == 0 {
		return nil
	}
	_, err := c.invoke(ctx, "elbv2", "RemoveListenerCertificates", map[string]any{"ListenerArn": c.str("ListenerArn"), "Certificates": elbv2CertificateList(arns)})
	if isNotFound(err, "ListenerNotFound", "LoadBalancerNotFound", "CertificateNotFound") {
		return nil
	}
	return err
}
