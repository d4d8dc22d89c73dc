package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/igny8/integrations/shared/aiproviders"
	"github.com/igny8/integrations/shared/airegistry"
	"github.com/igny8/integrations/shared/aisettings"
	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/store"
)

// AISettingsService is what the API needs from the AI settings service
// (*aisettings.Service).
type AISettingsService interface {
	Get(ctx context.Context) (aisettings.View, error)
	Apply(ctx context.Context, u aisettings.Update) (aisettings.View, error)
	Test(ctx context.Context, provider string) (aiproviders.Result, error)
}

// ModelRegistry is what the API needs from the model registry
// (*airegistry.Registry).
type ModelRegistry interface {
	List(ctx context.Context, f airegistry.Filter) ([]store.Model, error)
	Get(ctx context.Context, id string) (store.Model, error)
	Cost(ctx context.Context, id string, req airegistry.CostRequest) (airegistry.Cost, error)
	Put(ctx context.Context, m store.Model) (store.Model, bool, error)
	Deactivate(ctx context.Context, id string) (store.Model, error)
}

var (
	_ AISettingsService = (*aisettings.Service)(nil)
	_ ModelRegistry     = (*airegistry.Registry)(nil)
)

// ------------------------------------------------------------ settings ---

// clearable is a request member that can be absent (kept), null or ""
// (cleared) or a string (set).
type clearable struct {
	set   bool
	value string
}

func (c *clearable) UnmarshalJSON(b []byte) error {
	c.set = true
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return apperr.New(apperr.Invalid, "API keys must be strings, or null or \"\" to clear them")
	}
	c.value = s
	return nil
}

func (c clearable) ptr() *string {
	if !c.set {
		return nil
	}
	v := strings.TrimSpace(c.value)
	return &v
}

// aiSettingsRequest is the body of PUT and PATCH /api/v1/ai/settings/. The
// response's read-only members are accepted and ignored, so a client can
// send back what it read.
type aiSettingsRequest struct {
	OpenAIKey            clearable `json:"openai_api_key"`
	AnthropicKey         clearable `json:"anthropic_api_key"`
	RunwareKey           clearable `json:"runware_api_key"`
	BriaKey              clearable `json:"bria_api_key"`
	DefaultTextModel     *string   `json:"default_text_model"`
	DefaultImageModel    *string   `json:"default_image_model"`
	DefaultImageProvider *string   `json:"default_image_provider"`
	// Version is the version the client read, as an alternative to If-Match.
	Version *int64 `json:"version"`

	Providers any `json:"providers"`
	UpdatedAt any `json:"updated_at"`
}

func (r aiSettingsRequest) Validate() error {
	if r.Version != nil && *r.Version < 0 {
		return apperr.Field(apperr.Invalid, "version", "version must be the version you read")
	}
	for _, d := range r.defaults() {
		if d.value != nil && len(*d.value) > 64 {
			return apperr.Field(apperr.Invalid, d.name, "%s must be at most 64 characters", d.name)
		}
	}
	return nil
}

type namedDefault struct {
	name  string
	value *string
}

// defaults lists the default members in a fixed order, so errors name the
// same field every time.
func (r aiSettingsRequest) defaults() []namedDefault {
	return []namedDefault{{"default_text_model", r.DefaultTextModel}, {"default_image_model", r.DefaultImageModel}, {"default_image_provider", r.DefaultImageProvider}}
}

func (s *Server) handleGetAISettings(w http.ResponseWriter, r *http.Request) error {
	v, err := s.deps.AI.Get(r.Context())
	if err != nil {
		return err
	}
	setETag(w, v.Version)
	return encode(w, http.StatusOK, v)
}

func (s *Server) handleReplaceAISettings(w http.ResponseWriter, r *http.Request) error {
	return s.updateAISettings(w, r, true)
}

func (s *Server) handlePatchAISettings(w http.ResponseWriter, r *http.Request) error {
	return s.updateAISettings(w, r, false)
}

func (s *Server) updateAISettings(w http.ResponseWriter, r *http.Request, replace bool) error {
	req, err := decode[aiSettingsRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	version, err := expectedVersion(r, req.Version)
	if err != nil {
		return err
	}
	if replace {
		for _, d := range req.defaults() {
			if d.value == nil {
				return apperr.Field(apperr.Invalid, d.name, "PUT replaces the defaults: %s is required (use PATCH to change some; absent keys are kept)", d.name)
			}
		}
	}
	u := aisettings.Update{
		Keys:             map[string]*string{},
		DefaultTextModel: req.DefaultTextModel, DefaultImageModel: req.DefaultImageModel, DefaultImageProvider: req.DefaultImageProvider,
		ExpectedVersion: version,
		// A body version of 0 means "read before the first save"; If-Match
		// carries only versions of saved settings.
		CheckVersion: version > 0 || req.Version != nil,
	}
	for p, c := range map[string]clearable{"openai": req.OpenAIKey, "anthropic": req.AnthropicKey, "runware": req.RunwareKey, "bria": req.BriaKey} {
		if v := c.ptr(); v != nil {
			u.Keys[p] = v
		}
	}
	v, err := s.deps.AI.Apply(r.Context(), u)
	if err != nil {
		return err
	}
	setETag(w, v.Version)
	return encode(w, http.StatusOK, v)
}

func (s *Server) handleTestAIProvider(w http.ResponseWriter, r *http.Request) error {
	res, err := s.deps.AI.Test(r.Context(), r.PathValue("provider"))
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, res)
}

// -------------------------------------------------------------- models ---

// modelJSON is a registry entry as the API shows it: the data file's
// members plus where the entry came from and when it last changed.
type modelJSON struct {
	store.Model
	// Source is "seed" (loaded from the data file) or "admin" (created or
	// edited through the API; later data files leave it alone).
	Source    string     `json:"source"`
	UpdatedAt *time.Time `json:"updated_at"`
}

func presentModel(m store.Model) modelJSON {
	out := modelJSON{Model: m, Source: "seed"}
	if m.EditedByAdmin {
		out.Source = "admin"
	}
	if out.ImagePrices == nil && m.Type == airegistry.TypeImage {
		out.ImagePrices = []store.ImagePrice{}
	}
	if !m.UpdatedAt.IsZero() {
		at := m.UpdatedAt
		out.UpdatedAt = &at
	}
	return out
}

func (s *Server) handleListModels(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := airegistry.Filter{Type: q.Get("type"), Provider: q.Get("provider")}
	if f.Type != "" && f.Type != airegistry.TypeText && f.Type != airegistry.TypeImage {
		return apperr.Field(apperr.Invalid, "type", "type must be text or image")
	}
	if f.Provider != "" && !slices.Contains(airegistry.Providers, f.Provider) {
		return apperr.Field(apperr.Invalid, "provider", "provider must be one of %s", strings.Join(airegistry.Providers, ", "))
	}
	if v := q.Get("include_inactive"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return apperr.Field(apperr.Invalid, "include_inactive", "include_inactive must be true or false")
		}
		f.IncludeInactive = b
	}
	models, err := s.deps.Models.List(r.Context(), f)
	if err != nil {
		return err
	}
	out := list[modelJSON]{Items: make([]modelJSON, 0, len(models))}
	for _, m := range models {
		out.Items = append(out.Items, presentModel(m))
	}
	return encode(w, http.StatusOK, out)
}

// modelID reads the path's model ID; a malformed one cannot exist.
func modelID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !airegistry.ValidID(id) {
		return "", apperr.Wrap(airegistry.ErrNotFound, apperr.NotFound, "No model %q in the registry", id)
	}
	return id, nil
}

func (s *Server) handleGetModel(w http.ResponseWriter, r *http.Request) error {
	id, err := modelID(r)
	if err != nil {
		return err
	}
	m, err := s.deps.Models.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, presentModel(m))
}

// costRequest is the body of POST /api/v1/ai/models/{id}/cost/.
type costRequest struct {
	InputTokens  *int64 `json:"input_tokens"`
	OutputTokens *int64 `json:"output_tokens"`
	Images       *int64 `json:"images"`
	Size         string `json:"size"`
	Quality      string `json:"quality"`
}

func (c costRequest) Validate() error {
	if c.InputTokens == nil && c.OutputTokens == nil && c.Images == nil {
		return apperr.Field(apperr.Invalid, "input_tokens", "send input_tokens and output_tokens (text models) or images (image models)")
	}
	if len(c.Size) > 16 || len(c.Quality) > 32 {
		return apperr.Field(apperr.Invalid, "size", "size or quality is too long")
	}
	return nil
}

func (s *Server) handleModelCost(w http.ResponseWriter, r *http.Request) error {
	id, err := modelID(r)
	if err != nil {
		return err
	}
	req, err := decode[costRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	n := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	c, err := s.deps.Models.Cost(r.Context(), id, airegistry.CostRequest{
		InputTokens: n(req.InputTokens), OutputTokens: n(req.OutputTokens), Images: n(req.Images),
		Size: strings.TrimSpace(req.Size), Quality: strings.TrimSpace(req.Quality),
	})
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, c)
}

// modelRequest is the body of PUT /api/v1/ai/models/{id}/: the whole entry
// in the data file's format. active is required (a missing boolean would
// silently deactivate); id may be omitted but must match the path; the
// response's read-only members are accepted and ignored.
type modelRequest struct {
	store.Model
	Active    *bool `json:"active"`
	Source    any   `json:"source"`
	UpdatedAt any   `json:"updated_at"`
}

func (m modelRequest) Validate() error {
	if m.Active == nil {
		return apperr.Field(apperr.Invalid, "active", "active is required: true or false")
	}
	return nil
}

func (s *Server) handlePutModel(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !airegistry.ValidID(id) {
		return apperr.Field(apperr.Invalid, "id", "a model id is 1 to 64 lower-case letters, digits, '.', '_' or '-'")
	}
	req, err := decode[modelRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	if req.ID != "" && req.ID != id {
		return apperr.Field(apperr.Invalid, "id", "id %q in the body differs from %q in the path", req.ID, id)
	}
	m := req.Model
	m.ID, m.Active = id, *req.Active
	saved, created, err := s.deps.Models.Put(r.Context(), m)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/ai/models/"+id+"/")
	}
	return encode(w, status, presentModel(saved))
}

func (s *Server) handleDeactivateModel(w http.ResponseWriter, r *http.Request) error {
	id, err := modelID(r)
	if err != nil {
		return err
	}
	m, err := s.deps.Models.Deactivate(r.Context(), id)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, presentModel(m))
}
