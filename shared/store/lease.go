package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
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
// ttl. One strongly consistent read of the slots finds the free or expired
// ones; a conditional PutItem takes one (another free one is tried if a
// competitor took it first). ok is false when every slot is held. A busy
// site thus costs waiters one read per try, not a failed write per slot.
func (s *Store) AcquireSiteLease(ctx context.Context, accountID, integrationID string, slots int, ttl time.Duration) (Lease, bool, error) {
	if slots < 1 {
		return Lease{}, false, fmt.Errorf("acquire site lease: %d slots: %w", slots, ErrInvalid)
	}
	now := s.clock()
	held, err := s.heldLeaseSlots(ctx, accountID, integrationID, slots, now)
	if err != nil {
		return Lease{}, false, err
	}
	holder := s.newID()
	for _, slot := range rand.Perm(slots) {
		if held[slot] {
			continue
		}
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

// heldLeaseSlots reads which of the integration's slots are held (and not
// expired) now: one strongly consistent BatchGetItem of the slot keys.
func (s *Store) heldLeaseSlots(ctx context.Context, accountID, integrationID string, slots int, now time.Time) (map[int]bool, error) {
	keys := make([]map[string]types.AttributeValue, slots)
	for i := range keys {
		keys[i] = keyAV(SiteLeaseKey(accountID, integrationID, i))
	}
	req := map[string]types.KeysAndAttributes{s.table: {
		Keys: keys, ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#sk, #ttl"), ExpressionAttributeNames: map[string]string{"#sk": AttrSK, "#ttl": AttrTTL},
	}}
	held := make(map[int]bool, slots)
	// Unprocessed keys (throttling) are read as held: the caller just
	// tries again a little later.
	out, err := s.ddb.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
	if err != nil {
		return nil, fmt.Errorf("read site leases: %w", err)
	}
	if un, ok := out.UnprocessedKeys[s.table]; ok {
		for _, k := range un.Keys {
			if sk, ok := k[AttrSK].(*types.AttributeValueMemberS); ok {
				if slot, err := strconv.Atoi(strings.TrimPrefix(sk.Value, siteLeasePrefix)); err == nil {
					held[slot] = true
				}
			}
		}
	}
	for _, item := range out.Responses[s.table] {
		sk, _ := item[AttrSK].(*types.AttributeValueMemberS)
		exp, _ := item[AttrTTL].(*types.AttributeValueMemberN)
		if sk == nil || exp == nil {
			continue
		}
		slot, err1 := strconv.Atoi(strings.TrimPrefix(sk.Value, siteLeasePrefix))
		until, err2 := strconv.ParseInt(exp.Value, 10, 64)
		if err1 == nil && err2 == nil && until >= now.Unix() {
			held[slot] = true
		}
	}
	return held, nil
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
