package provision

import (
	"context"
	"fmt"

	"github.com/berth/berth/internal/awsapi/model"
)

// The network resources of EC2: VPCs, subnets, and the security group
// rules a template declares on their own.
func init() {
	// AWS::EC2::VPC: Ref is the VPC's id; CidrBlock, CidrBlockAssociations,
	// DefaultSecurityGroup, Ipv6CidrBlocks and VpcId are its attributes.
	// berth's VPCs have no network ACLs and no encryption control, so
	// DefaultNetworkAcl and the VpcEncryptionControl.* attributes have no
	// value.
	register("AWS::EC2::VPC", &Provisioner{Create: createVPC, Update: updateVPC, Delete: deleteVPC})
	// AWS::EC2::Subnet: Ref is the subnet's id; AvailabilityZone,
	// AvailabilityZoneId, BlockPublicAccessStates, CidrBlock,
	// Ipv6CidrBlocks, SubnetId and VpcId are its attributes. berth has no
	// network ACLs and no Outposts: NetworkAclAssociationId and OutpostArn
	// have no value.
	register("AWS::EC2::Subnet", &Provisioner{Create: createSubnet, Update: updateSubnet, Delete: deleteSubnet})
	// AWS::EC2::SecurityGroupIngress and AWS::EC2::SecurityGroupEgress: one
	// rule each. Ref and the Id attribute are the rule's id (sgr-...), the
	// registry schema's primary identifier ("The Security Group Rule Id").
	register("AWS::EC2::SecurityGroupIngress", &Provisioner{Create: createIngressRule, Update: updateIngressRule, Delete: deleteIngressRule})
	register("AWS::EC2::SecurityGroupEgress", &Provisioner{Create: createEgressRule, Update: updateEgressRule, Delete: deleteEgressRule})
}

// ec2TagSpecifications is the TagSpecifications member of an EC2 create
// call for a resource of resourceType, or nil when it has no tags.
func (c *Call) ec2TagSpecifications(resourceType string) []any {
	tags := c.tags("Key", "Value")
	if len(tags) == 0 {
		return nil
	}
	return []any{map[string]any{"ResourceType": resourceType, "Tags": tags}}
}

// retagEC2 applies an update's change of the Tags property to an EC2
// resource.
func (c *Call) retagEC2(ctx context.Context, id string) error {
	if !c.changed("Tags") {
		return nil
	}
	if tags := c.removedTags(); len(tags) > 0 {
		if _, err := c.invoke(ctx, "ec2", "DeleteTags", map[string]any{"Resources": []any{id}, "Tags": tags}); err != nil {
			return err
		}
	}
	if tags := c.tags("Key", "Value"); len(tags) > 0 {
		_, err := c.invoke(ctx, "ec2", "CreateTags", map[string]any{"Resources": []any{id}, "Tags": tags})
		return err
	}
	return nil
}

// ec2Bool is a boolean property, or def when the template leaves it
// out.
func (c *Call) ec2Bool(property string, def bool) bool {
	if b, ok := c.Properties[property].(bool); ok {
		return b
	}
	return def
}

func createVPC(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("ec2"), "CreateVpc", c.Properties, nil, "EnableDnsHostnames", "EnableDnsSupport", "Tags")
	if err != nil {
		return Result{}, err
	}
	if specs := c.ec2TagSpecifications("vpc"); specs != nil {
		in["TagSpecifications"] = specs
	}
	out, err := c.invoke(ctx, "ec2", "CreateVpc", in)
	if err != nil {
		return Result{}, err
	}
	vpc, _ := out["vpc"].(map[string]any)
	id := fmt.Sprint(vpc["vpcId"])
	assocs := []any{}
	list, _ := vpc["cidrBlockAssociationSet"].([]any)
	for _, a := range list {
		if m, ok := a.(map[string]any); ok {
			assocs = append(assocs, m["associationId"])
		}
	}
	res := Result{PhysicalID: id, Attributes: map[string]any{
		"VpcId":                 id,
		"CidrBlock":             vpc["cidrBlock"],
		"CidrBlockAssociations": assocs,
		"Ipv6CidrBlocks":        []any{},
	}}
	// The VPC exists from here on: a failure below leaves it for the
	// rollback to delete.
	group, err := c.vpcDefaultGroup(ctx, id)
	if err != nil {
		return res, err
	}
	res.Attributes["DefaultSecurityGroup"] = group
	if err := c.setVPCDNS(ctx, id); err != nil {
		return res, err
	}
	return res, nil
}

// vpcDefaultGroup is the id of the security group EC2 made with the VPC.
func (c *Call) vpcDefaultGroup(ctx context.Context, vpc string) (string, error) {
	out, err := c.invoke(ctx, "ec2", "DescribeSecurityGroups", map[string]any{"Filters": []any{
		map[string]any{"Name": "vpc-id", "Values": []any{vpc}},
		map[string]any{"Name": "group-name", "Values": []any{"default"}},
	}})
	if err != nil {
		return "", err
	}
	groups, _ := out["securityGroupInfo"].([]any)
	if len(groups) == 0 {
		return "", fmt.Errorf("VPC %s has no default security group", vpc)
	}
	g, _ := groups[0].(map[string]any)
	return fmt.Sprint(g["groupId"]), nil
}

// setVPCDNS applies EnableDnsSupport and EnableDnsHostnames where they
// differ from before (a new VPC's: EC2's defaults, support on and
// hostnames off), one attribute per call as EC2 takes them. Hostnames
// need DNS support: support is turned on before hostnames, and off after
// them.
func (c *Call) setVPCDNS(ctx context.Context, vpc string) error {
	type attr struct {
		property string
		def      bool
	}
	support, hostnames := attr{"EnableDnsSupport", true}, attr{"EnableDnsHostnames", false}
	order := []attr{support, hostnames}
	if !c.ec2Bool("EnableDnsSupport", true) {
		order = []attr{hostnames, support}
	}
	for _, a := range order {
		was := a.def
		if b, ok := c.Previous[a.property].(bool); ok {
			was = b
		}
		now := c.ec2Bool(a.property, a.def)
		if now == was {
			continue
		}
		if _, err := c.invoke(ctx, "ec2", "ModifyVpcAttribute", map[string]any{"VpcId": vpc, a.property: map[string]any{"Value": now}}); err != nil {
			return err
		}
	}
	return nil
}

func updateVPC(ctx context.Context, c *Call) (Result, error) {
	// The schema replaces the VPC for every other change but one of
	// InstanceTenancy from dedicated to default, which EC2 makes with
	// ModifyVpcTenancy.
	if c.changed("InstanceTenancy") {
		return Result{}, fmt.Errorf("berth does not support changing a VPC's InstanceTenancy in place (ModifyVpcTenancy) yet")
	}
	if err := c.setVPCDNS(ctx, c.PhysicalID); err != nil {
		return Result{}, err
	}
	if err := c.retagEC2(ctx, c.PhysicalID); err != nil {
		return Result{}, err
	}
	return Result{PhysicalID: c.PhysicalID, Attributes: c.Attributes}, nil
}

func deleteVPC(ctx context.Context, c *Call) error {
	_, err := c.invoke(ctx, "ec2", "DeleteVpc", map[string]any{"VpcId": c.PhysicalID})
	if isNotFound(err, "InvalidVpcID.NotFound") {
		return nil
	}
	return err
}

// subnetAttributes are the Subnet properties ModifySubnetAttribute sets,
// not CreateSubnet.
var subnetAttributes = []string{"MapPublicIpOnLaunch", "AssignIpv6AddressOnCreation", "EnableDns64", "EnableLniAtDeviceIndex", "PrivateDnsNameOptionsOnLaunch"}

func createSubnet(ctx context.Context, c *Call) (Result, error) {
	in, err := apiInput(model.MustLoad("ec2"), "CreateSubnet", c.Properties, nil, append([]string{"Tags"}, subnetAttributes...)...)
	if err != nil {
		return Result{}, err
	}
	if specs := c.ec2TagSpecifications("subnet"); specs != nil {
		in["TagSpecifications"] = specs
	}
	out, err := c.invoke(ctx, "ec2", "CreateSubnet", in)
	if err != nil {
		return Result{}, err
	}
	subnet, _ := out["subnet"].(map[string]any)
	id := fmt.Sprint(subnet["subnetId"])
	res := Result{PhysicalID: id, Attributes: map[string]any{
		"SubnetId":           id,
		"VpcId":              subnet["vpcId"],
		"CidrBlock":          subnet["cidrBlock"],
		"AvailabilityZone":   subnet["availabilityZone"],
		"AvailabilityZoneId": subnet["availabilityZoneId"],
		"Ipv6CidrBlocks":     []any{},
	}}
	if states, ok := subnet["blockPublicAccessStates"].(map[string]any); ok {
		// UNVERIFIED: the attribute's object as CloudFormation names its
		// member.
		res.Attributes["BlockPublicAccessStates"] = map[string]any{"InternetGatewayBlockMode": states["internetGatewayBlockMode"]}
	}
	// The subnet exists from here on: a failure below leaves it for the
	// rollback to delete.
	if err := c.setSubnetAttributes(ctx, id); err != nil {
		return res, err
	}
	return res, nil
}

// setSubnetAttributes applies the subnet attributes that differ from
// before (a new subnet's: none set), one per ModifySubnetAttribute call
// as EC2 takes them; an attribute the template no longer sets goes back
// to EC2's default.
func (c *Call) setSubnetAttributes(ctx context.Context, subnet string) error {
	var calls []map[string]any
	for _, p := range []string{"MapPublicIpOnLaunch", "AssignIpv6AddressOnCreation", "EnableDns64"} {
		if c.changed(p) {
			calls = append(calls, map[string]any{p: map[string]any{"Value": c.ec2Bool(p, false)}})
		}
	}
	if c.changed("EnableLniAtDeviceIndex") {
		if v, ok := c.Properties["EnableLniAtDeviceIndex"]; ok {
			calls = append(calls, map[string]any{"EnableLniAtDeviceIndex": v})
		} else {
			calls = append(calls, map[string]any{"DisableLniAtDeviceIndex": map[string]any{"Value": true}})
		}
	}
	if c.changed("PrivateDnsNameOptionsOnLaunch") {
		now, _ := c.Properties["PrivateDnsNameOptionsOnLaunch"].(map[string]any)
		was, _ := c.Previous["PrivateDnsNameOptionsOnLaunch"].(map[string]any)
		// The options' defaults: EC2 names a new subnet's instances by
		// address, with no resource-name records.
		defaults := map[string]any{"HostnameType": "ip-name", "EnableResourceNameDnsARecord": false, "EnableResourceNameDnsAAAARecord": false}
		for k := range now {
			if _, known := defaults[k]; !known {
				return fmt.Errorf("berth does not support the property PrivateDnsNameOptionsOnLaunch.%s yet", k)
			}
		}
		value := func(m map[string]any, k string) any {
			if v, ok := m[k]; ok {
				return v
			}
			return defaults[k]
		}
		for _, k := range []string{"HostnameType", "EnableResourceNameDnsARecord", "EnableResourceNameDnsAAAARecord"} {
			v := value(now, k)
			if jsonEqual(v, value(was, k)) {
				continue
			}
			if k == "HostnameType" {
				calls = append(calls, map[string]any{"PrivateDnsHostnameTypeOnLaunch": v})
			} else {
				calls = append(calls, map[string]any{k + "OnLaunch": map[string]any{"Value": v}})
			}
		}
	}
	for _, in := range calls {
		in["SubnetId"] = subnet
		if _, err := c.invoke(ctx, "ec2", "ModifySubnetAttribute", in); err != nil {
			return err
		}
	}
	return nil
}

func updateSubnet(ctx context.Context, c *Call) (Result, error) {
	// Ipv6CidrBlock changes in place only between IPv6 blocks, which
	// berth's IPv4-only subnets never have; the API refuses it.
	if c.changed("Ipv6CidrBlock") {
		return Result{}, fmt.Errorf("berth does not support IPv6 blocks on subnets: berth's VPCs are IPv4 only")
	}
	if err := c.setSubnetAttributes(ctx, c.PhysicalID); err != nil {
		return Result{}, err
	}
	if err := c.retagEC2(ctx, c.PhysicalID); err != nil {
		return Result{}, err
	}
	return Result{PhysicalID: c.PhysicalID, Attributes: c.Attributes}, nil
}

func deleteSubnet(ctx context.Context, c *Call) error {
	_, err := c.invoke(ctx, "ec2", "DeleteSubnet", map[string]any{"SubnetId": c.PhysicalID})
	if isNotFound(err, "InvalidSubnetID.NotFound") {
		return nil
	}
	return err
}

// groupRuleKind is what differs between the ingress and the egress rule
// types: the calls, and the properties that name the rule's peer.
type groupRuleKind struct {
	authorize, revoke, describe string
	permission                  func(map[string]any) map[string]any
	// peerGroupName is the property naming a peer group by name, "" for
	// egress rules, which name groups by id only.
	peerGroupName string
}

var (
	ingressRuleKind = groupRuleKind{"AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "UpdateSecurityGroupRuleDescriptionsIngress",
		ingressPermission, "SourceSecurityGroupName"}
	egressRuleKind = groupRuleKind{"AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress", "UpdateSecurityGroupRuleDescriptionsEgress",
		egressPermission, ""}
)

func createIngressRule(ctx context.Context, c *Call) (Result, error) {
	return c.createGroupRule(ctx, ingressRuleKind)
}
func updateIngressRule(ctx context.Context, c *Call) (Result, error) {
	return c.updateGroupRule(ctx, ingressRuleKind)
}
func deleteIngressRule(ctx context.Context, c *Call) error {
	return c.deleteGroupRule(ctx, ingressRuleKind)
}
func createEgressRule(ctx context.Context, c *Call) (Result, error) {
	return c.createGroupRule(ctx, egressRuleKind)
}
func updateEgressRule(ctx context.Context, c *Call) (Result, error) {
	return c.updateGroupRule(ctx, egressRuleKind)
}
func deleteEgressRule(ctx context.Context, c *Call) error {
	return c.deleteGroupRule(ctx, egressRuleKind)
}

// sgRuleGroup is the rule's group as the calls name it: GroupId, or (an
// ingress rule in the default VPC) GroupName.
func (c *Call) sgRuleGroup() map[string]any {
	if id := c.str("GroupId"); id != "" {
		return map[string]any{"GroupId": id}
	}
	return map[string]any{"GroupName": c.str("GroupName")}
}

func (c *Call) createGroupRule(ctx context.Context, kind groupRuleKind) (Result, error) {
	p := kind.permission(c.Properties)
	if kind.peerGroupName != "" {
		if name, ok := c.Properties[kind.peerGroupName]; ok {
			pair := map[string]any{"GroupName": name}
			if owner, ok := c.Properties["SourceSecurityGroupOwnerId"]; ok {
				pair["UserId"] = owner
			}
			if desc, ok := c.Properties["Description"]; ok {
				pair["Description"] = desc
			}
			pairs, _ := p["UserIdGroupPairs"].([]any)
			p["UserIdGroupPairs"] = append(pairs, pair)
		}
	}
	in := c.sgRuleGroup()
	in["IpPermissions"] = []any{p}
	out, err := c.invoke(ctx, "ec2", kind.authorize, in)
	if err != nil {
		return Result{}, err
	}
	rules, _ := out["securityGroupRuleSet"].([]any)
	if len(rules) != 1 {
		// The properties name exactly one peer; more rules mean the
		// template gave several, fewer that EC2 made none.
		var ids []any
		for _, r := range rules {
			if m, ok := r.(map[string]any); ok {
				ids = append(ids, m["securityGroupRuleId"])
			}
		}
		if len(ids) > 0 {
			if _, err := c.invoke(ctx, "ec2", kind.revoke, map[string]any{"GroupId": c.sgRuleGroupID(rules), "SecurityGroupRuleIds": ids}); err != nil {
				return Result{}, err
			}
		}
		return Result{}, Failure(fmt.Sprintf("A security group rule resource must name exactly one of the CIDR ranges, prefix list and security group as its peer; these properties made %d rules", len(rules)))
	}
	rule, _ := rules[0].(map[string]any)
	id := fmt.Sprint(rule["securityGroupRuleId"])
	return Result{PhysicalID: id, Attributes: map[string]any{"Id": id}}, nil
}

// sgRuleGroupID is the group of the rules Authorize answered.
func (c *Call) sgRuleGroupID(rules []any) any {
	if m, ok := rules[0].(map[string]any); ok {
		return m["groupId"]
	}
	return c.str("GroupId")
}

// updateGroupRule changes the rule's description, the only property the
// schema lets change in place.
func (c *Call) updateGroupRule(ctx context.Context, kind groupRuleKind) (Result, error) {
	if c.changed("Description") {
		in := c.sgRuleGroup()
		in["SecurityGroupRuleDescriptions"] = []any{map[string]any{"SecurityGroupRuleId": c.PhysicalID, "Description": c.str("Description")}}
		if _, err := c.invoke(ctx, "ec2", kind.describe, in); err != nil {
			return Result{}, err
		}
	}
	return Result{PhysicalID: c.PhysicalID, Attributes: c.Attributes}, nil
}

// deleteGroupRule revokes the rule by its id, so that an equal rule made
// otherwise is left alone.
func (c *Call) deleteGroupRule(ctx context.Context, kind groupRuleKind) error {
	in := c.sgRuleGroup()
	in["SecurityGroupRuleIds"] = []any{c.PhysicalID}
	_, err := c.invoke(ctx, "ec2", kind.revoke, in)
	if isNotFound(err, "InvalidGroup.NotFound", "InvalidSecurityGroupRuleId.NotFound", "InvalidPermission.NotFound") {
		return nil
	}
	return err
}
