package ecs

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strconv"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

// Capacity providers every cluster can use: berth's own capacity stands
// behind both.
const (
	providerFargate     = "FARGATE"
	providerFargateSpot = "FARGATE_SPOT"
)

var clusterNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func (s *service) clusterOperations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"CreateCluster":               awsapi.Op(s.createCluster),
		"DescribeClusters":            awsapi.Op(s.describeClusters),
		"ListClusters":                awsapi.Op(s.listClusters),
		"UpdateCluster":               awsapi.Op(s.updateCluster),
		"UpdateClusterSettings":       awsapi.Op(s.updateClusterSettings),
		"PutClusterCapacityProviders": awsapi.Op(s.putClusterCapacityProviders),
		"DeleteCluster":               awsapi.Op(s.deleteCluster),
	}
}

// Validation of cluster input. Messages marked UNVERIFIED follow ECS's
// style where the real text was not available.

func checkClusterName(name string) error {
	if !clusterNamePattern.MatchString(name) {
		// UNVERIFIED wording.
		return invalidParameter("Cluster name must be 1-255 characters long and may contain only letters, numbers, underscores and hyphens.")
	}
	return nil
}

// checkCapacityProviders validates a cluster's capacity providers and its
// default strategy, and returns the strategy with base and weight filled
// in as ECS reports them.
func checkCapacityProviders(providers []string, strategy []ecstypes.CapacityProviderStrategyItem) ([]ecstypes.CapacityProviderStrategyItem, error) {
	if len(slices.Compact(slices.Sorted(slices.Values(providers)))) != len(providers) {
		// UNVERIFIED wording.
		return nil, invalidParameter("The specified capacity providers contain duplicates. Specify each capacity provider once.")
	}
	if err := checkStrategy(strategy, providers); err != nil {
		return nil, err
	}
	out := make([]ecstypes.CapacityProviderStrategyItem, 0, len(strategy))
	for _, item := range strategy {
		out = append(out, ecstypes.CapacityProviderStrategyItem{
			CapacityProvider: awsapi.String(awsapi.Deref(item.CapacityProvider)),
			Weight:           awsapi.Int32(awsapi.Deref(item.Weight)),
			Base:             awsapi.Int32(awsapi.Deref(item.Base)),
		})
	}
	return out, nil
}

// checkStrategy validates a capacity provider strategy against the
// providers associated with the cluster: weight 0-1000, base 0-100000,
// base on at most one item, not every weight 0, no provider twice.
// Messages are UNVERIFIED wording.
func checkStrategy(strategy []ecstypes.CapacityProviderStrategyItem, associated []string) error {
	if len(strategy) == 0 {
		return nil
	}
	seen := map[string]bool{}
	withBase, weighted := 0, 0
	for _, item := range strategy {
		name := awsapi.Deref(item.CapacityProvider)
		if !slices.Contains(associated, name) {
			return invalidParameter("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.")
		}
		if seen[name] {
			return invalidParameter("The specified capacity provider strategy contains the capacity provider '%s' more than once.", name)
		}
		seen[name] = true
		if w := awsapi.Deref(item.Weight); w < 0 || w > 1000 {
			return invalidParameter("The capacity provider strategy weight must be between 0 and 1000.")
		} else if w > 0 {
			weighted++
		}
		if b := awsapi.Deref(item.Base); b < 0 || b > 100000 {
			return invalidParameter("The capacity provider strategy base must be between 0 and 100000.")
		} else if b > 0 {
			withBase++
		}
	}
	if withBase > 1 {
		return invalidParameter("Only one capacity provider in a capacity provider strategy can have a base defined.")
	}
	if weighted == 0 {
		return invalidParameter("At least one capacity provider in a capacity provider strategy must have a weight greater than zero.")
	}
	return nil
}

// mergeSettings validates settings and applies them over current by name.
func mergeSettings(current, settings []ecstypes.ClusterSetting) ([]ecstypes.ClusterSetting, error) {
	out := slices.Clone(current)
	for _, st := range settings {
		name, value := awsapi.Deref(st.Name), awsapi.Deref(st.Value)
		if name != ecstypes.ClusterSettingNameContainerInsights {
			return nil, invalidParameter("Invalid cluster setting name '%s'. Valid names are containerInsights.", name) // UNVERIFIED
		}
		switch value {
		case "enabled", "disabled", "enhanced":
		default:
			// UNVERIFIED wording.
			return nil, invalidParameter("Invalid value '%s' for setting containerInsights. Valid values are enabled, disabled and enhanced.", value)
		}
		item := ecstypes.ClusterSetting{Name: awsapi.String(name), Value: awsapi.String(value)}
		if i := slices.IndexFunc(out, func(c ecstypes.ClusterSetting) bool { return awsapi.Deref(c.Name) == name }); i >= 0 {
			out[i] = item
		} else {
			out = append(out, item)
		}
	}
	return out, nil
}

// defaultClusterSettings is what a new cluster has before its own
// settings: Container Insights as the account's containerInsights setting
// says.
func defaultClusterSettings(insights string) []ecstypes.ClusterSetting {
	return []ecstypes.ClusterSetting{{Name: awsapi.String(ecstypes.ClusterSettingNameContainerInsights), Value: awsapi.String(insights)}}
}

// fargateProvidersOnly reports whether a cluster's capacity providers are
// Fargate's alone (and there are some): a Fargate-only cluster.
func fargateProvidersOnly(providers []string) bool {
	for _, p := range providers {
		if p != providerFargate && p != providerFargateSpot {
			return false
		}
	}
	return len(providers) > 0
}

// runsOnEC2 reports whether the cluster has a task on EC2 that is not
// STOPPED, or a live service on EC2.
func (s *service) runsOnEC2(ctx context.Context, region, cluster string) (bool, error) {
	tasks, _, err := store.List[ecsstate.Task](ctx, s.store, ecsstate.ClusterTasksPrefix(region, cluster), store.ListOptions{})
	if err != nil {
		return false, err
	}
	for _, t := range tasks {
		if t.Value.Spec.LaunchType == ecstypes.LaunchTypeEc2 && !taskIsStopped(&t.Value) {
			return true, nil
		}
	}
	services, _, err := store.List[ecsstate.Service](ctx, s.store, ecsstate.ClusterServicesPrefix(region, cluster), store.ListOptions{})
	if err != nil {
		return false, err
	}
	for _, svc := range services {
		live := svc.Value.Status == ecsstate.ServiceActive || svc.Value.Status == ecsstate.ServiceDraining
		if lt := serviceTasksLaunchType(&svc.Value); live && (lt == ecstypes.LaunchTypeEc2 || lt == "") {
			return true, nil
		}
	}
	return false, nil
}

func serviceConnectDefaults(in *ecstypes.ClusterServiceConnectDefaultsRequest) *ecstypes.ClusterServiceConnectDefaults {
	if in == nil {
		return nil
	}
	// ECS turns a namespace name into the ARN of a Cloud Map namespace it
	// creates; berth keeps what was given until Cloud Map exists.
	return &ecstypes.ClusterServiceConnectDefaults{Namespace: in.Namespace}
}

func (s *service) createCluster(ctx context.Context, in *ecstypes.CreateClusterRequest) (*ecstypes.CreateClusterResponse, error) {
	name := awsapi.Deref(in.ClusterName)
	if name == "" {
		name = "default"
	}
	if err := checkClusterName(name); err != nil {
		return nil, err
	}
	if err := s.checkClusterProvidersExist(ctx, in.CapacityProviders); err != nil {
		return nil, err
	}
	strategy, err := checkCapacityProviders(in.CapacityProviders, in.DefaultCapacityProviderStrategy)
	if err != nil {
		return nil, err
	}
	insights, err := s.effectiveAccountSetting(ctx, requestRegion(ctx), ecstypes.SettingNameContainerInsights)
	if err != nil {
		return nil, err
	}
	settings, err := mergeSettings(defaultClusterSettings(insights), in.Settings)
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags, invalidParameter); err != nil {
		return nil, err
	}
	fresh := ecsstate.Cluster{
		Region:            requestRegion(ctx),
		Name:              name,
		Status:            ecsstate.ClusterActive,
		CreatedAt:         s.now(),
		CapacityProviders: slices.Clone(in.CapacityProviders),
		DefaultStrategy:   strategy,
		Settings:          settings,
		Configuration:     in.Configuration,
		ServiceConnect:    serviceConnectDefaults(in.ServiceConnectDefaults),
		Tags:              mergeTags(nil, in.Tags),
		FargateOnly:       fargateProvidersOnly(in.CapacityProviders),
	}
	// Creating an ACTIVE cluster's name again returns it unchanged, as
	// ECS does; an INACTIVE one is created afresh.
	c, err := store.Update(ctx, s.store, ecsstate.ClusterKey(requestRegion(ctx), name), func(v *ecsstate.Cluster, found bool) error {
		if found && v.Status == ecsstate.ClusterActive {
			return store.ErrUnchanged
		}
		*v = fresh
		return nil
	})
	if err != nil {
		return nil, err
	}
	out, err := s.describeCluster(ctx, c, clusterFieldsAfterChange)
	if err != nil {
		return nil, err
	}
	return &ecstypes.CreateClusterResponse{Cluster: &out}, nil
}

// clusterFieldsAfterChange are the optional fields the calls that create
// or change a cluster return.
var clusterFieldsAfterChange = []string{ecstypes.ClusterFieldSettings, ecstypes.ClusterFieldConfigurations, ecstypes.ClusterFieldTags}

// updateActiveCluster applies change to an ACTIVE cluster and returns it
// described as the calls that change clusters answer.
func (s *service) updateActiveCluster(ctx context.Context, ref *string, change func(c *ecsstate.Cluster) error) (*ecstypes.Cluster, error) {
	current, err := s.activeCluster(ctx, ref)
	if err != nil {
		return nil, err
	}
	c, err := store.Update(ctx, s.store, ecsstate.ClusterKey(requestRegion(ctx), current.Value.Name), func(v *ecsstate.Cluster, found bool) error {
		if !found || v.Status != ecsstate.ClusterActive {
			return errClusterNotFound
		}
		return change(v)
	})
	if err != nil {
		return nil, err
	}
	out, err := s.describeCluster(ctx, c, clusterFieldsAfterChange)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *service) updateCluster(ctx context.Context, in *ecstypes.UpdateClusterRequest) (*ecstypes.UpdateClusterResponse, error) {
	if _, err := mergeSettings(nil, in.Settings); err != nil {
		return nil, err
	}
	c, err := s.updateActiveCluster(ctx, in.Cluster, func(c *ecsstate.Cluster) error {
		settings, err := mergeSettings(c.Settings, in.Settings)
		if err != nil {
			return err
		}
		c.Settings = settings
		if in.Configuration != nil {
			c.Configuration = in.Configuration
		}
		if in.ServiceConnectDefaults != nil {
			c.ServiceConnect = serviceConnectDefaults(in.ServiceConnectDefaults)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecstypes.UpdateClusterResponse{Cluster: c}, nil
}

func (s *service) updateClusterSettings(ctx context.Context, in *ecstypes.UpdateClusterSettingsRequest) (*ecstypes.UpdateClusterSettingsResponse, error) {
	if _, err := mergeSettings(nil, in.Settings); err != nil {
		return nil, err
	}
	c, err := s.updateActiveCluster(ctx, in.Cluster, func(c *ecsstate.Cluster) error {
		settings, err := mergeSettings(c.Settings, in.Settings)
		c.Settings = settings
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ecstypes.UpdateClusterSettingsResponse{Cluster: c}, nil
}

func (s *service) putClusterCapacityProviders(ctx context.Context, in *ecstypes.PutClusterCapacityProvidersRequest) (*ecstypes.PutClusterCapacityProvidersResponse, error) {
	if err := s.checkClusterProvidersExist(ctx, in.CapacityProviders); err != nil {
		return nil, err
	}
	strategy, err := checkCapacityProviders(in.CapacityProviders, in.DefaultCapacityProviderStrategy)
	if err != nil {
		return nil, err
	}
	c, err := s.updateActiveCluster(ctx, in.Cluster, func(c *ecsstate.Cluster) error {
		if err := s.checkProvidersStillUsed(ctx, c.Name, c.CapacityProviders, in.CapacityProviders); err != nil {
			return err
		}
		c.CapacityProviders = slices.Clone(in.CapacityProviders)
		c.DefaultStrategy = strategy
		// Safe side: a cluster that runs anything on EC2 keeps its hosts,
		// so that its tasks and services are not stranded. A RunTask on EC2
		// racing this call can still land on the host of a cluster it makes
		// Fargate-only; that task runs on, listed with its instance.
		fargateOnly := fargateProvidersOnly(c.CapacityProviders)
		if fargateOnly && !c.FargateOnly {
			ec2, err := s.runsOnEC2(ctx, c.Region, c.Name)
			if err != nil {
				return err
			}
			fargateOnly = !ec2
		}
		c.FargateOnly = fargateOnly
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecstypes.PutClusterCapacityProvidersResponse{Cluster: c}, nil
}

func (s *service) deleteCluster(ctx context.Context, in *ecstypes.DeleteClusterRequest) (*ecstypes.DeleteClusterResponse, error) {
	current, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	name := current.Value.Name
	services, _, err := store.List[ecsstate.Service](ctx, s.store, ecsstate.ClusterServicesPrefix(requestRegion(ctx), name), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, svc := range services {
		if svc.Value.Status == ecsstate.ServiceActive || svc.Value.Status == ecsstate.ServiceDraining {
			return nil, errClusterContainsServices
		}
	}
	tasks, _, err := store.List[ecsstate.Task](ctx, s.store, ecsstate.ClusterTasksPrefix(requestRegion(ctx), name), store.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		if !taskIsStopped(&t.Value) {
			return nil, errClusterContainsTasks
		}
	}
	nodes, _, err := store.List[ecsstate.Node](ctx, s.store, ecsstate.NodePrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		// Only an instance registered to this very cluster holds it; the
		// all-clusters node serves whatever clusters exist.
		if slices.Contains(n.Value.Clusters, name) {
			return nil, errClusterContainsContainerInstances
		}
	}
	// A task started between the listing above and this write would be
	// left in an INACTIVE cluster; the store cannot guard a whole prefix,
	// and ECS has the same window.
	c, err := store.Update(ctx, s.store, ecsstate.ClusterKey(requestRegion(ctx), name), func(v *ecsstate.Cluster, found bool) error {
		if !found || v.Status != ecsstate.ClusterActive {
			return errClusterNotFound
		}
		v.Status = ecsstate.ClusterInactive
		v.DeletedAt = s.now()
		return nil
	})
	if err != nil {
		return nil, err
	}
	out, err := s.describeCluster(ctx, c, clusterFieldsAfterChange)
	if err != nil {
		return nil, err
	}
	return &ecstypes.DeleteClusterResponse{Cluster: &out}, nil
}

func (s *service) describeClusters(ctx context.Context, in *ecstypes.DescribeClustersRequest) (*ecstypes.DescribeClustersResponse, error) {
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{"default"}
	}
	out := &ecstypes.DescribeClustersResponse{Clusters: []ecstypes.Cluster{}, Failures: []ecstypes.Failure{}}
	snap := &clusterSnapshot{}
	for _, ref := range refs {
		name, ok := s.requestARNs(ctx).ClusterName(ref)
		var c store.Versioned[ecsstate.Cluster]
		var err error
		if ok {
			c, err = store.Get[ecsstate.Cluster](ctx, s.store, ecsstate.ClusterKey(requestRegion(ctx), name))
		}
		if !ok || errors.Is(err, store.ErrNotFound) {
			arn := ref
			if ok {
				arn = s.requestARNs(ctx).Cluster(name)
			}
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: awsapi.String(arn), Reason: awsapi.String("MISSING")})
			continue
		}
		if err != nil {
			return nil, err
		}
		d, err := s.describeClusterWith(ctx, c.Value, in.Include, snap)
		if err != nil {
			return nil, err
		}
		out.Clusters = append(out.Clusters, d)
	}
	return out, nil
}

// clusterSnapshot caches the node listing across the clusters of one
// DescribeClusters call.
type clusterSnapshot struct {
	nodes []store.Versioned[ecsstate.Node]
	read  bool
}

func (s *service) describeCluster(ctx context.Context, c ecsstate.Cluster, include []string) (ecstypes.Cluster, error) {
	return s.describeClusterWith(ctx, c, include, &clusterSnapshot{})
}

// taskCountRecord is the part of a task record the cluster's counts read;
// decoding only it keeps DescribeClusters cheap over thousands of tasks.
type taskCountRecord struct {
	Spec struct {
		LaunchType string `json:"launchType"`
	} `json:"spec"`
	Observed struct {
		LastStatus string `json:"lastStatus"`
	} `json:"observed"`
}

// describeClusterWith renders a cluster as ECS returns it, counting its
// tasks and container instances from the store. Settings, configuration,
// tags, statistics and attachments come only when include names them (tags
// and statistics are [] otherwise, as ECS answers).
func (s *service) describeClusterWith(ctx context.Context, c ecsstate.Cluster, include []string, snap *clusterSnapshot) (ecstypes.Cluster, error) {
	tasks, _, err := store.List[taskCountRecord](ctx, s.store, ecsstate.ClusterTasksPrefix(requestRegion(ctx), c.Name), store.ListOptions{})
	if err != nil {
		return ecstypes.Cluster{}, err
	}
	if !snap.read {
		snap.nodes, _, err = store.List[ecsstate.Node](ctx, s.store, ecsstate.NodePrefix, store.ListOptions{})
		if err != nil {
			return ecstypes.Cluster{}, err
		}
		snap.read = true
	}
	// A deleted (INACTIVE) cluster has no container instances: the hosts
	// that serve every cluster serve only the ACTIVE ones.
	var instances int32
	for _, n := range snap.nodes {
		if c.Status == ecsstate.ClusterActive && isContainerInstanceOf(&n.Value, &c) {
			instances++
		}
	}
	services, _, err := store.List[ecsstate.Service](ctx, s.store, ecsstate.ClusterServicesPrefix(requestRegion(ctx), c.Name), store.ListOptions{})
	if err != nil {
		return ecstypes.Cluster{}, err
	}
	// Services by status and by the launch type of their tasks.
	serviceCounts := map[string]map[string]int{
		ecsstate.ServiceActive:   {ecstypes.LaunchTypeEc2: 0, ecstypes.LaunchTypeFargate: 0},
		ecsstate.ServiceDraining: {ecstypes.LaunchTypeEc2: 0, ecstypes.LaunchTypeFargate: 0},
	}
	for _, svc := range services {
		byType, ok := serviceCounts[svc.Value.Status]
		if !ok {
			continue
		}
		lt := serviceTasksLaunchType(&svc.Value)
		if lt != ecstypes.LaunchTypeEc2 {
			lt = ecstypes.LaunchTypeFargate
		}
		byType[lt]++
	}
	activeServices := serviceCounts[ecsstate.ServiceActive][ecstypes.LaunchTypeEc2] + serviceCounts[ecsstate.ServiceActive][ecstypes.LaunchTypeFargate]
	type counts struct{ running, pending int }
	byLaunchType := map[string]*counts{"EC2": {}, "FARGATE": {}}
	var running, pending int32
	for _, t := range tasks {
		lt := t.Value.Spec.LaunchType
		if lt != "EC2" {
			lt = "FARGATE"
		}
		status := &ecsstate.Task{Observed: ecsstate.TaskStatus{LastStatus: t.Value.Observed.LastStatus}}
		switch {
		case taskIsRunning(status):
			running++
			byLaunchType[lt].running++
		case taskIsPending(status):
			pending++
			byLaunchType[lt].pending++
		}
	}
	out := ecstypes.Cluster{
		ClusterArn:                        awsapi.String(s.requestARNs(ctx).Cluster(c.Name)),
		ClusterName:                       awsapi.String(c.Name),
		Status:                            awsapi.String(c.Status),
		RegisteredContainerInstancesCount: awsapi.Int32(instances),
		RunningTasksCount:                 awsapi.Int32(running),
		PendingTasksCount:                 awsapi.Int32(pending),
		ActiveServicesCount:               awsapi.Int32(int32(activeServices)),
		Statistics:                        []ecstypes.KeyValuePair{},
		Tags:                              []ecstypes.Tag{},
		CapacityProviders:                 nonNil(c.CapacityProviders),
		DefaultCapacityProviderStrategy:   nonNil(c.DefaultStrategy),
		// ECS reports the Service Connect namespace without being asked.
		ServiceConnectDefaults: c.ServiceConnect,
	}
	for _, field := range include {
		switch field {
		case ecstypes.ClusterFieldSettings:
			out.Settings = nonNil(c.Settings)
		case ecstypes.ClusterFieldConfigurations:
			out.Configuration = c.Configuration
		case ecstypes.ClusterFieldTags:
			out.Tags = tagsOrEmpty(c.Tags)
		case ecstypes.ClusterFieldAttachments:
			out.Attachments = []ecstypes.Attachment{}
		case ecstypes.ClusterFieldStatistics:
			stat := func(name string, n int) ecstypes.KeyValuePair {
				return ecstypes.KeyValuePair{Name: awsapi.String(name), Value: awsapi.String(strconv.Itoa(n))}
			}
			out.Statistics = []ecstypes.KeyValuePair{
				stat("runningEC2TasksCount", byLaunchType["EC2"].running),
				stat("runningFargateTasksCount", byLaunchType["FARGATE"].running),
				stat("pendingEC2TasksCount", byLaunchType["EC2"].pending),
				stat("pendingFargateTasksCount", byLaunchType["FARGATE"].pending),
				stat("activeEC2ServiceCount", serviceCounts[ecsstate.ServiceActive][ecstypes.LaunchTypeEc2]),
				stat("activeFargateServiceCount", serviceCounts[ecsstate.ServiceActive][ecstypes.LaunchTypeFargate]),
				stat("drainingEC2ServiceCount", serviceCounts[ecsstate.ServiceDraining][ecstypes.LaunchTypeEc2]),
				stat("drainingFargateServiceCount", serviceCounts[ecsstate.ServiceDraining][ecstypes.LaunchTypeFargate]),
			}
		}
	}
	return out, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *service) listClusters(ctx context.Context, in *ecstypes.ListClustersRequest) (*ecstypes.ListClustersResponse, error) {
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken, "ListClusters")
	if err != nil {
		return nil, err
	}
	page, next, err := listPage(ctx, s.store, ecsstate.RegionPrefix(ecsstate.ClusterPrefix, requestRegion(ctx)), after, limit,
		func(c *ecsstate.Cluster) bool { return c.Status == ecsstate.ClusterActive },
		func(c *ecsstate.Cluster) string { return ecsstate.ClusterKey(requestRegion(ctx), c.Name) })
	if err != nil {
		return nil, err
	}
	out := &ecstypes.ListClustersResponse{ClusterArns: make([]string, 0, len(page))}
	for _, c := range page {
		out.ClusterArns = append(out.ClusterArns, s.requestARNs(ctx).Cluster(c.Name))
	}
	if next != "" {
		out.NextToken = encodeToken("ListClusters", next)
	}
	return out, nil
}

// listPage reads the records under prefix after the key after, in key
// order, keeping those keep accepts, and returns up to limit of them with
// the key to continue after ("" when there are no more).
func listPage[T any](ctx context.Context, st store.Store, prefix, after string, limit int, keep func(*T) bool, keyOf func(*T) string) ([]T, string, error) {
	const batch = 256
	var out []T
	cursor := after
	for {
		recs, _, err := store.List[T](ctx, st, prefix, store.ListOptions{StartAfter: cursor, Limit: batch})
		if err != nil {
			return nil, "", err
		}
		for i := range recs {
			v := &recs[i].Value
			cursor = keyOf(v)
			if !keep(v) {
				continue
			}
			if len(out) == limit {
				return out, keyOf(&out[limit-1]), nil
			}
			out = append(out, *v)
		}
		if len(recs) < batch {
			return out, "", nil
		}
	}
}
