package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/contentsync"
	"github.com/igny8/integrations/shared/store"
)

// SyncService is what the API needs from the sync engine
// (*contentsync.Engine).
type SyncService interface {
	StartRun(ctx context.Context, req contentsync.StartRequest) (store.SyncRun, error)
	Status(ctx context.Context, accountID, integrationID string) (contentsync.Status, error)
	Health(ctx context.Context, accountID, integrationID string) (contentsync.Health, error)
	Events(ctx context.Context, accountID, integrationID string, f store.EventFilter, p store.PageRequest) (store.Page[store.SyncEvent], error)
}

var _ SyncService = (*contentsync.Engine)(nil)

type syncRequest struct {
	Direction    string   `json:"direction"`
	Mode         string   `json:"mode"`
	ContentTypes []string `json:"content_types"`
}

func (r syncRequest) Validate() error {
	return contentsync.ValidateStart(contentsync.StartRequest{Direction: r.Direction, Mode: r.Mode, ContentTypes: r.ContentTypes})
}

// decodeOptional decodes a body that may be absent entirely.
func decodeOptional[T validator](r *http.Request, maxBytes int64) (T, error) {
	var zero T
	if r.ContentLength == 0 {
		return zero, zero.Validate()
	}
	return decode[T](r, maxBytes)
}

func (s *Server) handleStartSync(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeOptional[syncRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	run, err := s.deps.Sync.StartRun(r.Context(), contentsync.StartRequest{AccountID: account(r), IntegrationID: r.PathValue("id"),
		Direction: req.Direction, Mode: req.Mode, ContentTypes: req.ContentTypes})
	if err != nil {
		return err
	}
	return encode(w, http.StatusAccepted, map[string]any{"status": "syncing", "run": contentsync.ViewRun(run)})
}

func (s *Server) handleSyncStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := s.deps.Sync.Status(r.Context(), account(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, st)
}

func (s *Server) handleSyncHealth(w http.ResponseWriter, r *http.Request) error {
	h, err := s.deps.Sync.Health(r.Context(), account(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, h)
}

// eventJSON is a sync event as the API shows it (the seed's SyncEvent).
type eventJSON struct {
	ID           string         `json:"id"`
	Integration  string         `json:"integration"`
	EventType    string         `json:"event_type"`
	Direction    string         `json:"direction"`
	ContentType  string         `json:"content_type"`
	ContentID    string         `json:"content_id"`
	ExternalID   int64          `json:"external_id"`
	Status       string         `json:"status"`
	ErrorMessage string         `json:"error_message"`
	Metadata     map[string]any `json:"metadata"`
	RunID        string         `json:"run_id,omitempty"`
	CreatedAt    time.Time      `json:"created_at"`
}

var eventStatuses = []string{contentsync.EventPending, contentsync.EventSuccess, contentsync.EventFailed}

func (s *Server) handleSyncEvents(w http.ResponseWriter, r *http.Request) error {
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	status, err := queryParam(r, "status", 16)
	if err != nil {
		return err
	}
	if status != "" && !slices.Contains(eventStatuses, status) {
		return apperr.Field(apperr.Invalid, "status", "status must be one of %s", strings.Join(eventStatuses, ", "))
	}
	eventType, err := queryParam(r, "event_type", 32)
	if err != nil {
		return err
	}
	res, err := s.deps.Sync.Events(r.Context(), account(r), r.PathValue("id"), store.EventFilter{Status: status, EventType: eventType}, page)
	if err != nil {
		return err
	}
	out := list[eventJSON]{Items: make([]eventJSON, 0, len(res.Items)), NextCursor: res.NextCursor}
	for _, e := range res.Items {
		md := e.Metadata
		if md == nil {
			md = map[string]any{}
		}
		out.Items = append(out.Items, eventJSON{ID: e.ID, Integration: e.IntegrationID, EventType: e.EventType, Direction: e.Direction,
			ContentType: e.ContentType, ContentID: e.ContentID, ExternalID: e.ExternalID, Status: e.Status,
			ErrorMessage: e.ErrorMessage, Metadata: md, RunID: e.RunID, CreatedAt: e.CreatedAt})
	}
	return encode(w, http.StatusOK, out)
}

type siteSyncRequest struct {
	SiteID string `json:"site_id"`
	syncRequest
}

func (r siteSyncRequest) Validate() error {
	if strings.TrimSpace(r.SiteID) == "" {
		return apperr.Field(apperr.Invalid, "site_id", "site_id is required")
	}
	return r.syncRequest.Validate()
}

// handleSiteSync starts a run on every active integration of a site; each
// integration's outcome is reported on its own.
func (s *Server) handleSiteSync(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[siteSyncRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	req.SiteID = strings.TrimSpace(req.SiteID)
	page, err := s.deps.Integrations.List(r.Context(), account(r), store.IntegrationFilter{SiteID: req.SiteID}, store.PageRequest{Limit: maxPageSize})
	if err != nil {
		return err
	}
	type outcome struct {
		IntegrationID string               `json:"integration_id"`
		Run           *contentsync.RunView `json:"run,omitempty"`
		Error         *apperr.Problem      `json:"error,omitempty"`
	}
	results := []outcome{}
	for _, in := range page.Items {
		if !in.IsActive {
			continue
		}
		run, err := s.deps.Sync.StartRun(r.Context(), contentsync.StartRequest{AccountID: in.AccountID, IntegrationID: in.ID,
			Direction: req.Direction, Mode: req.Mode, ContentTypes: req.ContentTypes})
		o := outcome{IntegrationID: in.ID}
		if err != nil {
			p := apperr.ToProblem(classify(err), "")
			o.Error = &p
		} else {
			v := contentsync.ViewRun(run)
			o.Run = &v
		}
		results = append(results, o)
	}
	if len(results) == 0 {
		return apperr.Field(apperr.NotFound, "site_id", "No active integration for site %q", req.SiteID)
	}
	return encode(w, http.StatusAccepted, map[string]any{"site_id": req.SiteID, "results": results})
}

// classify maps the typed errors of the store and the sync engine that
// reach the API unwrapped to application errors.
func classify(err error) error {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	var active *contentsync.ActiveRunError
	switch {
	case errors.As(err, &active):
		e := apperr.Wrap(err, apperr.Conflict, "A sync run is already in progress for this integration")
		e.Details = map[string]any{"run": contentsync.ViewRun(active.Run)}
		return e
	case errors.Is(err, store.ErrNotFound):
		return apperr.Wrap(err, apperr.NotFound, "Not found in your account")
	case errors.Is(err, store.ErrInvalidCursor):
		return &apperr.Error{Code: apperr.Invalid, Field: "cursor", Message: "cursor is not one this API returned for this listing", Err: err}
	case errors.Is(err, store.ErrPreconditionFailed):
		return apperr.Wrap(err, apperr.PreconditionFailed, "The resource changed since you read it; read it again and retry with its current version")
	case errors.Is(err, store.ErrConflict):
		return apperr.Wrap(err, apperr.Conflict, "%s", err.Error())
	}
	return err
}
