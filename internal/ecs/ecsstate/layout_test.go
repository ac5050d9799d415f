package ecsstate

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/berth/berth/internal/store"
	"github.com/berth/berth/internal/store/bolt"
)

func TestRelayoutPutsRecordsInTheDefaultRegion(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	old := map[string]string{
		"ecs/cluster/prod":                               `{"name":"prod","status":"ACTIVE","createdAt":"2026-03-01T10:00:00Z"}`,
		"ecs/taskdef/web|0000000003":                     `{"definition":{"family":"web","revision":3}}`,
		"ecs/family/web":                                 `{"name":"web","lastRevision":3}`,
		"ecs/task/prod|0123456789abcdef0123456789abcdef": `{"id":"0123456789abcdef0123456789abcdef","cluster":"prod","nodeId":"n1","generation":2}`,
		"ecs/service/prod|api":                           `{"name":"api","cluster":"prod","desiredCount":2}`,
		"ecs/capacityprovider/asg":                       `{"name":"asg","status":"ACTIVE"}`,
		"ecs/node/n1":                                    `{"id":"n1","clusters":["*"]}`,
		"ecr/repo/app":                                   `{"name":"app"}`,
	}
	var txn store.Txn
	for k, v := range old {
		txn.Then = append(txn.Then, store.Put(k, []byte(v)))
	}
	if _, err := st.Txn(ctx, txn); err != nil {
		t.Fatal(err)
	}

	moved, err := Relayout(ctx, st, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if moved != 6 {
		t.Errorf("moved %d keys, want 6", moved)
	}
	want := map[string]string{
		"ecs/cluster/eu-west-1|prod":                               `{"createdAt":"2026-03-01T10:00:00Z","name":"prod","region":"eu-west-1","status":"ACTIVE"}`,
		"ecs/taskdef/eu-west-1|web|0000000003":                     old["ecs/taskdef/web|0000000003"],
		"ecs/family/eu-west-1|web":                                 old["ecs/family/web"],
		"ecs/task/eu-west-1|prod|0123456789abcdef0123456789abcdef": `{"cluster":"prod","generation":2,"id":"0123456789abcdef0123456789abcdef","nodeId":"n1","region":"eu-west-1"}`,
		"ecs/service/eu-west-1|prod|api":                           `{"cluster":"prod","desiredCount":2,"name":"api","region":"eu-west-1"}`,
		"ecs/capacityprovider/eu-west-1|asg":                       old["ecs/capacityprovider/asg"],
		"ecs/node/n1":                                              old["ecs/node/n1"],
		"ecr/repo/app":                                             old["ecr/repo/app"],
		"layout/ecs":                                               "2",
	}
	kvs, _, err := st.List(ctx, "", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range kvs {
		got[kv.Key] = string(kv.Value)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %s after relayout", k)
		}
	}

	// The typed records read back with their region.
	task, err := store.Get[Task](ctx, st, TaskKey("eu-west-1", "prod", "0123456789abcdef0123456789abcdef"))
	if err != nil || task.Value.Region != "eu-west-1" || task.Value.Key() != TaskKey("eu-west-1", "prod", task.Value.ID) {
		t.Errorf("task after relayout: %+v, %v", task.Value, err)
	}

	// A second run (the next start) changes nothing.
	_, rev, err := st.List(ctx, "", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if moved, err := Relayout(ctx, st, "us-east-1"); err != nil || moved != 0 {
		t.Fatalf("second relayout moved %d, %v", moved, err)
	}
	if _, after, err := st.List(ctx, "", store.ListOptions{}); err != nil || after != rev {
		t.Errorf("second relayout wrote to the store (revision %d -> %d, %v)", rev, after, err)
	}
}
