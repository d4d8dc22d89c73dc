package store

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

var errGuardA = &ConflictError{Reason: ConflictSitePlatform, Detail: "a"}
var errGuardB = &ConflictError{Reason: ConflictURL, Detail: "b"}

func reasons(codes ...string) []types.CancellationReason {
	out := make([]types.CancellationReason, len(codes))
	for i, c := range codes {
		if c != "<nil>" {
			out[i].Code = aws.String(c)
		}
	}
	return out
}

func TestCancellationMapping(t *testing.T) {
	t.Parallel()
	ops := []txOp{{onConditionFailed: nil}, {onConditionFailed: errGuardA}, {onConditionFailed: errGuardB}}
	cases := []struct {
		name      string
		tce       *types.TransactionCanceledException
		want      error // errors.Is target; nil with retry
		wantRetry bool
	}{
		{"DynamoDB None codes", &types.TransactionCanceledException{CancellationReasons: reasons("None", "ConditionalCheckFailed", "None")}, errGuardA, false},
		{"kumo empty codes", &types.TransactionCanceledException{CancellationReasons: reasons("", "", "ConditionalCheckFailed")}, errGuardB, false},
		{"missing codes", &types.TransactionCanceledException{CancellationReasons: reasons("<nil>", "ConditionalCheckFailed", "<nil>")}, errGuardA, false},
		{"version check without its own error", &types.TransactionCanceledException{CancellationReasons: reasons("ConditionalCheckFailed", "None", "None")}, ErrPreconditionFailed, false},
		{"codes only in the message", &types.TransactionCanceledException{Message: aws.String("Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, ConditionalCheckFailed]")}, errGuardB, false},
		{"condition failure wins over conflict", &types.TransactionCanceledException{CancellationReasons: reasons("TransactionConflict", "ConditionalCheckFailed", "None")}, errGuardA, false},
		{"conflict only: retry", &types.TransactionCanceledException{CancellationReasons: reasons("None", "TransactionConflict", "")}, nil, true},
		{"throttled: retry", &types.TransactionCanceledException{CancellationReasons: reasons("ThrottlingError", "None", "None")}, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err, retry := cancellationError(ops, c.tce)
			if retry != c.wantRetry {
				t.Fatalf("retry = %v, want %v (err %v)", retry, c.wantRetry, err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	// A validation failure is neither retried nor mistaken for a conflict.
	err, retry := cancellationError(ops, &types.TransactionCanceledException{CancellationReasons: reasons("ValidationError", "None", "None")})
	if retry || errors.Is(err, ErrConflict) || errors.Is(err, ErrPreconditionFailed) || err == nil {
		t.Fatalf("validation error mapped to %v (retry %v)", err, retry)
	}
}

// conflictingDDB cancels every transaction with TransactionConflict the
// first `fail` times.
type conflictingDDB struct {
	DynamoDB
	fail, calls int
}

func (c *conflictingDDB) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.calls++
	if c.calls <= c.fail {
		return nil, &types.TransactionCanceledException{CancellationReasons: reasons("TransactionConflict")}
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func TestTransactRetriesConflicts(t *testing.T) {
	t.Parallel()
	op := txOp{item: types.TransactWriteItem{Put: &types.Put{}}}
	fake := &conflictingDDB{fail: 2}
	if err := New(fake, "t").transact(context.Background(), "test", []txOp{op}); err != nil || fake.calls != 3 {
		t.Fatalf("err %v after %d calls, want success on the 3rd", err, fake.calls)
	}
	fake = &conflictingDDB{fail: 100}
	err := New(fake, "t", WithTransactionRetries(2)).transact(context.Background(), "test", []txOp{op})
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Reason != ConflictConcurrent || fake.calls != 3 {
		t.Fatalf("err %v after %d calls, want ConflictConcurrent after 3", err, fake.calls)
	}
}

// TestTransactAgainstDynamoDB runs the helper for real: the second op's
// failed condition comes back as that op's error, and nothing is written.
func TestTransactAgainstDynamoDB(t *testing.T) {
	t.Parallel()
	skipWithoutTransactions(t)
	e := newEnv(t)
	ctx := context.Background()
	item := func(k Key) map[string]types.AttributeValue {
		m := keyAV(k)
		m["Entity"] = &types.AttributeValueMemberS{Value: "test"}
		return m
	}
	k1, k2 := Key{PK: "T#1", SK: "X"}, Key{PK: "T#2", SK: "X"}
	existing, err := e.s.txPut("test", item(k2), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.transact(ctx, "seed", []txOp{existing}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	op1, _ := e.s.txPut("test", item(k1), notExists(), errGuardA)
	op2, _ := e.s.txPut("test", item(k2), notExists(), errGuardB)
	err = e.s.transact(ctx, "pair", []txOp{op1, op2})
	if !errors.Is(err, errGuardB) || !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want the second op's conflict", err)
	}
	if got := e.rawItem(k1); got != nil {
		t.Fatalf("cancelled transaction wrote item 1: %v", got)
	}
	// A condition check on an absent item maps to its own error.
	check, err := e.s.txConditionCheck("test", Key{PK: "T#3", SK: "X"}, expression.AttributeExists(expression.Name(AttrPK)), ErrNotFound)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.transact(ctx, "check", []txOp{op1, check}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("condition check: err = %v, want ErrNotFound", err)
	}
	// Size is checked before anything is sent.
	huge := item(Key{PK: "T#4", SK: "X"})
	huge["Body"] = &types.AttributeValueMemberB{Value: make([]byte, MaxItemSize)}
	if _, err := e.s.txPut("test", huge, nil, nil); !errors.Is(err, ErrItemTooLarge) {
		t.Fatalf("oversized put: err = %v", err)
	}
}
