package iam

import (
	"testing"
	"time"

	"github.com/berth/berth/internal/iam/iamstate"
	"github.com/berth/berth/internal/store"
)

func TestLastUse(t *testing.T) {
	f := newDirFixture(t)
	f.user("alice", iamstate.Policies{})
	f.accessKey("AKIAALICE", "alice", "secret", "Active")
	f.role("task", dirTrust(`{"Service":"ecs-tasks.amazonaws.com"}`), iamstate.Policies{})
	creds, _, err := f.dir.IssueServiceSession(f.ctx, ServiceSessionRequest{RoleARN: dirRoleARN("task"), Service: "ecs-tasks.amazonaws.com", SessionName: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	// Each use is written as the writer takes it from the queue.
	drain := func() {
		t.Helper()
		for {
			select {
			case u := <-f.dir.uses.queue:
				if err := f.dir.writeLastUse(f.ctx, u); err != nil {
					t.Fatal(err)
				}
			default:
				return
			}
		}
	}
	key := func() iamstate.AccessKey {
		t.Helper()
		k, err := store.Get[iamstate.AccessKey](f.ctx, f.store, iamstate.AccessKeyKey("AKIAALICE"))
		if err != nil {
			t.Fatal(err)
		}
		return k.Value
	}
	role := func() iamstate.Role {
		t.Helper()
		r, err := store.Get[iamstate.Role](f.ctx, f.store, iamstate.RoleKey("task"))
		if err != nil {
			t.Fatal(err)
		}
		return r.Value
	}

	f.dir.RecordUse("AKIAALICE", "ecs", "eu-west-1")
	f.dir.RecordUse(creds.AccessKeyID, "ecr", "us-east-1")
	f.dir.RecordUse(dirTestAdminKey, "ecs", "us-east-1") // the root: nothing to record
	drain()
	first := f.now()
	if k := key(); k.LastUsed == nil || !k.LastUsed.Equal(first) || k.LastUsedService != "ecs" || k.LastUsedRegion != "eu-west-1" {
		t.Fatalf("key %+v", k)
	}
	if r := role(); r.LastUsed == nil || !r.LastUsed.Equal(first) || r.LastUsedRegion != "us-east-1" {
		t.Fatalf("role %+v", r)
	}

	// Within the hour nothing is written again; after it, the newer use is.
	f.advance(30 * time.Minute)
	f.dir.RecordUse("AKIAALICE", "sts", "us-west-2")
	drain()
	if k := key(); !k.LastUsed.Equal(first) || k.LastUsedService != "ecs" {
		t.Fatalf("written again within the hour: %+v", k)
	}
	f.advance(31 * time.Minute)
	f.dir.RecordUse("AKIAALICE", "sts", "us-west-2")
	drain()
	if k := key(); !k.LastUsed.Equal(f.now()) || k.LastUsedService != "sts" || k.LastUsedRegion != "us-west-2" {
		t.Fatalf("not written after the hour: %+v", k)
	}
}
