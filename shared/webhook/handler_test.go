package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/metrics"
	"github.com/igny8/integrations/shared/secrets"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/testutil"
	"github.com/igny8/integrations/shared/webhook"
	"github.com/igny8/integrations/shared/webhooksecret"
)

// receiverEnv is the receiver on the embedded emulator: real table,
// secrets and queue.
type receiverEnv struct {
	t       *testing.T
	h       webhook.Handler
	st      *store.Store
	sqs     *sqs.Client
	queue   string
	secrets *webhooksecret.Store
	ddb     *testutil.RequestCounter
	sm      *testutil.RequestCounter
	in      store.Integration
	secret  string
	now     time.Time
}

const siteURL = "https://blog.example.com"

func newReceiverEnv(t *testing.T, rate store.RateWindow) *receiverEnv {
	t.Helper()
	ctx := context.Background()
	clients, counter := testutil.MustCountingClients(t)
	st := store.New(clients.DynamoDB, testutil.MustCreateTable(t, clients.DynamoDB))
	queue := testutil.MustCreateQueue(t, clients.SQS)
	sec := webhooksecret.New(secrets.New(clients.SecretsManager, testutil.UniqueName(t, "igny8-test")+"/", time.Minute), nil)
	id := st.NewID()
	in, err := st.CreateIntegration(ctx, store.Integration{AccountID: "acct", ID: id, SiteID: "blog", Platform: "wordpress",
		ExternalSiteURL: siteURL, IsActive: true, SyncEnabled: true, WebhookSecretName: webhooksecret.SecretName(id)})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := sec.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	e := &receiverEnv{t: t, st: st, sqs: clients.SQS, queue: queue, secrets: sec, ddb: counter, sm: counter, in: in, secret: secret, now: time.Now()}
	e.h = webhook.NewHandler(webhook.Deps{
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Integrations: st, Keys: sec, Guard: st,
		Jobs: jobs.NewSender(clients.SQS, queue), Rate: rate, Now: func() time.Time { return e.now },
		IntegrationCacheTTL: webhook.DefaultIntegrationCacheTTL,
	})
	return e
}

func (e *receiverEnv) body(mutate func(map[string]any)) string {
	d := map[string]any{"action": "post_updated", "post_id": 42, "post_type": "post", "rest_base": "posts",
		"site_url": siteURL + "/", "integration_id": e.in.ID, "status": "publish", "modified_gmt": "2026-11-28T10:00:00",
		"delivery": map[string]any{"attempt": 1, "coalesced": 1, "plugin_version": "1.0.0", "sent_at": e.now.Unix()}}
	if mutate != nil {
		mutate(d)
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// signed is a delivery signed with secret at ts.
func (e *receiverEnv) signed(id, body, secret string, ts time.Time) events.LambdaFunctionURLRequest {
	key, err := webhooksecret.Key(secret)
	if err != nil {
		e.t.Fatal(err)
	}
	req := events.LambdaFunctionURLRequest{RawPath: webhook.Path, Body: body, Headers: map[string]string{
		"content-type":      "application/json",
		"webhook-id":        id,
		"webhook-timestamp": strconv.FormatInt(ts.Unix(), 10),
		"webhook-signature": webhook.Sign(key, id, ts.Unix(), []byte(body)),
	}}
	req.RequestContext.HTTP.Method = "POST"
	return req
}

func (e *receiverEnv) send(req events.LambdaFunctionURLRequest) (int, map[string]any, map[string]string) {
	e.t.Helper()
	resp, err := e.h(context.Background(), req)
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		e.t.Fatalf("answer is not JSON: %q", resp.Body)
	}
	return resp.StatusCode, m, resp.Headers
}

// jobs drains the queue and returns the jobs on it.
func (e *receiverEnv) jobs() []jobs.Envelope {
	e.t.Helper()
	var out []jobs.Envelope
	for {
		res, err := e.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.queue), MaxNumberOfMessages: 10, VisibilityTimeout: 60})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(res.Messages) == 0 {
			return out
		}
		for _, m := range res.Messages {
			env, err := jobs.Decode(aws.ToString(m.Body))
			if err != nil {
				e.t.Fatal(err)
			}
			out = append(out, env)
		}
	}
}

func TestAValidDeliveryEnqueuesExactlyOneJob(t *testing.T) {
	e := newReceiverEnv(t, store.RateWindow{Limit: 20, Length: 2 * time.Second})
	status, body, _ := e.send(e.signed("msg_ok", e.body(nil), e.secret, e.now))
	if status != 202 || body["delivery_id"] != "msg_ok" || body["status"] != "accepted" {
		t.Fatalf("valid delivery: %d %v", status, body)
	}
	got := e.jobs()
	if len(got) != 1 || got[0].Type != jobs.TypeWebhookPull || got[0].IntegrationID != e.in.ID || got[0].AccountID != "acct" {
		t.Fatalf("jobs = %+v, want one pull job for the integration", got)
	}
	var p jobs.WebhookPayload
	if err := json.Unmarshal(got[0].Payload, &p); err != nil || p.PostID != 42 || p.RESTBase != "posts" || p.DeliveryID != "msg_ok" {
		t.Fatalf("payload = %+v %v", p, err)
	}

	// The replay: 200 duplicate, nothing enqueued.
	status, body, _ = e.send(e.signed("msg_ok", e.body(nil), e.secret, e.now.Add(time.Second)))
	if status != 200 || body["duplicate"] != true {
		t.Fatalf("replay: %d %v, want 200 duplicate", status, body)
	}
	if n := len(e.jobs()); n != 0 {
		t.Fatalf("a replay enqueued %d jobs", n)
	}

	// A delete delivery enqueues a delete job.
	status, _, _ = e.send(e.signed("msg_del", e.body(func(d map[string]any) { d["action"] = "post_deleted"; d["status"] = "" }), e.secret, e.now))
	if got := e.jobs(); status != 202 || len(got) != 1 || got[0].Type != jobs.TypeWebhookDelete {
		t.Fatalf("delete delivery: %d %+v", status, got)
	}
}

func TestEveryRejectionHasItsOwnStatusAndEnqueuesNothing(t *testing.T) {
	e := newReceiverEnv(t, store.RateWindow{Limit: 20, Length: 2 * time.Second})
	other, _ := webhooksecret.Generate()
	valid := e.body(nil)
	tests := []struct {
		name   string
		req    func() events.LambdaFunctionURLRequest
		status int
		code   string
		field  string
	}{
		{"wrong method", func() events.LambdaFunctionURLRequest {
			r := e.signed("msg_a", valid, e.secret, e.now)
			r.RequestContext.HTTP.Method = "GET"
			return r
		}, 405, "method_not_allowed", ""},
		{"wrong path", func() events.LambdaFunctionURLRequest {
			r := e.signed("msg_b", valid, e.secret, e.now)
			r.RawPath = "/elsewhere"
			return r
		}, 404, "route_not_found", ""},
		{"wrong content type", func() events.LambdaFunctionURLRequest {
			r := e.signed("msg_c", valid, e.secret, e.now)
			r.Headers["content-type"] = "application/x-www-form-urlencoded"
			return r
		}, 415, "unsupported_media_type", "Content-Type"},
		{"oversized body", func() events.LambdaFunctionURLRequest {
			return e.signed("msg_d", e.body(func(d map[string]any) { d["pad"] = strings.Repeat("x", webhook.MaxBodyBytes) }), e.secret, e.now)
		}, 413, "payload_too_large", ""},
		{"malformed JSON", func() events.LambdaFunctionURLRequest { return e.signed("msg_e", `{"action":`, e.secret, e.now) }, 400, "malformed_json", ""},
		{"wrong JSON type", func() events.LambdaFunctionURLRequest {
			return e.signed("msg_f", e.body(func(d map[string]any) { d["post_id"] = "42" }), e.secret, e.now)
		}, 400, "invalid", "post_id"},
		{"unknown action", func() events.LambdaFunctionURLRequest {
			return e.signed("msg_g", e.body(func(d map[string]any) { d["action"] = "post_exploded" }), e.secret, e.now)
		}, 400, "invalid", "action"},
		{"missing webhook-id", func() events.LambdaFunctionURLRequest {
			r := e.signed("msg_h", valid, e.secret, e.now)
			delete(r.Headers, "webhook-id")
			return r
		}, 400, "invalid", "webhook-id"},
		{"stale timestamp", func() events.LambdaFunctionURLRequest {
			return e.signed("msg_i", valid, e.secret, e.now.Add(-6*time.Minute))
		}, 401, "unauthorized", ""},
		{"unknown integration", func() events.LambdaFunctionURLRequest {
			return e.signed("msg_j", e.body(func(d map[string]any) { d["integration_id"] = "no-such-integration" }), e.secret, e.now)
		}, 401, "unauthorized", ""},
		{"wrong secret", func() events.LambdaFunctionURLRequest { return e.signed("msg_k", valid, other, e.now) }, 401, "unauthorized", ""},
		{"forged signature", func() events.LambdaFunctionURLRequest {
			r := e.signed("msg_l", valid, e.secret, e.now)
			r.Body = strings.Replace(valid, `"post_id":42`, `"post_id":43`, 1)
			return r
		}, 401, "unauthorized", ""},
		{"no signature", func() events.LambdaFunctionURLRequest {
			r := e.signed("msg_m", valid, e.secret, e.now)
			delete(r.Headers, "webhook-signature")
			return r
		}, 401, "unauthorized", ""},
		{"site_url mismatch", func() events.LambdaFunctionURLRequest {
			return e.signed("msg_n", e.body(func(d map[string]any) { d["site_url"] = "https://evil.example.com" }), e.secret, e.now)
		}, 403, "site_url_mismatch", "site_url"},
	}
	var unknownDetail, badSigDetail any
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, headers := e.send(tt.req())
			if status != tt.status || body["code"] != tt.code || (tt.field != "" && body["field"] != tt.field) {
				t.Fatalf("%d %v, want %d %s field %q", status, body, tt.status, tt.code, tt.field)
			}
			if headers["Content-Type"] != "application/problem+json" {
				t.Fatalf("Content-Type = %q", headers["Content-Type"])
			}
			switch tt.name {
			case "unknown integration":
				unknownDetail = body["detail"]
			case "wrong secret":
				badSigDetail = body["detail"]
			}
		})
	}
	if unknownDetail == nil || unknownDetail != badSigDetail {
		t.Errorf("an unknown integration answers %q, a bad signature %q: they must be the same", unknownDetail, badSigDetail)
	}
	if n := len(e.jobs()); n != 0 {
		t.Fatalf("rejected deliveries enqueued %d jobs", n)
	}

	// Inactive: 403 after the signature is proven (once the receiver's
	// cached copy of the integration has expired).
	e.in.IsActive = false
	if _, err := e.st.UpdateIntegration(context.Background(), e.in); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(webhook.DefaultIntegrationCacheTTL)
	if status, body, _ := e.send(e.signed("msg_o", valid, e.secret, e.now)); status != 403 || body["code"] != "integration_inactive" {
		t.Fatalf("inactive: %d %v", status, body)
	}
	if n := len(e.jobs()); n != 0 {
		t.Fatalf("an inactive integration's delivery enqueued %d jobs", n)
	}
}

func TestNothingIsWrittenBeforeTheSignatureIsProven(t *testing.T) {
	e := newReceiverEnv(t, store.RateWindow{Limit: 20, Length: 2 * time.Second})
	other, _ := webhooksecret.Generate()
	e.ddb.Reset()
	for i := range 5 {
		e.send(e.signed("msg_forged_"+strconv.Itoa(i), e.body(nil), other, e.now))
	}
	writes := e.ddb.Count("PutItem") + e.ddb.Count("UpdateItem") + e.ddb.Count("DeleteItem") + e.ddb.Count("TransactWriteItems")
	if writes != 0 {
		t.Fatalf("forged deliveries made %d writes: %v", writes, e.ddb.Snapshot())
	}
	// One lookup each (two GetItems: the ID lookup item and the
	// integration; a failed signature always re-reads the integration);
	// the secret is read once and then cached.
	if reads, gets := e.ddb.Count("GetItem"), e.ddb.Count("GetSecretValue"); reads != 10 || gets > 1 || e.ddb.Count("Query") != 0 {
		t.Fatalf("5 forged deliveries: %d item reads, %d secret reads: %v", reads, gets, e.ddb.Snapshot())
	}
}

func TestAWarmReceiverCostsTwoWritesAndOneSendPerDelivery(t *testing.T) {
	e := newReceiverEnv(t, store.RateWindow{Limit: 20, Length: 2 * time.Second})
	e.send(e.signed("msg_warm", e.body(nil), e.secret, e.now))
	e.ddb.Reset()
	for i := range 5 {
		if status, body, _ := e.send(e.signed("msg_c"+strconv.Itoa(i), e.body(nil), e.secret, e.now)); status != 202 {
			t.Fatalf("%d %v", status, body)
		}
	}
	got := e.ddb.Snapshot()
	if got["Query"] != 0 || got["GetItem"] != 0 || got["GetSecretValue"] != 0 || got["UpdateItem"] != 5 || got["PutItem"] != 5 || got["SendMessageBatch"] != 5 || e.ddb.Total() != 15 {
		t.Fatalf("5 deliveries to a warm receiver made %v; want 5 rate updates, 5 de-duplication puts and 5 sends only", got)
	}
}

func TestEachDeliveryEmitsItsOutcome(t *testing.T) {
	e := newReceiverEnv(t, store.RateWindow{Limit: 20, Length: 2 * time.Second})
	var buf bytes.Buffer
	h := webhook.NewHandler(webhook.Deps{Integrations: e.st, Keys: e.secrets, Guard: e.st, Jobs: jobs.NewSender(e.sqs, e.queue),
		Rate: store.RateWindow{Limit: 20, Length: 2 * time.Second}, Now: func() time.Time { return e.now },
		Metrics: metrics.New(&buf, "Test"), Stage: "test"})
	other, _ := webhooksecret.Generate()
	for _, req := range []events.LambdaFunctionURLRequest{
		e.signed("msg_m1", e.body(nil), e.secret, e.now),
		e.signed("msg_m1", e.body(nil), e.secret, e.now),
		e.signed("msg_m2", e.body(nil), other, e.now),
	} {
		if _, err := h(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	var outcomes []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil || m["Deliveries"] != 1.0 || m["Stage"] != "test" {
			t.Fatalf("EMF line %q", line)
		}
		outcomes = append(outcomes, m["Outcome"].(string))
	}
	if strings.Join(outcomes, ",") != "accepted,duplicate,unauthorized" {
		t.Fatalf("outcomes %v", outcomes)
	}
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	e := newReceiverEnv(t, store.RateWindow{Limit: 3, Length: 10 * time.Second})
	for i := range 3 {
		if status, body, _ := e.send(e.signed("msg_r"+strconv.Itoa(i), e.body(nil), e.secret, e.now)); status != 202 {
			t.Fatalf("delivery %d within the limit: %d %v", i, status, body)
		}
	}
	status, body, headers := e.send(e.signed("msg_r3", e.body(nil), e.secret, e.now))
	if status != 429 || body["code"] != "rate_limited" {
		t.Fatalf("over the limit: %d %v", status, body)
	}
	if s, err := strconv.Atoi(headers["Retry-After"]); err != nil || s < 1 || s > 10 {
		t.Fatalf("Retry-After = %q, want 1..10 seconds", headers["Retry-After"])
	}
	if n := len(e.jobs()); n != 3 {
		t.Fatalf("%d jobs, want the 3 accepted", n)
	}
	// The refused delivery is not remembered as seen: its retry in the
	// next window is accepted.
	e.now = e.now.Add(10 * time.Second)
	if status, _, _ := e.send(e.signed("msg_r3", e.body(nil), e.secret, e.now)); status != 202 {
		t.Fatalf("the retry after Retry-After: %d", status)
	}
}

func TestRotationAcceptsOldAndNewSecretsDuringTheGrace(t *testing.T) {
	e := newReceiverEnv(t, store.RateWindow{Limit: 20, Length: 2 * time.Second})
	ctx := context.Background()
	old := e.secret
	// Warm the cache with the old secret.
	if status, _, _ := e.send(e.signed("msg_w", e.body(nil), old, e.now)); status != 202 {
		t.Fatal("warm-up delivery refused")
	}
	fresh, until, err := e.secrets.Rotate(ctx, e.in, time.Hour)
	if err != nil || until == nil {
		t.Fatal(err)
	}
	// Rotation saves the integration (a new version): no warm cache can
	// lock out the new secret.
	if _, err := e.st.UpdateIntegration(ctx, e.in); err != nil {
		t.Fatal(err)
	}
	for i, s := range []string{fresh, old} {
		if status, body, _ := e.send(e.signed("msg_rot"+strconv.Itoa(i), e.body(nil), s, e.now)); status != 202 {
			t.Fatalf("secret %d during the grace period: %d %v", i, status, body)
		}
	}
	e.now = until.Add(time.Second)
	if status, _, _ := e.send(e.signed("msg_late_old", e.body(nil), old, e.now)); status != 401 {
		t.Fatalf("the old secret after the grace period: %d, want 401", status)
	}
	if status, _, _ := e.send(e.signed("msg_late_new", e.body(nil), fresh, e.now)); status != 202 {
		t.Fatalf("the new secret after the grace period: %d, want 202", status)
	}
}
