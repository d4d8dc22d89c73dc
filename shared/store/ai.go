package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const (
	entityAISettings = "ai_settings"
	entityModel      = "model"
	entityModelSeed  = "model_seed"
)

// ProviderKey describes one AI provider's stored API key without the key:
// the key itself lives only in Secrets Manager.
type ProviderKey struct {
	Last4     string
	UpdatedAt time.Time
}

// AISettings is the global AI settings item: the default models and, per
// provider that has a key, the key's last four characters and when it
// changed. A provider absent from Keys has no key.
type AISettings struct {
	DefaultTextModel     string
	DefaultImageModel    string
	DefaultImageProvider string
	Keys                 map[string]ProviderKey
	UpdatedAt            time.Time
	// Version is 0 until the settings are first saved.
	Version int64
}

type providerKeyItem struct {
	Last4     string
	UpdatedAt string
}

type aiSettingsItem struct {
	PK, SK               string
	Entity               string
	DefaultTextModel     string `dynamodbav:",omitempty"`
	DefaultImageModel    string `dynamodbav:",omitempty"`
	DefaultImageProvider string `dynamodbav:",omitempty"`
	Keys                 map[string]providerKeyItem
	UpdatedAt            string
	Version              int64
}

// GetAISettings reads the settings item (consistent read); ErrNotFound
// until they are first saved.
func (s *Store) GetAISettings(ctx context.Context) (AISettings, error) {
	item, err := s.getItem(ctx, AISettingsKey())
	if err != nil {
		return AISettings{}, fmt.Errorf("get ai settings: %w", err)
	}
	if item == nil {
		return AISettings{}, fmt.Errorf("get ai settings: %w", ErrNotFound)
	}
	var it aiSettingsItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return AISettings{}, fmt.Errorf("decode ai settings: %w", err)
	}
	out := AISettings{
		DefaultTextModel: it.DefaultTextModel, DefaultImageModel: it.DefaultImageModel,
		DefaultImageProvider: it.DefaultImageProvider, Keys: map[string]ProviderKey{},
		UpdatedAt: parseTime(it.UpdatedAt), Version: it.Version,
	}
	for p, k := range it.Keys {
		out.Keys[p] = ProviderKey{Last4: k.Last4, UpdatedAt: parseTime(k.UpdatedAt)}
	}
	return out, nil
}

// PutAISettings writes the settings as version st.Version+1, on condition
// that the stored version is still st.Version (0: not yet saved). A lost
// race is ErrPreconditionFailed.
func (s *Store) PutAISettings(ctx context.Context, st AISettings) (AISettings, error) {
	key := AISettingsKey()
	now := s.clock()
	it := aiSettingsItem{
		PK: key.PK, SK: key.SK, Entity: entityAISettings,
		DefaultTextModel: st.DefaultTextModel, DefaultImageModel: st.DefaultImageModel,
		DefaultImageProvider: st.DefaultImageProvider, Keys: map[string]providerKeyItem{},
		UpdatedAt: formatTime(now), Version: st.Version + 1,
	}
	for p, k := range st.Keys {
		it.Keys[p] = providerKeyItem{Last4: k.Last4, UpdatedAt: formatTime(k.UpdatedAt)}
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return AISettings{}, fmt.Errorf("encode ai settings: %w", err)
	}
	cond := notExists()
	if st.Version > 0 {
		cond = versionIs(st.Version)
	}
	if err := s.conditionalPut(ctx, entityAISettings, item, *cond); err != nil {
		if isConditionFailed(err) {
			return AISettings{}, fmt.Errorf("put ai settings at version %d: %w", st.Version, ErrPreconditionFailed)
		}
		return AISettings{}, fmt.Errorf("put ai settings: %w", err)
	}
	st.UpdatedAt, st.Version = now, st.Version+1
	return st, nil
}

// ImagePrice is an image model's price for one size and quality (empty
// size or quality: any). Prices are decimal strings, never floats.
type ImagePrice struct {
	Size        string `json:"size,omitempty"`
	Quality     string `json:"quality,omitempty"`
	USDPerImage string `json:"usd_per_image"`
}

// Model is one model registry entry. Its JSON form is the repository's
// data file format (shared/airegistry/models.json) and the API's; prices are
// decimal strings so that no binary floating point touches them.
type Model struct {
	ID          string `json:"id"`
	Provider    string `json:"provider"`
	Type        string `json:"type"`
	DisplayName string `json:"display_name"`
	// Text models: USD per million input and output tokens, the context
	// window and the largest output, in tokens.
	InputUSDPerMillionTokens  string `json:"input_usd_per_million_tokens,omitempty"`
	OutputUSDPerMillionTokens string `json:"output_usd_per_million_tokens,omitempty"`
	ContextWindow             int    `json:"context_window,omitempty"`
	MaxOutputTokens           int    `json:"max_output_tokens,omitempty"`
	// Image models: one price per size and quality, and the size and
	// quality a cost request without them means.
	ImagePrices    []ImagePrice `json:"image_prices,omitempty"`
	DefaultSize    string       `json:"default_size,omitempty"`
	DefaultQuality string       `json:"default_quality,omitempty"`
	Active         bool         `json:"active"`
	Deprecated     bool         `json:"deprecated"`
	// PriceSource is where the prices come from (a URL) and PriceDate the
	// day they were taken from it (YYYY-MM-DD).
	PriceSource string `json:"price_source"`
	PriceDate   string `json:"price_date"`
	PriceNote   string `json:"price_note,omitempty"`

	// SeedVersion is the data file version the entry was last loaded from
	// (0: created by an admin).
	SeedVersion int `json:"-"`
	// EditedByAdmin entries are never overwritten by a later data file.
	EditedByAdmin bool      `json:"-"`
	UpdatedAt     time.Time `json:"-"`
}

type modelItem struct {
	PK, SK        string
	Entity        string
	ModelID       string
	Provider      string
	Type          string
	DisplayName   string
	InputPrice    string       `dynamodbav:",omitempty"`
	OutputPrice   string       `dynamodbav:",omitempty"`
	ContextWindow int          `dynamodbav:",omitempty"`
	MaxOutput     int          `dynamodbav:",omitempty"`
	ImagePrices   []ImagePrice `dynamodbav:",omitempty"`
	DefaultSize   string       `dynamodbav:",omitempty"`
	DefaultQual   string       `dynamodbav:",omitempty"`
	Active        bool
	Deprecated    bool
	PriceSource   string `dynamodbav:",omitempty"`
	PriceDate     string `dynamodbav:",omitempty"`
	PriceNote     string `dynamodbav:",omitempty"`
	SeedVersion   int
	EditedByAdmin bool
	UpdatedAt     string
}

func marshalModel(m Model) (map[string]types.AttributeValue, error) {
	key := ModelKey(m.ID)
	return attributevalue.MarshalMap(modelItem{
		PK: key.PK, SK: key.SK, Entity: entityModel,
		ModelID: m.ID, Provider: m.Provider, Type: m.Type, DisplayName: m.DisplayName,
		InputPrice: m.InputUSDPerMillionTokens, OutputPrice: m.OutputUSDPerMillionTokens,
		ContextWindow: m.ContextWindow, MaxOutput: m.MaxOutputTokens,
		ImagePrices: m.ImagePrices, DefaultSize: m.DefaultSize, DefaultQual: m.DefaultQuality,
		Active: m.Active, Deprecated: m.Deprecated,
		PriceSource: m.PriceSource, PriceDate: m.PriceDate, PriceNote: m.PriceNote,
		SeedVersion: m.SeedVersion, EditedByAdmin: m.EditedByAdmin, UpdatedAt: formatTime(m.UpdatedAt),
	})
}

func unmarshalModel(item map[string]types.AttributeValue) (Model, error) {
	var it modelItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Model{}, fmt.Errorf("decode model: %w", err)
	}
	return Model{
		ID: it.ModelID, Provider: it.Provider, Type: it.Type, DisplayName: it.DisplayName,
		InputUSDPerMillionTokens: it.InputPrice, OutputUSDPerMillionTokens: it.OutputPrice,
		ContextWindow: it.ContextWindow, MaxOutputTokens: it.MaxOutput,
		ImagePrices: it.ImagePrices, DefaultSize: it.DefaultSize, DefaultQuality: it.DefaultQual,
		Active: it.Active, Deprecated: it.Deprecated,
		PriceSource: it.PriceSource, PriceDate: it.PriceDate, PriceNote: it.PriceNote,
		SeedVersion: it.SeedVersion, EditedByAdmin: it.EditedByAdmin, UpdatedAt: parseTime(it.UpdatedAt),
	}, nil
}

// ModelSet is the whole registry partition: every entry, in ID order, and
// the version of the data file last seeded (0: never).
type ModelSet struct {
	Models      []Model
	SeedVersion int
}

// maxModelPages bounds the registry read; the registry is tens of small
// items (one page), so more than this is a bug, not a big registry.
const maxModelPages = 20

// LoadModels reads the registry partition: one Query (more only past 1 MB).
func (s *Store) LoadModels(ctx context.Context) (ModelSet, error) {
	kc := expression.Key(AttrPK).Equal(expression.Value(ModelPartition()))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return ModelSet{}, fmt.Errorf("build model query: %w", err)
	}
	var set ModelSet
	var start map[string]types.AttributeValue
	for range maxModelPages {
		out, err := s.ddb.Query(ctx, &dynamodb.QueryInput{
			TableName: aws.String(s.table), KeyConditionExpression: keyCondition(expr.KeyCondition()),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
			ExclusiveStartKey: start, ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return ModelSet{}, fmt.Errorf("query models: %w", err)
		}
		for _, item := range out.Items {
			var head struct{ Entity string }
			if err := attributevalue.UnmarshalMap(item, &head); err != nil {
				return ModelSet{}, fmt.Errorf("decode registry item: %w", err)
			}
			switch head.Entity {
			case entityModel:
				m, err := unmarshalModel(item)
				if err != nil {
					return ModelSet{}, err
				}
				set.Models = append(set.Models, m)
			case entityModelSeed:
				var seed struct{ SeedVersion int }
				if err := attributevalue.UnmarshalMap(item, &seed); err != nil {
					return ModelSet{}, fmt.Errorf("decode seed marker: %w", err)
				}
				set.SeedVersion = seed.SeedVersion
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return set, nil
		}
		start = out.LastEvaluatedKey
	}
	return ModelSet{}, fmt.Errorf("query models: more than %d pages", maxModelPages)
}

// SeedModels loads the data file's entries (version) idempotently: an entry
// is written only when it is missing or came from an older data file and
// no admin has edited it, then the seed marker moves to version (never
// back). Running it twice, or from two cold starts at once, writes the same
// items and leaves the same state. It returns how many entries it wrote.
func (s *Store) SeedModels(ctx context.Context, models []Model, version int) (int, error) {
	now := s.clock()
	written := 0
	for _, m := range models {
		m.SeedVersion, m.EditedByAdmin, m.UpdatedAt = version, false, now
		item, err := marshalModel(m)
		if err != nil {
			return written, fmt.Errorf("encode model %s: %w", m.ID, err)
		}
		cond := expression.AttributeNotExists(expression.Name(AttrPK)).Or(
			expression.Name("SeedVersion").LessThan(expression.Value(version)).
				And(expression.Name("EditedByAdmin").Equal(expression.Value(false))))
		switch err := s.conditionalPut(ctx, entityModel, item, cond); {
		case err == nil:
			written++
		case isConditionFailed(err):
			// Already at this version, or an admin's edit: keep it.
		default:
			return written, fmt.Errorf("seed model %s: %w", m.ID, err)
		}
	}
	key := ModelSeedKey()
	marker, err := attributevalue.MarshalMap(struct {
		PK, SK, Entity, UpdatedAt string
		SeedVersion               int
	}{key.PK, key.SK, entityModelSeed, formatTime(now), version})
	if err != nil {
		return written, fmt.Errorf("encode seed marker: %w", err)
	}
	cond := expression.AttributeNotExists(expression.Name(AttrPK)).Or(expression.Name("SeedVersion").LessThan(expression.Value(version)))
	if err := s.conditionalPut(ctx, entityModelSeed, marker, cond); err != nil && !isConditionFailed(err) {
		return written, fmt.Errorf("put seed marker: %w", err)
	}
	return written, nil
}

// PutModel writes an admin's version of an entry (created or replaced); it
// is marked as edited, so later data files leave it alone.
func (s *Store) PutModel(ctx context.Context, m Model) (Model, error) {
	if m.ID == "" || m.Provider == "" || m.Type == "" {
		return Model{}, fmt.Errorf("model id, provider and type are required: %w", ErrInvalid)
	}
	m.EditedByAdmin, m.UpdatedAt = true, s.clock()
	item, err := marshalModel(m)
	if err != nil {
		return Model{}, fmt.Errorf("encode model %s: %w", m.ID, err)
	}
	if err := checkSize(entityModel, item); err != nil {
		return Model{}, err
	}
	if _, err := s.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return Model{}, fmt.Errorf("put model %s: %w", m.ID, err)
	}
	return m, nil
}

// GetModel reads one entry (consistent read).
func (s *Store) GetModel(ctx context.Context, id string) (Model, error) {
	item, err := s.getItem(ctx, ModelKey(id))
	if err != nil {
		return Model{}, fmt.Errorf("get model %s: %w", id, err)
	}
	if item == nil {
		return Model{}, fmt.Errorf("get model %s: %w", id, ErrNotFound)
	}
	return unmarshalModel(item)
}

// formatTime is RFC 3339 in UTC; the zero time is "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parseTime reads formatTime's output; "" and malformed values are the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
