// Package webhook is the webhook receiver's Lambda handler, served by a
// Lambda function URL that the WordPress companion plugin calls. It
// verifies, de-duplicates, rate-limits and enqueues; the sync worker does
// the work (see shared/contentsync's webhook jobs).
//
// Checks run cheapest first, and nothing is written before the signature
// is proven: method, content type (415), body size (413), JSON shape and
// signature headers (400, naming the field), timestamp window (401), the
// integration by ID (one GSI Query; unknown is the same 401 as a bad
// signature, so existence does not leak), the Standard Webhooks signature
// with the integration's secrets (401), site_url against the integration's
// normalised URL (403), the integration being active (403), the
// per-integration rate limit (429 with Retry-After), and the webhook-id
// de-duplication (200 duplicate). An accepted delivery enqueues one job and
// answers 202.
package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/metrics"
	"github.com/igny8/integrations/shared/siteurl"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/webhooksecret"
)

// Path is the receiver's route (the seed's path).
const Path = "/api/v1/integration/webhook/wordpress/"

// MaxBodyBytes is the largest accepted delivery.
const MaxBodyBytes = 64 << 10

// DedupRetention is how long a webhook-id is remembered: far longer than
// the timestamp window, so a replay is refused by one check or the other.
const DedupRetention = 24 * time.Hour

// Stable problem codes of the receiver.
const (
	CodeSiteMismatch = apperr.Code("site_url_mismatch")
	CodeInactive     = apperr.Code("integration_inactive")
)

// Integrations finds an integration from its ID alone.
type Integrations interface {
	GetIntegrationByID(ctx context.Context, id string) (store.Integration, error)
}

// Keys returns an integration's valid signing secrets.
type Keys interface {
	Keys(ctx context.Context, in store.Integration) (webhooksecret.Keys, error)
}

// Sender puts jobs on the sync queue.
type Sender interface {
	Send(ctx context.Context, envs ...jobs.Envelope) error
}

// Deps are the receiver's dependencies.
type Deps struct {
	Logger       *slog.Logger
	Integrations Integrations
	Keys         Keys
	Guard        store.WebhookStore
	Jobs         Sender
	// Rate is the per-integration limit.
	Rate store.RateWindow
	// AllowHTTP accepts http:// site URLs (development), as the
	// integrations service does when it normalises them.
	AllowHTTP bool
	// IntegrationCacheTTL is how long a found integration is reused (0:
	// read it for every delivery). See DefaultIntegrationCacheTTL.
	IntegrationCacheTTL time.Duration
	// Metrics receives one EMF line per delivery (nil: none): Deliveries
	// and HandlerTime by Outcome (accepted, duplicate or the problem code),
	// so a flood of 401s or 429s shows on a dashboard.
	Metrics *metrics.Emitter
	Stage   string
	Now     func() time.Time
}

// Response bodies.
type accepted struct {
	DeliveryID string `json:"delivery_id"`
	Status     string `json:"status"`
	Duplicate  bool   `json:"duplicate"`
}

// Handler is the receiver.
type Handler func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error)

// NewHandler returns the Lambda handler for function URL requests.
func NewHandler(d Deps) Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	r := &receiver{d: d, cache: newIntegrationCache(d.IntegrationCacheTTL)}
	return func(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		start := time.Now()
		resp, err := r.receive(ctx, req)
		r.metric(err, resp, time.Since(start))
		if err != nil {
			ae := apperr.As(err)
			level := slog.LevelInfo
			if ae.Status() >= 500 {
				level = slog.LevelError
			}
			d.Logger.Log(ctx, level, "webhook delivery refused", logging.String("code", string(ae.Code)),
				logging.String("status", strconv.Itoa(ae.Status())), logging.Err(err))
			return problem(err, req.RawPath), nil
		}
		return resp, nil
	}
}

type receiver struct {
	d     Deps
	cache *integrationCache
}

// errUnsigned is the one answer for an unknown integration, an integration
// without a secret and a bad signature.
var errUnsigned = apperr.New(apperr.Unauthorized, "The webhook signature is not valid for the integration the delivery names")

func (r *receiver) receive(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	switch {
	case req.RawPath != Path:
		return events.LambdaFunctionURLResponse{}, apperr.New(apperr.RouteNotFound, "No webhook route at %s", req.RawPath)
	case req.RequestContext.HTTP.Method != http.MethodPost:
		e := apperr.New(apperr.MethodNotAllowed, "Use POST")
		e.Details = map[string]any{"allow": []string{"POST"}}
		return events.LambdaFunctionURLResponse{}, e
	}
	h := lowerHeaders(req.Headers)
	if mt, _, err := mime.ParseMediaType(h["content-type"]); err != nil || mt != "application/json" {
		return events.LambdaFunctionURLResponse{}, apperr.Field(apperr.UnsupportedMedia, "Content-Type", "Send the delivery as application/json")
	}
	body, err := readBody(req)
	if err != nil {
		return events.LambdaFunctionURLResponse{}, err
	}
	d, err := ParseDelivery(body)
	if err != nil {
		return events.LambdaFunctionURLResponse{}, err
	}
	signed, err := ParseHeaders(h[HeaderID], h[HeaderTimestamp], h[HeaderSignature])
	if err != nil {
		return events.LambdaFunctionURLResponse{}, headerError(err)
	}
	now := r.d.Now()
	if err := signed.CheckTimestamp(now); err != nil {
		return events.LambdaFunctionURLResponse{}, apperr.Wrap(err, apperr.Unauthorized, "The webhook-timestamp is more than 5 minutes from the receiver's clock; check the site's clock")
	}
	in, cached, err := r.integration(ctx, d.IntegrationID, now, false)
	if err != nil {
		return events.LambdaFunctionURLResponse{}, err
	}
	ctx = logging.With(ctx, logging.IntegrationID(in.ID), logging.AccountID(in.AccountID))
	err = r.verify(ctx, in, signed, body, now)
	if errors.Is(err, ErrSignature) && cached {
		// The cached integration may predate a secret rotation: check
		// against a fresh read before refusing.
		if in, _, err = r.integration(ctx, d.IntegrationID, now, true); err == nil {
			err = r.verify(ctx, in, signed, body, now)
		}
	}
	if err != nil {
		return events.LambdaFunctionURLResponse{}, err
	}
	// Proven: the delivery comes from whoever holds the secret.
	site, err := siteurl.Normalize(d.SiteURL, siteurl.Options{AllowHTTP: r.d.AllowHTTP})
	if err != nil || site != in.ExternalSiteURL {
		return events.LambdaFunctionURLResponse{}, withStatus(apperr.Field(CodeSiteMismatch, "site_url", "site_url is not the URL this integration connects"), http.StatusForbidden)
	}
	if !in.IsActive {
		return events.LambdaFunctionURLResponse{}, withStatus(apperr.New(CodeInactive, "The integration is not active; deliveries are refused until it is activated"), http.StatusForbidden)
	}
	// The rate window and the de-duplication claim are independent
	// conditional writes: made together, a delivery waits for one round
	// trip instead of two. The answer keeps the checks' order: over the
	// limit is 429 even for a replay, and a claim made for a delivery that
	// is then refused is released, so its retry is accepted.
	var (
		ok, fresh         bool
		wait              time.Duration
		rateErr, claimErr error
		wg                sync.WaitGroup
	)
	wg.Go(func() { ok, wait, rateErr = r.d.Guard.TakeWebhookToken(ctx, in.AccountID, in.ID, r.d.Rate, now) })
	fresh, claimErr = r.d.Guard.ClaimWebhookDelivery(ctx, in.AccountID, in.ID, signed.ID, DedupRetention)
	wg.Wait()
	if rateErr != nil || claimErr != nil || !ok {
		if claimErr == nil && fresh {
			r.release(ctx, in, signed.ID)
		}
		switch {
		case rateErr != nil:
			return events.LambdaFunctionURLResponse{}, fmt.Errorf("rate limit: %w", rateErr)
		case claimErr != nil:
			return events.LambdaFunctionURLResponse{}, fmt.Errorf("de-duplicate: %w", claimErr)
		}
		e := apperr.New(apperr.RateLimited, "Too many deliveries for this integration; retry after the Retry-After delay")
		e.Details = map[string]any{"retry_after_seconds": retryAfter(wait)}
		return events.LambdaFunctionURLResponse{}, e
	}
	if !fresh {
		r.d.Logger.InfoContext(ctx, "webhook delivery is a replay", logging.String("delivery_id", signed.ID))
		return jsonResponse(http.StatusOK, accepted{DeliveryID: signed.ID, Status: "duplicate", Duplicate: true}), nil
	}
	env, err := d.Job(in, signed.ID, now)
	if err == nil {
		err = r.d.Jobs.Send(ctx, env)
	}
	if err != nil {
		// Forget the ID so the plugin's retry (it retries 5xx) is accepted.
		r.release(ctx, in, signed.ID)
		return events.LambdaFunctionURLResponse{}, apperr.Wrap(err, apperr.Unavailable, "The delivery could not be queued; retry later")
	}
	r.d.Logger.InfoContext(ctx, "webhook delivery accepted", logging.String("delivery_id", signed.ID),
		logging.String("action", d.Action), logging.String("post_id", strconv.FormatInt(d.PostID, 10)),
		logging.String("attempt", strconv.Itoa(d.Meta.Attempt)), logging.String("plugin_version", d.Meta.PluginVersion))
	return jsonResponse(http.StatusAccepted, accepted{DeliveryID: signed.ID, Status: "accepted"}), nil
}

// metric emits the delivery's outcome.
func (r *receiver) metric(err error, resp events.LambdaFunctionURLResponse, took time.Duration) {
	if r.d.Metrics == nil {
		return
	}
	outcome := "accepted"
	switch {
	case err != nil:
		outcome = string(apperr.As(err).Code)
	case resp.StatusCode == http.StatusOK:
		outcome = "duplicate"
	}
	if merr := r.d.Metrics.Emit(map[string]string{"Stage": r.d.Stage, "Outcome": outcome}, nil,
		metrics.Metric{Name: "Deliveries", Unit: metrics.Count, Value: 1},
		metrics.Metric{Name: "HandlerTime", Unit: metrics.Milliseconds, Value: float64(took.Microseconds()) / 1000}); merr != nil {
		r.d.Logger.Warn("could not emit metrics", logging.Err(merr))
	}
}

// release forgets a claimed webhook-id whose delivery was not enqueued.
func (r *receiver) release(ctx context.Context, in store.Integration, webhookID string) {
	if err := r.d.Guard.ReleaseWebhookDelivery(context.WithoutCancel(ctx), in.AccountID, in.ID, webhookID); err != nil {
		r.d.Logger.ErrorContext(ctx, "could not release a delivery that was not enqueued; its retry will be taken for a replay", logging.Err(err))
	}
}

// integration finds the delivery's integration, from the cache unless
// fresh is set. cached reports whether it came from the cache.
func (r *receiver) integration(ctx context.Context, id string, now time.Time, fresh bool) (store.Integration, bool, error) {
	if !fresh {
		if in, ok := r.cache.get(id, now); ok {
			return in, true, nil
		}
	}
	in, err := r.cache.load(id, func() (store.Integration, error) {
		return r.d.Integrations.GetIntegrationByID(context.WithoutCancel(ctx), id)
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Integration{}, false, errUnsigned
	}
	if err != nil {
		return store.Integration{}, false, fmt.Errorf("find integration: %w", err)
	}
	r.cache.put(in, now)
	return in, false, nil
}

// verify checks the signature against every valid secret of in.
func (r *receiver) verify(ctx context.Context, in store.Integration, signed Signed, body []byte, now time.Time) error {
	keys, err := r.d.Keys.Keys(ctx, in)
	if errors.Is(err, webhooksecret.ErrMissing) {
		return errUnsigned
	}
	if err != nil {
		return fmt.Errorf("read webhook secret: %w", err)
	}
	var raw [][]byte
	for _, s := range keys.Valid(now) {
		if k, err := webhooksecret.Key(s); err == nil {
			raw = append(raw, k)
		}
	}
	if err := signed.Verify(body, raw); err != nil {
		return apperr.Wrap(err, errUnsigned.Code, "%s", errUnsigned.Message)
	}
	return nil
}

func headerError(err error) error {
	field := HeaderID
	if errors.Is(err, ErrMissingTimestamp) || errors.Is(err, ErrInvalidTimestamp) {
		field = HeaderTimestamp
	}
	return &apperr.Error{Code: apperr.Invalid, Field: field, Message: err.Error(), Err: err}
}

func readBody(req events.LambdaFunctionURLRequest) ([]byte, error) {
	tooLarge := apperr.New(apperr.PayloadTooLarge, "A delivery must be at most %d bytes", MaxBodyBytes)
	if !req.IsBase64Encoded {
		if len(req.Body) > MaxBodyBytes {
			return nil, tooLarge
		}
		return []byte(req.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBodyBytes+3 {
		return nil, tooLarge
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, apperr.New(apperr.MalformedJSON, "The body is not valid base64")
	}
	if len(b) > MaxBodyBytes {
		return nil, tooLarge
	}
	return b, nil
}

func lowerHeaders(in map[string]string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	return out
}

func retryAfter(wait time.Duration) int {
	s := int((wait + time.Second - 1) / time.Second)
	return max(s, 1)
}

func withStatus(e *apperr.Error, status int) *apperr.Error {
	e.HTTPStatus = status
	return e
}

func jsonResponse(status int, v any) events.LambdaFunctionURLResponse {
	body, _ := json.Marshal(v)
	return events.LambdaFunctionURLResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       string(body),
	}
}

func problem(err error, instance string) events.LambdaFunctionURLResponse {
	p := apperr.ToProblem(err, instance)
	body, _ := p.MarshalJSON()
	headers := map[string]string{"Content-Type": apperr.ContentType, "Cache-Control": "no-store"}
	if ae := apperr.As(err); ae.Code == apperr.RateLimited {
		if s, ok := ae.Details["retry_after_seconds"].(int); ok {
			headers["Retry-After"] = strconv.Itoa(s)
		}
	}
	if ae := apperr.As(err); ae.Code == apperr.MethodNotAllowed {
		headers["Allow"] = http.MethodPost
	}
	return events.LambdaFunctionURLResponse{StatusCode: p.Status, Headers: headers, Body: string(body)}
}
