package contentsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/igny8/integrations/shared/jobs"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/metrics"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/syncworker"
	"github.com/igny8/integrations/shared/wordpress"
)

// MaxImageBytes caps a featured image download.
const MaxImageBytes = 10 << 20

// allowedImageTypes are the MIME types WordPress accepts for featured
// images, decided from the bytes, not from what the remote server claims.
var allowedImageTypes = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}

// EnqueuePush queues a push of one content item (the API's "Publish to
// WordPress" and the publisher). Duplicate enqueues are harmless: the push
// is idempotent.
func (e *Engine) EnqueuePush(ctx context.Context, c store.Content, runID string) error {
	env, err := envelope(TypePush, c.AccountID, c.IntegrationID, fmt.Sprintf("push:%s:v%d", c.ID, c.Version), pushPayload{ContentID: c.ID, RunID: runID})
	if err != nil {
		return err
	}
	return e.deps.Jobs.Send(ctx, env)
}

// planPush queues a push of every approved item of the run's site (the
// push half of a push or both run); the pushes report through events,
// not through the run's page counters.
func (e *Engine) planPush(ctx context.Context, in store.Integration, run store.SyncRun) (int, error) {
	queued := 0
	cursor := ""
	for {
		page, err := e.deps.Store.ListContent(ctx, in.AccountID, store.ContentFilter{SiteID: in.SiteID, Status: store.ContentApproved},
			store.PageRequest{Limit: 100, Cursor: cursor})
		if err != nil {
			return queued, fmt.Errorf("list approved content: %w", err)
		}
		envs := make([]jobs.Envelope, 0, len(page.Items))
		for _, c := range page.Items {
			if c.IntegrationID != in.ID {
				continue
			}
			env, err := envelope(TypePush, c.AccountID, c.IntegrationID, fmt.Sprintf("push:%s:v%d", c.ID, c.Version), pushPayload{ContentID: c.ID, RunID: run.ID})
			if err != nil {
				return queued, err
			}
			envs = append(envs, env)
		}
		if len(envs) > 0 {
			if err := e.deps.Jobs.Send(ctx, envs...); err != nil {
				return queued, fmt.Errorf("queue %d pushes: %w", len(envs), err)
			}
			queued += len(envs)
		}
		if page.NextCursor == "" {
			return queued, nil
		}
		cursor = page.NextCursor
	}
}

// pushJob creates or updates the content's WordPress post, exactly once.
func (e *Engine) pushJob(ctx context.Context, job jobs.Envelope) error {
	p, err := decodePayload[pushPayload](job)
	if err != nil {
		return err
	}
	c, err := e.deps.Store.GetContent(ctx, job.AccountID, p.ContentID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: content %s is gone", syncworker.ErrPermanent, p.ContentID)
	}
	if err != nil {
		return err
	}
	ctx = logging.With(ctx, logging.String("content_id", c.ID))
	if c.Status != store.ContentApproved && c.Status != store.ContentPublished {
		return fmt.Errorf("%w: content %s is %s, not approved", syncworker.ErrPermanent, c.ID, c.Status)
	}
	in, client, err := e.site(ctx, c.AccountID, c.IntegrationID)
	if err != nil {
		return e.pushFailed(ctx, in, c, err)
	}
	res, err := e.push(ctx, in, client, c)
	if err != nil {
		if wordpress.IsPermanent(err) || errors.Is(err, syncworker.ErrPermanent) {
			e.metric(job, map[string]any{"content_id": c.ID}, metrics.Metric{Name: "PushesFailed", Unit: metrics.Count, Value: 1})
		}
		return e.pushFailed(ctx, in, c, err)
	}
	e.metric(job, map[string]any{"content_id": c.ID, "action": res.action},
		metrics.Metric{Name: "PushesSucceeded", Unit: metrics.Count, Value: boolValue(!res.conflict)},
		metrics.Metric{Name: "Conflicts", Unit: metrics.Count, Value: boolValue(res.conflict)})
	if res.conflict {
		return nil
	}
	e.event(ctx, in, store.SyncEvent{EventType: EventContentPush, Direction: DirectionIGNY8ToWP, ContentType: c.ContentType,
		ContentID: c.ID, ExternalID: res.post.ID, Status: EventSuccess, RunID: p.RunID,
		Metadata: map[string]any{"action": res.action, "link": res.post.Link}})
	return nil
}

func (e *Engine) pushFailed(ctx context.Context, in store.Integration, c store.Content, err error) error {
	if wordpress.IsPermanent(err) || errors.Is(err, syncworker.ErrPermanent) {
		in.AccountID, in.ID = c.AccountID, c.IntegrationID
		e.event(ctx, in, store.SyncEvent{EventType: EventContentPush, Direction: DirectionIGNY8ToWP, ContentType: c.ContentType,
			ContentID: c.ID, ExternalID: c.WordPressID, Status: EventFailed, ErrorMessage: errorMessage(err)})
	}
	return err
}

// pushedPost is what WordPress answers about a created or updated post.
type pushedPost struct {
	ID          int64       `json:"id"`
	Slug        string      `json:"slug"`
	Link        string      `json:"link"`
	Status      string      `json:"status"`
	DateGMT     wpTime      `json:"date_gmt"`
	ModifiedGMT wpTime      `json:"modified_gmt"`
	Title       rawRendered `json:"title"`
}

type pushResult struct {
	post     pushedPost
	action   string
	conflict bool
}

func (e *Engine) push(ctx context.Context, in store.Integration, client *wordpress.Client, c store.Content) (pushResult, error) {
	base := restBaseOf(c.ContentType)
	if c.WordPressID != 0 {
		if conflict, err := e.checkPushConflict(ctx, in, client, c, base); err != nil || conflict {
			return pushResult{conflict: conflict}, err
		}
	}
	terms, err := e.pushTerms(ctx, in, client, c)
	if err != nil {
		return pushResult{}, err
	}
	mediaID, err := e.pushImage(ctx, in, client, c)
	if err != nil {
		return pushResult{}, err
	}
	if c.Slug == "" {
		c.Slug = slugify(c.Title)
	}
	body := map[string]any{"title": c.Title, "content": c.Body, "excerpt": c.Excerpt, "slug": c.Slug, "status": "publish"}
	for field, ids := range terms {
		body[field] = ids
	}
	if mediaID > 0 {
		body["featured_media"] = mediaID
	}
	var post pushedPost
	action := "updated"
	if c.WordPressID != 0 {
		if _, err := client.Do(ctx, wordpress.Request{Method: "POST", Path: "wp/v2/" + base + "/" + strconv.FormatInt(c.WordPressID, 10), Body: body, Out: &post, Idempotent: true}); err != nil {
			return pushResult{}, fmt.Errorf("update post %d: %w", c.WordPressID, err)
		}
	} else {
		// Exactly once: record the intent (with the date_gmt the post will
		// carry) before creating, and on a retry look for the post the
		// earlier attempt may have created before creating another.
		if c.PushIntent == "" {
			c.PushIntent = e.deps.Now().UTC().Truncate(time.Second).Format("2006-01-02T15:04:05")
			saved, err := e.deps.Store.UpdateContent(ctx, c, false)
			if err != nil {
				return pushResult{}, fmt.Errorf("record push intent: %w", err)
			}
			c = saved
		}
		body["date_gmt"] = c.PushIntent
		marker := pluginConfigured(in) && (base == "posts" || base == "pages")
		if marker {
			body["meta"] = map[string]any{contentIDMeta: c.ID}
		}
		found, err := findPushed(ctx, client, base, c, marker)
		if err != nil {
			return pushResult{}, err
		}
		if found != nil {
			action = "recovered"
			if _, err := client.Do(ctx, wordpress.Request{Method: "POST", Path: "wp/v2/" + base + "/" + strconv.FormatInt(found.ID, 10), Body: body, Out: &post, Idempotent: true}); err != nil {
				return pushResult{}, fmt.Errorf("update recovered post %d: %w", found.ID, err)
			}
		} else {
			action = "created"
			if _, err := client.Do(ctx, wordpress.Request{Method: "POST", Path: "wp/v2/" + base, Body: body, Out: &post}); err != nil {
				return pushResult{}, fmt.Errorf("create post: %w", err)
			}
		}
	}
	if post.ID == 0 {
		return pushResult{}, fmt.Errorf("WordPress answered the push of %s without a post id", c.ID)
	}
	c.WordPressID, c.Slug, c.WordPressLink, c.WordPressStatus = post.ID, post.Slug, post.Link, post.Status
	c.WPModifiedGMT = post.ModifiedGMT.Time
	c.Status = store.ContentPublished
	c.PushIntent = ""
	c.SyncedVersion = c.Version + 1
	if _, err := e.deps.Store.UpdateContent(ctx, c, false); err != nil {
		return pushResult{}, fmt.Errorf("record pushed post %d: %w", post.ID, err)
	}
	return pushResult{post: post, action: action}, nil
}

// contentIDMeta is the post-meta marker the companion plugin registers for
// REST on posts and pages; its igny8_content_id collection parameter finds
// the post that carries it.
const contentIDMeta = "_igny8_content_id"

// pluginConfigured reports whether the last connection test configured the
// companion plugin (config_json.connection.plugin.configured).
func pluginConfigured(in store.Integration) bool {
	ok, _ := in.ConfigValue("connection", "plugin", "configured").(bool)
	return ok
}

// findPushed looks for the post an interrupted earlier attempt created. With
// the companion plugin it asks for the post carrying the content's marker
// (and checks the marker itself: WordPress ignores a query parameter no
// plugin registered, and would answer with every post). Otherwise, or when
// no post carries the marker (an attempt made before the plugin), it looks
// for the same type, a slug WordPress may have suffixed, the intent's
// date_gmt and the same title.
func findPushed(ctx context.Context, client *wordpress.Client, base string, c store.Content, marker bool) (*pushedPost, error) {
	if marker {
		q := url.Values{"igny8_content_id": {c.ID}, "status": {"any"}, "context": {"edit"}, "per_page": {"10"},
			"_fields": {"id,slug,link,status,date_gmt,modified_gmt,title,meta"}}
		var posts []struct {
			pushedPost
			Meta map[string]any `json:"meta"`
		}
		if _, err := client.Do(ctx, wordpress.Request{Method: "GET", Path: "wp/v2/" + base, Query: q, Out: &posts, CacheBust: true}); err != nil {
			return nil, fmt.Errorf("look for an earlier push by its marker: %w", err)
		}
		for _, p := range posts {
			if id, _ := p.Meta[contentIDMeta].(string); id == c.ID {
				return &p.pushedPost, nil
			}
		}
	}
	slugs := []string{c.Slug}
	for i := 2; i <= 9; i++ {
		slugs = append(slugs, c.Slug+"-"+strconv.Itoa(i))
	}
	q := url.Values{"slug": {strings.Join(slugs, ",")}, "status": {"any"}, "context": {"edit"}, "per_page": {"100"},
		"_fields": {"id,slug,link,status,date_gmt,modified_gmt,title"}}
	var posts []pushedPost
	if _, err := client.Do(ctx, wordpress.Request{Method: "GET", Path: "wp/v2/" + base, Query: q, Out: &posts, CacheBust: true}); err != nil {
		return nil, fmt.Errorf("look for an earlier push: %w", err)
	}
	for _, p := range posts {
		if p.DateGMT.UTC().Format("2006-01-02T15:04:05") == c.PushIntent && p.Title.value() == c.Title {
			return &p, nil
		}
	}
	return nil, nil
}

// checkPushConflict refuses to overwrite a post edited in WordPress since
// the last sync while the content also changed here, unless the policy
// says IGNY8 wins.
func (e *Engine) checkPushConflict(ctx context.Context, in store.Integration, client *wordpress.Client, c store.Content, base string) (bool, error) {
	if conflictPolicy(in) == PolicyIGNY8Wins || c.WPModifiedGMT.IsZero() {
		return false, nil
	}
	var cur pushedPost
	_, err := client.Do(ctx, wordpress.Request{Method: "GET", Path: "wp/v2/" + base + "/" + strconv.FormatInt(c.WordPressID, 10),
		Query: url.Values{"context": {"edit"}, "_fields": {"id,modified_gmt"}}, Out: &cur, CacheBust: true})
	if err != nil {
		return false, fmt.Errorf("read post %d before updating it: %w", c.WordPressID, err)
	}
	if cur.ModifiedGMT.Equal(c.WPModifiedGMT) {
		return false, nil
	}
	next := c
	next.Status = store.ContentConflict
	if _, err := e.deps.Store.UpdateContent(ctx, next, false); err != nil && !errors.Is(err, store.ErrPreconditionFailed) {
		return false, err
	}
	e.event(ctx, in, store.SyncEvent{EventType: EventConflict, Direction: DirectionIGNY8ToWP, ContentType: c.ContentType, ContentID: c.ID,
		ExternalID: c.WordPressID, Status: EventFailed, ErrorMessage: "the post was edited in WordPress since the last sync; not overwritten",
		Metadata: map[string]any{"igny8_updated_at": c.UpdatedAt.UTC().Format(time.RFC3339), "wordpress_modified_gmt": cur.ModifiedGMT.UTC().Format(time.RFC3339),
			"last_synced_modified_gmt": c.WPModifiedGMT.UTC().Format(time.RFC3339)}})
	return true, nil
}

// coreTaxonomyBases are the REST fields of the two built-in taxonomies.
var coreTaxonomyBases = map[string]string{"category": "categories", "post_tag": "tags"}

// pushTerms maps the content's terms to WordPress term IDs, creating the
// missing ones; WordPress's term_exists answer carries the existing ID.
func (e *Engine) pushTerms(ctx context.Context, in store.Integration, client *wordpress.Client, c store.Content) (map[string][]int64, error) {
	if len(c.Terms) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(c.Terms))
	for _, t := range c.Terms {
		ids = append(ids, t.ID)
	}
	terms, err := e.deps.Store.GetTerms(ctx, c.AccountID, c.SiteID, ids)
	if err != nil {
		return nil, err
	}
	bases := map[string]string{}
	for k, v := range coreTaxonomyBases {
		bases[k] = v
	}
	out := map[string][]int64{}
	for _, ref := range c.Terms {
		t, ok := terms[ref.ID]
		if !ok {
			continue
		}
		base, ok := bases[t.Taxonomy]
		if !ok {
			taxes, err := client.Taxonomies(ctx)
			if err != nil {
				return nil, err
			}
			for _, tx := range taxes {
				bases[tx.Slug] = tx.RESTBase
			}
			if base, ok = bases[t.Taxonomy]; !ok {
				continue
			}
		}
		if t.WordPressID == 0 {
			id, err := createTerm(ctx, client, base, t)
			if err != nil {
				return nil, err
			}
			if _, err := e.deps.Store.SetTermWordPressID(ctx, c.AccountID, c.SiteID, t.ID, id); err != nil && !errors.Is(err, store.ErrConflict) {
				return nil, err
			}
			t.WordPressID = id
		}
		out[base] = append(out[base], t.WordPressID)
	}
	return out, nil
}

func createTerm(ctx context.Context, client *wordpress.Client, base string, t store.Term) (int64, error) {
	body := map[string]any{"name": t.Name}
	if t.Slug != "" {
		body["slug"] = t.Slug
	}
	var created struct {
		ID int64 `json:"id"`
	}
	_, err := client.Do(ctx, wordpress.Request{Method: "POST", Path: "wp/v2/" + base, Body: body, Out: &created})
	if we, ok := wordpress.AsError(err); ok && we.WPCode == "term_exists" {
		var data struct {
			TermID int64 `json:"term_id"`
		}
		if jerr := jsonUnmarshal(we.Data, &data); jerr == nil && data.TermID > 0 {
			return data.TermID, nil
		}
	}
	if err != nil {
		return 0, fmt.Errorf("create %s term %q: %w", base, t.Name, err)
	}
	return created.ID, nil
}

// pushImage uploads the featured image once and returns its media ID.
func (e *Engine) pushImage(ctx context.Context, in store.Integration, client *wordpress.Client, c store.Content) (int64, error) {
	if c.FeaturedImageID == "" {
		return 0, nil
	}
	img, err := e.deps.Store.GetImage(ctx, c.AccountID, c.SiteID, c.FeaturedImageID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if img.WordPressMediaID != 0 {
		return img.WordPressMediaID, nil
	}
	data, mimeType, err := e.download(ctx, img.ImageURL)
	if err != nil {
		return 0, err
	}
	name := imageFileName(img.ImageURL, mimeType)
	var media struct {
		ID        int64  `json:"id"`
		SourceURL string `json:"source_url"`
		MimeType  string `json:"mime_type"`
	}
	_, err = client.Do(ctx, wordpress.Request{
		Method: "POST", Path: "wp/v2/media", RawBody: bytes.NewReader(data), ContentType: mimeType,
		Headers: http.Header{"Content-Disposition": {mime.FormatMediaType("attachment", map[string]string{"filename": name})}},
		Out:     &media,
	})
	if err != nil {
		return 0, fmt.Errorf("upload featured image: %w", err)
	}
	if media.ID == 0 || !strings.HasPrefix(media.MimeType, "image/") {
		return 0, &wordpress.Error{Code: wordpress.CodeInvalidResponse, Message: "WordPress did not store the featured image as an image."}
	}
	if _, err := e.deps.Store.SetImageWordPressMediaID(ctx, c.AccountID, c.SiteID, img.ID, media.ID, media.SourceURL); err != nil {
		return 0, err
	}
	return media.ID, nil
}

// download fetches an image through the SSRF-guarded client, capped, and
// returns its bytes and the MIME type sniffed from them.
func (e *Engine) download(ctx context.Context, rawURL string) ([]byte, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, "", fmt.Errorf("%w: image URL %q is not http(s)", syncworker.ErrPermanent, rawURL)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("%w: image URL: %w", syncworker.ErrPermanent, err)
	}
	resp, err := e.deps.Download.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("download image: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("download image: HTTP %d", resp.StatusCode)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != 429 {
			err = fmt.Errorf("%w: %w", syncworker.ErrPermanent, err)
		}
		return nil, "", err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxImageBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("download image: %w", err)
	}
	if len(data) > MaxImageBytes {
		return nil, "", fmt.Errorf("%w: image is larger than %d bytes", syncworker.ErrPermanent, MaxImageBytes)
	}
	mimeType := http.DetectContentType(data)
	if _, ok := allowedImageTypes[mimeType]; !ok {
		return nil, "", fmt.Errorf("%w: image bytes are %s, not JPEG, PNG, GIF or WebP", syncworker.ErrPermanent, mimeType)
	}
	return data, mimeType, nil
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// imageFileName is a safe file name with the extension of the sniffed type.
func imageFileName(rawURL, mimeType string) string {
	base := "image"
	if u, err := url.Parse(rawURL); err == nil {
		if b := path.Base(u.Path); b != "" && b != "/" && b != "." {
			base = strings.TrimSuffix(b, path.Ext(b))
		}
	}
	base = strings.Trim(unsafeFileChars.ReplaceAllString(base, "-"), "-.")
	if base == "" {
		base = "image"
	}
	if len(base) > 80 {
		base = base[:80]
	}
	return base + allowedImageTypes[mimeType]
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slugify makes the slug WordPress would make from an ASCII title; the push
// needs to know it to find an earlier attempt's post.
func slugify(title string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if len(s) > 190 {
		s = strings.TrimRight(s[:190], "-")
	}
	if s == "" {
		s = "post"
	}
	return s
}

// restBaseOf is the REST collection of a content type.
func restBaseOf(contentType string) string {
	switch contentType {
	case "post":
		return "posts"
	case "page":
		return "pages"
	}
	return contentType
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
