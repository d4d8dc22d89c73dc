// Package publishing is the domain service for a site's publishing
// settings (the seed's PublishingSettings), the schedule preview and the
// scheduled publisher that turns approved content into the site's cadence:
// publish days, time slots in the site's time zone, planned times spread
// evenly over the open slot time, and daily, ISO-weekly and monthly limits
// held by conditional counters in the transaction that claims each item.
package publishing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	// The Lambda runtime image need not carry the zone database.
	_ "time/tzdata"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/store"
)

// Defaults of new settings (the seed's).
const (
	DefaultDailyLimit   = 5
	DefaultWeeklyLimit  = 20
	DefaultMonthlyLimit = 60
	// MaxLimit bounds every limit (the planner walks a day's planned times).
	MaxLimit = 10000
	// MaxSlots bounds the time slots of a day.
	MaxSlots = 24
)

// DefaultDays and DefaultSlots are the seed's defaults.
var (
	DefaultDays  = []string{"mon", "wed", "fri"}
	DefaultSlots = []store.TimeSlot{{Start: "09:00", End: "17:00"}}
)

var dayIndex = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// Pusher queues the push of one content item (the sync engine).
type Pusher interface {
	EnqueuePush(ctx context.Context, c store.Content, runID string) error
}

// Deps are the service's collaborators.
type Deps struct {
	Store  *store.Store
	Push   Pusher
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Concurrency is how many due sites one run handles at once (default 8).
	Concurrency int
}

// Service implements the publishing use cases.
type Service struct{ deps Deps }

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Concurrency <= 0 {
		d.Concurrency = 8
	}
	return &Service{deps: d}
}

// Input changes settings: nil fields are unchanged (PATCH); PUT fills all.
type Input struct {
	AutoApprovalEnabled *bool
	AutoPublishEnabled  *bool
	DailyPublishLimit   *int
	WeeklyPublishLimit  *int
	MonthlyPublishLimit *int
	PublishDays         *[]string
	PublishTimeSlots    *[]store.TimeSlot
	Timezone            *string
}

// Get returns the site's settings, creating the defaults on first read
// (the seed's get_or_create_for_site). The time zone defaults to the
// WordPress site's timezone_string when the integration's last connection
// test recorded one, else UTC. A site without an integration in the
// caller's account is not found.
func (s *Service) Get(ctx context.Context, accountID, siteID string) (store.PublishSettings, error) {
	integ, err := s.siteIntegration(ctx, accountID, siteID)
	if err != nil {
		return store.PublishSettings{}, err
	}
	return s.getOrCreate(ctx, integ)
}

func (s *Service) getOrCreate(ctx context.Context, integ store.Integration) (store.PublishSettings, error) {
	for attempt := 0; ; attempt++ {
		ps, found, err := s.deps.Store.GetPublishSettings(ctx, integ.AccountID, integ.SiteID)
		if err != nil {
			return store.PublishSettings{}, err
		}
		if found {
			return ps, nil
		}
		ps = store.PublishSettings{AccountID: integ.AccountID, SiteID: integ.SiteID,
			DailyLimit: DefaultDailyLimit, WeeklyLimit: DefaultWeeklyLimit, MonthlyLimit: DefaultMonthlyLimit,
			PublishDays: slices.Clone(DefaultDays), TimeSlots: slices.Clone(DefaultSlots), Timezone: siteTimezone(integ)}
		created, err := s.deps.Store.SavePublishSettings(ctx, ps, 0)
		if errors.Is(err, store.ErrConflict) && attempt < 2 {
			continue // created concurrently: read theirs
		}
		return created, err
	}
}

// siteTimezone is the WordPress site's timezone_string from the
// integration's last connection test, when it names a real zone.
func siteTimezone(in store.Integration) string {
	tz, _ := in.ConfigValue("connection", "site", "timezone_string").(string)
	if tz != "" {
		if _, err := time.LoadLocation(tz); err == nil {
			return tz
		}
	}
	return "UTC"
}

// Update applies a PUT (replace: every field given) or PATCH under
// optimistic locking (version 0: any) and validates the result.
func (s *Service) Update(ctx context.Context, accountID, siteID string, version int64, in Input) (store.PublishSettings, error) {
	integ, err := s.siteIntegration(ctx, accountID, siteID)
	if err != nil {
		return store.PublishSettings{}, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := s.getOrCreate(ctx, integ)
		if err != nil {
			return store.PublishSettings{}, err
		}
		if version != 0 && version != cur.Version {
			return store.PublishSettings{}, preconditionFailed()
		}
		next := cur
		apply(&next, in)
		if err := Validate(next); err != nil {
			return store.PublishSettings{}, err
		}
		saved, err := s.deps.Store.SavePublishSettings(ctx, next, cur.Version)
		if errors.Is(err, store.ErrPreconditionFailed) {
			if version == 0 && attempt < 3 {
				continue
			}
			return store.PublishSettings{}, preconditionFailed()
		}
		return saved, err
	}
}

func preconditionFailed() error {
	return apperr.New(apperr.PreconditionFailed, "The publishing settings changed since you read them; read them again and retry with their current version")
}

func apply(ps *store.PublishSettings, in Input) {
	if in.AutoApprovalEnabled != nil {
		ps.AutoApprovalEnabled = *in.AutoApprovalEnabled
	}
	if in.AutoPublishEnabled != nil {
		ps.AutoPublishEnabled = *in.AutoPublishEnabled
	}
	if in.DailyPublishLimit != nil {
		ps.DailyLimit = *in.DailyPublishLimit
	}
	if in.WeeklyPublishLimit != nil {
		ps.WeeklyLimit = *in.WeeklyPublishLimit
	}
	if in.MonthlyPublishLimit != nil {
		ps.MonthlyLimit = *in.MonthlyPublishLimit
	}
	if in.PublishDays != nil {
		ps.PublishDays = slices.Clone(*in.PublishDays)
	}
	if in.PublishTimeSlots != nil {
		ps.TimeSlots = slices.Clone(*in.PublishTimeSlots)
	}
	if in.Timezone != nil {
		ps.Timezone = strings.TrimSpace(*in.Timezone)
	}
}

var hhmm = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`) })

func minutes(v string) int {
	h, _ := strconv.Atoi(v[:2])
	m, _ := strconv.Atoi(v[3:])
	return h*60 + m
}

// Validate checks settings as the API's 422 answers describe them, naming
// the field at fault.
func Validate(ps store.PublishSettings) error {
	bad := func(field, format string, args ...any) error {
		return apperr.Field(apperr.Unprocessable, field, format, args...)
	}
	for _, l := range []struct {
		field string
		v     int
	}{{"daily_publish_limit", ps.DailyLimit}, {"weekly_publish_limit", ps.WeeklyLimit}, {"monthly_publish_limit", ps.MonthlyLimit}} {
		if l.v < 0 || l.v > MaxLimit {
			return bad(l.field, "%s must be a whole number from 0 to %d", l.field, MaxLimit)
		}
	}
	if ps.DailyLimit > ps.WeeklyLimit {
		return bad("daily_publish_limit", "daily_publish_limit (%d) must not exceed weekly_publish_limit (%d)", ps.DailyLimit, ps.WeeklyLimit)
	}
	if ps.WeeklyLimit > ps.MonthlyLimit {
		return bad("weekly_publish_limit", "weekly_publish_limit (%d) must not exceed monthly_publish_limit (%d)", ps.WeeklyLimit, ps.MonthlyLimit)
	}
	seen := map[string]bool{}
	for i, d := range ps.PublishDays {
		if _, ok := dayIndex[d]; !ok {
			return bad(fmt.Sprintf("publish_days[%d]", i), "%q is not a day: use mon, tue, wed, thu, fri, sat or sun", d)
		}
		if seen[d] {
			return bad(fmt.Sprintf("publish_days[%d]", i), "%q is listed twice", d)
		}
		seen[d] = true
	}
	if len(ps.TimeSlots) > MaxSlots {
		return bad("publish_time_slots", "at most %d time slots", MaxSlots)
	}
	slots := make([]Slot, len(ps.TimeSlots))
	for i, t := range ps.TimeSlots {
		field := fmt.Sprintf("publish_time_slots[%d]", i)
		if !hhmm().MatchString(t.Start) || t.Start == "24:00" {
			return bad(field+".start", "start must be HH:MM from 00:00 to 23:59")
		}
		if !hhmm().MatchString(t.End) {
			return bad(field+".end", "end must be HH:MM from 00:01 to 24:00")
		}
		slots[i] = Slot{minutes(t.Start), minutes(t.End)}
		if slots[i].Start >= slots[i].End {
			return bad(field, "start (%s) must be before end (%s)", t.Start, t.End)
		}
	}
	for i := range slots {
		for j := range slots {
			if i != j && slots[i].Start < slots[j].End && slots[j].Start < slots[i].End {
				return bad(fmt.Sprintf("publish_time_slots[%d]", max(i, j)), "time slots %d and %d overlap", min(i, j), max(i, j))
			}
		}
	}
	if ps.Timezone == "" || ps.Timezone == "Local" {
		return bad("timezone", "timezone must be an IANA time zone name such as Europe/Berlin")
	}
	if _, err := time.LoadLocation(ps.Timezone); err != nil {
		return bad("timezone", "%q is not a known IANA time zone", ps.Timezone)
	}
	return nil
}

// RulesOf turns validated settings into the planner's rules.
func RulesOf(ps store.PublishSettings) (Rules, error) {
	loc, err := time.LoadLocation(ps.Timezone)
	if err != nil || ps.Timezone == "" {
		return Rules{}, fmt.Errorf("site %s: time zone %q: %w", ps.SiteID, ps.Timezone, err)
	}
	r := Rules{Location: loc, Daily: ps.DailyLimit, Weekly: ps.WeeklyLimit, Monthly: ps.MonthlyLimit}
	for _, d := range ps.PublishDays {
		if w, ok := dayIndex[d]; ok {
			r.Days[w] = true
		}
	}
	for _, t := range ps.TimeSlots {
		if hhmm().MatchString(t.Start) && hhmm().MatchString(t.End) {
			r.Slots = append(r.Slots, Slot{minutes(t.Start), minutes(t.End)})
		}
	}
	slices.SortFunc(r.Slots, func(a, b Slot) int { return a.Start - b.Start })
	return r, nil
}

// siteIntegration finds the site's WordPress integration in the account:
// a site exists for an account through its integration.
func (s *Service) siteIntegration(ctx context.Context, accountID, siteID string) (store.Integration, error) {
	if strings.TrimSpace(siteID) == "" || len(siteID) > store.MaxKeyComponentBytes {
		return store.Integration{}, apperr.Field(apperr.Invalid, "site_id", "site_id must be 1 to %d characters", store.MaxKeyComponentBytes)
	}
	page, err := s.deps.Store.ListIntegrations(ctx, accountID, store.IntegrationFilter{SiteID: siteID, Platform: "wordpress"}, store.PageRequest{Limit: 1})
	if err != nil {
		return store.Integration{}, err
	}
	if len(page.Items) == 0 {
		return store.Integration{}, apperr.New(apperr.NotFound, "No site %q in your account (connect its WordPress integration first)", siteID)
	}
	return page.Items[0], nil
}
