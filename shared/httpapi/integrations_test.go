package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/igny8/integrations/shared/integrations"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/testutil"
)

type listBody struct {
	Items      []integrationJSON `json:"items"`
	NextCursor *string           `json:"next_cursor"`
}

func TestListIntegrationsPagesThroughTheCallersOwnOnly(t *testing.T) {
	clients, counter := testutil.MustCountingClients(t)
	table := testutil.MustCreateTable(t, clients.DynamoDB)
	st := store.New(clients.DynamoDB, table)
	ctx := context.Background()
	for i := range 5 {
		_, err := st.CreateIntegration(ctx, store.Integration{
			AccountID: "acct-a", SiteID: fmt.Sprintf("site-%d", i), Platform: "wordpress",
			ExternalSiteURL: fmt.Sprintf("https://blog%d.example.com", i), IsActive: true,
			Username: "editor", CredentialsSecret: "sites/x/wordpress", PasswordLast4: "wxyz",
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CreateIntegration(ctx, store.Integration{AccountID: "acct-b", SiteID: "site-b", Platform: "wordpress", ExternalSiteURL: "https://b.example.com"}); err != nil {
		t.Fatal(err)
	}
	h := NewLambdaHandler(Deps{Config: testConfig(t), Logger: logging.New(io.Discard, slog.LevelInfo), Integrations: integrations.New(integrations.Deps{Store: st})})

	// Page through account A two at a time: 2 + 2 + 1, one Query per page.
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		counter.Reset()
		target := "/api/v1/integration/?limit=2"
		if cursor != "" {
			target += "&cursor=" + url.QueryEscape(cursor)
		}
		r := call(t, h, "GET", target, accountA, "")
		if r.status != 200 {
			t.Fatalf("page %d: status %d %s", pages, r.status, r.body)
		}
		if got := counter.Snapshot(); got["Query"] != 1 || counter.Total() != 1 {
			t.Fatalf("page %d made DynamoDB calls %v, want exactly one Query", pages, got)
		}
		if strings.Contains(string(r.body), "sites/x/wordpress") {
			t.Fatalf("response reveals the secret's name: %s", r.body)
		}
		var b listBody
		if err := json.Unmarshal(r.body, &b); err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range b.Items {
			if it.Account != "acct-a" || seen[it.ID] {
				t.Fatalf("page %d: item %+v is another account's or repeated", pages, it)
			}
			seen[it.ID] = true
			if !it.Credentials.ApplicationPasswordSet || it.Credentials.ApplicationPasswordLast != "wxyz" || it.Credentials.Username != "editor" {
				t.Fatalf("credentials shown as %+v", it.Credentials)
			}
		}
		if b.NextCursor == nil {
			break
		}
		if *b.NextCursor == "" || pages > 5 {
			t.Fatalf("bad cursor %q after %d pages", *b.NextCursor, pages)
		}
		cursor = *b.NextCursor
	}
	if len(seen) != 5 || pages != 3 {
		t.Fatalf("saw %d integrations in %d pages, want 5 in 3", len(seen), pages)
	}

	// Account B sees only its own, and cannot reuse A's cursor.
	r := call(t, h, "GET", "/api/v1/integration/", accountB, "")
	var b listBody
	_ = json.Unmarshal(r.body, &b)
	if len(b.Items) != 1 || b.Items[0].Account != "acct-b" {
		t.Fatalf("account B lists %+v, want only its own integration", b.Items)
	}
	firstPage := call(t, h, "GET", "/api/v1/integration/?limit=2", accountA, "")
	var fp listBody
	_ = json.Unmarshal(firstPage.body, &fp)
	r = call(t, h, "GET", "/api/v1/integration/?cursor="+url.QueryEscape(*fp.NextCursor), accountB, "")
	if r.status != 400 || r.json(t)["field"] != "cursor" {
		t.Fatalf("B using A's cursor: %d %s, want 400 on field cursor", r.status, r.body)
	}
	r = call(t, h, "GET", "/api/v1/integration/?cursor=not-a-cursor", accountA, "")
	if r.status != 400 || r.json(t)["field"] != "cursor" {
		t.Fatalf("garbage cursor: %d %s, want 400 on field cursor", r.status, r.body)
	}

	// Filters.
	r = call(t, h, "GET", "/api/v1/integration/?site_id=site-3", accountA, "")
	b = listBody{}
	_ = json.Unmarshal(r.body, &b)
	if len(b.Items) != 1 || b.Items[0].SiteID != "site-3" {
		t.Fatalf("site_id filter returned %+v", b.Items)
	}
}
