package store

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestSiteLeasesBoundConcurrencyAndExpire(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var held []Lease
	for i := range 4 {
		l, ok, err := e.s.AcquireSiteLease(ctx, "acct", "int-1", 4, time.Minute)
		if err != nil || !ok {
			t.Fatalf("lease %d: ok=%v err=%v", i, ok, err)
		}
		held = append(held, l)
	}
	e.calls.Reset()
	if _, ok, err := e.s.AcquireSiteLease(ctx, "acct", "int-1", 4, time.Minute); err != nil || ok {
		t.Fatalf("fifth lease: ok=%v err=%v, want refused", ok, err)
	}
	// A busy site costs a waiter one read, not a failed write per slot.
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"BatchGetItem": 1}) {
		t.Fatalf("refused lease made calls %v, want one BatchGetItem", got)
	}
	// Another integration has its own slots.
	if _, ok, _ := e.s.AcquireSiteLease(ctx, "acct", "int-2", 4, time.Minute); !ok {
		t.Fatal("another integration's slot was refused")
	}
	if err := e.s.ReleaseSiteLease(ctx, held[2]); err != nil {
		t.Fatal(err)
	}
	e.calls.Reset()
	l, ok, _ := e.s.AcquireSiteLease(ctx, "acct", "int-1", 4, time.Minute)
	if !ok || l.Slot != held[2].Slot {
		t.Fatalf("after a release: ok=%v slot %d, want slot %d", ok, l.Slot, held[2].Slot)
	}
	if got := e.calls.Snapshot(); !reflect.DeepEqual(got, map[string]int{"BatchGetItem": 1, "PutItem": 1}) {
		t.Fatalf("lease on the one free slot made calls %v, want a BatchGetItem and one PutItem", got)
	}
	// A dead worker's lease runs out.
	e.clock.mu.Lock()
	e.clock.t = e.clock.t.Add(2 * time.Minute)
	e.clock.mu.Unlock()
	stolen, ok, _ := e.s.AcquireSiteLease(ctx, "acct", "int-1", 4, time.Minute)
	if !ok {
		t.Fatal("expired leases were not taken over")
	}
	// The old holder's release does not free the new holder's slot.
	for _, old := range held {
		if old.Slot == stolen.Slot {
			if err := e.s.ReleaseSiteLease(ctx, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	taken := 0
	for range 4 {
		if _, ok, _ := e.s.AcquireSiteLease(ctx, "acct", "int-1", 4, time.Minute); ok {
			taken++
		}
	}
	if taken != 3 {
		t.Fatalf("took %d more slots, want 3 (the stolen one stays held)", taken)
	}
}
