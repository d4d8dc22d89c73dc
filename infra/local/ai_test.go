package local

import (
	"encoding/json"
	"testing"
	"time"
)

// TestLocalStackServesTheSeededRegistry: a fresh local stack has no
// registry items; the first read seeds them from the embedded data file,
// exactly as the first request after a deploy does in AWS. Admin routes
// need the admin token.
func TestLocalStackServesTheSeededRegistry(t *testing.T) {
	t.Parallel()
	st, _ := startStack(t, Options{})
	member, _ := st.Token("acct-1", false, time.Hour)
	admin, _ := st.Token("acct-1", true, time.Hour)

	code, _, body := get(t, st.APIURL+"/api/v1/ai/models/?type=image&provider=bria", member)
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list.Items) != 3 || list.Items[0].ID != "bria-2.2" {
		t.Fatalf("bria image models on a fresh stack: %d %s", code, body)
	}
	if code, _, body := get(t, st.APIURL+"/api/v1/ai/settings/", member); code != 403 {
		t.Fatalf("settings with a member token: %d %s, want 403", code, body)
	}
	if code, _, body := get(t, st.APIURL+"/api/v1/ai/settings/", admin); code != 200 {
		t.Fatalf("settings with an admin token: %d %s", code, body)
	}
}
