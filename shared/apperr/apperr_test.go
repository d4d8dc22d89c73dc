package apperr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProblemRendering(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   Code
		wantDetail string
		wantField  string
	}{
		{"field error", Field(Invalid, "limit", "limit must be 1–100"), 400, Invalid, "limit must be 1–100", "limit"},
		{"wrapped app error keeps its code", fmt.Errorf("list: %w", New(NotFound, "Not found")), 404, NotFound, "Not found", ""},
		{"status override", &Error{Code: "wp_auth_header_stripped", HTTPStatus: 502, Message: "m"}, 502, "wp_auth_header_stripped", "m", ""},
		{"plain error is internal and hides its cause", errors.New("dynamodb: secret-ish detail"), 500, Internal, "Internal error", ""},
		{"internal app error hides its message", Wrap(errors.New("x"), Internal, "leaky detail"), 500, Internal, "Internal error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			Write(w, tt.err, "/api/v1/x")
			if w.Code != tt.wantStatus || w.Header().Get("Content-Type") != ContentType {
				t.Fatalf("status %d type %q", w.Code, w.Header().Get("Content-Type"))
			}
			var p map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p["code"] != string(tt.wantCode) || p["detail"] != tt.wantDetail || int(p["status"].(float64)) != tt.wantStatus || p["instance"] != "/api/v1/x" {
				t.Fatalf("problem = %v", p)
			}
			if f, _ := p["field"].(string); f != tt.wantField {
				t.Fatalf("field = %q, want %q", f, tt.wantField)
			}
			if strings.Contains(w.Body.String(), "secret-ish") || strings.Contains(w.Body.String(), "leaky") {
				t.Fatalf("internal detail leaked: %s", w.Body.String())
			}
		})
	}
}

func TestDetailsAreFlattenedButCannotOverrideStandardMembers(t *testing.T) {
	e := New(MethodNotAllowed, "no")
	e.Details = map[string]any{"allow": []string{"GET"}, "status": 200, "code": "ok"}
	b, _ := json.Marshal(ToProblem(e, ""))
	var p map[string]any
	_ = json.Unmarshal(b, &p)
	if p["status"].(float64) != 405 || p["code"] != "method_not_allowed" {
		t.Fatalf("details overrode standard members: %s", b)
	}
	if allow, ok := p["allow"].([]any); !ok || allow[0] != "GET" {
		t.Fatalf("allow not flattened: %s", b)
	}
}
