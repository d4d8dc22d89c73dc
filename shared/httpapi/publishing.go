package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/publishing"
	"github.com/igny8/integrations/shared/store"
)

// PublishingService is what the API needs from the publishing domain
// service (*publishing.Service).
type PublishingService interface {
	Get(ctx context.Context, accountID, siteID string) (store.PublishSettings, error)
	Update(ctx context.Context, accountID, siteID string, version int64, in publishing.Input) (store.PublishSettings, error)
	Preview(ctx context.Context, accountID, siteID string, days int) (publishing.Schedule, error)
}

var _ PublishingService = (*publishing.Service)(nil)

type timeSlotJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// publishingSettingsJSON is a site's publishing settings as the API shows them.
type publishingSettingsJSON struct {
	SiteID              string         `json:"site_id"`
	AutoApprovalEnabled bool           `json:"auto_approval_enabled"`
	AutoPublishEnabled  bool           `json:"auto_publish_enabled"`
	DailyPublishLimit   int            `json:"daily_publish_limit"`
	WeeklyPublishLimit  int            `json:"weekly_publish_limit"`
	MonthlyPublishLimit int            `json:"monthly_publish_limit"`
	PublishDays         []string       `json:"publish_days"`
	PublishTimeSlots    []timeSlotJSON `json:"publish_time_slots"`
	Timezone            string         `json:"timezone"`
	ApprovedWaiting     int64          `json:"approved_waiting"`
	CreatedAt           time.Time      `json:"created_at"`
	UpdatedAt           time.Time      `json:"updated_at"`
	Version             int64          `json:"version"`
}

func presentPublishingSettings(ps store.PublishSettings) publishingSettingsJSON {
	out := publishingSettingsJSON{SiteID: ps.SiteID, AutoApprovalEnabled: ps.AutoApprovalEnabled, AutoPublishEnabled: ps.AutoPublishEnabled,
		DailyPublishLimit: ps.DailyLimit, WeeklyPublishLimit: ps.WeeklyLimit, MonthlyPublishLimit: ps.MonthlyLimit,
		PublishDays: append([]string{}, ps.PublishDays...), PublishTimeSlots: []timeSlotJSON{}, Timezone: ps.Timezone,
		ApprovedWaiting: max(ps.ApprovedWaiting, 0), CreatedAt: ps.CreatedAt, UpdatedAt: ps.UpdatedAt, Version: ps.Version}
	for _, s := range ps.TimeSlots {
		out.PublishTimeSlots = append(out.PublishTimeSlots, timeSlotJSON(s))
	}
	return out
}

// publishingSettingsRequest is the body of PUT and PATCH.
type publishingSettingsRequest struct {
	AutoApprovalEnabled *bool           `json:"auto_approval_enabled"`
	AutoPublishEnabled  *bool           `json:"auto_publish_enabled"`
	DailyPublishLimit   *int            `json:"daily_publish_limit"`
	WeeklyPublishLimit  *int            `json:"weekly_publish_limit"`
	MonthlyPublishLimit *int            `json:"monthly_publish_limit"`
	PublishDays         *[]string       `json:"publish_days"`
	PublishTimeSlots    *[]timeSlotJSON `json:"publish_time_slots"`
	Timezone            *string         `json:"timezone"`
	Version             *int64          `json:"version"`
}

func (r publishingSettingsRequest) Validate() error {
	if r.PublishDays != nil && len(*r.PublishDays) > 7 {
		return apperr.Field(apperr.Unprocessable, "publish_days", "at most 7 days")
	}
	if r.PublishTimeSlots != nil && len(*r.PublishTimeSlots) > publishing.MaxSlots {
		return apperr.Field(apperr.Unprocessable, "publish_time_slots", "at most %d time slots", publishing.MaxSlots)
	}
	return nil
}

func (r publishingSettingsRequest) input() publishing.Input {
	in := publishing.Input{AutoApprovalEnabled: r.AutoApprovalEnabled, AutoPublishEnabled: r.AutoPublishEnabled,
		DailyPublishLimit: r.DailyPublishLimit, WeeklyPublishLimit: r.WeeklyPublishLimit, MonthlyPublishLimit: r.MonthlyPublishLimit,
		PublishDays: r.PublishDays, Timezone: r.Timezone}
	if r.PublishTimeSlots != nil {
		slots := make([]store.TimeSlot, 0, len(*r.PublishTimeSlots))
		for _, s := range *r.PublishTimeSlots {
			slots = append(slots, store.TimeSlot(s))
		}
		in.PublishTimeSlots = &slots
	}
	return in
}

func (s *Server) handleGetPublishingSettings(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.deps.Publishing.Get(r.Context(), account(r), r.PathValue("site_id"))
	if err != nil {
		return err
	}
	setETag(w, ps.Version)
	return encode(w, http.StatusOK, presentPublishingSettings(ps))
}

func (s *Server) handleUpdatePublishingSettings(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[publishingSettingsRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	version, err := expectedVersion(r, req.Version)
	if err != nil {
		return err
	}
	if r.Method == http.MethodPut {
		for _, f := range []struct {
			name    string
			missing bool
		}{
			{"auto_approval_enabled", req.AutoApprovalEnabled == nil}, {"auto_publish_enabled", req.AutoPublishEnabled == nil},
			{"daily_publish_limit", req.DailyPublishLimit == nil}, {"weekly_publish_limit", req.WeeklyPublishLimit == nil},
			{"monthly_publish_limit", req.MonthlyPublishLimit == nil}, {"publish_days", req.PublishDays == nil},
			{"publish_time_slots", req.PublishTimeSlots == nil}, {"timezone", req.Timezone == nil},
		} {
			if f.missing {
				return apperr.Field(apperr.Invalid, f.name, "PUT replaces the settings: %s is required (use PATCH to change some fields)", f.name)
			}
		}
	}
	ps, err := s.deps.Publishing.Update(r.Context(), account(r), r.PathValue("site_id"), version, req.input())
	if err != nil {
		return err
	}
	setETag(w, ps.Version)
	return encode(w, http.StatusOK, presentPublishingSettings(ps))
}

type plannedPublicationJSON struct {
	At        time.Time `json:"at"`
	LocalTime string    `json:"local_time"`
	PlannedAt time.Time `json:"planned_at"`
	ContentID *string   `json:"content_id"`
	Title     *string   `json:"title"`
}

type publishCountsJSON struct {
	Today     int `json:"today"`
	ThisWeek  int `json:"this_week"`
	ThisMonth int `json:"this_month"`
}

// publishingScheduleJSON is the schedule preview.
type publishingScheduleJSON struct {
	SiteID             string                   `json:"site_id"`
	Timezone           string                   `json:"timezone"`
	AutoPublishEnabled bool                     `json:"auto_publish_enabled"`
	From               time.Time                `json:"from"`
	Until              time.Time                `json:"until"`
	ApprovedWaiting    int64                    `json:"approved_waiting"`
	Published          publishCountsJSON        `json:"published"`
	Publications       []plannedPublicationJSON `json:"publications"`
}

func (s *Server) handlePublishingSchedule(w http.ResponseWriter, r *http.Request) error {
	days := publishing.DefaultPreviewDays
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > publishing.MaxPreviewDays {
			return apperr.Field(apperr.Invalid, "days", "days must be a whole number from 1 to %d", publishing.MaxPreviewDays)
		}
		days = n
	}
	sched, err := s.deps.Publishing.Preview(r.Context(), account(r), r.PathValue("site_id"), days)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(sched.Settings.Timezone)
	if err != nil {
		loc = time.UTC
	}
	out := publishingScheduleJSON{SiteID: sched.Settings.SiteID, Timezone: sched.Settings.Timezone, AutoPublishEnabled: sched.Settings.AutoPublishEnabled,
		From: sched.From, Until: sched.Until, ApprovedWaiting: max(sched.Settings.ApprovedWaiting, 0),
		Published:    publishCountsJSON{Today: sched.Counts.Day, ThisWeek: sched.Counts.Week, ThisMonth: sched.Counts.Month},
		Publications: make([]plannedPublicationJSON, 0, len(sched.Publications))}
	for _, p := range sched.Publications {
		pj := plannedPublicationJSON{At: p.At.UTC(), LocalTime: p.At.In(loc).Format(time.RFC3339), PlannedAt: p.Planned.UTC()}
		if p.ContentID != "" {
			id, title := p.ContentID, p.ContentTitle
			pj.ContentID, pj.Title = &id, &title
		}
		out.Publications = append(out.Publications, pj)
	}
	return encode(w, http.StatusOK, out)
}
