package publishing

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func days(names ...time.Weekday) [7]bool {
	var d [7]bool
	for _, n := range names {
		d[n] = true
	}
	return d
}

var everyDay = days(time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday)

func hm(h, m int) int { return h*60 + m }

func clock(ts []time.Time, loc *time.Location) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.In(loc).Format("2006-01-02 15:04 MST")
	}
	return out
}

func TestPlanned(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	cases := []struct {
		name  string
		rules Rules
		day   time.Time
		want  []string
	}{
		{
			name:  "the issue's example: 5 in 09:00-17:00",
			rules: Rules{Location: time.UTC, Days: days(time.Monday), Slots: []Slot{{hm(9, 0), hm(17, 0)}}, Daily: 5},
			day:   time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
			want:  []string{"2026-06-01 09:00 UTC", "2026-06-01 10:36 UTC", "2026-06-01 12:12 UTC", "2026-06-01 13:48 UTC", "2026-06-01 15:24 UTC"},
		},
		{
			name:  "two slots share the spacing",
			rules: Rules{Location: time.UTC, Days: everyDay, Slots: []Slot{{hm(9, 0), hm(12, 0)}, {hm(14, 0), hm(17, 0)}}, Daily: 4},
			day:   time.Date(2026, 6, 1, 23, 0, 0, 0, time.UTC),
			want:  []string{"2026-06-01 09:00 UTC", "2026-06-01 10:30 UTC", "2026-06-01 14:00 UTC", "2026-06-01 15:30 UTC"},
		},
		{
			name:  "not a publish day",
			rules: Rules{Location: time.UTC, Days: days(time.Monday, time.Wednesday, time.Friday), Slots: []Slot{{hm(9, 0), hm(17, 0)}}, Daily: 5},
			day:   time.Date(2026, 6, 2, 12, 0, 0, 0, time.UTC), // Tuesday
		},
		{
			name:  "daily limit 0 plans nothing",
			rules: Rules{Location: time.UTC, Days: everyDay, Slots: []Slot{{hm(9, 0), hm(17, 0)}}},
			day:   time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC),
		},
		{
			name:  "local day, not the UTC day",
			rules: Rules{Location: ny, Days: days(time.Monday), Slots: []Slot{{hm(9, 0), hm(17, 0)}}, Daily: 2},
			day:   time.Date(2026, 6, 2, 2, 0, 0, 0, time.UTC), // Monday 22:00 in New York
			want:  []string{"2026-06-01 09:00 EDT", "2026-06-01 13:00 EDT"},
		},
		{
			name:  "DST spring forward: 00:00-04:00 lasts 3 hours",
			rules: Rules{Location: ny, Days: everyDay, Slots: []Slot{{hm(0, 0), hm(4, 0)}}, Daily: 3},
			day:   time.Date(2026, 3, 8, 12, 0, 0, 0, ny),
			want:  []string{"2026-03-08 00:00 EST", "2026-03-08 01:00 EST", "2026-03-08 03:00 EDT"},
		},
		{
			name:  "DST fall back: 00:00-04:00 lasts 5 hours, 01:00 happens twice",
			rules: Rules{Location: ny, Days: everyDay, Slots: []Slot{{hm(0, 0), hm(4, 0)}}, Daily: 5},
			day:   time.Date(2026, 11, 1, 12, 0, 0, 0, ny),
			want:  []string{"2026-11-01 00:00 EDT", "2026-11-01 01:00 EDT", "2026-11-01 01:00 EST", "2026-11-01 02:00 EST", "2026-11-01 03:00 EST"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := clock(tc.rules.Planned(tc.day), tc.rules.Location)
			if len(got) != len(tc.want) {
				t.Fatalf("planned = %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("planned = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestNext(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	mwf := Rules{Location: ny, Days: days(time.Monday, time.Wednesday, time.Friday), Slots: []Slot{{hm(9, 0), hm(17, 0)}}, Daily: 5, Weekly: 20, Monthly: 60}
	all := Rules{Location: ny, Days: everyDay, Slots: []Slot{{hm(9, 0), hm(17, 0)}}, Daily: 1, Weekly: 3, Monthly: 100}
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, ny) }
	cases := []struct {
		name        string
		rules       Rules
		counts      Counts
		now         time.Time
		wantAt      string
		wantPlanned string // empty: same as wantAt
		wantNone    bool
	}{
		{name: "on time at the first planned time", rules: mwf, now: at(2026, 6, 1, 9, 0), wantAt: "2026-06-01 09:00 EDT"},
		{name: "before the window opens", rules: mwf, now: at(2026, 6, 1, 7, 30), wantAt: "2026-06-01 09:00 EDT"},
		{name: "between planned times after one publication", rules: mwf, counts: Counts{At: at(2026, 6, 1, 9, 0), Day: 1, Week: 1, Month: 1, LastAt: at(2026, 6, 1, 9, 0)},
			now: at(2026, 6, 1, 9, 5), wantAt: "2026-06-01 10:36 EDT"},
		{name: "doubled run at the same instant waits for the next planned time", rules: mwf, counts: Counts{At: at(2026, 6, 1, 9, 0), Day: 1, Week: 1, Month: 1, LastAt: at(2026, 6, 1, 9, 0)},
			now: at(2026, 6, 1, 9, 0), wantAt: "2026-06-01 10:36 EDT"},
		{name: "late run catches the missed times up once, now", rules: mwf, now: at(2026, 6, 1, 15, 0),
			wantAt: "2026-06-01 15:00 EDT", wantPlanned: "2026-06-01 09:00 EDT"},
		{name: "after catching up, the next planned time", rules: mwf, counts: Counts{At: at(2026, 6, 1, 15, 0), Day: 1, Week: 1, Month: 1, LastAt: at(2026, 6, 1, 15, 0)},
			now: at(2026, 6, 1, 15, 0), wantAt: "2026-06-01 15:24 EDT"},
		{name: "late after the window closed: the next publish day", rules: mwf, now: at(2026, 6, 1, 17, 30), wantAt: "2026-06-03 09:00 EDT"},
		{name: "daily limit reached", rules: mwf, counts: Counts{At: at(2026, 6, 1, 15, 24), Day: 5, Week: 5, Month: 5, LastAt: at(2026, 6, 1, 15, 24)},
			now: at(2026, 6, 1, 16, 0), wantAt: "2026-06-03 09:00 EDT"},
		{name: "not a publish day", rules: mwf, now: at(2026, 6, 2, 10, 0), wantAt: "2026-06-03 09:00 EDT"},
		{name: "weekly limit reached on Friday: next ISO week's Monday", rules: mwf, counts: Counts{At: at(2026, 6, 5, 9, 0), Day: 1, Week: 20, Month: 20, LastAt: at(2026, 6, 5, 9, 0)},
			now: at(2026, 6, 5, 10, 0), wantAt: "2026-06-08 09:00 EDT"},
		{name: "ISO week spans the new year: weekly limit still holds on 1 January", rules: all, counts: Counts{At: at(2025, 12, 31, 9, 0), Day: 1, Week: 3, Month: 3, LastAt: at(2025, 12, 31, 9, 0)},
			now: at(2025, 12, 31, 10, 0), wantAt: "2026-01-05 09:00 EST"},
		{name: "ISO week ends on Sunday: Monday starts afresh", rules: all, counts: Counts{At: at(2026, 1, 4, 9, 0), Day: 1, Week: 3, Month: 8, LastAt: at(2026, 1, 4, 9, 0)},
			now: at(2026, 1, 4, 10, 0), wantAt: "2026-01-05 09:00 EST"},
		{name: "monthly limit reached: the first of next month", rules: Rules{Location: ny, Days: everyDay, Slots: []Slot{{hm(9, 0), hm(17, 0)}}, Daily: 2, Weekly: 14, Monthly: 10},
			counts: Counts{At: at(2026, 1, 28, 9, 0), Day: 1, Week: 2, Month: 10, LastAt: at(2026, 1, 28, 9, 0)},
			now:    at(2026, 1, 28, 12, 0), wantAt: "2026-02-01 09:00 EST"},
		{name: "month boundary resets the month but not the ISO week", rules: Rules{Location: ny, Days: everyDay, Slots: []Slot{{hm(9, 0), hm(17, 0)}}, Daily: 1, Weekly: 2, Monthly: 1},
			counts: Counts{At: at(2026, 4, 30, 9, 0), Day: 1, Week: 1, Month: 1, LastAt: at(2026, 4, 30, 9, 0)}, // Thursday
			now:    at(2026, 4, 30, 10, 0), wantAt: "2026-05-01 09:00 EDT"},
		{name: "spring forward: the next morning's 09:00 is EDT", rules: all, now: at(2026, 3, 7, 18, 0), wantAt: "2026-03-08 09:00 EDT"},
		{name: "fall back: 24 hours after 09:00 EDT is 08:00 EST, still before the window", rules: all,
			counts: Counts{At: at(2026, 10, 31, 9, 0), Day: 1, Week: 1, Month: 1, LastAt: at(2026, 10, 31, 9, 0)},
			now:    at(2026, 10, 31, 9, 0).Add(24 * time.Hour), wantAt: "2026-11-01 09:00 EST"},
		{name: "limit 0 never publishes", rules: Rules{Location: ny, Days: everyDay, Slots: []Slot{{hm(9, 0), hm(17, 0)}}, Daily: 5, Weekly: 0, Monthly: 60},
			now: at(2026, 6, 1, 9, 0), wantNone: true},
		{name: "no publish days", rules: Rules{Location: ny, Slots: []Slot{{hm(9, 0), hm(17, 0)}}, Daily: 5, Weekly: 20, Monthly: 60},
			now: at(2026, 6, 1, 9, 0), wantNone: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gotAt, gotPlanned, ok := tc.rules.Next(tc.counts, tc.now)
			if tc.wantNone {
				if ok {
					t.Fatalf("Next = %v, want nothing due", gotAt)
				}
				return
			}
			if !ok {
				t.Fatal("Next found nothing due")
			}
			if got := gotAt.In(ny).Format("2006-01-02 15:04 MST"); got != tc.wantAt {
				t.Errorf("due at %s, want %s", got, tc.wantAt)
			}
			wantPlanned := tc.wantPlanned
			if wantPlanned == "" {
				wantPlanned = tc.wantAt
			}
			if got := gotPlanned.In(ny).Format("2006-01-02 15:04 MST"); got != wantPlanned {
				t.Errorf("serves planned time %s, want %s", got, wantPlanned)
			}
		})
	}
}

// TestCadenceProperty runs a simulated publisher over random settings and
// random (late, early, doubled) run times and checks what any user would:
// no day, ISO week or month over its limit, nothing published outside an
// open slot, and never two publications for one planned time.
func TestCadenceProperty(t *testing.T) {
	zones := []string{"America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"}
	rng := rand.New(rand.NewPCG(6, 2026))
	total := 0
	for iter := range 40 {
		r := Rules{Location: mustLoc(t, zones[rng.IntN(len(zones))])}
		for d := range 7 {
			r.Days[d] = rng.IntN(2) == 0
		}
		start := rng.IntN(20 * 60)
		for len(r.Slots) < 3 && start < 24*60-10 {
			end := start + 10 + rng.IntN(24*60-start-10+1)
			end = min(end, 24*60)
			r.Slots = append(r.Slots, Slot{start, end})
			start = end + rng.IntN(120) + 1
		}
		r.Daily = rng.IntN(8)
		r.Weekly = r.Daily + rng.IntN(30)
		r.Monthly = r.Weekly + rng.IntN(60)

		now := time.Date(2026, time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60), 0, 0, time.UTC)
		end := now.Add(28 * 24 * time.Hour)
		var c Counts
		var pubs []time.Time
		served := map[time.Time]bool{}
		for now.Before(end) {
			runs := 1
			if rng.IntN(10) == 0 {
				runs = 2 // a doubled delivery
			}
			for range runs {
				at, planned, ok := r.Next(c, now)
				if !ok || !at.Equal(now) {
					continue
				}
				if served[planned] {
					t.Fatalf("iter %d: planned time %v served twice", iter, planned)
				}
				served[planned] = true
				if !r.open(now) {
					t.Fatalf("iter %d: published at %v outside an open slot", iter, now)
				}
				c = r.Record(c, now)
				pubs = append(pubs, now)
			}
			// The schedule fires every 5 minutes, sometimes hours late.
			step := 5 * time.Minute
			if rng.IntN(50) == 0 {
				step = time.Duration(1+rng.IntN(600)) * time.Minute
			}
			now = now.Add(step)
		}
		total += len(pubs)
		perDay, perWeek, perMonth := map[string]int{}, map[string]int{}, map[string]int{}
		for _, p := range pubs {
			l := p.In(r.Location)
			y, w := l.ISOWeek()
			perDay[l.Format("2006-01-02")]++
			perWeek[fmt.Sprintf("%d-W%02d", y, w)]++
			perMonth[l.Format("2006-01")]++
		}
		for k, n := range perDay {
			if n > r.Daily {
				t.Fatalf("iter %d: %d publications on %s, daily limit %d", iter, n, k, r.Daily)
			}
		}
		for k, n := range perWeek {
			if n > r.Weekly {
				t.Fatalf("iter %d: %d publications in %s, weekly limit %d", iter, n, k, r.Weekly)
			}
		}
		for k, n := range perMonth {
			if n > r.Monthly {
				t.Fatalf("iter %d: %d publications in %s, monthly limit %d", iter, n, k, r.Monthly)
			}
		}
	}
	if total < 100 {
		t.Fatalf("only %d publications over all runs: the simulation hardly published", total)
	}
}
