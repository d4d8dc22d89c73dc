package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/igny8/integrations/shared/secrets"
	"github.com/igny8/integrations/shared/testutil"
)

// countingAPI counts GetSecretValue calls that reach Secrets Manager.
type countingAPI struct {
	secrets.API
	gets atomic.Int64
}

func (c *countingAPI) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.gets.Add(1)
	return c.API.GetSecretValue(ctx, in, o...)
}

func newStore(t *testing.T, ttl time.Duration) (*secrets.Store, *countingAPI, *time.Time) {
	t.Helper()
	api := &countingAPI{API: testutil.MustClients(t).SecretsManager}
	s := secrets.New(api, testutil.UniqueName(t, "igny8-test")+"/", ttl)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	return s, api, &now
}

func TestPutGetRotateDelete(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, 0)

	if _, err := s.Get(ctx, "sites/a/wordpress"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Get before Put: err = %v, want ErrNotFound", err)
	}
	if err := s.Put(ctx, "sites/a/wordpress", "abcd efgh ijkl", "test"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "sites/a/wordpress"); err != nil || v != "abcd efgh ijkl" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if err := s.Put(ctx, "sites/a/wordpress", "rotated", "test"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "sites/a/wordpress"); err != nil || v != "rotated" {
		t.Fatalf("Get after rotation = %q, %v; want the new value", v, err)
	}
	if err := s.Delete(ctx, "sites/a/wordpress"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "sites/a/wordpress"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "sites/a/wordpress"); err != nil {
		t.Fatalf("second Delete must be a no-op so cleanup can retry: %v", err)
	}
}

func TestCacheServesWithinTTLAndRefreshesAfter(t *testing.T) {
	ctx := context.Background()
	s, api, now := newStore(t, time.Minute)
	if err := s.Put(ctx, "k", "v1", "test"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if v, err := s.Get(ctx, "k"); err != nil || v != "v1" {
			t.Fatalf("Get = %q, %v", v, err)
		}
	}
	if got := api.gets.Load(); got != 0 {
		t.Fatalf("%d GetSecretValue calls within the TTL after Put, want 0 (Put primes the cache)", got)
	}
	*now = now.Add(61 * time.Second)
	if _, err := s.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if got := api.gets.Load(); got != 1 {
		t.Fatalf("%d GetSecretValue calls after expiry, want exactly 1", got)
	}
}

func TestRejectsNamesOutsideThePrefix(t *testing.T) {
	s, _, _ := newStore(t, 0)
	for _, name := range []string{"", "/abs", "../escape", "a/../../b"} {
		if _, err := s.Get(context.Background(), name); err == nil || errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("Get(%q) err = %v, want an invalid-name error", name, err)
		}
	}
}

// Many instances reading one secret at once (each its own cache, as warm
// Lambdas are) must work; under the race detector this also holds the
// emulator's Secrets Manager, which is not safe for concurrent reads of one
// secret, to the clients' one-at-a-time transport.
func TestConcurrentReadsOfOneSecret(t *testing.T) {
	clients := testutil.MustClients(t)
	prefix := testutil.UniqueName(t, "igny8-test") + "/"
	if err := secrets.New(clients.SecretsManager, prefix, 0).Put(context.Background(), "shared", "v1", "concurrency test"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			s := secrets.New(clients.SecretsManager, prefix, 0)
			v, err := s.Get(context.Background(), "shared")
			if err == nil && v != "v1" {
				err = fmt.Errorf("read %q", v)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
