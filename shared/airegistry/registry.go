package airegistry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/store"
)

// Store is what the registry needs from the table.
type Store interface {
	LoadModels(ctx context.Context) (store.ModelSet, error)
	SeedModels(ctx context.Context, models []store.Model, version int) (int, error)
	PutModel(ctx context.Context, m store.Model) (store.Model, error)
}

var _ Store = (*store.Store)(nil)

// Registry serves the model registry from an in-memory snapshot of its
// DynamoDB partition, refreshed at most once per TTL: a read in the common
// case costs no DynamoDB call. The first load after a deploy finds the seed
// marker older than the embedded data file (it arrives with the same
// Query) and loads the file idempotently, so deploys need no custom
// resource and the local stack seeds itself the same way. An admin change
// made through this instance is visible to it at once; other warm
// instances see it within the TTL.
type Registry struct {
	store Store
	// file is the data file, parsed on first use: a function that never
	// reads the registry does not pay for parsing it at cold start.
	file   func() File
	ttl    time.Duration
	now    func() time.Time
	logger *slog.Logger

	mu      sync.Mutex
	models  map[string]store.Model
	expires time.Time
}

// New returns a registry over st seeded from file, caching for ttl (0: every
// read queries the table).
func New(st Store, file File, ttl time.Duration, logger *slog.Logger) *Registry {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Registry{store: st, file: func() File { return file }, ttl: ttl, now: time.Now, logger: logger}
}

// NewEmbedded is New over the embedded data file, parsed on first use. The
// file is checked by this package's tests, so a parse failure is a build
// defect and panics.
func NewEmbedded(st Store, ttl time.Duration, logger *slog.Logger) *Registry {
	r := New(st, File{}, ttl, logger)
	r.file = sync.OnceValue(func() File {
		f, err := Embedded()
		if err != nil {
			panic(err)
		}
		return f
	})
	return r
}

// SetClock replaces the clock (tests).
func (r *Registry) SetClock(now func() time.Time) { r.now = now }

// Defaults are the data file's default models.
func (r *Registry) Defaults() Defaults { return r.file().Defaults }

// staleRetry is how long a cached registry is served after a failed
// refresh before the next attempt.
const staleRetry = 30 * time.Second

// ErrNotFound: no model with this ID.
var ErrNotFound = errors.New("model not found")

// snapshot returns the cached models, loading (and seeding) them when the
// cache is cold or stale. Holding the lock while loading makes concurrent
// cold readers of one instance share a single Query.
func (r *Registry) snapshot(ctx context.Context) (map[string]store.Model, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.models != nil && r.now().Before(r.expires) {
		return r.models, nil
	}
	set, err := r.store.LoadModels(ctx)
	if err != nil {
		if r.models != nil {
			// Stale beats down: prices change rarely, and a DynamoDB hiccup
			// should not fail every cost lookup. Retry after a short pause.
			r.logger.WarnContext(ctx, "model registry refresh failed; serving the cached registry", slog.String("error", err.Error()))
			r.expires = r.now().Add(min(r.ttl, staleRetry))
			return r.models, nil
		}
		return nil, err
	}
	if file := r.file(); set.SeedVersion < file.Version {
		n, err := r.store.SeedModels(ctx, file.Models, file.Version)
		if err != nil {
			return nil, fmt.Errorf("seed model registry: %w", err)
		}
		r.logger.InfoContext(ctx, "model registry seeded", slog.Int("data_version", file.Version),
			slog.Int("previous_version", set.SeedVersion), slog.Int("written", n))
		if set, err = r.store.LoadModels(ctx); err != nil {
			return nil, err
		}
	}
	models := make(map[string]store.Model, len(set.Models))
	for _, m := range set.Models {
		models[m.ID] = m
	}
	r.models, r.expires = models, r.now().Add(r.ttl)
	return models, nil
}

// remember puts an entry this instance just wrote into the snapshot.
func (r *Registry) remember(m store.Model) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.models == nil {
		return
	}
	next := make(map[string]store.Model, len(r.models)+1)
	for k, v := range r.models {
		next[k] = v
	}
	next[m.ID] = m
	r.models = next
}

// Filter narrows List (the seed's list_models).
type Filter struct {
	Type            string
	Provider        string
	IncludeInactive bool
}

// List returns the models matching f, ordered by provider then ID.
func (r *Registry) List(ctx context.Context, f Filter) ([]store.Model, error) {
	models, err := r.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := []store.Model{}
	for _, m := range models {
		if (f.Type == "" || m.Type == f.Type) && (f.Provider == "" || m.Provider == f.Provider) && (m.Active || f.IncludeInactive) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b store.Model) int {
		if c := strings.Compare(providerRank(a.Provider), providerRank(b.Provider)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func providerRank(p string) string { return fmt.Sprintf("%02d", slices.Index(Providers, p)) }

// Get returns one model, active or not (the seed's get_model).
func (r *Registry) Get(ctx context.Context, id string) (store.Model, error) {
	models, err := r.snapshot(ctx)
	if err != nil {
		return store.Model{}, err
	}
	m, ok := models[id]
	if !ok {
		return store.Model{}, apperr.Wrap(ErrNotFound, apperr.NotFound, "No model %q in the registry", id)
	}
	return m, nil
}

// Cost computes the cost of one call (the seed's calculate_cost).
func (r *Registry) Cost(ctx context.Context, id string, req CostRequest) (Cost, error) {
	m, err := r.Get(ctx, id)
	if err != nil {
		return Cost{}, err
	}
	return Calculate(m, req)
}

// Put creates or replaces an entry (admin). created reports a new ID.
func (r *Registry) Put(ctx context.Context, m store.Model) (store.Model, bool, error) {
	if err := Validate(m); err != nil {
		return store.Model{}, false, err
	}
	models, err := r.snapshot(ctx)
	if err != nil {
		return store.Model{}, false, err
	}
	_, existed := models[m.ID]
	saved, err := r.store.PutModel(ctx, m)
	if err != nil {
		return store.Model{}, false, err
	}
	r.remember(saved)
	return saved, !existed, nil
}

// Deactivate marks an entry inactive (admin DELETE): it disappears from
// default listings and can no longer be a default, but stays readable, so
// the cost of past calls can still be computed. Deactivating an inactive
// entry is a no-op.
func (r *Registry) Deactivate(ctx context.Context, id string) (store.Model, error) {
	m, err := r.Get(ctx, id)
	if err != nil {
		return store.Model{}, err
	}
	if !m.Active {
		return m, nil
	}
	m.Active = false
	saved, err := r.store.PutModel(ctx, m)
	if err != nil {
		return store.Model{}, err
	}
	r.remember(saved)
	return saved, nil
}
