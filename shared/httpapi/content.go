package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/content"
	"github.com/igny8/integrations/shared/store"
)

// ContentService is what the API needs from the content domain service
// (*content.Service) and the store's site listings.
type ContentService interface {
	Create(ctx context.Context, accountID string, in content.Input) (store.Content, error)
	Get(ctx context.Context, accountID, id string) (store.Content, error)
	List(ctx context.Context, accountID string, f store.ContentFilter, p store.PageRequest) (store.Page[store.Content], error)
	Update(ctx context.Context, accountID, id string, version int64, in content.Input) (store.Content, error)
	Approve(ctx context.Context, accountID, id string, version int64) (store.Content, error)
	Publish(ctx context.Context, accountID, id string) (store.Content, error)
	ResolveConflict(ctx context.Context, accountID, id, keep string) (store.Content, error)
}

// SiteLibrary lists a site's taxonomy terms and images (*store.Store).
type SiteLibrary interface {
	ListTerms(ctx context.Context, accountID, siteID, taxonomy string, p store.PageRequest) (store.Page[store.Term], error)
	ListImages(ctx context.Context, accountID, siteID string, p store.PageRequest) (store.Page[store.Image], error)
	CreateTerm(ctx context.Context, t store.Term) (store.Term, error)
	CreateImage(ctx context.Context, img store.Image) (store.Image, error)
}

var (
	_ ContentService = (*content.Service)(nil)
	_ SiteLibrary    = (*store.Store)(nil)
)

type termRefJSON struct {
	Taxonomy string `json:"taxonomy"`
	ID       string `json:"id"`
}

// contentJSON is a content item as the API shows it.
type contentJSON struct {
	ID              string        `json:"id"`
	SiteID          string        `json:"site_id"`
	Integration     string        `json:"integration"`
	ContentType     string        `json:"content_type"`
	Title           string        `json:"title"`
	Content         *string       `json:"content,omitempty"`
	Excerpt         string        `json:"excerpt"`
	Slug            string        `json:"slug"`
	Status          string        `json:"status"`
	Terms           []termRefJSON `json:"terms"`
	FeaturedImageID string        `json:"featured_image_id"`
	WordPressID     int64         `json:"wordpress_id"`
	WordPressLink   string        `json:"wordpress_link"`
	WordPressStatus string        `json:"wordpress_status"`
	WPModifiedGMT   *time.Time    `json:"wp_modified_gmt"`
	ApprovedAt      *time.Time    `json:"approved_at"`
	CreatedAt       time.Time     `json:"created_at"`
	UpdatedAt       time.Time     `json:"updated_at"`
	Version         int64         `json:"version"`
}

func presentContent(c store.Content, withBody bool) contentJSON {
	out := contentJSON{ID: c.ID, SiteID: c.SiteID, Integration: c.IntegrationID, ContentType: c.ContentType, Title: c.Title,
		Excerpt: c.Excerpt, Slug: c.Slug, Status: c.Status, Terms: []termRefJSON{}, FeaturedImageID: c.FeaturedImageID,
		WordPressID: c.WordPressID, WordPressLink: c.WordPressLink, WordPressStatus: c.WordPressStatus,
		ApprovedAt: c.ApprovedAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: c.Version}
	if withBody {
		body := c.Body
		out.Content = &body
	}
	if !c.WPModifiedGMT.IsZero() {
		t := c.WPModifiedGMT
		out.WPModifiedGMT = &t
	}
	for _, t := range c.Terms {
		out.Terms = append(out.Terms, termRefJSON(t))
	}
	return out
}

// contentRequest is the body of create, PUT and PATCH.
type contentRequest struct {
	SiteID          *string        `json:"site_id"`
	ContentType     *string        `json:"content_type"`
	Title           *string        `json:"title"`
	Content         *string        `json:"content"`
	Excerpt         *string        `json:"excerpt"`
	Slug            *string        `json:"slug"`
	Status          *string        `json:"status"`
	Terms           *[]termRefJSON `json:"terms"`
	FeaturedImageID *string        `json:"featured_image_id"`
	Version         *int64         `json:"version"`
}

func (contentRequest) Validate() error { return nil }

func (r contentRequest) input() content.Input {
	in := content.Input{SiteID: r.SiteID, ContentType: r.ContentType, Title: r.Title, Body: r.Content, Excerpt: r.Excerpt,
		Slug: r.Slug, Status: r.Status, FeaturedImageID: r.FeaturedImageID}
	if r.Terms != nil {
		refs := make([]store.TermRef, 0, len(*r.Terms))
		for _, t := range *r.Terms {
			refs = append(refs, store.TermRef(t))
		}
		in.Terms = &refs
	}
	return in
}

func (s *Server) handleListContent(w http.ResponseWriter, r *http.Request) error {
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	f := store.ContentFilter{}
	for name, dst := range map[string]*string{"site_id": &f.SiteID, "status": &f.Status, "content_type": &f.ContentType} {
		if *dst, err = queryParam(r, name, 128); err != nil {
			return err
		}
	}
	res, err := s.deps.Content.List(r.Context(), account(r), f, page)
	if err != nil {
		return err
	}
	out := list[contentJSON]{Items: make([]contentJSON, 0, len(res.Items)), NextCursor: res.NextCursor}
	for _, c := range res.Items {
		out.Items = append(out.Items, presentContent(c, false))
	}
	return encode(w, http.StatusOK, out)
}

func (s *Server) handleCreateContent(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[contentRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	c, err := s.deps.Content.Create(r.Context(), account(r), req.input())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/content/"+c.ID+"/")
	setETag(w, c.Version)
	return encode(w, http.StatusCreated, presentContent(c, true))
}

func (s *Server) handleGetContent(w http.ResponseWriter, r *http.Request) error {
	c, err := s.deps.Content.Get(r.Context(), account(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	setETag(w, c.Version)
	return encode(w, http.StatusOK, presentContent(c, true))
}

func (s *Server) handleUpdateContent(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[contentRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	version, err := expectedVersion(r, req.Version)
	if err != nil {
		return err
	}
	if r.Method == http.MethodPut {
		for name, missing := range map[string]bool{"title": req.Title == nil, "content": req.Content == nil} {
			if missing {
				return apperr.Field(apperr.Invalid, name, "PUT replaces the content: %s is required (use PATCH to change some fields)", name)
			}
		}
	}
	c, err := s.deps.Content.Update(r.Context(), account(r), r.PathValue("id"), version, req.input())
	if err != nil {
		return err
	}
	setETag(w, c.Version)
	return encode(w, http.StatusOK, presentContent(c, true))
}

func (s *Server) handleApproveContent(w http.ResponseWriter, r *http.Request) error {
	version, err := expectedVersion(r, nil)
	if err != nil {
		return err
	}
	c, err := s.deps.Content.Approve(r.Context(), account(r), r.PathValue("id"), version)
	if err != nil {
		return err
	}
	setETag(w, c.Version)
	return encode(w, http.StatusOK, presentContent(c, false))
}

func (s *Server) handlePublishContent(w http.ResponseWriter, r *http.Request) error {
	c, err := s.deps.Content.Publish(r.Context(), account(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return encode(w, http.StatusAccepted, map[string]any{"status": "queued", "content": presentContent(c, false)})
}

type resolveRequest struct {
	Keep string `json:"keep"`
}

func (resolveRequest) Validate() error { return nil }

func (s *Server) handleResolveConflict(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[resolveRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	c, err := s.deps.Content.ResolveConflict(r.Context(), account(r), r.PathValue("id"), req.Keep)
	if err != nil {
		return err
	}
	return encode(w, http.StatusOK, presentContent(c, false))
}

type termJSON struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Name        string `json:"name"`
	Slug        string `json:"slug"`
	Parent      string `json:"parent"`
	WordPressID int64  `json:"wordpress_id"`
}

func (s *Server) handleListTaxonomies(w http.ResponseWriter, r *http.Request) error {
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	taxonomy, err := queryParam(r, "type", 64)
	if err != nil {
		return err
	}
	res, err := s.deps.Library.ListTerms(r.Context(), account(r), r.PathValue("site_id"), taxonomy, page)
	if err != nil {
		return err
	}
	out := list[termJSON]{Items: make([]termJSON, 0, len(res.Items)), NextCursor: res.NextCursor}
	for _, t := range res.Items {
		out.Items = append(out.Items, termJSON{ID: t.ID, Type: t.Taxonomy, Name: t.Name, Slug: t.Slug, Parent: t.ParentID, WordPressID: t.WordPressID})
	}
	return encode(w, http.StatusOK, out)
}

type imageJSON struct {
	ID               string `json:"id"`
	ImageURL         string `json:"image_url"`
	Alt              string `json:"alt"`
	WordPressMediaID int64  `json:"wordpress_media_id"`
	SourceURL        string `json:"source_url"`
}

func (s *Server) handleListImages(w http.ResponseWriter, r *http.Request) error {
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	res, err := s.deps.Library.ListImages(r.Context(), account(r), r.PathValue("site_id"), page)
	if err != nil {
		return err
	}
	out := list[imageJSON]{Items: make([]imageJSON, 0, len(res.Items)), NextCursor: res.NextCursor}
	for _, i := range res.Items {
		out.Items = append(out.Items, imageJSON{ID: i.ID, ImageURL: i.ImageURL, Alt: i.Alt, WordPressMediaID: i.WordPressMediaID, SourceURL: i.SourceURL})
	}
	return encode(w, http.StatusOK, out)
}

var taxonomyName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_-]{1,32}$`) })

type termRequest struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Slug   string `json:"slug"`
	Parent string `json:"parent"`
}

func (r termRequest) Validate() error {
	switch {
	case !taxonomyName().MatchString(r.Type):
		return apperr.Field(apperr.Invalid, "type", "type is required: category, post_tag or a custom taxonomy's slug")
	case strings.TrimSpace(r.Name) == "":
		return apperr.Field(apperr.Invalid, "name", "name is required")
	}
	return nil
}

// handleCreateTerm adds a local term; pushing content that uses it creates
// it in WordPress (or adopts WordPress's term of the same name).
func (s *Server) handleCreateTerm(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[termRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	t, err := s.deps.Library.CreateTerm(r.Context(), store.Term{AccountID: account(r), SiteID: r.PathValue("site_id"),
		Taxonomy: req.Type, Name: strings.TrimSpace(req.Name), Slug: req.Slug, ParentID: req.Parent})
	if errors.Is(err, store.ErrInvalid) {
		return apperr.Wrap(err, apperr.Invalid, "%s", err.Error())
	}
	if err != nil {
		return err
	}
	return encode(w, http.StatusCreated, termJSON{ID: t.ID, Type: t.Taxonomy, Name: t.Name, Slug: t.Slug, Parent: t.ParentID, WordPressID: t.WordPressID})
}

type imageRequest struct {
	ImageURL string `json:"image_url"`
	Alt      string `json:"alt"`
}

func (r imageRequest) Validate() error {
	u, err := url.Parse(r.ImageURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(r.ImageURL) > store.MaxURLBytes {
		return apperr.Field(apperr.Invalid, "image_url", "image_url must be an absolute http(s) URL of at most %d bytes", store.MaxURLBytes)
	}
	return nil
}

// handleCreateImage registers an image by URL; it is downloaded (through
// the SSRF guard) and uploaded to WordPress when content using it is pushed.
// The same URL registered twice is the same image.
func (s *Server) handleCreateImage(w http.ResponseWriter, r *http.Request) error {
	req, err := decode[imageRequest](r, s.deps.Config.MaxBodyBytes)
	if err != nil {
		return err
	}
	img, err := s.deps.Library.CreateImage(r.Context(), store.Image{AccountID: account(r), SiteID: r.PathValue("site_id"),
		ImageURL: req.ImageURL, SourceURL: req.ImageURL, Alt: req.Alt})
	if errors.Is(err, store.ErrInvalid) {
		return apperr.Wrap(err, apperr.Invalid, "%s", err.Error())
	}
	if err != nil {
		return err
	}
	return encode(w, http.StatusCreated, imageJSON{ID: img.ID, ImageURL: img.ImageURL, Alt: img.Alt, WordPressMediaID: img.WordPressMediaID, SourceURL: img.SourceURL})
}
