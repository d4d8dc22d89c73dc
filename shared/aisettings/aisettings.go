// Package aisettings is the global AI settings service (admin only): the
// four providers' API keys, kept together in one Secrets Manager secret (a
// JSON object under the service's prefix, never in DynamoDB, a response or
// a log line), what the API may show about them (set, last four
// characters, when they changed, stored in the settings item), the default
// text and image models, validated against the model registry, and the
// connection test that checks a stored key against its provider.
package aisettings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/igny8/integrations/shared/aiproviders"
	"github.com/igny8/integrations/shared/airegistry"
	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/secrets"
	"github.com/igny8/integrations/shared/store"
)

// SecretName is the keys secret's name under SECRET_PREFIX. Its value is a
// JSON object with the seed's field names: {"openai_api_key": "…", …}.
const SecretName = "ai/provider-keys"

// Key length bounds: real provider keys are 32 to a few hundred characters.
const (
	MinKeyLength = 16
	MaxKeyLength = 512
)

// KeyField is the seed's field name of a provider's key.
func KeyField(provider string) string { return provider + "_api_key" }

// Store is what the service needs from the table.
type Store interface {
	GetAISettings(ctx context.Context) (store.AISettings, error)
	PutAISettings(ctx context.Context, st store.AISettings) (store.AISettings, error)
}

// Secrets is what the service needs from Secrets Manager.
type Secrets interface {
	Get(ctx context.Context, name string) (string, error)
	Put(ctx context.Context, name, value, description string) error
}

// Registry is what the service needs from the model registry.
type Registry interface {
	Get(ctx context.Context, id string) (store.Model, error)
	Defaults() airegistry.Defaults
}

// Checker tests a key against its provider.
type Checker interface {
	Check(ctx context.Context, provider, key string) (aiproviders.Result, error)
}

var (
	_ Store    = (*store.Store)(nil)
	_ Secrets  = (*secrets.Store)(nil)
	_ Registry = (*airegistry.Registry)(nil)
	_ Checker  = (*aiproviders.Checker)(nil)
)

// Deps are the service's dependencies.
type Deps struct {
	Store    Store
	Secrets  Secrets
	Registry Registry
	Checker  Checker
	Logger   *slog.Logger
	Now      func() time.Time
}

// Service is the AI settings service.
type Service struct{ d Deps }

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{d: d}
}

// KeyStatus is what may be shown about one provider's key.
type KeyStatus struct {
	KeySet    bool       `json:"key_set"`
	KeyLast4  *string    `json:"key_last4"`
	UpdatedAt *time.Time `json:"updated_at"`
}

// ProviderKeys shows every provider's key status.
type ProviderKeys struct {
	OpenAI    KeyStatus `json:"openai"`
	Anthropic KeyStatus `json:"anthropic"`
	Runware   KeyStatus `json:"runware"`
	Bria      KeyStatus `json:"bria"`
}

// View is the settings as the API shows them.
type View struct {
	Providers            ProviderKeys `json:"providers"`
	DefaultTextModel     string       `json:"default_text_model"`
	DefaultImageModel    string       `json:"default_image_model"`
	DefaultImageProvider string       `json:"default_image_provider"`
	UpdatedAt            *time.Time   `json:"updated_at"`
	// Version is 0 until the settings are first saved.
	Version int64 `json:"version"`
}

func present(st store.AISettings) View {
	status := func(p string) KeyStatus {
		k, ok := st.Keys[p]
		if !ok {
			return KeyStatus{}
		}
		last4, at := k.Last4, k.UpdatedAt
		return KeyStatus{KeySet: true, KeyLast4: &last4, UpdatedAt: &at}
	}
	v := View{
		Providers:        ProviderKeys{OpenAI: status("openai"), Anthropic: status("anthropic"), Runware: status("runware"), Bria: status("bria")},
		DefaultTextModel: st.DefaultTextModel, DefaultImageModel: st.DefaultImageModel, DefaultImageProvider: st.DefaultImageProvider,
		Version: st.Version,
	}
	if !st.UpdatedAt.IsZero() {
		at := st.UpdatedAt
		v.UpdatedAt = &at
	}
	return v
}

// current returns the stored settings, or the data file's defaults with no
// keys (version 0) before the first save.
func (s *Service) current(ctx context.Context) (store.AISettings, error) {
	st, err := s.d.Store.GetAISettings(ctx)
	if errors.Is(err, store.ErrNotFound) {
		d := s.d.Registry.Defaults()
		return store.AISettings{DefaultTextModel: d.TextModel, DefaultImageModel: d.ImageModel, DefaultImageProvider: d.ImageProvider,
			Keys: map[string]store.ProviderKey{}}, nil
	}
	if st.Keys == nil {
		st.Keys = map[string]store.ProviderKey{}
	}
	return st, err
}

// Get returns the settings (one GetItem).
func (s *Service) Get(ctx context.Context) (View, error) {
	st, err := s.current(ctx)
	if err != nil {
		return View{}, err
	}
	return present(st), nil
}

// Update is a change: nil members are kept. A key set to "" is cleared.
type Update struct {
	Keys                 map[string]*string // provider → new key
	DefaultTextModel     *string
	DefaultImageModel    *string
	DefaultImageProvider *string
	// ExpectedVersion, when CheckVersion is set, must be the stored
	// version (412 otherwise); 0 means "not saved yet".
	ExpectedVersion int64
	CheckVersion    bool
}

// Apply validates and saves a change. Keys go to the secret first, then the
// settings item is written on condition of the version read: a failure
// between the two leaves the new keys stored and the item unchanged, and
// repeating the request completes it (both writes are idempotent).
func (s *Service) Apply(ctx context.Context, u Update) (View, error) {
	st, err := s.current(ctx)
	if err != nil {
		return View{}, err
	}
	if u.CheckVersion && u.ExpectedVersion != st.Version {
		return View{}, apperr.Wrap(store.ErrPreconditionFailed, apperr.PreconditionFailed,
			"The settings are at version %d, not %d: read them again and retry", st.Version, u.ExpectedVersion)
	}
	for _, p := range slices.Sorted(maps.Keys(u.Keys)) {
		if v := u.Keys[p]; v != nil && *v != "" {
			if err := validKey(KeyField(p), *v); err != nil {
				return View{}, err
			}
		}
	}
	if u.DefaultTextModel != nil {
		st.DefaultTextModel = strings.TrimSpace(*u.DefaultTextModel)
	}
	if u.DefaultImageModel != nil {
		st.DefaultImageModel = strings.TrimSpace(*u.DefaultImageModel)
	}
	if u.DefaultImageProvider != nil {
		st.DefaultImageProvider = strings.TrimSpace(*u.DefaultImageProvider)
	}
	if err := s.validateDefaults(ctx, st, u); err != nil {
		return View{}, err
	}
	if len(u.Keys) > 0 {
		if err := s.writeKeys(ctx, &st, u.Keys); err != nil {
			return View{}, err
		}
	}
	saved, err := s.d.Store.PutAISettings(ctx, st)
	if errors.Is(err, store.ErrPreconditionFailed) {
		return View{}, apperr.Wrap(err, apperr.PreconditionFailed, "The settings changed while this request ran: read them again and retry")
	}
	if err != nil {
		return View{}, err
	}
	var changed []string
	for _, p := range slices.Sorted(maps.Keys(u.Keys)) {
		changed = append(changed, KeyField(p))
	}
	s.d.Logger.InfoContext(ctx, "ai settings saved", slog.Int64("version", saved.Version), slog.Any("keys_changed", changed),
		slog.String("default_text_model", saved.DefaultTextModel), slog.String("default_image_model", saved.DefaultImageModel))
	return present(saved), nil
}

func validKey(field, key string) error {
	if len(key) < MinKeyLength || len(key) > MaxKeyLength {
		return apperr.Field(apperr.Invalid, field, "%s must be %d to %d characters", field, MinKeyLength, MaxKeyLength)
	}
	for _, r := range key {
		if r <= ' ' || r > '~' {
			return apperr.Field(apperr.Invalid, field, "%s must be printable ASCII without spaces", field)
		}
	}
	return nil
}

// validateDefaults checks the defaults against the registry: the text
// default an active text model, the image default an active image model of
// the image provider. Only defaults that changed are blamed, so a model
// deactivated since does not block an unrelated key change.
func (s *Service) validateDefaults(ctx context.Context, st store.AISettings, u Update) error {
	if u.DefaultImageProvider != nil && !slices.Contains(airegistry.ImageProviders, st.DefaultImageProvider) {
		return apperr.Field(apperr.Invalid, "default_image_provider", "default_image_provider must be one of %s", strings.Join(airegistry.ImageProviders, ", "))
	}
	if u.DefaultTextModel != nil {
		m, err := s.d.Registry.Get(ctx, st.DefaultTextModel)
		if err := modelFault(err, "default_text_model", st.DefaultTextModel); err != nil {
			return err
		}
		switch {
		case m.Type != airegistry.TypeText:
			return apperr.Field(apperr.Unprocessable, "default_text_model", "%s is an %s model, not a text model", m.ID, m.Type)
		case !m.Active:
			return apperr.Field(apperr.Unprocessable, "default_text_model", "%s is inactive", m.ID)
		}
	}
	if u.DefaultImageModel != nil || u.DefaultImageProvider != nil {
		field := "default_image_model"
		if u.DefaultImageModel == nil {
			field = "default_image_provider"
		}
		m, err := s.d.Registry.Get(ctx, st.DefaultImageModel)
		if err := modelFault(err, "default_image_model", st.DefaultImageModel); err != nil {
			return err
		}
		switch {
		case m.Type != airegistry.TypeImage:
			return apperr.Field(apperr.Unprocessable, "default_image_model", "%s is a %s model, not an image model", m.ID, m.Type)
		case !m.Active:
			return apperr.Field(apperr.Unprocessable, "default_image_model", "%s is inactive", m.ID)
		case m.Provider != st.DefaultImageProvider:
			return apperr.Field(apperr.Unprocessable, field, "%s is a %s model but default_image_provider is %s", m.ID, m.Provider, st.DefaultImageProvider)
		}
	}
	return nil
}

func modelFault(err error, field, id string) error {
	if errors.Is(err, airegistry.ErrNotFound) {
		return apperr.Field(apperr.Unprocessable, field, "%s: no model %q in the registry", field, id)
	}
	return err
}

// readKeys returns the stored keys by field name ({} when none yet).
func (s *Service) readKeys(ctx context.Context) (map[string]string, error) {
	raw, err := s.d.Secrets.Get(ctx, SecretName)
	if errors.Is(err, secrets.ErrNotFound) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	keys := map[string]string{}
	if err := json.Unmarshal([]byte(raw), &keys); err != nil {
		// Never wrap the JSON error: it could quote the value.
		return nil, fmt.Errorf("the AI provider keys secret is not a JSON object of strings")
	}
	return keys, nil
}

// writeKeys merges the changed keys into the secret (one Put) and records
// last four characters and change times on st.
func (s *Service) writeKeys(ctx context.Context, st *store.AISettings, changes map[string]*string) error {
	keys, err := s.readKeys(ctx)
	if err != nil {
		return err
	}
	now := s.d.Now().UTC().Truncate(time.Microsecond)
	dirty := false
	for p, v := range changes {
		if v == nil {
			continue
		}
		field := KeyField(p)
		switch {
		case *v == "":
			if _, ok := keys[field]; ok {
				delete(keys, field)
				dirty = true
			}
			delete(st.Keys, p)
		case keys[field] == *v:
			// Same key again: nothing to rotate. Keep its change time, unless
			// an earlier attempt stored the key but not the settings item.
			if k, ok := st.Keys[p]; !ok || k.Last4 != (*v)[len(*v)-4:] {
				st.Keys[p] = store.ProviderKey{Last4: (*v)[len(*v)-4:], UpdatedAt: now}
			}
		default:
			keys[field] = *v
			st.Keys[p] = store.ProviderKey{Last4: (*v)[len(*v)-4:], UpdatedAt: now}
			dirty = true
		}
	}
	if !dirty {
		return nil
	}
	b, err := json.Marshal(keys)
	if err != nil {
		return fmt.Errorf("encode AI provider keys: %w", err)
	}
	if err := s.d.Secrets.Put(ctx, SecretName, string(b), "IGNY8 AI provider API keys (managed by /api/v1/ai/settings/)"); err != nil {
		return fmt.Errorf("store AI provider keys: %w", err)
	}
	return nil
}

// Test checks the stored key of provider against the provider's API.
func (s *Service) Test(ctx context.Context, provider string) (aiproviders.Result, error) {
	if !slices.Contains(airegistry.Providers, provider) {
		return aiproviders.Result{}, apperr.Field(apperr.NotFound, "provider", "No AI provider %q: use one of %s", provider, strings.Join(airegistry.Providers, ", "))
	}
	keys, err := s.readKeys(ctx)
	if err != nil {
		return aiproviders.Result{}, err
	}
	res, err := s.d.Checker.Check(ctx, provider, keys[KeyField(provider)])
	if err != nil {
		return aiproviders.Result{}, err
	}
	attrs := []slog.Attr{slog.String("provider", provider), slog.String("status", res.Status), slog.Int64("latency_ms", res.LatencyMS)}
	if res.Error != nil {
		attrs = append(attrs, slog.String("code", res.Error.Code), slog.Int("provider_status", res.Error.ProviderStatus),
			slog.String("provider_code", res.Error.ProviderCode))
	}
	s.d.Logger.LogAttrs(ctx, slog.LevelInfo, "ai provider test", attrs...)
	return res, nil
}
