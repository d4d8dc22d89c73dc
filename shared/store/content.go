package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Content statuses.
const (
	ContentDraft     = "draft"
	ContentReview    = "review"
	ContentApproved  = "approved"
	ContentPublished = "published"
	ContentTrashed   = "trashed"
	// ContentDeleted is content whose WordPress post was deleted for good.
	ContentDeleted  = "deleted"
	ContentConflict = "conflict"
)

// Field limits of content metadata (the body is limited only by the 400 KB
// item size after compression). Lengths in characters are counted in
// Unicode code points.
const (
	MaxContentTitleChars   = 1000
	MaxContentSlugChars    = 200
	MaxContentExcerptBytes = 10 * 1024
	// MaxContentTerms bounds the term references of one content item.
	MaxContentTerms = 1000
	// MaxKeyComponentBytes bounds IDs, site IDs, content types, taxonomy
	// slugs and statuses, which become key components.
	MaxKeyComponentBytes = 128
	// MaxURLBytes bounds stored URLs (WordPress links, image URLs).
	MaxURLBytes = 2048
)

// DynamoDB's limits on key attribute values (base table and GSIs).
const (
	contentMaxPartitionKeyBytes = 2048
	contentMaxSortKeyBytes      = 1024
)

// MaxBatchGetKeys is DynamoDB's limit of keys per BatchGetItem call.
const MaxBatchGetKeys = 100

// TermRef is one term assigned to a content item.
type TermRef struct {
	// Taxonomy is "category", "post_tag" or a custom taxonomy's slug.
	Taxonomy string
	// ID is the Term's ID (ours, not WordPress's).
	ID string
}

// Content is one post, page or custom-type item of a site. It is stored as
// two items: metadata (everything but Body; small and indexed by site,
// status and type) and the body (raw HTML, gzip-compressed above
// CompressThreshold).
type Content struct {
	AccountID     string
	ID            string
	SiteID        string
	IntegrationID string
	// ContentType is "post", "page" or a custom post type's rest_base.
	ContentType string
	Title       string
	// Body is raw HTML. GetContent returns it; listings and GetContentMetas
	// leave it empty.
	Body    string
	Excerpt string
	Slug    string
	Status  string
	Terms   []TermRef
	// FeaturedImageID is an Image ID.
	FeaturedImageID string
	WordPressID     int64
	WordPressLink   string
	WordPressStatus string
	// WPModifiedGMT is WordPress's modified_gmt at the last sync.
	WPModifiedGMT time.Time
	// SyncedHash is the hash of the WordPress-side fields at the last sync
	// (change detection on pulls).
	SyncedHash string
	// SyncedVersion is our Version right after the last sync (conflict
	// detection: Version > SyncedVersion means local edits since). A write
	// that records a sync sets it to the version the write produces: 1 on
	// create, the version read + 1 on update.
	SyncedVersion int64
	// PushIntent is non-empty while a push is in flight: recorded before
	// the WordPress post is created, so a retry looks for the post it may
	// have created instead of creating a second one.
	PushIntent string
	ApprovedAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// Version is the optimistic-locking version: 1 after create, +1 on
	// every update.
	Version int64
}

// ContentFilter narrows ListContent. SiteID is required; Status and
// ContentType are optional.
type ContentFilter struct{ SiteID, Status, ContentType string }

// ContentStore is what the API and the sync functions need from the store
// for content.
type ContentStore interface {
	CreateContent(ctx context.Context, c Content) (Content, error)
	GetContent(ctx context.Context, accountID, id string) (Content, error)
	UpdateContent(ctx context.Context, c Content, bodyChanged bool) (Content, error)
	UpdateReadContent(ctx context.Context, old, c Content, bodyChanged bool) (Content, error)
	DeleteContent(ctx context.Context, accountID, id string, expectedVersion int64) error
	ContentIDsByWordPressID(ctx context.Context, accountID, integrationID string, wpIDs []int64) (map[int64]string, error)
	GetContentMetas(ctx context.Context, accountID string, ids []string) (map[string]Content, error)
	GetContentSyncStates(ctx context.Context, accountID string, ids []string) (map[string]ContentSyncState, error)
	ListContent(ctx context.Context, accountID string, f ContentFilter, p PageRequest) (Page[Content], error)
}

var _ ContentStore = (*Store)(nil)

const (
	entityContent       = "content"
	entityContentBody   = "content_body"
	entityContentLookup = "content_wp"
)

// contentItem is the stored shape of content metadata.
type contentItem struct {
	PK, SK          string
	GSI1PK, GSI1SK  string
	GSI2PK, GSI2SK  string
	GSI3PK, GSI3SK  string
	Entity          string
	AccountID       string
	ID              string
	SiteID          string
	IntegrationID   string `dynamodbav:",omitempty"`
	ContentType     string
	Title           string          `dynamodbav:",omitempty"`
	Excerpt         string          `dynamodbav:",omitempty"`
	Slug            string          `dynamodbav:",omitempty"`
	Status          string          `dynamodbav:",omitempty"`
	Terms           []contentTermAV `dynamodbav:",omitempty"`
	FeaturedImageID string          `dynamodbav:",omitempty"`
	WordPressID     int64           `dynamodbav:",omitempty"`
	WordPressLink   string          `dynamodbav:",omitempty"`
	WordPressStatus string          `dynamodbav:",omitempty"`
	WPModifiedGMT   string          `dynamodbav:",omitempty"`
	SyncedHash      string          `dynamodbav:",omitempty"`
	SyncedVersion   int64           `dynamodbav:",omitempty"`
	PushIntent      string          `dynamodbav:",omitempty"`
	ApprovedAt      string          `dynamodbav:",omitempty"`
	CreatedAt       string
	UpdatedAt       string
	Version         int64
}

// contentTermAV is one term reference, with one-letter attribute names
// (lists of maps repeat their names per element).
type contentTermAV struct {
	T string // taxonomy
	I string // term ID
}

// contentBodyItem is the stored body: Body (S) up to CompressThreshold
// bytes, else BodyGz (B, gzip).
type contentBodyItem struct {
	PK, SK string
	Entity string
	Body   string `dynamodbav:",omitempty"`
	BodyGz []byte `dynamodbav:",omitempty"`
}

// contentLookupItem maps (integration, WordPress post ID) to a content ID.
type contentLookupItem struct {
	PK, SK      string
	Entity      string
	ContentID   string
	WordPressID int64
}

func contentStatusValid(s string) bool {
	switch s {
	case ContentDraft, ContentReview, ContentApproved, ContentPublished, ContentTrashed, ContentDeleted, ContentConflict:
		return true
	}
	return false
}

// contentCheckComponent validates one key component (required or not).
func contentCheckComponent(entity, field, v string, required bool) error {
	switch {
	case v == "" && required:
		return fmt.Errorf("%s %s is required: %w", entity, field, ErrInvalid)
	case len(v) > MaxKeyComponentBytes:
		return fmt.Errorf("%s %s is %d bytes, over %d: %w", entity, field, len(v), MaxKeyComponentBytes, ErrInvalid)
	}
	return nil
}

func validateContent(c Content) error {
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"account id", c.AccountID, true},
		{"id", c.ID, false},
		{"site id", c.SiteID, true},
		{"integration id", c.IntegrationID, c.WordPressID != 0},
		{"content type", c.ContentType, true},
		{"featured image id", c.FeaturedImageID, false},
	} {
		if err := contentCheckComponent("content", f.name, f.v, f.required); err != nil {
			return err
		}
	}
	switch {
	case !contentStatusValid(c.Status):
		return fmt.Errorf("content status %q is not one of draft, review, approved, published, trashed, conflict: %w", c.Status, ErrInvalid)
	case utf8.RuneCountInString(c.Title) > MaxContentTitleChars:
		return fmt.Errorf("content title is over %d characters: %w", MaxContentTitleChars, ErrInvalid)
	case utf8.RuneCountInString(c.Slug) > MaxContentSlugChars:
		return fmt.Errorf("content slug is over %d characters: %w", MaxContentSlugChars, ErrInvalid)
	case len(c.Excerpt) > MaxContentExcerptBytes:
		return fmt.Errorf("content excerpt is over %d bytes: %w", MaxContentExcerptBytes, ErrInvalid)
	case len(c.WordPressLink) > MaxURLBytes:
		return fmt.Errorf("content wordpress link is over %d bytes: %w", MaxURLBytes, ErrInvalid)
	case c.WordPressID < 0:
		return fmt.Errorf("content wordpress id %d is negative: %w", c.WordPressID, ErrInvalid)
	case len(c.Terms) > MaxContentTerms:
		return fmt.Errorf("content has %d terms, over %d: %w", len(c.Terms), MaxContentTerms, ErrInvalid)
	}
	for _, t := range c.Terms {
		if err := contentCheckComponent("content term", "taxonomy", t.Taxonomy, true); err != nil {
			return err
		}
		if err := contentCheckComponent("content term", "id", t.ID, true); err != nil {
			return err
		}
	}
	return nil
}

// contentNormalize gives c the shape it has after a round trip through the
// table: UTC times, nil for no terms.
func contentNormalize(c Content) Content {
	if len(c.Terms) == 0 {
		c.Terms = nil
	} else {
		c.Terms = append([]TermRef(nil), c.Terms...)
	}
	if !c.WPModifiedGMT.IsZero() {
		c.WPModifiedGMT = c.WPModifiedGMT.UTC()
	}
	if c.ApprovedAt != nil {
		t := c.ApprovedAt.UTC()
		c.ApprovedAt = &t
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c
}

func contentFormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func contentParseTime(entity, id, field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %s %s: %w", entity, id, field, err)
	}
	return t, nil
}

// contentCheckKeySizes refuses an item whose key attributes exceed
// DynamoDB's key size limits (emulators accept them).
func contentCheckKeySizes(entity string, item map[string]types.AttributeValue) error {
	for _, a := range []struct {
		name  string
		limit int
	}{
		{AttrPK, contentMaxPartitionKeyBytes}, {AttrSK, contentMaxSortKeyBytes},
		{AttrGSI1PK, contentMaxPartitionKeyBytes}, {AttrGSI1SK, contentMaxSortKeyBytes},
		{AttrGSI2PK, contentMaxPartitionKeyBytes}, {AttrGSI2SK, contentMaxSortKeyBytes},
		{AttrGSI3PK, contentMaxPartitionKeyBytes}, {AttrGSI3SK, contentMaxSortKeyBytes},
	} {
		if v, ok := item[a.name].(*types.AttributeValueMemberS); ok && len(v.Value) > a.limit {
			return fmt.Errorf("%s key %s is %d bytes, over %d: %w", entity, a.name, len(v.Value), a.limit, ErrInvalid)
		}
	}
	return nil
}

// contentMarshalAV marshals a stored shape and checks its keys.
func contentMarshalAV(entity string, v any) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(v)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", entity, err)
	}
	if err := contentCheckKeySizes(entity, item); err != nil {
		return nil, err
	}
	return item, nil
}

func marshalContentMeta(c Content) (map[string]types.AttributeValue, error) {
	key := ContentKey(c.AccountID, c.ID)
	bySite := ContentBySiteIndex(c.AccountID, c.SiteID, c.ID, c.UpdatedAt)
	byStatus := ContentBySiteStatusIndex(c.AccountID, c.SiteID, c.Status, c.ID, c.UpdatedAt)
	byType := ContentBySiteTypeIndex(c.AccountID, c.SiteID, c.ContentType, c.ID, c.UpdatedAt)
	it := contentItem{
		PK: key.PK, SK: key.SK,
		GSI1PK: bySite.PK, GSI1SK: bySite.SK,
		GSI2PK: byStatus.PK, GSI2SK: byStatus.SK,
		GSI3PK: byType.PK, GSI3SK: byType.SK,
		Entity:          entityContent,
		AccountID:       c.AccountID,
		ID:              c.ID,
		SiteID:          c.SiteID,
		IntegrationID:   c.IntegrationID,
		ContentType:     c.ContentType,
		Title:           c.Title,
		Excerpt:         c.Excerpt,
		Slug:            c.Slug,
		Status:          c.Status,
		FeaturedImageID: c.FeaturedImageID,
		WordPressID:     c.WordPressID,
		WordPressLink:   c.WordPressLink,
		WordPressStatus: c.WordPressStatus,
		SyncedHash:      c.SyncedHash,
		SyncedVersion:   c.SyncedVersion,
		PushIntent:      c.PushIntent,
		CreatedAt:       contentFormatTime(c.CreatedAt),
		UpdatedAt:       contentFormatTime(c.UpdatedAt),
		Version:         c.Version,
	}
	for _, t := range c.Terms {
		it.Terms = append(it.Terms, contentTermAV{T: t.Taxonomy, I: t.ID})
	}
	if !c.WPModifiedGMT.IsZero() {
		it.WPModifiedGMT = contentFormatTime(c.WPModifiedGMT)
	}
	if c.ApprovedAt != nil {
		it.ApprovedAt = contentFormatTime(*c.ApprovedAt)
	}
	return contentMarshalAV(entityContent, it)
}

func unmarshalContentMeta(item map[string]types.AttributeValue) (Content, error) {
	var it contentItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Content{}, fmt.Errorf("unmarshal content: %w", err)
	}
	c := Content{
		AccountID:       it.AccountID,
		ID:              it.ID,
		SiteID:          it.SiteID,
		IntegrationID:   it.IntegrationID,
		ContentType:     it.ContentType,
		Title:           it.Title,
		Excerpt:         it.Excerpt,
		Slug:            it.Slug,
		Status:          it.Status,
		FeaturedImageID: it.FeaturedImageID,
		WordPressID:     it.WordPressID,
		WordPressLink:   it.WordPressLink,
		WordPressStatus: it.WordPressStatus,
		SyncedHash:      it.SyncedHash,
		SyncedVersion:   it.SyncedVersion,
		PushIntent:      it.PushIntent,
		Version:         it.Version,
	}
	for _, t := range it.Terms {
		c.Terms = append(c.Terms, TermRef{Taxonomy: t.T, ID: t.I})
	}
	var err error
	if c.CreatedAt, err = contentParseTime(entityContent, it.ID, "created_at", it.CreatedAt); err != nil {
		return Content{}, err
	}
	if c.UpdatedAt, err = contentParseTime(entityContent, it.ID, "updated_at", it.UpdatedAt); err != nil {
		return Content{}, err
	}
	if it.WPModifiedGMT != "" {
		if c.WPModifiedGMT, err = contentParseTime(entityContent, it.ID, "wp_modified_gmt", it.WPModifiedGMT); err != nil {
			return Content{}, err
		}
	}
	if it.ApprovedAt != "" {
		t, err := contentParseTime(entityContent, it.ID, "approved_at", it.ApprovedAt)
		if err != nil {
			return Content{}, err
		}
		c.ApprovedAt = &t
	}
	return c, nil
}

// marshalContentBody returns the body item, compressed above
// CompressThreshold (unless compression does not help), and checks its size.
func marshalContentBody(accountID, id, body string) (map[string]types.AttributeValue, error) {
	key := ContentBodyKey(accountID, id)
	it := contentBodyItem{PK: key.PK, SK: key.SK, Entity: entityContentBody}
	packed, compressed, err := packText([]byte(body))
	if err != nil {
		return nil, fmt.Errorf("compress content body: %w", err)
	}
	if compressed && len(packed) < len(body) {
		it.BodyGz = packed
	} else {
		it.Body = body
	}
	item, err := contentMarshalAV(entityContentBody, it)
	if err != nil {
		return nil, err
	}
	if err := checkSize(entityContentBody, item); err != nil {
		return nil, err
	}
	return item, nil
}

func unmarshalContentBody(item map[string]types.AttributeValue) (string, error) {
	var it contentBodyItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return "", fmt.Errorf("unmarshal content body: %w", err)
	}
	if len(it.BodyGz) > 0 {
		raw, err := unpackText(it.BodyGz)
		if err != nil {
			return "", fmt.Errorf("content body: %w", err)
		}
		return string(raw), nil
	}
	return it.Body, nil
}

func contentLookupAV(accountID, integrationID string, wpID int64, contentID string) (map[string]types.AttributeValue, error) {
	key := ContentWordPressKey(accountID, integrationID, wpID)
	return contentMarshalAV(entityContentLookup, contentLookupItem{
		PK: key.PK, SK: key.SK, Entity: entityContentLookup, ContentID: contentID, WordPressID: wpID,
	})
}

// contentOwnedOrMissing is the condition of a lookup item that may be
// written or removed by its owner: absent, or naming owner in attr.
func contentOwnedOrMissing(attr, owner string) *expression.ConditionBuilder {
	c := expression.AttributeNotExists(expression.Name(AttrPK)).Or(expression.Name(attr).Equal(expression.Value(owner)))
	return &c
}

func contentWPTaken(c Content) error {
	return &ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("WordPress post %d of integration %s already belongs to other content", c.WordPressID, c.IntegrationID)}
}

// CreateContent stores new content. ID is generated when empty; CreatedAt,
// UpdatedAt and Version (1) are set here; an empty Status means draft. The
// metadata, the body (when not empty) and, when WordPressID is set, the
// (integration, WordPress ID) lookup are written in one transaction (one
// conditional PutItem when there is only the metadata). A WordPress post
// that already has content is a *ConflictError (ConflictExists); a body over
// 400 KB after compression is an *ItemTooLargeError, refused before any call.
func (s *Store) CreateContent(ctx context.Context, c Content) (Content, error) {
	created, err := s.createContent(ctx, c)
	if err == nil && s.contentHook != nil {
		created = s.contentHook(ctx, nil, created)
	}
	return created, err
}

func (s *Store) createContent(ctx context.Context, c Content) (Content, error) {
	c, ops, err := s.contentCreateOps(c)
	if err != nil {
		return Content{}, fmt.Errorf("create content: %w", err)
	}
	if len(ops) == 1 {
		// Metadata alone: a conditional put costs half a transaction.
		if err := s.conditionalPut(ctx, entityContent, ops[0].item.Put.Item, *notExists()); err != nil {
			if isConditionFailed(err) {
				return Content{}, fmt.Errorf("create content: %w", ops[0].onConditionFailed)
			}
			return Content{}, fmt.Errorf("create content %s: %w", c.ID, err)
		}
		return c, nil
	}
	if err := s.transact(ctx, "create content", ops); err != nil {
		return Content{}, err
	}
	return c, nil
}

// CreateContents is CreateContent for many items at once, with as few
// transactions as the limits allow (a pulled post is 3 items, so about 33
// posts per transaction): a page of new posts costs a few round trips, not
// one per post. It returns the stored items and one error per input (nil
// when created), exactly as CreateContent would have: a transaction that a
// condition refuses (one item already exists) is retried item by item.
func (s *Store) CreateContents(ctx context.Context, cs []Content) ([]Content, []error) {
	out := make([]Content, len(cs))
	errs := make([]error, len(cs))
	var (
		groups [][]txOp
		owner  []int // groups[i] creates cs[owner[i]]
	)
	for i, c := range cs {
		stored, ops, err := s.contentCreateOps(c)
		if err != nil {
			errs[i] = fmt.Errorf("create content: %w", err)
			continue
		}
		out[i] = stored
		groups = append(groups, ops)
		owner = append(owner, i)
	}
	for g, err := range s.contentTransactGroups(ctx, "create content", groups) {
		errs[owner[g]] = err
	}
	for i, err := range errs {
		switch {
		case err != nil:
			out[i] = Content{}
		case s.contentHook != nil:
			out[i] = s.contentHook(ctx, nil, out[i])
		}
	}
	return out, errs
}

// contentCreateOps validates a new content item and builds its writes: the
// metadata, the body when there is one, and the WordPress-ID lookup when
// it came from (or went to) WordPress, each conditioned on not existing.
func (s *Store) contentCreateOps(c Content) (Content, []txOp, error) {
	if c.Status == "" {
		c.Status = ContentDraft
	}
	if err := validateContent(c); err != nil {
		return Content{}, nil, err
	}
	if c.ID == "" {
		c.ID = s.newID()
	}
	now := s.clock()
	c.CreatedAt, c.UpdatedAt, c.Version = now, now, 1
	c = contentNormalize(c)
	meta, err := marshalContentMeta(c)
	if err != nil {
		return Content{}, nil, err
	}
	exists := &ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("content %s already exists", c.ID)}
	put, err := s.txPut(entityContent, meta, notExists(), exists)
	if err != nil {
		return Content{}, nil, err
	}
	ops := []txOp{put}
	if c.Body != "" {
		body, err := marshalContentBody(c.AccountID, c.ID, c.Body)
		if err != nil {
			return Content{}, nil, err
		}
		op, err := s.txPut(entityContentBody, body, nil, nil)
		if err != nil {
			return Content{}, nil, err
		}
		ops = append(ops, op)
	}
	if c.WordPressID != 0 {
		lookup, err := contentLookupAV(c.AccountID, c.IntegrationID, c.WordPressID, c.ID)
		if err != nil {
			return Content{}, nil, err
		}
		op, err := s.txPut(entityContentLookup, lookup, notExists(), contentWPTaken(c))
		if err != nil {
			return Content{}, nil, err
		}
		ops = append(ops, op)
	}
	return c, ops, nil
}

// GetContent returns the account's content id with its body: one strongly
// consistent Query of the content's partition (metadata and body).
// Another account's content is ErrNotFound.
func (s *Store) GetContent(ctx context.Context, accountID, id string) (Content, error) {
	if accountID == "" || id == "" {
		return Content{}, fmt.Errorf("get content %q: %w", id, ErrNotFound)
	}
	key := ContentKey(accountID, id)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(key.PK))).Build()
	if err != nil {
		return Content{}, fmt.Errorf("build content query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    keyCondition(expr.KeyCondition()),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
	}
	var meta, body map[string]types.AttributeValue
	for {
		out, err := s.ddb.Query(ctx, in)
		if err != nil {
			return Content{}, fmt.Errorf("get content %s: %w", id, err)
		}
		for _, item := range out.Items {
			switch sk, _ := item[AttrSK].(*types.AttributeValueMemberS); {
			case sk == nil:
			case sk.Value == key.SK:
				meta = item
			case sk.Value == ContentBodyKey(accountID, id).SK:
				body = item
			}
		}
		// Metadata and body together stay under the 1 MB page, but follow
		// a cut page anyway.
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if meta == nil {
		return Content{}, fmt.Errorf("get content %s: %w", id, ErrNotFound)
	}
	c, err := unmarshalContentMeta(meta)
	if err != nil {
		return Content{}, err
	}
	if body != nil {
		if c.Body, err = unmarshalContentBody(body); err != nil {
			return Content{}, fmt.Errorf("get content %s: %w", id, err)
		}
	}
	return c, nil
}

// getContentMeta reads the metadata only (strongly consistent GetItem).
func (s *Store) getContentMeta(ctx context.Context, accountID, id string) (Content, error) {
	if accountID == "" || id == "" {
		return Content{}, fmt.Errorf("content %q: %w", id, ErrNotFound)
	}
	item, err := s.getItem(ctx, ContentKey(accountID, id))
	if err != nil {
		return Content{}, fmt.Errorf("get content %s: %w", id, err)
	}
	if item == nil {
		return Content{}, fmt.Errorf("content %s: %w", id, ErrNotFound)
	}
	return unmarshalContentMeta(item)
}

// UpdateContent replaces the content's metadata, and its body when
// bodyChanged (an empty Body then deletes the body item). c.Version is the
// version the caller read (0: any version, re-read and retried a few times
// on a concurrent change); a different stored version is
// ErrPreconditionFailed. AccountID and ID select the item; CreatedAt is kept;
// UpdatedAt and Version are set here, and the listing index keys follow
// UpdatedAt, Status and ContentType. When WordPressID (or IntegrationID)
// changes, the lookup item moves in the same transaction (a WordPress post
// that belongs to other content is a *ConflictError). With only metadata to
// write it is one GetItem and one conditional PutItem; otherwise one GetItem
// and one TransactWriteItems. When bodyChanged is false the returned Content
// carries c.Body as given, which was not written.
func (s *Store) UpdateContent(ctx context.Context, c Content, bodyChanged bool) (Content, error) {
	if err := validateContent(c); err != nil {
		return Content{}, fmt.Errorf("update content: %w", err)
	}
	if c.ID == "" {
		return Content{}, fmt.Errorf("update content: %w", ErrNotFound)
	}
	for attempt := 0; ; attempt++ {
		out, old, err := s.updateContentOnce(ctx, c, bodyChanged)
		if c.Version == 0 && attempt < lockRetries && errors.Is(err, ErrPreconditionFailed) {
			continue // "any version": re-read and try again
		}
		if err == nil && s.contentHook != nil {
			out = s.contentHook(ctx, &old, out)
		}
		return out, err
	}
}

// UpdateReadContent is UpdateContent for a caller that has just read the
// content's metadata as old (GetContentMetas, GetContent): it skips
// UpdateContent's own read, so a bulk pull of changed posts reads each one
// once. The write is conditional on old.Version, as UpdateContent's is on
// the version it reads: if the content changed since old was read, it
// fails with ErrPreconditionFailed and writes nothing. c.Version must be 0
// or old.Version; c's ID and account must be old's.
func (s *Store) UpdateReadContent(ctx context.Context, old, c Content, bodyChanged bool) (Content, error) {
	if err := validateContent(c); err != nil {
		return Content{}, fmt.Errorf("update content: %w", err)
	}
	if c.ID == "" || c.ID != old.ID || c.AccountID != old.AccountID || old.Version == 0 {
		return Content{}, fmt.Errorf("update content %q from a read of %q: %w", c.ID, old.ID, ErrInvalid)
	}
	out, err := s.writeContentUpdate(ctx, old, c, bodyChanged)
	if err == nil && s.contentHook != nil {
		out = s.contentHook(ctx, &old, out)
	}
	return out, err
}

func (s *Store) updateContentOnce(ctx context.Context, c Content, bodyChanged bool) (out, old Content, err error) {
	old, err = s.getContentMeta(ctx, c.AccountID, c.ID)
	if err != nil {
		return Content{}, old, fmt.Errorf("update content: %w", err)
	}
	out, err = s.writeContentUpdate(ctx, old, c, bodyChanged)
	return out, old, err
}

// writeContentUpdate writes c over old, the stored metadata as last read,
// under the condition that the stored version is still old.Version.
func (s *Store) writeContentUpdate(ctx context.Context, old, c Content, bodyChanged bool) (Content, error) {
	if c.Version != 0 && c.Version != old.Version {
		return Content{}, fmt.Errorf("update content %s: version %d, stored %d: %w", c.ID, c.Version, old.Version, ErrPreconditionFailed)
	}
	next := c
	next.CreatedAt = old.CreatedAt
	next.UpdatedAt = s.clock()
	next.Version = old.Version + 1
	next = contentNormalize(next)
	meta, err := marshalContentMeta(next)
	if err != nil {
		return Content{}, fmt.Errorf("update content: %w", err)
	}
	stale := fmt.Errorf("update content %s: version %d changed concurrently: %w", c.ID, old.Version, ErrPreconditionFailed)

	var ops []txOp
	if bodyChanged {
		if next.Body == "" {
			op, err := s.txDelete(entityContentBody, ContentBodyKey(c.AccountID, c.ID), nil, nil)
			if err != nil {
				return Content{}, fmt.Errorf("update content: %w", err)
			}
			ops = append(ops, op)
		} else {
			body, err := marshalContentBody(c.AccountID, c.ID, next.Body)
			if err != nil {
				return Content{}, fmt.Errorf("update content: %w", err)
			}
			op, err := s.txPut(entityContentBody, body, nil, nil)
			if err != nil {
				return Content{}, fmt.Errorf("update content: %w", err)
			}
			ops = append(ops, op)
		}
	}
	lookupOps, err := s.contentLookupMoves(old, next)
	if err != nil {
		return Content{}, fmt.Errorf("update content: %w", err)
	}
	ops = append(ops, lookupOps...)

	if len(ops) == 0 {
		if err := s.conditionalPut(ctx, entityContent, meta, *versionIs(old.Version)); err != nil {
			if isConditionFailed(err) {
				if _, err := s.getContentMeta(ctx, c.AccountID, c.ID); errors.Is(err, ErrNotFound) {
					return Content{}, fmt.Errorf("update content: %w", err)
				}
				return Content{}, stale
			}
			return Content{}, fmt.Errorf("update content %s: %w", c.ID, err)
		}
		return next, nil
	}
	put, err := s.txPut(entityContent, meta, versionIs(old.Version), stale)
	if err != nil {
		return Content{}, fmt.Errorf("update content: %w", err)
	}
	if err := s.transact(ctx, "update content", append([]txOp{put}, ops...)); err != nil {
		return Content{}, err
	}
	return next, nil
}

// contentLookupMoves returns the ops that move the WordPress lookup from
// old's (integration, WordPress ID) to next's: none when unchanged.
func (s *Store) contentLookupMoves(old, next Content) ([]txOp, error) {
	var oldKey, newKey *Key
	if old.WordPressID != 0 {
		k := ContentWordPressKey(old.AccountID, old.IntegrationID, old.WordPressID)
		oldKey = &k
	}
	if next.WordPressID != 0 {
		k := ContentWordPressKey(next.AccountID, next.IntegrationID, next.WordPressID)
		newKey = &k
	}
	if oldKey != nil && newKey != nil && *oldKey == *newKey || oldKey == nil && newKey == nil {
		return nil, nil
	}
	var ops []txOp
	if oldKey != nil {
		// Only our own lookup is removed; a missing one is no obstacle.
		op, err := s.txDelete(entityContentLookup, *oldKey, contentOwnedOrMissing("ContentID", old.ID),
			fmt.Errorf("content %s: its old WordPress lookup belongs to other content: %w", old.ID, ErrPreconditionFailed))
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	if newKey != nil {
		item, err := contentLookupAV(next.AccountID, next.IntegrationID, next.WordPressID, next.ID)
		if err != nil {
			return nil, err
		}
		op, err := s.txPut(entityContentLookup, item, contentOwnedOrMissing("ContentID", next.ID), contentWPTaken(next))
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// DeleteContent removes the content's metadata, body and WordPress lookup in
// one transaction (after one GetItem of the metadata). expectedVersion 0
// deletes whatever version is stored.
func (s *Store) DeleteContent(ctx context.Context, accountID, id string, expectedVersion int64) error {
	for attempt := 0; ; attempt++ {
		err := s.deleteContentOnce(ctx, accountID, id, expectedVersion)
		if expectedVersion == 0 && attempt < lockRetries && errors.Is(err, ErrPreconditionFailed) {
			continue
		}
		return err
	}
}

func (s *Store) deleteContentOnce(ctx context.Context, accountID, id string, expectedVersion int64) error {
	old, err := s.getContentMeta(ctx, accountID, id)
	if err != nil {
		return fmt.Errorf("delete content: %w", err)
	}
	if expectedVersion != 0 && expectedVersion != old.Version {
		return fmt.Errorf("delete content %s: version %d, stored %d: %w", id, expectedVersion, old.Version, ErrPreconditionFailed)
	}
	stale := fmt.Errorf("delete content %s: version %d changed concurrently: %w", id, old.Version, ErrPreconditionFailed)
	del, err := s.txDelete(entityContent, ContentKey(accountID, id), versionIs(old.Version), stale)
	if err != nil {
		return fmt.Errorf("delete content: %w", err)
	}
	body, err := s.txDelete(entityContentBody, ContentBodyKey(accountID, id), nil, nil)
	if err != nil {
		return fmt.Errorf("delete content: %w", err)
	}
	ops := []txOp{del, body}
	if old.WordPressID != 0 {
		op, err := s.txDelete(entityContentLookup, ContentWordPressKey(accountID, old.IntegrationID, old.WordPressID),
			contentOwnedOrMissing("ContentID", id),
			fmt.Errorf("delete content %s: its WordPress lookup belongs to other content: %w", id, ErrPreconditionFailed))
		if err != nil {
			return fmt.Errorf("delete content: %w", err)
		}
		ops = append(ops, op)
	}
	return s.transact(ctx, "delete content", ops)
}

// ContentIDsByWordPressID maps WordPress post IDs of one integration to
// content IDs; posts without content are absent from the map. It reads the
// lookup items with strongly consistent BatchGetItem calls of at most 100
// keys (unprocessed keys are retried with backoff): a pull page of 100 posts
// is one call.
func (s *Store) ContentIDsByWordPressID(ctx context.Context, accountID, integrationID string, wpIDs []int64) (map[int64]string, error) {
	if accountID == "" || integrationID == "" {
		return nil, fmt.Errorf("content ids by wordpress id: account and integration are required: %w", ErrInvalid)
	}
	return lookupIDs(ctx, s, "content lookups", wpIDs, func(wp int64) Key { return ContentWordPressKey(accountID, integrationID, wp) }, "ContentID")
}

// GetContentMetas returns the metadata (Body empty) of the account's content
// items ids, keyed by ID; missing IDs are absent. Strongly consistent
// BatchGetItem calls of at most 100 keys.
func (s *Store) GetContentMetas(ctx context.Context, accountID string, ids []string) (map[string]Content, error) {
	if accountID == "" {
		return nil, fmt.Errorf("get content metas: account id is required: %w", ErrInvalid)
	}
	items, err := s.contentBatchGet(ctx, "content metas", contentKeys(accountID, ids))
	if err != nil {
		return nil, err
	}
	out := make(map[string]Content, len(items))
	for _, item := range items {
		c, err := unmarshalContentMeta(item)
		if err != nil {
			return nil, err
		}
		out[c.ID] = c
	}
	return out, nil
}

// projection is a ProjectionExpression of attrs, every name a placeholder
// (several are reserved words).
func projection(attrs []string) (*string, map[string]string) {
	names := make(map[string]string, len(attrs))
	parts := make([]string, len(attrs))
	for i, a := range attrs {
		ph := "#p" + strconv.Itoa(i)
		names[ph], parts[i] = a, ph
	}
	return aws.String(strings.Join(parts, ",")), names
}

// ContentSyncState is what a pull compares to tell whether a post changed
// and whether the content was edited locally since the last sync.
type ContentSyncState struct {
	ID              string
	Version         int64
	SyncedVersion   int64
	WPModifiedGMT   time.Time
	WordPressStatus string
	SyncedHash      string
}

// SyncState is the content's ContentSyncState.
func (c Content) SyncState() ContentSyncState {
	return ContentSyncState{ID: c.ID, Version: c.Version, SyncedVersion: c.SyncedVersion,
		WPModifiedGMT: c.WPModifiedGMT, WordPressStatus: c.WordPressStatus, SyncedHash: c.SyncedHash}
}

// contentKeys are the metadata keys of the account's content ids (empty
// ids skipped).
func contentKeys(accountID string, ids []string) []Key {
	keys := make([]Key, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			keys = append(keys, ContentKey(accountID, id))
		}
	}
	return keys
}

// contentSyncStateAttrs are the attributes a ContentSyncState is read from.
var contentSyncStateAttrs = []string{"ID", "Version", "SyncedVersion", "WPModifiedGMT", "WordPressStatus", "SyncedHash"}

// GetContentSyncStates is GetContentMetas reduced to each item's
// ContentSyncState: a pull compares every post on a page, and most are
// unchanged, so it reads six attributes, not the whole metadata.
func (s *Store) GetContentSyncStates(ctx context.Context, accountID string, ids []string) (map[string]ContentSyncState, error) {
	if accountID == "" {
		return nil, fmt.Errorf("get content sync states: account id is required: %w", ErrInvalid)
	}
	items, err := s.contentBatchGet(ctx, "content sync states", contentKeys(accountID, ids), contentSyncStateAttrs...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]ContentSyncState, len(items))
	for _, item := range items {
		var it contentItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, fmt.Errorf("unmarshal content sync state: %w", err)
		}
		st := ContentSyncState{ID: it.ID, Version: it.Version, SyncedVersion: it.SyncedVersion, WordPressStatus: it.WordPressStatus, SyncedHash: it.SyncedHash}
		if it.WPModifiedGMT != "" {
			if st.WPModifiedGMT, err = contentParseTime(entityContent, it.ID, "wp_modified_gmt", it.WPModifiedGMT); err != nil {
				return nil, err
			}
		}
		out[st.ID] = st
	}
	return out, nil
}

// ListContent returns one page of a site's content metadata, newest update
// first, merged across the ListShards partitions of one index: GSI2 when
// filtered by status (with a filter on content type when both are given),
// GSI3 when filtered by content type only, else GSI1. One Query per shard
// per page (rarely a second round on shards that ran dry; more when status
// and type filter sparse matches). The cursor is bound to the account, site,
// index and filter values.
func (s *Store) ListContent(ctx context.Context, accountID string, f ContentFilter, p PageRequest) (Page[Content], error) {
	if accountID == "" || f.SiteID == "" {
		return Page[Content]{}, fmt.Errorf("list content: account and site id are required: %w", ErrInvalid)
	}
	q := mergedQuery{entity: "content"}
	switch {
	case f.Status != "":
		q.index, q.pks = IndexGSI2, ContentStatusPartitions(accountID, f.SiteID, f.Status)
		if f.ContentType != "" {
			cond := expression.Name("ContentType").Equal(expression.Value(f.ContentType))
			q.filter, q.scope = &cond, "ContentType="+f.ContentType
		}
	case f.ContentType != "":
		q.index, q.pks = IndexGSI3, ContentTypePartitions(accountID, f.SiteID, f.ContentType)
	default:
		q.index, q.pks = IndexGSI1, ContentSitePartitions(accountID, f.SiteID)
	}
	items, next, err := s.queryMerged(ctx, q, p)
	if err != nil {
		return Page[Content]{}, fmt.Errorf("list content: %w", err)
	}
	page := Page[Content]{Items: make([]Content, 0, len(items)), NextCursor: next}
	for _, item := range items {
		c, err := unmarshalContentMeta(item)
		if err != nil {
			return Page[Content]{}, fmt.Errorf("list content: %w", err)
		}
		page.Items = append(page.Items, c)
	}
	return page, nil
}

// ------------------------------------------------ helpers shared by content,
// taxonomy and image (prefixed "content" to keep the package's names apart)

// contentBatchGetAttempts bounds the calls per chunk while DynamoDB keeps
// returning unprocessed keys.
const contentBatchGetAttempts = 8

// contentBatchGet reads keys with strongly consistent BatchGetItem calls of
// at most MaxBatchGetKeys distinct keys, retrying UnprocessedKeys with
// exponential backoff and jitter; with attrs, only those attributes come
// back. Missing items are simply absent; the result is in no particular
// order.
func (s *Store) contentBatchGet(ctx context.Context, what string, keys []Key, attrs ...string) ([]map[string]types.AttributeValue, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	seen := make(map[Key]bool, len(keys))
	uniq := make([]Key, 0, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, k)
		}
	}
	var out []map[string]types.AttributeValue
	for start := 0; start < len(uniq); start += MaxBatchGetKeys {
		chunk := uniq[start:min(start+MaxBatchGetKeys, len(uniq))]
		req := &types.KeysAndAttributes{Keys: make([]map[string]types.AttributeValue, len(chunk)), ConsistentRead: aws.Bool(true)}
		if len(attrs) > 0 {
			req.ProjectionExpression, req.ExpressionAttributeNames = projection(attrs)
		}
		for i, k := range chunk {
			req.Keys[i] = keyAV(k)
		}
		for attempt := 0; ; attempt++ {
			res, err := s.ddb.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
				RequestItems: map[string]types.KeysAndAttributes{s.table: *req},
			})
			if err != nil {
				return nil, fmt.Errorf("batch get %s: %w", what, err)
			}
			out = append(out, res.Responses[s.table]...)
			un, ok := res.UnprocessedKeys[s.table]
			if !ok || len(un.Keys) == 0 {
				break
			}
			if attempt+1 >= contentBatchGetAttempts {
				return nil, fmt.Errorf("batch get %s: %d keys still unprocessed after %d attempts", what, len(un.Keys), attempt+1)
			}
			req = &un
			backoff := time.Duration(20<<attempt)*time.Millisecond + time.Duration(rand.IntN(20))*time.Millisecond
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("batch get %s: %w", what, ctx.Err())
			case <-time.After(backoff):
			}
		}
	}
	return out, nil
}

// contentTransactGroups writes groups of ops (each group: one entity's
// items, e.g. a term and its lookup) with as few transactions as possible:
// consecutive groups share a transaction up to MaxTransactionItems ops
// and MaxTransactionBytes.
// When a shared transaction is refused by a condition, its groups are
// retried one transaction each, so one lost race does not fail its
// neighbours. It returns one error per group (nil = written).
func (s *Store) contentTransactGroups(ctx context.Context, what string, groups [][]txOp) []error {
	errs := make([]error, len(groups))
	for start := 0; start < len(groups); {
		end, n, size := start, 0, 0
		for end < len(groups) && n+len(groups[end]) <= MaxTransactionItems {
			gsize := 0
			for _, op := range groups[end] {
				gsize += op.size
			}
			if end > start && size+gsize > MaxTransactionBytes {
				break
			}
			n, size = n+len(groups[end]), size+gsize
			end++
		}
		if end == start {
			errs[start] = fmt.Errorf("%s: %d items in one group, limit %d: %w", what, len(groups[start]), MaxTransactionItems, ErrInvalid)
			start++
			continue
		}
		var ops []txOp
		for _, g := range groups[start:end] {
			ops = append(ops, g...)
		}
		err := s.transact(ctx, what, ops)
		switch {
		case err == nil:
		case end-start > 1 && (errors.Is(err, ErrConflict) || errors.Is(err, ErrPreconditionFailed)):
			for i := start; i < end; i++ {
				errs[i] = s.transact(ctx, what, groups[i])
			}
		default:
			for i := start; i < end; i++ {
				errs[i] = err
			}
		}
		start = end
	}
	return errs
}

// lookupIDs reads the lookup items of refs (one consistent BatchGetItem per
// 100 keys, unprocessed keys retried) and maps every ref whose lookup exists
// to the ID held in the lookup's idAttr attribute.
func lookupIDs[R comparable](ctx context.Context, s *Store, what string, refs []R, keyOf func(R) Key, idAttr string) (map[R]string, error) {
	keys := make([]Key, 0, len(refs))
	byPK := make(map[string]R, len(refs))
	for _, r := range refs {
		k := keyOf(r)
		if _, dup := byPK[k.PK]; !dup {
			byPK[k.PK] = r
			keys = append(keys, k)
		}
	}
	items, err := s.contentBatchGet(ctx, what, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[R]string, len(items))
	for _, item := range items {
		pk, _ := item[AttrPK].(*types.AttributeValueMemberS)
		id, _ := item[idAttr].(*types.AttributeValueMemberS)
		if pk == nil || id == nil || id.Value == "" {
			continue
		}
		if r, ok := byPK[pk.Value]; ok {
			out[r] = id.Value
		}
	}
	return out, nil
}
