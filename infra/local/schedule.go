package local

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
)

// Schedule computes the next firing time of an EventBridge Scheduler
// expression.
type Schedule interface {
	Next(after time.Time) time.Time
}

type rateSchedule struct{ every time.Duration }

func (r rateSchedule) Next(after time.Time) time.Time { return after.Add(r.every) }

// cronSchedule matches the minute and hour fields of a cron() expression;
// the day fields are honoured when they are * or ? and otherwise ignored
// (the local ticker then fires every matching day).
type cronSchedule struct {
	minutes, hours [60]bool
	loc            *time.Location
}

func (c cronSchedule) Next(after time.Time) time.Time {
	t := after.In(c.loc).Truncate(time.Minute).Add(time.Minute)
	for i := 0; i < 60*24*2; i++ {
		if c.minutes[t.Minute()] && c.hours[t.Hour()] {
			return t
		}
		t = t.Add(time.Minute)
	}
	return after.Add(time.Minute)
}

// ParseSchedule parses rate(N minute|minutes|hour|hours|day|days) and
// cron(min hour day-of-month month day-of-week year). For cron only the
// minute and hour fields are evaluated; the returned warning says so when
// the day fields restrict the schedule, and for an expression it cannot
// read it falls back to every minute with a warning.
func ParseSchedule(expr, timezone string) (Schedule, string) {
	expr = strings.TrimSpace(expr)
	switch {
	case strings.HasPrefix(expr, "rate(") && strings.HasSuffix(expr, ")"):
		f := strings.Fields(expr[5 : len(expr)-1])
		if len(f) == 2 {
			n, err := strconv.Atoi(f[0])
			unit := map[string]time.Duration{"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour,
				"hours": time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour}[f[1]]
			if err == nil && n > 0 && unit > 0 {
				return rateSchedule{time.Duration(n) * unit}, ""
			}
		}
	case strings.HasPrefix(expr, "cron(") && strings.HasSuffix(expr, ")"):
		f := strings.Fields(expr[5 : len(expr)-1])
		if len(f) == 6 {
			loc := time.UTC
			if timezone != "" {
				if l, err := time.LoadLocation(timezone); err == nil {
					loc = l
				}
			}
			c := cronSchedule{loc: loc}
			okM := cronField(f[0], 0, 59, c.minutes[:])
			okH := cronField(f[1], 0, 23, c.hours[:])
			if okM && okH {
				warn := ""
				for _, d := range f[2:5] {
					if d != "*" && d != "?" {
						warn = fmt.Sprintf("schedule %s: the local ticker evaluates only the minute and hour fields", expr)
					}
				}
				return c, warn
			}
		}
	}
	return rateSchedule{time.Minute}, fmt.Sprintf("schedule %q is not understood locally; firing every minute", expr)
}

// cronField sets set[v] for every value the field matches: *, N, A-B, lists
// and /step.
func cronField(field string, lo, hi int, set []bool) bool {
	for _, part := range strings.Split(field, ",") {
		step := 1
		if base, s, ok := strings.Cut(part, "/"); ok {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return false
			}
			part, step = base, n
		}
		from, to := lo, hi
		switch {
		case part == "*" || part == "?":
		case strings.Contains(part, "-"):
			a, b, _ := strings.Cut(part, "-")
			x, err1 := strconv.Atoi(a)
			y, err2 := strconv.Atoi(b)
			if err1 != nil || err2 != nil {
				return false
			}
			from, to = x, y
		default:
			x, err := strconv.Atoi(part)
			if err != nil {
				return false
			}
			from = x
			if step == 1 {
				to = x
			}
		}
		if from < lo || to > hi || from > to {
			return false
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	return true
}

// scheduledEvent is one schedule of one function.
type scheduledEvent struct {
	name        string
	scheduleARN string
	input       string
	schedule    Schedule
	handler     PublisherHandler
	fn          functionInfo
	inv         *invoker
	logger      *slog.Logger
}

// SchedulerEvent substitutes EventBridge Scheduler's context attributes in
// input and decodes the result as the function receives it. An empty input
// is Scheduler's default payload, an empty JSON object.
func SchedulerEvent(input, scheduleARN string, scheduled time.Time, executionID string) (events.EventBridgeEvent, error) {
	if strings.TrimSpace(input) == "" {
		input = "{}"
	}
	r := strings.NewReplacer(
		"<aws.scheduler.scheduled-time>", scheduled.UTC().Format(time.RFC3339),
		"<aws.scheduler.execution-id>", executionID,
		"<aws.scheduler.schedule-arn>", scheduleARN,
		"<aws.scheduler.attempt-number>", "1",
	)
	var ev events.EventBridgeEvent
	if err := json.Unmarshal([]byte(r.Replace(input)), &ev); err != nil {
		return ev, fmt.Errorf("schedule input is not a valid event: %w", err)
	}
	return ev, nil
}

// run fires the schedule until ctx ends; an invocation in progress is
// allowed to finish.
func (s *scheduledEvent) run(ctx context.Context) {
	next := s.schedule.Next(time.Now())
	for {
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		scheduled := next.UTC().Truncate(time.Second)
		ev, err := SchedulerEvent(s.input, s.scheduleARN, scheduled, uuid.NewString())
		if err != nil {
			s.logger.Error("publisher schedule: bad input", slog.String("schedule", s.name), slog.Any("error", err))
		} else {
			h := func(ctx context.Context, ev events.EventBridgeEvent) (struct{}, error) {
				return struct{}{}, s.handler(ctx, ev)
			}
			_, inv := invoke(context.WithoutCancel(ctx), s.inv, s.fn, "", h, ev)
			inv.Response = nil
			s.inv.finish(inv)
		}
		// A run that overran its interval does not queue up missed runs.
		next = s.schedule.Next(next)
		if now := time.Now(); next.Before(now) {
			next = s.schedule.Next(now)
		}
	}
}

// everySchedule is the development speed-up: a fixed interval.
type everySchedule = rateSchedule
