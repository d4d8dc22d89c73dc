package apperr

import (
	"encoding/json"
	"net/http"
)

// ContentType is the media type of problem documents (RFC 9457).
const ContentType = "application/problem+json"

// Problem is the RFC 9457 problem document, with our stable code and the
// field at fault as extension members.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Code     Code   `json:"code"`
	Field    string `json:"field,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Extra members from Error.Details, flattened into the document.
	Extra map[string]any `json:"-"`
}

// MarshalJSON flattens Extra into the document without letting it overwrite
// the standard members.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	base, err := json.Marshal(plain(p))
	if err != nil || len(p.Extra) == 0 {
		return base, err
	}
	m := map[string]any{}
	for k, v := range p.Extra {
		m[k] = v
	}
	if err := json.Unmarshal(base, &m); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// ToProblem renders err for a caller. Internal errors never reveal their
// cause: the caller sees "Internal error" and the request ID in the logs
// connects the two.
func ToProblem(err error, instance string) Problem {
	ae := As(err)
	p := Problem{
		Type:     "https://docs.igny8.dev/problems/" + string(ae.Code),
		Title:    http.StatusText(ae.Status()),
		Status:   ae.Status(),
		Detail:   ae.Message,
		Code:     ae.Code,
		Field:    ae.Field,
		Instance: instance,
		Extra:    ae.Details,
	}
	if ae.Code == Internal {
		p.Detail = "Internal error"
		p.Extra = nil
	}
	return p
}

// Write sends err as a problem+json response.
func Write(w http.ResponseWriter, err error, instance string) {
	p := ToProblem(err, instance)
	body, _ := json.Marshal(p)
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}
