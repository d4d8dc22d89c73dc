package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// WebhookStore is what the webhook receiver needs from the store besides
// the integration lookup.
type WebhookStore interface {
	ClaimWebhookDelivery(ctx context.Context, accountID, integrationID, webhookID string, keep time.Duration) (bool, error)
	ReleaseWebhookDelivery(ctx context.Context, accountID, integrationID, webhookID string) error
	TakeWebhookToken(ctx context.Context, accountID, integrationID string, w RateWindow, now time.Time) (bool, time.Duration, error)
}

var _ WebhookStore = (*Store)(nil)

const (
	entityWebhookDelivery = "webhook_delivery"
	entityWebhookRate     = "webhook_rate"
)

// ClaimWebhookDelivery records a webhook-id as seen, for keep (after
// which TTL removes it). It is one conditional PutItem: false means the ID
// was already claimed and has not expired, i.e. the delivery is a replay.
// An item past its ExpiresAt counts as absent even before TTL deletes it.
func (s *Store) ClaimWebhookDelivery(ctx context.Context, accountID, integrationID, webhookID string, keep time.Duration) (bool, error) {
	now := s.clock()
	key := WebhookDeliveryKey(accountID, integrationID, webhookID)
	cond := expression.AttributeNotExists(expression.Name(AttrPK)).
		Or(expression.Name(AttrTTL).LessThan(expression.Value(now.Unix())))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("build webhook delivery condition: %w", err)
	}
	_, err = s.ddb.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			AttrPK: &types.AttributeValueMemberS{Value: key.PK}, AttrSK: &types.AttributeValueMemberS{Value: key.SK},
			"Entity":    &types.AttributeValueMemberS{Value: entityWebhookDelivery},
			"CreatedAt": &types.AttributeValueMemberS{Value: now.Format(time.RFC3339Nano)},
			AttrTTL:     &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(keep).Unix(), 10)},
		},
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim webhook delivery: %w", err)
	}
	return true, nil
}

// ReleaseWebhookDelivery forgets a claimed webhook-id, so the sender's
// retry is accepted: the receiver calls it when it could not enqueue the
// delivery's job after claiming it.
func (s *Store) ReleaseWebhookDelivery(ctx context.Context, accountID, integrationID, webhookID string) error {
	_, err := s.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table),
		Key:       keyAV(WebhookDeliveryKey(accountID, integrationID, webhookID)),
	})
	if err != nil {
		return fmt.Errorf("release webhook delivery: %w", err)
	}
	return nil
}

// RateWindow is a fixed-window rate limit: at most Limit deliveries per
// Length. With Limit = burst and Length = burst/rate this admits rate per
// second on average and bursts of up to burst.
type RateWindow struct {
	Limit  int
	Length time.Duration
}

// TakeWebhookToken counts one delivery in the integration's window at
// now (the receiver's clock): one UpdateItem (Count + 1 under the condition Count < Limit), atomic across every
// concurrent receiver instance. ok is false when the window is full; wait
// is then the time until the next window opens.
func (s *Store) TakeWebhookToken(ctx context.Context, accountID, integrationID string, w RateWindow, now time.Time) (bool, time.Duration, error) {
	if w.Limit < 1 || w.Length < time.Second {
		return false, 0, fmt.Errorf("webhook rate window %+v: %w", w, ErrInvalid)
	}
	start := now.Truncate(w.Length)
	end := start.Add(w.Length)
	key := WebhookRateKey(accountID, integrationID, start)
	count := expression.Name("Count")
	cond := expression.AttributeNotExists(count).Or(count.LessThan(expression.Value(w.Limit)))
	// One SET clause (if_not_exists + 1) rather than SET and ADD: same
	// effect, and the embedded emulator ignores a two-clause expression.
	upd := expression.Set(count, expression.Plus(expression.IfNotExists(count, expression.Value(0)), expression.Value(1))).
		Set(expression.Name(AttrTTL), expression.Value(end.Add(time.Minute).Unix())).
		Set(expression.Name("Entity"), expression.Value(entityWebhookRate))
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return false, 0, fmt.Errorf("build webhook rate update: %w", err)
	}
	_, err = s.ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyAV(key),
		ConditionExpression:       expr.Condition(),
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if isConditionFailed(err) {
		return false, end.Sub(now), nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("count webhook delivery: %w", err)
	}
	return true, 0, nil
}
