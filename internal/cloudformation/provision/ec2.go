package provision

import (
	"context"
	"encoding/json"
	"fmt"
)

// AWS::EC2::SecurityGroup: Ref is the group's id (in a VPC); GroupId and
// VpcId are its attributes. Its rules are the SecurityGroupIngress and
// SecurityGroupEgress properties; a group whose template gives egress
// rules loses the default rule that allows all outbound traffic, as
// CloudFormation does.
func init() {
	register("AWS::EC2::SecurityGroup", &Provisioner{Create: createSecurityGroup, Update: updateSecurityGroup, Delete: deleteSecurityGroup,
		NameProperty: "GroupName", NameLength: 255, Find: findSecurityGroup})
}

// allowAllEgress is the rule EC2 gives every new group.
var allowAllEgress = map[string]any{"IpProtocol": "-1", "IpRanges": []any{map[string]any{"CidrIp": "0.0.0.0/0"}}}

func createSecurityGroup(ctx context.Context, c *Call) (Result, error) {
	in := map[string]any{"GroupName": c.name("GroupName", 255), "Description": c.str("GroupDescription")}
	if vpc := c.str("VpcId"); vpc != "" {
		in["VpcId"] = vpc
	}
	if tags := c.tags("Key", "Value"); len(tags) > 0 {
		in["TagSpecifications"] = []any{map[string]any{"ResourceType": "security-group", "Tags": tags}}
	}
	out, err := c.invoke(ctx, "ec2", "CreateSecurityGroup", in)
	if err != nil {
		return Result{}, err
	}
	id := fmt.Sprint(out["groupId"])
	res := Result{PhysicalID: id, Attributes: map[string]any{"GroupId": id, "VpcId": c.str("VpcId")}}
	if res.Attributes["VpcId"] == "" {
		if vpc, err := c.groupVPC(ctx, id); err == nil {
			res.Attributes["VpcId"] = vpc
		}
	}
	// The group exists from here on: a failure below leaves it for the
	// rollback to delete.
	if err := c.syncRules(ctx, id, true); err != nil {
		return res, err
	}
	return res, nil
}

func findSecurityGroup(ctx context.Context, c *Call) (Result, bool, error) {
	filters := []any{map[string]any{"Name": "group-name", "Values": []any{c.name("GroupName", 255)}}}
	if vpc := c.str("VpcId"); vpc != "" {
		filters = append(filters, map[string]any{"Name": "vpc-id", "Values": []any{vpc}})
	}
	out, err := c.invoke(ctx, "ec2", "DescribeSecurityGroups", map[string]any{"Filters": filters})
	if err != nil {
		return Result{}, false, err
	}
	groups, _ := out["securityGroupInfo"].([]any)
	if len(groups) == 0 {
		return Result{}, false, nil
	}
	g, _ := groups[0].(map[string]any)
	id := fmt.Sprint(g["groupId"])
	return Result{PhysicalID: id, Attributes: map[string]any{"GroupId": id, "VpcId": g["vpcId"]}}, true, nil
}

func (c *Call) groupVPC(ctx context.Context, id string) (string, error) {
	out, err := c.invoke(ctx, "ec2", "DescribeSecurityGroups", map[string]any{"GroupIds": []any{id}})
	if err != nil {
		return "", err
	}
	groups, _ := out["securityGroupInfo"].([]any)
	if len(groups) == 0 {
		return "", fmt.Errorf("security group %s is gone", id)
	}
	g, _ := groups[0].(map[string]any)
	return fmt.Sprint(g["vpcId"]), nil
}

func updateSecurityGroup(ctx context.Context, c *Call) (Result, error) {
	if err := c.syncRules(ctx, c.PhysicalID, false); err != nil {
		return Result{}, err
	}
	if err := c.retagEC2(ctx, c.PhysicalID); err != nil {
		return Result{}, err
	}
	return Result{PhysicalID: c.PhysicalID, Attributes: c.Attributes}, nil
}

// syncRules authorizes the rules the properties give that the previous
// ones did not and revokes the reverse. A new group starts with EC2's
// allow-all egress rule, which stands for an absent SecurityGroupEgress.
func (c *Call) syncRules(ctx context.Context, group string, created bool) error {
	for _, dir := range []struct {
		property, authorize, revoke string
		rule                        func(map[string]any) map[string]any
	}{
		{"SecurityGroupIngress", "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", ingressPermission},
		{"SecurityGroupEgress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress", egressPermission},
	} {
		rules := func(props map[string]any) map[string]map[string]any {
			out := map[string]map[string]any{}
			list, given := props[dir.property].([]any)
			if dir.property == "SecurityGroupEgress" && !given {
				out[permissionKey(allowAllEgress)] = allowAllEgress
			}
			for _, r := range list {
				if m, ok := r.(map[string]any); ok {
					p := dir.rule(m)
					out[permissionKey(p)] = p
				}
			}
			return out
		}
		before := map[string]map[string]any{}
		if created {
			if dir.property == "SecurityGroupEgress" {
				before[permissionKey(allowAllEgress)] = allowAllEgress
			}
		} else {
			before = rules(c.Previous)
		}
		after := rules(c.Properties)
		var add, remove []any
		for k, p := range after {
			if before[k] == nil {
				add = append(add, p)
			}
		}
		for k, p := range before {
			if after[k] == nil {
				remove = append(remove, p)
			}
		}
		if len(remove) > 0 {
			_, err := c.invoke(ctx, "ec2", dir.revoke, map[string]any{"GroupId": group, "IpPermissions": remove})
			if err != nil && !isNotFound(err, "InvalidPermission.NotFound") {
				return err
			}
		}
		if len(add) > 0 {
			if _, err := c.invoke(ctx, "ec2", dir.authorize, map[string]any{"GroupId": group, "IpPermissions": add}); err != nil {
				return err
			}
		}
	}
	return nil
}

func permissionKey(p map[string]any) string {
	b, _ := json.Marshal(p)
	return string(b)
}

// ingressPermission is a SecurityGroupIngress rule as EC2's IpPermission.
func ingressPermission(r map[string]any) map[string]any {
	return permission(r, "CidrIp", "CidrIpv6", "SourcePrefixListId", "SourceSecurityGroupId", "SourceSecurityGroupOwnerId")
}

// egressPermission is a SecurityGroupEgress rule as EC2's IpPermission.
func egressPermission(r map[string]any) map[string]any {
	return permission(r, "CidrIp", "CidrIpv6", "DestinationPrefixListId", "DestinationSecurityGroupId", "")
}

func permission(r map[string]any, cidr, cidr6, prefixList, group, groupOwner string) map[string]any {
	p := map[string]any{"IpProtocol": protocolName(r["IpProtocol"])}
	for _, port := range []string{"FromPort", "ToPort"} {
		if v, ok := r[port]; ok {
			p[port] = v
		}
	}
	desc, hasDesc := r["Description"]
	withDesc := func(m map[string]any) []any {
		if hasDesc {
			m["Description"] = desc
		}
		return []any{m}
	}
	if v, ok := r[cidr]; ok {
		p["IpRanges"] = withDesc(map[string]any{"CidrIp": v})
	}
	if v, ok := r[cidr6]; ok {
		p["Ipv6Ranges"] = withDesc(map[string]any{"CidrIpv6": v})
	}
	if v, ok := r[prefixList]; ok {
		p["PrefixListIds"] = withDesc(map[string]any{"PrefixListId": v})
	}
	if v, ok := r[group]; ok {
		pair := map[string]any{"GroupId": v}
		if owner, ok := r[groupOwner]; ok && groupOwner != "" {
			pair["UserId"] = owner
		}
		p["UserIdGroupPairs"] = withDesc(pair)
	}
	return p
}

// protocolName is an IpProtocol as EC2 takes it: templates write numbers
// too (6 for tcp, -1 for all).
func protocolName(v any) any {
	switch fmt.Sprint(v) {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	}
	return fmt.Sprint(v)
}

func deleteSecurityGroup(ctx context.Context, c *Call) error {
	_, err := c.invoke(ctx, "ec2", "DeleteSecurityGroup", map[string]any{"GroupId": c.PhysicalID})
	if isNotFound(err, "InvalidGroup.NotFound") {
		return nil
	}
	return err
}
