package ec2

import (
	"context"
	"slices"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
	"github.com/berth/berth/internal/store"
)

// Every change to a group's rules is one compare-and-swap write of the
// group's record, guarded by the revision read: two changes at once
// never lose a rule, the loser reads again and decides again. A change
// that names another group as a rule's source also compares that group,
// so the source cannot be deleted under it (DeleteSecurityGroup compares
// the groups it found without references to it).

func (e *EC2) authorizeSecurityGroupIngress(ctx context.Context, in *ec2types.AuthorizeSecurityGroupIngressRequest) (*ec2types.AuthorizeSecurityGroupIngressResult, error) {
	perms, err := legacyRule{protocol: in.IpProtocol, from: in.FromPort, to: in.ToPort, cidr: in.CidrIp,
		sourceGroup: in.SourceSecurityGroupName, sourceOwner: in.SourceSecurityGroupOwnerId}.permissions(in.IpPermissions)
	if err != nil {
		return nil, err
	}
	rules, err := e.authorize(ctx, groupRef{id: awsapi.Deref(in.GroupId), name: awsapi.Deref(in.GroupName)}, false, perms, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	return &ec2types.AuthorizeSecurityGroupIngressResult{Return: awsapi.Bool(true), SecurityGroupRules: rules}, nil
}

func (e *EC2) authorizeSecurityGroupEgress(ctx context.Context, in *ec2types.AuthorizeSecurityGroupEgressRequest) (*ec2types.AuthorizeSecurityGroupEgressResult, error) {
	perms, err := legacyRule{protocol: in.IpProtocol, from: in.FromPort, to: in.ToPort, cidr: in.CidrIp,
		sourceGroup: in.SourceSecurityGroupName, sourceOwner: in.SourceSecurityGroupOwnerId}.permissions(in.IpPermissions)
	if err != nil {
		return nil, err
	}
	rules, err := e.authorize(ctx, groupRef{id: awsapi.Deref(in.GroupId)}, true, perms, in.TagSpecifications)
	if err != nil {
		return nil, err
	}
	return &ec2types.AuthorizeSecurityGroupEgressResult{Return: awsapi.Bool(true), SecurityGroupRules: rules}, nil
}

// groupChange is one read-decide-write round on a group's rules: the
// group as read, the region's groups (for rules' sources), and the
// transaction that will write the group back.
type groupChange struct {
	e        *EC2
	group    ec2state.SecurityGroup
	groups   []store.Versioned[ec2state.SecurityGroup]
	txn      store.Txn
	compared map[string]bool
}

// readGroup starts a change of the group ref names.
func (e *EC2) readGroup(ctx context.Context, ref groupRef) (*groupChange, error) {
	reg := region(ctx)
	g, err := e.findGroup(ctx, reg, ref)
	if err != nil {
		return nil, err
	}
	groups, err := listRegion[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupPrefix, reg)
	if err != nil {
		return nil, err
	}
	return &groupChange{
		e: e, group: g.Value, groups: groups,
		txn:      store.Txn{If: []store.Compare{{Key: ec2state.GroupKey(reg, g.Value.ID), ModRevision: g.ModRevision}}},
		compared: map[string]bool{g.Value.ID: true},
	}, nil
}

// rules are the group's rules of one direction.
func (c *groupChange) rules(egress bool) *[]ec2state.Rule {
	if egress {
		return &c.group.Egress
	}
	return &c.group.Ingress
}

// source resolves a rule's source group in the group's VPC. When exists
// it must exist, and the change compares it; otherwise an id is taken as
// it is (a rule to revoke names it).
func (c *groupChange) source(exists bool) sourceGroup {
	return func(id, name string) (string, error) {
		if id != "" && !exists {
			return id, nil
		}
		for _, s := range c.groups {
			if s.Value.VPCID != c.group.VPCID || (id != "" && s.Value.ID != id) || (id == "" && s.Value.Name != name) {
				continue
			}
			if exists && !c.compared[s.Value.ID] {
				c.compared[s.Value.ID] = true
				c.txn.If = append(c.txn.If, store.Compare{Key: ec2state.GroupKey(c.group.Region, s.Value.ID), ModRevision: s.ModRevision})
			}
			return s.Value.ID, nil
		}
		switch {
		case id != "" && !ec2state.ValidID(id, ec2state.GroupIDPrefix):
			return "", groupIDMalformed(id)
		case id != "":
			return "", groupNotFound(id)
		case name != "":
			return "", groupNotFound(name)
		}
		return "", awsapi.WithMessage(errMissingParameter, msgNoSource)
	}
}

// requested turns a request's IpPermissions into rules.
func (c *groupChange) requested(perms []ec2types.IpPermission, exists bool) ([]ec2state.Rule, error) {
	var out []ec2state.Rule
	for _, p := range perms {
		rules, err := c.e.permissionRules(p, c.source(exists))
		if err != nil {
			return nil, err
		}
		out = append(out, rules...)
	}
	return out, nil
}

// commit writes the group back, if nothing it compares changed.
func (c *groupChange) commit(ctx context.Context) error {
	if err := put(&c.txn, ec2state.GroupKey(c.group.Region, c.group.ID), c.group); err != nil {
		return err
	}
	_, err := c.e.store.Txn(ctx, c.txn)
	return err
}

// authorize adds the rules perms stand for to the group ref names, and
// returns them as EC2 shows new rules.
func (e *EC2) authorize(ctx context.Context, ref groupRef, egress bool, perms []ec2types.IpPermission, specs []ec2types.TagSpecification) ([]ec2types.SecurityGroupRule, error) {
	if len(perms) == 0 {
		return nil, missingParameter("IpPermissions")
	}
	tags, err := specTags(specs, typeRule)
	if err != nil {
		return nil, err
	}
	var out []ec2types.SecurityGroupRule
	err = store.Retry(ctx, func() error {
		c, err := e.readGroup(ctx, ref)
		if err != nil {
			return err
		}
		rules, err := c.requested(perms, true)
		if err != nil {
			return err
		}
		list := c.rules(egress)
		for i, r := range rules {
			if slices.ContainsFunc(rules[:i], r.Same) {
				return invalidValue(msgSamePermission)
			}
			if slices.ContainsFunc(*list, r.Same) {
				return duplicateRule(r)
			}
			rules[i].Tags = tags
		}
		if len(*list)+len(rules) > maxRules {
			return errRulesLimit
		}
		*list = append(*list, rules...)
		if err := c.commit(ctx); err != nil {
			return err
		}
		out = make([]ec2types.SecurityGroupRule, len(rules))
		for i, r := range rules {
			out[i] = e.ruleOut(c.group, r, egress)
			if len(r.Tags) == 0 {
				// Authorize shows a new rule's tags only when it has
				// some, as the aws CLI's examples of both calls show;
				// DescribeSecurityGroupRules shows an empty list.
				out[i].Tags = nil
			}
		}
		return nil
	})
	return out, err
}

func (e *EC2) revokeSecurityGroupIngress(ctx context.Context, in *ec2types.RevokeSecurityGroupIngressRequest) (*ec2types.RevokeSecurityGroupIngressResult, error) {
	perms, err := legacyRule{protocol: in.IpProtocol, from: in.FromPort, to: in.ToPort, cidr: in.CidrIp,
		sourceGroup: in.SourceSecurityGroupName, sourceOwner: in.SourceSecurityGroupOwnerId}.permissions(in.IpPermissions)
	if err != nil {
		return nil, err
	}
	revoked, unknown, err := e.revoke(ctx, groupRef{id: awsapi.Deref(in.GroupId), name: awsapi.Deref(in.GroupName)}, false, perms, in.SecurityGroupRuleIds)
	if err != nil {
		return nil, err
	}
	return &ec2types.RevokeSecurityGroupIngressResult{Return: awsapi.Bool(true), RevokedSecurityGroupRules: revoked, UnknownIpPermissions: unknown}, nil
}

func (e *EC2) revokeSecurityGroupEgress(ctx context.Context, in *ec2types.RevokeSecurityGroupEgressRequest) (*ec2types.RevokeSecurityGroupEgressResult, error) {
	perms, err := legacyRule{protocol: in.IpProtocol, from: in.FromPort, to: in.ToPort, cidr: in.CidrIp,
		sourceGroup: in.SourceSecurityGroupName, sourceOwner: in.SourceSecurityGroupOwnerId}.permissions(in.IpPermissions)
	if err != nil {
		return nil, err
	}
	revoked, unknown, err := e.revoke(ctx, groupRef{id: awsapi.Deref(in.GroupId)}, true, perms, in.SecurityGroupRuleIds)
	if err != nil {
		return nil, err
	}
	return &ec2types.RevokeSecurityGroupEgressResult{Return: awsapi.Bool(true), RevokedSecurityGroupRules: revoked, UnknownIpPermissions: unknown}, nil
}

// revoke removes the rules perms stand for, and those ruleIDs names, from
// the group ref names. A rule of perms the group does not have is
// reported unknown; when none of them is there, nothing is removed and
// EC2's InvalidPermission.NotFound answers.
func (e *EC2) revoke(ctx context.Context, ref groupRef, egress bool, perms []ec2types.IpPermission, ruleIDs []string) ([]ec2types.RevokedSecurityGroupRule, []ec2types.IpPermission, error) {
	if len(perms) == 0 && len(ruleIDs) == 0 {
		// UNVERIFIED wording.
		return nil, nil, awsapi.WithMessage(errMissingParameter, "Either 'ipPermissions' or 'securityGroupRuleIds' should be provided.")
	}
	var (
		revoked []ec2types.RevokedSecurityGroupRule
		unknown []ec2types.IpPermission
	)
	err := store.Retry(ctx, func() error {
		revoked, unknown = nil, nil
		c, err := e.readGroup(ctx, ref)
		if err != nil {
			return err
		}
		want, err := c.requested(perms, false)
		if err != nil {
			return err
		}
		list := c.rules(egress)
		remove := func(i int) {
			revoked = append(revoked, revokedOut(c.group, (*list)[i], egress))
			*list = slices.Delete(*list, i, i+1)
		}
		for _, id := range ruleIDs {
			i := slices.IndexFunc(*list, func(r ec2state.Rule) bool { return r.ID == id })
			if i < 0 {
				return ruleNotFound(id)
			}
			remove(i)
		}
		for _, r := range want {
			i := slices.IndexFunc(*list, r.Same)
			if i < 0 {
				unknown = append(unknown, e.permissions([]ec2state.Rule{r})...)
				continue
			}
			remove(i)
		}
		if len(revoked) == 0 {
			return errPermissionNotFound
		}
		return c.commit(ctx)
	})
	if err != nil {
		return nil, nil, err
	}
	return revoked, unknown, nil
}

// ModifySecurityGroupRules replaces what rules admit, keeping their ids
// and tags.
func (e *EC2) modifySecurityGroupRules(ctx context.Context, in *ec2types.ModifySecurityGroupRulesRequest) (*ec2types.ModifySecurityGroupRulesResult, error) {
	if len(in.SecurityGroupRules) == 0 {
		return nil, missingParameter("SecurityGroupRule")
	}
	err := store.Retry(ctx, func() error {
		c, err := e.readGroup(ctx, groupRef{id: awsapi.Deref(in.GroupId)})
		if err != nil {
			return err
		}
		for _, upd := range in.SecurityGroupRules {
			id := awsapi.Deref(upd.SecurityGroupRuleId)
			if upd.SecurityGroupRule == nil {
				return missingParameter("SecurityGroupRule.SecurityGroupRule")
			}
			perm, err := requestPermission(*upd.SecurityGroupRule)
			if err != nil {
				return err
			}
			rules, err := c.requested([]ec2types.IpPermission{perm}, true)
			if err != nil {
				return err
			}
			list, i := c.findRule(id)
			if i < 0 {
				return ruleNotFound(id)
			}
			next := rules[0]
			next.ID, next.Tags = id, (*list)[i].Tags
			(*list)[i] = next
		}
		for _, list := range []*[]ec2state.Rule{&c.group.Ingress, &c.group.Egress} {
			for i, r := range *list {
				if slices.ContainsFunc((*list)[:i], r.Same) {
					return duplicateRule(r)
				}
			}
		}
		return c.commit(ctx)
	})
	if err != nil {
		return nil, err
	}
	return &ec2types.ModifySecurityGroupRulesResult{Return: awsapi.Bool(true)}, nil
}

// findRule returns the rules of the direction that holds the rule id
// names, and its index there (-1: the group has no such rule).
func (c *groupChange) findRule(id string) (*[]ec2state.Rule, int) {
	for _, list := range []*[]ec2state.Rule{&c.group.Ingress, &c.group.Egress} {
		if i := slices.IndexFunc(*list, func(r ec2state.Rule) bool { return r.ID == id }); i >= 0 {
			return list, i
		}
	}
	return nil, -1
}

// requestPermission is the IpPermission a SecurityGroupRuleRequest
// describes: one rule, with exactly one source.
func requestPermission(r ec2types.SecurityGroupRuleRequest) (ec2types.IpPermission, error) {
	p := ec2types.IpPermission{IpProtocol: r.IpProtocol, FromPort: r.FromPort, ToPort: r.ToPort}
	sources := 0
	if r.CidrIpv4 != nil {
		sources++
		p.IpRanges = []ec2types.IpRange{{CidrIp: r.CidrIpv4, Description: r.Description}}
	}
	if r.CidrIpv6 != nil {
		sources++
		p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: r.CidrIpv6, Description: r.Description}}
	}
	if r.ReferencedGroupId != nil {
		sources++
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: r.ReferencedGroupId, Description: r.Description}}
	}
	switch {
	case r.PrefixListId != nil:
		return p, unsupported("prefix lists in security group rules")
	case sources > 1:
		// UNVERIFIED wording.
		return p, invalidCombination("A security group rule has exactly one of CidrIpv4, CidrIpv6, PrefixListId and ReferencedGroupId.")
	}
	return p, nil
}

func (e *EC2) updateSecurityGroupRuleDescriptionsIngress(ctx context.Context, in *ec2types.UpdateSecurityGroupRuleDescriptionsIngressRequest) (*ec2types.UpdateSecurityGroupRuleDescriptionsIngressResult, error) {
	err := e.updateDescriptions(ctx, groupRef{id: awsapi.Deref(in.GroupId), name: awsapi.Deref(in.GroupName)}, false, in.IpPermissions, in.SecurityGroupRuleDescriptions)
	if err != nil {
		return nil, err
	}
	return &ec2types.UpdateSecurityGroupRuleDescriptionsIngressResult{Return: awsapi.Bool(true)}, nil
}

func (e *EC2) updateSecurityGroupRuleDescriptionsEgress(ctx context.Context, in *ec2types.UpdateSecurityGroupRuleDescriptionsEgressRequest) (*ec2types.UpdateSecurityGroupRuleDescriptionsEgressResult, error) {
	err := e.updateDescriptions(ctx, groupRef{id: awsapi.Deref(in.GroupId), name: awsapi.Deref(in.GroupName)}, true, in.IpPermissions, in.SecurityGroupRuleDescriptions)
	if err != nil {
		return nil, err
	}
	return &ec2types.UpdateSecurityGroupRuleDescriptionsEgressResult{Return: awsapi.Bool(true)}, nil
}

// updateDescriptions sets the descriptions of a group's rules of one
// direction: those descs names by id, and those perms describe, to the
// description each gives (none: no description).
func (e *EC2) updateDescriptions(ctx context.Context, ref groupRef, egress bool, perms []ec2types.IpPermission, descs []ec2types.SecurityGroupRuleDescription) error {
	if len(perms) == 0 && len(descs) == 0 {
		// UNVERIFIED wording.
		return awsapi.WithMessage(errMissingParameter, "Either 'ipPermissions' or 'securityGroupRuleDescriptions' should be provided.")
	}
	return store.Retry(ctx, func() error {
		c, err := e.readGroup(ctx, ref)
		if err != nil {
			return err
		}
		want, err := c.requested(perms, false)
		if err != nil {
			return err
		}
		list := c.rules(egress)
		for _, d := range descs {
			id, desc := awsapi.Deref(d.SecurityGroupRuleId), awsapi.Deref(d.Description)
			if err := checkRuleDescription(desc); err != nil {
				return err
			}
			i := slices.IndexFunc(*list, func(r ec2state.Rule) bool { return r.ID == id })
			if i < 0 {
				return ruleNotFound(id)
			}
			(*list)[i].Description = desc
		}
		for _, r := range want {
			i := slices.IndexFunc(*list, r.Same)
			if i < 0 {
				return errPermissionNotFound
			}
			(*list)[i].Description = r.Description
		}
		return c.commit(ctx)
	})
}

// ruleRow is one rule of the region, as DescribeSecurityGroupRules lists
// them.
type ruleRow struct {
	group  ec2state.SecurityGroup
	rule   ec2state.Rule
	egress bool
}

var ruleFilters = filterSpec[ruleRow]{
	fields: map[string]func(ruleRow) []string{
		"group-id":               func(r ruleRow) []string { return []string{r.group.ID} },
		"security-group-rule-id": func(r ruleRow) []string { return []string{r.rule.ID} },
	},
	tags: func(r ruleRow) []ec2state.Tag { return r.rule.Tags },
}

func (e *EC2) describeSecurityGroupRules(ctx context.Context, in *ec2types.DescribeSecurityGroupRulesRequest) (*ec2types.DescribeSecurityGroupRulesResult, error) {
	fs, err := ruleFilters.parse(in.Filters)
	if err != nil {
		return nil, err
	}
	groups, err := listRegion[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupPrefix, region(ctx))
	if err != nil {
		return nil, err
	}
	var rows []ruleRow
	for _, g := range groups {
		for _, r := range g.Value.Ingress {
			rows = append(rows, ruleRow{group: g.Value, rule: r})
		}
		for _, r := range g.Value.Egress {
			rows = append(rows, ruleRow{group: g.Value, rule: r, egress: true})
		}
	}
	rows, err = byIDs(rows, in.SecurityGroupRuleIds, func(r ruleRow) string { return r.rule.ID }, ruleNotFound)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(fs.apply(rows), func(r ruleRow) string { return r.rule.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ec2types.DescribeSecurityGroupRulesResult{SecurityGroupRules: make([]ec2types.SecurityGroupRule, len(page)), NextToken: next}
	for i, r := range page {
		out.SecurityGroupRules[i] = e.ruleOut(r.group, r.rule, r.egress)
	}
	return out, nil
}
