// Package sitecreds keeps each site's WordPress credentials in Secrets
// Manager: the one secret per site, its name and its JSON format. The
// integrations service writes them when a site is connected or its password
// rotated; every function that calls a site (API, sync worker, publisher)
// reads them here, so there is one definition of where a password lives.
package sitecreds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/igny8/integrations/shared/secrets"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/wordpress"
)

// Credentials are a site's WordPress username and Application Password.
type Credentials struct {
	Username            string
	ApplicationPassword string
}

// WordPress returns the credentials in the WordPress client's form.
func (c Credentials) WordPress() wordpress.Credentials {
	return wordpress.Credentials{Username: c.Username, Password: c.ApplicationPassword}
}

// String never shows the password.
func (c Credentials) String() string {
	return "sitecreds.Credentials{Username:" + c.Username + ", ApplicationPassword:[redacted]}"
}

// GoString never shows the password.
func (c Credentials) GoString() string { return c.String() }

// Secrets is the part of the secrets store this package uses.
type Secrets interface {
	Get(ctx context.Context, name string) (string, error)
	Put(ctx context.Context, name, value, description string) error
	Delete(ctx context.Context, name string) error
}

// SecretName is the Secrets Manager name (under the service's prefix) of an
// integration's WordPress credentials: named by the integration's ID, which
// never changes, so rotating or moving the site keeps the same secret.
func SecretName(integrationID string) string { return "wordpress/credentials/" + integrationID }

// ErrMissing is the diagnosis when an integration's secret is gone or
// unreadable: the user must enter the credentials again.
var ErrMissing = &wordpress.Error{
	Code:    "credentials_missing",
	Message: "This integration has no stored WordPress credentials.",
	Hint:    "Enter the WordPress username and an Application Password again.",
}

// secretValue is the JSON stored in each credentials secret.
type secretValue struct {
	Username            string `json:"username"`
	ApplicationPassword string `json:"application_password"`
}

// Store reads and writes credentials secrets.
type Store struct{ secrets Secrets }

// New returns a credentials store over the secrets store.
func New(s Secrets) *Store { return &Store{secrets: s} }

// Put writes in's credentials as the secret's new current version.
func (s *Store) Put(ctx context.Context, in store.Integration, c Credentials) error {
	raw, err := json.Marshal(secretValue(c))
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	desc := fmt.Sprintf("WordPress Application Password for integration %s (%s)", in.ID, in.ExternalSiteURL)
	if err := s.secrets.Put(ctx, in.CredentialsSecret, string(raw), desc); err != nil {
		return fmt.Errorf("store credentials of integration %s: %w", in.ID, err)
	}
	return nil
}

// Get reads in's credentials; a missing or unreadable secret is ErrMissing.
func (s *Store) Get(ctx context.Context, in store.Integration) (Credentials, error) {
	if in.CredentialsSecret == "" {
		return Credentials{}, ErrMissing
	}
	raw, err := s.secrets.Get(ctx, in.CredentialsSecret)
	if errors.Is(err, secrets.ErrNotFound) {
		return Credentials{}, ErrMissing
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("read credentials of integration %s: %w", in.ID, err)
	}
	var v secretValue
	if err := json.Unmarshal([]byte(raw), &v); err != nil || v.ApplicationPassword == "" {
		return Credentials{}, ErrMissing
	}
	return Credentials(v), nil
}

// Delete removes a secret by name; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.secrets.Delete(ctx, name)
}
