// Package apperr defines the service's one application error type. Every
// error a caller can act on carries a stable machine Code, a human Message
// and, for bad input, the Field at fault. The HTTP status for each code and
// the RFC 9457 problem+json rendering live here, in one place, for every
// function that answers HTTP (the API and the webhook receiver).
package apperr

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a stable, machine-readable error code. Clients branch on it; never
// rename one.
type Code string

// The codes. Later packages may add their own specific codes (for example
// WordPress diagnoses); they map to a status through Error.Status.
const (
	Invalid            Code = "invalid"             // malformed input (400)
	MalformedJSON      Code = "malformed_json"      // body is not the JSON we expect (400)
	Unauthorized       Code = "unauthorized"        // missing or bad credentials (401)
	Forbidden          Code = "forbidden"           // authenticated but not allowed (403)
	NotFound           Code = "not_found"           // no such resource for this caller (404)
	RouteNotFound      Code = "route_not_found"     // no such route (404)
	MethodNotAllowed   Code = "method_not_allowed"  // route exists, method doesn't (405)
	Conflict           Code = "conflict"            // uniqueness or state conflict (409)
	PreconditionFailed Code = "precondition_failed" // optimistic-lock version mismatch (412)
	PayloadTooLarge    Code = "payload_too_large"   // body over the limit (413)
	UnsupportedMedia   Code = "unsupported_media_type"
	Unprocessable      Code = "unprocessable" // well-formed but semantically invalid (422)
	RateLimited        Code = "rate_limited"  // slow down (429)
	Internal           Code = "internal"      // our fault (500); details only in logs
	Unavailable        Code = "unavailable"   // a dependency is down (503)
)

var statusByCode = map[Code]int{
	Invalid:            http.StatusBadRequest,
	MalformedJSON:      http.StatusBadRequest,
	Unauthorized:       http.StatusUnauthorized,
	Forbidden:          http.StatusForbidden,
	NotFound:           http.StatusNotFound,
	RouteNotFound:      http.StatusNotFound,
	MethodNotAllowed:   http.StatusMethodNotAllowed,
	Conflict:           http.StatusConflict,
	PreconditionFailed: http.StatusPreconditionFailed,
	PayloadTooLarge:    http.StatusRequestEntityTooLarge,
	UnsupportedMedia:   http.StatusUnsupportedMediaType,
	Unprocessable:      http.StatusUnprocessableEntity,
	RateLimited:        http.StatusTooManyRequests,
	Internal:           http.StatusInternalServerError,
	Unavailable:        http.StatusServiceUnavailable,
}

// Error is the application error.
type Error struct {
	Code    Code
	Message string
	// Field names the input field at fault, as a JSON path ("credentials.username").
	Field string
	// HTTPStatus overrides the status derived from Code (for codes that are
	// specific to one package, such as WordPress diagnoses).
	HTTPStatus int
	// Details are extra members of the problem document (safe to show).
	Details map[string]any
	// Err is the underlying cause; logged, never shown to the caller.
	Err error
}

func (e *Error) Error() string {
	msg := string(e.Code) + ": " + e.Message
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Status is the HTTP status for the error.
func (e *Error) Status() int {
	if e.HTTPStatus != 0 {
		return e.HTTPStatus
	}
	if s, ok := statusByCode[e.Code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// New returns an error with a code and message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field returns an Invalid-style error naming the field at fault.
func Field(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error with a code and message that keeps cause for logs.
func Wrap(cause error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// As finds the application error in err's chain. Errors that are not
// application errors become Internal, with their text kept only as the cause.
func As(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	return &Error{Code: Internal, Message: "Internal error", Err: err}
}

// CodeOf returns the code of err, or "" if err is nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	return As(err).Code
}
