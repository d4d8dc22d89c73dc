package integrations

import (
	"strings"
	"testing"

	"github.com/igny8/integrations/shared/apperr"
)

func TestValidateCredentials(t *testing.T) {
	tests := []struct {
		name      string
		in        Credentials
		wantField string
	}{
		{"ok with spaces", Credentials{Username: "editor", ApplicationPassword: "abcd EFGH ijkl MNOP qrst UVWX"}, ""},
		{"trimmed", Credentials{Username: "  editor ", ApplicationPassword: " abcdefghijkl "}, ""},
		{"no username", Credentials{Username: "", ApplicationPassword: "abcdefghijkl"}, "credentials.username"},
		{"colon in username", Credentials{Username: "a:b", ApplicationPassword: "abcdefghijkl"}, "credentials.username"},
		{"long username", Credentials{Username: strings.Repeat("é", 61), ApplicationPassword: "abcdefghijkl"}, "credentials.username"},
		{"no password", Credentials{Username: "editor", ApplicationPassword: ""}, "credentials.application_password"},
		{"short password", Credentials{Username: "editor", ApplicationPassword: "ab cd ef"}, "credentials.application_password"},
		{"long password", Credentials{Username: "editor", ApplicationPassword: strings.Repeat("x", 257)}, "credentials.application_password"},
		{"newline in password", Credentials{Username: "editor", ApplicationPassword: "abcd\nefghijkl"}, "credentials.application_password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := validateCredentials(tt.in, true)
			if got := apperr.ToProblem(err, "").Field; (err == nil) != (tt.wantField == "") || got != tt.wantField {
				t.Fatalf("err %v (field %q), want field %q", err, got, tt.wantField)
			}
		})
	}
}

func TestValidatePlatform(t *testing.T) {
	for p, want := range map[string]int{"wordpress": 0, "": 400, "shopify": 422, "Shopify": 422, "myspace": 422} {
		err := validatePlatform(p)
		if got := apperr.ToProblem(err, "").Status; (err == nil && want != 0) || (err != nil && got != want) {
			t.Errorf("platform %q: %v (status %d), want %d", p, err, got, want)
		}
	}
}

func TestLast4RevealsOnlyFromLongPasswords(t *testing.T) {
	for in, want := range map[string]string{
		"abcd EFGH ijkl MNOP qrst UVWX": "UVWX",
		"abcdefghi":                     "fghi",
		"abcdefgh":                      "",
		"":                              "",
	} {
		if got := last4(in); got != want {
			t.Errorf("last4(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateConfigDropsManagedKeysAndBoundsSize(t *testing.T) {
	cfg, err := validateConfig(map[string]any{"publish_status": "draft", "structure": "x", "connection": 1})
	if err != nil || len(cfg) != 1 || cfg["publish_status"] != "draft" {
		t.Fatalf("got %v, %v; want only publish_status", cfg, err)
	}
	if _, err := validateConfig(map[string]any{"big": strings.Repeat("x", MaxConfigJSONBytes)}); apperr.ToProblem(err, "").Field != "config_json" {
		t.Fatalf("oversized config: %v", err)
	}
	merged := mergeManaged(map[string]any{"a": 1}, map[string]any{"structure": "s", "connection": "c", "old": 2})
	if len(merged) != 3 || merged["structure"] != "s" || merged["old"] != nil {
		t.Fatalf("merged %v", merged)
	}
}
