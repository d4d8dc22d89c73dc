package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/store"
)

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(body)
	return err
}

// validator is implemented by request bodies that check themselves; it
// returns an *apperr.Error naming the field at fault.
type validator interface {
	Validate() error
}

// decode reads a JSON body into T: it must be application/json, at most the
// configured size, one JSON value without unknown fields, and valid.
func decode[T validator](r *http.Request, maxBytes int64) (T, error) {
	var v T
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return v, apperr.New(apperr.UnsupportedMedia, "Send the body as application/json")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return v, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > maxBytes {
		return v, apperr.New(apperr.PayloadTooLarge, "The body is larger than %d bytes", maxBytes)
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, jsonError(err)
	}
	if dec.More() {
		return v, apperr.New(apperr.MalformedJSON, "The body must be a single JSON object")
	}
	if err := v.Validate(); err != nil {
		return v, err
	}
	return v, nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apperr.New(apperr.MalformedJSON, "Malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		return apperr.Field(apperr.Invalid, typ.Field, "%s must be a JSON %s", typ.Field, typ.Type.String())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.New(apperr.MalformedJSON, "The body is empty or truncated")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Field(apperr.Invalid, field, "Unknown field %q", field)
	}
	return apperr.Wrap(err, apperr.MalformedJSON, "The body is not valid JSON")
}

// list is the shape of every list response.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Page size limits shared by every list endpoint.
const (
	defaultPageSize = 50
	maxPageSize     = 100
	maxCursorLength = 2048
)

// pageRequest reads limit and cursor from the query string.
func pageRequest(r *http.Request) (store.PageRequest, error) {
	q := r.URL.Query()
	p := store.PageRequest{Limit: defaultPageSize, Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			return p, apperr.Field(apperr.Invalid, "limit", "limit must be a whole number from 1 to %d", maxPageSize)
		}
		p.Limit = n
	}
	if len(p.Cursor) > maxCursorLength {
		return p, apperr.Field(apperr.Invalid, "cursor", "cursor is not one this API returned")
	}
	return p, nil
}

// queryParam reads an optional bounded query parameter.
func queryParam(r *http.Request, name string, maxLen int) (string, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if len(v) > maxLen {
		return "", apperr.Field(apperr.Invalid, name, "%s must be at most %d characters", name, maxLen)
	}
	return v, nil
}
