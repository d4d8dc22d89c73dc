package contentsync

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/wordpress"
)

// siteGate keeps at most SITE_CONCURRENCY requests in flight to one site
// across every worker: each WordPress attempt holds one of the site's
// lease slots (a conditional DynamoDB put) only while the site works on it.
// Holding a slot for a whole job would leave the site idle while the job
// writes to DynamoDB, and the sync would run at the speed of our writes
// instead of the site's.
//
// In front of the lease sits an in-process semaphore of the same size: the
// jobs of one invocation (a batch runs concurrently) queue on it and are
// handed a turn the moment one ends, and only its holders poll DynamoDB,
// so a busy site costs at most SITE_CONCURRENCY pollers per execution
// environment instead of one per waiting job.
//
// A lease whose request ended while another job here waits is handed to
// that job as it is, without a release and a new acquire: a busy site's
// requests then follow each other without two DynamoDB writes in between.
// A lease is handed on only within gateHandoffFor of its acquisition, so
// slots go back through DynamoDB regularly and other execution
// environments get their turn; one nobody picks up within gateIdleHold is
// released.
type siteGate struct {
	e                        *Engine
	accountID, integrationID string
}

// localSite is one site's in-process state: the turns and the leases held
// between requests.
type localSite struct {
	sem     chan struct{}
	waiting atomic.Int32

	mu   sync.Mutex
	idle []heldLease
}

// heldLease is a lease this process holds, and since when.
type heldLease struct {
	lease    store.Lease
	acquired time.Time
}

// local is the in-process state of one site.
func (e *Engine) local(accountID, integrationID string) *localSite {
	key := accountID + "\x00" + integrationID
	e.gateMu.Lock()
	defer e.gateMu.Unlock()
	if e.gates == nil {
		e.gates = map[string]*localSite{}
	}
	site, ok := e.gates[key]
	if !ok {
		site = &localSite{sem: make(chan struct{}, e.deps.SiteConcurrency)}
		e.gates[key] = site
	}
	return site
}

// takeIdle takes a parked lease still young enough to hand on; older ones
// stay parked until their release timer frees them.
func (l *localSite) takeIdle(now time.Time) (heldLease, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, h := range l.idle {
		if now.Sub(h.acquired) < gateHandoffFor {
			l.idle = append(l.idle[:i], l.idle[i+1:]...)
			return h, true
		}
	}
	return heldLease{}, false
}

// park keeps h for a waiting job, unless every waiter already has a
// parked lease to take; false means the lease should be released.
func (l *localSite) park(h heldLease) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.idle) >= int(l.waiting.Load()) {
		return false
	}
	l.idle = append(l.idle, h)
	return true
}

// takeAllIdle empties the parked leases.
func (l *localSite) takeAllIdle() []heldLease {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.idle
	l.idle = nil
	return out
}

// ReleaseParkedLeases releases every lease parked for a waiting job. The
// sync worker calls it when a batch ends: a waiter that gave up leaves its
// lease parked, and once Lambda freezes the environment the release timer
// would not fire until the next invocation, holding a slot of the site
// from every other worker meanwhile.
func (e *Engine) ReleaseParkedLeases(ctx context.Context) {
	e.gateMu.Lock()
	sites := make([]*localSite, 0, len(e.gates))
	for _, site := range e.gates {
		sites = append(sites, site)
	}
	e.gateMu.Unlock()
	for _, site := range sites {
		for _, h := range site.takeAllIdle() {
			siteGate{e: e, accountID: h.lease.AccountID, integrationID: h.lease.IntegrationID}.release(ctx, h.lease)
		}
	}
}

// removeIdle takes h out of the parked leases; false if a waiter took it.
func (l *localSite) removeIdle(h heldLease) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.idle {
		if x == h {
			l.idle = append(l.idle[:i], l.idle[i+1:]...)
			return true
		}
	}
	return false
}

// Compile-time check that siteGate is a wordpress.Gate.
var _ wordpress.Gate = siteGate{}

// gateLeaseTTL outlasts any one attempt (WORDPRESS_TIMEOUT is at most 5
// minutes), so a slot is freed early only by its holder, and a worker that
// died holding one blocks it for a bounded time.
const gateLeaseTTL = 6 * time.Minute

// gateWait is how long an attempt waits in process for a slot before its
// job goes back to the queue: a slot frees up within a request or two, and
// a redelivery costs far more than a short wait.
const gateWait = 10 * time.Second

// gateHandoffFor bounds how long a lease is handed from request to request
// in one process before it goes back through DynamoDB; gateIdleHold is how
// long a parked lease waits for a taker before it is released.
const (
	gateHandoffFor = time.Second
	gateIdleHold   = 20 * time.Millisecond
)

// Polling starts short because slots turn over every request; it backs off
// so many waiters don't turn into a stream of failed conditional writes.
const (
	gatePollMin = 5 * time.Millisecond
	gatePollMax = 50 * time.Millisecond
)

// Enter takes a local turn, then a lease slot, polling while the site is
// busy elsewhere.
func (g siteGate) Enter(ctx context.Context) (func(), error) {
	busy := func() error {
		return &wordpress.GateBusyError{RetryAfter: time.Second + time.Duration(rand.IntN(1000))*time.Millisecond}
	}
	site := g.e.local(g.accountID, g.integrationID)
	wait := time.NewTimer(gateWait)
	defer wait.Stop()
	site.waiting.Add(1)
	select {
	case site.sem <- struct{}{}:
		site.waiting.Add(-1)
	case <-wait.C:
		site.waiting.Add(-1)
		return nil, busy()
	case <-ctx.Done():
		site.waiting.Add(-1)
		return nil, ctx.Err()
	}
	if h, ok := site.takeIdle(g.e.deps.Now()); ok {
		return g.exit(ctx, site, h), nil
	}
	deadline := g.e.deps.Now().Add(gateWait)
	delay := gatePollMin
	for {
		acquired := g.e.deps.Now()
		lease, ok, err := g.e.deps.Store.AcquireSiteLease(ctx, g.accountID, g.integrationID, g.e.deps.SiteConcurrency, gateLeaseTTL)
		if err != nil {
			<-site.sem
			return nil, err
		}
		if ok {
			return g.exit(ctx, site, heldLease{lease: lease, acquired: acquired}), nil
		}
		if g.e.deps.Now().After(deadline) {
			<-site.sem
			return nil, busy()
		}
		// Full jitter keeps waiters from retrying in lockstep.
		pause := delay/2 + time.Duration(rand.Int64N(int64(delay)))
		select {
		case <-ctx.Done():
			<-site.sem
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		delay = min(delay*3/2, gatePollMax)
	}
}

// exit is the function that ends a request holding h: it parks the lease
// for a waiting job, or releases it.
func (g siteGate) exit(ctx context.Context, site *localSite, h heldLease) func() {
	return func() {
		if g.e.deps.Now().Sub(h.acquired) >= gateHandoffFor || !site.park(h) {
			g.release(ctx, h.lease)
			<-site.sem
			return
		}
		<-site.sem
		// A waiter that gave up leaves the lease parked: free it soon.
		time.AfterFunc(gateIdleHold, func() {
			if site.removeIdle(h) {
				g.release(ctx, h.lease)
			}
		})
	}
}

func (g siteGate) release(ctx context.Context, lease store.Lease) {
	if err := g.e.deps.Store.ReleaseSiteLease(context.WithoutCancel(ctx), lease); err != nil {
		g.e.deps.Logger.WarnContext(ctx, "could not release a site lease; it expires on its own", logging.Err(err))
	}
}
