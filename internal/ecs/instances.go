package ecs

import (
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

// Container instances are the nodes that take EC2 tasks, seen from a
// cluster they serve. Their id is the node's id.

func (s *service) containerInstanceOperations() map[string]awsapi.Operation {
	return map[string]awsapi.Operation{
		"ListContainerInstances":     awsapi.Op(s.listContainerInstances),
		"DescribeContainerInstances": awsapi.Op(s.describeContainerInstances),
	}
}

// isContainerInstanceOf reports whether a node appears in cluster as a
// container instance: it serves the cluster and takes EC2 tasks.
func isContainerInstanceOf(n *ecsstate.Node, cluster *ecsstate.Cluster) bool {
	return n.ServesAsInstance(cluster.Name, cluster.FargateOnly) && slices.Contains(n.LaunchTypes, "EC2")
}

// reservedHostPorts are the ports ECS registers as taken on every
// container instance (SSH, Docker, the agent).
var reservedHostPorts = []string{"22", "2375", "2376", "51678", "51679"}

// defaultInstanceAttributes are reported for a node that does not set
// them itself: the operating system, and the capabilities berth's agent
// has (those requiredAttributes derives).
var defaultInstanceAttributes = []string{
	"ecs.os-type=linux",
	"ecs.os-family=LINUX",
	capPrefix + "logging-driver.json-file",
	capPrefix + "logging-driver.awslogs",
	capPrefix + "logging-driver.none",
	attrDockerAPI + "1.17",
	attrDockerAPI + "1.18",
	attrDockerAPI + "1.19",
	attrDockerAPI + "1.20",
	attrDockerAPI + "1.21",
	attrDockerAPI + "1.22",
	attrDockerAPI + "1.23",
	attrDockerAPI + "1.24",
	attrDockerAPI + "1.25",
	attrDockerAPI + "1.26",
	attrDockerAPI + "1.27",
	attrDockerAPI + "1.28",
	attrDockerAPI + "1.29",
	attrDockerAPI + "1.30",
	attrDockerAPI + "1.31",
	attrDockerAPI + "1.32",
	attrECRAuth,
	attrTaskIAMRole,
	attrTaskIAMRoleHost,
	attrExecRoleAwslogs,
	attrExecRoleECRPull,
	attrSecretsASM,
	attrSecretsSSM,
	attrTaskENI,
	attrHealthCheck,
	attrContainerOrdering,
	attrPidIpcSharing,
	attrPrivileged,
	"ecs.capability.task-cpu-mem-limit",
}

// dockerVersionAttribute is the node attribute the agent reports its
// Docker Engine version in.
const dockerVersionAttribute = "berth.docker-version"

// instanceAttributes is a node's attributes with the defaults it does not
// override, sorted by name.
func instanceAttributes(n *ecsstate.Node) []ecstypes.Attribute {
	out := make([]ecstypes.Attribute, 0, len(n.Attributes)+len(defaultInstanceAttributes))
	have := map[string]bool{}
	for _, a := range n.Attributes {
		name := awsapi.Deref(a.Name)
		have[name] = true
		attr := ecstypes.Attribute{Name: awsapi.String(name)}
		if a.Value != nil {
			attr.Value = awsapi.String(*a.Value)
		}
		out = append(out, attr)
	}
	for _, d := range defaultInstanceAttributes {
		name, value, hasValue := strings.Cut(d, "=")
		if have[name] {
			continue
		}
		attr := ecstypes.Attribute{Name: awsapi.String(name)}
		if hasValue {
			attr.Value = awsapi.String(value)
		}
		out = append(out, attr)
	}
	slices.SortFunc(out, func(a, b ecstypes.Attribute) int { return strings.Compare(*a.Name, *b.Name) })
	return out
}

func intResource(name string, v int) ecstypes.Resource {
	return ecstypes.Resource{
		Name: awsapi.String(name), Type: awsapi.String("INTEGER"),
		IntegerValue: awsapi.Int32(int32(v)), LongValue: awsapi.Int64(0), DoubleValue: new(float64),
	}
}

func setResource(name string, ports []string) ecstypes.Resource {
	return ecstypes.Resource{
		Name: awsapi.String(name), Type: awsapi.String("STRINGSET"), StringSetValue: nonNil(ports),
		IntegerValue: awsapi.Int32(0), LongValue: awsapi.Int64(0), DoubleValue: new(float64),
	}
}

func portStrings(ports []int32) []string {
	out := make([]string, len(ports))
	for i, p := range ports {
		out[i] = strconv.Itoa(int(p))
	}
	return out
}

// containerInstanceView renders a node as a container instance of
// cluster in arns' region. tasks are all tasks placed on the node, of any
// cluster and region: every task that is not STOPPED holds resources; the
// counts cover the cluster's own tasks.
func (s *service) containerInstanceView(arns ecsstate.ARNs, n *ecsstate.Node, cluster string, tasks []ecsstate.Task, include []string) ecstypes.ContainerInstance {
	cpu, memory := int(n.CPU), int(n.MemoryMiB)
	tcp := slices.Clone(reservedHostPorts)
	var udp []string
	var running, pending int32
	for i := range tasks {
		t := &tasks[i]
		if taskIsStopped(t) {
			continue
		}
		r := taskReservation(t.Spec)
		cpu -= r.CPU
		memory -= r.MemoryMiB
		tcp = append(tcp, portStrings(r.TCPPorts)...)
		udp = append(udp, portStrings(r.UDPPorts)...)
		if t.Cluster != cluster || t.Region != arns.Region {
			continue
		}
		switch {
		case taskIsRunning(t):
			running++
		case taskIsPending(t):
			pending++
		}
	}
	status := n.Status
	if status == "" {
		status = ecstypes.ContainerInstanceStatusActive
	}
	id := n.ID
	ec2ID := ecsstate.EC2InstanceID(id)
	version := &ecstypes.VersionInfo{AgentVersion: awsapi.String(n.AgentVersion), AgentHash: awsapi.String("berth")}
	for _, a := range n.Attributes {
		if awsapi.Deref(a.Name) == dockerVersionAttribute && a.Value != nil {
			v := *a.Value
			if !strings.HasPrefix(v, "DockerVersion:") {
				v = "DockerVersion: " + v
			}
			version.DockerVersion = awsapi.String(v)
		}
	}
	out := ecstypes.ContainerInstance{
		ContainerInstanceArn: awsapi.String(arns.ContainerInstance(cluster, id)),
		Ec2InstanceId:        awsapi.String(ec2ID),
		Status:               awsapi.String(status),
		AgentConnected:       awsapi.Bool(n.Connected),
		RunningTasksCount:    awsapi.Int32(running),
		PendingTasksCount:    awsapi.Int32(pending),
		VersionInfo:          version,
		Attributes:           instanceAttributes(n),
		RegisteredResources: []ecstypes.Resource{
			intResource("CPU", int(n.CPU)),
			intResource("MEMORY", int(n.MemoryMiB)),
			setResource("PORTS", reservedHostPorts),
			setResource("PORTS_UDP", nil),
		},
		RemainingResources: []ecstypes.Resource{
			intResource("CPU", cpu),
			intResource("MEMORY", memory),
			setResource("PORTS", tcp),
			setResource("PORTS_UDP", udp),
		},
		Attachments: []ecstypes.Attachment{},
	}
	if !n.RegisteredAt.IsZero() {
		out.RegisteredAt = awsapi.Time(n.RegisteredAt)
	}
	for _, field := range include {
		switch field {
		case ecstypes.ContainerInstanceFieldTags:
			out.Tags = []ecstypes.Tag{}
		case ecstypes.ContainerInstanceFieldContainerInstanceHealth:
			state := ecstypes.InstanceHealthCheckStateOk
			if !n.Connected {
				state = ecstypes.InstanceHealthCheckStateImpaired
			}
			check := ecstypes.InstanceHealthCheckResult{
				Type: awsapi.String(ecstypes.InstanceHealthCheckTypeContainerRuntime), Status: awsapi.String(state),
			}
			if !n.SeenAt.IsZero() {
				check.LastUpdated, check.LastStatusChange = awsapi.Time(n.SeenAt), awsapi.Time(n.SeenAt)
			}
			out.HealthStatus = &ecstypes.ContainerInstanceHealthStatus{
				OverallStatus: awsapi.String(state),
				Details:       []ecstypes.InstanceHealthCheckResult{check},
			}
		}
	}
	return out
}

// tasksByNode lists every task, of every region (a node's capacity serves them
// all), and groups them by the node they are on.
func (s *service) tasksByNode(ctx context.Context) (map[string][]ecsstate.Task, error) {
	tasks, _, err := store.List[ecsstate.Task](ctx, s.store, ecsstate.TaskPrefix, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string][]ecsstate.Task{}
	for _, t := range tasks {
		out[t.Value.NodeID] = append(out[t.Value.NodeID], t.Value)
	}
	return out, nil
}

func (s *service) listContainerInstances(ctx context.Context, in *ecstypes.ListContainerInstancesRequest) (*ecstypes.ListContainerInstancesResponse, error) {
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken, "ListContainerInstances")
	if err != nil {
		return nil, err
	}
	var query *clusterQuery
	if f := strings.TrimSpace(awsapi.Deref(in.Filter)); f != "" {
		if query, err = parseClusterQuery(f); err != nil {
			return nil, err
		}
	}
	c, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := c.Value.Name
	var byNode map[string][]ecsstate.Task
	if query != nil && query.needsTasks {
		if byNode, err = s.tasksByNode(ctx); err != nil {
			return nil, err
		}
	}
	status := awsapi.Deref(in.Status)
	page, next, err := listPage(ctx, s.store, ecsstate.NodePrefix, after, limit,
		func(n *ecsstate.Node) bool {
			if !isContainerInstanceOf(n, &c.Value) {
				return false
			}
			st := n.Status
			if st == "" {
				st = ecstypes.ContainerInstanceStatusActive
			}
			if status != "" && st != status {
				return false
			}
			if query == nil {
				return true
			}
			view := s.containerInstanceView(s.requestARNs(ctx), n, cluster, byNode[n.ID], nil)
			return query.matches(instanceQuerySubjects(&view))
		},
		func(n *ecsstate.Node) string { return ecsstate.NodeKey(n.ID) })
	if err != nil {
		return nil, err
	}
	out := &ecstypes.ListContainerInstancesResponse{ContainerInstanceArns: make([]string, 0, len(page))}
	for _, n := range page {
		out.ContainerInstanceArns = append(out.ContainerInstanceArns, s.requestARNs(ctx).ContainerInstance(cluster, n.ID))
	}
	if next != "" {
		out.NextToken = encodeToken("ListContainerInstances", next)
	}
	return out, nil
}

func (s *service) describeContainerInstances(ctx context.Context, in *ecstypes.DescribeContainerInstancesRequest) (*ecstypes.DescribeContainerInstancesResponse, error) {
	if len(in.ContainerInstances) == 0 {
		// OBSERVED (SDK users' reports): an empty list is refused, as
		// DescribeTasks refuses one, not answered with nothing.
		return nil, invalidParameter("Container instance cannot be empty.")
	}
	c, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := c.Value.Name
	byNode, err := s.tasksByNode(ctx)
	if err != nil {
		return nil, err
	}
	out := &ecstypes.DescribeContainerInstancesResponse{ContainerInstances: []ecstypes.ContainerInstance{}, Failures: []ecstypes.Failure{}}
	for _, ref := range in.ContainerInstances {
		refCluster, id, ok := s.requestARNs(ctx).ContainerInstanceID(ref)
		var node store.Versioned[ecsstate.Node]
		if ok && (refCluster == "" || refCluster == cluster) {
			node, err = store.Get[ecsstate.Node](ctx, s.store, ecsstate.NodeKey(id))
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			ok = err == nil && isContainerInstanceOf(&node.Value, &c.Value)
		} else {
			ok = false
		}
		if !ok {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.requestARNs(ctx).ContainerInstance(cluster, ref)
			}
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: awsapi.String(arn), Reason: awsapi.String("MISSING")})
			continue
		}
		out.ContainerInstances = append(out.ContainerInstances, s.containerInstanceView(s.requestARNs(ctx), &node.Value, cluster, byNode[node.Value.ID], in.Include))
	}
	return out, nil
}

// The cluster query language, as ListContainerInstances' filter and
// memberOf placement constraints use it: "subject operator [argument]"
// expressions joined by and/&&, or/||, negated by not/!, grouped by
// parentheses. Subjects: attribute:<name>, agentConnected, agentVersion,
// ec2InstanceId, registeredAt, runningTasksCount. Operators: == (equals),
// != (not_equals), exists, !exists (not_exists), in, !in (not_in), =~
// (matches), !~ (not_matches), >, >=, <, <=. task:group is not supported.

// clusterQuery is a parsed cluster query expression.
type clusterQuery struct {
	root queryNode
	// needsTasks is set when the expression looks at task counts.
	needsTasks bool
}

type queryNode interface {
	eval(subjects map[string]string) bool
}

type queryAnd struct{ left, right queryNode }
type queryOr struct{ left, right queryNode }
type queryNot struct{ inner queryNode }
type queryTest struct {
	subject, op string
	args        []string
	// pattern is the compiled =~ / !~ pattern.
	pattern *regexp.Regexp
}

func (q queryAnd) eval(s map[string]string) bool { return q.left.eval(s) && q.right.eval(s) }
func (q queryOr) eval(s map[string]string) bool  { return q.left.eval(s) || q.right.eval(s) }
func (q queryNot) eval(s map[string]string) bool { return !q.inner.eval(s) }

func (q queryTest) eval(s map[string]string) bool {
	value, exists := s[q.subject]
	switch q.op {
	case "exists":
		return exists
	case "!exists":
		return !exists
	case "==":
		return exists && value == q.args[0]
	case "!=":
		return !exists || value != q.args[0]
	case "in":
		return exists && slices.Contains(q.args, value)
	case "!in":
		return !exists || !slices.Contains(q.args, value)
	case "=~":
		return exists && q.pattern.MatchString(value)
	case "!~":
		return !exists || !q.pattern.MatchString(value)
	}
	if !exists {
		return false
	}
	c := compareQueryValues(value, q.args[0])
	switch q.op {
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	}
	return false
}

// compareQueryValues compares numerically when both sides are numbers.
func compareQueryValues(a, b string) int {
	fa, errA := strconv.ParseFloat(a, 64)
	fb, errB := strconv.ParseFloat(b, 64)
	if errA == nil && errB == nil {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

// compilePattern compiles a =~ pattern: a whole-value regular expression
// ("t2.*", "us-east-1[ab]"), or failing that a glob where * is any run of
// characters.
func compilePattern(pattern string) *regexp.Regexp {
	if re, err := regexp.Compile("^(?:" + pattern + ")$"); err == nil {
		return re
	}
	return regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$")
}

func (q *clusterQuery) matches(subjects map[string]string) bool { return q.root.eval(subjects) }

// instanceQuerySubjects are the values a container instance offers the
// query language.
func instanceQuerySubjects(ci *ecstypes.ContainerInstance) map[string]string {
	out := map[string]string{
		"agentConnected":    strconv.FormatBool(awsapi.Deref(ci.AgentConnected)),
		"ec2InstanceId":     awsapi.Deref(ci.Ec2InstanceId),
		"runningTasksCount": strconv.Itoa(int(awsapi.Deref(ci.RunningTasksCount))),
	}
	if ci.VersionInfo != nil {
		out["agentVersion"] = awsapi.Deref(ci.VersionInfo.AgentVersion)
	}
	if ci.RegisteredAt != nil {
		out["registeredAt"] = ci.RegisteredAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	for _, a := range ci.Attributes {
		out["attribute:"+awsapi.Deref(a.Name)] = awsapi.Deref(a.Value)
	}
	return out
}

func errInvalidQuery(expr string) *awsapi.MessageError {
	// UNVERIFIED wording.
	return invalidParameter("The specified query expression is not valid: %s", expr)
}

// parseClusterQuery parses a cluster query expression.
func parseClusterQuery(expr string) (*clusterQuery, error) {
	toks, ok := tokenizeQuery(expr)
	if !ok || len(toks) == 0 {
		return nil, errInvalidQuery(expr)
	}
	p := &queryParser{toks: toks}
	root, ok := p.or()
	if !ok || p.pos != len(toks) {
		return nil, errInvalidQuery(expr)
	}
	return &clusterQuery{root: root, needsTasks: p.needsTasks}, nil
}

type queryParser struct {
	toks       []string
	pos        int
	needsTasks bool
}

func (p *queryParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *queryParser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *queryParser) or() (queryNode, bool) {
	left, ok := p.and()
	for ok && (p.peek() == "or" || p.peek() == "||") {
		p.next()
		var right queryNode
		right, ok = p.and()
		left = queryOr{left, right}
	}
	return left, ok
}

func (p *queryParser) and() (queryNode, bool) {
	left, ok := p.unary()
	for ok && (p.peek() == "and" || p.peek() == "&&") {
		p.next()
		var right queryNode
		right, ok = p.unary()
		left = queryAnd{left, right}
	}
	return left, ok
}

var querySubjects = []string{"agentConnected", "agentVersion", "ec2InstanceId", "registeredAt", "runningTasksCount"}

// queryOperators maps each spelling to its canonical operator.
var queryOperators = map[string]string{
	"==": "==", "equals": "==", "!=": "!=", "not_equals": "!=",
	"exists": "exists", "!exists": "!exists", "not_exists": "!exists",
	"in": "in", "!in": "!in", "not_in": "!in",
	"=~": "=~", "matches": "=~", "!~": "!~", "not_matches": "!~",
	">": ">", ">=": ">=", "<": "<", "<=": "<=",
}

func (p *queryParser) unary() (queryNode, bool) {
	switch t := p.peek(); t {
	case "not", "!":
		p.next()
		inner, ok := p.unary()
		return queryNot{inner}, ok
	case "(":
		p.next()
		inner, ok := p.or()
		if !ok || p.next() != ")" {
			return nil, false
		}
		return inner, true
	}
	subject := p.next()
	name, isAttr := strings.CutPrefix(subject, "attribute:")
	if (isAttr && name == "") || (!isAttr && !slices.Contains(querySubjects, subject)) {
		return nil, false
	}
	if subject == "runningTasksCount" {
		p.needsTasks = true
	}
	op, ok := queryOperators[p.next()]
	if !ok {
		return nil, false
	}
	test := queryTest{subject: subject, op: op}
	switch op {
	case "exists", "!exists":
	case "in", "!in":
		open := p.next()
		if open != "[" && open != "(" {
			return nil, false
		}
		for {
			v := p.next()
			if v == "" || strings.ContainsAny(v, "()[],") {
				return nil, false
			}
			test.args = append(test.args, v)
			sep := p.next()
			if sep == "," {
				continue
			}
			if (open == "[" && sep == "]") || (open == "(" && sep == ")") {
				break
			}
			return nil, false
		}
	default:
		v := p.next()
		if v == "" || len(v) == 1 && strings.ContainsAny(v, "()[],") {
			return nil, false
		}
		test.args = []string{v}
		if op == "=~" || op == "!~" {
			test.pattern = compilePattern(v)
		}
	}
	return test, true
}

// tokenizeQuery splits a query into words, operators and punctuation.
func tokenizeQuery(expr string) ([]string, bool) {
	var toks []string
	i := 0
	for i < len(expr) {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case len(toks) > 0 && slices.Contains([]string{"=~", "matches", "!~", "not_matches"}, toks[len(toks)-1]):
			// A pattern runs to the next space: it may hold brackets.
			j := i
			for j < len(expr) && expr[j] != ' ' && expr[j] != '\t' {
				j++
			}
			toks = append(toks, expr[i:j])
			i = j
		case strings.IndexByte("()[],", c) >= 0:
			toks = append(toks, string(c))
			i++
		case i+1 < len(expr) && slices.Contains([]string{"==", "!=", "=~", "!~", ">=", "<=", "&&", "||"}, expr[i:i+2]):
			toks = append(toks, expr[i:i+2])
			i += 2
		case c == '>' || c == '<':
			toks = append(toks, string(c))
			i++
		case c == '!':
			// "!exists", "!in" or a negation.
			j := i + 1
			for j < len(expr) && isQueryWordByte(expr[j]) {
				j++
			}
			if w := expr[i+1 : j]; w == "exists" || w == "in" {
				toks = append(toks, "!"+w)
				i = j
			} else {
				toks = append(toks, "!")
				i++
			}
		case isQueryWordByte(c):
			j := i
			for j < len(expr) && isQueryWordByte(expr[j]) {
				j++
			}
			toks = append(toks, expr[i:j])
			i = j
		default:
			return nil, false
		}
	}
	return toks, true
}

func isQueryWordByte(c byte) bool {
	return c > ' ' && strings.IndexByte("()[],=!<>&|", c) < 0
}
