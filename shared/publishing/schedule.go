package publishing

import (
	"time"
)

// Slot is an open publishing window of a day, in minutes after local
// midnight: Start < End ≤ 1440.
type Slot struct{ Start, End int }

// Rules are a site's cadence rules in a form the clock arithmetic uses.
type Rules struct {
	Location *time.Location
	// Days[time.Weekday] is true on publish days.
	Days [7]bool
	// Slots are sorted by Start and do not overlap.
	Slots                  []Slot
	Daily, Weekly, Monthly int
}

// Counts are the publications already made in the periods that contain At
// (a zero At means none), and the time of the last one on At's day.
type Counts struct {
	At               time.Time
	Day, Week, Month int
	LastAt           time.Time
}

// horizonDays bounds how far ahead Next looks for an open slot (a little
// over a year: a monthly limit reached in January still finds February).
const horizonDays = 400

// Planned returns the planned publication times of the local calendar day
// that contains day: none on a day that is not a publish day; otherwise
// Daily times spread evenly over the day's open slot time, the first at the
// first slot's start. Times are instants: on a DST change day a slot that
// spans the change is as long as the clock says (one hour shorter in
// spring, longer in autumn), and the spacing is real elapsed time.
func (r Rules) Planned(day time.Time) []time.Time {
	local := day.In(r.Location)
	if r.Daily <= 0 || !r.Days[local.Weekday()] {
		return nil
	}
	spans := r.spans(local)
	var total time.Duration
	for _, s := range spans {
		total += s.end.Sub(s.start)
	}
	if total <= 0 {
		return nil
	}
	out := make([]time.Time, 0, r.Daily)
	for i := range r.Daily {
		offset := (time.Duration(int64(total) / int64(r.Daily) * int64(i))).Truncate(time.Second)
		for _, s := range spans {
			d := s.end.Sub(s.start)
			if offset < d {
				out = append(out, s.start.Add(offset))
				break
			}
			offset -= d
		}
	}
	return out
}

type span struct{ start, end time.Time }

// spans are the day's slots as instants (a slot whose local times collapse
// across a DST change is dropped).
func (r Rules) spans(local time.Time) []span {
	y, m, d := local.Date()
	out := make([]span, 0, len(r.Slots))
	for _, s := range r.Slots {
		start := time.Date(y, m, d, s.Start/60, s.Start%60, 0, 0, r.Location)
		end := time.Date(y, m, d, s.End/60, s.End%60, 0, 0, r.Location)
		if end.After(start) {
			out = append(out, span{start, end})
		}
	}
	return out
}

// open reports whether t is inside one of its local day's slots.
func (r Rules) open(t time.Time) bool {
	local := t.In(r.Location)
	if !r.Days[local.Weekday()] {
		return false
	}
	for _, s := range r.spans(local) {
		if !t.Before(s.start) && t.Before(s.end) {
			return true
		}
	}
	return false
}

// SameDay, SameWeek (ISO, Monday first) and SameMonth compare two instants'
// local calendar periods.
func (r Rules) SameDay(a, b time.Time) bool {
	ay, am, ad := a.In(r.Location).Date()
	by, bm, bd := b.In(r.Location).Date()
	return ay == by && am == bm && ad == bd
}

func (r Rules) SameWeek(a, b time.Time) bool {
	ay, aw := a.In(r.Location).ISOWeek()
	by, bw := b.In(r.Location).ISOWeek()
	return ay == by && aw == bw
}

func (r Rules) SameMonth(a, b time.Time) bool {
	ay, am, _ := a.In(r.Location).Date()
	by, bm, _ := b.In(r.Location).Date()
	return ay == by && am == bm
}

// countsAt are c's counts as seen at t: a period t is not in starts at 0.
func (r Rules) countsAt(c Counts, t time.Time) (day, week, month int, lastAt time.Time) {
	if c.At.IsZero() {
		return 0, 0, 0, time.Time{}
	}
	if r.SameDay(c.At, t) {
		day, lastAt = c.Day, c.LastAt
	}
	if r.SameWeek(c.At, t) {
		week = c.Week
	}
	if r.SameMonth(c.At, t) {
		month = c.Month
	}
	return day, week, month, lastAt
}

// Next is the earliest time at or after after when a publication is due,
// and the planned time it serves. A planned time is served once a
// publication happened at or after it on the same day; a run that comes
// late (after several planned times passed unserved, while a slot is still
// open) publishes once and serves all of them: missed times are caught up
// once, never in a burst. A publication is due only inside an open slot
// and while the day, ISO week and month counts are below their limits. ok
// is false when nothing is due within about a year (a limit of 0, no
// publish days, no slots).
func (r Rules) Next(c Counts, after time.Time) (at, planned time.Time, ok bool) {
	local := after.In(r.Location)
	y, m, d := local.Date()
	for i := range horizonDays {
		// Noon is never inside a DST change, so the date arithmetic is exact.
		day := time.Date(y, m, d+i, 12, 0, 0, 0, r.Location)
		dayCount, weekCount, monthCount, lastAt := r.countsAt(c, day)
		if dayCount >= r.Daily || weekCount >= r.Weekly || monthCount >= r.Monthly {
			continue
		}
		for _, p := range r.Planned(day) {
			if !lastAt.IsZero() && !p.After(lastAt) {
				continue // served
			}
			cand := p
			if cand.Before(after) {
				cand = after
				if !r.SameDay(cand, p) || !r.open(cand) {
					continue
				}
			}
			return cand, p, true
		}
	}
	return time.Time{}, time.Time{}, false
}

// Record returns c after a publication at t (counts of periods t is not in
// start again from zero).
func (r Rules) Record(c Counts, t time.Time) Counts {
	day, week, month, _ := r.countsAt(c, t)
	return Counts{At: t, Day: day + 1, Week: week + 1, Month: month + 1, LastAt: t}
}
