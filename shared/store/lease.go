package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Lease is a held site request slot.
type Lease struct {
	AccountID, IntegrationID string
	Slot                     int
	Holder                   string
}

// AcquireSiteLease takes one of the integration's `slots` request slots for
// ttl, trying them in random order: one conditional PutItem per slot tried
// (taken when free or expired). ok is false when every slot is held.
func (s *Store) AcquireSiteLease(ctx context.Context, accountID, integrationID string, slots int, ttl time.Duration) (Lease, bool, error) {
	if slots < 1 {
		return Lease{}, false, fmt.Errorf("acquire site lease: %d slots: %w", slots, ErrInvalid)
	}
	now := s.clock()
	holder := s.newID()
	for _, slot := range rand.Perm(slots) {
		key := SiteLeaseKey(accountID, integrationID, slot)
		cond := expression.AttributeNotExists(expression.Name(AttrPK)).
			Or(expression.Name(AttrTTL).LessThan(expression.Value(now.Unix())))
		expr, err := expression.NewBuilder().WithCondition(cond).Build()
		if err != nil {
			return Lease{}, false, fmt.Errorf("build lease condition: %w", err)
		}
		_, err = s.ddb.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.table),
			Item: map[string]types.AttributeValue{
				AttrPK: &types.AttributeValueMemberS{Value: key.PK}, AttrSK: &types.AttributeValueMemberS{Value: key.SK},
				"Entity": &types.AttributeValueMemberS{Value: "lease"}, "Holder": &types.AttributeValueMemberS{Value: holder},
				AttrTTL: &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(ttl).Unix(), 10)},
			},
			ConditionExpression:       expr.Condition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		})
		if err == nil {
			return Lease{AccountID: accountID, IntegrationID: integrationID, Slot: slot, Holder: holder}, true, nil
		}
		if !isConditionFailed(err) {
			return Lease{}, false, fmt.Errorf("acquire site lease: %w", err)
		}
	}
	return Lease{}, false, nil
}

// ReleaseSiteLease frees a held slot (only if still held by this holder:
// an expired lease someone else took is theirs).
func (s *Store) ReleaseSiteLease(ctx context.Context, l Lease) error {
	expr, err := expression.NewBuilder().WithCondition(expression.Name("Holder").Equal(expression.Value(l.Holder))).Build()
	if err != nil {
		return fmt.Errorf("build lease release condition: %w", err)
	}
	_, err = s.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: keyAV(SiteLeaseKey(l.AccountID, l.IntegrationID, l.Slot)),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("release site lease: %w", err)
	}
	return nil
}
