package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (https://www.standardwebhooks.com/) headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Limits of the signature headers: generous for any real sender, small
// enough that a hostile request cannot make verification expensive.
const (
	MaxIDLength = 256
	// MaxSignatures bounds the signatures one delivery may carry (a sender
	// in the middle of a rotation sends two).
	MaxSignatures = 8
	// Tolerance is how far a delivery's timestamp may be from our clock.
	Tolerance = 5 * time.Minute
)

// Header parsing and verification failures. ErrSignature and ErrTimestamp
// are 401s; the others are malformed requests (400).
var (
	ErrMissingID        = errors.New("webhook-id header is missing")
	ErrInvalidID        = errors.New("webhook-id header is longer than 256 bytes or contains control characters")
	ErrMissingTimestamp = errors.New("webhook-timestamp header is missing")
	ErrInvalidTimestamp = errors.New("webhook-timestamp header is not Unix seconds")
	ErrTimestamp        = errors.New("webhook-timestamp is more than 5 minutes from the receiver's clock")
	ErrSignature        = errors.New("no valid webhook signature")
)

// Signed is a delivery's parsed signature headers.
type Signed struct {
	ID        string
	Timestamp int64
	// Signatures are the decoded v1 signatures; other versions and
	// malformed entries are ignored, as the scheme asks.
	Signatures [][]byte
}

// ParseHeaders reads the three headers. A missing or unparsable signature
// is not an error here: it simply fails verification later (401), after the
// cheaper checks.
func ParseHeaders(id, timestamp, signature string) (Signed, error) {
	var s Signed
	switch {
	case id == "":
		return s, ErrMissingID
	case len(id) > MaxIDLength || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return s, ErrInvalidID
	case timestamp == "":
		return s, ErrMissingTimestamp
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || ts <= 0 || len(timestamp) > 12 {
		return s, ErrInvalidTimestamp
	}
	s.ID, s.Timestamp = id, ts
	for _, part := range strings.Fields(signature) {
		if len(s.Signatures) == MaxSignatures {
			break
		}
		version, sig, ok := strings.Cut(part, ",")
		if !ok || version != "v1" {
			continue
		}
		raw, err := base64.StdEncoding.Strict().DecodeString(sig)
		if err != nil || len(raw) != sha256.Size {
			continue
		}
		s.Signatures = append(s.Signatures, raw)
	}
	return s, nil
}

// CheckTimestamp refuses a timestamp more than Tolerance from now (both
// edges inclusive of exactly Tolerance).
func (s Signed) CheckTimestamp(now time.Time) error {
	d := now.Unix() - s.Timestamp
	if d > int64(Tolerance/time.Second) || d < -int64(Tolerance/time.Second) {
		return ErrTimestamp
	}
	return nil
}

// Verify reports whether any of the delivery's signatures is the HMAC of
// "id.timestamp.body" under any of keys. Every comparison is constant-time
// and every pair is compared, so timing reveals neither which key nor which
// signature matched.
func (s Signed) Verify(body []byte, keys [][]byte) error {
	ok := 0
	for _, key := range keys {
		want := mac(key, s.ID, s.Timestamp, body)
		for _, got := range s.Signatures {
			if hmac.Equal(want, got) {
				ok = 1
			}
		}
	}
	if ok == 0 {
		return ErrSignature
	}
	return nil
}

// Sign returns the webhook-signature header value of one signature, as the
// plugin computes it. Tests and the benchmark sign deliveries with it.
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, timestamp, body))
}

func mac(key []byte, id string, timestamp int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, timestamp, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
