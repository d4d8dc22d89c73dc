package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/igny8/integrations/infra/local"
)

// stack is the local stack with invocations tallied per function.
type stack struct {
	*local.Stack
	mu    sync.Mutex
	count map[string]int
	dur   map[string]time.Duration
}

func startStack(ctx context.Context, o options) (*stack, error) {
	s := &stack{count: map[string]int{}, dur: map[string]time.Duration{}}
	id := time.Now().UnixNano() % 1e9
	st, err := local.Start(ctx, local.Options{
		APIAddr: "127.0.0.1:0", WebhookAddr: "127.0.0.1:0", SigningKeyPath: "-",
		NamePrefix: fmt.Sprintf("bench%d-", id), SecretPrefix: fmt.Sprintf("igny8/bench/%d/", id),
		Logger: discard, AppLogger: discard,
		WorkerConcurrency: o.workers,
		Env:               map[string]string{"SITE_CONCURRENCY": strconv.Itoa(o.siteConc)},
		Observe: func(inv local.Invocation) {
			s.mu.Lock()
			s.count[inv.Function]++
			s.dur[inv.Function] += inv.Duration
			s.mu.Unlock()
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start local stack: %w", err)
	}
	s.Stack = st
	return s, nil
}

type invocations struct {
	Count    map[string]int
	Duration map[string]time.Duration
}

func (s *stack) takeInvocations() invocations {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := invocations{Count: s.count, Duration: s.dur}
	s.count, s.dur = map[string]int{}, map[string]time.Duration{}
	return out
}

// api is one account's caller of the stack's HTTP API.
type api struct {
	base, token string
}

func (s *stack) account(name string) (*api, error) {
	tok, err := s.Token(fmt.Sprintf("%s-%d", name, time.Now().UnixNano()), false, time.Hour)
	if err != nil {
		return nil, err
	}
	return &api{base: s.APIURL, token: tok}, nil
}

func (a *api) do(ctx context.Context, method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, nil
}

// createIntegration connects a WordPress site through the API.
func (a *api) createIntegration(ctx context.Context, url, user, password string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	_, err := a.do(ctx, "POST", "/api/v1/integration/", map[string]any{
		"site_id": "blog", "platform": "wordpress", "external_site_url": url,
		"credentials": map[string]string{"username": user, "application_password": password},
	}, &out)
	if err == nil && out.ID == "" {
		err = fmt.Errorf("create integration: no id in the answer")
	}
	return out.ID, err
}

// runView is the run sync_status shows.
type runView struct {
	ID             string `json:"id"`
	Status         string `json:"status"`
	ItemsCreated   int    `json:"items_created"`
	ItemsUpdated   int    `json:"items_updated"`
	ItemsUnchanged int    `json:"items_unchanged"`
	ItemsFailed    int    `json:"items_failed"`
	PagesTotal     int    `json:"pages_total"`
	PagesDone      int    `json:"pages_done"`
}

// syncAndWait starts a full sync and polls sync_status every 20 ms until
// the run ends; it returns the run and the wall time from the request to
// the first status that shows it ended.
func (a *api) syncAndWait(ctx context.Context, id, prevRun string) (runView, time.Duration, error) {
	start := time.Now()
	if _, err := a.do(ctx, "POST", "/api/v1/integration/"+id+"/sync/", map[string]any{"mode": "full"}, nil); err != nil {
		return runView{}, 0, err
	}
	for ctx.Err() == nil {
		var st struct {
			Status string  `json:"status"`
			Run    runView `json:"run"`
		}
		if _, err := a.do(ctx, "GET", "/api/v1/integration/"+id+"/sync_status/", nil, &st); err != nil {
			return runView{}, 0, err
		}
		if st.Status != "syncing" && st.Run.ID != prevRun && st.Run.Status != "" && st.Run.Status != "queued" && st.Run.Status != "running" {
			wall := time.Since(start)
			if st.Run.Status != "succeeded" {
				return st.Run, wall, fmt.Errorf("run ended %s: %+v", st.Run.Status, st.Run)
			}
			return st.Run, wall, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return runView{}, 0, ctx.Err()
}
