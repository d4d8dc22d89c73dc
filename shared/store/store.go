// Package store is the service's DynamoDB single-table store. It owns the
// key scheme (keys.go: nothing else builds a PK, SK or GSI key), the item
// shapes, optimistic locking by a Version attribute, opaque pagination
// cursors bound to the listing they came from, a transaction helper that
// turns cancellation reasons into typed errors, and the 400 KB item check.
//
// Every access pattern is a GetItem, a Query or a transaction; the store
// never scans. Every expression is built with feature/dynamodb/expression,
// so reserved words and placeholders are always right, even though the
// embedded emulator would accept mistakes. docs/data-model.md describes the
// entities, keys, indexes and access patterns.
//
// Methods return the sentinel errors in errors.go (ErrNotFound, ErrConflict,
// ErrPreconditionFailed, ErrInvalidCursor, ErrItemTooLarge, ErrInvalid),
// wrapped with context; the HTTP layer maps them to application errors.
package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
)

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// DynamoDB is the subset of the DynamoDB client the store calls.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// Store is the DynamoDB store. It is safe for concurrent use.
type Store struct {
	ddb       DynamoDB
	table     string
	now       func() time.Time
	newID     func() string
	cursorKey []byte
	txRetries int
	// contentHook, when set, is told about every content write that
	// succeeded (before is nil on create) and returns the content as it is
	// afterwards.
	contentHook func(ctx context.Context, before *Content, after Content) Content
}

// OnContentWrite registers fn to be called after every successful
// CreateContent (before nil) and UpdateContent, whoever the writer is (the
// API or a pull); what fn returns is what the write returns. The content
// service uses it to auto-approve content entering review. Set it once,
// before the store is shared.
func (s *Store) OnContentWrite(fn func(ctx context.Context, before *Content, after Content) Content) {
	s.contentHook = fn
}

// Option configures a Store.
type Option func(*Store)

// WithClock injects the clock (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithIDGenerator injects the ID generator. The default returns random,
// time-ordered UUIDv7 strings: sortable, never guessable sequence numbers.
func WithIDGenerator(newID func() string) Option { return func(s *Store) { s.newID = newID } }

// WithCursorKey sets the HMAC key that signs pagination cursors. Production
// wiring should pass a secret value; the default is derived from the table
// name, which still detects corruption and, together with the strict
// partition checks, keeps every cursor inside the listing it came from.
func WithCursorKey(key []byte) Option {
	return func(s *Store) { s.cursorKey = append([]byte(nil), key...) }
}

// WithTransactionRetries sets how many times a transaction cancelled only by
// a TransactionConflict is retried (default 3).
func WithTransactionRetries(n int) Option { return func(s *Store) { s.txRetries = n } }

// New returns a Store over table. client is usually a *dynamodb.Client.
func New(client DynamoDB, table string, opts ...Option) *Store {
	s := &Store{
		ddb:       client,
		table:     table,
		now:       time.Now,
		newID:     newUUIDv7,
		txRetries: 3,
	}
	for _, o := range opts {
		o(s)
	}
	if s.cursorKey == nil {
		sum := sha256.Sum256([]byte("igny8-store-cursor/" + table))
		s.cursorKey = sum[:]
	}
	return s
}

func newUUIDv7() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only if the system's random source does.
		panic(fmt.Sprintf("store: uuid v7: %v", err))
	}
	return id.String()
}

// clock returns the current time in UTC, truncated to microseconds so it
// round-trips exactly through the stored RFC 3339 strings.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// PageRequest asks for one page of a listing.
type PageRequest struct {
	// Limit is the page size: 0 means DefaultPageSize; larger than
	// MaxPageSize means MaxPageSize.
	Limit int
	// Cursor is the NextCursor of the previous page, or "" for the first.
	Cursor string
}

func (p PageRequest) limit() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageSize
	case p.Limit > MaxPageSize:
		return MaxPageSize
	default:
		return p.Limit
	}
}

// Page is one page of a listing. NextCursor is "" on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor string
}

// keyAttrs returns the key attributes of an index ("" = base table) in the
// order partition, sort, then the base keys for a GSI.
func keyAttrs(index string) ([]string, error) {
	switch index {
	case "":
		return []string{AttrPK, AttrSK}, nil
	case IndexGSI1:
		return []string{AttrGSI1PK, AttrGSI1SK, AttrPK, AttrSK}, nil
	case IndexGSI2:
		return []string{AttrGSI2PK, AttrGSI2SK, AttrPK, AttrSK}, nil
	case IndexGSI3:
		return []string{AttrGSI3PK, AttrGSI3SK, AttrPK, AttrSK}, nil
	default:
		return nil, fmt.Errorf("store: unknown index %q", index)
	}
}

// listQuery describes one single-partition listing.
type listQuery struct {
	entity   string // for messages and the cursor scope
	index    string // "" = base table
	pk       string // partition key value
	skPrefix string // "" = whole partition
	forward  bool
}

// queryPage runs exactly one Query for one page of q. It asks for one item
// more than the page size, so the last page never carries a cursor, and
// builds the cursor from the last returned item's keys.
func (s *Store) queryPage(ctx context.Context, q listQuery, p PageRequest) ([]map[string]types.AttributeValue, string, error) {
	attrs, err := keyAttrs(q.index)
	if err != nil {
		return nil, "", err
	}
	limit := p.limit()
	var start map[string]types.AttributeValue
	if p.Cursor != "" {
		start, err = s.decodeCursor(p.Cursor, q, attrs)
		if err != nil {
			return nil, "", err
		}
	}
	kc := expression.Key(attrs[0]).Equal(expression.Value(q.pk))
	if q.skPrefix != "" {
		kc = kc.And(expression.Key(attrs[1]).BeginsWith(q.skPrefix))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, "", fmt.Errorf("build %s query: %w", q.entity, err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    keyCondition(expr.KeyCondition()),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ExclusiveStartKey:         start,
		Limit:                     aws.Int32(int32(limit + 1)),
		ScanIndexForward:          aws.Bool(q.forward),
	}
	if q.index != "" {
		in.IndexName = aws.String(q.index)
	}
	out, err := s.ddb.Query(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("query %s page: %w", q.entity, err)
	}
	items := out.Items
	var next string
	switch {
	case len(items) > limit:
		items = items[:limit]
		next, err = s.encodeCursor(q, attrs, items[limit-1])
	case len(out.LastEvaluatedKey) > 0 && len(items) > 0:
		// The 1 MB response limit cut the page short: more may follow.
		next, err = s.encodeCursor(q, attrs, out.LastEvaluatedKey)
	}
	if err != nil {
		return nil, "", err
	}
	return items, next, nil
}

// getItem reads one item strongly consistently; nil when absent.
func (s *Store) getItem(ctx context.Context, key Key) (map[string]types.AttributeValue, error) {
	out, err := s.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            keyAV(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

func keyAV(key Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: &types.AttributeValueMemberS{Value: key.PK},
		AttrSK: &types.AttributeValueMemberS{Value: key.SK},
	}
}

// isConditionFailed reports whether err is a single-item conditional check failure.
func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

// keyCondRE matches the expression builder's rendering of a two-part key
// condition: "(#0 = :0) AND (begins_with (#1, :1))".
var keyCondRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\((.+?)\) AND \((.+)\)$`) })

// keyCondition returns a built key condition without the builder's
// parentheses around its two parts. DynamoDB reads both forms the same; the
// embedded emulator (kumo v0.33.1) evaluates the parenthesised form on
// every item of the table while holding its lock (measured on 20,000
// items: 74 ms per Query against 12 ms), which made every listing slower
// as a local table grew. Every Query's KeyConditionExpression goes through
// here.
func keyCondition(s *string) *string {
	if s == nil {
		return nil
	}
	if m := keyCondRE().FindStringSubmatch(*s); m != nil {
		out := m[1] + " AND " + m[2]
		return &out
	}
	return s
}
