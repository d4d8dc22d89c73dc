package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/igny8/integrations/shared/app"
	"github.com/igny8/integrations/shared/awsclients"
	"github.com/igny8/integrations/shared/config"
	"github.com/igny8/integrations/shared/contentsync"
	"github.com/igny8/integrations/shared/sitecreds"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/testutil"
	"github.com/igny8/integrations/shared/testutil/fakewp"
)

// metered is the service wired exactly as app.New wires it in Lambda, on
// the stack's emulator but with every AWS call going through meter: the
// local stack builds its own clients, so it cannot count them. Its own
// event source (drain) stands in for the SQS event source mapping.
type metered struct {
	app   *app.App
	m     *meter
	plain awsclients.Clients // the bench's own calls, not counted
	queue string
	in    store.Integration

	// What the stand-in event source did (the ESM's own SQS calls).
	receives, deleteBatches, invocations atomic.Int64
	busy                                 atomic.Int64 // nanoseconds in the handler
}

func newMetered(ctx context.Context, t *tb, emulatorURL string, o options, wp *fakewp.Site) (*metered, error) {
	m := newMeter()
	clients, err := awsclients.New(ctx, awsclients.Options{Endpoint: emulatorURL, HTTPClient: m})
	if err != nil {
		return nil, err
	}
	plain, err := awsclients.New(ctx, awsclients.Options{Endpoint: emulatorURL})
	if err != nil {
		return nil, err
	}
	table := testutil.MustCreateTable(t, plain.DynamoDB)
	queue := testutil.MustCreateQueue(t, plain.SQS)
	env := map[string]string{"STAGE": "local", "TABLE_NAME": table, "SYNC_QUEUE_URL": queue, "SYNC_DLQ_URL": queue,
		"SECRET_PREFIX": testutil.UniqueName(t, "igny8/bench") + "/", "DEV_ALLOW_HTTP": "true", "DEV_ALLOW_LOOPBACK": "true",
		"SITE_CONCURRENCY": strconv.Itoa(o.siteConc)}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	a := app.New(cfg, clients, discard)
	id := a.Store.NewID()
	in, err := a.Store.CreateIntegration(ctx, store.Integration{AccountID: "bench", ID: id, SiteID: "blog", Platform: "wordpress",
		ExternalSiteURL: wp.URL, IsActive: true, SyncEnabled: true, CredentialsSecret: sitecreds.SecretName(id), Username: wp.Username,
		Config: map[string]any{"connection": map[string]any{"site": map[string]any{"gmt_offset": 2.0}}}})
	if err != nil {
		return nil, err
	}
	if err := sitecreds.New(a.Secrets).Put(ctx, in, sitecreds.Credentials{Username: wp.Username, ApplicationPassword: wp.Password}); err != nil {
		return nil, err
	}
	return &metered{app: a, m: m, plain: plain, queue: queue, in: in}, nil
}

func (d *metered) resetCounts() {
	d.m.reset()
	d.receives.Store(0)
	d.deleteBatches.Store(0)
	d.invocations.Store(0)
	d.busy.Store(0)
}

// fullSync starts a full run and drains the queue with `workers` pollers
// (batches of 10, partial batch failures, as the template's event source)
// until the run ends.
func (d *metered) fullSync(ctx context.Context, workers int) (store.SyncRun, time.Duration, error) {
	start := time.Now()
	run, err := d.app.Sync.StartRun(ctx, contentsync.StartRequest{AccountID: d.in.AccountID, IntegrationID: d.in.ID, Mode: contentsync.ModeFull})
	if err != nil {
		return run, 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	handler := d.app.SyncWorkerHandler()
	st := store.New(d.plain.DynamoDB, d.app.Config.TableName)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.poll(rctx, handler)
		}()
	}
	var final store.SyncRun
	for {
		final, err = st.GetSyncRun(ctx, d.in.AccountID, d.in.ID, run.ID)
		if err != nil || final.Status == store.RunSucceeded || final.Status == store.RunFailed || final.Status == store.RunCanceled {
			break
		}
		if ctx.Err() != nil {
			err = ctx.Err()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	wall := time.Since(start)
	cancel()
	wg.Wait()
	if err == nil && final.Status != store.RunSucceeded {
		err = fmt.Errorf("run ended %s: %s", final.Status, final.Error)
	}
	return final, wall, err
}

func (d *metered) poll(ctx context.Context, handler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)) {
	for ctx.Err() == nil {
		out, err := d.plain.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(d.queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 0,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			//lint:ignore SA1019 the emulator reads only the deprecated field
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
		})
		if err != nil || len(out.Messages) == 0 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		d.receives.Add(1)
		ev := events.SQSEvent{}
		for _, m := range out.Messages {
			ev.Records = append(ev.Records, events.SQSMessage{MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), Attributes: m.Attributes, EventSource: "aws:sqs"})
		}
		t0 := time.Now()
		resp, _ := handler(context.WithoutCancel(ctx), ev)
		d.busy.Add(int64(time.Since(t0)))
		d.invocations.Add(1)
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		var entries []sqstypes.DeleteMessageBatchRequestEntry
		for i, m := range out.Messages {
			if !failed[aws.ToString(m.MessageId)] {
				entries = append(entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
			}
		}
		if len(entries) > 0 {
			d.deleteBatches.Add(1)
			_, _ = d.plain.SQS.DeleteMessageBatch(context.WithoutCancel(ctx), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(d.queue), Entries: entries})
		}
	}
}
