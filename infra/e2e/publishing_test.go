package e2e

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/igny8/integrations/infra/local"
)

// TestScheduledPublishingWithRealWordPress: a site whose window is open
// with a daily limit of 2 gets 3 approved items; the publisher (the local
// stack's schedule, every 200 ms) publishes exactly 2 to WordPress, at the
// day's two planned times, and the third waits for the next publish day.
func TestScheduledPublishingWithRealWordPress(t *testing.T) {
	e := startWith(t, local.Options{PublishEvery: 200 * time.Millisecond})
	api := e.account(t, "e2e-publish")
	siteID := fmt.Sprintf("pub-%d", time.Now().UnixNano()%1e9)
	created := api.do("POST", "/api/v1/integration/", map[string]any{
		"site_id": siteID, "platform": "wordpress", "external_site_url": e.wp.URL,
		"credentials": map[string]string{"username": e.wp.Username, "application_password": e.wp.AppPassword},
	})
	if created.status != 201 {
		t.Fatalf("create: %d %s", created.status, created.body)
	}

	// A one-minute window that opens this minute, in a zone where it does
	// not cross midnight: the day's 2 planned times are this minute's :00
	// and :30.
	zone, loc := "UTC", time.UTC
	if m := time.Now().UTC().Hour()*60 + time.Now().UTC().Minute(); m > 24*60-5 {
		zone = "Asia/Tokyo"
		loc, _ = time.LoadLocation(zone)
	}
	if sec := time.Now().Second(); sec > 15 {
		time.Sleep(time.Duration(61-sec) * time.Second) // the first tick must come before :30
	}
	start := time.Now().In(loc).Truncate(time.Minute)
	slot := map[string]string{"start": start.Format("15:04"), "end": start.Add(time.Minute).Format("15:04")}
	put := api.do("PUT", "/api/v1/sites/"+siteID+"/publishing_settings/", map[string]any{
		"auto_approval_enabled": false, "auto_publish_enabled": true,
		"daily_publish_limit": 2, "weekly_publish_limit": 14, "monthly_publish_limit": 60,
		"publish_days":       []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
		"publish_time_slots": []map[string]string{slot}, "timezone": zone,
	})
	if put.status != 200 {
		t.Fatalf("settings: %d %s", put.status, put.body)
	}
	bad := api.do("PATCH", "/api/v1/sites/"+siteID+"/publishing_settings/", map[string]any{"daily_publish_limit": 15})
	if bad.status != 422 || bad.json(t)["field"] != "daily_publish_limit" {
		t.Fatalf("daily over weekly: %d %s", bad.status, bad.body)
	}

	prefix := fmt.Sprintf("Scheduled %d", time.Now().UnixNano())
	var ids []string
	for i := range 3 {
		c := api.do("POST", "/api/v1/content/", map[string]any{"site_id": siteID, "title": fmt.Sprintf("%s item %d", prefix, i), "content": "<p>On a schedule.</p>"})
		if c.status != 201 {
			t.Fatalf("create content: %d %s", c.status, c.body)
		}
		id := c.json(t)["id"].(string)
		if r := api.do("POST", "/api/v1/content/"+id+"/approve/", nil); r.status != 200 {
			t.Fatalf("approve: %d %s", r.status, r.body)
		}
		ids = append(ids, id)
	}

	published := func() int {
		n := 0
		for _, id := range ids {
			if num(api.do("GET", "/api/v1/content/"+id+"/", nil).json(t)["wordpress_id"]) != 0 {
				n++
			}
		}
		return n
	}
	waitFor(t, "the first scheduled publication", func() bool { return published() >= 1 })
	if n := published(); time.Now().Before(start.Add(29*time.Second)) && n != 1 {
		t.Fatalf("%d items published before the second planned time, want 1", n)
	}
	// The second planned time is :30; wait past the window.
	time.Sleep(time.Until(start.Add(time.Minute)) + 3*time.Second)
	waitFor(t, "the second scheduled publication", func() bool { return published() == 2 })

	var posts []struct {
		ID    int64 `json:"id"`
		Title struct {
			Raw string `json:"raw"`
		} `json:"title"`
		Status string `json:"status"`
	}
	e.wpDo(t, "GET", "wp/v2/posts?context=edit&per_page=10&status=publish,future,draft,pending,private&search="+url.QueryEscape(prefix), nil, &posts)
	if len(posts) != 2 {
		t.Fatalf("WordPress has %d posts titled %q…, want exactly 2: %+v", len(posts), prefix, posts)
	}
	for i, id := range ids[:2] {
		c := api.do("GET", "/api/v1/content/"+id+"/", nil).json(t)
		if c["status"] != "published" {
			t.Errorf("item %d (approved %s) is %v, want published", i, id, c["status"])
		}
	}
	third := api.do("GET", "/api/v1/content/"+ids[2]+"/", nil).json(t)
	if third["status"] != "approved" || num(third["wordpress_id"]) != 0 {
		t.Fatalf("the third item: %v, want approved and waiting", third)
	}
	sched := api.do("GET", "/api/v1/sites/"+siteID+"/publishing_schedule/?days=2", nil)
	if sched.status != 200 {
		t.Fatalf("schedule: %d %s", sched.status, sched.body)
	}
	pubs := sched.json(t)["publications"].([]any)
	if len(pubs) == 0 || pubs[0].(map[string]any)["content_id"] != ids[2] {
		t.Fatalf("the schedule's next publication: %v, want the third item", pubs)
	}
	next, _ := time.Parse(time.RFC3339, pubs[0].(map[string]any)["at"].(string))
	if wantDay := start.AddDate(0, 0, 1); next.In(loc).Format("2006-01-02 15:04") != wantDay.Format("2006-01-02 15:04") {
		t.Fatalf("the third item goes out at %v, want tomorrow's first planned time %v", next.In(loc), wantDay)
	}
}
