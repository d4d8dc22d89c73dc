package fakewp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// apiRequest is one REST request with what the site knows about its sender.
type apiRequest struct {
	r      *http.Request
	route  string
	base   string // site URL, with the subdirectory
	method string // after X-HTTP-Method-Override / _method
	// authed: valid credentials; canEdit: and an editor or above (not the
	// Subscriber mode).
	authed, canEdit bool
	params          map[string]any
}

// authCode is rest_authorization_required_code: 401 for anonymous
// requests, 403 for a logged-in user without the capability.
func (req *apiRequest) authCode() int {
	if req.authed {
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

var (
	itemRoute       = regexp.MustCompile(`^/wp/v2/([a-z_-]+)(?:/(\d+))?$`)
	wpDatePattern   = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$`)
	listSeparator   = regexp.MustCompile(`[\s,]+`)
	maxUploadBytes  = int64(64 << 20)
	postStatusEnum  = []string{"publish", "future", "draft", "pending", "private"}
	queryStatusEnum = []string{"publish", "future", "draft", "pending", "private", "trash", "auto-draft", "inherit",
		"request-pending", "request-confirmed", "request-failed", "request-completed", "any"}
)

// serveContent answers the content model's routes; false when the route is
// not one of them (or, for a post type's collection, when the site still
// answers from SetCount).
func (s *Site) serveContent(w http.ResponseWriter, req *apiRequest) bool {
	m := itemRoute.FindStringSubmatch(req.route)
	if m == nil {
		return false
	}
	base, idStr := m[1], m[2]
	var id int64
	if idStr != "" {
		var err error
		if id, err = strconv.ParseInt(idStr, 10, 64); err != nil {
			return false
		}
	}
	if pt, ok := lookupType(base); ok && pt.base == base {
		if pt.slug != attachmentType && id == 0 && req.method == http.MethodGet {
			s.mu.Lock()
			modelled := s.modelled
			s.mu.Unlock()
			if !modelled {
				return false
			}
		}
		s.servePosts(w, req, pt, id, idStr != "")
		return true
	}
	if tax, ok := lookupTaxonomy(base); ok && tax.base == base {
		s.serveTerms(w, req, tax, id, idStr != "")
		return true
	}
	return false
}

func (s *Site) servePosts(w http.ResponseWriter, req *apiRequest, pt postType, id int64, item bool) {
	switch {
	case !item && req.method == http.MethodGet:
		s.listPosts(w, req, pt)
	case !item && req.method == http.MethodPost && pt.slug == attachmentType:
		s.uploadMedia(w, req)
	case !item && req.method == http.MethodPost:
		s.createPost(w, req, pt)
	case item && req.method == http.MethodGet:
		s.getPost(w, req, pt, id)
	case item && (req.method == http.MethodPost || req.method == http.MethodPut || req.method == http.MethodPatch):
		s.updatePost(w, req, pt, id)
	case item && req.method == http.MethodDelete:
		s.deletePost(w, req, pt, id)
	default:
		noRoute(w)
	}
}

// --- parameters ---

// paramErrors collects rest_invalid_param problems: param → (code, message).
type paramErrors map[string][2]string

func (e paramErrors) add(param, code, msg string) {
	if _, ok := e[param]; !ok {
		e[param] = [2]string{code, msg}
	}
}

// write answers 400 rest_invalid_param as WP_REST_Request does.
func (e paramErrors) write(w http.ResponseWriter) {
	names := make([]string, 0, len(e))
	for k := range e {
		names = append(names, k)
	}
	sort.Strings(names)
	params, details := map[string]any{}, map[string]any{}
	for _, k := range names {
		params[k] = e[k][1]
		details[k] = errorBody{e[k][0], e[k][1], nil}
	}
	writeJSON(w, http.StatusBadRequest, errorBody{"rest_invalid_param", "Invalid parameter(s): " + strings.Join(names, ", "),
		map[string]any{"status": http.StatusBadRequest, "params": params, "details": details}})
}

// queryValue reads name or name[] from the query.
func queryValues(q url.Values, name string) ([]string, bool) {
	if v, ok := q[name]; ok {
		return v, true
	}
	v, ok := q[name+"[]"]
	return v, ok
}

// parseList is wp_parse_list.
func parseList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range listSeparator.Split(v, -1) {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func queryInt(q url.Values, name string, def, lo, hi int64, errs paramErrors) int64 {
	vals, ok := queryValues(q, name)
	if !ok || len(vals) == 0 {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(vals[0]), 10, 64)
	if err != nil {
		errs.add(name, "rest_invalid_type", name+" is not of type integer.")
		return def
	}
	if n < lo || n > hi {
		msg := fmt.Sprintf("%s must be between %d (inclusive) and %d (inclusive)", name, lo, hi)
		if hi == math.MaxInt64 {
			msg = fmt.Sprintf("%s must be greater than or equal to %d", name, lo)
		}
		errs.add(name, "rest_out_of_bounds", msg)
		return def
	}
	return n
}

func queryIDs(q url.Values, name string, errs paramErrors) ([]int64, bool) {
	vals, ok := queryValues(q, name)
	if !ok {
		return nil, false
	}
	var ids []int64
	for i, v := range parseList(vals) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			errs.add(name, "rest_invalid_type", fmt.Sprintf("%s[%d] is not of type integer.", name, i))
			continue
		}
		ids = append(ids, n)
	}
	return ids, true
}

func queryEnum(q url.Values, name, def string, enum []string, errs paramErrors) string {
	v := q.Get(name)
	if v == "" {
		return def
	}
	for _, e := range enum {
		if v == e {
			return v
		}
	}
	errs.add(name, "rest_not_in_enum", fmt.Sprintf("%s is not one of %s.", name, strings.Join(enum, ", ")))
	return def
}

// parseWPDate reads a REST date-time (rest_parse_date's format). Without a
// zone the wall clock is in loc; forceUTC treats any offset as +00:00, as
// rest_get_date_with_gmt does for *_gmt fields.
func parseWPDate(v string, loc *time.Location, forceUTC bool) (time.Time, bool) {
	m := wpDatePattern.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02 15:04:05", m[1]+" "+m[2])
	if err != nil {
		return time.Time{}, false
	}
	zone := loc
	switch tz := m[3]; {
	case forceUTC || tz == "Z" || tz == "z":
		zone = time.UTC
	case tz != "":
		sign := 1
		if tz[0] == '-' {
			sign = -1
		}
		digits := strings.ReplaceAll(tz[1:], ":", "")
		h, _ := strconv.Atoi(digits[:2])
		mins := 0
		if len(digits) >= 4 {
			mins, _ = strconv.Atoi(digits[2:4])
		}
		zone = time.FixedZone(tz, sign*(h*3600+mins*60))
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, zone), true
}

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// readParams merges the request's parameters as WP_REST_Request does: JSON
// body over form body over query.
func (req *apiRequest) readParams() (map[string]any, bool, string) {
	if req.params != nil {
		return req.params, true, ""
	}
	out := map[string]any{}
	for k, v := range req.r.URL.Query() {
		setFormValue(out, k, v)
	}
	ct, _, _ := mime.ParseMediaType(req.r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		data, err := io.ReadAll(io.LimitReader(req.r.Body, maxUploadBytes))
		if err != nil {
			return nil, false, err.Error()
		}
		if len(bytes.TrimSpace(data)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber()
			var body map[string]any
			if err := dec.Decode(&body); err != nil {
				return nil, false, err.Error()
			}
			for k, v := range body {
				out[k] = v
			}
		}
	case "application/x-www-form-urlencoded":
		if err := req.r.ParseForm(); err == nil {
			for k, v := range req.r.PostForm {
				setFormValue(out, k, v)
			}
		}
	}
	req.params = out
	return out, true, ""
}

func setFormValue(out map[string]any, k string, v []string) {
	if strings.HasSuffix(k, "[]") {
		list := make([]any, len(v))
		for i, s := range v {
			list[i] = s
		}
		out[strings.TrimSuffix(k, "[]")] = list
		return
	}
	if len(v) > 0 {
		out[k] = v[len(v)-1]
	}
}

func invalidJSON(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, errorBody{"rest_invalid_json", "Invalid JSON body passed.",
		map[string]any{"status": http.StatusBadRequest, "json_error_code": 4, "json_error_message": msg}})
}

func paramString(p map[string]any, name string, errs paramErrors) (string, bool) {
	v, ok := p[name]
	if !ok || v == nil {
		return "", false
	}
	s, isStr := v.(string)
	if !isStr {
		errs.add(name, "rest_invalid_type", name+" is not of type string.")
		return "", false
	}
	return s, true
}

// paramRaw reads title, content or excerpt: a string, or {"raw": "…"} (an
// empty raw leaves the field alone, as prepare_item_for_database does).
func paramRaw(p map[string]any, name string, errs paramErrors) (string, bool) {
	switch v := p[name].(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case map[string]any:
		if raw, ok := v["raw"].(string); ok && raw != "" {
			return raw, true
		}
		return "", false
	default:
		errs.add(name, "rest_invalid_type", name+" is not of type object.")
		return "", false
	}
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			f, ferr := n.Float64()
			if ferr != nil || f != math.Trunc(f) {
				return 0, false
			}
			return int64(f), true
		}
		return i, true
	case float64:
		return int64(n), n == math.Trunc(n)
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		return i, err == nil
	case bool:
		if n {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func paramInt(p map[string]any, name string, errs paramErrors) (int64, bool) {
	v, ok := p[name]
	if !ok || v == nil {
		return 0, false
	}
	n, ok := toInt(v)
	if !ok {
		errs.add(name, "rest_invalid_type", name+" is not of type integer.")
		return 0, false
	}
	return n, true
}

func paramIDs(p map[string]any, name string, errs paramErrors) ([]int64, bool) {
	v, ok := p[name]
	if !ok || v == nil {
		return nil, false
	}
	var items []any
	switch t := v.(type) {
	case []any:
		items = t
	case string:
		for _, s := range parseList([]string{t}) {
			items = append(items, s)
		}
	default:
		items = []any{t}
	}
	ids := []int64{}
	for i, it := range items {
		n, ok := toInt(it)
		if !ok {
			errs.add(name, "rest_invalid_type", fmt.Sprintf("%s[%d] is not of type integer.", name, i))
			return nil, false
		}
		ids = append(ids, n)
	}
	return ids, true
}

// --- _fields and context ---

// fieldTree is a parsed _fields list: nil means every field.
type fieldTree map[string]fieldTree

func parseFields(q url.Values) fieldTree {
	vals, ok := queryValues(q, "_fields")
	if !ok {
		return nil
	}
	tree := fieldTree{}
	for _, f := range parseList(vals) {
		node := tree
		parts := strings.Split(f, ".")
		for i, p := range parts {
			child, exists := node[p]
			if exists && child == nil {
				break // the whole field is already wanted
			}
			if i == len(parts)-1 {
				node[p] = nil
				break
			}
			if !exists {
				child = fieldTree{}
				node[p] = child
			}
			node = child
		}
	}
	return tree
}

// filter keeps the wanted fields, as rest_filter_response_fields does;
// _links only when asked for.
func (t fieldTree) filter(m map[string]any) map[string]any {
	if t == nil {
		return m
	}
	out := map[string]any{}
	for k, sub := range t {
		v, ok := m[k]
		if !ok {
			continue
		}
		if sub == nil {
			out[k] = v
			continue
		}
		if nested, isMap := v.(map[string]any); isMap {
			out[k] = sub.filter(nested)
		}
	}
	return out
}

func queryContext(q url.Values, errs paramErrors) string {
	return queryEnum(q, "context", "view", []string{"view", "embed", "edit"}, errs)
}

// rendered is a {raw, rendered} field: raw only with context=edit.
func rendered(ctx, raw, html string) map[string]any {
	if ctx == "edit" {
		return map[string]any{"raw": raw, "rendered": html}
	}
	return map[string]any{"rendered": html}
}

var embedFields = []string{"id", "date", "slug", "type", "link", "title", "excerpt", "featured_media", "author", "alt_text", "caption",
	"media_type", "mime_type", "media_details", "source_url", "name", "taxonomy", "parent"}

func embedOnly(m map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range embedFields {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	if l, ok := m["_links"]; ok {
		out["_links"] = l
	}
	return out
}

func ids(list []int64) []int64 {
	if list == nil {
		return []int64{}
	}
	return list
}

// --- posts ---

// postJSON is prepare_item_for_response for a post, page, product or
// attachment.
func (s *Site) postJSON(req *apiRequest, r *record, pt postType, ctx string) map[string]any {
	link := s.postLink(req.base, r, pt)
	dateGMT := r.dateGMT
	if dateGMT.IsZero() {
		dateGMT = s.gmtFromLocal(r.date) // the shim for floating drafts
	}
	guid := fmt.Sprintf("%s/?p=%d", req.base, r.id)
	if pt.slug == "page" {
		guid = fmt.Sprintf("%s/?page_id=%d", req.base, r.id)
	} else if pt.slug == attachmentType {
		guid = uploadURL(req.base, r.file)
	}
	self := fmt.Sprintf("%s/wp-json/wp/v2/%s/%d", req.base, pt.base, r.id)
	m := map[string]any{
		"id": r.id, "date": r.date.Format(wpLayout), "date_gmt": dateGMT.UTC().Format(wpLayout),
		"guid": rendered(ctx, guid, guid), "modified": r.modified.Format(wpLayout), "modified_gmt": r.modifiedGMT.UTC().Format(wpLayout),
		"slug": r.slug, "status": r.status, "type": r.typ, "link": link,
		"title":  rendered(ctx, r.title, r.title),
		"author": r.author, "featured_media": r.featured, "comment_status": "open", "ping_status": "open",
		"template": "", "meta": s.postMeta(r, pt, ctx),
		"_links": map[string]any{
			"self":       []any{map[string]any{"href": self}},
			"collection": []any{map[string]any{"href": req.base + "/wp-json/wp/v2/" + pt.base}},
		},
	}
	if pt.slug == attachmentType {
		delete(m, "featured_media")
		m["ping_status"] = "closed"
		m["description"] = rendered(ctx, r.content, renderContent(r.content))
		m["caption"] = rendered(ctx, r.excerpt, renderContent(r.excerpt))
		m["alt_text"] = r.alt
		m["media_type"] = "file"
		details := map[string]any{"filesize": len(r.data), "sizes": map[string]any{}}
		if strings.HasPrefix(r.mime, "image/") {
			m["media_type"] = "image"
			details["width"], details["height"], details["file"] = r.width, r.height, r.file
			details["image_meta"] = map[string]any{"caption": "", "title": "", "copyright": "", "orientation": "0", "keywords": []any{}}
		}
		m["mime_type"] = r.mime
		m["media_details"] = details
		m["post"] = nil
		if r.parent != 0 {
			m["post"] = r.parent
		}
		m["source_url"] = uploadURL(req.base, r.file)
		if ctx == "edit" {
			m["missing_image_sizes"] = []any{}
		}
	} else {
		content := rendered(ctx, r.content, renderContent(r.content))
		content["protected"] = false
		if ctx == "edit" {
			content["block_version"] = 0
			if strings.Contains(r.content, "<!-- wp:") {
				content["block_version"] = 1
			}
		}
		m["content"] = content
		html := renderContent(r.excerpt)
		if r.excerpt == "" {
			html = autoExcerpt(r.content)
		}
		excerpt := rendered(ctx, r.excerpt, html)
		excerpt["protected"] = false
		m["excerpt"] = excerpt
	}
	switch {
	case pt.slug == "post":
		m["sticky"], m["format"] = false, "standard"
		m["categories"], m["tags"] = ids(r.cats), ids(r.tags)
	case pt.hierarchical:
		m["parent"], m["menu_order"] = r.parent, r.menuOrder
	}
	if ctx == "edit" && pt.slug != attachmentType {
		m["password"] = ""
		m["generated_slug"] = cmpOr(r.slug, sanitizeTitle(r.title))
		switch pt.slug {
		case "post", "page":
			m["permalink_template"] = req.base + "/%pagename%/"
			if pt.slug == "post" {
				m["permalink_template"] = req.base + "/%postname%/"
			}
		default:
			m["permalink_template"] = req.base + "/" + pt.slug + "/%" + pt.slug + "%/"
		}
	}
	if ctx == "embed" {
		return embedOnly(m)
	}
	return m
}

// visible: may this request read the record at all (check_read_permission)?
func visible(req *apiRequest, r *record) bool {
	switch r.status {
	case "publish", "inherit":
		return true
	}
	return req.canEdit
}

type listQuery struct {
	ctx                                  string
	page, perPage, offset                int64
	order, orderby                       string
	statuses                             []string
	include, exclude, parents, parentsEx []int64
	hasInclude                           bool
	slugs                                []string
	cats, catsEx, tags, tagsEx           []int64
	search                               string
	after, before, modAfter, modBefore   time.Time
	mediaType, mimeType                  []string
	contentID                            string // the plugin's igny8_content_id
}

func (s *Site) parseListQuery(w http.ResponseWriter, req *apiRequest, pt postType) (*listQuery, bool) {
	q := req.r.URL.Query()
	errs := paramErrors{}
	lq := &listQuery{ctx: queryContext(q, errs)}
	lq.page = queryInt(q, "page", 1, 1, math.MaxInt64, errs)
	lq.perPage = queryInt(q, "per_page", 10, 1, 100, errs)
	lq.offset = queryInt(q, "offset", 0, math.MinInt64, math.MaxInt64, errs)
	lq.order = queryEnum(q, "order", "desc", []string{"asc", "desc"}, errs)
	orderbys := []string{"author", "date", "id", "include", "modified", "parent", "relevance", "slug", "include_slugs", "title"}
	if pt.hierarchical {
		orderbys = append(orderbys, "menu_order")
	}
	lq.orderby = queryEnum(q, "orderby", "date", orderbys, errs)
	defStatus := "publish"
	enum := queryStatusEnum
	if pt.slug == attachmentType {
		defStatus, enum = "inherit", []string{"inherit", "private", "trash"}
	}
	lq.statuses = []string{defStatus}
	if vals, ok := queryValues(q, "status"); ok {
		lq.statuses = parseList(vals)
		for i, st := range lq.statuses {
			if !contains(enum, st) {
				errs.add("status", "rest_not_in_enum", fmt.Sprintf("status[%d] is not one of %s.", i, strings.Join(enum, ", ")))
			}
		}
	}
	lq.include, lq.hasInclude = queryIDs(q, "include", errs)
	lq.exclude, _ = queryIDs(q, "exclude", errs)
	if pt.hierarchical || pt.slug == attachmentType {
		lq.parents, _ = queryIDs(q, "parent", errs)
		lq.parentsEx, _ = queryIDs(q, "parent_exclude", errs)
	}
	if vals, ok := queryValues(q, "slug"); ok {
		lq.slugs = parseList(vals)
	}
	if pt.slug == "post" {
		lq.cats, _ = queryIDs(q, "categories", errs)
		lq.catsEx, _ = queryIDs(q, "categories_exclude", errs)
		lq.tags, _ = queryIDs(q, "tags", errs)
		lq.tagsEx, _ = queryIDs(q, "tags_exclude", errs)
	}
	lq.search = q.Get("search")
	s.mu.Lock()
	plugin := s.plugin != nil
	s.mu.Unlock()
	if v := q.Get(pluginQueryParam); v != "" && plugin {
		lq.contentID = v
	}
	s.mu.Lock()
	zone := s.zone()
	s.mu.Unlock()
	for _, d := range []struct {
		name string
		dst  *time.Time
	}{{"after", &lq.after}, {"before", &lq.before}, {"modified_after", &lq.modAfter}, {"modified_before", &lq.modBefore}} {
		v := q.Get(d.name)
		if v == "" {
			continue
		}
		// WP_Date_Query reads a date without a zone as site-local time and
		// compares wall clocks with post_date / post_modified.
		t, ok := parseWPDate(v, zone, false)
		if !ok {
			errs.add(d.name, "rest_invalid_date", "Invalid date.")
			continue
		}
		*d.dst = wall(t.In(zone))
	}
	if pt.slug == attachmentType {
		if vals, ok := queryValues(q, "media_type"); ok {
			lq.mediaType = parseList(vals)
		}
		if vals, ok := queryValues(q, "mime_type"); ok {
			lq.mimeType = parseList(vals)
		}
	}
	if len(errs) > 0 {
		errs.write(w)
		return nil, false
	}
	// sanitize_post_statuses: a status other than the default needs the
	// edit capability (private also reading private posts).
	for _, st := range lq.statuses {
		if st != defStatus && !req.canEdit {
			writeJSON(w, http.StatusBadRequest, errorBody{"rest_invalid_param", "Invalid parameter(s): status",
				map[string]any{"status": 400, "params": map[string]any{"status": "Status is forbidden."},
					"details": map[string]any{"status": errorBody{"rest_forbidden_status", "Status is forbidden.",
						map[string]any{"status": req.authCode()}}}}})
			return nil, false
		}
	}
	if lq.orderby == "relevance" && lq.search == "" {
		wpError(w, http.StatusBadRequest, "rest_no_search_term_defined", "You need to define a search term to order by relevance.")
		return nil, false
	}
	if lq.orderby == "include" && !lq.hasInclude {
		wpError(w, http.StatusBadRequest, "rest_orderby_include_missing_include", "You need to define an include parameter to order by include.")
		return nil, false
	}
	if lq.ctx == "edit" && !req.canEdit {
		wpError(w, req.authCode(), "rest_forbidden_context", "Sorry, you are not allowed to edit posts in this post type.")
		return nil, false
	}
	return lq, true
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func anyOf(have, want []int64) bool {
	for _, w := range want {
		if contains(have, w) {
			return true
		}
	}
	return false
}

func (lq *listQuery) match(r *record) bool {
	statusOK := false
	for _, st := range lq.statuses {
		if st == r.status || (st == "any" && r.status != "trash" && r.status != "auto-draft") {
			statusOK = true
		}
	}
	switch {
	case !statusOK,
		lq.hasInclude && !contains(lq.include, r.id),
		lq.contentID != "" && r.contentID != lq.contentID,
		contains(lq.exclude, r.id),
		lq.parents != nil && !contains(lq.parents, r.parent),
		contains(lq.parentsEx, r.parent),
		lq.slugs != nil && !contains(lq.slugs, r.slug),
		lq.cats != nil && !anyOf(r.cats, lq.cats),
		anyOf(r.cats, lq.catsEx),
		lq.tags != nil && !anyOf(r.tags, lq.tags),
		anyOf(r.tags, lq.tagsEx),
		!lq.after.IsZero() && !wall(r.date).After(lq.after),
		!lq.before.IsZero() && !wall(r.date).Before(lq.before),
		!lq.modAfter.IsZero() && !wall(r.modified).After(lq.modAfter),
		!lq.modBefore.IsZero() && !wall(r.modified).Before(lq.modBefore):
		return false
	}
	if lq.search != "" {
		needle := strings.ToLower(lq.search)
		if !strings.Contains(strings.ToLower(r.title), needle) && !strings.Contains(strings.ToLower(r.content), needle) &&
			!strings.Contains(strings.ToLower(r.excerpt), needle) {
			return false
		}
	}
	if lq.mediaType != nil && !contains(lq.mediaType, strings.SplitN(r.mime, "/", 2)[0]) {
		return false
	}
	if lq.mimeType != nil && !contains(lq.mimeType, r.mime) {
		return false
	}
	return true
}

// sort orders by the query's orderby; ties go by ID in the same direction
// (MySQL leaves their order undefined).
// sortedOfType returns the type's records in lq's order. Orders that
// depend only on the records are cached until the next insert or remove
// (records are replaced, never re-sorted in place), so paging through a
// large site does not sort it again for every page; the order is total
// (ties go by ID), so filtering the sorted list equals sorting the filtered.
func (s *Site) sortedOfType(typ string, lq *listQuery) []*record {
	key := typ + "|" + lq.orderby + "|" + lq.order
	cacheable := lq.orderby != "include" && lq.orderby != "include_slugs"
	if c, ok := s.sortCache[key]; ok && cacheable && c.gen == s.gen {
		return c.list
	}
	var list []*record
	for _, r := range s.records {
		if r.typ == typ {
			list = append(list, r)
		}
	}
	lq.sort(list)
	if cacheable {
		s.sortCache[key] = sortedRecords{gen: s.gen, list: list}
	}
	return list
}

// sortedRecords is one cached order and the generation it was made at.
type sortedRecords struct {
	gen  uint64
	list []*record
}

func (lq *listQuery) sort(list []*record) {
	type keyed struct {
		r   *record
		num int64
		str string
	}
	keys := make([]keyed, len(list))
	for i, r := range list {
		k := keyed{r: r}
		switch lq.orderby {
		case "date":
			k.num = wall(r.date).Unix()
		case "modified":
			k.num = wall(r.modified).Unix()
		case "title", "relevance":
			k.str = strings.ToLower(r.title)
		case "slug":
			k.str = r.slug
		case "author":
			k.num = r.author
		case "parent":
			k.num = r.parent
		case "menu_order":
			k.num = int64(r.menuOrder)
		case "include":
			k.num = int64(indexOf(lq.include, r.id))
		case "include_slugs":
			k.num = int64(indexOf(lq.slugs, r.slug))
		}
		keys[i] = k
	}
	desc := lq.order == "desc" && lq.orderby != "include" && lq.orderby != "include_slugs"
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		c := strings.Compare(a.str, b.str)
		if c == 0 && a.num != b.num {
			c = cmpInt(a.num, b.num)
		}
		if c == 0 {
			c = cmpInt(a.r.id, b.r.id)
		}
		if desc {
			return c > 0
		}
		return c < 0
	})
	for i, k := range keys {
		list[i] = k.r
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func indexOf[T comparable](list []T, v T) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return len(list)
}

func (s *Site) listPosts(w http.ResponseWriter, req *apiRequest, pt postType) {
	lq, ok := s.parseListQuery(w, req, pt)
	if !ok {
		return
	}
	fields := parseFields(req.r.URL.Query())
	s.mu.Lock()
	s.runCron()
	var list []*record
	for _, r := range s.sortedOfType(pt.slug, lq) {
		if lq.match(r) {
			list = append(list, r)
		}
	}
	total := int64(len(list))
	pages := (total + lq.perPage - 1) / lq.perPage
	if lq.page > pages && total > 0 {
		s.mu.Unlock()
		wpError(w, http.StatusBadRequest, "rest_post_invalid_page_number", "The page number requested is larger than the number of pages available.")
		return
	}
	start := (lq.page - 1) * lq.perPage
	if lq.offset > 0 {
		start = lq.offset
	}
	items := []any{}
	for i := start; i < total && i < start+lq.perPage; i++ {
		items = append(items, fields.filter(s.postJSON(req, list[i], pt, lq.ctx)))
	}
	s.mu.Unlock()
	pagingHeaders(w, req, total, pages, lq.page)
	writeJSON(w, http.StatusOK, items)
}

// pagingHeaders sets X-WP-Total, X-WP-TotalPages and the prev/next Link.
func pagingHeaders(w http.ResponseWriter, req *apiRequest, total, pages, page int64) {
	w.Header().Set("X-WP-Total", strconv.FormatInt(total, 10))
	w.Header().Set("X-WP-TotalPages", strconv.FormatInt(pages, 10))
	link := func(p int64) string {
		q := req.r.URL.Query()
		q.Set("page", strconv.FormatInt(p, 10))
		return req.base + "/wp-json" + req.route + "?" + q.Encode()
	}
	var links []string
	if page > 1 {
		links = append(links, fmt.Sprintf("<%s>; rel=\"prev\"", link(min(page-1, max(pages, 1)))))
	}
	if page < pages {
		links = append(links, fmt.Sprintf("<%s>; rel=\"next\"", link(page+1)))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
}

// findPost returns the record of that type, or answers 404.
func (s *Site) findPost(w http.ResponseWriter, pt postType, id int64) *record {
	r, ok := s.records[id]
	if !ok || r.typ != pt.slug {
		wpError(w, http.StatusNotFound, "rest_post_invalid_id", "Invalid post ID.")
		return nil
	}
	return r
}

func (s *Site) getPost(w http.ResponseWriter, req *apiRequest, pt postType, id int64) {
	q := req.r.URL.Query()
	errs := paramErrors{}
	ctx := queryContext(q, errs)
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	fields := parseFields(q)
	s.mu.Lock()
	s.runCron()
	r := s.findPost(w, pt, id)
	if r == nil {
		s.mu.Unlock()
		return
	}
	if ctx == "edit" && !req.canEdit {
		s.mu.Unlock()
		wpError(w, req.authCode(), "rest_forbidden_context", "Sorry, you are not allowed to edit this post.")
		return
	}
	if !visible(req, r) {
		s.mu.Unlock()
		wpError(w, req.authCode(), "rest_forbidden", "Sorry, you are not allowed to do that.")
		return
	}
	body := fields.filter(s.postJSON(req, r, pt, ctx))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// postInput is a create or update request's fields.
type postInput struct {
	title, content, excerpt, slug, status string
	hasTitle, hasContent, hasExcerpt      bool
	hasSlug, hasStatus                    bool
	date                                  time.Time
	hasDate                               bool
	featured, parent, menuOrder           int64
	hasFeatured, hasParent, hasMenuOrder  bool
	cats, tags                            []int64
	hasCats, hasTags                      bool
	// contentID is meta._igny8_content_id, which only the companion
	// plugin registers (posts and pages).
	contentID    string
	hasContentID bool
}

func (s *Site) readPostInput(w http.ResponseWriter, req *apiRequest, pt postType) (*postInput, map[string]any, bool) {
	p, ok, msg := req.readParams()
	if !ok {
		invalidJSON(w, msg)
		return nil, nil, false
	}
	errs := paramErrors{}
	in := &postInput{}
	in.title, in.hasTitle = paramRaw(p, "title", errs)
	in.content, in.hasContent = paramRaw(p, "content", errs)
	in.excerpt, in.hasExcerpt = paramRaw(p, "excerpt", errs)
	in.slug, in.hasSlug = paramString(p, "slug", errs)
	if in.status, in.hasStatus = paramString(p, "status", errs); in.hasStatus && !contains(postStatusEnum, in.status) {
		errs.add("status", "rest_not_in_enum", "status is not one of "+strings.Join(postStatusEnum, ", ")+".")
	}
	s.mu.Lock()
	zone := s.zone()
	plugin := s.plugin != nil
	s.mu.Unlock()
	// WordPress drops meta keys nobody registered; the plugin registers
	// _igny8_content_id on types that support custom fields.
	if meta, ok := p["meta"].(map[string]any); ok && plugin && (pt.slug == "post" || pt.slug == "page") {
		if v, ok := meta[pluginMetaKey].(string); ok {
			in.contentID, in.hasContentID = v, true
		}
	}
	// rest_get_date_with_gmt: "date" wins over "date_gmt"; a date_gmt's
	// offset, if any, is ignored (read as UTC).
	if v, ok := paramString(p, "date", errs); ok {
		if t, ok := parseWPDate(v, zone, false); ok {
			in.date, in.hasDate = t.UTC(), true
		} else {
			errs.add("date", "rest_invalid_date", "Invalid date.")
		}
	} else if v, ok := paramString(p, "date_gmt", errs); ok {
		if t, ok := parseWPDate(v, time.UTC, true); ok {
			in.date, in.hasDate = t.UTC(), true
		} else {
			errs.add("date_gmt", "rest_invalid_date", "Invalid date.")
		}
	}
	if pt.slug != attachmentType {
		in.featured, in.hasFeatured = paramInt(p, "featured_media", errs)
	}
	if pt.hierarchical {
		in.parent, in.hasParent = paramInt(p, "parent", errs)
		in.menuOrder, in.hasMenuOrder = paramInt(p, "menu_order", errs)
	}
	if pt.slug == "post" {
		in.cats, in.hasCats = paramIDs(p, "categories", errs)
		in.tags, in.hasTags = paramIDs(p, "tags", errs)
	}
	if len(errs) > 0 {
		errs.write(w)
		return nil, nil, false
	}
	return in, p, true
}

// checkTerms is check_assign_terms_permission (every term must exist) and
// the parent check; a zero status means all is well.
func (s *Site) checkTerms(req *apiRequest, in *postInput) (int, string, string) {
	for _, c := range []struct {
		ids []int64
		tax string
	}{{in.cats, "category"}, {in.tags, "post_tag"}} {
		for _, id := range c.ids {
			if t, ok := s.terms[id]; !ok || t.Taxonomy != c.tax {
				return req.authCode(), "rest_cannot_assign_term", "Sorry, you are not allowed to assign the provided terms."
			}
		}
	}
	if in.hasParent && in.parent != 0 {
		if _, ok := s.records[in.parent]; !ok {
			return http.StatusBadRequest, "rest_post_invalid_id", "Invalid post parent ID."
		}
	}
	return 0, "", ""
}

// apply writes the input onto r (prepare_item_for_database, then the
// handle_* steps that run after the insert).
func (s *Site) apply(r *record, in *postInput) {
	if in.hasContentID {
		r.contentID = in.contentID
	}
	if in.hasTitle {
		r.title = in.title
	}
	if in.hasContent {
		r.content = in.content
	}
	if in.hasExcerpt {
		r.excerpt = in.excerpt
	}
	if in.hasSlug {
		r.slug = in.slug
	}
	if in.hasStatus {
		r.status = in.status
	}
	if in.hasParent {
		r.parent = in.parent
	}
	if in.hasMenuOrder {
		r.menuOrder = int(in.menuOrder)
	}
	if in.hasFeatured {
		// handle_featured_media: set_post_thumbnail only takes an image
		// attachment; its failure is not reported.
		if in.featured == 0 {
			r.featured = 0
		} else if m, ok := s.records[in.featured]; ok && m.typ == attachmentType && strings.HasPrefix(m.mime, "image/") {
			r.featured = in.featured
		}
	}
	if in.hasCats {
		r.cats = dedupe(in.cats)
	}
	if in.hasTags {
		r.tags = dedupe(in.tags)
	}
}

func dedupe(list []int64) []int64 {
	out := []int64{}
	for _, v := range list {
		if !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func (s *Site) createPost(w http.ResponseWriter, req *apiRequest, pt postType) {
	if !req.canEdit {
		wpError(w, req.authCode(), "rest_cannot_create", "Sorry, you are not allowed to create posts as this user.")
		return
	}
	in, p, ok := s.readPostInput(w, req, pt)
	if !ok {
		return
	}
	if id, _ := toInt(p["id"]); id != 0 {
		wpError(w, http.StatusBadRequest, "rest_post_exists", "Cannot create existing post.")
		return
	}
	ctxFields := parseFields(req.r.URL.Query())
	s.mu.Lock()
	s.runCron()
	if status, code, msg := s.checkTerms(req, in); status != 0 {
		s.mu.Unlock()
		wpError(w, status, code, msg)
		return
	}
	now := s.now()
	r := &record{typ: pt.slug, status: "draft", author: 1}
	s.apply(r, in)
	switch {
	case in.hasDate:
		r.dateGMT, r.date = in.date, s.local(in.date)
	case floatingStatus(r.status):
		r.date = s.local(now)
	default:
		r.dateGMT, r.date = now, s.local(now)
	}
	r.modifiedGMT, r.modified = now, s.local(now)
	if pt.slug == "post" && !in.hasCats {
		r.cats = []int64{1} // default_category
	}
	s.applySaveRules(r, nil, now)
	s.insert(r)
	s.modelled = true
	s.creates[pt.slug]++
	post := s.postOf(r)
	body := ctxFields.filter(s.postJSON(req, r, pt, "edit"))
	hooks := append([]func(typ string, p Post){}, s.onCreated...)
	s.mu.Unlock()
	for _, h := range hooks {
		h(pt.slug, post)
	}
	w.Header().Set("Location", fmt.Sprintf("%s/wp-json/wp/v2/%s/%d", req.base, pt.base, r.id))
	writeJSON(w, http.StatusCreated, body)
}

func (s *Site) updatePost(w http.ResponseWriter, req *apiRequest, pt postType, id int64) {
	if !s.exists(pt, id) {
		wpError(w, http.StatusNotFound, "rest_post_invalid_id", "Invalid post ID.")
		return
	}
	if !req.canEdit {
		wpError(w, req.authCode(), "rest_cannot_edit", "Sorry, you are not allowed to edit this post.")
		return
	}
	if pt.slug == attachmentType {
		s.updateMedia(w, req, id)
		return
	}
	in, _, ok := s.readPostInput(w, req, pt)
	if !ok {
		return
	}
	fields := parseFields(req.r.URL.Query())
	s.mu.Lock()
	s.runCron()
	cur, ok := s.records[id]
	if !ok || cur.typ != pt.slug {
		s.mu.Unlock()
		wpError(w, http.StatusNotFound, "rest_post_invalid_id", "Invalid post ID.")
		return
	}
	if status, code, msg := s.checkTerms(req, in); status != 0 {
		s.mu.Unlock()
		wpError(w, status, code, msg)
		return
	}
	now := s.now()
	prev := cur.clone()
	r := cur.clone()
	s.apply(r, in)
	// A date counts only when it differs from the stored one (edit_date).
	// A draft whose date floats gets the time of this save.
	switch {
	case in.hasDate && !in.date.Equal(prev.dateGMT):
		r.dateGMT, r.date = in.date, s.local(in.date)
	case floatingStatus(prev.status) && prev.dateGMT.IsZero():
		r.date, r.dateGMT = s.local(now), time.Time{}
	}
	if r.dateGMT.IsZero() && !floatingStatus(r.status) {
		r.dateGMT = s.gmtFromLocal(r.date)
	}
	r.modifiedGMT, r.modified = now, s.local(now)
	s.applySaveRules(r, prev, now)
	s.insert(r)
	body := fields.filter(s.postJSON(req, r, pt, "edit"))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// exists tells whether a record of that type is stored.
func (s *Site) exists(pt postType, id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	return ok && r.typ == pt.slug
}

func (s *Site) deletePost(w http.ResponseWriter, req *apiRequest, pt postType, id int64) {
	force := isTrue(req.r.URL.Query().Get("force"))
	if p, ok, _ := req.readParams(); ok {
		if v, isStr := p["force"].(string); isStr {
			force = force || isTrue(v)
		} else if b, isBool := p["force"].(bool); isBool {
			force = force || b
		}
	}
	if !s.exists(pt, id) {
		wpError(w, http.StatusNotFound, "rest_post_invalid_id", "Invalid post ID.")
		return
	}
	if !req.canEdit {
		wpError(w, req.authCode(), "rest_cannot_delete", "Sorry, you are not allowed to delete this post.")
		return
	}
	if pt.slug == attachmentType && !force {
		wpError(w, http.StatusNotImplemented, "rest_trash_not_supported", "The post does not support trashing. Set 'force' to delete.")
		return
	}
	fields := parseFields(req.r.URL.Query())
	s.mu.Lock()
	s.runCron()
	r, ok := s.records[id]
	if !ok || r.typ != pt.slug {
		s.mu.Unlock()
		wpError(w, http.StatusNotFound, "rest_post_invalid_id", "Invalid post ID.")
		return
	}
	if force {
		prev := fields.filter(s.postJSON(req, r, pt, "edit"))
		s.remove(id)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"deleted": true, "previous": prev})
		return
	}
	if r.status == "trash" {
		s.mu.Unlock()
		wpError(w, http.StatusGone, "rest_already_trashed", "The post has already been deleted.")
		return
	}
	now := s.now()
	prev := r.clone()
	next := r.clone()
	next.status = "trash"
	next.modifiedGMT, next.modified = now, s.local(now)
	s.applySaveRules(next, prev, now)
	s.insert(next)
	body := fields.filter(s.postJSON(req, next, pt, "edit"))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}
