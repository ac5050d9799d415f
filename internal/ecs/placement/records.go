package placement

import (
	"bytes"
	"fmt"

	json "github.com/go-json-experiment/json/v1"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/ecs/ecsstate"
	"github.com/berth/berth/internal/ecs/ecstypes"
	"github.com/berth/berth/internal/scheduler"
	"github.com/berth/berth/internal/store"
)

// cachedNode is a decoded node record at its revision, with its
// attributes as placement reads them (shared by every snapshot that sees
// this revision: nothing writes to them).
type cachedNode struct {
	modRevision int64
	record      ecsstate.Node
	attributes  map[string]string
}

func decodeNode(kv store.KV) (cachedNode, error) {
	n := cachedNode{modRevision: kv.ModRevision}
	if err := json.Unmarshal(kv.Value, &n.record); err != nil {
		return cachedNode{}, fmt.Errorf("placement: decode %s: %w", kv.Key, err)
	}
	n.attributes = make(map[string]string, len(n.record.Attributes))
	for _, a := range n.record.Attributes {
		n.attributes[awsapi.Deref(a.Name)] = awsapi.Deref(a.Value)
	}
	return n, nil
}

// placedTask is what placement needs of a task record.
type placedTask struct {
	modRevision             int64
	region, cluster, nodeID string
	group                   string
	stopped                 bool
	reserves                scheduler.Resources
	// generation is that of the last snapshot that read the record.
	generation uint64
}

// current reports whether t still describes the task record kv, updating
// its revision when the record changed in a way placement ignores.
func (t *placedTask) current(kv store.KV) bool {
	if t.modRevision == kv.ModRevision {
		return true
	}
	// What a task reserves is fixed when it is created; a later change
	// (mostly its agent's reports) matters only once it has stopped. A
	// record without the word STOPPED anywhere has not, and a byte search
	// is far cheaper than decoding it again.
	if !t.stopped && !bytes.Contains(kv.Value, []byte(`"`+ecsstate.StatusStopped+`"`)) {
		t.modRevision = kv.ModRevision
		return true
	}
	return false
}

// taskRecord is the part of a task record placedTask reads: decoding only
// it skips the rest of the task definition and the agent's report, which
// a snapshot over thousands of tasks would pay for.
type taskRecord struct {
	Region  string `json:"region"`
	Cluster string `json:"cluster"`
	NodeID  string `json:"nodeId"`
	Spec    struct {
		Definition struct {
			NetworkMode          *string `json:"networkMode"`
			ContainerDefinitions []struct {
				Name              *string                `json:"name"`
				Cpu               *int32                 `json:"cpu"`
				Memory            *int32                 `json:"memory"`
				MemoryReservation *int32                 `json:"memoryReservation"`
				PortMappings      []ecstypes.PortMapping `json:"portMappings"`
			} `json:"containerDefinitions"`
		} `json:"definition"`
		Overrides *ecstypes.TaskOverride `json:"overrides"`
		Cpu       string                 `json:"cpu"`
		Memory    string                 `json:"memory"`
		Group     string                 `json:"group"`
	} `json:"spec"`
	Observed struct {
		LastStatus string `json:"lastStatus"`
	} `json:"observed"`
}

func (p *Placer) decode(kv store.KV) (placedTask, error) {
	var r taskRecord
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		return placedTask{}, fmt.Errorf("placement: decode %s: %w", kv.Key, err)
	}
	spec := ecsstate.TaskSpec{Overrides: r.Spec.Overrides, Cpu: r.Spec.Cpu, Memory: r.Spec.Memory}
	spec.Definition.NetworkMode = r.Spec.Definition.NetworkMode
	spec.Definition.ContainerDefinitions = make([]ecstypes.ContainerDefinition, len(r.Spec.Definition.ContainerDefinitions))
	for i, c := range r.Spec.Definition.ContainerDefinitions {
		spec.Definition.ContainerDefinitions[i] = ecstypes.ContainerDefinition{
			Name: c.Name, Cpu: c.Cpu, Memory: c.Memory, MemoryReservation: c.MemoryReservation, PortMappings: c.PortMappings,
		}
	}
	return placedTask{
		modRevision: kv.ModRevision,
		region:      r.Region,
		cluster:     r.Cluster,
		nodeID:      r.NodeID,
		group:       r.Spec.Group,
		stopped:     r.Observed.LastStatus == ecsstate.StatusStopped,
		reserves:    p.reserves(spec),
	}, nil
}
