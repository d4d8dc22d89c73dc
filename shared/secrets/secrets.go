// Package secrets reads and writes the service's secrets in AWS Secrets
// Manager — WordPress Application Passwords, webhook signing secrets, AI
// provider keys — through a small in-memory cache with a TTL, so a warm
// function does not pay a Secrets Manager call per request. Every name is
// placed under the configured prefix, the only ARNs the functions' IAM
// policies allow. Secret values never appear in errors or logs from here.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// ErrNotFound means the secret does not exist (or is scheduled for deletion).
var ErrNotFound = errors.New("secret not found")

// API is the part of the Secrets Manager client the store uses.
type API interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	CreateSecret(context.Context, *secretsmanager.CreateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	DeleteSecret(context.Context, *secretsmanager.DeleteSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

var _ API = (*secretsmanager.Client)(nil)

// Store is a prefix-scoped, cached view of Secrets Manager.
type Store struct {
	api    API
	prefix string
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	value   string
	expires time.Time
}

// maxCached bounds the cache; one function instance rarely needs more than a
// few hundred sites' secrets, and an unbounded map would grow with tenants.
const maxCached = 1024

// New returns a store for names under prefix (which ends with '/'), caching
// values for ttl (0 disables the cache).
func New(api API, prefix string, ttl time.Duration) *Store {
	return &Store{api: api, prefix: prefix, ttl: ttl, now: time.Now, cache: map[string]cached{}}
}

// SetClock replaces the clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// FullName is the Secrets Manager name for a service-relative name.
func (s *Store) FullName(name string) string { return s.prefix + name }

func (s *Store) checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") || len(s.prefix)+len(name) > 512 {
		return fmt.Errorf("invalid secret name %q", name)
	}
	return nil
}

// Get returns the current value of the secret name, from the cache when fresh.
func (s *Store) Get(ctx context.Context, name string) (string, error) {
	return s.get(ctx, name, name)
}

// GetVersion is Get with the cache entry tied to version, a caller-chosen
// tag of the state the value belongs to (the webhook receiver passes the
// integration's version). A new version misses the cache and reads Secrets
// Manager again, so a rotation that bumped the version is seen at once by
// every warm instance instead of after the TTL.
func (s *Store) GetVersion(ctx context.Context, name, version string) (string, error) {
	return s.get(ctx, name, name+"\x00"+version)
}

// get reads the secret name through the cache entry cacheKey.
func (s *Store) get(ctx context.Context, name, cacheKey string) (string, error) {
	if err := s.checkName(name); err != nil {
		return "", err
	}
	if v, ok := s.fromCache(cacheKey); ok {
		return v, nil
	}
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.FullName(name))})
	if err != nil {
		if isNotFound(err) {
			return "", fmt.Errorf("get secret %s: %w", name, ErrNotFound)
		}
		return "", fmt.Errorf("get secret %s: %w", name, err)
	}
	v := aws.ToString(out.SecretString)
	s.remember(cacheKey, v)
	return v, nil
}

// Put stores value as the secret's new current version, creating the secret
// on first use. Rotation is a Put: the previous value stays readable in
// Secrets Manager as AWSPREVIOUS, and this instance's cache sees the new one
// at once (other warm instances within their TTL).
func (s *Store) Put(ctx context.Context, name, value string, description string) error {
	if err := s.checkName(name); err != nil {
		return err
	}
	_, err := s.api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(s.FullName(name)), SecretString: aws.String(value),
	})
	if err != nil && isNotFound(err) {
		_, err = s.api.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String(s.FullName(name)), SecretString: aws.String(value), Description: aws.String(description),
		})
		if err != nil && isExists(err) {
			// Lost a race with a concurrent creator: write over it.
			_, err = s.api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
				SecretId: aws.String(s.FullName(name)), SecretString: aws.String(value),
			})
		}
	}
	if err != nil {
		return fmt.Errorf("put secret %s: %w", name, err)
	}
	s.remember(name, value)
	return nil
}

// Delete removes the secret at once (no recovery window): the service
// deletes secrets when their owner is deleted, and keeping a credential
// recoverable for 30 days would keep it alive for no one. Deleting a missing
// secret is not an error, so cleanup can be retried.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := s.checkName(name); err != nil {
		return err
	}
	s.forget(name)
	_, err := s.api.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId: aws.String(s.FullName(name)), ForceDeleteWithoutRecovery: aws.Bool(true),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete secret %s: %w", name, err)
	}
	return nil
}

func (s *Store) fromCache(name string) (string, bool) {
	if s.ttl <= 0 {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[name]
	if !ok || !s.now().Before(c.expires) {
		return "", false
	}
	return c.value, true
}

func (s *Store) remember(name, value string) {
	if s.ttl <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= maxCached {
		now := s.now()
		for k, c := range s.cache {
			if !now.Before(c.expires) {
				delete(s.cache, k)
			}
		}
		if len(s.cache) >= maxCached {
			s.cache = map[string]cached{}
		}
	}
	s.cache[name] = cached{value: value, expires: s.now().Add(s.ttl)}
}

func (s *Store) forget(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cache, name)
}

// isNotFound recognises a missing secret by its error code, which is more
// robust than the typed error across implementations.
func isNotFound(err error) bool {
	var rnf *smtypes.ResourceNotFoundException
	if errors.As(err, &rnf) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ResourceNotFoundException"
}

func isExists(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ResourceExistsException"
}
