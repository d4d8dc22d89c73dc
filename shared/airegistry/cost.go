package airegistry

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/store"
)

// Limits of one cost request: far above any single call, small enough that
// the exact arithmetic stays cheap.
const (
	MaxTokens = 1_000_000_000_000
	MaxImages = 1_000_000
)

// CostRequest is one call's usage: tokens for a text model, images (and
// optionally size and quality) for an image model.
type CostRequest struct {
	InputTokens  int64
	OutputTokens int64
	Images       int64
	Size         string
	Quality      string
}

// UnitPrices are the prices a cost was computed from.
type UnitPrices struct {
	InputUSDPerMillionTokens  string `json:"input_usd_per_million_tokens,omitempty"`
	OutputUSDPerMillionTokens string `json:"output_usd_per_million_tokens,omitempty"`
	USDPerImage               string `json:"usd_per_image,omitempty"`
	Size                      string `json:"size,omitempty"`
	Quality                   string `json:"quality,omitempty"`
}

// Cost is the seed's calculate_cost result: the cost in USD as an exact
// decimal string, the usage it is for and the unit prices used.
type Cost struct {
	ModelID      string     `json:"model_id"`
	Provider     string     `json:"provider"`
	Type         string     `json:"type"`
	CostUSD      string     `json:"cost_usd"`
	InputTokens  int64      `json:"input_tokens"`
	OutputTokens int64      `json:"output_tokens"`
	Images       int64      `json:"images"`
	UnitPrices   UnitPrices `json:"unit_prices"`
	PriceSource  string     `json:"price_source"`
	PriceDate    string     `json:"price_date"`
}

var million = big.NewRat(1_000_000, 1)

// Calculate computes the cost of req on model m exactly: prices are parsed
// as decimal fractions (big.Rat), multiplied by whole counts, divided by a
// million for token prices, and printed back as a finite decimal — every
// price has at most 12 fractional digits, so the result has at most 18 and
// is exact. Errors are *apperr.Error naming the field.
func Calculate(m store.Model, req CostRequest) (Cost, error) {
	out := Cost{ModelID: m.ID, Provider: m.Provider, Type: m.Type, PriceSource: m.PriceSource, PriceDate: m.PriceDate}
	total := new(big.Rat)
	switch m.Type {
	case TypeText:
		switch {
		case req.Images != 0 || req.Size != "" || req.Quality != "":
			return Cost{}, apperr.Field(apperr.Invalid, "images", "%s is a text model: send input_tokens and output_tokens", m.ID)
		case req.InputTokens < 0 || req.InputTokens > MaxTokens:
			return Cost{}, apperr.Field(apperr.Invalid, "input_tokens", "input_tokens must be a whole number from 0 to %d", int64(MaxTokens))
		case req.OutputTokens < 0 || req.OutputTokens > MaxTokens:
			return Cost{}, apperr.Field(apperr.Invalid, "output_tokens", "output_tokens must be a whole number from 0 to %d", int64(MaxTokens))
		}
		in, err := decimal(m.InputUSDPerMillionTokens)
		if err != nil {
			return Cost{}, fmt.Errorf("model %s input price: %w", m.ID, err)
		}
		outPrice, err := decimal(m.OutputUSDPerMillionTokens)
		if err != nil {
			return Cost{}, fmt.Errorf("model %s output price: %w", m.ID, err)
		}
		total.Add(
			new(big.Rat).Mul(in, new(big.Rat).SetInt64(req.InputTokens)),
			new(big.Rat).Mul(outPrice, new(big.Rat).SetInt64(req.OutputTokens)))
		total.Quo(total, million)
		out.InputTokens, out.OutputTokens = req.InputTokens, req.OutputTokens
		out.UnitPrices = UnitPrices{InputUSDPerMillionTokens: m.InputUSDPerMillionTokens, OutputUSDPerMillionTokens: m.OutputUSDPerMillionTokens}
	case TypeImage:
		switch {
		case req.InputTokens != 0 || req.OutputTokens != 0:
			return Cost{}, apperr.Field(apperr.Invalid, "input_tokens", "%s is an image model: send images (and size or quality)", m.ID)
		case req.Images < 1 || req.Images > MaxImages:
			return Cost{}, apperr.Field(apperr.Invalid, "images", "images must be a whole number from 1 to %d", MaxImages)
		}
		size, quality := req.Size, req.Quality
		if size == "" {
			size = m.DefaultSize
		}
		if quality == "" {
			quality = m.DefaultQuality
		}
		p, err := imagePrice(m, size, quality)
		if err != nil {
			return Cost{}, err
		}
		unit, err := decimal(p.USDPerImage)
		if err != nil {
			return Cost{}, fmt.Errorf("model %s image price: %w", m.ID, err)
		}
		total.Mul(unit, new(big.Rat).SetInt64(req.Images))
		out.Images = req.Images
		out.UnitPrices = UnitPrices{USDPerImage: p.USDPerImage, Size: p.Size, Quality: p.Quality}
	default:
		return Cost{}, fmt.Errorf("model %s has unknown type %q", m.ID, m.Type)
	}
	out.CostUSD = formatDecimal(total)
	return out, nil
}

// imagePrice finds the price for size and quality; an entry with an empty
// size or quality matches any.
func imagePrice(m store.Model, size, quality string) (store.ImagePrice, error) {
	for _, p := range m.ImagePrices {
		if (p.Size == "" || p.Size == size) && (p.Quality == "" || p.Quality == quality) {
			return p, nil
		}
	}
	var offered []string
	for _, p := range m.ImagePrices {
		offered = append(offered, strings.Trim(p.Size+" "+p.Quality, " "))
	}
	field := "size"
	if size == "" && quality != "" {
		field = "quality"
	}
	return store.ImagePrice{}, apperr.Field(apperr.Unprocessable, field,
		"%s has no price for size %q and quality %q; it is priced for: %s", m.ID, size, quality, strings.Join(offered, ", "))
}

// decimal parses a validated decimal price string exactly.
func decimal(s string) (*big.Rat, error) {
	if !decimalPattern().MatchString(s) {
		return nil, fmt.Errorf("price %q is not a decimal string", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("price %q is not a decimal string", s)
	}
	return r, nil
}

// maxCostDigits is enough fractional digits for any cost: prices have at
// most 12, token prices are divided by 10^6.
const maxCostDigits = 18

// formatDecimal prints r, whose denominator divides 10^18, as a plain
// decimal without trailing zeros ("0.00045", "12", "0").
func formatDecimal(r *big.Rat) string {
	s := r.FloatString(maxCostDigits)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
