package fakewp

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// Fault is a failure served instead of (or after) the site's answer to the
// next matching requests.
type Fault struct {
	// Method matches the request method ("" for any).
	Method string
	// Path matches the REST route, the part after /wp-json without a
	// trailing slash ("/wp/v2/posts" is the collection only); a trailing
	// "*" makes it a prefix ("/wp/v2/posts*" also matches every post).
	// "" matches any request.
	Path string
	// Times is how many matching requests fail (0 means 1).
	Times int
	// Status and Body are the answer (Body "" gives a small HTML error
	// page, as a proxy or PHP would serve); RetryAfter, if set, is sent as
	// the Retry-After header. ContentType defaults to application/json for
	// a body starting with { or [, else text/html.
	Status                        int
	Body, RetryAfter, ContentType string
	// After lets the site do the work first (the post is created, the
	// counters move, OnCreated hooks run), then serves the failure: the
	// client cannot tell whether WordPress acted.
	After bool
	// Drop closes the connection without an answer (Status and Body are
	// not used). Note that Go's transport silently retries a GET whose
	// reused connection was dropped before any answer.
	Drop bool
	// Truncate serves the site's real status and headers with only the
	// first half of its body (the work is done, as with After).
	Truncate bool
}

func (f *Fault) matches(method, route string) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, method) {
		return false
	}
	switch {
	case f.Path == "":
		return true
	case strings.HasSuffix(f.Path, "*"):
		return strings.HasPrefix(route, strings.TrimSuffix(f.Path, "*"))
	}
	return route == strings.TrimSuffix(f.Path, "/")
}

// SetLatency makes the site answer each request d after it arrived, its
// own work included (0 to stop), as a host whose response time is d would;
// a request whose client gives up stops waiting. With hooks or faults
// pending, the site waits d and then does the work.
func (s *Site) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// FailNext answers the next n requests, whatever they are, with status,
// the Retry-After header retryAfter (if not ""), and body (a small HTML
// error page if ""), without doing the work.
func (s *Site) FailNext(n, status int, retryAfter, body string) {
	s.AddFault(Fault{Times: n, Status: status, RetryAfter: retryAfter, Body: body})
}

// AddFault queues a fault. Faults are matched in the order added; a
// request consumes at most one.
func (s *Site) AddFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// FailAfterCreate makes the next POST to the collection of typ ("post",
// "page", "product", "media", "category"…; REST bases work too) do its work
// and then drop the connection without an answer: the post exists, the
// client sees a failure, as when WordPress answered 201 but the worker died
// before recording it. For a 502 instead, use AddFault with After and
// Status 502.
func (s *Site) FailAfterCreate(typ string) {
	base := typ
	if t, ok := lookupType(typ); ok {
		base = t.base
	} else if t, ok := lookupTaxonomy(typ); ok {
		base = t.base
	}
	s.AddFault(Fault{Method: http.MethodPost, Path: "/wp/v2/" + base, After: true, Drop: true})
}

// PendingFaults is the number of fault uses left.
func (s *Site) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.Times
	}
	return n
}

// ClearFaults drops the queued faults and the Inject hooks.
func (s *Site) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults, s.hooks = nil, nil
}

// Inject adds a hook that sees every request first; when it returns true
// it has answered, and the site does nothing more. It runs after the
// request is counted and after SetLatency's wait.
func (s *Site) Inject(hook func(w http.ResponseWriter, r *http.Request) (handled bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hooks = append(s.hooks, hook)
}

// OnCreated adds a hook called after each successful REST create of a
// post, page or product, before the 201 answer is written (so a hook that
// blocks or cancels the client's context models a worker dying mid-call).
func (s *Site) OnCreated(hook func(typ string, p Post)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCreated = append(s.onCreated, hook)
}

// takeFault consumes and returns the first fault matching r, if any.
func (s *Site) takeFault(r *http.Request) *Fault {
	_, route, _ := restRoute(r.URL.Path)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !f.matches(r.Method, route) {
			continue
		}
		f.Times--
		c := *f
		if f.Times <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		return &c
	}
	return nil
}

func (s *Site) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	if f.After || f.Truncate {
		rec := httptest.NewRecorder()
		s.handle(rec, r)
		if f.Truncate {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			body := rec.Body.Bytes()
			_, _ = w.Write(body[:len(body)/2])
			return
		}
	}
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // no hijacking (HTTP/2): abort the stream
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	body, ct := f.Body, f.ContentType
	if body == "" {
		text := http.StatusText(status)
		body = fmt.Sprintf("<html><head><title>%d %s</title></head><body><h1>%s</h1></body></html>", status, text, text)
	}
	if ct == "" {
		ct = "text/html; charset=UTF-8"
		if t := strings.TrimSpace(body); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			ct = "application/json; charset=UTF-8"
		}
	}
	w.Header().Set("Content-Type", ct)
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	w.WriteHeader(status)
	_, _ = fmt.Fprint(w, body)
}
