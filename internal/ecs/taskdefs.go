package ecs

import (
	"cmp"
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

// maxRevisions is ECS's limit of revisions per family.
const maxRevisions = 1_000_000

// registerAttempts bounds the retries of a registration that lost the race
// for its family's next revision.
const registerAttempts = 32

func (s *service) taskDefinitionOperations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"RegisterTaskDefinition":     awsapi.Op(s.registerTaskDefinition),
		"DescribeTaskDefinition":     awsapi.Op(s.describeTaskDefinition),
		"ListTaskDefinitions":        awsapi.Op(s.listTaskDefinitions),
		"ListTaskDefinitionFamilies": awsapi.Op(s.listTaskDefinitionFamilies),
		"DeregisterTaskDefinition":   awsapi.Op(s.deregisterTaskDefinition),
		"DeleteTaskDefinitions":      awsapi.Op(s.deleteTaskDefinitions),
	}
}

func (s *service) registerTaskDefinition(ctx context.Context, in *ecstypes.RegisterTaskDefinitionRequest) (*ecstypes.RegisterTaskDefinitionResponse, error) {
	if err := validateTaskDefinition(in); err != nil {
		return nil, err
	}
	td := buildTaskDefinition(in)
	family := awsapi.Deref(in.Family)
	tags := mergeTags(nil, in.Tags)
	for range registerAttempts {
		counter, err := store.Get[ecsstate.Family](ctx, s.store, ecsstate.FamilyKey(requestRegion(ctx), family))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		revision := counter.Value.LastRevision + 1
		if revision > maxRevisions {
			return nil, clientError("The maximum number of revisions (%d) for the family '%s' has been reached.", maxRevisions, family) // UNVERIFIED
		}
		now := s.now()
		td.Revision = awsapi.Int32(revision)
		td.TaskDefinitionArn = awsapi.String(s.requestARNs(ctx).TaskDefinition(family, revision))
		td.Status = awsapi.String(ecstypes.TaskDefinitionStatusActive)
		td.RegisteredAt = awsapi.Time(now)
		td.RegisteredBy = awsapi.String(s.callerPrincipal(ctx))
		putDef, err := store.PutJSON(ecsstate.TaskDefinitionKey(requestRegion(ctx), family, revision), ecsstate.TaskDefinition{Definition: td, Tags: tags})
		if err != nil {
			return nil, err
		}
		putCounter, err := store.PutJSON(ecsstate.FamilyKey(requestRegion(ctx), family), ecsstate.Family{Name: family, LastRevision: revision})
		if err != nil {
			return nil, err
		}
		// The counter's revision guards the new revision number: a
		// concurrent registration of the family makes this one retry.
		_, err = s.store.Txn(ctx, store.Txn{
			If:   []store.Compare{{Key: ecsstate.FamilyKey(requestRegion(ctx), family), ModRevision: counter.ModRevision}},
			Then: []store.Op{putDef, putCounter},
		})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out := &ecstypes.RegisterTaskDefinitionResponse{TaskDefinition: &td}
		if len(tags) > 0 {
			out.Tags = tags
		}
		return out, nil
	}
	return nil, clientError("Too many concurrent attempts to create a new revision of the specified family.")
}

// buildTaskDefinition turns a validated registration into the task
// definition ECS returns, without the fields registration assigns
// (revision, ARN, status, times): defaults filled in and reported as ECS
// reports them (cpu 0, essential, empty lists, host ports, protocols),
// task cpu and memory as integer strings, requiresAttributes and
// compatibilities computed.
func buildTaskDefinition(in *ecstypes.RegisterTaskDefinitionRequest) ecstypes.TaskDefinition {
	mode := networkModeOf(in.NetworkMode)
	td := ecstypes.TaskDefinition{
		Family:                  in.Family,
		TaskRoleArn:             in.TaskRoleArn,
		ExecutionRoleArn:        in.ExecutionRoleArn,
		NetworkMode:             awsapi.String(mode),
		Volumes:                 nonNil(in.Volumes),
		PlacementConstraints:    nonNil(in.PlacementConstraints),
		RequiresCompatibilities: in.RequiresCompatibilities,
		PidMode:                 in.PidMode,
		IpcMode:                 in.IpcMode,
		ProxyConfiguration:      in.ProxyConfiguration,
		InferenceAccelerators:   in.InferenceAccelerators,
		EphemeralStorage:        in.EphemeralStorage,
		RuntimePlatform:         in.RuntimePlatform,
		EnableFaultInjection:    in.EnableFaultInjection,
	}
	if in.Cpu != nil {
		n, _ := parseCPU(*in.Cpu)
		td.Cpu = awsapi.String(strconv.Itoa(n))
	}
	if in.Memory != nil {
		n, _ := parseMemory(*in.Memory)
		td.Memory = awsapi.String(strconv.Itoa(n))
	}
	td.ContainerDefinitions = make([]ecstypes.ContainerDefinition, len(in.ContainerDefinitions))
	for i, c := range in.ContainerDefinitions {
		if c.Cpu == nil {
			c.Cpu = awsapi.Int32(0)
		}
		if c.Essential == nil {
			c.Essential = awsapi.Bool(true)
		}
		c.Environment = nonNil(c.Environment)
		c.MountPoints = nonNil(c.MountPoints)
		c.VolumesFrom = nonNil(c.VolumesFrom)
		ports := make([]ecstypes.PortMapping, len(c.PortMappings))
		for j, pm := range c.PortMappings {
			if pm.Protocol == nil {
				pm.Protocol = awsapi.String(ecstypes.TransportProtocolTcp)
			}
			if pm.ContainerPort != nil && awsapi.Deref(pm.HostPort) == 0 {
				switch mode {
				case ecstypes.NetworkModeAwsvpc, ecstypes.NetworkModeHost:
					pm.HostPort = awsapi.Int32(*pm.ContainerPort)
				case ecstypes.NetworkModeBridge:
					pm.HostPort = awsapi.Int32(0) // UNVERIFIED: ECS reports a dynamic host port as 0
				}
			}
			ports[j] = pm
		}
		c.PortMappings = ports
		td.ContainerDefinitions[i] = c
	}
	td.RequiresAttributes = requiredAttributes(&td)
	// As ECS lists them: external instances (ECS Anywhere) run every
	// network mode but awsvpc, which Fargate needs.
	td.Compatibilities = []string{ecstypes.CompatibilityEc2}
	switch {
	case awsapi.Deref(td.NetworkMode) != ecstypes.NetworkModeAwsvpc:
		td.Compatibilities = []string{ecstypes.CompatibilityExternal, ecstypes.CompatibilityEc2}
	case requiresFargate(in) || checkTaskDefinition(in, true) == nil:
		td.Compatibilities = append(td.Compatibilities, ecstypes.CompatibilityFargate)
	}
	return td
}

// ecrImagePattern matches images in an Amazon ECR registry, which need the
// ECR authentication capability.
var ecrImagePattern = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/`)

// Capability attributes, in the order ECS lists them in observed
// DescribeTaskDefinition output (ECS's order looks unsorted; berth keeps
// one fixed order). Where ECS's trigger for an attribute is documented
// ("requires version 1.xx of the Docker Remote API") or observed in real
// output, berth derives it the same way; ECS adds others berth does not
// compute (UNVERIFIED completeness).
const (
	capPrefix             = "com.amazonaws.ecs.capability."
	attrLoggingDriver     = capPrefix + "logging-driver." // + driver
	attrExecRoleAwslogs   = "ecs.capability.execution-role-awslogs"
	attrECRAuth           = capPrefix + "ecr-auth"
	attrDockerAPI         = capPrefix + "docker-remote-api." // + version
	attrTaskIAMRole       = capPrefix + "task-iam-role"
	attrTaskIAMRoleHost   = capPrefix + "task-iam-role-network-host"
	attrExecRoleECRPull   = "ecs.capability.execution-role-ecr-pull"
	attrSecretsASM        = "ecs.capability.secrets.asm.environment-variables"
	attrSecretsSSM        = "ecs.capability.secrets.ssm.environment-variables"
	attrTaskENI           = "ecs.capability.task-eni"
	attrHealthCheck       = "ecs.capability.container-health-check"
	attrContainerOrdering = "ecs.capability.container-ordering"
	attrPidIpcSharing     = "ecs.capability.pid-ipc-namespace-sharing"
	attrPrivileged        = capPrefix + "privileged-container"
	attrEnvFilesS3        = "ecs.capability.env-files.s3"
	attrEFS               = "ecs.capability.efsAuth"
	attrFirelensPrefix    = "ecs.capability.firelens." // + fluentbit | fluentd
	attrPrivateRegistry   = capPrefix + "private-registry-authentication.secretsmanager"
)

// requiredAttributes computes the container instance attributes a task
// definition needs, as ECS reports them in requiresAttributes.
func requiredAttributes(td *ecstypes.TaskDefinition) []ecstypes.Attribute {
	mode := awsapi.Deref(td.NetworkMode)
	execRole := awsapi.Deref(td.ExecutionRoleArn) != ""
	need := map[string]bool{}
	var drivers []string
	for _, c := range td.ContainerDefinitions {
		if lc := c.LogConfiguration; lc != nil {
			driver := awsapi.Deref(lc.LogDriver)
			if driver != "" && !slices.Contains(drivers, driver) && driver != "awsfirelens" {
				drivers = append(drivers, driver)
			}
			need[attrDockerAPI+"1.18"] = true // logConfiguration: Docker Remote API 1.18
			if driver == "awslogs" {
				need[attrDockerAPI+"1.19"] = true
				if execRole {
					need[attrExecRoleAwslogs] = true
				}
			}
		}
		if ecrImagePattern.MatchString(awsapi.Deref(c.Image)) {
			need[attrECRAuth] = true
			if execRole {
				need[attrExecRoleECRPull] = true
			}
		}
		if c.RepositoryCredentials != nil {
			need[attrPrivateRegistry] = true
		}
		for _, sec := range c.Secrets {
			if strings.HasPrefix(awsapi.Deref(sec.ValueFrom), "arn:aws:secretsmanager:") {
				need[attrSecretsASM] = true
			} else {
				need[attrSecretsSSM] = true
			}
		}
		if len(c.DockerLabels) > 0 || len(c.Ulimits) > 0 {
			need[attrDockerAPI+"1.18"] = true
		}
		if c.HealthCheck != nil {
			need[attrHealthCheck] = true
		}
		if lp := c.LinuxParameters; lp != nil && awsapi.Deref(lp.InitProcessEnabled) {
			need[attrDockerAPI+"1.25"] = true
		}
		if len(c.DependsOn) > 0 || c.StartTimeout != nil || c.StopTimeout != nil {
			need[attrContainerOrdering] = true
		}
		if awsapi.Deref(c.Privileged) {
			need[attrPrivileged] = true
		}
		if len(c.EnvironmentFiles) > 0 {
			need[attrEnvFilesS3] = true
		}
		if fc := c.FirelensConfiguration; fc != nil {
			need[attrFirelensPrefix+strings.ReplaceAll(awsapi.Deref(fc.Type), "-", "")] = true
		}
	}
	if awsapi.Deref(td.TaskRoleArn) != "" {
		if mode == ecstypes.NetworkModeHost {
			need[attrTaskIAMRoleHost] = true
		} else {
			need[attrTaskIAMRole] = true
		}
	}
	if mode == ecstypes.NetworkModeAwsvpc {
		need[attrTaskENI] = true
		need[attrDockerAPI+"1.18"] = true // observed alongside task-eni in every awsvpc definition
	}
	if td.PidMode != nil || td.IpcMode != nil {
		need[attrPidIpcSharing] = true
	}
	for _, v := range td.Volumes {
		if v.EfsVolumeConfiguration != nil {
			need[attrEFS] = true
		}
	}
	var order []string
	for _, d := range drivers {
		order = append(order, attrLoggingDriver+d)
		need[attrLoggingDriver+d] = true
	}
	order = append(order,
		attrExecRoleAwslogs, attrECRAuth, attrDockerAPI+"1.19", attrTaskIAMRole, attrTaskIAMRoleHost,
		attrExecRoleECRPull, attrSecretsASM, attrSecretsSSM, attrDockerAPI+"1.18", attrTaskENI,
		attrHealthCheck, attrDockerAPI+"1.25", attrContainerOrdering, attrPidIpcSharing, attrPrivileged,
		attrEnvFilesS3, attrEFS, attrPrivateRegistry, attrFirelensPrefix+"fluentbit", attrFirelensPrefix+"fluentd")
	out := []ecstypes.Attribute{}
	for _, name := range order {
		if need[name] {
			out = append(out, ecstypes.Attribute{Name: awsapi.String(name)})
			delete(need, name)
		}
	}
	return out
}

// ecsResource returns the resource part ("cluster/x") of an ECS ARN of
// this account and region, or ok=false if arn is not one.
func (s *service) ecsResource(region, arn string) (string, bool) {
	return strings.CutPrefix(arn, "arn:aws:ecs:"+region+":"+s.account+":")
}

// parseTaskDefinitionRef splits a task definition reference — "family",
// "family:revision" or a task definition ARN of this account and region —
// into family and revision (0: none given). ok is false for a reference
// that cannot name a task definition in region.
func (s *service) parseTaskDefinitionRef(region, ref string) (family string, revision int32, ok bool, err error) {
	if strings.HasPrefix(ref, "arn:") {
		res, found := s.ecsResource(region, ref)
		if !found {
			return "", 0, false, nil
		}
		ref, found = strings.CutPrefix(res, "task-definition/")
		if !found {
			return "", 0, false, nil
		}
	}
	family, rev, hasRev := strings.Cut(ref, ":")
	if !familyPattern.MatchString(family) {
		return "", 0, false, nil
	}
	if !hasRev {
		return family, 0, true, nil
	}
	n, convErr := strconv.ParseInt(rev, 10, 32)
	if convErr != nil || n < 1 {
		// UNVERIFIED wording.
		return "", 0, false, invalidParameter("Invalid revision number. Number: %s", rev)
	}
	return family, int32(n), true, nil
}

// lookupTaskDefinition finds the task definition of region a reference
// names: a family's latest ACTIVE revision, or an exact revision in any
// status. found is false when there is none; err is for malformed
// references and store failures.
func (s *service) lookupTaskDefinition(ctx context.Context, region, ref string) (key string, rec store.Versioned[ecsstate.TaskDefinition], found bool, err error) {
	family, revision, ok, err := s.parseTaskDefinitionRef(region, ref)
	if err != nil || !ok {
		return "", rec, false, err
	}
	if revision > 0 {
		key = ecsstate.TaskDefinitionKey(region, family, revision)
		rec, err = store.Get[ecsstate.TaskDefinition](ctx, s.store, key)
		if errors.Is(err, store.ErrNotFound) {
			return "", rec, false, nil
		}
		return key, rec, err == nil, err
	}
	revs, _, err := store.List[ecsstate.TaskDefinition](ctx, s.store, ecsstate.TaskDefinitionFamilyPrefix(region, family), store.ListOptions{})
	if err != nil {
		return "", rec, false, err
	}
	for i := len(revs) - 1; i >= 0; i-- {
		if awsapi.Deref(revs[i].Value.Definition.Status) == ecstypes.TaskDefinitionStatusActive {
			d := revs[i].Value.Definition
			return ecsstate.TaskDefinitionKey(region, family, awsapi.Deref(d.Revision)), revs[i], true, nil
		}
	}
	return "", rec, false, nil
}

// resolveTaskDefinition returns the task definition a reference names, for
// RunTask, StartTask and CreateService: "family" is the family's latest
// ACTIVE revision; "family:revision" and a task definition ARN name one
// revision whatever its status (INACTIVE and DELETE_IN_PROGRESS included —
// the caller decides what it accepts). When nothing matches it returns
// errTaskDefinitionNotFoundForRun ("ClientException: TaskDefinition not
// found."); other errors are refusals of a malformed revision or store
// failures.
func (s *service) resolveTaskDefinition(ctx context.Context, ref string) (ecsstate.TaskDefinition, error) {
	_, rec, found, err := s.lookupTaskDefinition(ctx, requestRegion(ctx), ref)
	if err != nil {
		return ecsstate.TaskDefinition{}, err
	}
	if !found {
		return ecsstate.TaskDefinition{}, errTaskDefinitionNotFoundForRun()
	}
	return rec.Value, nil
}

func (s *service) describeTaskDefinition(ctx context.Context, in *ecstypes.DescribeTaskDefinitionRequest) (*ecstypes.DescribeTaskDefinitionResponse, error) {
	_, rec, found, err := s.lookupTaskDefinition(ctx, requestRegion(ctx), awsapi.Deref(in.TaskDefinition))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errTaskDefinitionNotFound()
	}
	// Without include=TAGS ECS still answers the member, empty.
	out := &ecstypes.DescribeTaskDefinitionResponse{TaskDefinition: &rec.Value.Definition, Tags: []ecstypes.Tag{}}
	if slices.Contains(in.Include, ecstypes.TaskDefinitionFieldTags) {
		out.Tags = tagsOrEmpty(rec.Value.Tags)
	}
	return out, nil
}

// lookupRevision is lookupTaskDefinition for calls that must name a
// revision (deregister, delete).
func (s *service) lookupRevision(ctx context.Context, ref string) (string, store.Versioned[ecsstate.TaskDefinition], bool, error) {
	_, revision, ok, err := s.parseTaskDefinitionRef(requestRegion(ctx), ref)
	if err != nil {
		return "", store.Versioned[ecsstate.TaskDefinition]{}, false, err
	}
	if ok && revision == 0 {
		return "", store.Versioned[ecsstate.TaskDefinition]{}, false, clientError("Revision is missing.") // UNVERIFIED
	}
	return s.lookupTaskDefinition(ctx, requestRegion(ctx), ref)
}

func (s *service) deregisterTaskDefinition(ctx context.Context, in *ecstypes.DeregisterTaskDefinitionRequest) (*ecstypes.DeregisterTaskDefinitionResponse, error) {
	key, _, found, err := s.lookupRevision(ctx, awsapi.Deref(in.TaskDefinition))
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errTaskDefinitionNotFound()
	}
	rec, err := store.Update(ctx, s.store, key, func(v *ecsstate.TaskDefinition, found bool) error {
		if !found {
			return errTaskDefinitionNotFound()
		}
		if awsapi.Deref(v.Definition.Status) != ecstypes.TaskDefinitionStatusActive {
			return store.ErrUnchanged // deregistering twice changes nothing
		}
		v.Definition.Status = awsapi.String(ecstypes.TaskDefinitionStatusInactive)
		v.Definition.DeregisteredAt = awsapi.Time(s.now())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecstypes.DeregisterTaskDefinitionResponse{TaskDefinition: &rec.Definition}, nil
}

func (s *service) deleteTaskDefinitions(ctx context.Context, in *ecstypes.DeleteTaskDefinitionsRequest) (*ecstypes.DeleteTaskDefinitionsResponse, error) {
	if len(in.TaskDefinitions) > 10 {
		return nil, invalidParameter("You can specify up to 10 task definitions.") // UNVERIFIED
	}
	out := &ecstypes.DeleteTaskDefinitionsResponse{TaskDefinitions: []ecstypes.TaskDefinition{}, Failures: []ecstypes.Failure{}}
	for _, ref := range in.TaskDefinitions {
		arn := ref
		if family, revision, ok, _ := s.parseTaskDefinitionRef(requestRegion(ctx), ref); ok && revision > 0 {
			arn = s.requestARNs(ctx).TaskDefinition(family, revision)
		}
		fail := func(reason string) {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: awsapi.String(arn), Reason: awsapi.String(reason)})
		}
		key, _, found, err := s.lookupRevision(ctx, ref)
		// A malformed reference fails on its own, with the sentence ECS
		// would answer for it alone.
		var malformed *awsapi.MessageError
		if errors.As(err, &malformed) {
			fail(malformed.Message)
			continue
		}
		if err != nil {
			return nil, err
		}
		if !found {
			fail("The specified task definition does not exist.") // UNVERIFIED
			continue
		}
		var stillActive bool
		rec, err := store.Update(ctx, s.store, key, func(v *ecsstate.TaskDefinition, found bool) error {
			if !found {
				return errResourceGone
			}
			switch awsapi.Deref(v.Definition.Status) {
			case ecstypes.TaskDefinitionStatusActive:
				stillActive = true
				return store.ErrUnchanged
			case ecstypes.TaskDefinitionStatusDeleteInProgress:
				return store.ErrUnchanged
			}
			v.Definition.Status = awsapi.String(ecstypes.TaskDefinitionStatusDeleteInProgress)
			v.Definition.DeleteRequestedAt = awsapi.Time(s.now())
			v.DeleteRequested = true
			return nil
		})
		if errors.Is(err, errResourceGone) {
			fail("The specified task definition does not exist.") // UNVERIFIED
			continue
		}
		if err != nil {
			return nil, err
		}
		if stillActive {
			fail("The specified task definition is still in ACTIVE status. Please deregister the target and try again.") // UNVERIFIED
			continue
		}
		out.TaskDefinitions = append(out.TaskDefinitions, rec.Definition)
	}
	return out, nil
}

// taskDefinitionOrder is ECS's listing order: family name, then revision.
func taskDefinitionOrder(a, b *ecstypes.TaskDefinition) int {
	if c := strings.Compare(awsapi.Deref(a.Family), awsapi.Deref(b.Family)); c != 0 {
		return c
	}
	return cmp.Compare(awsapi.Deref(a.Revision), awsapi.Deref(b.Revision))
}

func (s *service) listTaskDefinitions(ctx context.Context, in *ecstypes.ListTaskDefinitionsRequest) (*ecstypes.ListTaskDefinitionsResponse, error) {
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken, "ListTaskDefinitions")
	if err != nil {
		return nil, err
	}
	status := awsapi.Deref(in.Status)
	if status == "" {
		status = ecstypes.TaskDefinitionStatusActive
	}
	desc := awsapi.Deref(in.Sort) == ecstypes.SortOrderDesc
	// familyPrefix is, despite its name, a whole family name.
	prefix := ecsstate.RegionPrefix(ecsstate.TaskDefinitionPrefix, requestRegion(ctx))
	if f := awsapi.Deref(in.FamilyPrefix); f != "" {
		prefix = ecsstate.TaskDefinitionFamilyPrefix(requestRegion(ctx), f)
	}
	recs, _, err := store.List[ecsstate.TaskDefinition](ctx, s.store, prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	defs := make([]*ecstypes.TaskDefinition, 0, len(recs))
	for i := range recs {
		if d := &recs[i].Value.Definition; awsapi.Deref(d.Status) == status {
			defs = append(defs, d)
		}
	}
	order := taskDefinitionOrder
	if desc {
		order = func(a, b *ecstypes.TaskDefinition) int { return taskDefinitionOrder(b, a) }
	}
	slices.SortFunc(defs, order)
	start := 0
	if after != "" {
		family, rev, _ := strings.Cut(after, ":")
		n, _ := strconv.ParseInt(rev, 10, 32)
		mark := &ecstypes.TaskDefinition{Family: awsapi.String(family), Revision: awsapi.Int32(int32(n))}
		start, _ = slices.BinarySearchFunc(defs, mark, order)
		if start < len(defs) && order(defs[start], mark) == 0 {
			start++
		}
	}
	out := &ecstypes.ListTaskDefinitionsResponse{TaskDefinitionArns: []string{}}
	end := min(start+limit, len(defs))
	for _, d := range defs[start:end] {
		out.TaskDefinitionArns = append(out.TaskDefinitionArns, awsapi.Deref(d.TaskDefinitionArn))
	}
	if end < len(defs) {
		last := defs[end-1]
		out.NextToken = encodeToken("ListTaskDefinitions", awsapi.Deref(last.Family)+":"+strconv.Itoa(int(awsapi.Deref(last.Revision))))
	}
	return out, nil
}

func (s *service) listTaskDefinitionFamilies(ctx context.Context, in *ecstypes.ListTaskDefinitionFamiliesRequest) (*ecstypes.ListTaskDefinitionFamiliesResponse, error) {
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken, "ListTaskDefinitionFamilies")
	if err != nil {
		return nil, err
	}
	status := awsapi.Deref(in.Status)
	if status == "" {
		status = ecstypes.TaskDefinitionFamilyStatusActive
	}
	prefix := awsapi.Deref(in.FamilyPrefix)
	// A family is ACTIVE while it has an ACTIVE revision; the revision
	// counters also name families whose revisions are all gone.
	counters, _, err := store.List[ecsstate.Family](ctx, s.store, ecsstate.RegionPrefix(ecsstate.FamilyPrefix, requestRegion(ctx))+prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	recs, _, err := store.List[ecsstate.TaskDefinition](ctx, s.store, ecsstate.RegionPrefix(ecsstate.TaskDefinitionPrefix, requestRegion(ctx))+prefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	active := map[string]bool{}
	for _, c := range counters {
		if _, seen := active[c.Value.Name]; !seen {
			active[c.Value.Name] = false
		}
	}
	for _, r := range recs {
		d := r.Value.Definition
		family := awsapi.Deref(d.Family)
		active[family] = active[family] || awsapi.Deref(d.Status) == ecstypes.TaskDefinitionStatusActive
	}
	var families []string
	for family, isActive := range active {
		if !strings.HasPrefix(family, prefix) || family <= after {
			continue
		}
		switch status {
		case ecstypes.TaskDefinitionFamilyStatusActive:
			if !isActive {
				continue
			}
		case ecstypes.TaskDefinitionFamilyStatusInactive:
			if isActive {
				continue
			}
		}
		families = append(families, family)
	}
	slices.Sort(families)
	out := &ecstypes.ListTaskDefinitionFamiliesResponse{Families: []string{}}
	if len(families) > limit {
		out.NextToken = encodeToken("ListTaskDefinitionFamilies", families[limit-1])
		families = families[:limit]
	}
	out.Families = append(out.Families, families...)
	return out, nil
}
