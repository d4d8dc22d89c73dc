package local

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/igny8/integrations/shared/jobs"
)

func job(t *testing.T, typ jobs.Type, key string) string {
	t.Helper()
	body, err := jobs.Encode(jobs.Envelope{Type: typ, IdempotencyKey: key, EnqueuedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func send(t *testing.T, st *Stack, body string) string {
	t.Helper()
	out, err := st.Clients.SQS.SendMessage(context.Background(), &sqs.SendMessageInput{
		QueueUrl: aws.String(st.Config.SyncQueueURL), MessageBody: aws.String(body),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{"origin": {DataType: aws.String("String"), StringValue: aws.String("test")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.MessageId)
}

// records returns every SQS record delivered for messageID, in order.
func records(invs []Invocation, messageID string) []events.SQSMessage {
	var out []events.SQSMessage
	for _, inv := range functionInvocations(invs, "SyncWorkerFunction") {
		for _, r := range inv.Event.(events.SQSEvent).Records {
			if r.MessageId == messageID {
				out = append(out, r)
			}
		}
	}
	return out
}

func deleted(invs []Invocation, messageID string) bool {
	for _, inv := range invs {
		for _, id := range inv.DeletedMessageIDs {
			if id == messageID {
				return true
			}
		}
	}
	return false
}

func queueDepth(t *testing.T, st *Stack, url string) (visible, inFlight string) {
	t.Helper()
	out, err := st.Clients.SQS.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes["ApproximateNumberOfMessages"], out.Attributes["ApproximateNumberOfMessagesNotVisible"]
}

func TestQueuedMessageReachesWorkerAndIsDeleted(t *testing.T) {
	t.Parallel()
	st, rec := startStack(t, Options{BatchingWindow: -1})
	id := send(t, st, job(t, jobs.TypeNoop, "noop-1"))
	invs := rec.waitFor(t, 10*time.Second, "the worker to process and delete the message", func(i []Invocation) bool { return deleted(i, id) })
	rs := records(invs, id)
	if len(rs) != 1 {
		t.Fatalf("message delivered %d times, want 1", len(rs))
	}
	r := rs[0]
	q := st.Queues["SyncQueue"]
	if r.EventSource != "aws:sqs" || r.EventSourceARN != q.ARN || r.AWSRegion != LocalRegion || r.ReceiptHandle == "" || r.Md5OfBody == "" ||
		r.Attributes["ApproximateReceiveCount"] != "1" || r.Attributes["SentTimestamp"] == "" || r.Attributes["SenderId"] == "" ||
		aws.ToString(r.MessageAttributes["origin"].StringValue) != "test" || r.MessageAttributes["origin"].DataType != "String" {
		t.Errorf("record = %+v", r)
	}
	if v, f := queueDepth(t, st, q.URL); v != "0" || f != "0" {
		t.Errorf("queue still holds %s visible and %s in-flight messages", v, f)
	}
}

func TestPartialBatchFailureRedeliversOnlyTheFailedMessage(t *testing.T) {
	t.Parallel()
	st, rec := startStack(t, Options{HoldEventSources: true, BatchingWindow: -1,
		QueueOverrides: map[string]QueueOverride{"SyncQueue": {VisibilityTimeout: time.Second}},
		// Retry at once: these tests are about redelivery, not backoff.
		Env: map[string]string{"SYNC_RETRY_BASE_DELAY": "0s"}})
	ok1 := send(t, st, job(t, jobs.TypeNoop, "ok-1"))
	bad := send(t, st, job(t, jobs.TypeFail, "bad-1"))
	ok2 := send(t, st, job(t, jobs.TypeNoop, "ok-2"))
	st.StartEventSources() // all three are visible: one receive takes them in one batch

	invs := rec.waitFor(t, 20*time.Second, "the failed message's redelivery", func(i []Invocation) bool { return len(records(i, bad)) >= 2 })
	first := functionInvocations(invs, "SyncWorkerFunction")[0]
	if n := len(first.Event.(events.SQSEvent).Records); n != 3 {
		t.Fatalf("first batch had %d records, want 3", n)
	}
	resp := first.Response.(events.SQSEventResponse)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != bad {
		t.Errorf("batchItemFailures = %+v, want only %s", resp.BatchItemFailures, bad)
	}
	if !deleted(invs, ok1) || !deleted(invs, ok2) || deleted(invs, bad) {
		t.Errorf("after the first batch: deleted %v, want %s and %s only", first.DeletedMessageIDs, ok1, ok2)
	}
	for _, id := range []string{ok1, ok2} {
		if n := len(records(invs, id)); n != 1 {
			t.Errorf("successful message %s delivered %d times, want 1", id, n)
		}
	}
	if rc := records(invs, bad)[1].Attributes["ApproximateReceiveCount"]; rc != "2" {
		t.Errorf("redelivered ApproximateReceiveCount = %s, want 2", rc)
	}
}

func TestAlwaysFailingMessageLandsInDeadLetterQueue(t *testing.T) {
	t.Parallel()
	st, rec := startStack(t, Options{BatchingWindow: -1,
		QueueOverrides: map[string]QueueOverride{"SyncQueue": {VisibilityTimeout: time.Second}},
		// Retry at once: these tests are about redelivery, not backoff.
		Env: map[string]string{"SYNC_RETRY_BASE_DELAY": "0s"}})
	q := st.Queues["SyncQueue"]
	if q.MaxReceiveCount < 1 || q.DeadLetterQueue == "" {
		t.Fatalf("SyncQueue has no redrive policy: %+v", q)
	}
	id := send(t, st, job(t, jobs.TypeFail, "always-fails"))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var dlqMsg *sqstypes.Message
	for dlqMsg == nil {
		out, err := st.Clients.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(st.Config.SyncDLQURL),
			WaitTimeSeconds: 1, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			invs, _ := rec.snapshot()
			t.Fatalf("waiting for the dead-letter queue: %v; worker saw the message %d times", err, len(records(invs, id)))
		}
		for i := range out.Messages {
			if aws.ToString(out.Messages[i].MessageId) == id {
				dlqMsg = &out.Messages[i]
			}
		}
	}
	invs, _ := rec.snapshot()
	rs := records(invs, id)
	if len(rs) != q.MaxReceiveCount {
		t.Fatalf("worker received the message %d times before redrive, want maxReceiveCount = %d", len(rs), q.MaxReceiveCount)
	}
	for i, r := range rs {
		if want := fmt.Sprint(i + 1); r.Attributes["ApproximateReceiveCount"] != want {
			t.Errorf("delivery %d: ApproximateReceiveCount = %s, want %s", i+1, r.Attributes["ApproximateReceiveCount"], want)
		}
	}
	if deleted(invs, id) {
		t.Error("a failing message must never be deleted")
	}
	if !strings.Contains(aws.ToString(dlqMsg.Body), "always-fails") {
		t.Errorf("dead-letter body = %s", aws.ToString(dlqMsg.Body))
	}
}

func TestPublisherReceivesScheduledEvent(t *testing.T) {
	t.Parallel()
	before := time.Now().Add(-time.Second)
	_, rec := startStack(t, Options{PublishEvery: 20 * time.Millisecond})
	invs := rec.waitFor(t, 5*time.Second, "a publisher tick", func(i []Invocation) bool { return len(functionInvocations(i, "PublisherFunction")) > 0 })
	inv := functionInvocations(invs, "PublisherFunction")[0]
	if inv.Err != nil {
		t.Fatalf("publisher failed: %v", inv.Err)
	}
	ev := inv.Event.(events.EventBridgeEvent)
	if ev.Time.Before(before.Truncate(time.Second)) || ev.Time.After(time.Now()) {
		t.Errorf("scheduled time %s is not now", ev.Time)
	}
	if ev.DetailType != "Scheduled Event" || ev.AccountID != LocalAccountID || ev.Region != LocalRegion || len(ev.ID) != 36 ||
		len(ev.Resources) != 1 || !strings.HasPrefix(ev.Resources[0], "arn:aws:scheduler:") {
		t.Errorf("event = %+v", ev)
	}
}

func TestScheduleParsingAndInput(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 3, 1, 10, 7, 30, 0, time.UTC)
	for _, c := range []struct {
		expr string
		want time.Time
		warn bool
	}{
		{"rate(5 minutes)", base.Add(5 * time.Minute), false},
		{"rate(1 hour)", base.Add(time.Hour), false},
		{"rate(2 days)", base.Add(48 * time.Hour), false},
		{"cron(0/15 * * * ? *)", time.Date(2026, 3, 1, 10, 15, 0, 0, time.UTC), false},
		{"cron(30 9-17 ? * MON-FRI *)", time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC), true},
		{"cron(0 3 * * ? *)", time.Date(2026, 3, 2, 3, 0, 0, 0, time.UTC), false},
		{"at(2026-03-01T12:00:00)", base.Add(time.Minute), true},
	} {
		s, warn := ParseSchedule(c.expr, "")
		if got := s.Next(base); !got.Equal(c.want) || (warn != "") != c.warn {
			t.Errorf("%s: next %s warn %q, want %s warn %v", c.expr, got, warn, c.want, c.warn)
		}
	}
	ev, err := SchedulerEvent(`{"id":"<aws.scheduler.execution-id>","detail-type":"Scheduled Event","time":"<aws.scheduler.scheduled-time>","resources":["<aws.scheduler.schedule-arn>"],"detail":{"attempt":"<aws.scheduler.attempt-number>"}}`,
		"arn:aws:scheduler:us-east-1:000000000000:schedule/default/x", base, "exec-1")
	if err != nil || ev.ID != "exec-1" || !ev.Time.Equal(base) || ev.Resources[0] != "arn:aws:scheduler:us-east-1:000000000000:schedule/default/x" || string(ev.Detail) != `{"attempt":"1"}` {
		t.Errorf("event %+v err %v", ev, err)
	}
}

func TestWebhookURLBuildsFunctionURLEvent(t *testing.T) {
	t.Parallel()
	st, rec := startStack(t, Options{})
	if st.WebhookURL == "" {
		t.Fatal("the template's WebhookFunction has no FunctionUrlConfig")
	}
	req, _ := http.NewRequest(http.MethodPost, st.WebhookURL+"/api/v1/integration/webhook/wordpress/?x=1&x=2", strings.NewReader(`{"action":"post_updated"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Webhook-Id", "msg_1")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	req.Header.Set("Cookie", "c=3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	invs := rec.waitFor(t, 5*time.Second, "the webhook invocation", func(i []Invocation) bool { return len(functionInvocations(i, "WebhookFunction")) == 1 })
	inv := functionInvocations(invs, "WebhookFunction")[0]
	ev := inv.Event.(events.LambdaFunctionURLRequest)
	if ev.Version != "2.0" || ev.RawPath != "/api/v1/integration/webhook/wordpress/" || ev.RawQueryString != "x=1&x=2" ||
		ev.QueryStringParameters["x"] != "1,2" || ev.Headers["webhook-id"] != "msg_1" || ev.Headers["x-multi"] != "a,b" ||
		len(ev.Cookies) != 1 || ev.Cookies[0] != "c=3" || ev.Body != `{"action":"post_updated"}` || ev.IsBase64Encoded {
		t.Errorf("event = %+v", ev)
	}
	rc := ev.RequestContext
	if rc.HTTP.Method != "POST" || rc.HTTP.Path != ev.RawPath || rc.AccountID != "anonymous" || rc.RequestID != inv.RequestID ||
		rc.APIID == "" || rc.DomainName == "" || rc.TimeEpoch == 0 || rc.HTTP.SourceIP != "127.0.0.1" {
		t.Errorf("requestContext = %+v", rc)
	}
	want := inv.Response.(events.LambdaFunctionURLResponse)
	if resp.StatusCode != want.StatusCode || string(body) != want.Body {
		t.Errorf("HTTP response %d %s, function answered %d %s", resp.StatusCode, body, want.StatusCode, want.Body)
	}
	if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(resp.Header.Get("X-Amzn-Requestid")) {
		t.Errorf("x-amzn-requestid = %q", resp.Header.Get("X-Amzn-Requestid"))
	}
}
