package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth/berth/internal/hostnet"
	"github.com/berth/berth/internal/runtime"
)

// fakeRuntime is an in-memory runtime.Runtime: containers are records
// whose processes "run" until stopped or told to exit.
type fakeRuntime struct {
	mu         sync.Mutex
	seq        int
	containers map[string]*runtime.Container
	names      map[string]string // name -> id
	// registry holds pullable images by ref; local the images present.
	registry map[string]runtime.Image
	local    map[string]runtime.Image
	// Failures to inject.
	pullErr   map[string]error // by ref
	createErr map[string]error // by ECS container name
	startErr  map[string]error // by ECS container name
	listErr   error
	// lists counts List calls.
	lists int
	// pullGate holds a pull of a ref until closed (or the pull's context
	// ends).
	pullGate map[string]chan struct{}
	// Behaviour on start by ECS container name: exit at once with a code,
	// or report a health status.
	exitOnStart   map[string]int
	healthOnStart map[string]string
	// ignoreTerm: containers (by ECS name) that die only by the kill.
	ignoreTerm map[string]bool

	// logs holds each container's output; logsErr fails Logs.
	logs    map[string]*fakeLog
	logsErr error
	logTime time.Time

	calls    []string
	subs     map[int]chan runtime.Event
	subSeq   int
	released map[string]int
	// specs are the specs containers were created with, by ECS name.
	specs map[string]runtime.ContainerSpec
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{
		containers:    map[string]*runtime.Container{},
		names:         map[string]string{},
		registry:      map[string]runtime.Image{},
		local:         map[string]runtime.Image{},
		pullErr:       map[string]error{},
		createErr:     map[string]error{},
		startErr:      map[string]error{},
		exitOnStart:   map[string]int{},
		healthOnStart: map[string]string{},
		ignoreTerm:    map[string]bool{},
		subs:          map[int]chan runtime.Event{},
		released:      map[string]int{},
		pullGate:      map[string]chan struct{}{},
		logs:          map[string]*fakeLog{},
		specs:         map[string]runtime.ContainerSpec{},
	}
}

// fakeLog is a container's output; changed is closed (and replaced) when
// a line is written or the container stops.
type fakeLog struct {
	lines   []runtime.LogLine
	changed chan struct{}
}

func (f *fakeRuntime) logOf(id string) *fakeLog {
	l := f.logs[id]
	if l == nil {
		l = &fakeLog{changed: make(chan struct{})}
		f.logs[id] = l
	}
	return l
}

func (f *fakeRuntime) logChangedLocked(id string) {
	l := f.logOf(id)
	close(l.changed)
	l.changed = make(chan struct{})
}

// writeLog writes lines to a container's output, each stamped later than
// the one before.
func (f *fakeRuntime) writeLog(id string, texts ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.logOf(id)
	for _, t := range texts {
		at := time.Now().UTC()
		if !at.After(f.logTime) {
			at = f.logTime.Add(time.Nanosecond)
		}
		f.logTime = at
		l.lines = append(l.lines, runtime.LogLine{Time: at, Text: []byte(t)})
	}
	f.logChangedLocked(id)
}

// Logs reads as Docker 23 does: from the first line stamped at or after
// Since; following ends once the container does not run.
func (f *fakeRuntime) Logs(ctx context.Context, id string, opts runtime.LogsOptions, fn func(runtime.LogLine) error) error {
	f.mu.Lock()
	if _, ok := f.containers[id]; !ok {
		f.mu.Unlock()
		return fmt.Errorf("logs %s: %w", id, runtime.ErrNotFound)
	}
	f.record("logs %s", f.containers[id].Labels[LabelECSContainer])
	if err := f.logsErr; err != nil {
		f.mu.Unlock()
		return err
	}
	lines := f.logOf(id).lines
	i := 0
	for i < len(lines) && !opts.Since.IsZero() && lines[i].Time.Before(opts.Since) {
		i++
	}
	f.mu.Unlock()
	for {
		f.mu.Lock()
		c, ok := f.containers[id]
		l := f.logOf(id)
		batch, changed := l.lines[i:], l.changed
		i = len(l.lines)
		running := ok && c.Running
		f.mu.Unlock()
		for _, line := range batch {
			if err := fn(runtime.LogLine{Time: line.Time, Text: slices.Clone(line.Text)}); err != nil {
				return err
			}
		}
		if len(batch) > 0 {
			continue
		}
		if !opts.Follow || !running {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// addImage makes ref pullable.
func (f *fakeRuntime) addImage(ref string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registry[ref] = runtime.Image{ID: "sha256:img-" + ref, RepoDigest: "sha256:digest-" + ref}
}

func (f *fakeRuntime) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// callCount counts calls whose record starts with prefix.
func (f *fakeRuntime) callCount(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func (f *fakeRuntime) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// emit sends an event to every subscriber; a full subscriber misses it
// (as a slow Docker client would).
func (f *fakeRuntime) emit(c *runtime.Container, action string) {
	ev := runtime.Event{ContainerID: c.ID, Action: action, Labels: maps.Clone(c.Labels), Time: time.Now()}
	for _, ch := range f.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

func (f *fakeRuntime) Ping(ctx context.Context) error { return nil }

func (f *fakeRuntime) PullImage(ctx context.Context, ref string, auth *runtime.Auth, onlyIfMissing bool) (runtime.Image, error) {
	f.mu.Lock()
	f.record("pull %s onlyIfMissing=%t", ref, onlyIfMissing)
	gate := f.pullGate[ref]
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return runtime.Image{}, fmt.Errorf("pull %s: %w", ref, ctx.Err())
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if img, ok := f.local[ref]; ok && onlyIfMissing {
		return img, nil
	}
	if err := f.pullErr[ref]; err != nil {
		return runtime.Image{}, err
	}
	img, ok := f.registry[ref]
	if !ok {
		return runtime.Image{}, fmt.Errorf("pull access denied for %s, repository does not exist", ref)
	}
	f.local[ref] = img
	return img, nil
}

func (f *fakeRuntime) CreateNetworkHolder(ctx context.Context, spec runtime.HolderSpec) (runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("createHolder %s", spec.Name)
	if _, ok := f.names[spec.Name]; ok {
		return runtime.Container{}, fmt.Errorf("conflict: name %s in use", spec.Name)
	}
	c := f.newContainer(spec.Name, "pause", spec.Labels)
	c.Running, c.StartedAt, c.Pid = true, time.Now(), 1000+f.seq
	f.emit(c, "start")
	return *c, nil
}

func (f *fakeRuntime) newContainer(name, image string, labels map[string]string) *runtime.Container {
	f.seq++
	id := fmt.Sprintf("c%04d", f.seq)
	c := &runtime.Container{ID: id, Name: name, Image: image, ImageID: "sha256:img-" + image,
		Labels: maps.Clone(labels), Created: time.Now()}
	f.containers[id] = c
	f.names[name] = id
	return c
}

func (f *fakeRuntime) Create(ctx context.Context, spec runtime.ContainerSpec) (runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ecsName := spec.Labels[LabelECSContainer]
	f.record("create %s", ecsName)
	if err := f.createErr[ecsName]; err != nil {
		return runtime.Container{}, err
	}
	if _, ok := f.names[spec.Name]; ok {
		return runtime.Container{}, fmt.Errorf("Conflict. The container name %q is already in use", spec.Name)
	}
	if _, ok := f.local[spec.Image]; !ok {
		return runtime.Container{}, fmt.Errorf("No such image: %s", spec.Image)
	}
	c := f.newContainer(spec.Name, spec.Image, spec.Labels)
	f.specs[ecsName] = spec
	for _, b := range spec.PortBindings {
		hp := b.HostPort
		if hp == 0 {
			hp = 32768 + f.seq
		}
		c.Ports = append(c.Ports, runtime.PortBinding{ContainerPort: b.ContainerPort, HostPort: hp, Protocol: b.Protocol, HostIP: "0.0.0.0"})
	}
	f.emit(c, "create")
	return *c, nil
}

func (f *fakeRuntime) Start(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return runtime.ErrNotFound
	}
	ecsName := c.Labels[LabelECSContainer]
	f.record("start %s", ecsName)
	if err := f.startErr[ecsName]; err != nil {
		c.Error = err.Error()
		c.ExitCode = 128
		return err
	}
	c.Running, c.StartedAt = true, time.Now()
	if h, ok := f.healthOnStart[ecsName]; ok {
		c.Health = h
	}
	f.emit(c, "start")
	if code, ok := f.exitOnStart[ecsName]; ok {
		f.exitLocked(c, code, false)
	}
	return nil
}

func (f *fakeRuntime) exitLocked(c *runtime.Container, code int, oom bool) {
	c.Running, c.Exited, c.ExitCode, c.OOMKilled = false, true, code, oom
	c.FinishedAt = time.Now()
	f.logChangedLocked(c.ID)
	if oom {
		f.emit(c, "oom")
	}
	f.emit(c, "die")
}

// exit makes a container's process end.
func (f *fakeRuntime) exit(id string, code int, oom bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.containers[id]; ok && c.Running {
		f.exitLocked(c, code, oom)
	}
}

// setHealth changes a container's health, as its check would.
func (f *fakeRuntime) setHealth(id, health string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.containers[id]; ok {
		c.Health = health
		f.emit(c, "health_status: "+health)
	}
}

func (f *fakeRuntime) Stop(ctx context.Context, id string, timeout time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return fmt.Errorf("stop %s: %w", id, runtime.ErrNotFound)
	}
	ecsName := c.Labels[LabelECSContainer]
	f.record("stop %s %s", ecsName, timeout)
	if c.Running {
		code := 143
		if f.ignoreTerm[ecsName] {
			code = 137
		}
		f.exitLocked(c, code, false)
	}
	return nil
}

func (f *fakeRuntime) Remove(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return fmt.Errorf("remove %s: %w", id, runtime.ErrNotFound)
	}
	f.record("remove %s", c.Labels[LabelECSContainer])
	delete(f.containers, id)
	f.logChangedLocked(id)
	delete(f.logs, id)
	delete(f.names, c.Name)
	f.emit(c, "destroy")
	return nil
}

func (f *fakeRuntime) Inspect(ctx context.Context, id string) (runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[id]
	if !ok {
		return runtime.Container{}, runtime.ErrNotFound
	}
	return copyContainer(c), nil
}

func copyContainer(c *runtime.Container) runtime.Container {
	out := *c
	out.Labels = maps.Clone(c.Labels)
	out.Ports = slices.Clone(c.Ports)
	return out
}

func (f *fakeRuntime) List(ctx context.Context, labels map[string]string) ([]runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []runtime.Container
	for _, id := range slices.Sorted(maps.Keys(f.containers)) {
		c := f.containers[id]
		match := true
		for k, v := range labels {
			match = match && c.Labels[k] == v
		}
		if match {
			out = append(out, copyContainer(c))
		}
	}
	return out, nil
}

func (f *fakeRuntime) Stats(ctx context.Context, id string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.containers[id]; !ok {
		return nil, runtime.ErrNotFound
	}
	return []byte(`{"read":"2024-01-01T00:00:00Z","id":"` + id + `","memory_stats":{"usage":1048576}}`), nil
}

func (f *fakeRuntime) Events(ctx context.Context) (<-chan runtime.Event, <-chan error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subSeq++
	n := f.subSeq
	ch := make(chan runtime.Event, 1024)
	f.subs[n] = ch
	out := make(chan runtime.Event)
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		defer close(out)
		defer func() {
			f.mu.Lock()
			delete(f.subs, n)
			f.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-ch:
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, errc
}

func (f *fakeRuntime) SetTaskResources(ctx context.Context, taskID string, res runtime.TaskResources) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("setResources %s cpu=%d mem=%d", taskID, res.CPUUnits, res.MemoryMiB)
	return "/berth/" + taskID, nil
}

func (f *fakeRuntime) ReleaseTaskResources(ctx context.Context, taskID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("release %s", taskID)
	f.released[taskID]++
	return nil
}

// Exec is not supported by the fake.
func (f *fakeRuntime) Exec(ctx context.Context, id string, spec runtime.ExecSpec) (runtime.ExecProcess, error) {
	return nil, errors.New("fake runtime: exec not supported")
}

// byECSName returns the container of a task with an ECS container name.
func (f *fakeRuntime) byECSName(taskID, name string) (runtime.Container, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.containers {
		if c.Labels[LabelTaskID] == taskID && c.Labels[LabelECSContainer] == name {
			return copyContainer(c), true
		}
	}
	return runtime.Container{}, false
}

func (f *fakeRuntime) containerCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.containers)
}

// createdSpec is the spec the task's container name was created with.
func (f *fakeRuntime) createdSpec(name string) (runtime.ContainerSpec, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	spec, ok := f.specs[name]
	return spec, ok
}

// fakeHostNetwork records what the agent asks of the host's network.
type fakeHostNetwork struct {
	mu       sync.Mutex
	vpcs     map[string]hostnet.VPC
	attached map[int]hostnet.Interface
	rulesets []string
	// inTheWay are ranges a network of the host overlaps (EnsureVPC
	// refuses them) or contains (HoldRange refuses them too).
	inTheWay map[netip.Prefix]string
	held     map[netip.Prefix]bool
}

// listCount is how many times the runtime was listed.
func (f *fakeRuntime) listCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

func newFakeHostNetwork() *fakeHostNetwork {
	return &fakeHostNetwork{vpcs: map[string]hostnet.VPC{}, attached: map[int]hostnet.Interface{},
		inTheWay: map[netip.Prefix]string{}, held: map[netip.Prefix]bool{}}
}

func (f *fakeHostNetwork) EnsureVPC(v hostnet.VPC) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.inTheWay[v.CIDR]; ok {
		return &hostnet.OverlapError{VPC: v.ID, CIDR: v.CIDR, Other: v.CIDR, Where: "eth9"}
	}
	f.vpcs[v.ID] = v
	return nil
}

func (f *fakeHostNetwork) RemoveVPC(id string, _ netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.vpcs, id)
	return nil
}

func (f *fakeHostNetwork) Attach(pid int, i hostnet.Interface) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attached[pid] = i
	return nil
}

func (f *fakeHostNetwork) HoldRange(cidr netip.Prefix) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inTheWay[cidr] == "contains" {
		return &hostnet.OverlapError{CIDR: cidr, Other: netip.MustParsePrefix("10.0.0.0/8"), Where: "eth9"}
	}
	f.held[cidr] = true
	return nil
}

func (f *fakeHostNetwork) ReleaseBridge(id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.vpcs, id)
	return true, nil
}

func (f *fakeHostNetwork) ApplyFirewall(_ context.Context, table string, p hostnet.Policy) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rulesets = append(f.rulesets, hostnet.Render(table, p))
	return nil
}

// attachedTo returns the interfaces attached, in no order.
func (f *fakeHostNetwork) attachedTo() []hostnet.Interface {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Collect(maps.Values(f.attached))
}

func (f *fakeHostNetwork) EnsureLocalAddress(netip.Prefix) error { return nil }
