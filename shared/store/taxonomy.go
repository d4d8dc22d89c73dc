package store

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Term field limits (WordPress's own: names and slugs are at most 200
// characters).
const (
	MaxTermNameChars = 200
	MaxTermSlugChars = 200
)

// Term is one taxonomy term of a site: a category, a tag or a custom
// taxonomy's term. Each lives in its own partition; a site's terms are
// listed through a sharded GSI1 ordered by taxonomy, then slug.
type Term struct {
	AccountID string
	SiteID    string
	ID        string
	// Taxonomy is "category", "post_tag" or a custom taxonomy's slug.
	Taxonomy string
	Name     string
	Slug     string
	// ParentID is the parent Term's ID ("" for none or not yet known).
	ParentID string
	// ParentWordPressID is the parent's WordPress term ID as pulled (0 for
	// none). UpsertTermsFromWordPress resolves it to ParentID when the
	// parent is in the same page or already stored; a parent pulled after
	// its child is linked when the child is pulled again.
	ParentWordPressID int64
	// WordPressID is the term's WordPress ID (0 for a local term not pushed
	// yet).
	WordPressID int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Version is the optimistic-locking version: 1 after create, +1 on
	// every update.
	Version int64
}

// TermStore is what the API and the sync functions need from the store for
// taxonomy terms.
type TermStore interface {
	UpsertTermsFromWordPress(ctx context.Context, accountID, siteID string, terms []Term) (created, updated, unchanged int, err error)
	TermIDsByWordPressID(ctx context.Context, accountID, siteID, taxonomy string, wpIDs []int64) (map[int64]string, error)
	GetTerm(ctx context.Context, accountID, siteID, id string) (Term, error)
	GetTerms(ctx context.Context, accountID, siteID string, ids []string) (map[string]Term, error)
	CreateTerm(ctx context.Context, t Term) (Term, error)
	SetTermWordPressID(ctx context.Context, accountID, siteID, id string, wpID int64) (Term, error)
	ListTerms(ctx context.Context, accountID, siteID, taxonomy string, p PageRequest) (Page[Term], error)
}

var _ TermStore = (*Store)(nil)

const (
	entityTerm       = "term"
	entityTermLookup = "term_wp"
)

// termItem is the stored shape of a Term.
type termItem struct {
	PK, SK            string
	GSI1PK, GSI1SK    string
	Entity            string
	AccountID         string
	SiteID            string
	ID                string
	Taxonomy          string
	Name              string
	Slug              string `dynamodbav:",omitempty"`
	ParentID          string `dynamodbav:",omitempty"`
	ParentWordPressID int64  `dynamodbav:",omitempty"`
	WordPressID       int64  `dynamodbav:",omitempty"`
	CreatedAt         string
	UpdatedAt         string
	Version           int64
}

// termLookupItem maps (site, taxonomy, WordPress term ID) to a term ID.
type termLookupItem struct {
	PK, SK      string
	Entity      string
	TaxonomyID  string
	WordPressID int64
}

// termRef names a term by taxonomy and WordPress ID.
type termRef struct {
	taxonomy string
	wpID     int64
}

func validateTerm(t Term) error {
	for _, f := range []struct {
		name, v  string
		required bool
	}{
		{"account id", t.AccountID, true},
		{"site id", t.SiteID, true},
		{"id", t.ID, false},
		{"taxonomy", t.Taxonomy, true},
		{"parent id", t.ParentID, false},
	} {
		if err := contentCheckComponent("term", f.name, f.v, f.required); err != nil {
			return err
		}
	}
	switch {
	case t.Name == "":
		return fmt.Errorf("term name is required: %w", ErrInvalid)
	case utf8.RuneCountInString(t.Name) > MaxTermNameChars:
		return fmt.Errorf("term name is over %d characters: %w", MaxTermNameChars, ErrInvalid)
	case utf8.RuneCountInString(t.Slug) > MaxTermSlugChars:
		return fmt.Errorf("term slug is over %d characters: %w", MaxTermSlugChars, ErrInvalid)
	case t.WordPressID < 0 || t.ParentWordPressID < 0:
		return fmt.Errorf("term wordpress ids must not be negative: %w", ErrInvalid)
	}
	return nil
}

func marshalTerm(t Term) (map[string]types.AttributeValue, error) {
	key := TaxonomyKey(t.AccountID, t.SiteID, t.ID)
	bySite := TaxonomyBySiteIndex(t.AccountID, t.SiteID, t.Taxonomy, t.Slug, t.ID)
	return contentMarshalAV(entityTerm, termItem{
		PK: key.PK, SK: key.SK,
		GSI1PK: bySite.PK, GSI1SK: bySite.SK,
		Entity:            entityTerm,
		AccountID:         t.AccountID,
		SiteID:            t.SiteID,
		ID:                t.ID,
		Taxonomy:          t.Taxonomy,
		Name:              t.Name,
		Slug:              t.Slug,
		ParentID:          t.ParentID,
		ParentWordPressID: t.ParentWordPressID,
		WordPressID:       t.WordPressID,
		CreatedAt:         contentFormatTime(t.CreatedAt),
		UpdatedAt:         contentFormatTime(t.UpdatedAt),
		Version:           t.Version,
	})
}

func unmarshalTerm(item map[string]types.AttributeValue) (Term, error) {
	var it termItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Term{}, fmt.Errorf("unmarshal term: %w", err)
	}
	t := Term{
		AccountID:         it.AccountID,
		SiteID:            it.SiteID,
		ID:                it.ID,
		Taxonomy:          it.Taxonomy,
		Name:              it.Name,
		Slug:              it.Slug,
		ParentID:          it.ParentID,
		ParentWordPressID: it.ParentWordPressID,
		WordPressID:       it.WordPressID,
		Version:           it.Version,
	}
	var err error
	if t.CreatedAt, err = contentParseTime(entityTerm, it.ID, "created_at", it.CreatedAt); err != nil {
		return Term{}, err
	}
	if t.UpdatedAt, err = contentParseTime(entityTerm, it.ID, "updated_at", it.UpdatedAt); err != nil {
		return Term{}, err
	}
	return t, nil
}

func termLookupAV(t Term) (map[string]types.AttributeValue, error) {
	key := TaxonomyWordPressKey(t.AccountID, t.SiteID, t.Taxonomy, t.WordPressID)
	return contentMarshalAV(entityTermLookup, termLookupItem{
		PK: key.PK, SK: key.SK, Entity: entityTermLookup, TaxonomyID: t.ID, WordPressID: t.WordPressID,
	})
}

func termWPTaken(t Term) error {
	return &ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("WordPress %s term %d already belongs to another term", t.Taxonomy, t.WordPressID)}
}

// termIDsByRef reads the lookup items of refs (BatchGetItem).
func (s *Store) termIDsByRef(ctx context.Context, accountID, siteID string, refs []termRef) (map[termRef]string, error) {
	return lookupIDs(ctx, s, "term lookups", refs, func(r termRef) Key { return TaxonomyWordPressKey(accountID, siteID, r.taxonomy, r.wpID) }, "TaxonomyID")
}

// TermIDsByWordPressID maps WordPress term IDs of one taxonomy of a site to
// term IDs; unknown terms are absent. Strongly consistent BatchGetItem calls
// of at most 100 lookup keys.
func (s *Store) TermIDsByWordPressID(ctx context.Context, accountID, siteID, taxonomy string, wpIDs []int64) (map[int64]string, error) {
	if accountID == "" || siteID == "" || taxonomy == "" {
		return nil, fmt.Errorf("term ids by wordpress id: account, site and taxonomy are required: %w", ErrInvalid)
	}
	refs := make([]termRef, len(wpIDs))
	for i, wp := range wpIDs {
		refs[i] = termRef{taxonomy: taxonomy, wpID: wp}
	}
	found, err := s.termIDsByRef(ctx, accountID, siteID, refs)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(found))
	for r, id := range found {
		out[r.wpID] = id
	}
	return out, nil
}

// GetTerm returns one term of the account's site (strongly consistent
// GetItem); another account's or site's term is ErrNotFound.
func (s *Store) GetTerm(ctx context.Context, accountID, siteID, id string) (Term, error) {
	if accountID == "" || siteID == "" || id == "" {
		return Term{}, fmt.Errorf("get term %q: %w", id, ErrNotFound)
	}
	item, err := s.getItem(ctx, TaxonomyKey(accountID, siteID, id))
	if err != nil {
		return Term{}, fmt.Errorf("get term %s: %w", id, err)
	}
	if item == nil {
		return Term{}, fmt.Errorf("get term %s: %w", id, ErrNotFound)
	}
	return unmarshalTerm(item)
}

// GetTerms returns the site's terms ids, keyed by ID; missing IDs are
// absent. Strongly consistent BatchGetItem calls of at most 100 keys.
func (s *Store) GetTerms(ctx context.Context, accountID, siteID string, ids []string) (map[string]Term, error) {
	if accountID == "" || siteID == "" {
		return nil, fmt.Errorf("get terms: account and site are required: %w", ErrInvalid)
	}
	keys := make([]Key, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			keys = append(keys, TaxonomyKey(accountID, siteID, id))
		}
	}
	items, err := s.contentBatchGet(ctx, "terms", keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Term, len(items))
	for _, item := range items {
		t, err := unmarshalTerm(item)
		if err != nil {
			return nil, err
		}
		out[t.ID] = t
	}
	return out, nil
}

// CreateTerm stores a new term: a local one (WordPressID 0: one conditional
// PutItem) or one just created in WordPress (one transaction with its
// WordPress lookup; a WordPress term that already has a term is a
// *ConflictError, ConflictExists). ID is generated when empty; CreatedAt,
// UpdatedAt and Version (1) are set here.
func (s *Store) CreateTerm(ctx context.Context, t Term) (Term, error) {
	if err := validateTerm(t); err != nil {
		return Term{}, fmt.Errorf("create term: %w", err)
	}
	if t.ID == "" {
		t.ID = s.newID()
	}
	now := s.clock()
	t.CreatedAt, t.UpdatedAt, t.Version = now, now, 1
	item, err := marshalTerm(t)
	if err != nil {
		return Term{}, fmt.Errorf("create term: %w", err)
	}
	exists := &ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("term %s already exists", t.ID)}
	if t.WordPressID == 0 {
		if err := s.conditionalPut(ctx, entityTerm, item, *notExists()); err != nil {
			if isConditionFailed(err) {
				return Term{}, fmt.Errorf("create term: %w", exists)
			}
			return Term{}, fmt.Errorf("create term %s: %w", t.ID, err)
		}
		return t, nil
	}
	ops, err := s.termCreateOps(t, item, exists, termWPTaken(t))
	if err != nil {
		return Term{}, fmt.Errorf("create term: %w", err)
	}
	if err := s.transact(ctx, "create term", ops); err != nil {
		return Term{}, err
	}
	return t, nil
}

// termCreateOps puts a term and its lookup, both attribute_not_exists.
func (s *Store) termCreateOps(t Term, item map[string]types.AttributeValue, exists, wpTaken error) ([]txOp, error) {
	put, err := s.txPut(entityTerm, item, notExists(), exists)
	if err != nil {
		return nil, err
	}
	lookup, err := termLookupAV(t)
	if err != nil {
		return nil, err
	}
	lput, err := s.txPut(entityTermLookup, lookup, notExists(), wpTaken)
	if err != nil {
		return nil, err
	}
	return []txOp{put, lput}, nil
}

// SetTermWordPressID records the WordPress ID of a term after a push
// (0 unlinks it): one GetItem, then one transaction that updates the term
// (version-checked, retried on a concurrent change) and moves its lookup. A
// WordPress term that belongs to another term is a *ConflictError; an
// unchanged ID writes nothing.
func (s *Store) SetTermWordPressID(ctx context.Context, accountID, siteID, id string, wpID int64) (Term, error) {
	if wpID < 0 {
		return Term{}, fmt.Errorf("set term wordpress id: negative id: %w", ErrInvalid)
	}
	for attempt := 0; ; attempt++ {
		out, err := s.setTermWordPressIDOnce(ctx, accountID, siteID, id, wpID)
		if attempt < lockRetries && errors.Is(err, ErrPreconditionFailed) {
			continue
		}
		return out, err
	}
}

func (s *Store) setTermWordPressIDOnce(ctx context.Context, accountID, siteID, id string, wpID int64) (Term, error) {
	cur, err := s.GetTerm(ctx, accountID, siteID, id)
	if err != nil {
		return Term{}, fmt.Errorf("set term wordpress id: %w", err)
	}
	if cur.WordPressID == wpID {
		return cur, nil
	}
	next := cur
	next.WordPressID = wpID
	next.UpdatedAt = s.clock()
	next.Version = cur.Version + 1
	item, err := marshalTerm(next)
	if err != nil {
		return Term{}, fmt.Errorf("set term wordpress id: %w", err)
	}
	put, err := s.txPut(entityTerm, item, versionIs(cur.Version),
		fmt.Errorf("set term %s wordpress id: version %d changed concurrently: %w", id, cur.Version, ErrPreconditionFailed))
	if err != nil {
		return Term{}, fmt.Errorf("set term wordpress id: %w", err)
	}
	ops := []txOp{put}
	if cur.WordPressID != 0 {
		op, err := s.txDelete(entityTermLookup, TaxonomyWordPressKey(accountID, siteID, cur.Taxonomy, cur.WordPressID),
			contentOwnedOrMissing("TaxonomyID", id),
			&ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("the lookup of WordPress %s term %d belongs to another term", cur.Taxonomy, cur.WordPressID)})
		if err != nil {
			return Term{}, fmt.Errorf("set term wordpress id: %w", err)
		}
		ops = append(ops, op)
	}
	if wpID != 0 {
		lookup, err := termLookupAV(next)
		if err != nil {
			return Term{}, fmt.Errorf("set term wordpress id: %w", err)
		}
		op, err := s.txPut(entityTermLookup, lookup, contentOwnedOrMissing("TaxonomyID", id), termWPTaken(next))
		if err != nil {
			return Term{}, fmt.Errorf("set term wordpress id: %w", err)
		}
		ops = append(ops, op)
	}
	if err := s.transact(ctx, "set term wordpress id", ops); err != nil {
		return Term{}, err
	}
	return next, nil
}

// ListTerms returns one page of a site's terms ordered by taxonomy, then
// slug (one taxonomy when taxonomy is not empty), merged across the
// ListShards partitions of GSI1: one Query per shard per page.
func (s *Store) ListTerms(ctx context.Context, accountID, siteID, taxonomy string, p PageRequest) (Page[Term], error) {
	if accountID == "" || siteID == "" {
		return Page[Term]{}, fmt.Errorf("list terms: account and site are required: %w", ErrInvalid)
	}
	q := mergedQuery{entity: "terms", index: IndexGSI1, pks: TaxonomySitePartitions(accountID, siteID), forward: true}
	if taxonomy != "" {
		q.skPrefix = TaxonomyTypePrefix(taxonomy)
	}
	items, next, err := s.queryMerged(ctx, q, p)
	if err != nil {
		return Page[Term]{}, fmt.Errorf("list terms: %w", err)
	}
	page := Page[Term]{Items: make([]Term, 0, len(items)), NextCursor: next}
	for _, item := range items {
		t, err := unmarshalTerm(item)
		if err != nil {
			return Page[Term]{}, fmt.Errorf("list terms: %w", err)
		}
		page.Items = append(page.Items, t)
	}
	return page, nil
}

// UpsertTermsFromWordPress stores a pulled page of terms (of one or more
// taxonomies; each with WordPressID, Name, Slug and ParentWordPressID; ID
// and ParentID are assigned here). It reads the terms' lookups and those of
// parents outside the page with one BatchGetItem, the existing terms with a
// second; creates new terms with their lookups in as few transactions as
// possible (50 terms each; one per term after a lost race, which then reads
// the winner); updates terms whose name, slug or parent changed with one
// conditional PutItem each; and writes nothing for unchanged terms.
// Duplicates in the page count once (the last wins).
func (s *Store) UpsertTermsFromWordPress(ctx context.Context, accountID, siteID string, terms []Term) (created, updated, unchanged int, err error) {
	if accountID == "" || siteID == "" {
		return 0, 0, 0, fmt.Errorf("upsert terms: account and site are required: %w", ErrInvalid)
	}
	var in []Term
	at := make(map[termRef]int, len(terms))
	for _, t := range terms {
		t.AccountID, t.SiteID, t.ID, t.ParentID = accountID, siteID, "", ""
		if t.WordPressID == 0 {
			return 0, 0, 0, fmt.Errorf("upsert terms: %q has no wordpress id: %w", t.Name, ErrInvalid)
		}
		if err := validateTerm(t); err != nil {
			return 0, 0, 0, fmt.Errorf("upsert terms: %w", err)
		}
		r := termRef{t.Taxonomy, t.WordPressID}
		if i, ok := at[r]; ok {
			in[i] = t
			continue
		}
		at[r] = len(in)
		in = append(in, t)
	}
	if len(in) == 0 {
		return 0, 0, 0, nil
	}
	refOf := func(t Term) termRef { return termRef{t.Taxonomy, t.WordPressID} }

	// 1. Lookups of the page's terms and of parents outside the page.
	refs := make([]termRef, 0, len(in))
	for _, t := range in {
		refs = append(refs, refOf(t))
	}
	for _, t := range in {
		if pr := (termRef{t.Taxonomy, t.ParentWordPressID}); t.ParentWordPressID != 0 {
			if _, inPage := at[pr]; !inPage {
				refs = append(refs, pr)
			}
		}
	}
	ids, err := s.termIDsByRef(ctx, accountID, siteID, refs)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("upsert terms: %w", err)
	}
	// 2. The existing terms.
	var existingIDs []string
	for _, t := range in {
		if id, ok := ids[refOf(t)]; ok {
			existingIDs = append(existingIDs, id)
		}
	}
	current, err := s.GetTerms(ctx, accountID, siteID, existingIDs)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("upsert terms: %w", err)
	}
	// 3. IDs for the new ones, so parents in the page resolve.
	type pair struct{ cur, pulled Term }
	var compare []pair
	var fresh []int
	for i, t := range in {
		id, ok := ids[refOf(t)]
		if !ok {
			in[i].ID = s.newID()
			ids[refOf(t)] = in[i].ID
			fresh = append(fresh, i)
			continue
		}
		cur, ok := current[id]
		if !ok {
			return 0, 0, 0, fmt.Errorf("upsert terms: the lookup of WordPress %s term %d names missing term %s", t.Taxonomy, t.WordPressID, id)
		}
		in[i].ID = id
		compare = append(compare, pair{cur: cur, pulled: in[i]})
	}
	parentOf := func(t Term, cur *Term) string {
		if t.ParentWordPressID == 0 {
			return ""
		}
		if id, ok := ids[termRef{t.Taxonomy, t.ParentWordPressID}]; ok {
			return id
		}
		if cur != nil && cur.ParentWordPressID == t.ParentWordPressID {
			return cur.ParentID // keep a link made earlier
		}
		return ""
	}

	// 4. Create the new terms.
	now := s.clock()
	groups := make([][]txOp, len(fresh))
	lost := make([]error, len(fresh))
	for g, i := range fresh {
		t := &in[i]
		t.ParentID = parentOf(*t, nil)
		t.CreatedAt, t.UpdatedAt, t.Version = now, now, 1
		item, err := marshalTerm(*t)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("upsert terms: %w", err)
		}
		lost[g] = termWPTaken(*t)
		if groups[g], err = s.termCreateOps(*t, item, &ConflictError{Reason: ConflictExists, Detail: fmt.Sprintf("term %s already exists", t.ID)}, lost[g]); err != nil {
			return 0, 0, 0, fmt.Errorf("upsert terms: %w", err)
		}
	}
	errs := s.contentTransactGroups(ctx, "upsert terms", groups)
	remapped := false
	for g, i := range fresh {
		switch {
		case errs[g] == nil:
			created++
		case errors.Is(errs[g], lost[g]):
			// Another writer created this term first: adopt its ID.
			r := refOf(in[i])
			won, err := s.termIDsByRef(ctx, accountID, siteID, []termRef{r})
			if err != nil {
				return created, updated, unchanged, fmt.Errorf("upsert terms: %w", err)
			}
			cur, err := s.GetTerm(ctx, accountID, siteID, won[r])
			if err != nil {
				return created, updated, unchanged, fmt.Errorf("upsert terms: winner of WordPress %s term %d: %w", r.taxonomy, r.wpID, err)
			}
			ids[r], in[i].ID, remapped = cur.ID, cur.ID, true
			compare = append(compare, pair{cur: cur, pulled: in[i]})
		default:
			return created, updated, unchanged, errs[g]
		}
	}

	// 5. Update the terms whose name, slug or parent changed.
	for _, p := range compare {
		changed, err := s.termApplyPulled(ctx, p.cur, p.pulled, parentOf)
		if err != nil {
			return created, updated, unchanged, fmt.Errorf("upsert terms: %w", err)
		}
		if changed {
			updated++
		} else {
			unchanged++
		}
	}
	// 6. Created terms whose parent's ID was replaced by a race winner's.
	if remapped {
		for g, i := range fresh {
			if errs[g] != nil {
				continue
			}
			if _, err := s.termApplyPulled(ctx, in[i], in[i], parentOf); err != nil {
				return created, updated, unchanged, fmt.Errorf("upsert terms: %w", err)
			}
		}
	}
	return created, updated, unchanged, nil
}

// termApplyPulled writes pulled's name, slug and parent onto cur when they
// differ (one conditional PutItem; re-read and retried on a concurrent
// change). It reports whether it wrote.
func (s *Store) termApplyPulled(ctx context.Context, cur, pulled Term, parentOf func(Term, *Term) string) (bool, error) {
	for attempt := 0; ; attempt++ {
		parent := parentOf(pulled, &cur)
		if cur.Name == pulled.Name && cur.Slug == pulled.Slug && cur.ParentWordPressID == pulled.ParentWordPressID && cur.ParentID == parent {
			return false, nil
		}
		next := cur
		next.Name, next.Slug, next.ParentWordPressID, next.ParentID = pulled.Name, pulled.Slug, pulled.ParentWordPressID, parent
		next.UpdatedAt = s.clock()
		next.Version = cur.Version + 1
		item, err := marshalTerm(next)
		if err != nil {
			return false, err
		}
		err = s.conditionalPut(ctx, entityTerm, item, *versionIs(cur.Version))
		if err == nil {
			return true, nil
		}
		if !isConditionFailed(err) {
			return false, fmt.Errorf("update term %s: %w", cur.ID, err)
		}
		if attempt >= lockRetries {
			return false, fmt.Errorf("update term %s: version %d changed concurrently: %w", cur.ID, cur.Version, ErrPreconditionFailed)
		}
		if cur, err = s.GetTerm(ctx, cur.AccountID, cur.SiteID, cur.ID); err != nil {
			return false, err
		}
	}
}
