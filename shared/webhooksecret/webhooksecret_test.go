package webhooksecret

import (
	"strings"
	"testing"
	"time"
)

func TestGenerateAndKey(t *testing.T) {
	a, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate()
	if a == b || !strings.HasPrefix(a, Prefix) {
		t.Fatalf("secrets %q and %q", a, b)
	}
	k, err := Key(a)
	if err != nil || len(k) != 32 {
		t.Fatalf("Key(%q) = %d bytes, %v; want 32", a, len(k), err)
	}
	for _, bad := range []string{"", "whsec_", "whsec_!!!", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"} {
		if _, err := Key(bad); err == nil {
			t.Errorf("Key(%q) accepted", bad)
		}
	}
}

func TestValidKeepsThePreviousSecretOnlyDuringTheGrace(t *testing.T) {
	until := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	k := Keys{Current: "whsec_new", Previous: "whsec_old", PreviousUntil: until}
	if got := k.Valid(until.Add(-time.Second)); len(got) != 2 {
		t.Fatalf("during the grace: %v", got)
	}
	if got := k.Valid(until); len(got) != 1 || got[0] != "whsec_new" {
		t.Fatalf("at the end of the grace: %v", got)
	}
	if got := (Keys{Current: "whsec_new"}).Valid(until); len(got) != 1 {
		t.Fatalf("without a previous secret: %v", got)
	}
}
