package wordpress

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
)

// postsCollection serves n posts the way WordPress paginates them, with
// or without the X-WP-Total headers.
func postsCollection(n int, headers bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		perPage, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		pages := (n + perPage - 1) / perPage
		if headers {
			w.Header().Set("X-WP-Total", strconv.Itoa(n))
			w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
		}
		if page > max(pages, 1) {
			writeWPError(w, 400, "rest_post_invalid_page_number", "The page number requested is larger than the number of pages available.")
			return
		}
		items := []map[string]any{}
		for id := (page-1)*perPage + 1; id <= min(page*perPage, n); id++ {
			items = append(items, map[string]any{"id": id, "modified_gmt": "2025-05-01T10:00:00"})
		}
		writeJSON(w, 200, items)
	}
}

func TestEachPageWalksAllPages(t *testing.T) {
	f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/posts": postsCollection(5, true)})
	c, _ := newClient(t, f.SiteURL())
	query := url.Values{"status": {"publish"}, "context": {"edit"}}
	var pages, ids []int
	err := c.EachPage(context.Background(), "wp/v2/posts", query, 2, func(page int, resp *Response, raw []json.RawMessage) error {
		pages = append(pages, page)
		if resp.Total != 5 || resp.TotalPages != 3 {
			t.Errorf("page %d: Total %d, TotalPages %d; want 5, 3", page, resp.Total, resp.TotalPages)
		}
		for _, item := range raw {
			var p struct{ ID int }
			if err := json.Unmarshal(item, &p); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, p.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("EachPage: %v", err)
	}
	if !slices.Equal(pages, []int{1, 2, 3}) || !slices.Equal(ids, []int{1, 2, 3, 4, 5}) {
		t.Errorf("pages %v, ids %v", pages, ids)
	}
	if f.Hits("wp/v2/posts") != 3 {
		t.Errorf("requests = %d, want 3 (no probe past the last page)", f.Hits("wp/v2/posts"))
	}
	for i, r := range f.Requests() {
		if r.Query.Get("page") != strconv.Itoa(i+1) || r.Query.Get("per_page") != "2" || r.Query.Get("status") != "publish" {
			t.Errorf("request %d query = %v", i+1, r.Query)
		}
	}
	if len(query) != 2 {
		t.Errorf("the caller's query was changed: %v", query)
	}
}

func TestEachPageStops(t *testing.T) {
	alwaysFull := func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `[{"id":1},{"id":2}]`) }
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		fn       func(page int) error
		maxPages int
		wantErr  string // code, "" for none
		requests int
	}{
		{name: "empty collection", handler: postsCollection(0, true), requests: 1},
		{name: "short page without headers", handler: postsCollection(3, false), requests: 2},
		{name: "exact multiple without headers: past-the-end 400 ends it", handler: postsCollection(4, false), requests: 3},
		{name: "empty page without headers", handler: sequence(alwaysFull, okJSON([]any{})), requests: 2},
		{name: "callback asks to stop", handler: postsCollection(10, true), requests: 1,
			fn: func(int) error { return ErrStopPaging }},
		{name: "callback error is returned", handler: postsCollection(10, true), requests: 2, wantErr: "callback",
			fn: func(page int) error {
				if page == 2 {
					return errors.New("store is down")
				}
				return nil
			}},
		{name: "a site that never ends", handler: alwaysFull, maxPages: 3, wantErr: CodeTooManyPages, requests: 3},
		{name: "an error page mid-way", handler: sequence(alwaysFull, answerError(403, "rest_forbidden", "No")), wantErr: CodeForbidden, requests: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/posts": tt.handler})
			c, _ := newClient(t, f.SiteURL(), func(o *Options) { o.MaxPages = tt.maxPages })
			err := c.EachPage(context.Background(), "wp/v2/posts", nil, 2, func(page int, _ *Response, _ []json.RawMessage) error {
				if tt.fn != nil {
					return tt.fn(page)
				}
				return nil
			})
			switch tt.wantErr {
			case "":
				if err != nil {
					t.Fatalf("EachPage: %v", err)
				}
			case "callback":
				if err == nil || err.Error() != "store is down" {
					t.Fatalf("EachPage = %v, want the callback's error", err)
				}
			default:
				mustCode(t, err, tt.wantErr)
			}
			if f.Total() != tt.requests {
				t.Errorf("requests = %d, want %d", f.Total(), tt.requests)
			}
		})
	}
}

func TestGetPageClampsPerPage(t *testing.T) {
	tests := []struct {
		page, perPage         int
		wantPage, wantPerPage string
	}{
		{1, 100, "1", "100"},
		{2, 500, "2", "100"},
		{3, 0, "3", "1"},
		{0, -5, "1", "1"},
		{4, 37, "4", "37"},
	}
	f := newFakeWP(t, map[string]http.HandlerFunc{"wp/v2/tags": okJSON([]any{})})
	c, _ := newClient(t, f.SiteURL())
	for _, tt := range tests {
		var out []json.RawMessage
		if _, err := c.GetPage(context.Background(), "wp/v2/tags", url.Values{"per_page": {"999"}}, tt.page, tt.perPage, &out); err != nil {
			t.Fatalf("GetPage: %v", err)
		}
		q := f.Last(t).Query
		if q.Get("page") != tt.wantPage || len(q["per_page"]) != 1 || q.Get("per_page") != tt.wantPerPage {
			t.Errorf("GetPage(page %d, perPage %d) sent %v; want page %s per_page %s", tt.page, tt.perPage, q, tt.wantPage, tt.wantPerPage)
		}
	}
}
