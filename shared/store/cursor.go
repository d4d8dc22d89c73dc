package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A cursor is base64url( JSON payload || HMAC-SHA256(payload)[:16] ). The
// payload names the listing it belongs to (entity, index, partition, sort
// prefix) and the key of the last item returned. On the way back in, the MAC
// must verify, the scope must equal the listing being asked for, and the key
// must have exactly that index's attributes with the partition value and sort
// prefix of the listing. A cursor from another account, another filter or
// another index, or an edited one, is ErrInvalidCursor; it can never start a
// read outside the caller's partition.

const (
	cursorVersion = 1
	cursorMACLen  = 16
	// maxCursorLen bounds what we try to decode (keys are at most ~3 KB).
	maxCursorLen = 8192
)

type cursorPayload struct {
	V     int               `json:"v"`
	Scope string            `json:"s"`
	Key   map[string]string `json:"k"`
}

func cursorScope(q listQuery) string {
	return strings.Join([]string{q.entity, q.index, q.pk, q.skPrefix}, "\x00")
}

func (s *Store) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.cursorKey)
	m.Write(payload)
	return m.Sum(nil)[:cursorMACLen]
}

func (s *Store) encodeCursor(q listQuery, attrs []string, item map[string]types.AttributeValue) (string, error) {
	key := make(map[string]string, len(attrs))
	for _, a := range attrs {
		v, ok := item[a].(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("encode %s cursor: key attribute %s missing or not a string", q.entity, a)
		}
		key[a] = v.Value
	}
	payload, err := json.Marshal(cursorPayload{V: cursorVersion, Scope: cursorScope(q), Key: key})
	if err != nil {
		return "", fmt.Errorf("encode %s cursor: %w", q.entity, err)
	}
	return base64.RawURLEncoding.EncodeToString(append(payload, s.mac(payload)...)), nil
}

func (s *Store) decodeCursor(c string, q listQuery, attrs []string) (map[string]types.AttributeValue, error) {
	bad := func(why string) error { return fmt.Errorf("%s cursor: %s: %w", q.entity, why, ErrInvalidCursor) }
	if len(c) > maxCursorLen {
		return nil, bad("too long")
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) <= cursorMACLen {
		return nil, bad("not a cursor")
	}
	payload, sum := raw[:len(raw)-cursorMACLen], raw[len(raw)-cursorMACLen:]
	if !hmac.Equal(sum, s.mac(payload)) {
		return nil, bad("signature mismatch")
	}
	var p cursorPayload
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, bad("malformed")
	}
	if p.V != cursorVersion {
		return nil, bad("unknown version")
	}
	if p.Scope != cursorScope(q) {
		return nil, bad("belongs to another listing")
	}
	if len(p.Key) != len(attrs) {
		return nil, bad("wrong key shape")
	}
	if p.Key[attrs[0]] != q.pk {
		return nil, bad("wrong partition")
	}
	if !strings.HasPrefix(p.Key[attrs[1]], q.skPrefix) {
		return nil, bad("outside the listing")
	}
	start := make(map[string]types.AttributeValue, len(attrs))
	for _, a := range attrs {
		v, ok := p.Key[a]
		if !ok || v == "" {
			return nil, bad("wrong key shape")
		}
		start[a] = &types.AttributeValueMemberS{Value: v}
	}
	return start, nil
}
