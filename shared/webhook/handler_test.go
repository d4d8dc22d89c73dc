package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestReceiverAnswersProblemsUntilDeliveriesAreAccepted(t *testing.T) {
	h := NewHandler(Deps{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"POST", Path, 501, "not_implemented"},
		{"GET", Path, 405, "method_not_allowed"},
		{"POST", "/elsewhere", 404, "route_not_found"},
	}
	for _, tt := range tests {
		req := events.LambdaFunctionURLRequest{RawPath: tt.path}
		req.RequestContext.HTTP.Method = tt.method
		resp, err := h(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || resp.Headers["Content-Type"] != "application/problem+json" {
			t.Fatalf("%s %s: not a problem document: %v %q", tt.method, tt.path, resp.Headers, resp.Body)
		}
		if resp.StatusCode != tt.status || p["code"] != tt.code {
			t.Fatalf("%s %s: %d %v, want %d %s", tt.method, tt.path, resp.StatusCode, p["code"], tt.status, tt.code)
		}
	}
}
