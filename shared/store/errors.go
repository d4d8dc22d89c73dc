package store

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers branch on them with errors.Is; the typed errors
// below match them too and carry detail for errors.As.
var (
	// ErrNotFound: no such item for this caller (another account's item is
	// "not found" too, so existence never leaks across tenants).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a uniqueness constraint or a concurrent transaction
	// refused the write. errors.As to *ConflictError for the reason.
	ErrConflict = errors.New("store: conflict")
	// ErrPreconditionFailed: the item's version is not the expected one
	// (optimistic locking).
	ErrPreconditionFailed = errors.New("store: precondition failed")
	// ErrInvalidCursor: a pagination cursor is malformed, tampered with, or
	// belongs to another listing, account or index.
	ErrInvalidCursor = errors.New("store: invalid cursor")
	// ErrItemTooLarge: the item would exceed DynamoDB's 400 KB item limit.
	// errors.As to *ItemTooLargeError for the size.
	ErrItemTooLarge = errors.New("store: item too large")
	// ErrInvalid: the caller passed an entity without a required field.
	ErrInvalid = errors.New("store: invalid input")
)

// ConflictReason names the constraint behind a conflict. Values are stable.
type ConflictReason string

// Conflict reasons.
const (
	// ConflictSitePlatform: the account already has an integration for this
	// (site_id, platform).
	ConflictSitePlatform ConflictReason = "site_platform_taken"
	// ConflictURL: the account already has an integration for this
	// normalised URL.
	ConflictURL ConflictReason = "url_taken"
	// ConflictExists: an item with this ID already exists.
	ConflictExists ConflictReason = "already_exists"
	// ConflictConcurrent: concurrent transactions kept colliding on the same
	// items; the caller may retry.
	ConflictConcurrent ConflictReason = "concurrent_update"
)

// ConflictError is the typed form of ErrConflict.
type ConflictError struct {
	Reason ConflictReason
	// Detail is a human-readable explanation.
	Detail string
}

func (e *ConflictError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("store: conflict (%s): %s", e.Reason, e.Detail)
	}
	return fmt.Sprintf("store: conflict (%s)", e.Reason)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ItemTooLargeError is the typed form of ErrItemTooLarge.
type ItemTooLargeError struct {
	Entity      string
	Size, Limit int
}

func (e *ItemTooLargeError) Error() string {
	return fmt.Sprintf("store: %s item is %d bytes, over the %d byte limit", e.Entity, e.Size, e.Limit)
}

// Is makes errors.Is(err, ErrItemTooLarge) true.
func (e *ItemTooLargeError) Is(target error) bool { return target == ErrItemTooLarge }
