package contentsync

import (
	"context"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/testutil"
)

// freeSlots reports how many of the site's lease slots can be taken now
// (and gives back the ones it took).
func freeSlots(t *testing.T, st *store.Store, slots int) int {
	t.Helper()
	ctx := context.Background()
	var taken []store.Lease
	for range slots {
		l, ok, err := st.AcquireSiteLease(ctx, "acct", "int", slots, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			taken = append(taken, l)
		}
	}
	for _, l := range taken {
		if err := st.ReleaseSiteLease(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	return len(taken)
}

func TestSiteGate(t *testing.T) {
	clients := testutil.MustClients(t)
	st := store.New(clients.DynamoDB, testutil.MustCreateTable(t, clients.DynamoDB))
	e := New(Deps{Store: st, SiteConcurrency: 1})
	gate := siteGate{e: e, accountID: "acct", integrationID: "int"}
	ctx := context.Background()

	t.Run("a lease ending while a job waits is handed to it", func(t *testing.T) {
		leave, err := gate.Enter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		entered := make(chan func())
		go func() {
			next, err := gate.Enter(ctx)
			if err != nil {
				t.Error(err)
			}
			entered <- next
		}()
		site := e.local("acct", "int")
		for site.waiting.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		leave()
		next := <-entered
		if n := freeSlots(t, st, 1); n != 0 {
			t.Fatal("the slot was free between the two requests: the lease went back to DynamoDB")
		}
		next()
		if n := freeSlots(t, st, 1); n != 1 {
			t.Fatal("the slot is still held after the last request")
		}
	})

	t.Run("a lease parked for a waiter that gave up is released", func(t *testing.T) {
		leave, err := gate.Enter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		site := e.local("acct", "int")
		site.waiting.Add(1) // a job that waits now and gives up below
		leave()
		site.waiting.Add(-1)
		if n := freeSlots(t, st, 1); n != 0 {
			t.Fatal("the lease was released although a job waited")
		}
		deadline := time.Now().Add(5 * time.Second)
		for freeSlots(t, st, 1) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the parked lease is still held 5 s later (idle hold %s)", gateIdleHold)
			}
			time.Sleep(gateIdleHold)
		}
	})

	t.Run("the end of a batch releases parked leases at once", func(t *testing.T) {
		leave, err := gate.Enter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		site := e.local("acct", "int")
		site.waiting.Add(1)
		leave()
		site.waiting.Add(-1)
		e.ReleaseParkedLeases(ctx)
		if n := freeSlots(t, st, 1); n != 1 {
			t.Fatal("a parked lease outlived the batch")
		}
	})

	t.Run("one parked lease per waiting job, no more", func(t *testing.T) {
		two := New(Deps{Store: st, SiteConcurrency: 2})
		g := siteGate{e: two, accountID: "acct", integrationID: "int2"}
		a, err := g.Enter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := g.Enter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		site := two.local("acct", "int2")
		site.waiting.Add(1) // one job waits; both requests end
		a()
		b()
		site.waiting.Add(-1)
		if n := len(site.takeAllIdle()); n != 1 {
			t.Fatalf("%d leases parked for one waiting job", n)
		}
	})

	t.Run("a lease older than the hand-on window goes back to DynamoDB", func(t *testing.T) {
		now := time.Now()
		e.deps.Now = func() time.Time { return now }
		defer func() { e.deps.Now = time.Now }()
		leave, err := gate.Enter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		site := e.local("acct", "int")
		site.waiting.Add(1)
		now = now.Add(gateHandoffFor)
		leave()
		site.waiting.Add(-1)
		if n := freeSlots(t, st, 1); n != 1 {
			t.Fatal("a lease held past the hand-on window was parked instead of released")
		}
	})
}
