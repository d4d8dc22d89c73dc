package aisettings

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/aiproviders"
	"github.com/igny8/integrations/shared/airegistry"
	"github.com/igny8/integrations/shared/secrets"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/testutil"
)

// brokenStore fails the next PutAISettings when failNext is set, as a
// crash or throttle between the secret write and the item write would.
type brokenStore struct {
	*store.Store
	mu       sync.Mutex
	failNext bool
}

func (b *brokenStore) PutAISettings(ctx context.Context, st store.AISettings) (store.AISettings, error) {
	b.mu.Lock()
	fail := b.failNext
	b.failNext = false
	b.mu.Unlock()
	if fail {
		return store.AISettings{}, errors.New("dynamodb: throttled")
	}
	return b.Store.PutAISettings(ctx, st)
}

type noChecker struct{}

func (noChecker) Check(context.Context, string, string) (aiproviders.Result, error) {
	return aiproviders.Result{}, errors.New("not used")
}

func newService(t *testing.T) (*Service, *brokenStore, *secrets.Store) {
	t.Helper()
	clients := testutil.MustClients(t)
	table := testutil.MustCreateTable(t, clients.DynamoDB)
	st := &brokenStore{Store: store.New(clients.DynamoDB, table)}
	file, err := airegistry.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	sec := secrets.New(clients.SecretsManager, testutil.UniqueName(t, "igny8-ais")+"/", time.Minute)
	return New(Deps{Store: st, Secrets: sec, Registry: airegistry.New(st, file, time.Minute, nil), Checker: noChecker{}}), st, sec
}

func ptr(s string) *string { return &s }

// TestRepeatingAFailedChangeCompletesIt: the key reached the secret but the
// settings item write failed; sending the same change again must record the
// new key's last four characters, not keep the old ones.
func TestRepeatingAFailedChangeCompletesIt(t *testing.T) {
	svc, st, sec := newService(t)
	ctx := context.Background()
	const oldKey, newKey = "sk-old-key-0000000000000000AAAA", "sk-new-key-1111111111111111BBBB"
	if _, err := svc.Apply(ctx, Update{Keys: map[string]*string{"openai": ptr(oldKey)}}); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	st.failNext = true
	st.mu.Unlock()
	if _, err := svc.Apply(ctx, Update{Keys: map[string]*string{"openai": ptr(newKey)}}); err == nil {
		t.Fatal("the failed write was not reported")
	}
	raw, err := sec.Get(ctx, SecretName)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]string
	_ = json.Unmarshal([]byte(raw), &keys)
	if keys["openai_api_key"] != newKey {
		t.Fatal("the secret does not hold the new key after the failed attempt")
	}
	if v, _ := svc.Get(ctx); *v.Providers.OpenAI.KeyLast4 != "AAAA" {
		t.Fatalf("the item changed despite the failure: %+v", v.Providers.OpenAI)
	}
	v, err := svc.Apply(ctx, Update{Keys: map[string]*string{"openai": ptr(newKey)}})
	if err != nil || *v.Providers.OpenAI.KeyLast4 != "BBBB" || v.Version != 2 {
		t.Fatalf("the repeated change: %+v %v, want last4 BBBB at version 2", v.Providers.OpenAI, err)
	}
	// Sending the same key once more changes nothing but the version.
	again, err := svc.Apply(ctx, Update{Keys: map[string]*string{"openai": ptr(newKey)}})
	if err != nil || !again.Providers.OpenAI.UpdatedAt.Equal(*v.Providers.OpenAI.UpdatedAt) {
		t.Fatalf("re-sending the same key moved its change time: %+v %v", again.Providers.OpenAI, err)
	}
}

func TestTestOfAnUnknownProviderIsNotFound(t *testing.T) {
	svc, _, _ := newService(t)
	if _, err := svc.Test(context.Background(), "midjourney"); err == nil {
		t.Fatal("an unknown provider was tested")
	}
}
