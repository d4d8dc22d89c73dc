package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func TestWebhookRateWindowHoldsAcrossConcurrentReceivers(t *testing.T) {
	skipWithoutAtomicConcurrency(t)
	e := newEnv(t)
	ctx := context.Background()
	w := RateWindow{Limit: 5, Length: 10 * time.Second}
	now := time.Unix(1_795_860_000, 0) // the start of a window
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ok, _, err := e.s.TakeWebhookToken(ctx, "acct", "int-1", w, now.Add(time.Second))
			if err != nil {
				t.Error(err)
			}
			if ok {
				admitted.Add(1)
			}
		})
	}
	wg.Wait()
	if n := admitted.Load(); n != 5 {
		t.Fatalf("%d of 20 concurrent deliveries admitted, want the window's 5", n)
	}
	ok, wait, err := e.s.TakeWebhookToken(ctx, "acct", "int-1", w, now.Add(3*time.Second))
	if err != nil || ok || wait != 7*time.Second {
		t.Fatalf("full window: ok=%v wait=%v err=%v, want refused with 7s to wait", ok, wait, err)
	}
	if ok, _, _ := e.s.TakeWebhookToken(ctx, "acct", "int-2", w, now); !ok {
		t.Fatal("another integration shares the window")
	}
	if ok, _, _ := e.s.TakeWebhookToken(ctx, "acct", "int-1", w, now.Add(10*time.Second)); !ok {
		t.Fatal("the next window is full too")
	}
}

func TestWebhookDeliveryClaimIsOnceUntilReleasedOrExpired(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if ok, err := e.s.ClaimWebhookDelivery(ctx, "acct", "int-1", "msg_1", time.Hour); err != nil || !ok {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	if ok, err := e.s.ClaimWebhookDelivery(ctx, "acct", "int-1", "msg_1", time.Hour); err != nil || ok {
		t.Fatalf("second claim: %v %v, want a replay", ok, err)
	}
	if ok, _ := e.s.ClaimWebhookDelivery(ctx, "acct", "int-2", "msg_1", time.Hour); !ok {
		t.Fatal("the same webhook-id of another integration is a replay")
	}
	if err := e.s.ReleaseWebhookDelivery(ctx, "acct", "int-1", "msg_1"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.s.ClaimWebhookDelivery(ctx, "acct", "int-1", "msg_1", -time.Second); !ok {
		t.Fatal("a released claim could not be claimed again")
	}
	// That claim has expired (TTL not yet run): the ID is free again.
	if ok, _ := e.s.ClaimWebhookDelivery(ctx, "acct", "int-1", "msg_1", time.Hour); !ok {
		t.Fatal("an expired claim still blocks the ID")
	}
}

func TestIntegrationByIDWithoutItsLookupItemFallsBackToTheIndex(t *testing.T) {
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	in := e.seed(integ("acct", "s", "wordpress", url(1)))
	got, err := e.s.GetIntegrationByID(ctx, in.ID)
	if err != nil || got.AccountID != "acct" {
		t.Fatalf("by id: %+v %v", got, err)
	}
	// An integration created before lookup items existed.
	if _, err := e.s.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(e.s.table), Key: keyAV(IntegrationIDKey(in.ID))}); err != nil {
		t.Fatal(err)
	}
	e.calls.Reset()
	if got, err = e.s.GetIntegrationByID(ctx, in.ID); err != nil || got.ID != in.ID {
		t.Fatalf("by id without the lookup item: %+v %v", got, err)
	}
	if e.calls.Count("Query") != 1 {
		t.Fatalf("calls %v, want the GSI query", e.calls.Snapshot())
	}
	// And it can still be deleted.
	if err := e.s.DeleteIntegration(ctx, "acct", in.ID, 0); err != nil {
		t.Fatal(err)
	}
}
