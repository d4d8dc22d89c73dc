package webhook

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/webhooksecret"
)

type vector struct {
	Secret    string `json:"secret"`
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Vectors []vector }
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f.Vectors
}

func mustKey(t testing.TB, secret string) []byte {
	t.Helper()
	k, err := webhooksecret.Key(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The vectors were computed by OpenSSL (see testdata/vectors.json).
func TestSignaturesMatchAnIndependentImplementation(t *testing.T) {
	for _, v := range loadVectors(t) {
		key := mustKey(t, v.Secret)
		if got := Sign(key, v.ID, v.Timestamp, []byte(v.Body)); got != "v1,"+v.Signature {
			t.Errorf("Sign(%s) = %s, want v1,%s", v.ID, got, v.Signature)
		}
		s, err := ParseHeaders(v.ID, strconv.FormatInt(v.Timestamp, 10), "v1,"+v.Signature)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Verify([]byte(v.Body), [][]byte{key}); err != nil {
			t.Errorf("vector %s does not verify: %v", v.ID, err)
		}
		// One changed byte anywhere fails.
		if err := s.Verify([]byte(v.Body+" "), [][]byte{key}); !errors.Is(err, ErrSignature) {
			t.Errorf("a changed body verified")
		}
		s.Timestamp++
		if err := s.Verify([]byte(v.Body), [][]byte{key}); !errors.Is(err, ErrSignature) {
			t.Errorf("a changed timestamp verified")
		}
	}
}

func TestVerifyAcceptsAnyOfSeveralSignaturesAndKeys(t *testing.T) {
	v := loadVectors(t)[1]
	right := mustKey(t, v.Secret)
	other := mustKey(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	good := "v1," + v.Signature
	bad := Sign(other, v.ID, v.Timestamp, []byte(v.Body))
	ts := strconv.FormatInt(v.Timestamp, 10)
	tests := []struct {
		name   string
		header string
		keys   [][]byte
		ok     bool
	}{
		{"one good", good, [][]byte{right}, true},
		{"bad then good", bad + " " + good, [][]byte{right}, true},
		{"good then bad", good + " " + bad, [][]byte{right}, true},
		{"rotation: old and new keys", good, [][]byte{other, right}, true},
		{"wrong key only", good, [][]byte{other}, false},
		{"no keys", good, nil, false},
		{"only other versions", "v1a," + v.Signature + " v2," + v.Signature, [][]byte{right}, false},
		{"not base64", "v1,!!!", [][]byte{right}, false},
		{"truncated signature", "v1," + v.Signature[:20], [][]byte{right}, false},
		{"empty header", "", [][]byte{right}, false},
		{"extra spaces", "   " + good + "   ", [][]byte{right}, true},
		{"past the signature limit", strings.Repeat(bad+" ", MaxSignatures) + good, [][]byte{right}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseHeaders(v.ID, ts, tt.header)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Verify([]byte(v.Body), tt.keys)
			if (err == nil) != tt.ok {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestTimestampWindowEdges(t *testing.T) {
	now := time.Unix(1_795_860_000, 0)
	tests := []struct {
		offset time.Duration
		ok     bool
	}{
		{0, true},
		{5 * time.Minute, true},
		{-5 * time.Minute, true},
		{5*time.Minute + time.Second, false},
		{-5*time.Minute - time.Second, false},
		{-24 * time.Hour, false},
	}
	for _, tt := range tests {
		ts := now.Add(tt.offset).Unix()
		s, err := ParseHeaders("msg_1", strconv.FormatInt(ts, 10), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CheckTimestamp(now); (err == nil) != tt.ok {
			t.Errorf("timestamp %+v from now: %v, want ok=%v", tt.offset, err, tt.ok)
		}
	}
}

func TestParseHeaders(t *testing.T) {
	sig := "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
	tests := []struct {
		name, id, ts, sig string
		want              error
		sigs              int
	}{
		{"valid", "msg_1", "1795860000", sig, nil, 1},
		{"missing id", "", "1795860000", sig, ErrMissingID, 0},
		{"long id", strings.Repeat("a", MaxIDLength+1), "1795860000", sig, ErrInvalidID, 0},
		{"control character in id", "msg\n1", "1795860000", sig, ErrInvalidID, 0},
		{"missing timestamp", "msg_1", "", sig, ErrMissingTimestamp, 0},
		{"timestamp in milliseconds is not seconds", "msg_1", "1795860000000", sig, ErrInvalidTimestamp, 0},
		{"timestamp not a number", "msg_1", "yesterday", sig, ErrInvalidTimestamp, 0},
		{"negative timestamp", "msg_1", "-5", sig, ErrInvalidTimestamp, 0},
		{"two signatures", "msg_1", "1795860000", sig + " " + sig, nil, 2},
		{"signature without a version", "msg_1", "1795860000", strings.TrimPrefix(sig, "v1,"), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseHeaders(tt.id, tt.ts, tt.sig)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && len(s.Signatures) != tt.sigs {
				t.Fatalf("%d signatures, want %d", len(s.Signatures), tt.sigs)
			}
		})
	}
}

// FuzzParseAndVerify feeds arbitrary headers and bodies to the parser, the
// body decoder and the verifier: none may panic, and only a signature made
// with the key verifies.
func FuzzParseAndVerify(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.ID, strconv.FormatInt(v.Timestamp, 10), "v1,"+v.Signature, []byte(v.Body))
	}
	f.Add("msg_1", "1", "v1,, v1 ,v1,=", []byte(`{"action":"post_created","post_id":1e400}`))
	key := mustKey(f, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		_, _ = ParseDelivery(body)
		s, err := ParseHeaders(id, ts, sig)
		if err != nil {
			return
		}
		_ = s.CheckTimestamp(time.Now())
		if s.Verify(body, [][]byte{key}) == nil && !strings.Contains(sig, Sign(key, s.ID, s.Timestamp, body)[3:]) {
			t.Fatalf("verified without the key's signature: id %q ts %q sig %q", id, ts, sig)
		}
		good := Sign(key, s.ID, s.Timestamp, body)
		s2, err := ParseHeaders(id, ts, good)
		if err != nil || s2.Verify(body, [][]byte{key}) != nil {
			t.Fatalf("a correct signature did not verify: %v", err)
		}
	})
}
