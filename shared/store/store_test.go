package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/igny8/integrations/shared/testutil"
)

// env is one test's store over its own table, with a call counter, a
// stepping clock and the raw client for direct checks.
type env struct {
	t     *testing.T
	s     *Store
	ddb   *dynamodb.Client
	calls *testutil.RequestCounter
	table string
	clock *stepClock
}

// stepClock advances one millisecond per reading, so timestamps differ.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	clients, calls := testutil.MustCountingClients(t)
	table := testutil.MustCreateTable(t, clients.DynamoDB)
	clk := &stepClock{t: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)}
	s := New(clients.DynamoDB, table, append([]Option{WithClock(clk.Now)}, opts...)...)
	calls.Reset()
	return &env{t: t, s: s, ddb: clients.DynamoDB, calls: calls, table: table, clock: clk}
}

// supportsTransactions reports whether the flavor under test implements
// TransactWriteItems (dynalite does not).
func supportsTransactions() bool { return testutil.DynamoDBFlavor() != "dynalite" }

// skipWithoutAtomicConcurrency skips tests of concurrent writers to one
// item: moto's server applies concurrent UpdateItem and TransactWriteItems
// calls without isolation (two ADDs can return the same ALL_NEW; concurrent
// transactions crash with HTTP 500). kumo and DynamoDB serialise them.
func skipWithoutAtomicConcurrency(t *testing.T) {
	t.Helper()
	testutil.SkipUnsupported(t, "isolated concurrent writes to one item", "moto")
}

// skipWithoutTransactions skips tests that need TransactWriteItems.
func skipWithoutTransactions(t *testing.T) {
	t.Helper()
	testutil.SkipUnsupported(t, "transactions (TransactWriteItems)", "dynalite")
}

func integ(account, site, platform, url string) Integration {
	return Integration{
		AccountID: account, SiteID: site, Platform: platform, ExternalSiteURL: url,
		IsActive: true, SyncEnabled: true, ConnectionStatus: "unknown",
		CredentialsSecret: "igny8/test/site-" + site, Username: "admin", PasswordLast4: "abcd",
	}
}

// mustCreate creates in through the store.
func (e *env) mustCreate(in Integration) Integration {
	e.t.Helper()
	out, err := e.s.CreateIntegration(context.Background(), in)
	if err != nil {
		e.t.Fatalf("create integration %+v: %v", in, err)
	}
	return out
}

// seed stores integrations for read tests: through CreateIntegration where
// transactions exist, else with plain PutItem of the same item shape
// (dynalite), so listing, paging and cursor checks run on every flavor.
func (e *env) seed(in Integration) Integration {
	e.t.Helper()
	if supportsTransactions() {
		return e.mustCreate(in)
	}
	if in.ID == "" {
		in.ID = e.s.newID()
	}
	now := e.s.clock()
	in.CreatedAt, in.UpdatedAt, in.Version = now, now, 1
	item, err := marshalIntegration(in)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: item}); err != nil {
		e.t.Fatalf("seed integration: %v", err)
	}
	return in
}

// rawItem reads an item directly.
func (e *env) rawItem(k Key) map[string]types.AttributeValue {
	e.t.Helper()
	out, err := e.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(e.table), Key: keyAV(k), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		e.t.Fatalf("raw get %+v: %v", k, err)
	}
	return out.Item
}

func url(n int) string { return fmt.Sprintf("https://site%d.example.com", n) }

func TestKeyConditionDropsTheBuildersParentheses(t *testing.T) {
	tests := []struct{ in, want string }{
		{"(#0 = :0) AND (begins_with (#1, :1))", "#0 = :0 AND begins_with (#1, :1)"},
		{"(#0 = :0) AND (#1 BETWEEN :1 AND :2)", "#0 = :0 AND #1 BETWEEN :1 AND :2"},
		{"(#0_ = :0) AND (#1_ >= :1)", "#0_ = :0 AND #1_ >= :1"},
		{"#0 = :0", "#0 = :0"},
	}
	for _, tt := range tests {
		if got := *keyCondition(&tt.in); got != tt.want {
			t.Errorf("keyCondition(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if keyCondition(nil) != nil {
		t.Error("keyCondition(nil) is not nil")
	}
}
