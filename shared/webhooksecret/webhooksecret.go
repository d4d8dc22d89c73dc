// Package webhooksecret keeps each integration's webhook signing secret in
// Secrets Manager: its name, its format ("whsec_" + base64 of 32 random
// bytes, as Standard Webhooks defines it) and its rotation. One secret per
// integration holds the current value and, for a grace period after a
// rotation, the previous one, so deliveries the plugin signed with the old
// secret (or sent before it learned the new one) are still accepted.
//
// The integrations service creates, rotates and deletes the secret; the
// webhook receiver reads it through the secrets store's TTL cache, keyed by
// the integration's version, so a rotation (which bumps the version) is
// seen at once and a delivery usually costs no Secrets Manager call.
package webhooksecret

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/igny8/integrations/shared/secrets"
	"github.com/igny8/integrations/shared/store"
)

// Prefix starts every webhook secret.
const Prefix = "whsec_"

// keyBytes is the length of a generated signing key.
const keyBytes = 32

// ErrMissing means the integration has no webhook secret (or it is gone or
// unreadable).
var ErrMissing = errors.New("the integration has no webhook secret")

// Generate returns a new secret: "whsec_" + base64(32 random bytes).
func Generate() (string, error) {
	b := make([]byte, keyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate webhook secret: %w", err)
	}
	return Prefix + base64.StdEncoding.EncodeToString(b), nil
}

// Key decodes a secret into the HMAC key: the base64 after the prefix.
func Key(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, Prefix)
	if !ok {
		return nil, errors.New("webhook secret does not start with " + Prefix)
	}
	k, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(k) == 0 {
		return nil, errors.New("webhook secret is not base64 after " + Prefix)
	}
	return k, nil
}

// SecretName is the Secrets Manager name (under the service's prefix) of an
// integration's webhook secret. The webhook function's IAM policy allows
// reading only names under "webhook/".
func SecretName(integrationID string) string { return "webhook/signing/" + integrationID }

// Keys are an integration's valid signing secrets.
type Keys struct {
	Current string
	// Previous is the secret before the last rotation, valid until
	// PreviousUntil.
	Previous      string
	PreviousUntil time.Time
}

// Valid lists the secrets a delivery may be signed with at now.
func (k Keys) Valid(now time.Time) []string {
	out := []string{k.Current}
	if k.Previous != "" && now.Before(k.PreviousUntil) {
		out = append(out, k.Previous)
	}
	return out
}

// value is the JSON stored in the secret.
type value struct {
	Current       string     `json:"current"`
	Previous      string     `json:"previous,omitempty"`
	PreviousUntil *time.Time `json:"previous_until,omitempty"`
}

// Secrets is the part of the secrets store this package uses.
type Secrets interface {
	Get(ctx context.Context, name string) (string, error)
	GetVersion(ctx context.Context, name, version string) (string, error)
	Put(ctx context.Context, name, value, description string) error
	Delete(ctx context.Context, name string) error
}

var _ Secrets = (*secrets.Store)(nil)

// Store reads and writes webhook secrets.
type Store struct {
	secrets Secrets
	now     func() time.Time
}

// New returns a webhook secret store.
func New(s Secrets, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{secrets: s, now: now}
}

func description(in store.Integration) string {
	return fmt.Sprintf("Webhook signing secret of integration %s (%s)", in.ID, in.ExternalSiteURL)
}

// Create writes a new secret for in (named in.WebhookSecretName) and
// returns it; there is no previous secret.
func (s *Store) Create(ctx context.Context, in store.Integration) (string, error) {
	secret, err := Generate()
	if err != nil {
		return "", err
	}
	if err := s.put(ctx, in, value{Current: secret}); err != nil {
		return "", err
	}
	return secret, nil
}

// Rotate replaces in's secret with a new one and keeps the old one valid
// for grace. An integration without a secret gets its first one.
func (s *Store) Rotate(ctx context.Context, in store.Integration, grace time.Duration) (secret string, previousUntil *time.Time, err error) {
	old, err := s.read(ctx, in, "")
	if err != nil && !errors.Is(err, ErrMissing) {
		return "", nil, err
	}
	if secret, err = Generate(); err != nil {
		return "", nil, err
	}
	v := value{Current: secret}
	if old.Current != "" && grace > 0 {
		until := s.now().UTC().Add(grace).Truncate(time.Second)
		v.Previous, v.PreviousUntil = old.Current, &until
	}
	if err := s.put(ctx, in, v); err != nil {
		return "", nil, err
	}
	return secret, v.PreviousUntil, nil
}

// Current returns in's current secret (uncached read is not needed: the
// secrets store refreshes its own cache on Put).
func (s *Store) Current(ctx context.Context, in store.Integration) (string, error) {
	v, err := s.read(ctx, in, "")
	return v.Current, err
}

// Keys returns in's valid secrets, cached per integration version: any
// change to the integration (a rotation always makes one) reads the secret
// again, so a rotated secret is never locked out by a warm cache.
func (s *Store) Keys(ctx context.Context, in store.Integration) (Keys, error) {
	v, err := s.read(ctx, in, strconv.FormatInt(in.Version, 10))
	if err != nil {
		return Keys{}, err
	}
	k := Keys{Current: v.Current, Previous: v.Previous}
	if v.PreviousUntil != nil {
		k.PreviousUntil = *v.PreviousUntil
	}
	return k, nil
}

// Delete removes a webhook secret by name; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.secrets.Delete(ctx, name)
}

func (s *Store) put(ctx context.Context, in store.Integration, v value) error {
	if in.WebhookSecretName == "" {
		return fmt.Errorf("store webhook secret of integration %s: no secret name", in.ID)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode webhook secret: %w", err)
	}
	if err := s.secrets.Put(ctx, in.WebhookSecretName, string(raw), description(in)); err != nil {
		return fmt.Errorf("store webhook secret of integration %s: %w", in.ID, err)
	}
	return nil
}

func (s *Store) read(ctx context.Context, in store.Integration, version string) (value, error) {
	if in.WebhookSecretName == "" {
		return value{}, ErrMissing
	}
	var (
		raw string
		err error
	)
	if version == "" {
		raw, err = s.secrets.Get(ctx, in.WebhookSecretName)
	} else {
		raw, err = s.secrets.GetVersion(ctx, in.WebhookSecretName, version)
	}
	if errors.Is(err, secrets.ErrNotFound) {
		return value{}, ErrMissing
	}
	if err != nil {
		return value{}, fmt.Errorf("read webhook secret of integration %s: %w", in.ID, err)
	}
	var v value
	if err := json.Unmarshal([]byte(raw), &v); err != nil || !strings.HasPrefix(v.Current, Prefix) {
		return value{}, ErrMissing
	}
	return v, nil
}
