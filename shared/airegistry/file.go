// Package airegistry is the AI model registry: the versioned data file in
// this package (models.json, embedded in every binary), its validation, the
// exact cost calculation (decimal prices, math/big, no binary floating
// point), and the Registry every function reads models through — an
// in-memory cache with a TTL over the registry's DynamoDB partition, seeded
// from the data file on the first read after a deploy.
package airegistry

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/store"
)

// SchemaVersion is the data file format this code reads.
const SchemaVersion = 1

// Providers are the AI providers the service knows, in display order.
var Providers = []string{"openai", "anthropic", "runware", "bria"}

// ImageProviders are the providers that can be the default image provider.
var ImageProviders = []string{"openai", "runware", "bria"}

// Model types.
const (
	TypeText  = "text"
	TypeImage = "image"
)

//go:embed models.json
var dataFile []byte

// Defaults are the data file's default models, used until an admin saves
// the AI settings.
type Defaults struct {
	TextModel     string `json:"text_model"`
	ImageModel    string `json:"image_model"`
	ImageProvider string `json:"image_provider"`
}

// File is the parsed data file.
type File struct {
	SchemaVersion int `json:"schema_version"`
	// Version is the data version: bump it whenever an entry changes, so
	// the next cold start loads the change into the table.
	Version  int           `json:"version"`
	Defaults Defaults      `json:"defaults"`
	Models   []store.Model `json:"models"`
}

// Embedded returns the data file compiled into the binary. A malformed file
// is a build defect, caught by the package's tests.
func Embedded() (File, error) { return Parse(dataFile) }

// Parse reads and validates a data file: known schema, positive version,
// unique IDs, every model valid, defaults naming active models of the right
// type and provider.
func Parse(b []byte) (File, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return File{}, fmt.Errorf("model registry file: %w", err)
	}
	if f.SchemaVersion != SchemaVersion {
		return File{}, fmt.Errorf("model registry file: schema_version %d, this code reads %d", f.SchemaVersion, SchemaVersion)
	}
	if f.Version < 1 {
		return File{}, fmt.Errorf("model registry file: version must be a positive integer")
	}
	seen := map[string]bool{}
	for i, m := range f.Models {
		if err := Validate(m); err != nil {
			return File{}, fmt.Errorf("model registry file: models[%d] (%s): %w", i, m.ID, err)
		}
		if seen[m.ID] {
			return File{}, fmt.Errorf("model registry file: duplicate id %s", m.ID)
		}
		seen[m.ID] = true
	}
	byID := func(id string) (store.Model, bool) {
		i := slices.IndexFunc(f.Models, func(m store.Model) bool { return m.ID == id })
		if i < 0 {
			return store.Model{}, false
		}
		return f.Models[i], true
	}
	if m, ok := byID(f.Defaults.TextModel); !ok || m.Type != TypeText || !m.Active {
		return File{}, fmt.Errorf("model registry file: defaults.text_model %q is not an active text model", f.Defaults.TextModel)
	}
	if m, ok := byID(f.Defaults.ImageModel); !ok || m.Type != TypeImage || !m.Active || m.Provider != f.Defaults.ImageProvider {
		return File{}, fmt.Errorf("model registry file: defaults.image_model %q is not an active image model of %q", f.Defaults.ImageModel, f.Defaults.ImageProvider)
	}
	return f, nil
}

var (
	modelIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`) })
	// decimalPattern is a non-negative decimal with at most 9 integer and
	// 12 fractional digits: prices to a trillionth of a dollar.
	decimalPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{1,9}(\.[0-9]{1,12})?$`) })
	sizePattern    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{2,5}x[0-9]{2,5}$`) })
	qualityPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`) })
)

// ValidID reports whether id is a well-formed model ID.
func ValidID(id string) bool { return modelIDPattern().MatchString(id) }

// Validate checks one entry; errors are *apperr.Error naming the field.
func Validate(m store.Model) error {
	bad := func(field, format string, args ...any) error {
		return apperr.Field(apperr.Invalid, field, format, args...)
	}
	switch {
	case !ValidID(m.ID):
		return bad("id", "id must be 1 to 64 lower-case letters, digits, '.', '_' or '-'")
	case !slices.Contains(Providers, m.Provider):
		return bad("provider", "provider must be one of %s", strings.Join(Providers, ", "))
	case m.Type != TypeText && m.Type != TypeImage:
		return bad("type", "type must be text or image")
	case strings.TrimSpace(m.DisplayName) == "" || len(m.DisplayName) > 100:
		return bad("display_name", "display_name is required (at most 100 characters)")
	case len(m.PriceSource) > 500 || m.PriceSource == "":
		return bad("price_source", "price_source is required: where the prices come from (at most 500 characters)")
	case len(m.PriceNote) > 500:
		return bad("price_note", "price_note must be at most 500 characters")
	}
	if _, err := time.Parse(time.DateOnly, m.PriceDate); err != nil {
		return bad("price_date", "price_date must be the day the prices were taken, YYYY-MM-DD")
	}
	if m.Type == TypeText {
		if m.Provider == "runware" || m.Provider == "bria" {
			return bad("type", "%s has only image models", m.Provider)
		}
		for field, v := range map[string]string{"input_usd_per_million_tokens": m.InputUSDPerMillionTokens, "output_usd_per_million_tokens": m.OutputUSDPerMillionTokens} {
			if !decimalPattern().MatchString(v) {
				return bad(field, "%s must be a decimal string such as \"2.50\" (USD per million tokens)", field)
			}
		}
		switch {
		case m.ContextWindow < 1 || m.ContextWindow > 100_000_000:
			return bad("context_window", "context_window must be a positive number of tokens")
		case m.MaxOutputTokens < 1 || m.MaxOutputTokens > m.ContextWindow:
			return bad("max_output_tokens", "max_output_tokens must be positive and at most context_window")
		case len(m.ImagePrices) > 0 || m.DefaultSize != "" || m.DefaultQuality != "":
			return bad("image_prices", "a text model has no image prices, default_size or default_quality")
		}
		return nil
	}
	if m.Provider == "anthropic" {
		return bad("type", "anthropic has only text models")
	}
	switch {
	case m.InputUSDPerMillionTokens != "" || m.OutputUSDPerMillionTokens != "" || m.ContextWindow != 0 || m.MaxOutputTokens != 0:
		return bad("input_usd_per_million_tokens", "an image model has no token prices, context_window or max_output_tokens")
	case len(m.ImagePrices) == 0 || len(m.ImagePrices) > 50:
		return bad("image_prices", "an image model needs 1 to 50 image_prices")
	}
	seen := map[[2]string]bool{}
	for i, p := range m.ImagePrices {
		field := fmt.Sprintf("image_prices[%d]", i)
		switch {
		case !decimalPattern().MatchString(p.USDPerImage):
			return bad(field+".usd_per_image", "usd_per_image must be a decimal string such as \"0.040\"")
		case p.Size != "" && !sizePattern().MatchString(p.Size):
			return bad(field+".size", "size must look like 1024x1024")
		case p.Quality != "" && !qualityPattern().MatchString(p.Quality):
			return bad(field+".quality", "quality must be a short lower-case word such as standard or hd")
		case seen[[2]string{p.Size, p.Quality}]:
			return bad(field, "two prices for size %q and quality %q", p.Size, p.Quality)
		}
		seen[[2]string{p.Size, p.Quality}] = true
	}
	if m.DefaultSize != "" || m.DefaultQuality != "" {
		if _, err := imagePrice(m, m.DefaultSize, m.DefaultQuality); err != nil {
			return bad("default_size", "default_size and default_quality must name one of the image_prices")
		}
	}
	return nil
}
