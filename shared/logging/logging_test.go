package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

func TestLinesCarryRequestAndContextAttributes(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelInfo)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-123"})
	ctx = With(ctx, IntegrationID("int-9"))
	ctx = With(ctx, AccountID("acct-1"))
	log.InfoContext(ctx, "hello", slog.Int("n", 1))
	log.DebugContext(ctx, "hidden")

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("want exactly one JSON line (debug filtered), got %q: %v", buf.String(), err)
	}
	for k, want := range map[string]any{"msg": "hello", "request_id": "req-123", "integration_id": "int-9", "account_id": "acct-1", "n": float64(1)} {
		if line[k] != want {
			t.Errorf("%s = %v, want %v", k, line[k], want)
		}
	}
}

func TestWithDoesNotLeakBetweenContexts(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelInfo)
	parent := With(context.Background(), IntegrationID("a"))
	_ = With(parent, IntegrationID("b"))
	log.InfoContext(parent, "x")
	var line map[string]any
	_ = json.Unmarshal(buf.Bytes(), &line)
	if line["integration_id"] != "a" {
		t.Fatalf("parent context line has integration_id %v, want a", line["integration_id"])
	}
}
