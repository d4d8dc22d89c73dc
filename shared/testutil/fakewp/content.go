package fakewp

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// WordPress's REST date format (no zone: date_gmt/modified_gmt are GMT,
// date/modified site-local).
const wpLayout = "2006-01-02T15:04:05"

// Post is one post, page or product as the site stores it (a wp_posts row).
type Post struct {
	ID int64
	// Type is "post", "page" or "product".
	Type string
	// Status is publish, future, draft, pending, private or trash.
	Status string
	Slug   string
	// Title, Content and Excerpt are the raw values. An empty Excerpt is
	// answered with an excerpt generated from Content as excerpt.rendered,
	// as WordPress does.
	Title, Content, Excerpt string
	// DateGMT is post_date_gmt. It is zero for a draft or pending post whose
	// date "floats" (never set explicitly); REST still shows a date_gmt,
	// derived from Date.
	DateGMT     time.Time
	ModifiedGMT time.Time
	// Date and Modified are post_date and post_modified: the site-local
	// wall clock, in a fixed zone of the gmt_offset in force when written.
	// modified_after compares Modified's wall clock.
	Date, Modified time.Time
	Author         int64
	FeaturedMedia  int64
	// Categories and Tags are term IDs (posts only).
	Categories, Tags []int64
	// Parent and MenuOrder are page attributes.
	Parent    int64
	MenuOrder int
	// Link is the permalink (computed for the site URL without a
	// subdirectory; read-only).
	Link string
	// TrashedFrom and DesiredSlug are WordPress's _wp_trash_meta_status and
	// _wp_desired_post_slug, set while the post is in the trash.
	TrashedFrom, DesiredSlug string
}

// Term is a category or tag.
type Term struct {
	ID int64
	// Taxonomy is "category" or "post_tag".
	Taxonomy                string
	Name, Slug, Description string
	Parent                  int64
	// Count is the number of published posts with the term (read-only).
	Count int
	// Link is the archive URL (read-only).
	Link string
}

// Media is an attachment.
type Media struct {
	ID int64
	// FileName is the stored file name ("photo.jpg", or "photo-1.jpg" when
	// the name was taken); File the path below wp-content/uploads
	// ("2026/01/photo.jpg"). AddMedia fills File from FileName.
	FileName, File string
	MimeType       string
	Title          string
	Slug           string
	AltText        string
	Caption        string
	Description    string
	Width, Height  int
	Data           []byte
	// Post is the post the media was uploaded to (post_parent), 0 if none.
	Post                 int64
	DateGMT, ModifiedGMT time.Time
	Date, Modified       time.Time
	// SourceURL is the file's URL (read-only).
	SourceURL string
}

// postType is one post type the content model serves.
type postType struct {
	slug, base   string
	hierarchical bool
	taxonomies   []string // REST fields: "categories", "tags"
}

const attachmentType = "attachment"

var postTypeList = []postType{
	{slug: "post", base: "posts", taxonomies: []string{"categories", "tags"}},
	{slug: "page", base: "pages", hierarchical: true},
	{slug: "product", base: "products"},
}

var mediaType = postType{slug: attachmentType, base: "media"}

// lookupType accepts a type slug or its REST base.
func lookupType(name string) (postType, bool) {
	for _, t := range postTypeList {
		if t.slug == name || t.base == name {
			return t, true
		}
	}
	if name == attachmentType || name == "media" {
		return mediaType, true
	}
	return postType{}, false
}

func mustType(name string) postType {
	if name == "" {
		name = "post"
	}
	t, ok := lookupType(name)
	if !ok || t.slug == attachmentType {
		panic(fmt.Sprintf("fakewp: unknown post type %q (want post, page or product)", name))
	}
	return t
}

// taxonomy is a taxonomy the content model serves.
type taxonomy struct {
	slug, base   string
	hierarchical bool
	archive      string // permalink base
}

var taxonomyList = []taxonomy{
	{slug: "category", base: "categories", hierarchical: true, archive: "category"},
	{slug: "post_tag", base: "tags", archive: "tag"},
}

func lookupTaxonomy(name string) (taxonomy, bool) {
	for _, t := range taxonomyList {
		if t.slug == name || t.base == name || (name == "tag" && t.slug == "post_tag") {
			return t, true
		}
	}
	return taxonomy{}, false
}

func mustTaxonomy(name string) taxonomy {
	t, ok := lookupTaxonomy(name)
	if !ok {
		panic(fmt.Sprintf("fakewp: unknown taxonomy %q (want category or post_tag)", name))
	}
	return t
}

// record is a wp_posts row: a post of any type, or an attachment.
type record struct {
	id                        int64
	typ, status, slug         string
	title, content, excerpt   string
	dateGMT, date             time.Time
	modifiedGMT, modified     time.Time
	author, featured          int64
	cats, tags                []int64
	parent                    int64
	menuOrder                 int
	trashedFrom, desiredSlug  string
	file, fileName, mime, alt string
	width, height             int
	data                      []byte
	contentID                 string // meta._igny8_content_id (companion plugin)
}

func (r *record) clone() *record {
	c := *r
	c.cats, c.tags = slices.Clone(r.cats), slices.Clone(r.tags)
	return &c
}

// floatingStatus: statuses whose date is not fixed until set explicitly,
// and whose slugs need not be unique (wp_unique_post_slug skips them).
func floatingStatus(status string) bool {
	return status == "draft" || status == "pending" || status == "auto-draft"
}

// SetClock sets the site's clock (default time.Now). The site truncates it
// to seconds, as MySQL DATETIME columns do.
func (s *Site) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now == nil {
		now = time.Now
	}
	s.clock = now
}

// Now is the site's current time (UTC, whole seconds).
func (s *Site) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Site) now() time.Time { return s.clock().UTC().Truncate(time.Second) }

// SetGMTOffset sets the site's UTC offset in hours (default 2; fractions
// like 5.5 are allowed), as a manual offset in Settings → General: the
// index then reports it with an empty timezone_string. Stored local dates
// keep the offset they were written with, as in WordPress.
func (s *Site) SetGMTOffset(hours float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gmtOffset, s.offsetSet = hours, true
}

func (s *Site) zone() *time.Location {
	secs := int(s.gmtOffset * 3600)
	return time.FixedZone(fmt.Sprintf("UTC%+g", s.gmtOffset), secs)
}

func (s *Site) local(t time.Time) time.Time { return t.In(s.zone()) }

// wall is t's wall clock as a zone-less value, for comparing local dates
// as MySQL compares DATETIME strings.
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// UseContentModel makes the post types answer from the content model
// (empty until seeded) instead of the SetCount numbers. Seeding or creating
// content does this too.
func (s *Site) UseContentModel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modelled = true
}

// AddPost stores p as if imported into the database and returns it as
// stored. Defaults: Type "post", Status "publish", DateGMT and ModifiedGMT
// the site's clock (DateGMT stays zero for a draft or pending post, whose
// date floats), Date and Modified their local times, Author 1, and for a
// post without Categories the default category, 1. A zero ID takes the next
// one of the shared sequence; an ID already in use panics. The slug is
// sanitized and, unless the post is a draft or pending, made unique (a
// taken slug gets -2, -3…); an empty one comes from the title. A post added
// in the trash gets WordPress's __trashed slug suffix.
func (s *Site) AddPost(p Post) Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addPost(p)
}

func (s *Site) addPost(p Post) Post {
	s.modelled = true
	pt := mustType(p.Type)
	s.checkFreeID(p.ID)
	now := s.now()
	if p.Status == "" {
		p.Status = "publish"
	}
	r := &record{id: p.ID, typ: pt.slug, status: p.Status, slug: p.Slug, title: p.Title, content: p.Content, excerpt: p.Excerpt,
		dateGMT: p.DateGMT.UTC(), date: p.Date, modifiedGMT: p.ModifiedGMT.UTC(), modified: p.Modified, author: p.Author,
		featured: p.FeaturedMedia, cats: slices.Clone(p.Categories), tags: slices.Clone(p.Tags), parent: p.Parent, menuOrder: p.MenuOrder}
	if r.author == 0 {
		r.author = 1
	}
	if r.dateGMT.IsZero() && !floatingStatus(r.status) {
		if r.date.IsZero() {
			r.dateGMT = now
		} else {
			r.dateGMT = r.date.UTC()
		}
	}
	if r.date.IsZero() {
		if r.dateGMT.IsZero() {
			r.date = s.local(now)
		} else {
			r.date = s.local(r.dateGMT)
		}
	}
	if r.modifiedGMT.IsZero() {
		if r.modified.IsZero() {
			r.modifiedGMT = now
		} else {
			r.modifiedGMT = r.modified.UTC()
		}
	}
	if r.modified.IsZero() {
		r.modified = s.local(r.modifiedGMT)
	}
	if pt.slug == "post" && len(r.cats) == 0 {
		r.cats = []int64{1}
	}
	if pt.slug != "post" {
		r.cats, r.tags = nil, nil
	}
	if r.status == "trash" {
		r.trashedFrom, r.desiredSlug = cmpOr(p.TrashedFrom, "draft"), cmpOr(p.DesiredSlug, strings.TrimSuffix(r.slug, "__trashed"))
		if r.slug != "" && !strings.HasSuffix(r.slug, "__trashed") {
			r.slug = truncateSlug(r.slug, 191) + "__trashed"
		}
	} else {
		s.fixSlug(r)
	}
	s.insert(r)
	return s.postOf(r)
}

// AddPosts adds n posts of type typ ("post", "page", "product"). fn, if
// set, fills each (i from 0) before it is stored; by default post i is
// "<Type> i" with a short body, published one minute after the previous.
func (s *Site) AddPosts(n int, typ string, fn func(i int, p *Post)) []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	pt := mustType(typ)
	now := s.now()
	start := now.Add(-time.Duration(n) * time.Minute)
	out := make([]Post, 0, n)
	for i := range n {
		at := start.Add(time.Duration(i+1) * time.Minute)
		name := strings.ToUpper(pt.slug[:1]) + pt.slug[1:]
		p := Post{Type: pt.slug, Title: fmt.Sprintf("%s %d", name, i), Content: fmt.Sprintf("<p>Body of %s %d.</p>", pt.slug, i),
			DateGMT: at, ModifiedGMT: at}
		if fn != nil {
			fn(i, &p)
		}
		p.Type = cmpOr(p.Type, pt.slug)
		out = append(out, s.addPost(p))
	}
	return out
}

// Post returns a stored post, page or product.
func (s *Site) Post(id int64) (Post, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runCron()
	r, ok := s.records[id]
	if !ok || r.typ == attachmentType {
		return Post{}, false
	}
	return s.postOf(r), true
}

// Posts lists the stored posts of a type ("post", "page", "product" or
// their REST bases; "" for all), trashed ones included, by ID.
func (s *Site) Posts(typ string) []Post {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runCron()
	var want string
	if typ != "" {
		want = mustType(typ).slug
	}
	var out []Post
	for _, r := range s.sortedRecords() {
		if r.typ != attachmentType && (want == "" || r.typ == want) {
			out = append(out, s.postOf(r))
		}
	}
	return out
}

// EditPost changes a stored post as an editor saving it in wp-admin would:
// fn edits a copy, then WordPress's save rules apply (slug sanitized and
// made unique, __trashed suffix when moved to the trash and the desired
// slug restored when moved out, publish ↔ future by date), and the
// modified dates move to the site's clock unless fn changed ModifiedGMT
// itself. It returns the stored post, or false if there is none.
func (s *Site) EditPost(id int64, fn func(*Post)) (Post, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runCron()
	r, ok := s.records[id]
	if !ok || r.typ == attachmentType {
		return Post{}, false
	}
	prev := r.clone()
	p := s.postOf(r)
	fn(&p)
	next := r.clone()
	next.status, next.slug, next.title, next.content, next.excerpt = p.Status, p.Slug, p.Title, p.Content, p.Excerpt
	next.author, next.featured, next.parent, next.menuOrder = p.Author, p.FeaturedMedia, p.Parent, p.MenuOrder
	if r.typ == "post" {
		next.cats, next.tags = slices.Clone(p.Categories), slices.Clone(p.Tags)
	}
	if !p.DateGMT.Equal(prev.dateGMT) {
		next.dateGMT, next.date = p.DateGMT.UTC(), s.local(p.DateGMT)
	} else if !p.Date.Equal(prev.date) {
		next.date = p.Date
		if !next.dateGMT.IsZero() {
			next.dateGMT = p.Date.UTC()
		}
	}
	now := s.now()
	if floatingStatus(prev.status) && prev.dateGMT.IsZero() && p.DateGMT.IsZero() && p.Date.Equal(prev.date) {
		next.date = s.local(now) // a floating draft's date is that of its last save
	}
	next.modifiedGMT, next.modified = now, s.local(now)
	if !p.ModifiedGMT.Equal(prev.modifiedGMT) {
		next.modifiedGMT, next.modified = p.ModifiedGMT.UTC(), s.local(p.ModifiedGMT)
	} else if !p.Modified.Equal(prev.modified) {
		next.modified, next.modifiedGMT = p.Modified, p.Modified.UTC()
	}
	if next.dateGMT.IsZero() && !floatingStatus(next.status) {
		next.dateGMT = s.gmtFromLocal(next.date)
	}
	s.applySaveRules(next, prev, now)
	s.insert(next)
	return s.postOf(next), true
}

// DeletePost removes a post for good (like DELETE ?force=true).
func (s *Site) DeletePost(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok || r.typ == attachmentType {
		return false
	}
	s.remove(id)
	return true
}

// CountCreates is the number of successful REST creates of a type ("post",
// "page", "product", "attachment"/"media", "category", "post_tag"; REST
// bases work too).
func (s *Site) CountCreates(typ string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := lookupType(typ); ok {
		typ = t.slug
	} else if t, ok := lookupTaxonomy(typ); ok {
		typ = t.slug
	}
	return s.creates[typ]
}

// AddTerm stores a term, or returns the existing one of that name (and
// parent, for categories), as term_exists would find it. taxonomy is
// "category" or "post_tag" ("categories", "tags" work too).
func (s *Site) AddTerm(taxonomyName, name string, parent int64) Term {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modelled = true
	tax := mustTaxonomy(taxonomyName)
	if !tax.hierarchical {
		parent = 0
	}
	if t := s.termByName(tax, name, parent); t != nil {
		return s.termOf(t, s.URL, nil)
	}
	t := &Term{Taxonomy: tax.slug, Name: name, Parent: parent}
	t.Slug = s.uniqueTermSlug(tax, sanitizeTitle(name), parent, 0)
	s.insertTerm(t)
	return s.termOf(t, s.URL, nil)
}

// Terms lists a taxonomy's terms by ID.
func (s *Site) Terms(taxonomyName string) []Term {
	s.mu.Lock()
	defer s.mu.Unlock()
	tax := mustTaxonomy(taxonomyName)
	counts := s.termCounts()
	var out []Term
	for _, t := range s.sortedTerms() {
		if t.Taxonomy == tax.slug {
			out = append(out, s.termOf(t, s.URL, counts))
		}
	}
	return out
}

// AddMedia stores an attachment as if uploaded, and returns it as stored.
// Defaults: FileName "image.jpg", MimeType from the extension, Title from
// the file name, the dates from the site's clock. File is made unique in
// this month's uploads folder, the slug unique across all posts.
func (s *Site) AddMedia(m Media) Media {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modelled = true
	now := s.now()
	name := cmpOr(m.FileName, cmpOr(path.Base(m.File), "image.jpg"))
	if name == "." || name == "/" {
		name = "image.jpg"
	}
	s.checkFreeID(m.ID)
	r := &record{id: m.ID, typ: attachmentType, status: "inherit", title: m.Title, content: m.Description, excerpt: m.Caption,
		alt: m.AltText, mime: m.MimeType, width: m.Width, height: m.Height, data: m.Data, parent: m.Post, author: 1,
		dateGMT: m.DateGMT.UTC(), modifiedGMT: m.ModifiedGMT.UTC(), date: m.Date, modified: m.Modified, slug: m.Slug}
	if r.mime == "" {
		r.mime = mimeByExt[strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))]
	}
	if r.dateGMT.IsZero() {
		r.dateGMT = now
	}
	if r.date.IsZero() {
		r.date = s.local(r.dateGMT)
	}
	if r.modifiedGMT.IsZero() {
		r.modifiedGMT = r.dateGMT
	}
	if r.modified.IsZero() {
		r.modified = s.local(r.modifiedGMT)
	}
	dir := r.date.Format("2006/01")
	if m.File != "" {
		dir = path.Dir(m.File)
	}
	r.fileName = s.uniqueFileName(dir, sanitizeFileName(name))
	r.file = dir + "/" + r.fileName
	if r.title == "" {
		r.title = strings.TrimSuffix(r.fileName, path.Ext(r.fileName))
	}
	s.fixSlug(r)
	s.insert(r)
	return s.mediaOf(r, s.URL)
}

// Media lists the attachments by ID.
func (s *Site) Media() []Media {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Media
	for _, r := range s.sortedRecords() {
		if r.typ == attachmentType {
			out = append(out, s.mediaOf(r, s.URL))
		}
	}
	return out
}

// --- store internals (s.mu held) ---

// insert stores a new record (id 0 takes the next of the sequence) or, for
// a record already stored, replaces it.
func (s *Site) insert(r *record) {
	s.gen++
	if r.id == 0 {
		r.id = s.nextPostID
	}
	if r.id >= s.nextPostID {
		s.nextPostID = r.id + 1
	}
	if old := s.records[r.id]; old != nil {
		delete(s.bySlug[old.slug], old.id)
	}
	s.records[r.id] = r
	if s.bySlug[r.slug] == nil {
		s.bySlug[r.slug] = map[int64]*record{}
	}
	s.bySlug[r.slug][r.id] = r
	if r.status == "future" {
		s.futures[r.id] = true
	} else {
		delete(s.futures, r.id)
	}
}

func (s *Site) checkFreeID(id int64) {
	if old, ok := s.records[id]; ok && id != 0 {
		panic(fmt.Sprintf("fakewp: id %d is already used by a %s", id, old.typ))
	}
}

func (s *Site) remove(id int64) {
	s.gen++
	r := s.records[id]
	delete(s.records, id)
	delete(s.futures, id)
	if r != nil {
		delete(s.bySlug[r.slug], id)
	}
	if r != nil && r.typ == attachmentType {
		// wp_delete_attachment drops every _thumbnail_id pointing at it.
		for _, o := range s.records {
			if o.featured == id {
				o.featured = 0
			}
		}
	}
}

func (s *Site) insertTerm(t *Term) {
	if t.ID == 0 {
		t.ID = s.nextTermID
	}
	if t.ID >= s.nextTermID {
		s.nextTermID = t.ID + 1
	}
	s.terms[t.ID] = t
}

func (s *Site) sortedRecords() []*record {
	out := make([]*record, 0, len(s.records))
	for _, r := range s.records {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (s *Site) sortedTerms() []*Term {
	out := make([]*Term, 0, len(s.terms))
	for _, t := range s.terms {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// runCron publishes scheduled posts whose time has come, as wp-cron does on
// the next request: wp_publish_post changes only post_status, so
// modified_gmt does not move.
func (s *Site) runCron() {
	if len(s.futures) == 0 {
		return
	}
	now := s.now()
	for id := range s.futures {
		r := s.records[id]
		if r == nil || r.status != "future" {
			delete(s.futures, id)
			continue
		}
		if !r.dateGMT.After(now) {
			r.status = "publish"
			delete(s.futures, id)
		}
	}
}

func (s *Site) gmtFromLocal(local time.Time) time.Time {
	w := wall(local)
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, s.zone()).UTC()
}

// applySaveRules is the part of wp_insert_post every save goes through:
// trash bookkeeping, slugs, and publish ↔ future by date.
func (s *Site) applySaveRules(r, prev *record, now time.Time) {
	if r.typ != attachmentType {
		if r.status == "publish" && r.dateGMT.Sub(now) >= time.Minute {
			r.status = "future"
		} else if r.status == "future" && r.dateGMT.Sub(now) < time.Minute {
			r.status = "publish"
		}
	}
	wasTrash := prev != nil && prev.status == "trash"
	switch {
	case r.status == "trash" && !wasTrash:
		// wp_trash_post: remember the status and slug, free the slug.
		from := "draft"
		if prev != nil {
			from = prev.status
		}
		r.trashedFrom, r.desiredSlug = from, r.slug
		if r.slug != "" {
			r.slug = truncateSlug(r.slug, 191) + "__trashed"
		}
		return
	case r.status == "trash":
		return
	case wasTrash:
		if prev.desiredSlug != "" {
			r.slug = prev.desiredSlug
		}
		r.trashedFrom, r.desiredSlug = "", ""
	}
	s.fixSlug(r)
}

// fixSlug applies wp_insert_post's slug rules: sanitize; drafts and
// pending posts may have an empty or duplicate slug; others get one from
// the title (or the ID) made unique by wp_unique_post_slug.
func (s *Site) fixSlug(r *record) {
	if r.slug == "" {
		if floatingStatus(r.status) {
			return
		}
		r.slug = sanitizeTitle(r.title)
	} else {
		r.slug = sanitizeTitle(r.slug)
	}
	if floatingStatus(r.status) {
		return
	}
	if r.slug == "" {
		if r.id == 0 {
			r.id = s.nextPostID
		}
		r.slug = strconv.FormatInt(r.id, 10)
	}
	r.slug = s.uniquePostSlug(r)
}

var feedSlugs = []string{"feed", "rdf", "rss", "rss2", "atom", "embed"}

// uniquePostSlug is wp_unique_post_slug.
func (s *Site) uniquePostSlug(r *record) string {
	pt, _ := lookupType(r.typ)
	taken := func(slug string) bool {
		for _, o := range s.bySlug[slug] {
			if o.id == r.id {
				continue
			}
			switch {
			case r.typ == attachmentType:
				return true // attachment slugs are unique across all types
			case pt.hierarchical:
				if (o.typ == r.typ && o.parent == r.parent) || o.typ == attachmentType {
					return true
				}
			case o.typ == r.typ:
				return true
			}
		}
		return false
	}
	bad := slices.Contains(feedSlugs, r.slug)
	if pt.hierarchical && isPaginationSlug(r.slug) {
		bad = true
	}
	if !bad && !taken(r.slug) {
		return r.slug
	}
	for n := 2; ; n++ {
		suffix := "-" + strconv.Itoa(n)
		alt := truncateSlug(r.slug, 200-len(suffix)) + suffix
		if !taken(alt) {
			return alt
		}
	}
}

// isPaginationSlug: a page slug like "2" or "page2" would clash with
// pagination URLs.
func isPaginationSlug(slug string) bool {
	rest := strings.TrimPrefix(slug, "page")
	if rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// truncateSlug is _truncate_post_slug: cut to length bytes without
// breaking a %xx escape.
func truncateSlug(slug string, length int) string {
	if len(slug) <= length {
		return slug
	}
	cut := slug[:length]
	if i := strings.LastIndexByte(cut, '%'); i >= 0 && i > length-3 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, "-")
}

func (s *Site) termByName(tax taxonomy, name string, parent int64) *Term {
	for _, t := range s.sortedTerms() {
		if t.Taxonomy == tax.slug && strings.EqualFold(t.Name, name) && (!tax.hierarchical || t.Parent == parent) {
			return t
		}
	}
	return nil
}

func (s *Site) termBySlug(tax taxonomy, slug string) *Term {
	for _, t := range s.sortedTerms() {
		if t.Taxonomy == tax.slug && t.Slug == slug {
			return t
		}
	}
	return nil
}

// uniqueTermSlug is wp_unique_term_slug: a taken slug first gets the
// parents' slugs appended (categories), then -2, -3….
func (s *Site) uniqueTermSlug(tax taxonomy, slug string, parent, self int64) string {
	taken := func(sl string) bool {
		t := s.termBySlug(tax, sl)
		return t != nil && t.ID != self
	}
	if !taken(slug) {
		return slug
	}
	if tax.hierarchical && parent != 0 {
		suffixed := slug
		for p := s.terms[parent]; p != nil; p = s.terms[p.Parent] {
			suffixed += "-" + p.Slug
			if !taken(suffixed) {
				return suffixed
			}
			if p.Parent == 0 {
				break
			}
		}
		slug = suffixed
	}
	if !taken(slug) {
		return slug
	}
	for n := 2; ; n++ {
		if alt := slug + "-" + strconv.Itoa(n); !taken(alt) {
			return alt
		}
	}
}

// termCounts is the number of published posts per term.
func (s *Site) termCounts() map[int64]int {
	counts := map[int64]int{}
	for _, r := range s.records {
		if r.typ != "post" || r.status != "publish" {
			continue
		}
		for _, id := range r.cats {
			counts[id]++
		}
		for _, id := range r.tags {
			counts[id]++
		}
	}
	return counts
}

func (s *Site) uniqueFileName(dir, name string) string {
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	taken := func(n string) bool {
		for _, r := range s.records {
			if r.typ == attachmentType && strings.EqualFold(r.file, dir+"/"+n) {
				return true
			}
		}
		return false
	}
	if !taken(name) {
		return name
	}
	for n := 1; ; n++ {
		if alt := stem + "-" + strconv.Itoa(n) + ext; !taken(alt) {
			return alt
		}
	}
}

// --- conversions (s.mu held) ---

func (s *Site) postOf(r *record) Post {
	pt, _ := lookupType(r.typ)
	return Post{ID: r.id, Type: r.typ, Status: r.status, Slug: r.slug, Title: r.title, Content: r.content, Excerpt: r.excerpt,
		DateGMT: r.dateGMT, ModifiedGMT: r.modifiedGMT, Date: r.date, Modified: r.modified, Author: r.author,
		FeaturedMedia: r.featured, Categories: slices.Clone(r.cats), Tags: slices.Clone(r.tags), Parent: r.parent,
		MenuOrder: r.menuOrder, Link: s.postLink(s.URL, r, pt), TrashedFrom: r.trashedFrom, DesiredSlug: r.desiredSlug}
}

func (s *Site) mediaOf(r *record, base string) Media {
	return Media{ID: r.id, FileName: r.fileName, File: r.file, MimeType: r.mime, Title: r.title, Slug: r.slug, AltText: r.alt,
		Caption: r.excerpt, Description: r.content, Width: r.width, Height: r.height, Data: r.data, Post: r.parent,
		DateGMT: r.dateGMT, ModifiedGMT: r.modifiedGMT, Date: r.date, Modified: r.modified, SourceURL: uploadURL(base, r.file)}
}

func (s *Site) termOf(t *Term, base string, counts map[int64]int) Term {
	c := *t
	if counts == nil {
		counts = s.termCounts()
	}
	c.Count = counts[t.ID]
	c.Link = s.termLink(base, t)
	return c
}

func uploadURL(base, file string) string { return base + "/wp-content/uploads/" + file }

// postLink is get_permalink with the /%postname%/ structure: unpublished
// posts get the ?p= form (pages only while draft or pending), products
// live under /product/, pages under their parents.
func (s *Site) postLink(base string, r *record, pt postType) string {
	if r.typ == attachmentType {
		// Attachment pages are off by default since 6.4: the file's URL.
		return uploadURL(base, r.file)
	}
	unpublished := floatingStatus(r.status) || (r.status == "future" && r.typ != "page")
	if unpublished || r.slug == "" {
		switch r.typ {
		case "post":
			return fmt.Sprintf("%s/?p=%d", base, r.id)
		case "page":
			return fmt.Sprintf("%s/?page_id=%d", base, r.id)
		}
		return fmt.Sprintf("%s/?post_type=%s&p=%d", base, r.typ, r.id)
	}
	switch {
	case r.typ == "post":
		return base + "/" + r.slug + "/"
	case pt.hierarchical:
		p := r.slug
		seen := map[int64]bool{r.id: true}
		for id := r.parent; id != 0 && !seen[id]; {
			seen[id] = true
			par := s.records[id]
			if par == nil {
				break
			}
			p = par.slug + "/" + p
			id = par.parent
		}
		return base + "/" + p + "/"
	}
	return base + "/" + r.typ + "/" + r.slug + "/"
}

func (s *Site) termLink(base string, t *Term) string {
	tax := mustTaxonomy(t.Taxonomy)
	p := t.Slug
	seen := map[int64]bool{t.ID: true}
	for id := t.Parent; tax.hierarchical && id != 0 && !seen[id]; {
		seen[id] = true
		par := s.terms[id]
		if par == nil {
			break
		}
		p = par.Slug + "/" + p
		id = par.Parent
	}
	return base + "/" + tax.archive + "/" + p + "/"
}

func cmpOr(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}
