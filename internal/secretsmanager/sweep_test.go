package secretsmanager

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/berth/berth/internal/secretsmanager/smstate"
	"github.com/berth/berth/internal/store"
)

func TestRunDeletionSweep(t *testing.T) {
	e := newTestEnv(t)
	e.create("gone", "v")
	e.create("kept", "v")
	e.create("restorable", "v")
	for name, days := range map[string]int64{"gone": 7, "restorable": 30} {
		if _, err := e.client.DeleteSecret(context.Background(), &sdk.DeleteSecretInput{SecretId: aws.String(name), RecoveryWindowInDays: aws.Int64(days)}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock = e.clock.Add(8 * 24 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.sm.RunDeletionSweep(ctx, time.Hour) }()
	keys := func() int {
		kvs, _, err := e.store.List(context.Background(), smstate.Prefix, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return len(kvs)
	}
	// Two secrets, each with one value, are left.
	deadline := time.Now().Add(5 * time.Second)
	for keys() != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d keys left", keys())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RestoreSecret(context.Background(), &sdk.RestoreSecretInput{SecretId: aws.String("restorable")}); err != nil {
		t.Fatal(err)
	}
}
