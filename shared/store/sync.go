package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Sync run statuses. A run starts queued, the worker moves it to running,
// and FinishSyncRun moves it to one of the terminal statuses.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunCanceled  = "canceled"
)

// Sync run directions and modes.
const (
	DirectionPull = "pull"
	DirectionPush = "push"
	DirectionBoth = "both"

	ModeIncremental = "incremental"
	ModeFull        = "full"
)

// MaxRunErrorBytes caps a run's stored Error (longer messages are cut at a
// character boundary and marked).
const MaxRunErrorBytes = 2 * 1024

// ConflictSyncActive is the ConflictError reason of an *ActiveRunError: the
// integration already has an active run.
const ConflictSyncActive ConflictReason = "sync_in_progress"

// ErrRunFinished: progress was reported for a run that has already reached
// a terminal status (finished, failed or canceled). It matches
// ErrPreconditionFailed too. Page jobs that get it should stop.
var ErrRunFinished = fmt.Errorf("store: sync run already finished: %w", ErrPreconditionFailed)

// ActiveRunError is returned by StartSyncRun when the integration already
// has an active run. errors.Is(err, ErrConflict) is true, and errors.As to a
// *ConflictError yields Reason ConflictSyncActive.
type ActiveRunError struct {
	// RunID is the active run's ID.
	RunID string
}

func (e *ActiveRunError) Error() string {
	return fmt.Sprintf("store: conflict (%s): sync run %s is active", ConflictSyncActive, e.RunID)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ActiveRunError) Is(target error) bool { return target == ErrConflict }

// As lets generic error mapping read an *ActiveRunError as a *ConflictError.
func (e *ActiveRunError) As(target any) bool {
	if t, ok := target.(**ConflictError); ok {
		*t = &ConflictError{Reason: ConflictSyncActive, Detail: fmt.Sprintf("sync run %s is active", e.RunID)}
		return true
	}
	return false
}

// SyncRun is one sync of one integration: what it syncs, its phase and its
// progress counters (updated atomically by page jobs).
type SyncRun struct {
	AccountID     string
	IntegrationID string
	ID            string
	// Direction: DirectionPull, DirectionPush or DirectionBoth.
	Direction string
	// Mode: ModeIncremental or ModeFull.
	Mode         string
	ContentTypes []string
	// Status: RunQueued, RunRunning, or a terminal RunSucceeded, RunFailed,
	// RunCanceled.
	Status string
	// Phase is free text set by the worker ("discovering", "taxonomies",
	// "pulling", "pushing", "done").
	Phase string
	// PagesTotal is the number of page jobs planned so far, PagesDone the
	// number finished. The run is complete (Complete) once planning is done
	// and every planned page is done.
	PagesTotal, PagesDone int64
	// PlanningDone: every page job has been counted into PagesTotal.
	PlanningDone    bool
	ItemsCreated    int64
	ItemsUpdated    int64
	ItemsUnchanged  int64
	ItemsFailed     int64
	ItemsConflicted int64
	// Cursor is the incremental cursor this run will set on success: the
	// highest value page jobs reported (zero until one does).
	Cursor     time.Time
	Error      string
	StartedAt  time.Time
	FinishedAt *time.Time
	UpdatedAt  time.Time
}

// Terminal reports whether the run has finished (succeeded, failed or canceled).
func (r SyncRun) Terminal() bool { return runTerminal(r.Status) }

// Complete reports whether planning is done and every planned page is done:
// the condition under which a page job closes the run (FinishSyncRun
// decides which caller actually closes it).
func (r SyncRun) Complete() bool { return r.PlanningDone && r.PagesDone >= r.PagesTotal }

// SyncState is an integration's sync state: the one-run-at-a-time lock
// (ActiveRunID), the last finished run, the incremental cursors and the
// scheduled-sync due time.
type SyncState struct {
	AccountID     string
	IntegrationID string
	// ActiveRunID is the run holding the lock, "" when none.
	ActiveRunID string
	// LastRunID is the last run that finished (any terminal status).
	LastRunID string
	// LastSuccessAt is when a run last finished with RunSucceeded.
	LastSuccessAt *time.Time
	// Cursors maps content type to its incremental cursor (the highest
	// modified_gmt a successful run saw). Cursors only move forward.
	Cursors map[string]time.Time
	// NextDueAt is the next scheduled sync; nil when none is scheduled.
	NextDueAt *time.Time
	UpdatedAt time.Time
	// Version increases with every write of the state item.
	Version int64
}

// RunProgress is a change to a run's progress: counters are added (only
// non-zero ones are written); PlanningDone is set when true; Phase and
// Status are set when not empty; Cursor raises the run's Cursor when later.
type RunProgress struct {
	PagesTotal, PagesDone int64
	ItemsCreated          int64
	ItemsUpdated          int64
	ItemsUnchanged        int64
	ItemsFailed           int64
	ItemsConflicted       int64
	PlanningDone          bool
	Phase                 string
	// Status may only be RunQueued or RunRunning: terminal statuses go
	// through FinishSyncRun, which also releases the lock.
	Status string
	Cursor *time.Time
	// PageKey, when set, makes the update idempotent per page: a page whose
	// key was already counted changes nothing, and the current run is
	// returned without error (so a redelivered page job that sees the run
	// Complete can still close it). Keys are kept in the run's DonePages
	// set, a few bytes per page.
	PageKey string
}

// SyncStore is what the API, the worker and the publisher need from the
// store for sync state and runs.
type SyncStore interface {
	StartSyncRun(ctx context.Context, run SyncRun) (SyncRun, error)
	GetSyncState(ctx context.Context, accountID, integrationID string) (SyncState, error)
	GetSyncRun(ctx context.Context, accountID, integrationID, runID string) (SyncRun, error)
	LatestSyncRun(ctx context.Context, accountID, integrationID string) (SyncRun, error)
	ListSyncRuns(ctx context.Context, accountID, integrationID string, p PageRequest) (Page[SyncRun], error)
	AddSyncRunProgress(ctx context.Context, accountID, integrationID, runID string, delta RunProgress) (SyncRun, error)
	FinishSyncRun(ctx context.Context, accountID, integrationID, runID, status, errMsg string, cursors map[string]time.Time) (SyncRun, bool, error)
	SetSyncDue(ctx context.Context, accountID, integrationID string, next *time.Time) error
	DueSyncs(ctx context.Context, now time.Time, limitPerShard int) ([]SyncState, error)
}

var _ SyncStore = (*Store)(nil)

const (
	entitySyncState = "sync_state"
	entitySyncRun   = "sync_run"
	// syncCursorLayout is the fixed-width UTC layout of a run's Cursor
	// attribute, so a condition can compare it as a string.
	syncCursorLayout = "2006-01-02T15:04:05.000000000Z"
	// syncDueDefaultLimit is DueSyncs' per-shard limit when none is given.
	syncDueDefaultLimit = 100
)

func runTerminal(status string) bool {
	return status == RunSucceeded || status == RunFailed || status == RunCanceled
}

// syncStateItem is the stored shape of a SyncState. It is written only by
// update expressions; the struct is the read side.
type syncStateItem struct {
	PK, SK         string
	GSI1PK, GSI1SK string `dynamodbav:",omitempty"`
	Entity         string
	AccountID      string
	IntegrationID  string
	ActiveRunID    string            `dynamodbav:",omitempty"`
	LastRunID      string            `dynamodbav:",omitempty"`
	LastSuccessAt  string            `dynamodbav:",omitempty"`
	Cursors        map[string]string `dynamodbav:",omitempty"`
	NextDueAt      string            `dynamodbav:",omitempty"`
	UpdatedAt      string            `dynamodbav:",omitempty"`
	Version        int64
}

// syncRunItem is the stored shape of a SyncRun.
type syncRunItem struct {
	PK, SK          string
	Entity          string
	AccountID       string
	IntegrationID   string
	ID              string
	Direction       string
	Mode            string
	ContentTypes    []string `dynamodbav:",omitempty"`
	Status          string
	Phase           string `dynamodbav:",omitempty"`
	PagesTotal      int64
	PagesDone       int64
	PlanningDone    bool
	ItemsCreated    int64
	ItemsUpdated    int64
	ItemsUnchanged  int64
	ItemsFailed     int64
	ItemsConflicted int64
	Cursor          string `dynamodbav:",omitempty"`
	Error           string `dynamodbav:",omitempty"`
	StartedAt       string
	FinishedAt      string `dynamodbav:",omitempty"`
	UpdatedAt       string
	// DonePages holds RunProgress.PageKey values (written only by ADD).
	DonePages []string `dynamodbav:",stringset,omitempty"`
}

func syncTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func syncParseTime(what, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", what, err)
	}
	return t, nil
}

func syncParseOptTime(what, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := syncParseTime(what, v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func marshalSyncRun(r SyncRun) (map[string]types.AttributeValue, error) {
	key := SyncRunKey(r.AccountID, r.IntegrationID, r.ID)
	it := syncRunItem{
		PK: key.PK, SK: key.SK,
		Entity:          entitySyncRun,
		AccountID:       r.AccountID,
		IntegrationID:   r.IntegrationID,
		ID:              r.ID,
		Direction:       r.Direction,
		Mode:            r.Mode,
		ContentTypes:    r.ContentTypes,
		Status:          r.Status,
		Phase:           r.Phase,
		PagesTotal:      r.PagesTotal,
		PagesDone:       r.PagesDone,
		PlanningDone:    r.PlanningDone,
		ItemsCreated:    r.ItemsCreated,
		ItemsUpdated:    r.ItemsUpdated,
		ItemsUnchanged:  r.ItemsUnchanged,
		ItemsFailed:     r.ItemsFailed,
		ItemsConflicted: r.ItemsConflicted,
		Error:           syncCap(r.Error, MaxRunErrorBytes),
		StartedAt:       syncTime(r.StartedAt),
		UpdatedAt:       syncTime(r.UpdatedAt),
	}
	if !r.Cursor.IsZero() {
		it.Cursor = r.Cursor.UTC().Format(syncCursorLayout)
	}
	if r.FinishedAt != nil {
		it.FinishedAt = syncTime(*r.FinishedAt)
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("marshal sync run: %w", err)
	}
	return item, nil
}

func unmarshalSyncRunItem(item map[string]types.AttributeValue) (SyncRun, syncRunItem, error) {
	var it syncRunItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return SyncRun{}, it, fmt.Errorf("unmarshal sync run: %w", err)
	}
	r := SyncRun{
		AccountID:       it.AccountID,
		IntegrationID:   it.IntegrationID,
		ID:              it.ID,
		Direction:       it.Direction,
		Mode:            it.Mode,
		ContentTypes:    it.ContentTypes,
		Status:          it.Status,
		Phase:           it.Phase,
		PagesTotal:      it.PagesTotal,
		PagesDone:       it.PagesDone,
		PlanningDone:    it.PlanningDone,
		ItemsCreated:    it.ItemsCreated,
		ItemsUpdated:    it.ItemsUpdated,
		ItemsUnchanged:  it.ItemsUnchanged,
		ItemsFailed:     it.ItemsFailed,
		ItemsConflicted: it.ItemsConflicted,
		Error:           it.Error,
	}
	var err error
	if r.StartedAt, err = syncParseTime("sync run "+it.ID+" started_at", it.StartedAt); err != nil {
		return SyncRun{}, it, err
	}
	if r.UpdatedAt, err = syncParseTime("sync run "+it.ID+" updated_at", it.UpdatedAt); err != nil {
		return SyncRun{}, it, err
	}
	if r.FinishedAt, err = syncParseOptTime("sync run "+it.ID+" finished_at", it.FinishedAt); err != nil {
		return SyncRun{}, it, err
	}
	if it.Cursor != "" {
		if r.Cursor, err = time.Parse(syncCursorLayout, it.Cursor); err != nil {
			return SyncRun{}, it, fmt.Errorf("sync run %s cursor: %w", it.ID, err)
		}
	}
	return r, it, nil
}

func unmarshalSyncRun(item map[string]types.AttributeValue) (SyncRun, error) {
	r, _, err := unmarshalSyncRunItem(item)
	return r, err
}

func unmarshalSyncState(item map[string]types.AttributeValue) (SyncState, error) {
	var it syncStateItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return SyncState{}, fmt.Errorf("unmarshal sync state: %w", err)
	}
	st := SyncState{
		AccountID:     it.AccountID,
		IntegrationID: it.IntegrationID,
		ActiveRunID:   it.ActiveRunID,
		LastRunID:     it.LastRunID,
		Version:       it.Version,
	}
	what := "sync state of " + it.IntegrationID
	var err error
	if st.LastSuccessAt, err = syncParseOptTime(what+" last_success_at", it.LastSuccessAt); err != nil {
		return SyncState{}, err
	}
	if st.NextDueAt, err = syncParseOptTime(what+" next_due_at", it.NextDueAt); err != nil {
		return SyncState{}, err
	}
	if it.UpdatedAt != "" {
		if st.UpdatedAt, err = syncParseTime(what+" updated_at", it.UpdatedAt); err != nil {
			return SyncState{}, err
		}
	}
	if len(it.Cursors) > 0 {
		st.Cursors = make(map[string]time.Time, len(it.Cursors))
		for ct, v := range it.Cursors {
			if st.Cursors[ct], err = syncParseTime(what+" cursor "+ct, v); err != nil {
				return SyncState{}, err
			}
		}
	}
	return st, nil
}

// syncCap cuts s to at most n bytes at a character boundary, marking the cut.
func syncCap(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "… [truncated]"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// ------------------------------------------------------------ expressions

// syncAliasRE matches the expression builder's name placeholders (#0, #1 …).
var syncAliasRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`#[0-9]+`) })

// syncExprString and syncExprNames rewrite a built expression so the
// embedded emulator (kumo v0.33.1) reads it as DynamoDB does; the result
// means the same to DynamoDB. Two emulator faults (measured):
//   - the builder separates update clauses (SET, ADD, REMOVE) with a newline
//     and kumo only recognises a clause keyword after a space, so every
//     clause after the first is silently dropped;
//   - kumo substitutes names with strings.ReplaceAll in map order, so "#1"
//     can rewrite "#10" (an expression with 11 or more names corrupts
//     attribute names at random). "#N_" placeholders are prefix-free.
func syncExprString(s *string) *string {
	if s == nil {
		return nil
	}
	out := syncAliasRE().ReplaceAllString(strings.ReplaceAll(*s, "\n", " "), "${0}_")
	return &out
}

func syncExprNames(names map[string]string) map[string]string {
	if names == nil {
		return nil
	}
	out := make(map[string]string, len(names))
	for k, v := range names {
		out[k+"_"] = v
	}
	return out
}

// syncUpdateInput builds an UpdateItem input from an update and an optional
// condition.
func (s *Store) syncUpdateInput(key Key, up expression.UpdateBuilder, cond *expression.ConditionBuilder) (*dynamodb.UpdateItemInput, error) {
	b := expression.NewBuilder().WithUpdate(up)
	if cond != nil {
		b = b.WithCondition(*cond)
	}
	expr, err := b.Build()
	if err != nil {
		return nil, err
	}
	return &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       keyAV(key),
		UpdateExpression:          syncExprString(expr.Update()),
		ConditionExpression:       syncExprString(expr.Condition()),
		ExpressionAttributeNames:  syncExprNames(expr.Names()),
		ExpressionAttributeValues: expr.Values(),
	}, nil
}

// syncTxUpdate builds a transactional Update.
func (s *Store) syncTxUpdate(entity string, key Key, up expression.UpdateBuilder, cond *expression.ConditionBuilder, onFail error) (txOp, error) {
	in, err := s.syncUpdateInput(key, up, cond)
	if err != nil {
		return txOp{}, fmt.Errorf("build %s update: %w", entity, err)
	}
	return txOp{item: types.TransactWriteItem{Update: &types.Update{
		TableName:                 in.TableName,
		Key:                       in.Key,
		UpdateExpression:          in.UpdateExpression,
		ConditionExpression:       in.ConditionExpression,
		ExpressionAttributeNames:  in.ExpressionAttributeNames,
		ExpressionAttributeValues: in.ExpressionAttributeValues,
	}}, onConditionFailed: onFail}, nil
}

// syncFanOut runs fn(ctx, i) for i in [0, n) concurrently and returns the
// first error (by index), preferring a real error over the cancellations it
// caused.
func syncFanOut(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := fn(ctx, i); err != nil {
				errs[i] = err
				cancel()
			}
		})
	}
	wg.Wait()
	var first error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !errors.Is(err, context.Canceled) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// noActiveRun: the state has no active run (or does not exist yet).
func noActiveRun() expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name("ActiveRunID")).
		Or(expression.Name("ActiveRunID").Equal(expression.Value("")))
}

// runOpen: the run exists and is not terminal.
func runOpen() expression.ConditionBuilder {
	return expression.AttributeExists(expression.Name(AttrPK)).
		And(expression.In(expression.Name("Status"), expression.Value(RunQueued), expression.Value(RunRunning)))
}

// stateVersionIs: the state item is at version v (v == 0: it does not exist
// or has never been versioned).
func stateVersionIs(v int64) expression.ConditionBuilder {
	if v == 0 {
		return expression.AttributeNotExists(expression.Name("Version"))
	}
	return expression.Name("Version").Equal(expression.Value(v))
}

// stateHeader starts an update of the state item with the attributes every
// write keeps right, so an update also creates the item.
func stateHeader(accountID, integrationID string, now time.Time) expression.UpdateBuilder {
	return expression.Set(expression.Name("Entity"), expression.Value(entitySyncState)).
		Set(expression.Name("AccountID"), expression.Value(accountID)).
		Set(expression.Name("IntegrationID"), expression.Value(integrationID)).
		Set(expression.Name("UpdatedAt"), expression.Value(syncTime(now))).
		Add(expression.Name("Version"), expression.Value(1))
}

// stateDueKeys sets the GSI1 due keys for next, or removes them when next
// is nil.
func stateDueKeys(up expression.UpdateBuilder, accountID, integrationID string, next *time.Time) expression.UpdateBuilder {
	if next == nil {
		return up.Remove(expression.Name(AttrGSI1PK)).Remove(expression.Name(AttrGSI1SK))
	}
	ix := SyncDueIndex(accountID, integrationID, *next)
	return up.Set(expression.Name(AttrGSI1PK), expression.Value(ix.PK)).Set(expression.Name(AttrGSI1SK), expression.Value(ix.SK))
}

// -------------------------------------------------------------- operations

var (
	errSyncLocked     = errors.New("sync state: a run is active")
	errSyncRunClosed  = errors.New("sync run: already terminal")
	errSyncStateMoved = fmt.Errorf("sync state changed concurrently: %w", ErrPreconditionFailed)
)

// StartSyncRun starts a run if the integration has none active: one
// transaction that checks the integration exists, takes the lock on the
// sync state (creating the state item if missing; its scheduled-sync due
// keys are removed while the run is active) and puts the run. ID is
// generated when empty (it must be time-ordered for LatestSyncRun and
// ListSyncRuns to order runs); Status is RunQueued, StartedAt and UpdatedAt
// now; counters start at zero. An active run is an *ActiveRunError naming
// it; a missing integration is ErrNotFound.
func (s *Store) StartSyncRun(ctx context.Context, run SyncRun) (SyncRun, error) {
	switch {
	case run.AccountID == "" || run.IntegrationID == "":
		return SyncRun{}, fmt.Errorf("start sync run: account and integration id are required: %w", ErrInvalid)
	case run.Direction == "" || run.Mode == "":
		return SyncRun{}, fmt.Errorf("start sync run: direction and mode are required: %w", ErrInvalid)
	}
	if run.ID == "" {
		run.ID = s.newID()
	}
	now := s.clock()
	run.Status, run.Error = RunQueued, ""
	run.PagesTotal, run.PagesDone, run.PlanningDone = 0, 0, false
	run.ItemsCreated, run.ItemsUpdated, run.ItemsUnchanged, run.ItemsFailed, run.ItemsConflicted = 0, 0, 0, 0, 0
	run.Cursor, run.FinishedAt = time.Time{}, nil
	run.StartedAt, run.UpdatedAt = now, now
	item, err := marshalSyncRun(run)
	if err != nil {
		return SyncRun{}, fmt.Errorf("start sync run: %w", err)
	}
	check, err := s.txConditionCheck(entityIntegration, IntegrationKey(run.AccountID, run.IntegrationID),
		expression.AttributeExists(expression.Name(AttrPK)),
		fmt.Errorf("start sync run: integration %s: %w", run.IntegrationID, ErrNotFound))
	if err != nil {
		return SyncRun{}, fmt.Errorf("start sync run: %w", err)
	}
	lockCond := noActiveRun()
	lock, err := s.syncTxUpdate(entitySyncState, SyncStateKey(run.AccountID, run.IntegrationID),
		stateDueKeys(stateHeader(run.AccountID, run.IntegrationID, now).Set(expression.Name("ActiveRunID"), expression.Value(run.ID)), run.AccountID, run.IntegrationID, nil),
		&lockCond, errSyncLocked)
	if err != nil {
		return SyncRun{}, fmt.Errorf("start sync run: %w", err)
	}
	put, err := s.txPut(entitySyncRun, item, notExists(),
		&ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("sync run %s already exists", run.ID)})
	if err != nil {
		return SyncRun{}, fmt.Errorf("start sync run: %w", err)
	}
	for attempt := 0; ; attempt++ {
		err := s.transact(ctx, "start sync run", []txOp{check, lock, put})
		if err == nil {
			return run, nil
		}
		if !errors.Is(err, errSyncLocked) {
			return SyncRun{}, err
		}
		st, gerr := s.GetSyncState(ctx, run.AccountID, run.IntegrationID)
		if gerr != nil {
			return SyncRun{}, fmt.Errorf("start sync run: %w", gerr)
		}
		if st.ActiveRunID != "" {
			return SyncRun{}, fmt.Errorf("start sync run: %w", &ActiveRunError{RunID: st.ActiveRunID})
		}
		if attempt >= lockRetries {
			// The lock keeps being taken and released under us.
			return SyncRun{}, fmt.Errorf("start sync run: %w", &ConflictError{Reason: ConflictConcurrent, Detail: "sync runs starting and finishing concurrently; retry"})
		}
	}
}

// GetSyncState returns the integration's sync state (strongly consistent).
// An integration that has never synced has a zero state (with AccountID and
// IntegrationID set), not an error.
func (s *Store) GetSyncState(ctx context.Context, accountID, integrationID string) (SyncState, error) {
	zero := SyncState{AccountID: accountID, IntegrationID: integrationID}
	if accountID == "" || integrationID == "" {
		return zero, nil
	}
	item, err := s.getItem(ctx, SyncStateKey(accountID, integrationID))
	if err != nil {
		return SyncState{}, fmt.Errorf("get sync state of %s: %w", integrationID, err)
	}
	if item == nil {
		return zero, nil
	}
	return unmarshalSyncState(item)
}

// GetSyncRun returns one run (strongly consistent); ErrNotFound when absent
// (or another account's).
func (s *Store) GetSyncRun(ctx context.Context, accountID, integrationID, runID string) (SyncRun, error) {
	r, _, err := s.getSyncRunItem(ctx, accountID, integrationID, runID)
	return r, err
}

func (s *Store) getSyncRunItem(ctx context.Context, accountID, integrationID, runID string) (SyncRun, syncRunItem, error) {
	if accountID == "" || integrationID == "" || runID == "" {
		return SyncRun{}, syncRunItem{}, fmt.Errorf("get sync run %q: %w", runID, ErrNotFound)
	}
	item, err := s.getItem(ctx, SyncRunKey(accountID, integrationID, runID))
	if err != nil {
		return SyncRun{}, syncRunItem{}, fmt.Errorf("get sync run %s: %w", runID, err)
	}
	if item == nil {
		return SyncRun{}, syncRunItem{}, fmt.Errorf("get sync run %s: %w", runID, ErrNotFound)
	}
	return unmarshalSyncRunItem(item)
}

// LatestSyncRun returns the active run if there is one, else the newest run
// (by ID, which is time-ordered); ErrNotFound when the integration has no
// runs. Two calls: GetItem of the state, then GetItem of the active run or
// one Query (newest first, Limit 1).
func (s *Store) LatestSyncRun(ctx context.Context, accountID, integrationID string) (SyncRun, error) {
	if accountID == "" || integrationID == "" {
		return SyncRun{}, fmt.Errorf("latest sync run: %w", ErrNotFound)
	}
	st, err := s.GetSyncState(ctx, accountID, integrationID)
	if err != nil {
		return SyncRun{}, fmt.Errorf("latest sync run: %w", err)
	}
	if st.ActiveRunID != "" {
		r, err := s.GetSyncRun(ctx, accountID, integrationID, st.ActiveRunID)
		if !errors.Is(err, ErrNotFound) {
			return r, err
		}
	}
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(AttrPK).Equal(expression.Value(SyncStateKey(accountID, integrationID).PK)).
			And(expression.Key(AttrSK).BeginsWith(SyncRunListPrefix())),
	).Build()
	if err != nil {
		return SyncRun{}, fmt.Errorf("build latest sync run query: %w", err)
	}
	out, err := s.ddb.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    keyCondition(expr.KeyCondition()),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(1),
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		return SyncRun{}, fmt.Errorf("query latest sync run: %w", err)
	}
	if len(out.Items) == 0 {
		return SyncRun{}, fmt.Errorf("latest sync run of %s: %w", integrationID, ErrNotFound)
	}
	return unmarshalSyncRun(out.Items[0])
}

// ListSyncRuns returns one page of the integration's runs, newest first:
// exactly one Query.
func (s *Store) ListSyncRuns(ctx context.Context, accountID, integrationID string, p PageRequest) (Page[SyncRun], error) {
	if accountID == "" || integrationID == "" {
		return Page[SyncRun]{}, fmt.Errorf("list sync runs: account and integration id are required: %w", ErrInvalid)
	}
	q := listQuery{entity: "sync runs", pk: SyncStateKey(accountID, integrationID).PK, skPrefix: SyncRunListPrefix(), forward: false}
	items, next, err := s.queryPage(ctx, q, p)
	if err != nil {
		return Page[SyncRun]{}, fmt.Errorf("list sync runs: %w", err)
	}
	page := Page[SyncRun]{Items: make([]SyncRun, 0, len(items)), NextCursor: next}
	for _, item := range items {
		r, err := unmarshalSyncRun(item)
		if err != nil {
			return Page[SyncRun]{}, fmt.Errorf("list sync runs: %w", err)
		}
		page.Items = append(page.Items, r)
	}
	return page, nil
}

// AddSyncRunProgress applies delta to an open run atomically and returns the
// run as stored after the update (ReturnValues ALL_NEW), so the caller can
// tell from Complete() whether it closed the run. One UpdateItem (ADD for
// the counters) conditioned on the run existing and not being terminal;
// when delta.Cursor is not above the stored cursor, a second UpdateItem
// without it. A terminal run is ErrRunFinished (with the run); a missing run
// ErrNotFound. With delta.PageKey, a page already counted changes nothing
// (see RunProgress.PageKey).
func (s *Store) AddSyncRunProgress(ctx context.Context, accountID, integrationID, runID string, delta RunProgress) (SyncRun, error) {
	if accountID == "" || integrationID == "" || runID == "" {
		return SyncRun{}, fmt.Errorf("add sync run progress %q: %w", runID, ErrNotFound)
	}
	if delta.Status != "" && delta.Status != RunQueued && delta.Status != RunRunning {
		return SyncRun{}, fmt.Errorf("add sync run progress: status %q: only queued or running (finish with FinishSyncRun): %w", delta.Status, ErrInvalid)
	}
	key := SyncRunKey(accountID, integrationID, runID)
	withCursor := delta.Cursor != nil
	for attempt := 0; ; attempt++ {
		in, err := s.syncProgressInput(key, delta, withCursor)
		if err != nil {
			return SyncRun{}, fmt.Errorf("add sync run progress: %w", err)
		}
		out, err := s.ddb.UpdateItem(ctx, in)
		if err == nil {
			return unmarshalSyncRun(out.Attributes)
		}
		if !isConditionFailed(err) {
			return SyncRun{}, fmt.Errorf("add sync run progress %s: %w", runID, err)
		}
		if withCursor {
			// Most likely the stored cursor is already as high: apply the
			// rest without it (the run's other conditions are re-checked).
			withCursor = false
			continue
		}
		r, it, err := s.getSyncRunItem(ctx, accountID, integrationID, runID)
		if err != nil {
			return SyncRun{}, fmt.Errorf("add sync run progress: %w", err)
		}
		if r.Terminal() {
			return r, fmt.Errorf("add sync run progress %s (%s): %w", runID, r.Status, ErrRunFinished)
		}
		if delta.PageKey != "" && syncContains(it.DonePages, delta.PageKey) {
			return r, nil // this page was counted before: a redelivery
		}
		if attempt >= lockRetries {
			return SyncRun{}, fmt.Errorf("add sync run progress %s: %w", runID, &ConflictError{Reason: ConflictConcurrent, Detail: "run changed concurrently; retry"})
		}
		withCursor = delta.Cursor != nil
	}
}

func syncContains(set []string, v string) bool {
	for _, x := range set {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Store) syncProgressInput(key Key, d RunProgress, withCursor bool) (*dynamodb.UpdateItemInput, error) {
	up := expression.Set(expression.Name("UpdatedAt"), expression.Value(syncTime(s.clock())))
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"PagesTotal", d.PagesTotal}, {"PagesDone", d.PagesDone},
		{"ItemsCreated", d.ItemsCreated}, {"ItemsUpdated", d.ItemsUpdated}, {"ItemsUnchanged", d.ItemsUnchanged},
		{"ItemsFailed", d.ItemsFailed}, {"ItemsConflicted", d.ItemsConflicted},
	} {
		if c.v != 0 {
			up = up.Add(expression.Name(c.name), expression.Value(c.v))
		}
	}
	if d.PlanningDone {
		up = up.Set(expression.Name("PlanningDone"), expression.Value(true))
	}
	if d.Phase != "" {
		up = up.Set(expression.Name("Phase"), expression.Value(d.Phase))
	}
	if d.Status != "" {
		up = up.Set(expression.Name("Status"), expression.Value(d.Status))
	}
	cond := runOpen()
	if d.PageKey != "" {
		up = up.Add(expression.Name("DonePages"), expression.Value(&types.AttributeValueMemberSS{Value: []string{d.PageKey}}))
		cond = cond.And(expression.AttributeNotExists(expression.Name("DonePages")).
			Or(expression.Not(expression.Contains(expression.Name("DonePages"), d.PageKey))))
	}
	if withCursor {
		c := d.Cursor.UTC().Format(syncCursorLayout)
		up = up.Set(expression.Name("Cursor"), expression.Value(c))
		cond = cond.And(expression.AttributeNotExists(expression.Name("Cursor")).
			Or(expression.Name("Cursor").LessThan(expression.Value(c))))
	}
	in, err := s.syncUpdateInput(key, up, &cond)
	if err != nil {
		return nil, fmt.Errorf("build sync run progress update: %w", err)
	}
	in.ReturnValues = types.ReturnValueAllNew
	return in, nil
}

// FinishSyncRun moves an open run to a terminal status (RunSucceeded,
// RunFailed, RunCanceled) and releases the integration's lock, in one
// transaction: the run (condition: not terminal) gets Status, FinishedAt and
// Error; the state (condition: the Version read) loses ActiveRunID when it
// is this run, gets LastRunID, and on success LastSuccessAt and the cursors
// merged in (per content type, the later of stored and given: cursors only
// move forward); its scheduled-sync due keys come back when NextDueAt is
// set. It returns true when this call finished the run; a run already
// terminal is returned unchanged with false (at-least-once delivery makes a
// second finish normal). Calls: GetItem run, GetItem state, one
// TransactWriteItems (repeated when the state moved concurrently). The
// returned run's counters are those read before the transaction.
func (s *Store) FinishSyncRun(ctx context.Context, accountID, integrationID, runID string, status string, errMsg string, cursors map[string]time.Time) (SyncRun, bool, error) {
	if !runTerminal(status) {
		return SyncRun{}, false, fmt.Errorf("finish sync run: status %q is not terminal: %w", status, ErrInvalid)
	}
	for attempt := 0; ; attempt++ {
		r, done, err := s.finishSyncRunOnce(ctx, accountID, integrationID, runID, status, errMsg, cursors)
		if errors.Is(err, errSyncStateMoved) && attempt < lockRetries {
			continue
		}
		return r, done, err
	}
}

func (s *Store) finishSyncRunOnce(ctx context.Context, accountID, integrationID, runID, status, errMsg string, cursors map[string]time.Time) (SyncRun, bool, error) {
	run, err := s.GetSyncRun(ctx, accountID, integrationID, runID)
	if err != nil {
		return SyncRun{}, false, fmt.Errorf("finish sync run: %w", err)
	}
	if run.Terminal() {
		return run, false, nil
	}
	st, err := s.GetSyncState(ctx, accountID, integrationID)
	if err != nil {
		return SyncRun{}, false, fmt.Errorf("finish sync run: %w", err)
	}
	now := s.clock()

	run.Status, run.FinishedAt, run.UpdatedAt = status, &now, now
	runUp := expression.Set(expression.Name("Status"), expression.Value(status)).
		Set(expression.Name("FinishedAt"), expression.Value(syncTime(now))).
		Set(expression.Name("UpdatedAt"), expression.Value(syncTime(now)))
	if errMsg != "" {
		run.Error = syncCap(errMsg, MaxRunErrorBytes)
		runUp = runUp.Set(expression.Name("Error"), expression.Value(run.Error))
	}
	open := runOpen()
	runOp, err := s.syncTxUpdate(entitySyncRun, SyncRunKey(accountID, integrationID, runID), runUp, &open, errSyncRunClosed)
	if err != nil {
		return SyncRun{}, false, fmt.Errorf("finish sync run: %w", err)
	}

	stUp := stateHeader(accountID, integrationID, now).Set(expression.Name("LastRunID"), expression.Value(runID))
	active := st.ActiveRunID
	if active == runID {
		active = ""
		stUp = stUp.Remove(expression.Name("ActiveRunID"))
	}
	if status == RunSucceeded {
		stUp = stUp.Set(expression.Name("LastSuccessAt"), expression.Value(syncTime(now)))
		if len(cursors) > 0 {
			merged := make(map[string]string, len(st.Cursors)+len(cursors))
			for ct, t := range st.Cursors {
				merged[ct] = syncTime(t)
			}
			for ct, t := range cursors {
				if old, ok := st.Cursors[ct]; !ok || t.After(old) {
					merged[ct] = syncTime(t)
				}
			}
			stUp = stUp.Set(expression.Name("Cursors"), expression.Value(merged))
		}
	}
	if active == "" {
		stUp = stateDueKeys(stUp, accountID, integrationID, st.NextDueAt)
	}
	stCond := stateVersionIs(st.Version)
	stOp, err := s.syncTxUpdate(entitySyncState, SyncStateKey(accountID, integrationID), stUp, &stCond, errSyncStateMoved)
	if err != nil {
		return SyncRun{}, false, fmt.Errorf("finish sync run: %w", err)
	}

	err = s.transact(ctx, "finish sync run", []txOp{runOp, stOp})
	switch {
	case err == nil:
		return run, true, nil
	case errors.Is(err, errSyncRunClosed):
		// Someone else finished it between our read and our write.
		again, gerr := s.GetSyncRun(ctx, accountID, integrationID, runID)
		if gerr != nil {
			return SyncRun{}, false, fmt.Errorf("finish sync run: %w", gerr)
		}
		if again.Terminal() {
			return again, false, nil
		}
		return SyncRun{}, false, fmt.Errorf("finish sync run %s: %w", runID, errSyncStateMoved)
	default:
		return SyncRun{}, false, err
	}
}

// SetSyncDue schedules the integration's next sync at next (nil: no
// scheduled sync). The state item (created if missing) gets NextDueAt; its
// GSI1 due keys are set only while no run is active (FinishSyncRun restores
// them from NextDueAt). One UpdateItem; a second when a run is active.
func (s *Store) SetSyncDue(ctx context.Context, accountID, integrationID string, next *time.Time) error {
	if accountID == "" || integrationID == "" {
		return fmt.Errorf("set sync due: account and integration id are required: %w", ErrInvalid)
	}
	key := SyncStateKey(accountID, integrationID)
	for attempt := 0; ; attempt++ {
		now := s.clock()
		// A fresh builder each time: UpdateBuilder copies share their
		// operations, so adding the due keys to one would add them to all.
		base := func() expression.UpdateBuilder {
			up := stateHeader(accountID, integrationID, now)
			if next != nil {
				return up.Set(expression.Name("NextDueAt"), expression.Value(syncTime(*next)))
			}
			return up.Remove(expression.Name("NextDueAt"))
		}
		idle := noActiveRun()
		in, err := s.syncUpdateInput(key, stateDueKeys(base(), accountID, integrationID, next), &idle)
		if err != nil {
			return fmt.Errorf("build set sync due update: %w", err)
		}
		_, err = s.ddb.UpdateItem(ctx, in)
		if err == nil {
			return nil
		}
		if !isConditionFailed(err) {
			return fmt.Errorf("set sync due of %s: %w", integrationID, err)
		}
		// A run is active: record the time only.
		busy := expression.AttributeExists(expression.Name("ActiveRunID")).
			And(expression.Name("ActiveRunID").NotEqual(expression.Value("")))
		in, err = s.syncUpdateInput(key, base(), &busy)
		if err != nil {
			return fmt.Errorf("build set sync due update: %w", err)
		}
		_, err = s.ddb.UpdateItem(ctx, in)
		if err == nil {
			return nil
		}
		if !isConditionFailed(err) {
			return fmt.Errorf("set sync due of %s: %w", integrationID, err)
		}
		if attempt >= lockRetries {
			return fmt.Errorf("set sync due of %s: %w", integrationID, &ConflictError{Reason: ConflictConcurrent, Detail: "sync runs starting and finishing concurrently; retry"})
		}
	}
}

// DueSyncs returns the integrations whose scheduled sync is due at or before
// now (and that have no active run), oldest due first, through queryDue
// (eventually consistent: a run started a moment ago may still show up;
// StartSyncRun then refuses it), at most limitPerShard (≤ 0: 100) states
// per partition.
func (s *Store) DueSyncs(ctx context.Context, now time.Time, limitPerShard int) ([]SyncState, error) {
	if limitPerShard <= 0 {
		limitPerShard = syncDueDefaultLimit
	}
	items, err := s.queryDue(ctx, "due syncs", SyncDuePartitions(), now, limitPerShard)
	if err != nil {
		return nil, err
	}
	out := make([]SyncState, len(items))
	for i, item := range items {
		if out[i], err = unmarshalSyncState(item); err != nil {
			return nil, fmt.Errorf("due syncs: %w", err)
		}
	}
	return out, nil
}
