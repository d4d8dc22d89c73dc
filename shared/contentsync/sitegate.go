package contentsync

import (
	"context"
	"math/rand/v2"
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
type siteGate struct {
	e                        *Engine
	accountID, integrationID string
}

// localSlots is the in-process semaphore of one site.
func (e *Engine) localSlots(accountID, integrationID string) chan struct{} {
	key := accountID + "\x00" + integrationID
	e.gateMu.Lock()
	defer e.gateMu.Unlock()
	if e.gates == nil {
		e.gates = map[string]chan struct{}{}
	}
	sem, ok := e.gates[key]
	if !ok {
		sem = make(chan struct{}, e.deps.SiteConcurrency)
		e.gates[key] = sem
	}
	return sem
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
	sem := g.e.localSlots(g.accountID, g.integrationID)
	wait := time.NewTimer(gateWait)
	defer wait.Stop()
	select {
	case sem <- struct{}{}:
	case <-wait.C:
		return nil, busy()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	deadline := g.e.deps.Now().Add(gateWait)
	delay := gatePollMin
	for {
		lease, ok, err := g.e.deps.Store.AcquireSiteLease(ctx, g.accountID, g.integrationID, g.e.deps.SiteConcurrency, gateLeaseTTL)
		if err != nil {
			<-sem
			return nil, err
		}
		if ok {
			return func() {
				g.release(ctx, lease)
				<-sem
			}, nil
		}
		if g.e.deps.Now().After(deadline) {
			<-sem
			return nil, busy()
		}
		// Full jitter keeps waiters from retrying in lockstep.
		pause := delay/2 + time.Duration(rand.Int64N(int64(delay)))
		select {
		case <-ctx.Done():
			<-sem
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		delay = min(delay*3/2, gatePollMax)
	}
}

func (g siteGate) release(ctx context.Context, lease store.Lease) {
	if err := g.e.deps.Store.ReleaseSiteLease(context.WithoutCancel(ctx), lease); err != nil {
		g.e.deps.Logger.WarnContext(ctx, "could not release a site lease; it expires on its own", logging.Err(err))
	}
}
