package publishing

import (
	"context"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/store"
)

// Preview bounds.
const (
	DefaultPreviewDays = 7
	MaxPreviewDays     = 31
	// MaxPreviewSlots bounds the planned times one preview lists.
	MaxPreviewSlots = 500
	// maxPreviewItems bounds the queue entries a preview reads.
	maxPreviewItems = 100
)

// PlannedPublication is one time the publisher will publish, and the
// approved item that would go out then (none when the queue runs dry
// first, or while auto-publish is off).
type PlannedPublication struct {
	// At is when the publisher publishes (its next run at or after it).
	At time.Time
	// Planned is the planned time At serves (before At only when a missed
	// time is being caught up).
	Planned      time.Time
	ContentID    string
	ContentTitle string
}

// Schedule is the preview of what the publisher will do.
type Schedule struct {
	Settings     store.PublishSettings
	From, Until  time.Time
	Counts       store.PublishCounts
	Publications []PlannedPublication
}

// Preview shows the planned publication times of the next days (1 to
// MaxPreviewDays) from now, with the approved items, oldest approval first,
// that would go out at each while auto-publish is on. It runs the
// publisher's own planner over today's counters, so it shows what the
// publisher will do if nothing changes.
func (s *Service) Preview(ctx context.Context, accountID, siteID string, days int) (Schedule, error) {
	if days < 1 || days > MaxPreviewDays {
		return Schedule{}, apperr.Field(apperr.Invalid, "days", "days must be a whole number from 1 to %d", MaxPreviewDays)
	}
	ps, err := s.Get(ctx, accountID, siteID)
	if err != nil {
		return Schedule{}, err
	}
	rules, err := RulesOf(ps)
	if err != nil {
		return Schedule{}, err
	}
	now := s.deps.Now().UTC().Truncate(time.Second)
	out := Schedule{Settings: ps, From: now, Until: now.Add(time.Duration(days) * 24 * time.Hour)}
	if out.Counts, err = s.deps.Store.GetPublishCounts(ctx, accountID, siteID, now.In(rules.Location)); err != nil {
		return Schedule{}, err
	}
	c := Counts{At: now, Day: out.Counts.Day, Week: out.Counts.Week, Month: out.Counts.Month, LastAt: out.Counts.LastAt}
	after := now
	for len(out.Publications) < MaxPreviewSlots {
		at, planned, ok := rules.Next(c, after)
		if !ok || at.After(out.Until) {
			break
		}
		out.Publications = append(out.Publications, PlannedPublication{At: at, Planned: planned})
		c, after = rules.Record(c, at), at
	}
	if !ps.AutoPublishEnabled || len(out.Publications) == 0 {
		return out, nil
	}
	entries, err := s.deps.Store.OldestApproved(ctx, accountID, siteID, min(len(out.Publications), maxPreviewItems))
	if err != nil {
		return Schedule{}, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ContentID
	}
	metas, err := s.deps.Store.GetContentMetas(ctx, accountID, ids)
	if err != nil {
		return Schedule{}, err
	}
	i := 0
	for _, e := range entries {
		m, ok := metas[e.ContentID]
		if !ok || m.Status != store.ContentApproved || m.ApprovedAt == nil || !m.ApprovedAt.Equal(e.ApprovedAt) {
			continue // stale: the publisher will drop it
		}
		out.Publications[i].ContentID, out.Publications[i].ContentTitle = m.ID, m.Title
		if i++; i == len(out.Publications) {
			break
		}
	}
	return out, nil
}
