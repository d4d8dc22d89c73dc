package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// MaxTransactionItems is DynamoDB's limit of items per transaction.
const MaxTransactionItems = 100

// MaxTransactionBytes is DynamoDB's limit on the aggregate size of a
// transaction's items (4 MB).
const MaxTransactionBytes = 4 << 20

// txOp is one write in a transaction together with the error its failed
// condition means (for example a *ConflictError naming the uniqueness guard,
// or ErrPreconditionFailed for a version check).
type txOp struct {
	item              types.TransactWriteItem
	onConditionFailed error
	// size is a put's item size in bytes (0 for other writes, which are
	// small), so transactions can be packed under MaxTransactionBytes.
	size int
}

// txPut builds a conditional Put, checking the item's size first.
func (s *Store) txPut(entity string, item map[string]types.AttributeValue, cond *expression.ConditionBuilder, onFail error) (txOp, error) {
	if err := checkSize(entity, item); err != nil {
		return txOp{}, err
	}
	put := &types.Put{TableName: aws.String(s.table), Item: item}
	if cond != nil {
		expr, err := expression.NewBuilder().WithCondition(*cond).Build()
		if err != nil {
			return txOp{}, fmt.Errorf("build %s put condition: %w", entity, err)
		}
		put.ConditionExpression = expr.Condition()
		put.ExpressionAttributeNames = expr.Names()
		put.ExpressionAttributeValues = expr.Values()
	}
	return txOp{item: types.TransactWriteItem{Put: put}, onConditionFailed: onFail, size: ItemSize(item)}, nil
}

// txDelete builds a (conditional) Delete.
func (s *Store) txDelete(entity string, key Key, cond *expression.ConditionBuilder, onFail error) (txOp, error) {
	del := &types.Delete{TableName: aws.String(s.table), Key: keyAV(key)}
	if cond != nil {
		expr, err := expression.NewBuilder().WithCondition(*cond).Build()
		if err != nil {
			return txOp{}, fmt.Errorf("build %s delete condition: %w", entity, err)
		}
		del.ConditionExpression = expr.Condition()
		del.ExpressionAttributeNames = expr.Names()
		del.ExpressionAttributeValues = expr.Values()
	}
	return txOp{item: types.TransactWriteItem{Delete: del}, onConditionFailed: onFail}, nil
}

// txConditionCheck builds a ConditionCheck on an item the transaction does
// not write.
func (s *Store) txConditionCheck(entity string, key Key, cond expression.ConditionBuilder, onFail error) (txOp, error) {
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return txOp{}, fmt.Errorf("build %s condition check: %w", entity, err)
	}
	return txOp{item: types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                 aws.String(s.table),
		Key:                       keyAV(key),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}, onConditionFailed: onFail}, nil
}

// transact runs ops as one TransactWriteItems. A cancellation is decoded
// into the failed op's onConditionFailed error; a cancellation caused only
// by concurrent transactions or throttling is retried a few times (nothing
// was written, and every condition is re-evaluated), then reported as a
// *ConflictError with ConflictConcurrent.
func (s *Store) transact(ctx context.Context, what string, ops []txOp) error {
	if len(ops) == 0 {
		return nil
	}
	if len(ops) > MaxTransactionItems {
		return fmt.Errorf("%s: %d items in one transaction, limit %d: %w", what, len(ops), MaxTransactionItems, ErrInvalid)
	}
	items := make([]types.TransactWriteItem, len(ops))
	for i, op := range ops {
		items[i] = op.item
	}
	in := &dynamodb.TransactWriteItemsInput{TransactItems: items}
	for attempt := 0; ; attempt++ {
		_, err := s.ddb.TransactWriteItems(ctx, in)
		if err == nil {
			return nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return fmt.Errorf("%s: %w", what, err)
		}
		mapped, retry := cancellationError(ops, tce)
		if !retry {
			return fmt.Errorf("%s: %w", what, mapped)
		}
		if attempt >= s.txRetries {
			return fmt.Errorf("%s: %w", what, &ConflictError{Reason: ConflictConcurrent, Detail: "concurrent updates to the same items; retry"})
		}
		backoff := time.Duration(10<<attempt)*time.Millisecond + time.Duration(rand.IntN(10))*time.Millisecond
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(backoff):
		}
	}
}

// cancellationCodes returns one code per transaction item. DynamoDB returns
// them in CancellationReasons, with "None" for items that did not fail; kumo
// returns empty codes there instead of "None"; some implementations give
// them only in the message ("... reasons [None, ConditionalCheckFailed]").
func cancellationCodes(tce *types.TransactionCanceledException, n int) []string {
	codes := make([]string, n)
	if len(tce.CancellationReasons) > 0 {
		for i, r := range tce.CancellationReasons {
			if i < n {
				codes[i] = aws.ToString(r.Code)
			}
		}
		return codes
	}
	msg := tce.ErrorMessage()
	open, end := strings.LastIndex(msg, "["), strings.LastIndex(msg, "]")
	if open < 0 || end < open {
		return codes
	}
	for i, c := range strings.Split(msg[open+1:end], ",") {
		if i < n {
			codes[i] = strings.TrimSpace(c)
		}
	}
	return codes
}

// cancellationError maps a cancelled transaction to the typed error of the
// first failed condition. retry is true when nothing but transient reasons
// (TransactionConflict, throttling) cancelled it.
func cancellationError(ops []txOp, tce *types.TransactionCanceledException) (err error, retry bool) {
	codes := cancellationCodes(tce, len(ops))
	transient := false
	for i, code := range codes {
		switch code {
		case "", "None":
			continue
		case "ConditionalCheckFailed":
			if ops[i].onConditionFailed != nil {
				return ops[i].onConditionFailed, false
			}
			return fmt.Errorf("transaction item %d condition failed: %w", i, ErrPreconditionFailed), false
		case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
			transient = true
		default:
			return fmt.Errorf("transaction item %d cancelled (%s): %w", i, code, tce), false
		}
	}
	if transient {
		return nil, true
	}
	return fmt.Errorf("transaction cancelled without a reason: %w", tce), false
}
