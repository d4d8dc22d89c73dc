package airegistry_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/airegistry"
	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/testutil"
)

// registryEnv is a registry over a fresh table on the emulator, with every
// DynamoDB call counted and a clock the test moves.
type registryEnv struct {
	st      *store.Store
	counter *testutil.RequestCounter
	file    airegistry.File
	now     time.Time
	mu      sync.Mutex
}

func newRegistryEnv(t *testing.T) *registryEnv {
	t.Helper()
	clients, counter := testutil.MustCountingClients(t)
	table := testutil.MustCreateTable(t, clients.DynamoDB)
	f, err := airegistry.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return &registryEnv{st: store.New(clients.DynamoDB, table), counter: counter, file: f, now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
}

func (e *registryEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *registryEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

func (e *registryEnv) registry(f airegistry.File) *airegistry.Registry {
	r := airegistry.New(e.st, f, 5*time.Minute, nil)
	r.SetClock(e.clock)
	return r
}

func ids(models []store.Model) []string {
	var out []string
	for _, m := range models {
		out = append(out, m.ID)
	}
	return out
}

func TestFirstReadSeedsOnceAndLaterReadsCostNoDynamoDBCall(t *testing.T) {
	e := newRegistryEnv(t)
	ctx := context.Background()
	r := e.registry(e.file)
	e.counter.Reset()
	all, err := r.List(ctx, airegistry.Filter{IncludeInactive: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(e.file.Models) {
		t.Fatalf("listed %d models after seeding, want %d", len(all), len(e.file.Models))
	}
	// Cold and empty: one Query finds no seed marker, the file's entries
	// and the marker are written, one Query reads them back.
	if got := e.counter.Snapshot(); got["Query"] != 2 || got["PutItem"] != len(e.file.Models)+1 || e.counter.Total() != got["Query"]+got["PutItem"] {
		t.Fatalf("first read made %v, want 2 Query and %d PutItem", got, len(e.file.Models)+1)
	}

	// Warm: listings, lookups and costs are served from memory.
	e.counter.Reset()
	for range 50 {
		if _, err := r.List(ctx, airegistry.Filter{Type: "text"}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Get(ctx, "gpt-4o"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Cost(ctx, "gpt-4o-mini", airegistry.CostRequest{InputTokens: 1000, OutputTokens: 500}); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.counter.Total(); n != 0 {
		t.Fatalf("150 warm reads made %d DynamoDB calls (%v), want 0", n, e.counter.Snapshot())
	}

	// After the TTL, one Query refreshes it; the table is seeded, so no writes.
	e.advance(5*time.Minute + time.Second)
	if _, err := r.Get(ctx, "gpt-4o"); err != nil {
		t.Fatal(err)
	}
	if got := e.counter.Snapshot(); got["Query"] != 1 || e.counter.Total() != 1 {
		t.Fatalf("a read after the TTL made %v, want exactly 1 Query", got)
	}

	// A second cold instance (another Lambda) finds the marker: one Query.
	e.counter.Reset()
	if _, err := e.registry(e.file).List(ctx, airegistry.Filter{}); err != nil {
		t.Fatal(err)
	}
	if got := e.counter.Snapshot(); got["Query"] != 1 || e.counter.Total() != 1 {
		t.Fatalf("a second cold instance made %v, want exactly 1 Query", got)
	}
}

func TestSeedIsIdempotentAndKeepsAdminEdits(t *testing.T) {
	e := newRegistryEnv(t)
	ctx := context.Background()
	n, err := e.st.SeedModels(ctx, e.file.Models, e.file.Version)
	if err != nil || n != len(e.file.Models) {
		t.Fatalf("first seed wrote %d (%v), want %d", n, err, len(e.file.Models))
	}
	first, err := e.st.LoadModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Again (a retried deploy, two cold starts at once): nothing changes.
	if n, err := e.st.SeedModels(ctx, e.file.Models, e.file.Version); err != nil || n != 0 {
		t.Fatalf("second seed wrote %d (%v), want 0", n, err)
	}
	again, err := e.st.LoadModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(first.Models, again.Models, func(a, b store.Model) bool { return a.UpdatedAt.Equal(b.UpdatedAt) && a.ID == b.ID }) || again.SeedVersion != e.file.Version {
		t.Fatalf("the second seed changed the registry")
	}

	// An admin edits one entry; then a new data file (version 2) raises two
	// prices. The unedited entry takes the new price, the edited one keeps
	// the admin's.
	r := e.registry(e.file)
	edited, err := r.Get(ctx, "gpt-4o")
	if err != nil {
		t.Fatal(err)
	}
	edited.InputUSDPerMillionTokens = "2.00"
	if _, created, err := r.Put(ctx, edited); err != nil || created {
		t.Fatalf("admin edit: created=%v %v", created, err)
	}
	v2 := e.file
	v2.Version = 2
	v2.Models = slices.Clone(e.file.Models)
	for i := range v2.Models {
		if v2.Models[i].ID == "gpt-4o" || v2.Models[i].ID == "gpt-4o-mini" {
			v2.Models[i].InputUSDPerMillionTokens = "9.99"
		}
	}
	fresh := e.registry(v2)
	mini, _ := fresh.Get(ctx, "gpt-4o-mini")
	big, _ := fresh.Get(ctx, "gpt-4o")
	if mini.InputUSDPerMillionTokens != "9.99" || mini.SeedVersion != 2 {
		t.Errorf("unedited gpt-4o-mini after data version 2: %+v", mini)
	}
	if big.InputUSDPerMillionTokens != "2.00" || !big.EditedByAdmin {
		t.Errorf("admin-edited gpt-4o after data version 2: %+v", big)
	}
	// An older data file (a rollback) never moves the marker back.
	if _, err := e.st.SeedModels(ctx, e.file.Models, 1); err != nil {
		t.Fatal(err)
	}
	if set, _ := e.st.LoadModels(ctx); set.SeedVersion != 2 {
		t.Fatalf("seed marker %d after an older seed, want 2", set.SeedVersion)
	}
}

func TestListFiltersAndDeactivation(t *testing.T) {
	e := newRegistryEnv(t)
	ctx := context.Background()
	r := e.registry(e.file)
	tests := []struct {
		f    airegistry.Filter
		want []string
	}{
		{airegistry.Filter{Type: "text", Provider: "openai"}, []string{"gpt-4o", "gpt-4o-mini"}},
		{airegistry.Filter{Provider: "anthropic"}, []string{"claude-3-5-sonnet", "claude-3-haiku", "claude-3-opus"}},
		{airegistry.Filter{Type: "image"}, []string{"dall-e-3", "runware-v2", "bria-2.2", "bria-2.3", "bria-2.3-fast"}},
		{airegistry.Filter{Type: "image", Provider: "anthropic"}, nil},
	}
	for _, tt := range tests {
		got, err := r.List(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), tt.want) {
			t.Errorf("List(%+v) = %v, want %v", tt.f, ids(got), tt.want)
		}
	}

	if _, err := r.Deactivate(ctx, "bria-2.2"); err != nil {
		t.Fatal(err)
	}
	// Visible at once to this instance, and to a cold one.
	for _, reg := range []*airegistry.Registry{r, e.registry(e.file)} {
		active, _ := reg.List(ctx, airegistry.Filter{Provider: "bria"})
		all, _ := reg.List(ctx, airegistry.Filter{Provider: "bria", IncludeInactive: true})
		if !slices.Equal(ids(active), []string{"bria-2.3", "bria-2.3-fast"}) || !slices.Equal(ids(all), []string{"bria-2.2", "bria-2.3", "bria-2.3-fast"}) {
			t.Fatalf("after deactivating bria-2.2: active %v, all %v", ids(active), ids(all))
		}
		// Still readable and priceable.
		if c, err := reg.Cost(ctx, "bria-2.2", airegistry.CostRequest{Images: 2}); err != nil || c.CostUSD != "0.08" {
			t.Fatalf("cost of the inactive model: %+v %v", c, err)
		}
	}
	// Deactivating twice is a no-op.
	if m, err := r.Deactivate(ctx, "bria-2.2"); err != nil || m.Active {
		t.Fatalf("second deactivation: %+v %v", m, err)
	}
}

func TestUnknownModelIsNotFound(t *testing.T) {
	e := newRegistryEnv(t)
	r := e.registry(e.file)
	for _, call := range []func() error{
		func() error { _, err := r.Get(context.Background(), "gpt-9"); return err },
		func() error {
			_, err := r.Cost(context.Background(), "gpt-9", airegistry.CostRequest{InputTokens: 1})
			return err
		},
		func() error { _, err := r.Deactivate(context.Background(), "gpt-9"); return err },
	} {
		err := call()
		if !errors.Is(err, airegistry.ErrNotFound) || apperr.As(err).Status() != 404 || !strings.Contains(err.Error(), "gpt-9") {
			t.Errorf("unknown model: %v, want a 404 naming it", err)
		}
	}
}

func TestPutValidatesAndCreates(t *testing.T) {
	e := newRegistryEnv(t)
	ctx := context.Background()
	r := e.registry(e.file)
	m := store.Model{ID: "gpt-5-mini", Provider: "openai", Type: "text", DisplayName: "GPT-5 mini",
		InputUSDPerMillionTokens: "0.25", OutputUSDPerMillionTokens: "2.00", ContextWindow: 400000, MaxOutputTokens: 128000,
		Active: true, PriceSource: "https://openai.com/api/pricing/", PriceDate: "2026-11-28"}
	saved, created, err := r.Put(ctx, m)
	if err != nil || !created || !saved.EditedByAdmin {
		t.Fatalf("create: %+v created=%v %v", saved, created, err)
	}
	if c, err := r.Cost(ctx, "gpt-5-mini", airegistry.CostRequest{InputTokens: 4, OutputTokens: 1}); err != nil || c.CostUSD != "0.000003" {
		t.Fatalf("cost of the new model: %+v %v", c, err) // 4 × 0.25/M + 1 × 2.00/M = 0.000001 + 0.000002
	}
	m.OutputUSDPerMillionTokens = "two dollars"
	if _, _, err := r.Put(ctx, m); apperr.As(err).Field != "output_usd_per_million_tokens" {
		t.Fatalf("bad price: %v", err)
	}
}

// flakyStore fails LoadModels while down is set.
type flakyStore struct {
	airegistry.Store
	mu   sync.Mutex
	down bool
}

func (f *flakyStore) LoadModels(ctx context.Context) (store.ModelSet, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return store.ModelSet{}, errors.New("dynamodb: service unavailable")
	}
	return f.Store.LoadModels(ctx)
}

func TestAFailedRefreshServesTheCachedRegistry(t *testing.T) {
	e := newRegistryEnv(t)
	ctx := context.Background()
	fs := &flakyStore{Store: e.st, down: true}
	r := airegistry.New(fs, e.file, 5*time.Minute, nil)
	r.SetClock(e.clock)
	if _, err := r.Get(ctx, "gpt-4o"); err == nil {
		t.Fatal("a cold registry with DynamoDB down answered")
	}
	fs.mu.Lock()
	fs.down = false
	fs.mu.Unlock()
	if _, err := r.Get(ctx, "gpt-4o"); err != nil {
		t.Fatal(err)
	}
	fs.mu.Lock()
	fs.down = true
	fs.mu.Unlock()
	e.advance(6 * time.Minute)
	if c, err := r.Cost(ctx, "gpt-4o-mini", airegistry.CostRequest{InputTokens: 1000, OutputTokens: 500}); err != nil || c.CostUSD != "0.00045" {
		t.Fatalf("stale registry with DynamoDB down: %+v %v, want the cached prices", c, err)
	}
}
