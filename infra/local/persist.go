package local

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
)

// DataDirEnv is the variable kumo reads, once, in its package init, to load
// and persist its state. The command re-executes itself with it set.
const DataDirEnv = "KUMO_DATA_DIR"

// FlushIntervalEnv sets kumo's snapshot debounce (default 1000 ms).
const FlushIntervalEnv = "KUMO_PERSIST_FLUSH_INTERVAL_MS"

// flushMarkerTag is the table tag the flush barrier writes.
const flushMarkerTag = "igny8-local-flush"

// flush waits until the emulator's state is on disk. kumo snapshots each
// service on a background ticker and kumo.Server.Close does not save, so
// Close writes a marker (a tag on a table, with a fresh value) and waits
// until the DynamoDB snapshot file contains it; doing that twice proves
// that a whole flush cycle, which writes every dirty service's snapshot,
// ran after all the stack's writes.
func (st *Stack) flush(ctx context.Context) error {
	var arn string
	for _, id := range slices.Sorted(maps.Keys(st.Tables)) {
		arn = st.Tables[id].ARN
		break
	}
	if arn == "" {
		return nil // nothing that can carry a marker; the debounce will flush within a second
	}
	snapshot := filepath.Join(st.PersistDir, "dynamodb.json")
	for round := 0; round < 2; round++ {
		marker := uuid.NewString()
		if _, err := st.Clients.DynamoDB.TagResource(ctx, &dynamodb.TagResourceInput{
			ResourceArn: aws.String(arn), Tags: []ddbtypes.Tag{{Key: aws.String(flushMarkerTag), Value: aws.String(marker)}},
		}); err != nil {
			return fmt.Errorf("flush emulator state: write marker: %w", err)
		}
		for {
			b, err := os.ReadFile(snapshot)
			if err == nil && bytes.Contains(b, []byte(marker)) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("flush emulator state to %s: %w", st.PersistDir, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}
