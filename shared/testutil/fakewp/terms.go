package fakewp

import (
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
)

func (s *Site) serveTerms(w http.ResponseWriter, req *apiRequest, tax taxonomy, id int64, item bool) {
	switch {
	case !item && req.method == http.MethodGet:
		s.listTerms(w, req, tax)
	case !item && req.method == http.MethodPost:
		s.createTerm(w, req, tax)
	case item && req.method == http.MethodGet:
		s.getTerm(w, req, tax, id)
	case item && (req.method == http.MethodPost || req.method == http.MethodPut || req.method == http.MethodPatch):
		s.updateTerm(w, req, tax, id)
	case item && req.method == http.MethodDelete:
		s.deleteTerm(w, req, tax, id)
	default:
		noRoute(w)
	}
}

// termJSON is WP_REST_Terms_Controller::prepare_item_for_response.
func (s *Site) termJSON(req *apiRequest, t *Term, tax taxonomy, counts map[int64]int, ctx string) map[string]any {
	m := map[string]any{
		"id": t.ID, "count": counts[t.ID], "description": t.Description, "link": s.termLink(req.base, t),
		"name": t.Name, "slug": t.Slug, "taxonomy": t.Taxonomy, "meta": map[string]any{},
		"_links": map[string]any{
			"self":       []any{map[string]any{"href": fmt.Sprintf("%s/wp-json/wp/v2/%s/%d", req.base, tax.base, t.ID)}},
			"collection": []any{map[string]any{"href": req.base + "/wp-json/wp/v2/" + tax.base}},
		},
	}
	if tax.hierarchical {
		m["parent"] = t.Parent
	}
	if ctx == "embed" {
		return embedOnly(m)
	}
	return m
}

func (s *Site) listTerms(w http.ResponseWriter, req *apiRequest, tax taxonomy) {
	q := req.r.URL.Query()
	errs := paramErrors{}
	ctx := queryContext(q, errs)
	page := queryInt(q, "page", 1, 1, math.MaxInt64, errs)
	perPage := queryInt(q, "per_page", 10, 1, 100, errs)
	offset := queryInt(q, "offset", 0, math.MinInt64, math.MaxInt64, errs)
	order := queryEnum(q, "order", "asc", []string{"asc", "desc"}, errs)
	orderby := queryEnum(q, "orderby", "name", []string{"id", "include", "name", "slug", "include_slugs", "term_group", "description", "count"}, errs)
	include, hasInclude := queryIDs(q, "include", errs)
	exclude, _ := queryIDs(q, "exclude", errs)
	var parents []int64
	hasParent := false
	if tax.hierarchical {
		parents, hasParent = queryIDs(q, "parent", errs)
	}
	postIDs, hasPost := queryIDs(q, "post", errs)
	var slugs []string
	if vals, ok := queryValues(q, "slug"); ok {
		slugs = parseList(vals)
	}
	hideEmpty := isTrue(q.Get("hide_empty"))
	search := strings.ToLower(q.Get("search"))
	fields := parseFields(q)
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	if ctx == "edit" && !req.canEdit {
		wpError(w, req.authCode(), "rest_forbidden_context", "Sorry, you are not allowed to edit terms in this taxonomy.")
		return
	}
	s.mu.Lock()
	s.runCron()
	counts := s.termCounts()
	var onPosts []int64
	if hasPost {
		for _, id := range postIDs {
			if r, ok := s.records[id]; ok {
				onPosts = append(onPosts, r.cats...)
				onPosts = append(onPosts, r.tags...)
			}
		}
	}
	var list []*Term
	for _, t := range s.terms {
		switch {
		case t.Taxonomy != tax.slug,
			hasInclude && !contains(include, t.ID),
			contains(exclude, t.ID),
			hasParent && !contains(parents, t.Parent),
			hasPost && !contains(onPosts, t.ID),
			slugs != nil && !contains(slugs, t.Slug),
			hideEmpty && counts[t.ID] == 0,
			search != "" && !strings.Contains(strings.ToLower(t.Name), search) && !strings.Contains(t.Slug, search):
			continue
		}
		list = append(list, t)
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		c := 0
		switch orderby {
		case "id":
			c = int(a.ID - b.ID)
		case "name":
			c = strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		case "slug":
			c = strings.Compare(a.Slug, b.Slug)
		case "description":
			c = strings.Compare(a.Description, b.Description)
		case "count":
			c = counts[a.ID] - counts[b.ID]
		case "include":
			c = indexOf(include, a.ID) - indexOf(include, b.ID)
		case "include_slugs":
			c = indexOf(slugs, a.Slug) - indexOf(slugs, b.Slug)
		}
		if c == 0 {
			c = int(a.ID - b.ID)
		}
		if order == "desc" {
			return c > 0
		}
		return c < 0
	})
	total := int64(len(list))
	pages := (total + perPage - 1) / perPage
	start := (page - 1) * perPage
	if offset > 0 {
		start = offset
	}
	// The terms controller has no page-number check: past the end is [].
	items := []any{}
	for i := start; i < total && i < start+perPage; i++ {
		items = append(items, fields.filter(s.termJSON(req, list[i], tax, counts, ctx)))
	}
	s.mu.Unlock()
	pagingHeaders(w, req, total, pages, page)
	writeJSON(w, http.StatusOK, items)
}

func (s *Site) termFor(tax taxonomy, id int64) *Term {
	t, ok := s.terms[id]
	if !ok || t.Taxonomy != tax.slug {
		return nil
	}
	return t
}

func (s *Site) getTerm(w http.ResponseWriter, req *apiRequest, tax taxonomy, id int64) {
	q := req.r.URL.Query()
	errs := paramErrors{}
	ctx := queryContext(q, errs)
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	s.mu.Lock()
	t := s.termFor(tax, id)
	var body map[string]any
	if t != nil {
		body = parseFields(q).filter(s.termJSON(req, t, tax, s.termCounts(), ctx))
	}
	s.mu.Unlock()
	if t == nil {
		wpError(w, http.StatusNotFound, "rest_term_invalid", "Term does not exist.")
		return
	}
	if ctx == "edit" && !req.canEdit {
		wpError(w, req.authCode(), "rest_forbidden_context", "Sorry, you are not allowed to edit this term.")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// termInput reads name, slug, description and parent.
type termInput struct {
	name, slug, description   string
	hasName, hasSlug, hasDesc bool
	parent                    int64
	hasParent                 bool
	params                    map[string]any
}

func (s *Site) readTermInput(w http.ResponseWriter, req *apiRequest) (*termInput, bool) {
	p, ok, msg := req.readParams()
	if !ok {
		invalidJSON(w, msg)
		return nil, false
	}
	errs := paramErrors{}
	in := &termInput{params: p}
	in.name, in.hasName = paramString(p, "name", errs)
	in.slug, in.hasSlug = paramString(p, "slug", errs)
	in.description, in.hasDesc = paramString(p, "description", errs)
	in.parent, in.hasParent = paramInt(p, "parent", errs)
	if len(errs) > 0 {
		errs.write(w)
		return nil, false
	}
	in.name = strings.TrimSpace(in.name)
	return in, true
}

// checkParent is the terms controller's parent check.
func (s *Site) checkParent(tax taxonomy, in *termInput) (int, string, string) {
	if !in.hasParent {
		return 0, "", ""
	}
	if !tax.hierarchical {
		return http.StatusBadRequest, "rest_taxonomy_not_hierarchical", "Cannot set parent term, taxonomy is not hierarchical."
	}
	if in.parent != 0 && s.termFor(tax, in.parent) == nil {
		return http.StatusBadRequest, "rest_term_invalid", "Parent term does not exist."
	}
	return 0, "", ""
}

func (s *Site) createTerm(w http.ResponseWriter, req *apiRequest, tax taxonomy) {
	if !req.canEdit {
		wpError(w, req.authCode(), "rest_cannot_create", "Sorry, you are not allowed to create terms in this taxonomy.")
		return
	}
	in, ok := s.readTermInput(w, req)
	if !ok {
		return
	}
	if _, present := in.params["name"]; !present {
		writeJSON(w, http.StatusBadRequest, errorBody{"rest_missing_callback_param", "Missing parameter(s): name",
			map[string]any{"status": 400, "params": []string{"name"}}})
		return
	}
	fields := parseFields(req.r.URL.Query())
	s.mu.Lock()
	if status, code, msg := s.checkParent(tax, in); status != 0 {
		s.mu.Unlock()
		wpError(w, status, code, msg)
		return
	}
	if in.name == "" {
		// wp_insert_term's error carries no status: WordPress answers 500.
		s.mu.Unlock()
		wpError(w, http.StatusInternalServerError, "empty_term_name", "A name is required for this term.")
		return
	}
	slug := sanitizeTitle(in.slug)
	slugProvided := slug != ""
	if !slugProvided {
		slug = sanitizeTitle(in.name)
	}
	// wp_insert_term: a same-named term (at the same level, for
	// categories) is term_exists unless a new, free slug was given.
	if match := s.termByName(tax, in.name, in.parent); match != nil {
		slugMatch := s.termBySlug(tax, slug)
		if !slugProvided || match.Slug == slug || slugMatch != nil {
			existing := match
			msg := "A term with the name provided already exists in this taxonomy."
			if tax.hierarchical {
				msg = "A term with the name provided already exists with this parent."
				if slugProvided && match.Slug != slug {
					existing = slugMatch
				}
			}
			if existing != nil && (!tax.hierarchical || existing.Parent == in.parent) {
				s.mu.Unlock()
				writeJSON(w, http.StatusBadRequest, errorBody{"term_exists", msg, map[string]any{"status": 400, "term_id": existing.ID}})
				return
			}
		}
	}
	if !tax.hierarchical {
		in.parent = 0
	}
	t := &Term{Taxonomy: tax.slug, Name: in.name, Description: in.description, Parent: in.parent}
	t.Slug = s.uniqueTermSlug(tax, slug, in.parent, 0)
	s.insertTerm(t)
	s.modelled = true
	s.creates[tax.slug]++
	body := fields.filter(s.termJSON(req, t, tax, s.termCounts(), "edit"))
	s.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("%s/wp-json/wp/v2/%s/%d", req.base, tax.base, t.ID))
	writeJSON(w, http.StatusCreated, body)
}

func (s *Site) updateTerm(w http.ResponseWriter, req *apiRequest, tax taxonomy, id int64) {
	s.mu.Lock()
	found := s.termFor(tax, id) != nil
	s.mu.Unlock()
	if !found {
		wpError(w, http.StatusNotFound, "rest_term_invalid", "Term does not exist.")
		return
	}
	if !req.canEdit {
		wpError(w, req.authCode(), "rest_cannot_update", "Sorry, you are not allowed to edit this term.")
		return
	}
	in, ok := s.readTermInput(w, req)
	if !ok {
		return
	}
	fields := parseFields(req.r.URL.Query())
	s.mu.Lock()
	t := s.termFor(tax, id)
	if t == nil {
		s.mu.Unlock()
		wpError(w, http.StatusNotFound, "rest_term_invalid", "Term does not exist.")
		return
	}
	if status, code, msg := s.checkParent(tax, in); status != 0 {
		s.mu.Unlock()
		wpError(w, status, code, msg)
		return
	}
	if in.hasName && in.name != "" {
		t.Name = in.name
	}
	if in.hasDesc {
		t.Description = in.description
	}
	if in.hasParent {
		t.Parent = in.parent
	}
	if in.hasSlug && sanitizeTitle(in.slug) != t.Slug {
		slug := sanitizeTitle(in.slug)
		if other := s.termBySlug(tax, slug); other != nil && other.ID != t.ID {
			s.mu.Unlock()
			wpError(w, http.StatusInternalServerError, "duplicate_term_slug", fmt.Sprintf("The slug &#8220;%s&#8221; is already in use by another term.", slug))
			return
		}
		if slug != "" {
			t.Slug = slug
		}
	}
	body := fields.filter(s.termJSON(req, t, tax, s.termCounts(), "edit"))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

func (s *Site) deleteTerm(w http.ResponseWriter, req *apiRequest, tax taxonomy, id int64) {
	force := isTrue(req.r.URL.Query().Get("force"))
	s.mu.Lock()
	t := s.termFor(tax, id)
	s.mu.Unlock()
	switch {
	case t == nil:
		wpError(w, http.StatusNotFound, "rest_term_invalid", "Term does not exist.")
		return
	case !req.canEdit:
		wpError(w, req.authCode(), "rest_cannot_delete", "Sorry, you are not allowed to delete this term.")
		return
	case id == 1 && tax.slug == "category":
		wpError(w, http.StatusForbidden, "rest_cannot_delete", "Sorry, you are not allowed to delete this term.")
		return
	case !force:
		wpError(w, http.StatusNotImplemented, "rest_trash_not_supported", "Terms do not support trashing. Set 'force' to delete.")
		return
	}
	fields := parseFields(req.r.URL.Query())
	s.mu.Lock()
	prev := fields.filter(s.termJSON(req, t, tax, s.termCounts(), "edit"))
	delete(s.terms, id)
	// wp_delete_term: children move up, posts lose the term (and a post
	// left without categories gets the default one). Posts' modified
	// dates do not change.
	for _, o := range s.terms {
		if o.Parent == id {
			o.Parent = t.Parent
		}
	}
	for _, r := range s.records {
		r.cats = without(r.cats, id)
		r.tags = without(r.tags, id)
		if r.typ == "post" && len(r.cats) == 0 && tax.slug == "category" {
			r.cats = []int64{1}
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"deleted": true, "previous": prev})
}

func without(list []int64, id int64) []int64 {
	if !contains(list, id) {
		return list
	}
	out := []int64{}
	for _, v := range list {
		if v != id {
			out = append(out, v)
		}
	}
	return out
}
