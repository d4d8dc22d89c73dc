package testutil

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/igny8/integrations/shared/awsclients"
)

// RequestCounter is an SDK HTTP client that counts AWS API calls by
// operation ("Query", "TransactWriteItems", "SendMessageBatch" …, taken
// from the X-Amz-Target header) and passes them on. Pass it as
// awsclients.Options.HTTPClient, or use MustCountingClients. Each HTTP
// attempt counts, so SDK retries show up too.
type RequestCounter struct {
	next *awshttp.BuildableClient
	*counts
}

type counts struct {
	mu sync.Mutex
	by map[string]int
}

// NewRequestCounter wraps the SDK's default HTTP client.
func NewRequestCounter() *RequestCounter {
	return &RequestCounter{next: awshttp.NewBuildableClient(), counts: &counts{by: map[string]int{}}}
}

// WithTransportOptions lets the SDK's config loader customise the transport
// (AWS_CA_BUNDLE does); the returned client shares this one's counts.
func (c *RequestCounter) WithTransportOptions(opts ...func(*http.Transport)) aws.HTTPClient {
	return &RequestCounter{next: c.next.WithTransportOptions(opts...), counts: c.counts}
}

// Do counts the request and sends it.
func (c *RequestCounter) Do(r *http.Request) (*http.Response, error) {
	op := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(op, '.'); i >= 0 {
		op = op[i+1:]
	}
	if op == "" {
		op = "unknown"
	}
	c.mu.Lock()
	c.by[op]++
	c.mu.Unlock()
	return c.next.Do(r)
}

// Count returns how many op calls were made since the last Reset.
func (c *RequestCounter) Count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.by[op]
}

// Total returns how many calls of any operation were made since the last Reset.
func (c *RequestCounter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.by {
		n += v
	}
	return n
}

// Snapshot returns a copy of the counts by operation.
func (c *RequestCounter) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.by))
	for k, v := range c.by {
		out[k] = v
	}
	return out
}

// Reset zeroes the counts.
func (c *RequestCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.by = map[string]int{}
}

// MustCountingClients is MustClients with every call counted.
func MustCountingClients(t testing.TB) (awsclients.Clients, *RequestCounter) {
	t.Helper()
	rc := NewRequestCounter()
	c, err := awsclients.New(context.Background(), awsclients.Options{
		Endpoint:         EmulatorURL(t),
		DynamoDBEndpoint: DynamoDBEndpoint(t),
		HTTPClient:       rc,
	})
	if err != nil {
		t.Fatalf("build counting clients: %v", err)
	}
	return c, rc
}
