package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TimeSlot is one daily publishing window in the site's local time,
// "HH:MM" to "HH:MM" (End may be "24:00").
type TimeSlot struct{ Start, End string }

// PendingPush is a claimed item whose push job is not yet known to be
// enqueued: the claim transaction records it on the settings item (an
// outbox), and the publisher clears it once the job is on the queue, so a
// crash between the two is repaired by the next run.
type PendingPush struct {
	ContentID, IntegrationID string
	ContentVersion           int64
}

// PublishSettings is a site's publishing configuration (the seed's
// PublishingSettings) with the publisher's bookkeeping.
type PublishSettings struct {
	AccountID, SiteID   string
	AutoApprovalEnabled bool
	AutoPublishEnabled  bool
	DailyLimit          int
	WeeklyLimit         int
	MonthlyLimit        int
	// PublishDays are "mon" … "sun".
	PublishDays []string
	TimeSlots   []TimeSlot
	// Timezone is an IANA zone name.
	Timezone string
	// ApprovedWaiting counts the site's approved-queue entries (kept by ADD
	// in the approve and claim transactions; it can run high while entries
	// of content that left "approved" wait to be dropped).
	ApprovedWaiting int64
	// NextCheckAt is when the publisher looks at the site next; nil while
	// the site is not in the due index.
	NextCheckAt *time.Time
	Pending     *PendingPush
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Version is 0 for settings never created (an item holding only the
	// approval counter may exist), 1 after creation, +1 on every update.
	Version int64
}

// ApprovedEntry is one entry of a site's approved queue.
type ApprovedEntry struct {
	AccountID, SiteID, ContentID, IntegrationID string
	ApprovedAt                                  time.Time
	// ContentVersion is the content's version right after approval.
	ContentVersion int64
	key            Key
}

// PublishCounts are a site's publications in the local day, ISO week and
// month of some instant, and the time of that day's last one.
type PublishCounts struct {
	Day, Week, Month int
	LastAt           time.Time
}

// Claim errors.
var (
	// ErrClaimGone: another run claimed the queue entry first.
	ErrClaimGone = errors.New("the approved queue entry was already claimed")
	// ErrClaimStale: the entry's content left "approved" (or was approved
	// again later, with a newer entry) since it was queued.
	ErrClaimStale = errors.New("the queue entry's content is no longer approved as queued")
	// ErrClaimNotDue: the planned time was already served, or the daily
	// limit is reached (another run published first).
	ErrClaimNotDue = errors.New("the planned publication time was already served or the daily limit is reached")
	// ErrClaimLimit: the weekly or monthly limit is reached.
	ErrClaimLimit = errors.New("the weekly or monthly publication limit is reached")
	// ErrClaimBlocked: auto-publish is off, or an earlier claim's push is
	// still pending.
	ErrClaimBlocked = errors.New("auto-publish is off or an earlier claim is pending")
	// ErrPublishSettingsChanged: auto-publish was switched since the caller
	// read the settings; read them again.
	ErrPublishSettingsChanged = errors.New("publishing settings changed concurrently")
)

const (
	entityPublishSettings = "publish_settings"
	entityApprovedEntry   = "approved_entry"
	entityPublishCounter  = "publish_counter"
	// publishCounterGrace is how long a counter outlives its period.
	publishCounterGrace = 35 * 24 * time.Hour
	publishDueLimit     = 100
)

// publishSettingsItem is the read shape of the settings item; writes are
// update expressions (the approval counter is ADDed by other writers).
type publishSettingsItem struct {
	AccountID            string
	SiteID               string
	AutoApprovalEnabled  bool
	AutoPublishEnabled   bool
	DailyLimit           int
	WeeklyLimit          int
	MonthlyLimit         int
	PublishDays          string
	TimeSlots            string
	Timezone             string
	ApprovedWaiting      int64
	NextCheckAt          string
	PendingContentID     string
	PendingIntegrationID string
	PendingVersion       int64
	CreatedAt            string
	UpdatedAt            string
	Version              int64
}

func unmarshalPublishSettings(accountID, siteID string, item map[string]types.AttributeValue) (PublishSettings, error) {
	var it publishSettingsItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return PublishSettings{}, fmt.Errorf("unmarshal publish settings: %w", err)
	}
	ps := PublishSettings{
		AccountID: accountID, SiteID: siteID,
		AutoApprovalEnabled: it.AutoApprovalEnabled, AutoPublishEnabled: it.AutoPublishEnabled,
		DailyLimit: it.DailyLimit, WeeklyLimit: it.WeeklyLimit, MonthlyLimit: it.MonthlyLimit,
		Timezone: it.Timezone, ApprovedWaiting: it.ApprovedWaiting, Version: it.Version,
	}
	if ps.AccountID == "" {
		ps.AccountID, ps.SiteID = it.AccountID, it.SiteID
	}
	if it.PublishDays != "" {
		ps.PublishDays = strings.Split(it.PublishDays, ",")
	}
	if it.TimeSlots != "" {
		for _, s := range strings.Split(it.TimeSlots, ",") {
			start, end, _ := strings.Cut(s, "-")
			ps.TimeSlots = append(ps.TimeSlots, TimeSlot{Start: start, End: end})
		}
	}
	var err error
	if ps.NextCheckAt, err = syncParseOptTime("publish settings next_check_at", it.NextCheckAt); err != nil {
		return PublishSettings{}, err
	}
	if it.PendingContentID != "" {
		ps.Pending = &PendingPush{ContentID: it.PendingContentID, IntegrationID: it.PendingIntegrationID, ContentVersion: it.PendingVersion}
	}
	if it.CreatedAt != "" {
		if ps.CreatedAt, err = contentParseTime(entityPublishSettings, siteID, "created_at", it.CreatedAt); err != nil {
			return PublishSettings{}, err
		}
	}
	if it.UpdatedAt != "" {
		if ps.UpdatedAt, err = contentParseTime(entityPublishSettings, siteID, "updated_at", it.UpdatedAt); err != nil {
			return PublishSettings{}, err
		}
	}
	return ps, nil
}

func joinSlots(slots []TimeSlot) string {
	parts := make([]string, len(slots))
	for i, s := range slots {
		parts[i] = s.Start + "-" + s.End
	}
	return strings.Join(parts, ",")
}

// publishDueKeys sets the site's due-index keys (and NextCheckAt) to next,
// or removes them when next is nil.
func publishDueKeys(up expression.UpdateBuilder, accountID, siteID string, next *time.Time) expression.UpdateBuilder {
	if next == nil {
		return up.Remove(expression.Name(AttrGSI1PK)).Remove(expression.Name(AttrGSI1SK)).Remove(expression.Name("NextCheckAt"))
	}
	ix := PublishDueIndex(accountID, siteID, *next)
	return up.Set(expression.Name(AttrGSI1PK), expression.Value(ix.PK)).
		Set(expression.Name(AttrGSI1SK), expression.Value(ix.SK)).
		Set(expression.Name("NextCheckAt"), expression.Value(syncTime(*next)))
}

func validatePublishKey(what, accountID, siteID string) error {
	if err := contentCheckComponent(what, "account id", accountID, true); err != nil {
		return err
	}
	return contentCheckComponent(what, "site id", siteID, true)
}

// GetPublishSettings reads a site's settings (one consistent GetItem). When
// the settings were never created, found is false and the returned value
// carries only the approval counter.
func (s *Store) GetPublishSettings(ctx context.Context, accountID, siteID string) (ps PublishSettings, found bool, err error) {
	if err := validatePublishKey("get publish settings", accountID, siteID); err != nil {
		return PublishSettings{}, false, err
	}
	item, err := s.getItem(ctx, PublishSettingsKey(accountID, siteID))
	if err != nil {
		return PublishSettings{}, false, fmt.Errorf("get publish settings of %s: %w", siteID, err)
	}
	if item == nil {
		return PublishSettings{AccountID: accountID, SiteID: siteID}, false, nil
	}
	ps, err = unmarshalPublishSettings(accountID, siteID, item)
	if err != nil {
		return PublishSettings{}, false, err
	}
	return ps, ps.Version > 0, nil
}

// SavePublishSettings writes the caller's settings fields in one
// conditional UpdateItem: creation when expectedVersion is 0 (refused with
// a *ConflictError ConflictExists when someone created them first), else an
// update of that version (ErrPreconditionFailed when it moved). The approval
// counter is kept. With auto-publish on, the site enters the due index at
// once (the publisher re-evaluates it on its next tick); with it off the
// site leaves the index.
func (s *Store) SavePublishSettings(ctx context.Context, ps PublishSettings, expectedVersion int64) (PublishSettings, error) {
	if err := validatePublishKey("save publish settings", ps.AccountID, ps.SiteID); err != nil {
		return PublishSettings{}, err
	}
	now := s.clock()
	key := PublishSettingsKey(ps.AccountID, ps.SiteID)
	up := expression.Set(expression.Name("Entity"), expression.Value(entityPublishSettings)).
		Set(expression.Name("AccountID"), expression.Value(ps.AccountID)).
		Set(expression.Name("SiteID"), expression.Value(ps.SiteID)).
		Set(expression.Name("AutoApprovalEnabled"), expression.Value(ps.AutoApprovalEnabled)).
		Set(expression.Name("AutoPublishEnabled"), expression.Value(ps.AutoPublishEnabled)).
		Set(expression.Name("DailyLimit"), expression.Value(ps.DailyLimit)).
		Set(expression.Name("WeeklyLimit"), expression.Value(ps.WeeklyLimit)).
		Set(expression.Name("MonthlyLimit"), expression.Value(ps.MonthlyLimit)).
		Set(expression.Name("PublishDays"), expression.Value(strings.Join(ps.PublishDays, ","))).
		Set(expression.Name("TimeSlots"), expression.Value(joinSlots(ps.TimeSlots))).
		Set(expression.Name("Timezone"), expression.Value(ps.Timezone)).
		Set(expression.Name("UpdatedAt"), expression.Value(contentFormatTime(now))).
		Set(expression.Name("CreatedAt"), expression.IfNotExists(expression.Name("CreatedAt"), expression.Value(contentFormatTime(now)))).
		Add(expression.Name("Version"), expression.Value(1))
	var next *time.Time
	if ps.AutoPublishEnabled {
		next = &now
	}
	up = publishDueKeys(up, ps.AccountID, ps.SiteID, next)
	var cond expression.ConditionBuilder
	var onFail error
	if expectedVersion == 0 {
		cond = expression.AttributeNotExists(expression.Name("Version"))
		onFail = &ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("publishing settings of site %s already exist", ps.SiteID)}
	} else {
		cond = expression.Name("Version").Equal(expression.Value(expectedVersion))
		onFail = fmt.Errorf("publishing settings of site %s: version %d changed: %w", ps.SiteID, expectedVersion, ErrPreconditionFailed)
	}
	in, err := s.syncUpdateInput(key, up, &cond)
	if err != nil {
		return PublishSettings{}, fmt.Errorf("build publish settings update: %w", err)
	}
	in.ReturnValues = types.ReturnValueAllNew
	out, err := s.ddb.UpdateItem(ctx, in)
	if err != nil {
		if isConditionFailed(err) {
			return PublishSettings{}, fmt.Errorf("save publish settings: %w", onFail)
		}
		return PublishSettings{}, fmt.Errorf("save publish settings of %s: %w", ps.SiteID, err)
	}
	return unmarshalPublishSettings(ps.AccountID, ps.SiteID, out.Attributes)
}

// ApproveContent records an approval: one transaction that writes the
// metadata c (Status approved, ApprovedAt set; c.Version is the version the
// caller read), puts the site's approved-queue entry and adds one to the
// settings' approval counter. autoPublish is what the caller read from the
// settings: when true the site also enters the due index (keeping an
// earlier due time), and the transaction is conditioned on it, so a
// concurrent switch is ErrPublishSettingsChanged and the caller reads again.
func (s *Store) ApproveContent(ctx context.Context, c Content, autoPublish bool) (Content, error) {
	if c.Status != ContentApproved || c.ApprovedAt == nil || c.Version == 0 {
		return Content{}, fmt.Errorf("approve content: status approved, approved_at and the read version are required: %w", ErrInvalid)
	}
	if err := validateContent(c); err != nil {
		return Content{}, fmt.Errorf("approve content: %w", err)
	}
	next := c
	next.UpdatedAt = s.clock()
	next.Version = c.Version + 1
	next = contentNormalize(next)
	meta, err := marshalContentMeta(next)
	if err != nil {
		return Content{}, fmt.Errorf("approve content: %w", err)
	}
	stale := fmt.Errorf("approve content %s: version %d changed concurrently: %w", c.ID, c.Version, ErrPreconditionFailed)
	put, err := s.txPut(entityContent, meta, versionIs(c.Version), stale)
	if err != nil {
		return Content{}, fmt.Errorf("approve content: %w", err)
	}
	entry := ApprovedEntry{AccountID: c.AccountID, SiteID: c.SiteID, ContentID: c.ID, IntegrationID: c.IntegrationID,
		ApprovedAt: *next.ApprovedAt, ContentVersion: next.Version}
	entryAV, err := marshalApprovedEntry(entry)
	if err != nil {
		return Content{}, fmt.Errorf("approve content: %w", err)
	}
	queue, err := s.txPut(entityApprovedEntry, entryAV, nil, nil)
	if err != nil {
		return Content{}, fmt.Errorf("approve content: %w", err)
	}
	up := expression.Add(expression.Name("ApprovedWaiting"), expression.Value(1))
	var cond expression.ConditionBuilder
	if autoPublish {
		ix := PublishDueIndex(c.AccountID, c.SiteID, next.UpdatedAt)
		up = up.Set(expression.Name(AttrGSI1PK), expression.Value(ix.PK)).
			Set(expression.Name(AttrGSI1SK), expression.IfNotExists(expression.Name(AttrGSI1SK), expression.Value(ix.SK))).
			Set(expression.Name("NextCheckAt"), expression.IfNotExists(expression.Name("NextCheckAt"), expression.Value(syncTime(next.UpdatedAt))))
		cond = expression.Name("AutoPublishEnabled").Equal(expression.Value(true))
	} else {
		cond = expression.AttributeNotExists(expression.Name("AutoPublishEnabled")).Or(expression.Name("AutoPublishEnabled").Equal(expression.Value(false)))
	}
	settings, err := s.syncTxUpdate(entityPublishSettings, PublishSettingsKey(c.AccountID, c.SiteID), up, &cond,
		fmt.Errorf("approve content %s: %w", c.ID, ErrPublishSettingsChanged))
	if err != nil {
		return Content{}, fmt.Errorf("approve content: %w", err)
	}
	if err := s.transact(ctx, "approve content", []txOp{put, queue, settings}); err != nil {
		return Content{}, err
	}
	return next, nil
}

type approvedEntryItem struct {
	PK, SK         string
	Entity         string
	AccountID      string
	SiteID         string
	ContentID      string
	IntegrationID  string
	ApprovedAt     string
	ContentVersion int64
}

func marshalApprovedEntry(e ApprovedEntry) (map[string]types.AttributeValue, error) {
	key := ApprovedQueueKey(e.AccountID, e.SiteID, e.ContentID, e.ApprovedAt)
	return contentMarshalAV(entityApprovedEntry, approvedEntryItem{
		PK: key.PK, SK: key.SK, Entity: entityApprovedEntry, AccountID: e.AccountID, SiteID: e.SiteID,
		ContentID: e.ContentID, IntegrationID: e.IntegrationID, ApprovedAt: contentFormatTime(e.ApprovedAt), ContentVersion: e.ContentVersion,
	})
}

func unmarshalApprovedEntry(item map[string]types.AttributeValue) (ApprovedEntry, error) {
	var it approvedEntryItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return ApprovedEntry{}, fmt.Errorf("unmarshal approved entry: %w", err)
	}
	at, err := contentParseTime(entityApprovedEntry, it.ContentID, "approved_at", it.ApprovedAt)
	if err != nil {
		return ApprovedEntry{}, err
	}
	return ApprovedEntry{AccountID: it.AccountID, SiteID: it.SiteID, ContentID: it.ContentID, IntegrationID: it.IntegrationID,
		ApprovedAt: at, ContentVersion: it.ContentVersion, key: Key{PK: it.PK, SK: it.SK}}, nil
}

// OldestApproved returns up to n of the site's approved-queue entries,
// oldest approval first: one strongly consistent Query (Limit n) per queue
// shard, in parallel, merged.
func (s *Store) OldestApproved(ctx context.Context, accountID, siteID string, n int) ([]ApprovedEntry, error) {
	if err := validatePublishKey("oldest approved", accountID, siteID); err != nil {
		return nil, err
	}
	if n <= 0 {
		n = 1
	}
	parts := ApprovedQueuePartitions(accountID, siteID)
	found := make([][]map[string]types.AttributeValue, len(parts))
	err := syncFanOut(ctx, len(parts), func(ctx context.Context, i int) error {
		expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(parts[i]))).Build()
		if err != nil {
			return fmt.Errorf("build approved queue query: %w", err)
		}
		out, err := s.ddb.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    keyCondition(expr.KeyCondition()),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ScanIndexForward:          aws.Bool(true),
			ConsistentRead:            aws.Bool(true),
			Limit:                     aws.Int32(int32(n)),
		})
		if err != nil {
			return fmt.Errorf("query approved queue shard %d: %w", i, err)
		}
		found[i] = out.Items
		return nil
	})
	if err != nil {
		return nil, err
	}
	var all []ApprovedEntry
	for _, items := range found {
		for _, item := range items {
			e, err := unmarshalApprovedEntry(item)
			if err != nil {
				return nil, err
			}
			all = append(all, e)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].key.SK < all[j].key.SK })
	if len(all) > n {
		all = all[:n]
	}
	return all, nil
}

// Claim is one publication the publisher is about to make.
type Claim struct {
	Entry ApprovedEntry
	// Now is the claim time; Local is Now in the site's zone (it names the
	// day, ISO week and month counters).
	Now   time.Time
	Local time.Time
	// Planned is the planned publication time being served: the claim
	// fails if the day's last publication is at or after it.
	Planned                time.Time
	Daily, Weekly, Monthly int
}

// ClaimApproved claims the queue entry for publication in one transaction:
// delete the entry (it must exist), check the content is still approved
// as queued, add one to the day, ISO week and month counters each only
// while below its limit (the day's also only while its last publication is
// before the planned time), take one from the approval counter and record
// the pending push on the settings (only while auto-publish is on and no
// earlier push is pending). Concurrent or repeated runs therefore never
// exceed a limit, serve one planned time twice or claim one item twice.
// Failures are ErrClaimGone, ErrClaimStale, ErrClaimNotDue, ErrClaimLimit
// or ErrClaimBlocked (wrapped).
func (s *Store) ClaimApproved(ctx context.Context, c Claim) error {
	e := c.Entry
	del, err := s.txDelete(entityApprovedEntry, e.key, ptr(expression.AttributeExists(expression.Name(AttrPK))), ErrClaimGone)
	if err != nil {
		return err
	}
	check, err := s.txConditionCheck(entityContent, ContentKey(e.AccountID, e.ContentID),
		expression.Name("Status").Equal(expression.Value(ContentApproved)).
			And(expression.Name("ApprovedAt").Equal(expression.Value(contentFormatTime(e.ApprovedAt)))), ErrClaimStale)
	if err != nil {
		return err
	}
	ops := []txOp{del, check}
	for _, p := range []struct {
		period string
		limit  int
		length time.Duration
		onFail error
	}{
		{PeriodDay, c.Daily, 24 * time.Hour, ErrClaimNotDue},
		{PeriodWeek, c.Weekly, 7 * 24 * time.Hour, ErrClaimLimit},
		{PeriodMonth, c.Monthly, 31 * 24 * time.Hour, ErrClaimLimit},
	} {
		up := expression.Add(expression.Name("Count"), expression.Value(1)).
			Set(expression.Name("Entity"), expression.Value(entityPublishCounter)).
			Set(expression.Name(AttrTTL), expression.Value(c.Now.Add(p.length+publishCounterGrace).Unix()))
		cond := expression.AttributeNotExists(expression.Name("Count")).Or(expression.Name("Count").LessThan(expression.Value(p.limit)))
		if p.limit <= 0 {
			cond = expression.AttributeExists(expression.Name("Never")).And(expression.AttributeNotExists(expression.Name("Never")))
		}
		if p.period == PeriodDay {
			up = up.Set(expression.Name("LastAt"), expression.Value(c.Now.UnixMilli()))
			cond = cond.And(expression.AttributeNotExists(expression.Name("LastAt")).Or(expression.Name("LastAt").LessThan(expression.Value(c.Planned.UnixMilli()))))
		}
		op, err := s.syncTxUpdate(entityPublishCounter, PublishCounterKey(e.AccountID, e.SiteID, c.Local, p.period), up, &cond, p.onFail)
		if err != nil {
			return err
		}
		ops = append(ops, op)
	}
	up := expression.Add(expression.Name("ApprovedWaiting"), expression.Value(-1)).
		Set(expression.Name("PendingContentID"), expression.Value(e.ContentID)).
		Set(expression.Name("PendingIntegrationID"), expression.Value(e.IntegrationID)).
		Set(expression.Name("PendingVersion"), expression.Value(e.ContentVersion))
	cond := expression.AttributeNotExists(expression.Name("PendingContentID")).And(expression.Name("AutoPublishEnabled").Equal(expression.Value(true)))
	settings, err := s.syncTxUpdate(entityPublishSettings, PublishSettingsKey(e.AccountID, e.SiteID), up, &cond, ErrClaimBlocked)
	if err != nil {
		return err
	}
	ops = append(ops, settings)
	return s.transact(ctx, "claim approved content "+e.ContentID, ops)
}

// DropApproved removes a stale queue entry (its content left "approved")
// and takes one from the approval counter, in one transaction; an entry
// already gone is not an error.
func (s *Store) DropApproved(ctx context.Context, e ApprovedEntry) error {
	del, err := s.txDelete(entityApprovedEntry, e.key, ptr(expression.AttributeExists(expression.Name(AttrPK))), ErrClaimGone)
	if err != nil {
		return err
	}
	settings, err := s.syncTxUpdate(entityPublishSettings, PublishSettingsKey(e.AccountID, e.SiteID),
		expression.Add(expression.Name("ApprovedWaiting"), expression.Value(-1)), nil, nil)
	if err != nil {
		return err
	}
	err = s.transact(ctx, "drop stale approved entry "+e.ContentID, []txOp{del, settings})
	if errors.Is(err, ErrClaimGone) {
		return nil
	}
	return err
}

// ClearPendingPush removes the settings' pending push (once its job is on
// the queue) and moves the site's due time to next in one UpdateItem. When
// drained is true and no approved entry waits any more (ApprovedWaiting ≤
// 0), the site leaves the due index instead; if approvals arrived
// meanwhile, a second UpdateItem keeps it due at next.
func (s *Store) ClearPendingPush(ctx context.Context, accountID, siteID, contentID string, next *time.Time, drained bool) error {
	pending := expression.Name("PendingContentID").Equal(expression.Value(contentID))
	return s.moveDue(ctx, accountID, siteID, &pending, next, drained, true)
}

// MoveDue moves the site's due time to next (nil: out of the index) while
// auto-publish is on; drained removes it from the index only while no
// approved entry waits. A site whose settings changed meanwhile keeps what
// the settings write decided.
func (s *Store) MoveDue(ctx context.Context, accountID, siteID string, next *time.Time, drained bool) error {
	return s.moveDue(ctx, accountID, siteID, nil, next, drained, false)
}

func (s *Store) moveDue(ctx context.Context, accountID, siteID string, extra *expression.ConditionBuilder, next *time.Time, drained, clearPending bool) error {
	key := PublishSettingsKey(accountID, siteID)
	update := func(up expression.UpdateBuilder, cond expression.ConditionBuilder) (bool, error) {
		if clearPending {
			up = up.Remove(expression.Name("PendingContentID")).Remove(expression.Name("PendingIntegrationID")).Remove(expression.Name("PendingVersion"))
		}
		if extra != nil {
			cond = cond.And(*extra)
		}
		in, err := s.syncUpdateInput(key, up, &cond)
		if err != nil {
			return false, fmt.Errorf("build publish due update: %w", err)
		}
		_, err = s.ddb.UpdateItem(ctx, in)
		if err == nil {
			return true, nil
		}
		if isConditionFailed(err) {
			return false, nil
		}
		return false, fmt.Errorf("move publish due of %s: %w", siteID, err)
	}
	autoOn := func() expression.ConditionBuilder {
		return expression.Name("AutoPublishEnabled").Equal(expression.Value(true))
	}
	if drained || next == nil {
		// Leave the index only while nothing waits.
		empty := expression.AttributeNotExists(expression.Name("ApprovedWaiting")).Or(expression.Name("ApprovedWaiting").LessThanEqual(expression.Value(0)))
		var leave expression.ConditionBuilder
		if next == nil {
			// Nothing can ever be due under these settings: leave whatever waits.
			leave = autoOn()
		} else {
			leave = autoOn().And(empty)
		}
		if done, err := update(publishDueKeys(expression.UpdateBuilder{}, accountID, siteID, nil), leave); done || err != nil {
			return err
		}
	}
	if next != nil {
		if done, err := update(publishDueKeys(expression.UpdateBuilder{}, accountID, siteID, next), autoOn()); done || err != nil {
			return err
		}
	}
	if clearPending {
		// Auto-publish was switched off meanwhile (its settings write took
		// the site out of the index): only clear the push just sent.
		_, err := update(expression.Set(expression.Name("Entity"), expression.Value(entityPublishSettings)), expression.AttributeExists(expression.Name("PendingContentID")))
		return err
	}
	return nil
}

// ResetApprovedWaiting sets the approval counter to 0 and takes the site out
// of the due index, when the counter still holds observed (the caller found
// the queue empty with consistent reads).
func (s *Store) ResetApprovedWaiting(ctx context.Context, accountID, siteID string, observed int64) error {
	up := publishDueKeys(expression.Set(expression.Name("ApprovedWaiting"), expression.Value(0)), accountID, siteID, nil)
	cond := expression.Name("ApprovedWaiting").Equal(expression.Value(observed))
	in, err := s.syncUpdateInput(PublishSettingsKey(accountID, siteID), up, &cond)
	if err != nil {
		return fmt.Errorf("build approved counter reset: %w", err)
	}
	if _, err := s.ddb.UpdateItem(ctx, in); err != nil && !isConditionFailed(err) {
		return fmt.Errorf("reset approved counter of %s: %w", siteID, err)
	}
	return nil
}

// GetPublishCounts reads the site's day, ISO week and month counters of
// the local time local: one consistent BatchGetItem.
func (s *Store) GetPublishCounts(ctx context.Context, accountID, siteID string, local time.Time) (PublishCounts, error) {
	keys := []Key{
		PublishCounterKey(accountID, siteID, local, PeriodDay),
		PublishCounterKey(accountID, siteID, local, PeriodWeek),
		PublishCounterKey(accountID, siteID, local, PeriodMonth),
	}
	items, err := s.contentBatchGet(ctx, "publish counters", keys)
	if err != nil {
		return PublishCounts{}, err
	}
	var out PublishCounts
	for _, item := range items {
		var it struct {
			SK     string
			Count  int
			LastAt int64
		}
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return PublishCounts{}, fmt.Errorf("unmarshal publish counter: %w", err)
		}
		switch it.SK {
		case keys[0].SK:
			out.Day = it.Count
			if it.LastAt > 0 {
				out.LastAt = time.UnixMilli(it.LastAt).UTC()
			}
		case keys[1].SK:
			out.Week = it.Count
		case keys[2].SK:
			out.Month = it.Count
		}
	}
	return out, nil
}

// DueSites returns the settings of the sites due a publisher visit at or
// before now, oldest due first: Queries of each DueShards partition of
// GSI1, paged, in parallel (eventually consistent: every decision is
// re-checked by a condition), at most limitPerShard (≤ 0: 100) per
// partition.
func (s *Store) DueSites(ctx context.Context, now time.Time, limitPerShard int) ([]PublishSettings, error) {
	if limitPerShard <= 0 {
		limitPerShard = publishDueLimit
	}
	items, err := s.queryDue(ctx, "due sites", PublishDuePartitions(), now, limitPerShard)
	if err != nil {
		return nil, err
	}
	out := make([]PublishSettings, 0, len(items))
	for _, item := range items {
		ps, err := unmarshalPublishSettings("", "", item)
		if err != nil {
			return nil, fmt.Errorf("due sites: %w", err)
		}
		if ps.AccountID == "" || ps.SiteID == "" {
			continue // an approval counter without settings cannot be due
		}
		out = append(out, ps)
	}
	return out, nil
}

// queryDue reads a sharded due index: the items of each partition of GSI1
// whose due time (GSI1SK) is at or before now, at most limitPerShard per
// partition (paged), the partitions in parallel, all of them oldest due
// first. Reads are eventually consistent: callers re-check every decision
// with a condition.
func (s *Store) queryDue(ctx context.Context, what string, parts []string, now time.Time, limitPerShard int) ([]map[string]types.AttributeValue, error) {
	found := make([][]map[string]types.AttributeValue, len(parts))
	err := syncFanOut(ctx, len(parts), func(ctx context.Context, i int) error {
		expr, err := expression.NewBuilder().WithKeyCondition(
			expression.Key(AttrGSI1PK).Equal(expression.Value(parts[i])).
				And(expression.Key(AttrGSI1SK).LessThanEqual(expression.Value(DueBound(now)))),
		).Build()
		if err != nil {
			return fmt.Errorf("build %s query: %w", what, err)
		}
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			IndexName:                 aws.String(IndexGSI1),
			KeyConditionExpression:    keyCondition(expr.KeyCondition()),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ScanIndexForward:          aws.Bool(true),
			Limit:                     aws.Int32(int32(limitPerShard)),
		}
		for {
			out, err := s.ddb.Query(ctx, in)
			if err != nil {
				return fmt.Errorf("query %s shard %d: %w", what, i, err)
			}
			found[i] = append(found[i], out.Items...)
			if len(out.LastEvaluatedKey) == 0 || len(found[i]) >= limitPerShard {
				return nil
			}
			in.ExclusiveStartKey = out.LastEvaluatedKey
		}
	})
	if err != nil {
		return nil, err
	}
	type due struct {
		sk   string
		item map[string]types.AttributeValue
	}
	var all []due
	for _, items := range found {
		for _, item := range items {
			sk, _ := item[AttrGSI1SK].(*types.AttributeValueMemberS)
			if sk == nil {
				continue // kumo can return index items without the sort key
			}
			all = append(all, due{sk: sk.Value, item: item})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].sk < all[j].sk })
	out := make([]map[string]types.AttributeValue, len(all))
	for i, d := range all {
		out[i] = d.item
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }
