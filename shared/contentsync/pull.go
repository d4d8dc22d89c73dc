package contentsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/syncworker"
	"github.com/igny8/integrations/shared/wordpress"
)

// perPage is WordPress's maximum page size.
const perPage = 100

// itemWriteConcurrency bounds a page's concurrent DynamoDB item writes.
const itemWriteConcurrency = 8

// pullStatuses asks for every status an editor can see, trash included, so
// deletions in WordPress reach IGNY8 as trashed content.
const pullStatuses = "publish,future,draft,pending,private,trash"

// runJob discovers what to pull, syncs the taxonomies, pulls page 1 of
// each type and fans out the remaining pages.
func (e *Engine) runJob(ctx context.Context, job jobs.Envelope) error {
	p, err := decodePayload[runPayload](job)
	if err != nil {
		return err
	}
	run, err := e.deps.Store.GetSyncRun(ctx, job.AccountID, job.IntegrationID, p.RunID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: run %s is gone", syncworker.ErrPermanent, p.RunID)
	}
	if err != nil {
		return err
	}
	if isTerminal(run.Status) || run.PlanningDone {
		return nil // a redelivery of a run that already planned
	}
	in, client, err := e.site(ctx, job.AccountID, job.IntegrationID)
	if err != nil {
		return e.failRun(ctx, run, err)
	}
	ctx = logging.With(ctx, logging.IntegrationID(in.ID), logging.String("run_id", run.ID))
	cont := continuation{}
	if p.Continuation != nil {
		cont = *p.Continuation
	}
	worked := false // at least one step per invocation, so planning always advances
	if (run.Direction == DirectionPush || run.Direction == DirectionBoth) && !cont.PushesQueued {
		n, err := e.planPush(ctx, in, run)
		if err != nil {
			return err
		}
		e.deps.Logger.InfoContext(ctx, "queued pushes of approved content", logging.String("count", strconv.Itoa(n)))
		cont.PushesQueued, worked = true, true
		if run.Direction == DirectionPush {
			return e.completeJob(ctx, in, run.ID, planJobKey, progressDelta{RunProgress: store.RunProgress{PlanningDone: true, Phase: "pushing", Status: store.RunRunning}})
		}
	}
	types, taxes, err := discover(ctx, client)
	if err != nil {
		return e.failRun(ctx, run, err)
	}
	selected := selectTypes(types, run.ContentTypes)
	state, err := e.deps.Store.GetSyncState(ctx, in.AccountID, in.ID)
	if err != nil {
		return err
	}
	// The first pages are fetched while the taxonomies sync: planning then
	// costs the site's latency a few times, not once per type and taxonomy.
	// They are stored only after the terms, which they refer to.
	var plan [][]pagePayload // per type still to plan, its listings' first pages
	for _, t := range selected {
		page := pagePayload{RunID: run.ID, ContentType: contentTypeOf(t), RESTBase: t.RESTBase, Page: 1, Taxonomies: taxFields(taxes, t)}
		if slices.Contains(cont.DoneTypes, page.ContentType) {
			continue
		}
		passes := []pagePayload{page}
		if run.Mode == ModeIncremental {
			if after := e.modifiedAfter(in, state, page.ContentType); after != nil {
				passes[0].ModifiedAfter = after
				dated := page
				dated.DatedAfter = after
				passes = append(passes, dated)
			}
		}
		plan = append(plan, passes)
	}
	fetchCtx, cancelFetches := context.WithCancel(ctx)
	firstPages, fetchesDone := prefetch(fetchCtx, client, plan)
	// Planning that stops early abandons its fetches, and waits for them to
	// give their site slots back before the invocation may end.
	defer func() { cancelFetches(); fetchesDone() }()
	if !cont.TaxonomiesDone {
		if worked && nearDeadline(ctx) {
			return e.continueRun(ctx, in, run, cont, nil)
		}
		if _, err := e.deps.Store.AddSyncRunProgress(ctx, in.AccountID, in.ID, run.ID, store.RunProgress{Status: store.RunRunning, Phase: "taxonomies"}); err != nil {
			return err
		}
		if err := e.pullTaxonomies(ctx, in, client, taxes, selected); err != nil {
			return e.failRun(ctx, run, err)
		}
		cont.TaxonomiesDone, worked = true, true
	}
	total := progressDelta{RunProgress: cont.Total}
	for i, passes := range plan {
		if worked && nearDeadline(ctx) {
			cont.Total = total.RunProgress
			return e.continueRun(ctx, in, run, cont, nil)
		}
		for j, first := range passes {
			fetched := <-firstPages[i][j]
			if fetched.err != nil {
				return e.failRun(ctx, run, fetched.err)
			}
			// The other pages go out before this one is stored, so other
			// workers pull them while this one writes.
			var fanOut []jobs.Envelope
			for n := 2; n <= fetched.page.totalPages; n++ {
				next := first
				next.Page = n
				env, err := envelope(TypePullPage, in.AccountID, in.ID, pageJobKey(run.ID, first.pass(), n), next)
				if err != nil {
					return err
				}
				fanOut = append(fanOut, env)
			}
			if len(fanOut) > 0 {
				if err := e.deps.Jobs.Send(ctx, fanOut...); err != nil {
					return fmt.Errorf("enqueue %d page jobs: %w", len(fanOut), err)
				}
			}
			res, err := e.storePage(ctx, in, client, first, fetched.page)
			if err != nil {
				return e.failRun(ctx, run, err)
			}
			total.add(res.delta)
			total.PagesTotal += int64(max(res.totalPages, 1))
			total.PagesDone++ // page 1, pulled here
		}
		cont.DoneTypes = append(cont.DoneTypes, passes[0].ContentType)
		worked = true
	}
	total.PlanningDone = true
	total.Phase = "pulling"
	return e.completeJob(ctx, in, run.ID, planJobKey, total)
}

// continueRun queues the page jobs found so far and a run job that picks
// up the planning where this one stopped.
func (e *Engine) continueRun(ctx context.Context, in store.Integration, run store.SyncRun, cont continuation, fanOut []jobs.Envelope) error {
	cont.Seq++
	env, err := envelope(TypeRun, in.AccountID, in.ID, fmt.Sprintf("run:%s:cont:%d", run.ID, cont.Seq), runPayload{RunID: run.ID, Continuation: &cont})
	if err != nil {
		return err
	}
	if err := e.deps.Jobs.Send(ctx, append(fanOut, env)...); err != nil {
		return fmt.Errorf("enqueue the run's continuation: %w", err)
	}
	e.deps.Logger.InfoContext(ctx, "run planning continues in a new job before the deadline", logging.String("step", strconv.Itoa(cont.Seq)))
	return nil
}

// discover reads the site's post types and taxonomies, both at once.
func discover(ctx context.Context, client *wordpress.Client) ([]wordpress.PostType, []wordpress.Taxonomy, error) {
	var (
		taxes  []wordpress.Taxonomy
		taxErr error
		done   = make(chan struct{})
	)
	go func() {
		defer close(done)
		taxes, taxErr = client.Taxonomies(ctx)
	}()
	types, err := client.Types(ctx)
	<-done
	return types, taxes, errors.Join(err, taxErr)
}

// pageFetch is the outcome of one first-page fetch.
type pageFetch struct {
	page fetchedPage
	err  error
}

// prefetch starts fetching every planned first page and returns, for each,
// a channel that delivers its outcome once, and a function that waits for
// every fetch to end. The site's slots, not this function, bound how many
// requests are in flight.
func prefetch(ctx context.Context, client *wordpress.Client, plan [][]pagePayload) ([][]chan pageFetch, func()) {
	var wg sync.WaitGroup
	out := make([][]chan pageFetch, len(plan))
	for i, passes := range plan {
		out[i] = make([]chan pageFetch, len(passes))
		for j, p := range passes {
			ch := make(chan pageFetch, 1)
			out[i][j] = ch
			wg.Go(func() {
				page, err := fetchPage(ctx, client, p)
				ch <- pageFetch{page: page, err: err}
			})
		}
	}
	return out, wg.Wait
}

// pullPageJob pulls one fanned-out page.
func (e *Engine) pullPageJob(ctx context.Context, job jobs.Envelope) error {
	p, err := decodePayload[pagePayload](job)
	if err != nil {
		return err
	}
	run, err := e.deps.Store.GetSyncRun(ctx, job.AccountID, job.IntegrationID, p.RunID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: run %s is gone", syncworker.ErrPermanent, p.RunID)
	}
	if err != nil {
		return err
	}
	if isTerminal(run.Status) {
		return nil
	}
	in, client, err := e.site(ctx, job.AccountID, job.IntegrationID)
	if err != nil {
		return e.failPage(ctx, run, p, err)
	}
	ctx = logging.With(ctx, logging.IntegrationID(in.ID), logging.String("run_id", run.ID))
	res, err := e.pullPage(ctx, in, client, p)
	if err != nil {
		return e.failPage(ctx, run, p, err)
	}
	return e.completeJob(ctx, in, run.ID, pageJobKey(run.ID, p.pass(), p.Page), res.delta)
}

// failPage records a page that cannot be pulled. Temporary failures go back
// to SQS; a permanent one counts the page as done with its failure, so the
// run can still close (as failed items) instead of waiting forever.
func (e *Engine) failPage(ctx context.Context, run store.SyncRun, p pagePayload, err error) error {
	if !wordpress.IsPermanent(err) && !errors.Is(err, syncworker.ErrPermanent) {
		return err
	}
	in := store.Integration{AccountID: run.AccountID, ID: run.IntegrationID}
	e.event(ctx, in, store.SyncEvent{EventType: EventContentPull, Direction: DirectionWPToIGNY8, ContentType: p.ContentType,
		Status: EventFailed, ErrorMessage: errorMessage(err), RunID: run.ID, Metadata: map[string]any{"page": p.Page}})
	if cerr := e.completeJob(ctx, in, run.ID, pageJobKey(run.ID, p.pass(), p.Page), progressDelta{RunProgress: store.RunProgress{ItemsFailed: perPage}}); cerr != nil {
		return cerr
	}
	return fmt.Errorf("%w: %w", syncworker.ErrPermanent, err)
}

func pageJobKey(runID, contentType string, page int) string {
	return "pull:" + runID + ":" + contentType + ":" + strconv.Itoa(page)
}

// pageResult is what pulling one page did.
type pageResult struct {
	totalPages int
	delta      progressDelta
}

// pullPage fetches one page of one type and stores what changed: one list
// request, one media request for the page's featured images, and batched
// lookups for existing content and terms.
func (e *Engine) pullPage(ctx context.Context, in store.Integration, client *wordpress.Client, p pagePayload) (pageResult, error) {
	page, err := fetchPage(ctx, client, p)
	if err != nil {
		return pageResult{}, err
	}
	return e.storePage(ctx, in, client, p, page)
}

// fetchedPage is one listing page, decoded but not yet stored.
type fetchedPage struct {
	totalPages int
	posts      []wpPost
	undecoded  int // items WordPress sent that are not posts we can read
}

// fetchPage is the page's one list request.
func fetchPage(ctx context.Context, client *wordpress.Client, p pagePayload) (fetchedPage, error) {
	bases := make([]string, 0, len(p.Taxonomies))
	for _, t := range p.Taxonomies {
		bases = append(bases, t.RESTBase)
	}
	q := url.Values{
		"context": {"edit"},
		"orderby": {"modified"},
		"order":   {"asc"},
		"status":  {pullStatuses},
		"_fields": {postFields(bases)},
	}
	if p.ModifiedAfter != nil {
		q.Set("modified_after", p.ModifiedAfter.UTC().Format("2006-01-02T15:04:05"))
	}
	if p.DatedAfter != nil {
		// Dated after the cursor but not modified since: exactly the posts
		// the modified-after listing misses, so none is counted twice.
		at := p.DatedAfter.UTC().Format("2006-01-02T15:04:05")
		q.Set("after", at)
		q.Set("modified_before", at)
	}
	var raw []json.RawMessage
	resp, err := client.Do(ctx, wordpress.Request{Method: "GET", Path: "wp/v2/" + p.RESTBase, Query: withPage(q, p.Page), Out: &raw, CacheBust: true})
	if err != nil {
		return fetchedPage{}, fmt.Errorf("pull %s page %d: %w", p.RESTBase, p.Page, err)
	}
	page := fetchedPage{totalPages: resp.TotalPages, posts: make([]wpPost, 0, len(raw))}
	for _, r := range raw {
		post, err := decodePost(r, bases)
		if err != nil {
			page.undecoded++
			continue
		}
		page.posts = append(page.posts, post)
	}
	return page, nil
}

// storePage stores what changed on a fetched page: one media request for
// its featured images, batched lookups of existing content and terms, and
// batched writes.
func (e *Engine) storePage(ctx context.Context, in store.Integration, client *wordpress.Client, p pagePayload, page fetchedPage) (pageResult, error) {
	res := pageResult{totalPages: page.totalPages}
	res.delta.ItemsFailed += int64(page.undecoded)
	posts := page.posts
	if len(posts) == 0 {
		return res, nil
	}
	images, err := e.resolveMedia(ctx, in, client, posts)
	if err != nil {
		return pageResult{}, err
	}
	termIDs, err := e.resolveTerms(ctx, in, p.Taxonomies, posts)
	if err != nil {
		return pageResult{}, err
	}
	wpIDs := make([]int64, 0, len(posts))
	for _, post := range posts {
		wpIDs = append(wpIDs, post.ID)
	}
	contentIDs, err := e.deps.Store.ContentIDsByWordPressID(ctx, in.AccountID, in.ID, wpIDs)
	if err != nil {
		return pageResult{}, err
	}
	ids := make([]string, 0, len(contentIDs))
	for _, id := range contentIDs {
		ids = append(ids, id)
	}
	states, err := e.deps.Store.GetContentSyncStates(ctx, in.AccountID, ids)
	if err != nil {
		return pageResult{}, err
	}
	policy := conflictPolicy(in)
	// Most posts of a page are new or unchanged, which the sync states
	// decide; only the changed ones need their whole metadata.
	type pending struct {
		id            string // the content's
		post          wpPost
		terms         []store.TermRef
		imageID, hash string
	}
	var (
		changed    []pending
		changedIDs []string
		creates    []pulledCreate
	)
	for _, post := range posts {
		var cur *store.ContentSyncState
		if id, ok := contentIDs[post.ID]; ok {
			if st, ok := states[id]; ok {
				cur = &st
			}
		}
		terms := termRefs(post, p.Taxonomies, termIDs)
		imageID := images[post.FeaturedMedia]
		hash := postHash(post, terms, imageID)
		switch decide(cur, post, hash, policy) {
		case decideCreate:
			creates = append(creates, pulledCreate{post: post, content: newPulledContent(in, p.ContentType, post, terms, imageID, hash)})
		case decideUnchanged, decideKeepLocal:
			res.delta.ItemsUnchanged++
		default:
			changed = append(changed, pending{id: cur.ID, post: post, terms: terms, imageID: imageID, hash: hash})
			changedIDs = append(changedIDs, cur.ID)
		}
	}
	var existing map[string]store.Content
	if len(changedIDs) > 0 {
		if existing, err = e.deps.Store.GetContentMetas(ctx, in.AccountID, changedIDs); err != nil {
			return pageResult{}, err
		}
	}
	// New posts are created together, a few transactions for the page;
	// changed ones are independent updates, written several at a time.
	var (
		mu       sync.Mutex
		evts     []store.SyncEvent
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, itemWriteConcurrency)
	)
	// record counts one item's outcome and keeps its event.
	record := func(d progressDelta, evt *store.SyncEvent, err error) {
		mu.Lock()
		defer mu.Unlock()
		res.delta.add(d)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if evt != nil {
			evt.RunID = p.RunID
			evts = append(evts, *evt)
		}
	}
	for _, ch := range changed {
		var cur *store.Content
		if c, ok := existing[ch.id]; ok {
			cur = &c
		}
		post, terms, imageID, hash := ch.post, ch.terms, ch.imageID, ch.hash
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var d progressDelta
			evt, err := e.storePost(ctx, in, p.ContentType, cur, post, terms, imageID, hash, policy, &d)
			record(d, evt, err)
		}()
	}
	if len(creates) > 0 {
		cs := make([]store.Content, len(creates))
		for i, c := range creates {
			cs[i] = c.content
		}
		created, errs := e.deps.Store.CreateContents(ctx, cs)
		for i, c := range creates {
			var d progressDelta
			evt, err := createdOutcome(in, p.ContentType, c.post, created[i], errs[i], &d)
			record(d, evt, err)
		}
	}
	wg.Wait()
	if firstErr != nil {
		return pageResult{}, firstErr
	}
	e.events(ctx, summarizePulls(in, p, evts))
	return res, nil
}

// summarizePulls folds a page's successful pulls into one event that
// counts them and lists their WordPress IDs: a first import of 10,000 posts
// then leaves 100 history entries a person can read, not 10,000, at a
// hundredth of the writes. A page with one success keeps its own event
// (with the content and WordPress IDs); failures and conflicts are always
// one event each, since each needs someone's attention.
func summarizePulls(in store.Integration, p pagePayload, evts []store.SyncEvent) []store.SyncEvent {
	var (
		out       []store.SyncEvent
		successes []store.SyncEvent
	)
	for _, ev := range evts {
		if ev.EventType == EventContentPull && ev.Status == EventSuccess {
			successes = append(successes, ev)
		} else {
			out = append(out, ev)
		}
	}
	if len(successes) < 2 {
		return append(out, successes...)
	}
	byAction := map[string][]int64{}
	for _, ev := range successes {
		action, _ := ev.Metadata["action"].(string)
		byAction[action] = append(byAction[action], ev.ExternalID)
	}
	meta := map[string]any{"page": p.Page, "items": len(successes)}
	for action, ids := range byAction {
		slices.Sort(ids)
		meta[action] = ids
	}
	return append(out, store.SyncEvent{AccountID: in.AccountID, IntegrationID: in.ID, EventType: EventContentPull,
		Direction: DirectionWPToIGNY8, ContentType: p.ContentType, Status: EventSuccess, RunID: p.RunID, Metadata: meta})
}

// pulledCreate is a new post waiting for the page's batched create.
type pulledCreate struct {
	post    wpPost
	content store.Content
}

// newPulledContent is the content item a new WordPress post becomes.
func newPulledContent(in store.Integration, contentType string, post wpPost, terms []store.TermRef, imageID, hash string) store.Content {
	c := store.Content{AccountID: in.AccountID, SiteID: in.SiteID, IntegrationID: in.ID}
	applyPost(&c, post, contentType, terms, imageID, hash)
	c.SyncedVersion = 1
	return c
}

// createdOutcome counts one create and says what its event is.
func createdOutcome(in store.Integration, contentType string, post wpPost, created store.Content, err error, d *progressDelta) (*store.SyncEvent, error) {
	evt := pullEvent(in, contentType, post)
	switch {
	case errors.Is(err, store.ErrConflict):
		// A concurrent page job or a redelivery created it first.
		d.ItemsUnchanged++
		return nil, nil
	case errors.Is(err, store.ErrItemTooLarge) || errors.Is(err, store.ErrInvalid):
		d.ItemsFailed++
		evt.Status, evt.ErrorMessage = EventFailed, err.Error()
		return evt, nil
	case err != nil:
		return nil, fmt.Errorf("create content for post %d: %w", post.ID, err)
	}
	d.ItemsCreated++
	evt.ContentID = created.ID
	evt.Metadata = map[string]any{"action": "created"}
	return evt, nil
}

// pullEvent is the event of pulling one post, before its outcome is known.
func pullEvent(in store.Integration, contentType string, post wpPost) *store.SyncEvent {
	return &store.SyncEvent{AccountID: in.AccountID, IntegrationID: in.ID, EventType: EventContentPull, Direction: DirectionWPToIGNY8, ContentType: contentType, ExternalID: post.ID, Status: EventSuccess}
}

// storePost applies one decision and counts it.
func (e *Engine) storePost(ctx context.Context, in store.Integration, contentType string, cur *store.Content, post wpPost, terms []store.TermRef, imageID, hash, policy string, d *progressDelta) (*store.SyncEvent, error) {
	evt := pullEvent(in, contentType, post)
	switch decide(syncStateOf(cur), post, hash, policy) {
	case decideUnchanged:
		d.ItemsUnchanged++
		return nil, nil
	case decideKeepLocal:
		d.ItemsUnchanged++
		return nil, nil
	case decideCreate:
		created, err := e.deps.Store.CreateContent(ctx, newPulledContent(in, contentType, post, terms, imageID, hash))
		return createdOutcome(in, contentType, post, created, err, d)
	case decideConflict:
		next := *cur
		next.Status = store.ContentConflict
		next.Version = cur.Version
		if _, err := e.deps.Store.UpdateReadContent(ctx, *cur, next, false); err != nil && !errors.Is(err, store.ErrPreconditionFailed) {
			return nil, fmt.Errorf("mark conflict on content %s: %w", cur.ID, err)
		}
		d.ItemsConflicted++
		evt.EventType, evt.ContentID, evt.Status = EventConflict, cur.ID, EventFailed
		evt.ErrorMessage = "changed in both IGNY8 and WordPress since the last sync"
		evt.Metadata = map[string]any{
			"igny8_updated_at": cur.UpdatedAt.UTC().Format(time.RFC3339), "igny8_version": cur.Version,
			"wordpress_modified_gmt": post.ModifiedGMT.UTC().Format(time.RFC3339), "last_synced_modified_gmt": cur.WPModifiedGMT.UTC().Format(time.RFC3339),
		}
		return evt, nil
	}
	next := *cur
	applyPost(&next, post, contentType, terms, imageID, hash)
	next.Version = cur.Version
	next.SyncedVersion = cur.Version + 1
	next.PushIntent = ""
	// cur is the metadata just read, so the update need not read it again.
	// Metadata carries no body to compare with, and the post's hash says
	// something changed: the body is written with the rest.
	if _, err := e.deps.Store.UpdateReadContent(ctx, *cur, next, true); err != nil {
		if errors.Is(err, store.ErrPreconditionFailed) {
			// Edited locally this instant: the next sync decides.
			d.ItemsUnchanged++
			return nil, nil
		}
		return nil, fmt.Errorf("update content %s from post %d: %w", cur.ID, post.ID, err)
	}
	d.ItemsUpdated++
	evt.ContentID = cur.ID
	evt.Metadata = map[string]any{"action": "updated"}
	if post.Status == "trash" {
		evt.Metadata["action"] = "trashed"
	}
	return evt, nil
}

// resolveMedia maps the page's featured media IDs to images, with one
// request for the whole page.
func (e *Engine) resolveMedia(ctx context.Context, in store.Integration, client *wordpress.Client, posts []wpPost) (map[int64]string, error) {
	var ids []int64
	for _, p := range posts {
		if p.FeaturedMedia > 0 && !slices.Contains(ids, p.FeaturedMedia) {
			ids = append(ids, p.FeaturedMedia)
		}
	}
	if len(ids) == 0 {
		return map[int64]string{}, nil
	}
	q := url.Values{"include": {joinIDs(ids)}, "per_page": {strconv.Itoa(perPage)}, "context": {"edit"},
		"_fields": {"id,source_url,alt_text,mime_type,media_details"}}
	var media []struct {
		ID           int64  `json:"id"`
		SourceURL    string `json:"source_url"`
		AltText      string `json:"alt_text"`
		MimeType     string `json:"mime_type"`
		MediaDetails struct {
			Width  int `json:"width"`
			Height int `json:"height"`
		} `json:"media_details"`
	}
	if _, err := client.Get(ctx, "wp/v2/media", q, &media); err != nil {
		return nil, fmt.Errorf("pull featured media: %w", err)
	}
	imgs := make([]store.Image, 0, len(media))
	for _, m := range media {
		imgs = append(imgs, store.Image{AccountID: in.AccountID, SiteID: in.SiteID, ImageURL: m.SourceURL,
			Alt: m.AltText, WordPressMediaID: m.ID, MimeType: m.MimeType, Width: m.MediaDetails.Width, Height: m.MediaDetails.Height})
	}
	return e.deps.Store.UpsertImagesFromWordPress(ctx, in.AccountID, in.SiteID, imgs)
}

// resolveTerms maps the page's term IDs per taxonomy with batched lookups.
func (e *Engine) resolveTerms(ctx context.Context, in store.Integration, taxes []taxField, posts []wpPost) (map[string]map[int64]string, error) {
	out := map[string]map[int64]string{}
	for _, t := range taxes {
		var ids []int64
		for _, p := range posts {
			for _, id := range p.Terms[t.RESTBase] {
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
		}
		if len(ids) == 0 {
			continue
		}
		m, err := e.deps.Store.TermIDsByWordPressID(ctx, in.AccountID, in.SiteID, t.Slug, ids)
		if err != nil {
			return nil, fmt.Errorf("map %s terms: %w", t.Slug, err)
		}
		out[t.Slug] = m
	}
	return out, nil
}

func termRefs(p wpPost, taxes []taxField, ids map[string]map[int64]string) []store.TermRef {
	var refs []store.TermRef
	for _, t := range taxes {
		for _, wpID := range p.Terms[t.RESTBase] {
			if id, ok := ids[t.Slug][wpID]; ok {
				refs = append(refs, store.TermRef{Taxonomy: t.Slug, ID: id})
			}
		}
	}
	return refs
}

// pullTaxonomies syncs every term of the taxonomies the selected types use,
// page by page; unchanged terms cost no write.
func (e *Engine) pullTaxonomies(ctx context.Context, in store.Integration, client *wordpress.Client, taxes []wordpress.Taxonomy, types []wordpress.PostType) error {
	used := map[string]bool{}
	for _, t := range types {
		for _, slug := range t.Taxonomies {
			used[slug] = true
		}
	}
	// Each taxonomy is paged on its own, all at once: a site's categories
	// and tags cost one round of latency, not one each.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, tax := range taxes {
		if !used[tax.Slug] || tax.RESTBase == "" {
			continue
		}
		wg.Go(func() {
			if err := e.pullTaxonomy(ctx, in, client, tax); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("pull %s: %w", tax.Slug, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// pullTaxonomy syncs one taxonomy's terms, page by page.
func (e *Engine) pullTaxonomy(ctx context.Context, in store.Integration, client *wordpress.Client, tax wordpress.Taxonomy) error {
	q := url.Values{"context": {"edit"}, "_fields": {"id,name,slug,parent"}, "orderby": {"id"}}
	return client.EachPage(ctx, "wp/v2/"+tax.RESTBase, q, perPage, func(_ int, _ *wordpress.Response, raw []json.RawMessage) error {
		terms := make([]store.Term, 0, len(raw))
		for _, r := range raw {
			var t struct {
				ID     int64  `json:"id"`
				Name   string `json:"name"`
				Slug   string `json:"slug"`
				Parent int64  `json:"parent"`
			}
			if err := json.Unmarshal(r, &t); err != nil || t.ID <= 0 {
				continue
			}
			terms = append(terms, store.Term{AccountID: in.AccountID, SiteID: in.SiteID, Taxonomy: tax.Slug,
				Name: t.Name, Slug: t.Slug, WordPressID: t.ID, ParentWordPressID: t.Parent})
		}
		_, _, _, err := e.deps.Store.UpsertTermsFromWordPress(ctx, in.AccountID, in.SiteID, terms)
		return err
	})
}

// selectTypes picks the run's types (all content types when none named);
// names may be slugs or REST bases.
func selectTypes(all []wordpress.PostType, names []string) []wordpress.PostType {
	if len(names) == 0 {
		return all
	}
	var out []wordpress.PostType
	for _, t := range all {
		if slices.Contains(names, t.Slug) || slices.Contains(names, t.RESTBase) || slices.Contains(names, contentTypeOf(t)) {
			out = append(out, t)
		}
	}
	return out
}

// contentTypeOf is the content_type the service stores for a post type:
// "post" and "page" by name, custom types by REST base.
func contentTypeOf(t wordpress.PostType) string {
	if t.Slug == "post" || t.Slug == "page" {
		return t.Slug
	}
	return t.RESTBase
}

// taxFields lists the taxonomies of a type with the REST field posts use.
func taxFields(taxes []wordpress.Taxonomy, t wordpress.PostType) []taxField {
	var out []taxField
	for _, tax := range taxes {
		if slices.Contains(t.Taxonomies, tax.Slug) && tax.RESTBase != "" {
			out = append(out, taxField{Slug: tax.Slug, RESTBase: tax.RESTBase})
		}
	}
	return out
}

func withPage(q url.Values, page int) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	out.Set("page", strconv.Itoa(page))
	out.Set("per_page", strconv.Itoa(perPage))
	return out
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}
