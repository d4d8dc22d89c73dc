package webhook

import (
	"sync"
	"time"

	"github.com/igny8/integrations/shared/store"
)

// DefaultIntegrationCacheTTL is how long a warm receiver trusts the
// integration it read for earlier deliveries. Deliveries come in bursts per
// site, so most need no read at all. A change to the integration (made
// inactive, URL changed) takes effect within this time; a rotated secret
// does at once, because a signature that fails against a cached
// integration is checked again against a fresh read.
const DefaultIntegrationCacheTTL = 5 * time.Second

// maxCachedIntegrations bounds the cache (one instance rarely sees more).
const maxCachedIntegrations = 4096

type cachedIntegration struct {
	in      store.Integration
	expires time.Time
}

// integrationCache holds integrations found by ID, for a short TTL.
type integrationCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedIntegration
	// inflight holds the lookups under way, so a burst of deliveries for
	// one integration on a cold instance makes one read, not one each.
	inflight map[string]*lookup
}

type lookup struct {
	done chan struct{}
	in   store.Integration
	err  error
}

func newIntegrationCache(ttl time.Duration) *integrationCache {
	return &integrationCache{ttl: ttl, m: map[string]cachedIntegration{}, inflight: map[string]*lookup{}}
}

// load runs read for id, or waits for the same read already under way.
func (c *integrationCache) load(id string, read func() (store.Integration, error)) (store.Integration, error) {
	c.mu.Lock()
	if l, ok := c.inflight[id]; ok {
		c.mu.Unlock()
		<-l.done
		return l.in, l.err
	}
	l := &lookup{done: make(chan struct{})}
	c.inflight[id] = l
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.inflight, id)
		c.mu.Unlock()
		close(l.done)
	}()
	l.in, l.err = read()
	return l.in, l.err
}

func (c *integrationCache) get(id string, now time.Time) (store.Integration, bool) {
	if c.ttl <= 0 {
		return store.Integration{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || !now.Before(e.expires) {
		return store.Integration{}, false
	}
	return e.in, true
}

func (c *integrationCache) put(in store.Integration, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedIntegrations {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxCachedIntegrations {
			c.m = map[string]cachedIntegration{}
		}
	}
	c.m[in.ID] = cachedIntegration{in: in, expires: now.Add(c.ttl)}
}
