package workqueue

import (
	"testing"
	"time"
)

func TestQueueDeduplicatesAndRequeuesKeysAddedWhileProcessing(t *testing.T) {
	q := New()
	q.Add("a")
	q.Add("b")
	q.Add("a")
	if k, _ := q.Get(); k != "a" {
		t.Fatalf("first key %q", k)
	}
	// "a" is being processed: adding it again must not hand it to a
	// second worker before Done.
	q.Add("a")
	if k, _ := q.Get(); k != "b" {
		t.Fatalf("second key %q, want b (a is being processed)", k)
	}
	q.Done("b")
	got := make(chan string, 1)
	go func() { k, _ := q.Get(); got <- k }()
	select {
	case k := <-got:
		t.Fatalf("got %q while a is still being processed", k)
	case <-time.After(20 * time.Millisecond):
	}
	q.Done("a")
	if k := <-got; k != "a" {
		t.Fatalf("requeued key %q", k)
	}
	q.Done("a")
}

func TestQueueAddAfterAndClose(t *testing.T) {
	q := New()
	q.AddAfter("late", time.Hour)
	q.AddAfter("late", 10*time.Millisecond) // sooner wins
	start := time.Now()
	if k, ok := q.Get(); !ok || k != "late" {
		t.Fatalf("got %q %v", k, ok)
	}
	if waited := time.Since(start); waited > 30*time.Second {
		t.Fatalf("waited %v", waited)
	}
	q.Done("late")
	done := make(chan bool)
	go func() { _, ok := q.Get(); done <- ok }()
	q.Close()
	if ok := <-done; ok {
		t.Fatal("Get after Close returned a key")
	}
	q.Add("x")
	if _, ok := q.Get(); ok {
		t.Fatal("a closed queue took a key")
	}
}
