// Package jobs defines the typed envelope every sync-queue message carries
// and the sender that puts envelopes on the queue in batches. The worker
// decodes the same envelope, so producers and consumers cannot drift.
package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Type names what a job does. The sync worker dispatches on it.
type Type string

// Job types. Later issues add their types here so the list of everything the
// queue can carry stays in one place.
const (
	// TypeNoop does nothing; the local stack's tests and smoke checks use it.
	TypeNoop Type = "noop"
	// TypeFail always fails; used to prove the dead-letter path end to end.
	TypeFail Type = "test.fail"
)

// Envelope is the body of every sync-queue message.
type Envelope struct {
	Type          Type   `json:"type"`
	AccountID     string `json:"account_id,omitempty"`
	IntegrationID string `json:"integration_id,omitempty"`
	// IdempotencyKey identifies the logical job; a redelivered or duplicated
	// message carries the same key, so the worker can recognise repeats.
	IdempotencyKey string `json:"idempotency_key"`
	// Attempt counts how many times the job was re-enqueued by our own code
	// (continuations, explicit retries); SQS's receive count is separate.
	Attempt    int             `json:"attempt"`
	EnqueuedAt time.Time       `json:"enqueued_at"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}

// MaxBodyBytes is SQS's message size limit.
const MaxBodyBytes = 256 * 1024

// Validate checks an envelope before it is sent or after it is received.
func (e Envelope) Validate() error {
	var errs []error
	if e.Type == "" {
		errs = append(errs, errors.New("type is empty"))
	}
	if e.IdempotencyKey == "" {
		errs = append(errs, errors.New("idempotency_key is empty"))
	}
	if len(e.IdempotencyKey) > 512 {
		errs = append(errs, errors.New("idempotency_key is longer than 512 bytes"))
	}
	return errors.Join(errs...)
}

// Encode validates and serialises an envelope.
func Encode(e Envelope) (string, error) {
	if err := e.Validate(); err != nil {
		return "", fmt.Errorf("invalid job envelope: %w", err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encode job envelope: %w", err)
	}
	if len(b) > MaxBodyBytes {
		return "", fmt.Errorf("job envelope is %d bytes, over the SQS limit of %d", len(b), MaxBodyBytes)
	}
	return string(b), nil
}

// Decode parses and validates a message body.
func Decode(body string) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return Envelope{}, fmt.Errorf("decode job envelope: %w", err)
	}
	if err := e.Validate(); err != nil {
		return Envelope{}, fmt.Errorf("invalid job envelope: %w", err)
	}
	return e, nil
}
