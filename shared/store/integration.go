package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Integration is one account's connection to one external site (today:
// WordPress). Secrets are never stored here: CredentialsSecret and
// WebhookSecretName are Secrets Manager secret names.
type Integration struct {
	AccountID string
	ID        string
	SiteID    string
	Platform  string
	// ExternalSiteURL is the site's URL, already normalised by the caller.
	ExternalSiteURL string
	IsActive        bool
	SyncEnabled     bool
	// SyncIntervalMinutes schedules an incremental pull every so many
	// minutes (0: no scheduled sync).
	SyncIntervalMinutes int
	LastSyncAt          *time.Time
	SyncStatus          string
	SyncError           string
	ConnectionStatus    string
	// Config is the API's config_json. Above CompressThreshold bytes of JSON
	// it is stored gzip-compressed.
	Config map[string]any
	// CredentialsSecret is the Secrets Manager secret NAME holding the
	// site's Application Password (never the value).
	CredentialsSecret string
	Username          string
	PasswordLast4     string
	// WebhookSecretName is the Secrets Manager secret NAME of the
	// integration's webhook signing secret.
	WebhookSecretName string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	// Version is the optimistic-locking version: 1 after create, +1 on every
	// update. Updates and deletes pass the version they read.
	Version int64
}

// ConfigValue is the value at path in config_json's nested objects
// ("connection", "site", "gmt_offset"), or nil when a step is missing or
// not an object. The service-owned parts (connection, structure) are read
// this way by the packages that use them.
func (in Integration) ConfigValue(path ...string) any {
	var v any = in.Config
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

// IntegrationFilter narrows ListIntegrations. Empty fields don't filter.
type IntegrationFilter struct{ SiteID, Platform string }

// IntegrationStore is what the API and the other functions need from the
// store for integrations.
type IntegrationStore interface {
	ListIntegrations(ctx context.Context, accountID string, f IntegrationFilter, p PageRequest) (Page[Integration], error)
	GetIntegration(ctx context.Context, accountID, id string) (Integration, error)
	GetIntegrationByID(ctx context.Context, id string) (Integration, error)
	CreateIntegration(ctx context.Context, in Integration) (Integration, error)
	UpdateIntegration(ctx context.Context, in Integration) (Integration, error)
	DeleteIntegration(ctx context.Context, accountID, id string, expectedVersion int64) error
	// NewID returns a fresh ID, for callers that must name things after an
	// integration (its secrets) before creating it.
	NewID() string
}

var _ IntegrationStore = (*Store)(nil)

const (
	entityIntegration   = "integration"
	entityGuard         = "guard"
	entityIntegrationID = "integration_id"
	// lockRetries bounds re-reads when the caller asked for "any version"
	// and a concurrent writer moved the version between our read and write.
	lockRetries = 3
)

// integrationItem is the stored shape of an Integration.
type integrationItem struct {
	PK, SK            string
	GSI1PK, GSI1SK    string
	GSI2PK, GSI2SK    string
	GSI3PK, GSI3SK    string
	Entity            string
	AccountID         string
	ID                string
	SiteID            string
	Platform          string
	ExternalSiteURL   string
	IsActive          bool
	SyncEnabled       bool
	SyncInterval      int    `dynamodbav:",omitempty"`
	LastSyncAt        string `dynamodbav:",omitempty"`
	SyncStatus        string `dynamodbav:",omitempty"`
	SyncError         string `dynamodbav:",omitempty"`
	ConnectionStatus  string `dynamodbav:",omitempty"`
	ConfigJSON        string `dynamodbav:",omitempty"`
	ConfigGz          []byte `dynamodbav:",omitempty"`
	CredentialsSecret string `dynamodbav:",omitempty"`
	Username          string `dynamodbav:",omitempty"`
	PasswordLast4     string `dynamodbav:",omitempty"`
	WebhookSecretName string `dynamodbav:",omitempty"`
	CreatedAt         string
	UpdatedAt         string
	Version           int64
}

// integrationIDItem is an integration's ID lookup item.
type integrationIDItem struct {
	PK, SK        string
	Entity        string
	AccountID     string
	IntegrationID string
}

// guardItem is a uniqueness guard: its key is the constrained value.
type guardItem struct {
	PK, SK        string
	Entity        string
	Constraint    string
	IntegrationID string
}

func validateIntegration(in Integration) error {
	switch {
	case in.AccountID == "":
		return fmt.Errorf("integration account id is required: %w", ErrInvalid)
	case in.SiteID == "":
		return fmt.Errorf("integration site id is required: %w", ErrInvalid)
	case in.Platform == "":
		return fmt.Errorf("integration platform is required: %w", ErrInvalid)
	case in.ExternalSiteURL == "":
		return fmt.Errorf("integration external site url is required: %w", ErrInvalid)
	}
	return nil
}

func marshalIntegration(in Integration) (map[string]types.AttributeValue, error) {
	key := IntegrationKey(in.AccountID, in.ID)
	byID := IntegrationByIDIndex(in.ID)
	bySite := IntegrationBySiteIndex(in.AccountID, in.SiteID, in.Platform, in.ID)
	byPlatform := IntegrationByPlatformIndex(in.AccountID, in.Platform, in.ID)
	it := integrationItem{
		PK: key.PK, SK: key.SK,
		GSI1PK: byID.PK, GSI1SK: byID.SK,
		GSI2PK: bySite.PK, GSI2SK: bySite.SK,
		GSI3PK: byPlatform.PK, GSI3SK: byPlatform.SK,
		Entity:            entityIntegration,
		AccountID:         in.AccountID,
		ID:                in.ID,
		SiteID:            in.SiteID,
		Platform:          in.Platform,
		ExternalSiteURL:   in.ExternalSiteURL,
		IsActive:          in.IsActive,
		SyncEnabled:       in.SyncEnabled,
		SyncInterval:      in.SyncIntervalMinutes,
		SyncStatus:        in.SyncStatus,
		SyncError:         in.SyncError,
		ConnectionStatus:  in.ConnectionStatus,
		CredentialsSecret: in.CredentialsSecret,
		Username:          in.Username,
		PasswordLast4:     in.PasswordLast4,
		WebhookSecretName: in.WebhookSecretName,
		CreatedAt:         in.CreatedAt.UTC().Format(time.RFC3339Nano),
		UpdatedAt:         in.UpdatedAt.UTC().Format(time.RFC3339Nano),
		Version:           in.Version,
	}
	if in.LastSyncAt != nil {
		it.LastSyncAt = in.LastSyncAt.UTC().Format(time.RFC3339Nano)
	}
	if in.Config != nil {
		raw, err := json.Marshal(in.Config)
		if err != nil {
			return nil, fmt.Errorf("encode integration config: %w", err)
		}
		packed, compressed, err := packText(raw)
		if err != nil {
			return nil, fmt.Errorf("compress integration config: %w", err)
		}
		if compressed {
			it.ConfigGz = packed
		} else {
			it.ConfigJSON = string(packed)
		}
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("marshal integration: %w", err)
	}
	return item, nil
}

func unmarshalIntegration(item map[string]types.AttributeValue) (Integration, error) {
	var it integrationItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Integration{}, fmt.Errorf("unmarshal integration: %w", err)
	}
	out := Integration{
		AccountID:           it.AccountID,
		ID:                  it.ID,
		SiteID:              it.SiteID,
		Platform:            it.Platform,
		ExternalSiteURL:     it.ExternalSiteURL,
		IsActive:            it.IsActive,
		SyncEnabled:         it.SyncEnabled,
		SyncIntervalMinutes: it.SyncInterval,
		SyncStatus:          it.SyncStatus,
		SyncError:           it.SyncError,
		ConnectionStatus:    it.ConnectionStatus,
		CredentialsSecret:   it.CredentialsSecret,
		Username:            it.Username,
		PasswordLast4:       it.PasswordLast4,
		WebhookSecretName:   it.WebhookSecretName,
		Version:             it.Version,
	}
	var err error
	if out.CreatedAt, err = time.Parse(time.RFC3339Nano, it.CreatedAt); err != nil {
		return Integration{}, fmt.Errorf("integration %s created_at: %w", it.ID, err)
	}
	if out.UpdatedAt, err = time.Parse(time.RFC3339Nano, it.UpdatedAt); err != nil {
		return Integration{}, fmt.Errorf("integration %s updated_at: %w", it.ID, err)
	}
	if it.LastSyncAt != "" {
		t, err := time.Parse(time.RFC3339Nano, it.LastSyncAt)
		if err != nil {
			return Integration{}, fmt.Errorf("integration %s last_sync_at: %w", it.ID, err)
		}
		out.LastSyncAt = &t
	}
	raw := []byte(it.ConfigJSON)
	if len(it.ConfigGz) > 0 {
		if raw, err = unpackText(it.ConfigGz); err != nil {
			return Integration{}, fmt.Errorf("integration %s config: %w", it.ID, err)
		}
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Config); err != nil {
			return Integration{}, fmt.Errorf("integration %s config: %w", it.ID, err)
		}
	}
	return out, nil
}

func guardAV(key Key, constraint, integrationID string) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(guardItem{
		PK: key.PK, SK: key.SK, Entity: entityGuard, Constraint: constraint, IntegrationID: integrationID,
	})
	if err != nil {
		return nil, fmt.Errorf("marshal guard: %w", err)
	}
	return item, nil
}

func siteGuardConflict(in Integration) error {
	return &ConflictError{Reason: ConflictSitePlatform, Detail: fmt.Sprintf("an integration for site %q on %s already exists", in.SiteID, in.Platform)}
}

func urlGuardConflict(in Integration) error {
	return &ConflictError{Reason: ConflictURL, Detail: fmt.Sprintf("an integration for %s already exists", in.ExternalSiteURL)}
}

func notExists() *expression.ConditionBuilder {
	c := expression.AttributeNotExists(expression.Name(AttrPK))
	return &c
}

func versionIs(v int64) *expression.ConditionBuilder {
	c := expression.AttributeExists(expression.Name(AttrPK)).And(expression.Name("Version").Equal(expression.Value(v)))
	return &c
}

func ownedBy(integrationID string) *expression.ConditionBuilder {
	c := expression.Name("IntegrationID").Equal(expression.Value(integrationID))
	return &c
}

// guardOps builds the ops that put in's guards (both when old is nil, else
// only those whose key changed, deleting old's).
func (s *Store) guardOps(in Integration, old *Integration) ([]txOp, error) {
	var ops []txOp
	type guard struct {
		constraint string
		newKey     Key
		oldKey     *Key
		conflict   error
	}
	guards := []guard{
		{constraint: "site_platform", newKey: IntegrationSitePlatformGuardKey(in.AccountID, in.SiteID, in.Platform), conflict: siteGuardConflict(in)},
		{constraint: "url", newKey: IntegrationURLGuardKey(in.AccountID, in.ExternalSiteURL), conflict: urlGuardConflict(in)},
	}
	if old != nil {
		ok := IntegrationSitePlatformGuardKey(old.AccountID, old.SiteID, old.Platform)
		ou := IntegrationURLGuardKey(old.AccountID, old.ExternalSiteURL)
		guards[0].oldKey, guards[1].oldKey = &ok, &ou
	}
	for _, g := range guards {
		if g.oldKey != nil && *g.oldKey == g.newKey {
			continue
		}
		if g.oldKey != nil {
			op, err := s.txDelete(entityGuard, *g.oldKey, ownedBy(in.ID),
				fmt.Errorf("guard %s of integration %s is missing or not its own: %w", g.constraint, in.ID, ErrPreconditionFailed))
			if err != nil {
				return nil, err
			}
			ops = append(ops, op)
		}
		item, err := guardAV(g.newKey, g.constraint, in.ID)
		if err != nil {
			return nil, err
		}
		op, err := s.txPut(entityGuard, item, notExists(), g.conflict)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// NewID returns a fresh, time-ordered, unguessable ID.
func (s *Store) NewID() string { return s.newID() }

// CreateIntegration stores a new integration and its two uniqueness guards
// in one transaction. ID is generated when empty; CreatedAt, UpdatedAt and
// Version (1) are set here. A taken (site, platform) or URL is a
// *ConflictError naming the constraint.
func (s *Store) CreateIntegration(ctx context.Context, in Integration) (Integration, error) {
	if err := validateIntegration(in); err != nil {
		return Integration{}, fmt.Errorf("create integration: %w", err)
	}
	if in.ID == "" {
		in.ID = s.newID()
	}
	now := s.clock()
	in.CreatedAt, in.UpdatedAt, in.Version = now, now, 1
	item, err := marshalIntegration(in)
	if err != nil {
		return Integration{}, fmt.Errorf("create integration: %w", err)
	}
	put, err := s.txPut(entityIntegration, item, notExists(),
		&ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("integration %s already exists", in.ID)})
	if err != nil {
		return Integration{}, fmt.Errorf("create integration: %w", err)
	}
	guards, err := s.guardOps(in, nil)
	if err != nil {
		return Integration{}, fmt.Errorf("create integration: %w", err)
	}
	idKey := IntegrationIDKey(in.ID)
	idItem, err := attributevalue.MarshalMap(integrationIDItem{PK: idKey.PK, SK: idKey.SK, Entity: entityIntegrationID, AccountID: in.AccountID, IntegrationID: in.ID})
	if err != nil {
		return Integration{}, fmt.Errorf("create integration: marshal id lookup: %w", err)
	}
	idPut, err := s.txPut(entityIntegrationID, idItem, notExists(),
		&ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("integration %s already exists", in.ID)})
	if err != nil {
		return Integration{}, fmt.Errorf("create integration: %w", err)
	}
	if err := s.transact(ctx, "create integration", append([]txOp{put, idPut}, guards...)); err != nil {
		return Integration{}, err
	}
	return in, nil
}

// GetIntegration returns the account's integration id (strongly consistent).
// Another account's integration is ErrNotFound.
func (s *Store) GetIntegration(ctx context.Context, accountID, id string) (Integration, error) {
	if accountID == "" || id == "" {
		return Integration{}, fmt.Errorf("get integration %q: %w", id, ErrNotFound)
	}
	item, err := s.getItem(ctx, IntegrationKey(accountID, id))
	if err != nil {
		return Integration{}, fmt.Errorf("get integration %s: %w", id, err)
	}
	if item == nil {
		return Integration{}, fmt.Errorf("get integration %s: %w", id, ErrNotFound)
	}
	return unmarshalIntegration(item)
}

// GetIntegrationByID finds an integration from its ID alone, for the webhook
// receiver (a delivery names only the integration): the ID lookup item names
// the account, then the integration is read — two strongly consistent
// GetItems. An integration created before lookup items existed is found
// through GSI1 (one eventually consistent Query).
func (s *Store) GetIntegrationByID(ctx context.Context, id string) (Integration, error) {
	if id == "" {
		return Integration{}, fmt.Errorf("get integration by id: %w", ErrNotFound)
	}
	item, err := s.getItem(ctx, IntegrationIDKey(id))
	if err != nil {
		return Integration{}, fmt.Errorf("get integration by id %s: %w", id, err)
	}
	if item != nil {
		var ref integrationIDItem
		if err := attributevalue.UnmarshalMap(item, &ref); err != nil {
			return Integration{}, fmt.Errorf("unmarshal integration id lookup: %w", err)
		}
		return s.GetIntegration(ctx, ref.AccountID, id)
	}
	return s.integrationByIndex(ctx, id)
}

// integrationByIndex finds an integration through GSI1.
func (s *Store) integrationByIndex(ctx context.Context, id string) (Integration, error) {
	ix := IntegrationByIDIndex(id)
	// The partition key alone: INT#<id> holds only the integration's item.
	// (A bare "#0 = :0" also lets the embedded emulator go straight to the
	// partition; it scans every item for the parenthesised two-key form,
	// which made the webhook receiver's lookups slow down as the table grew.)
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(AttrGSI1PK).Equal(expression.Value(ix.PK)),
	).Build()
	if err != nil {
		return Integration{}, fmt.Errorf("build integration by id query: %w", err)
	}
	out, err := s.ddb.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(ix.Index),
		KeyConditionExpression:    keyCondition(expr.KeyCondition()),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		Limit:                     aws.Int32(1),
	})
	if err != nil {
		return Integration{}, fmt.Errorf("query integration by id %s: %w", id, err)
	}
	if len(out.Items) == 0 {
		return Integration{}, fmt.Errorf("get integration by id %s: %w", id, ErrNotFound)
	}
	return unmarshalIntegration(out.Items[0])
}

// ListIntegrations returns one page of the account's integrations, ordered
// by ID (creation order) — by site, platform and ID when filtered by site.
// It makes exactly one Query: the base table for no filter, GSI2 for a site
// (and platform) filter, GSI3 for a platform filter.
func (s *Store) ListIntegrations(ctx context.Context, accountID string, f IntegrationFilter, p PageRequest) (Page[Integration], error) {
	if accountID == "" {
		return Page[Integration]{}, fmt.Errorf("list integrations: account id is required: %w", ErrInvalid)
	}
	var q listQuery
	switch {
	case f.SiteID != "":
		ix := IntegrationBySiteIndex(accountID, f.SiteID, f.Platform, "")
		q = listQuery{entity: "integrations", index: ix.Index, pk: ix.PK, skPrefix: IntegrationSitePrefix(f.SiteID, f.Platform), forward: true}
	case f.Platform != "":
		ix := IntegrationByPlatformIndex(accountID, f.Platform, "")
		q = listQuery{entity: "integrations", index: ix.Index, pk: ix.PK, forward: true}
	default:
		q = listQuery{entity: "integrations", pk: IntegrationKey(accountID, "").PK, skPrefix: IntegrationListPrefix(), forward: true}
	}
	items, next, err := s.queryPage(ctx, q, p)
	if err != nil {
		return Page[Integration]{}, fmt.Errorf("list integrations: %w", err)
	}
	page := Page[Integration]{Items: make([]Integration, 0, len(items)), NextCursor: next}
	for _, item := range items {
		in, err := unmarshalIntegration(item)
		if err != nil {
			return Page[Integration]{}, fmt.Errorf("list integrations: %w", err)
		}
		page.Items = append(page.Items, in)
	}
	return page, nil
}

// UpdateIntegration replaces the integration's mutable fields. in.Version is
// the version the caller read (0: any version); a different stored version
// is ErrPreconditionFailed. AccountID and ID select the item; CreatedAt is
// kept; UpdatedAt and Version are set here. When the site, platform or URL
// changes, the uniqueness guards move in the same transaction (a taken
// value is a *ConflictError); otherwise it is one conditional PutItem.
func (s *Store) UpdateIntegration(ctx context.Context, in Integration) (Integration, error) {
	if err := validateIntegration(in); err != nil {
		return Integration{}, fmt.Errorf("update integration: %w", err)
	}
	if in.ID == "" {
		return Integration{}, fmt.Errorf("update integration: %w", ErrNotFound)
	}
	for attempt := 0; ; attempt++ {
		out, err := s.updateIntegrationOnce(ctx, in)
		if in.Version == 0 && attempt < lockRetries && errors.Is(err, ErrPreconditionFailed) {
			continue // "any version": re-read and try again
		}
		return out, err
	}
}

func (s *Store) updateIntegrationOnce(ctx context.Context, in Integration) (Integration, error) {
	old, err := s.GetIntegration(ctx, in.AccountID, in.ID)
	if err != nil {
		return Integration{}, fmt.Errorf("update integration: %w", err)
	}
	if in.Version != 0 && in.Version != old.Version {
		return Integration{}, fmt.Errorf("update integration %s: version %d, stored %d: %w", in.ID, in.Version, old.Version, ErrPreconditionFailed)
	}
	next := in
	next.CreatedAt = old.CreatedAt
	next.UpdatedAt = s.clock()
	next.Version = old.Version + 1
	item, err := marshalIntegration(next)
	if err != nil {
		return Integration{}, fmt.Errorf("update integration: %w", err)
	}
	stale := fmt.Errorf("update integration %s: version %d changed concurrently: %w", in.ID, old.Version, ErrPreconditionFailed)
	guards, err := s.guardOps(next, &old)
	if err != nil {
		return Integration{}, fmt.Errorf("update integration: %w", err)
	}
	if len(guards) == 0 {
		if err := s.conditionalPut(ctx, entityIntegration, item, *versionIs(old.Version)); err != nil {
			if isConditionFailed(err) {
				return Integration{}, s.classifyMissing(ctx, in.AccountID, in.ID, stale)
			}
			return Integration{}, fmt.Errorf("update integration %s: %w", in.ID, err)
		}
		return next, nil
	}
	put, err := s.txPut(entityIntegration, item, versionIs(old.Version), stale)
	if err != nil {
		return Integration{}, fmt.Errorf("update integration: %w", err)
	}
	if err := s.transact(ctx, "update integration", append([]txOp{put}, guards...)); err != nil {
		return Integration{}, err
	}
	return next, nil
}

// DeleteIntegration removes the integration and its uniqueness guards in one
// transaction. expectedVersion 0 deletes whatever version is stored. Derived
// data (runs, events, content) is removed by the caller's cleanup job.
func (s *Store) DeleteIntegration(ctx context.Context, accountID, id string, expectedVersion int64) error {
	for attempt := 0; ; attempt++ {
		err := s.deleteIntegrationOnce(ctx, accountID, id, expectedVersion)
		if expectedVersion == 0 && attempt < lockRetries && errors.Is(err, ErrPreconditionFailed) {
			continue
		}
		return err
	}
}

func (s *Store) deleteIntegrationOnce(ctx context.Context, accountID, id string, expectedVersion int64) error {
	old, err := s.GetIntegration(ctx, accountID, id)
	if err != nil {
		return fmt.Errorf("delete integration: %w", err)
	}
	if expectedVersion != 0 && expectedVersion != old.Version {
		return fmt.Errorf("delete integration %s: version %d, stored %d: %w", id, expectedVersion, old.Version, ErrPreconditionFailed)
	}
	stale := fmt.Errorf("delete integration %s: version %d changed concurrently: %w", id, old.Version, ErrPreconditionFailed)
	del, err := s.txDelete(entityIntegration, IntegrationKey(accountID, id), versionIs(old.Version), stale)
	if err != nil {
		return fmt.Errorf("delete integration: %w", err)
	}
	// The ID lookup item goes too (unconditionally: integrations created
	// before it existed have none).
	idDel, err := s.txDelete(entityIntegrationID, IntegrationIDKey(id), nil, nil)
	if err != nil {
		return fmt.Errorf("delete integration: %w", err)
	}
	ops := []txOp{del, idDel}
	for _, g := range []Key{
		IntegrationSitePlatformGuardKey(accountID, old.SiteID, old.Platform),
		IntegrationURLGuardKey(accountID, old.ExternalSiteURL),
	} {
		op, err := s.txDelete(entityGuard, g, ownedBy(id),
			fmt.Errorf("delete integration %s: guard missing or not its own: %w", id, ErrPreconditionFailed))
		if err != nil {
			return fmt.Errorf("delete integration: %w", err)
		}
		ops = append(ops, op)
	}
	return s.transact(ctx, "delete integration", ops)
}

// conditionalPut puts one item under cond after checking its size.
func (s *Store) conditionalPut(ctx context.Context, entity string, item map[string]types.AttributeValue, cond expression.ConditionBuilder) error {
	if err := checkSize(entity, item); err != nil {
		return err
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build %s put condition: %w", entity, err)
	}
	_, err = s.ddb.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	return err
}

// classifyMissing turns a failed version condition into ErrNotFound when the
// item is gone, else returns stale.
func (s *Store) classifyMissing(ctx context.Context, accountID, id string, stale error) error {
	if _, err := s.GetIntegration(ctx, accountID, id); errors.Is(err, ErrNotFound) {
		return err
	}
	return stale
}
