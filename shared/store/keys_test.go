package store

import (
	"strings"
	"testing"
	"time"
)

func TestEscapeIsInjective(t *testing.T) {
	t.Parallel()
	// Pairs that would collide or prefix-match if '#' were not escaped.
	cases := []struct{ a1, s1, a2, s2 string }{
		{"a", "x#S#y", "a#S#x", "y"},
		{"a#S#b", "c", "a", "b#S#c"},
		{"a%23", "s", "a#", "s"},
	}
	for _, c := range cases {
		k1, k2 := SiteKey(c.a1, c.s1), SiteKey(c.a2, c.s2)
		if k1 == k2 {
			t.Errorf("SiteKey(%q,%q) == SiteKey(%q,%q) = %+v", c.a1, c.s1, c.a2, c.s2, k1)
		}
		p1, p2 := PublishSettingsKey(c.a1, c.s1), PublishSettingsKey(c.a2, c.s2)
		if p1 == p2 {
			t.Errorf("PublishSettingsKey collides for %+v", c)
		}
	}
	if got := esc("a%b#c"); got != "a%25b%23c" {
		t.Errorf("esc = %q", got)
	}
}

func TestSitePrefixDoesNotMatchLongerSiteIDs(t *testing.T) {
	t.Parallel()
	p := IntegrationSitePrefix("s1", "")
	for _, other := range []string{"s10", "s1x", "s1#P"} {
		sk := IntegrationBySiteIndex("a", other, "wordpress", "id").SK
		if strings.HasPrefix(sk, p) {
			t.Errorf("site %q key %q matches prefix %q of site s1", other, sk, p)
		}
	}
	own := IntegrationBySiteIndex("a", "s1", "wordpress", "id").SK
	if !strings.HasPrefix(own, p) || !strings.HasPrefix(own, IntegrationSitePrefix("s1", "wordpress")) {
		t.Errorf("own key %q does not match its prefixes", own)
	}
	if strings.HasPrefix(IntegrationBySiteIndex("a", "s1", "wordpress2", "id").SK, IntegrationSitePrefix("s1", "wordpress")) {
		t.Error("platform prefix matches a longer platform name")
	}
}

func TestShardedKeysSpreadAndStayInRange(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	parts := map[string]bool{}
	for _, p := range ContentSitePartitions("a", "s") {
		parts[p] = true
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 10000; i++ {
		id := newUUIDv7()
		ix := ContentBySiteIndex("a", "s", id, now)
		if !parts[ix.PK] {
			t.Fatalf("content index PK %q not among the site's partitions", ix.PK)
		}
		seen[ix.PK]++
	}
	if len(seen) != ListShards {
		t.Fatalf("10,000 items used %d shards, want %d", len(seen), ListShards)
	}
	for pk, n := range seen {
		// Even spread: each shard within 25% of the mean.
		if mean := 10000 / ListShards; n < mean*3/4 || n > mean*5/4 {
			t.Errorf("shard %s holds %d items, mean %d", pk, n, mean)
		}
	}
}

func TestTimeSortKeysOrderLexically(t *testing.T) {
	t.Parallel()
	t1 := time.Date(2025, 1, 1, 0, 0, 0, 5, time.UTC)
	t2 := time.Date(2025, 1, 1, 0, 0, 0, 40, time.UTC)
	t3 := time.Date(2025, 1, 1, 0, 0, 1, 0, time.FixedZone("x", 3600)) // earlier in UTC
	if !(timeSK(t1) < timeSK(t2)) {
		t.Errorf("%s !< %s", timeSK(t1), timeSK(t2))
	}
	if !(timeSK(t3) < timeSK(t1)) {
		t.Errorf("zone not normalised: %s vs %s", timeSK(t3), timeSK(t1))
	}
	due := SyncDueIndex("a", "i", t2)
	if !(due.SK < DueBound(t2)) || DueBound(t1.Add(-time.Second)) > due.SK {
		t.Errorf("due bound ordering wrong: %s vs %s", due.SK, DueBound(t2))
	}
}

func TestPublishCounterPeriods(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	// Sunday 2024-12-29 is in ISO week 2024-W52; Monday 2024-12-30 in 2025-W01.
	cases := []struct {
		at     time.Time
		period string
		want   string
	}{
		{time.Date(2024, 12, 29, 23, 0, 0, 0, ny), PeriodWeek, "PUBCNT#W#2024-W52"},
		{time.Date(2024, 12, 30, 0, 30, 0, 0, ny), PeriodWeek, "PUBCNT#W#2025-W01"},
		{time.Date(2024, 12, 30, 0, 30, 0, 0, ny), PeriodDay, "PUBCNT#D#2024-12-30"},
		{time.Date(2024, 12, 30, 0, 30, 0, 0, ny), PeriodMonth, "PUBCNT#M#2024-12"},
	}
	for _, c := range cases {
		if got := PublishCounterKey("a", "s", c.at, c.period).SK; got != c.want {
			t.Errorf("PublishCounterKey(%s, %s) = %q, want %q", c.at, c.period, got, c.want)
		}
	}
}

func TestKeysStayWithinDynamoDBLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 128) // API validation bounds IDs to 128 characters
	longURL := "https://" + strings.Repeat("u", 4000) + ".example"
	now := time.Now()
	keys := []Key{
		IntegrationKey(long, long), IntegrationURLGuardKey(long, longURL),
		IntegrationSitePlatformGuardKey(long, long, long), ContentKey(long, long),
		ContentWordPressKey(long, long, 1<<62), WebhookDeliveryKey(long, long, strings.Repeat("w", 5000)),
		ImageSourceKey(long, long, longURL), SyncEventKey(long, long, long, now),
	}
	for _, k := range keys {
		if len(k.PK) > 2048 || len(k.SK) > 1024 {
			t.Errorf("key too long: PK %d bytes, SK %d bytes", len(k.PK), len(k.SK))
		}
	}
}
