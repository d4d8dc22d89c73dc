// Package logging builds the service's structured JSON logger (log/slog)
// and carries per-request attributes — the Lambda request ID, the account,
// the integration — in the context, so every log line written while handling
// a request says which request and which integration it belongs to without
// each call site repeating them.
package logging

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

type attrsKey struct{}

// New returns a JSON logger writing to w whose lines include the attributes
// stored in the context by With and the Lambda request ID when present.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(&contextHandler{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

// With returns a context whose log lines carry attrs in addition to those it
// already carries.
func With(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev, _ := ctx.Value(attrsKey{}).([]slog.Attr)
	next := make([]slog.Attr, 0, len(prev)+len(attrs))
	next = append(next, prev...)
	next = append(next, attrs...)
	return context.WithValue(ctx, attrsKey{}, next)
}

// IntegrationID is the attribute every log line about one integration carries.
func IntegrationID(id string) slog.Attr { return slog.String("integration_id", id) }

// AccountID is the attribute naming the caller's account.
func AccountID(id string) slog.Attr { return slog.String("account_id", id) }

// Err is the attribute for an error.
func Err(err error) slog.Attr { return slog.Any("error", err) }

type contextHandler struct{ slog.Handler }

func (h *contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		r.AddAttrs(slog.String("request_id", lc.AwsRequestID))
	}
	if attrs, ok := ctx.Value(attrsKey{}).([]slog.Attr); ok {
		r.AddAttrs(attrs...)
	}
	return h.Handler.Handle(ctx, r)
}

func (h *contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &contextHandler{Handler: h.Handler.WithAttrs(attrs)}
}

func (h *contextHandler) WithGroup(name string) slog.Handler {
	return &contextHandler{Handler: h.Handler.WithGroup(name)}
}

// String is slog.String, re-exported so callers building context attributes
// need only this package.
func String(key, value string) slog.Attr { return slog.String(key, value) }
