package service

import (
	"sync"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/store"
)

// cachedTask is a task record as last seen, with the revision to compare
// against when writing it.
type cachedTask struct {
	task        ecsstate.Task
	modRevision int64
}

// taskCache holds the tasks of every service, fed by one listing and the
// watch after it, so that a reconcile reads its service's tasks without a
// store scan.
type taskCache struct {
	mu        sync.RWMutex
	byService map[string]map[string]cachedTask // service key -> task key ->
	owner     map[string]string                // task key -> service key
}

func newTaskCache() *taskCache {
	return &taskCache{byService: map[string]map[string]cachedTask{}, owner: map[string]string{}}
}

// serviceKeyOf is the key of the service that owns t, "" if none does.
func serviceKeyOf(t *ecsstate.Task) string {
	if t.Spec.ServiceName == "" {
		return ""
	}
	return ecsstate.ServiceKey(t.Region, t.Cluster, t.Spec.ServiceName)
}

// put records t at modRevision unless the cache already holds a newer
// version (0: a task just written, whose revision is not known yet). It returns the owning service's key ("" for tasks of none).
func (c *taskCache) put(t ecsstate.Task, modRevision int64) string {
	svc := serviceKeyOf(&t)
	if svc == "" {
		return ""
	}
	key := t.Key()
	c.mu.Lock()
	defer c.mu.Unlock()
	tasks := c.byService[svc]
	if tasks == nil {
		tasks = map[string]cachedTask{}
		c.byService[svc] = tasks
	}
	// Revision 0 is a task this process just created, not yet seen by the
	// watch: it never replaces what the watch already delivered.
	if cur, ok := tasks[key]; ok && (modRevision == 0 || cur.modRevision > modRevision) {
		return svc
	}
	tasks[key] = cachedTask{task: t, modRevision: modRevision}
	c.owner[key] = svc
	return svc
}

// remove forgets the task at key; it returns its service's key.
func (c *taskCache) remove(key string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	svc, ok := c.owner[key]
	if !ok {
		return ""
	}
	delete(c.owner, key)
	delete(c.byService[svc], key)
	if len(c.byService[svc]) == 0 {
		delete(c.byService, svc)
	}
	return svc
}

// tasks returns a copy of the cached tasks of the service at svc.
func (c *taskCache) tasks(svc string) []cachedTask {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]cachedTask, 0, len(c.byService[svc]))
	for _, t := range c.byService[svc] {
		out = append(out, t)
	}
	return out
}

// reset replaces everything with a fresh listing.
func (c *taskCache) reset(tasks []store.Versioned[ecsstate.Task]) {
	c.mu.Lock()
	c.byService = map[string]map[string]cachedTask{}
	c.owner = map[string]string{}
	c.mu.Unlock()
	for _, t := range tasks {
		c.put(t.Value, t.ModRevision)
	}
}

// taskRecord decodes the part of a task record the controller reads: its
// spec without the task definition, of which only whether each container
// is essential and has a health check matters. Decoding no more keeps the
// watch of thousands of tasks cheap; a write re-reads the whole record.
type taskRecord struct {
	ecsstate.Task
	Spec struct {
		TaskDefinitionARN    string `json:"taskDefinitionArn"`
		CapacityProviderName string `json:"capacityProviderName"`
		StartedBy            string `json:"startedBy"`
		Group                string `json:"group"`
		ServiceName          string `json:"serviceName"`
		// LoadBalancers say whether the task counts healthy by its
		// targets' health.
		LoadBalancers []ecstypes.LoadBalancer `json:"loadBalancers"`
		Definition    struct {
			ContainerDefinitions []struct {
				Essential   *bool     `json:"essential"`
				HealthCheck *struct{} `json:"healthCheck"`
			} `json:"containerDefinitions"`
		} `json:"definition"`
	} `json:"spec"`
}

// decodeTask reads a task record for the cache.
func decodeTask(b []byte) (ecsstate.Task, error) {
	var r taskRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return ecsstate.Task{}, err
	}
	t := r.Task
	t.Spec = ecsstate.TaskSpec{
		TaskDefinitionARN:    r.Spec.TaskDefinitionARN,
		CapacityProviderName: r.Spec.CapacityProviderName,
		StartedBy:            r.Spec.StartedBy,
		Group:                r.Spec.Group,
		ServiceName:          r.Spec.ServiceName,
		LoadBalancers:        r.Spec.LoadBalancers,
	}
	for _, c := range r.Spec.Definition.ContainerDefinitions {
		def := ecstypes.ContainerDefinition{Essential: c.Essential}
		if c.HealthCheck != nil {
			def.HealthCheck = &ecstypes.HealthCheck{}
		}
		t.Spec.Definition.ContainerDefinitions = append(t.Spec.Definition.ContainerDefinitions, def)
	}
	return t, nil
}
