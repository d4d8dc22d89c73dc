package airegistry

import (
	"slices"
	"strings"
	"testing"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/store"
)

func mustFile(t *testing.T) File {
	t.Helper()
	f, err := Embedded()
	if err != nil {
		t.Fatalf("the embedded models.json is invalid: %v", err)
	}
	return f
}

func mustModel(t *testing.T, f File, id string) store.Model {
	t.Helper()
	i := slices.IndexFunc(f.Models, func(m store.Model) bool { return m.ID == id })
	if i < 0 {
		t.Fatalf("models.json has no %s", id)
	}
	return f.Models[i]
}

func TestDataFileHasTheSeedModels(t *testing.T) {
	f := mustFile(t)
	var ids []string
	for _, m := range f.Models {
		ids = append(ids, m.ID)
		if m.PriceSource == "" || m.PriceDate == "" {
			t.Errorf("%s has no price source or date", m.ID)
		}
	}
	want := []string{"gpt-4o", "gpt-4o-mini", "dall-e-3", "claude-3-5-sonnet", "claude-3-opus", "claude-3-haiku", "runware-v2", "bria-2.3", "bria-2.3-fast", "bria-2.2"}
	if !slices.Equal(ids, want) {
		t.Fatalf("models.json has %v, want the seed's %v", ids, want)
	}
	if f.Defaults != (Defaults{TextModel: "gpt-4o-mini", ImageModel: "dall-e-3", ImageProvider: "openai"}) {
		t.Fatalf("defaults %+v", f.Defaults)
	}
}

// TestCostIsExact checks calculate_cost against values worked out by hand
// from models.json's prices. Each case first asserts the prices it was
// worked out from, so a price change in the file fails here loudly instead
// of silently changing the expected values.
func TestCostIsExact(t *testing.T) {
	f := mustFile(t)
	tests := []struct {
		model      string
		prices     []string // the prices the hand computation used
		req        CostRequest
		want       string
		wantPrices UnitPrices
	}{
		// 1,000 × $0.15/M + 500 × $0.60/M = 0.00015 + 0.0003 = 0.00045
		{"gpt-4o-mini", []string{"0.15", "0.60"}, CostRequest{InputTokens: 1000, OutputTokens: 500}, "0.00045",
			UnitPrices{InputUSDPerMillionTokens: "0.15", OutputUSDPerMillionTokens: "0.60"}},
		// 1,234,567 × 2.50/M + 89 × 10.00/M = 3.0864175 + 0.00089 = 3.0873075
		{"gpt-4o", []string{"2.50", "10.00"}, CostRequest{InputTokens: 1_234_567, OutputTokens: 89}, "3.0873075",
			UnitPrices{InputUSDPerMillionTokens: "2.50", OutputUSDPerMillionTokens: "10.00"}},
		// 1 × 0.25/M + 1 × 1.25/M = 0.0000015
		{"claude-3-haiku", []string{"0.25", "1.25"}, CostRequest{InputTokens: 1, OutputTokens: 1}, "0.0000015",
			UnitPrices{InputUSDPerMillionTokens: "0.25", OutputUSDPerMillionTokens: "1.25"}},
		// 10^12 × 15.00/M = 15,000,000 exactly
		{"claude-3-opus", []string{"15.00", "75.00"}, CostRequest{InputTokens: MaxTokens}, "15000000",
			UnitPrices{InputUSDPerMillionTokens: "15.00", OutputUSDPerMillionTokens: "75.00"}},
		{"claude-3-5-sonnet", []string{"3.00", "15.00"}, CostRequest{}, "0",
			UnitPrices{InputUSDPerMillionTokens: "3.00", OutputUSDPerMillionTokens: "15.00"}},
		// 3 × $0.120 (hd, 1792x1024) = 0.36
		{"dall-e-3", []string{"0.120"}, CostRequest{Images: 3, Size: "1792x1024", Quality: "hd"}, "0.36",
			UnitPrices{USDPerImage: "0.120", Size: "1792x1024", Quality: "hd"}},
		// defaults: standard 1024x1024 at $0.040
		{"dall-e-3", []string{"0.040"}, CostRequest{Images: 1}, "0.04",
			UnitPrices{USDPerImage: "0.040", Size: "1024x1024", Quality: "standard"}},
		// 7 × $0.0013 = 0.0091
		{"runware-v2", []string{"0.0013"}, CostRequest{Images: 7}, "0.0091", UnitPrices{USDPerImage: "0.0013", Size: "1024x1024"}},
		// one price for any size: 10 × $0.028 = 0.28
		{"bria-2.3-fast", []string{"0.028"}, CostRequest{Images: 10, Size: "512x512"}, "0.28", UnitPrices{USDPerImage: "0.028"}},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			m := mustModel(t, f, tt.model)
			var have []string
			if m.Type == TypeText {
				have = []string{m.InputUSDPerMillionTokens, m.OutputUSDPerMillionTokens}
			} else {
				p, err := imagePrice(m, cmpOr(tt.req.Size, m.DefaultSize), cmpOr(tt.req.Quality, m.DefaultQuality))
				if err != nil {
					t.Fatal(err)
				}
				have = []string{p.USDPerImage}
			}
			if !slices.Equal(have, tt.prices) {
				t.Fatalf("models.json prices %v, the hand computation assumed %v: update the expected value", have, tt.prices)
			}
			c, err := Calculate(m, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if c.CostUSD != tt.want || c.UnitPrices != tt.wantPrices || c.ModelID != tt.model {
				t.Fatalf("cost %s with %+v, want %s with %+v", c.CostUSD, c.UnitPrices, tt.want, tt.wantPrices)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestCostHasNoBinaryFloatingPoint uses prices and counts where float64
// arithmetic is visibly wrong (0.1 + 0.2, and 18 significant digits).
func TestCostHasNoBinaryFloatingPoint(t *testing.T) {
	m := store.Model{ID: "x", Provider: "openai", Type: TypeText, InputUSDPerMillionTokens: "0.1", OutputUSDPerMillionTokens: "0.2"}
	c, err := Calculate(m, CostRequest{InputTokens: 1_000_000, OutputTokens: 1_000_000})
	if err != nil || c.CostUSD != "0.3" {
		t.Fatalf("0.1 + 0.2 = %q (%v), want exactly 0.3", c.CostUSD, err)
	}
	m.InputUSDPerMillionTokens, m.OutputUSDPerMillionTokens = "123456789.000000000001", "0"
	c, err = Calculate(m, CostRequest{InputTokens: 999_999_999_999})
	// 999,999,999,999 × 123,456,789 = 123,456,788,999,876,543,211, plus
	// 999,999,999,999 × 10^-12 = 0.999999999999; divided by 10^6.
	if want := "123456788999876.543211999999999999"; err != nil || c.CostUSD != want {
		t.Fatalf("cost %q (%v), want %s", c.CostUSD, err, want)
	}
}

func TestCostRejectsTheWrongUsage(t *testing.T) {
	f := mustFile(t)
	tests := []struct {
		model     string
		req       CostRequest
		wantCode  apperr.Code
		wantField string
	}{
		{"gpt-4o-mini", CostRequest{Images: 1}, apperr.Invalid, "images"},
		{"gpt-4o-mini", CostRequest{InputTokens: -1}, apperr.Invalid, "input_tokens"},
		{"gpt-4o-mini", CostRequest{OutputTokens: MaxTokens + 1}, apperr.Invalid, "output_tokens"},
		{"dall-e-3", CostRequest{InputTokens: 5}, apperr.Invalid, "input_tokens"},
		{"dall-e-3", CostRequest{}, apperr.Invalid, "images"},
		{"dall-e-3", CostRequest{Images: 1, Size: "256x256"}, apperr.Unprocessable, "size"},
		{"dall-e-3", CostRequest{Images: 1, Quality: "ultra"}, apperr.Unprocessable, "size"},
	}
	for _, tt := range tests {
		_, err := Calculate(mustModel(t, f, tt.model), tt.req)
		ae := apperr.As(err)
		if err == nil || ae.Code != tt.wantCode || ae.Field != tt.wantField {
			t.Errorf("%s %+v: %v, want %s on %s", tt.model, tt.req, err, tt.wantCode, tt.wantField)
		}
	}
}

func TestParseRejectsBadFiles(t *testing.T) {
	good := `{"schema_version":1,"version":1,"defaults":{"text_model":"t","image_model":"i","image_provider":"bria"},"models":[` +
		`{"id":"t","provider":"openai","type":"text","display_name":"T","input_usd_per_million_tokens":"1","output_usd_per_million_tokens":"2","context_window":10,"max_output_tokens":5,"active":true,"deprecated":false,"price_source":"s","price_date":"2026-01-02"},` +
		`{"id":"i","provider":"bria","type":"image","display_name":"I","image_prices":[{"usd_per_image":"0.04"}],"active":true,"deprecated":false,"price_source":"s","price_date":"2026-01-02"}]}`
	if _, err := Parse([]byte(good)); err != nil {
		t.Fatalf("the valid file: %v", err)
	}
	tests := []struct{ name, from, to, want string }{
		{"price as a JSON number", `"input_usd_per_million_tokens":"1"`, `"input_usd_per_million_tokens":1`, "cannot unmarshal number"},
		{"price in exponent form", `"input_usd_per_million_tokens":"1"`, `"input_usd_per_million_tokens":"1e3"`, "input_usd_per_million_tokens"},
		{"unknown member", `"deprecated":false,"price_source":"s","price_date":"2026-01-02"},{"id":"i"`, `"deprecated":false,"colour":"red","price_source":"s","price_date":"2026-01-02"},{"id":"i"`, "unknown field"},
		{"newer schema", `"schema_version":1`, `"schema_version":2`, "schema_version 2"},
		{"duplicate id", `{"id":"i"`, `{"id":"t"`, "duplicate id t"},
		{"bad date", `"price_date":"2026-01-02"}]`, `"price_date":"Jan 2"}]`, "price_date"},
		{"text model with image prices", `"max_output_tokens":5,`, `"max_output_tokens":5,"image_prices":[{"usd_per_image":"1"}],`, "image_prices"},
		{"default text model inactive", `"max_output_tokens":5,"active":true`, `"max_output_tokens":5,"active":false`, "defaults.text_model"},
		{"default image model of another provider", `"image_provider":"bria"`, `"image_provider":"openai"`, "defaults.image_model"},
		{"anthropic image model", `"provider":"bria","type":"image"`, `"provider":"anthropic","type":"image"`, "only text models"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Replace(good, tt.from, tt.to, 1)
			if bad == good {
				t.Fatalf("the replacement did not apply")
			}
			_, err := Parse([]byte(bad))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func BenchmarkCalculateText(b *testing.B) {
	f, err := Embedded()
	if err != nil {
		b.Fatal(err)
	}
	i := slices.IndexFunc(f.Models, func(m store.Model) bool { return m.ID == "gpt-4o-mini" })
	m := f.Models[i]
	for b.Loop() {
		if _, err := Calculate(m, CostRequest{InputTokens: 1000, OutputTokens: 500}); err != nil {
			b.Fatal(err)
		}
	}
}
