package ec2

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ec2/ec2state"
	"github.com/berth/berth/internal/ec2/ec2types"
	"github.com/berth/berth/internal/store"
)

// groupTextChars are the characters EC2 allows in a security group's name
// and description besides letters and digits.
const groupTextChars = " ._-:/()#,@[]+=&;{}!$*"

// checkGroupText validates a group's name or description (member is its
// parameter's name).
func checkGroupText(member, s string) error {
	if s == "" {
		return missingParameter(member)
	}
	for _, c := range s {
		if c > 127 {
			// OBSERVED.
			return invalidValue("Value (%s) for parameter %s is invalid. Character sets beyond ASCII are not supported.", s, member)
		}
	}
	if len(s) > 255 {
		// UNVERIFIED wording.
		return invalidValue("Value (%s) for parameter %s is invalid. Length exceeds maximum of 255.", s, member)
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(groupTextChars, c)) {
			// UNVERIFIED wording.
			return invalidValue("Value (%s) for parameter %s is invalid. Valid characters: a-z, A-Z, 0-9, spaces, and %s", s, member, groupTextChars[1:])
		}
	}
	return nil
}

func (e *EC2) createSecurityGroup(ctx context.Context, in *ec2types.CreateSecurityGroupRequest) (*ec2types.CreateSecurityGroupResult, error) {
	name, desc := awsapi.Deref(in.GroupName), awsapi.Deref(in.Description)
	if err := checkGroupText("GroupName", name); err != nil {
		return nil, err
	}
	if err := checkGroupText("GroupDescription", desc); err != nil {
		return nil, err
	}
	if strings.HasPrefix(strings.ToLower(name), ec2state.GroupIDPrefix) {
		// OBSERVED.
		return nil, invalidValue("Value (%s) for parameter GroupName is invalid. Group names may not be in the format sg-*.", name)
	}
	if name == ec2state.DefaultGroupName {
		return nil, errGroupReserved
	}
	tags, err := specTags(in.TagSpecifications, typeGroup)
	if err != nil {
		return nil, err
	}
	reg, vpcID := region(ctx), awsapi.Deref(in.VpcId)
	if vpcID == "" {
		dv, err := e.EnsureDefaultVPC(ctx, reg)
		if err != nil {
			return nil, err
		}
		vpcID = dv.ID
	}
	var group ec2state.SecurityGroup
	err = store.Retry(ctx, func() error {
		vpc, err := store.Get[ec2state.VPC](ctx, e.store, ec2state.VPCKey(reg, vpcID))
		if errors.Is(err, store.ErrNotFound) {
			return vpcNotFound(vpcID)
		}
		if err != nil {
			return err
		}
		// The VPC's generation makes names unique: two creations of one
		// name cannot both commit.
		gen, genRev, err := ec2state.ReadGeneration(ctx, e.store, ec2state.VPCGenKey(reg, vpcID))
		if err != nil {
			return err
		}
		groups, err := listRegion[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupPrefix, reg)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(groups, func(g store.Versioned[ec2state.SecurityGroup]) bool {
			return g.Value.VPCID == vpcID && g.Value.Name == name
		}) {
			// OBSERVED.
			return awsapi.WithMessage(errGroupDuplicate, "The security group '%s' already exists for VPC '%s'", name, vpcID)
		}
		group = ec2state.SecurityGroup{
			Region: reg, ID: ec2state.NewID(ec2state.GroupIDPrefix), Name: name, Description: desc, VPCID: vpcID,
			OwnerID: e.account, Egress: []ec2state.Rule{ec2state.AllTrafficOut()}, Tags: tags, Created: e.now().UTC(),
		}
		txn := store.Txn{If: []store.Compare{
			{Key: ec2state.VPCKey(reg, vpcID), ModRevision: vpc.ModRevision},
			{Key: ec2state.VPCGenKey(reg, vpcID), ModRevision: genRev},
			{Key: ec2state.GroupKey(reg, group.ID)},
		}}
		if err := put(&txn, ec2state.GroupKey(reg, group.ID), group); err != nil {
			return err
		}
		next, err := gen.Next(ec2state.VPCGenKey(reg, vpcID))
		if err != nil {
			return err
		}
		txn.Then = append(txn.Then, next)
		_, err = e.store.Txn(ctx, txn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ec2types.CreateSecurityGroupResult{
		GroupId:          awsapi.String(group.ID),
		SecurityGroupArn: awsapi.String(e.arn(reg, typeGroup, group.ID)),
		Tags:             tagsOut(group.Tags),
	}, nil
}

// groupRef is how a call names a security group: by id, or by name in the
// region's default VPC.
type groupRef struct{ id, name string }

// findGroup reads the group ref names.
func (e *EC2) findGroup(ctx context.Context, reg string, ref groupRef) (store.Versioned[ec2state.SecurityGroup], error) {
	var none store.Versioned[ec2state.SecurityGroup]
	switch {
	case ref.id != "":
		if !ec2state.ValidID(ref.id, ec2state.GroupIDPrefix) {
			return none, groupIDMalformed(ref.id)
		}
		g, err := store.Get[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupKey(reg, ref.id))
		if errors.Is(err, store.ErrNotFound) {
			return none, groupNotFound(ref.id)
		}
		return g, err
	case ref.name != "":
		dv, err := e.EnsureDefaultVPC(ctx, reg)
		if err != nil {
			return none, err
		}
		groups, err := listRegion[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupPrefix, reg)
		if err != nil {
			return none, err
		}
		for _, g := range groups {
			if g.Value.VPCID == dv.ID && g.Value.Name == ref.name {
				return g, nil
			}
		}
		return none, groupNameNotFound(ref.name, dv.ID)
	}
	// UNVERIFIED wording.
	return none, awsapi.WithMessage(errMissingParameter, "The request must contain the parameter groupName or groupId")
}

// DeleteSecurityGroup deletes a group no interface uses and no other
// group's rule names. The decision compares what could change it: the
// VPC's generation (a group made since), its subnets (every interface made
// rewrites its subnet) and its other groups (a rule added to one).
func (e *EC2) deleteSecurityGroup(ctx context.Context, in *ec2types.DeleteSecurityGroupRequest) (*ec2types.DeleteSecurityGroupResult, error) {
	reg := region(ctx)
	ref := groupRef{id: awsapi.Deref(in.GroupId), name: awsapi.Deref(in.GroupName)}
	var id string
	err := store.Retry(ctx, func() error {
		g, err := e.findGroup(ctx, reg, ref)
		if err != nil {
			return err
		}
		id = g.Value.ID
		if g.Value.IsDefault() {
			// OBSERVED.
			return awsapi.WithMessage(errCannotDelete, `the specified group: "%s" name: "default" cannot be deleted by a user`, id)
		}
		_, genRev, err := ec2state.ReadGeneration(ctx, e.store, ec2state.VPCGenKey(reg, g.Value.VPCID))
		if err != nil {
			return err
		}
		txn := store.Txn{
			If: []store.Compare{
				{Key: ec2state.GroupKey(reg, id), ModRevision: g.ModRevision},
				{Key: ec2state.VPCGenKey(reg, g.Value.VPCID), ModRevision: genRev},
			},
			Then: []store.Op{store.Delete(ec2state.GroupKey(reg, id))},
		}
		// The subnets are read before the interfaces, so an interface made
		// after this listing changed a subnet compared below.
		subnets, err := listRegion[ec2state.Subnet](ctx, e.store, ec2state.SubnetPrefix, reg)
		if err != nil {
			return err
		}
		for _, s := range subnets {
			if s.Value.VPCID == g.Value.VPCID {
				txn.If = append(txn.If, store.Compare{Key: ec2state.SubnetKey(reg, s.Value.ID), ModRevision: s.ModRevision})
			}
		}
		enis, err := listRegion[ec2state.NetworkInterface](ctx, e.store, ec2state.InterfacePrefix, reg)
		if err != nil {
			return err
		}
		used := slices.ContainsFunc(enis, func(n store.Versioned[ec2state.NetworkInterface]) bool {
			return slices.Contains(n.Value.Groups, id)
		})
		groups, err := listRegion[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupPrefix, reg)
		if err != nil {
			return err
		}
		for _, other := range groups {
			if other.Value.ID == id || other.Value.VPCID != g.Value.VPCID {
				continue
			}
			txn.If = append(txn.If, store.Compare{Key: ec2state.GroupKey(reg, other.Value.ID), ModRevision: other.ModRevision})
			used = used || slices.ContainsFunc(allRules(other.Value), func(r ec2state.Rule) bool { return r.GroupID == id })
		}
		if used {
			// OBSERVED.
			return dependencyViolation("resource %s has a dependent object", id)
		}
		_, err = e.store.Txn(ctx, txn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ec2types.DeleteSecurityGroupResult{GroupId: awsapi.String(id), Return: awsapi.Bool(true)}, nil
}

// groupFilters are DescribeSecurityGroups' filters; names are the
// region's group names by id, for the group-name of a rule's source.
func groupFilters(account string, names map[string]string) filterSpec[ec2state.SecurityGroup] {
	spec := filterSpec[ec2state.SecurityGroup]{
		fields: map[string]func(ec2state.SecurityGroup) []string{
			"description": func(g ec2state.SecurityGroup) []string { return []string{g.Description} },
			"group-id":    func(g ec2state.SecurityGroup) []string { return []string{g.ID} },
			"group-name":  func(g ec2state.SecurityGroup) []string { return []string{g.Name} },
			"owner-id":    func(g ec2state.SecurityGroup) []string { return []string{g.OwnerID} },
			"vpc-id":      func(g ec2state.SecurityGroup) []string { return []string{g.VPCID} },
		},
		tags: func(g ec2state.SecurityGroup) []ec2state.Tag { return g.Tags },
	}
	ruleFields := map[string]func(ec2state.Rule) []string{
		"cidr":      func(r ec2state.Rule) []string { return one(r.CIDRv4) },
		"ipv6-cidr": func(r ec2state.Rule) []string { return one(r.CIDRv6) },
		"protocol":  func(r ec2state.Rule) []string { return []string{r.Protocol} },
		"group-id":  func(r ec2state.Rule) []string { return one(r.GroupID) },
		"group-name": func(r ec2state.Rule) []string {
			if r.GroupID == "" {
				return nil
			}
			return one(names[r.GroupID])
		},
		"user-id": func(r ec2state.Rule) []string {
			if r.GroupID == "" {
				return nil
			}
			return []string{account}
		},
		"from-port": func(r ec2state.Rule) []string {
			if !hasPorts(r.Protocol) {
				return nil
			}
			return []string{strconv.Itoa(int(r.FromPort))}
		},
		"to-port": func(r ec2state.Rule) []string {
			if !hasPorts(r.Protocol) {
				return nil
			}
			return []string{strconv.Itoa(int(r.ToPort))}
		},
		"prefix-list-id": func(ec2state.Rule) []string { return nil },
	}
	for name, field := range ruleFields {
		for prefix, rules := range map[string]func(ec2state.SecurityGroup) []ec2state.Rule{
			"ip-permission.":        func(g ec2state.SecurityGroup) []ec2state.Rule { return g.Ingress },
			"egress.ip-permission.": func(g ec2state.SecurityGroup) []ec2state.Rule { return g.Egress },
		} {
			spec.fields[prefix+name] = func(g ec2state.SecurityGroup) []string {
				var out []string
				for _, r := range rules(g) {
					out = append(out, field(r)...)
				}
				return out
			}
		}
	}
	return spec
}

func (e *EC2) describeSecurityGroups(ctx context.Context, in *ec2types.DescribeSecurityGroupsRequest) (*ec2types.DescribeSecurityGroupsResult, error) {
	reg := region(ctx)
	all, err := listRegion[ec2state.SecurityGroup](ctx, e.store, ec2state.GroupPrefix, reg)
	if err != nil {
		return nil, err
	}
	groups := values(all)
	names := make(map[string]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	fs, err := groupFilters(e.account, names).parse(in.Filters)
	if err != nil {
		return nil, err
	}
	if len(in.GroupIds) > 0 || len(in.GroupNames) > 0 {
		groups, err = e.namedGroups(ctx, reg, groups, in.GroupIds, in.GroupNames)
		if err != nil {
			return nil, err
		}
	}
	page, next, err := paginate(fs.apply(groups), func(g ec2state.SecurityGroup) string { return g.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ec2types.DescribeSecurityGroupsResult{SecurityGroups: make([]ec2types.SecurityGroup, len(page)), NextToken: next}
	for i, g := range page {
		out.SecurityGroups[i] = e.groupOut(g)
	}
	return out, nil
}

// namedGroups returns the groups a call names by id, and by name in the
// default VPC; each must exist.
func (e *EC2) namedGroups(ctx context.Context, reg string, groups []ec2state.SecurityGroup, ids, names []string) ([]ec2state.SecurityGroup, error) {
	var out []ec2state.SecurityGroup
	add := func(g ec2state.SecurityGroup) {
		if !slices.ContainsFunc(out, func(x ec2state.SecurityGroup) bool { return x.ID == g.ID }) {
			out = append(out, g)
		}
	}
	for _, id := range ids {
		if !ec2state.ValidID(id, ec2state.GroupIDPrefix) {
			return nil, groupIDMalformed(id)
		}
		i := slices.IndexFunc(groups, func(g ec2state.SecurityGroup) bool { return g.ID == id })
		if i < 0 {
			return nil, groupNotFound(id)
		}
		add(groups[i])
	}
	if len(names) == 0 {
		return out, nil
	}
	dv, err := e.EnsureDefaultVPC(ctx, reg)
	if errors.Is(err, ec2state.ErrNoDefaultVPC) {
		return nil, groupNotFound(names[0])
	}
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		i := slices.IndexFunc(groups, func(g ec2state.SecurityGroup) bool { return g.VPCID == dv.ID && g.Name == name })
		if i < 0 {
			return nil, groupNameNotFound(name, dv.ID)
		}
		add(groups[i])
	}
	return out, nil
}

func (e *EC2) groupOut(g ec2state.SecurityGroup) ec2types.SecurityGroup {
	return ec2types.SecurityGroup{
		GroupId:             awsapi.String(g.ID),
		GroupName:           awsapi.String(g.Name),
		Description:         awsapi.String(g.Description),
		VpcId:               awsapi.String(g.VPCID),
		OwnerId:             awsapi.String(g.OwnerID),
		SecurityGroupArn:    awsapi.String(e.arn(g.Region, typeGroup, g.ID)),
		IpPermissions:       e.permissions(g.Ingress),
		IpPermissionsEgress: e.permissions(g.Egress),
		Tags:                tagsOut(g.Tags),
	}
}
