package integrations

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/store"
	"github.com/igny8/integrations/shared/wordpress"
)

// ConnectionReport is the outcome of a connection test, returned by
// test_connection and kept in config_json.connection.
type ConnectionReport struct {
	Status    string    `json:"status"`
	CheckedAt time.Time `json:"checked_at"`
	User      *UserInfo `json:"user,omitempty"`
	Site      *SiteInfo `json:"site,omitempty"`
	// Capabilities are the ones the service relies on: publishing,
	// uploading the featured image, creating categories.
	Capabilities map[string]bool `json:"capabilities,omitempty"`
	Error        *Diagnosis      `json:"error,omitempty"`
	// Plugin is set when the connection works: whether the site has the
	// IGNY8 companion plugin and whether the service configured it.
	Plugin *PluginReport `json:"plugin,omitempty"`
}

// UserInfo is the WordPress user the credentials belong to.
type UserInfo struct {
	ID       int64    `json:"id"`
	Name     string   `json:"name"`
	Username string   `json:"username,omitempty"`
	Roles    []string `json:"roles"`
}

// SiteInfo is what the REST index says about the site.
type SiteInfo struct {
	Name                 string   `json:"name"`
	Description          string   `json:"description,omitempty"`
	URL                  string   `json:"url"`
	Home                 string   `json:"home,omitempty"`
	GMTOffset            float64  `json:"gmt_offset"`
	TimezoneString       string   `json:"timezone_string"`
	Namespaces           []string `json:"namespaces"`
	ApplicationPasswords bool     `json:"application_passwords"`
}

// Diagnosis is a WordPress failure in words a site owner can act on.
type Diagnosis struct {
	Code              string `json:"code"`
	Message           string `json:"message"`
	Hint              string `json:"hint,omitempty"`
	WordPressCode     string `json:"wordpress_code,omitempty"`
	HTTPStatus        int    `json:"http_status,omitempty"`
	RetryAfterSeconds int    `json:"retry_after_seconds,omitempty"`
}

// requiredCapabilities are reported on every test; publish_posts is the
// one without which the integration cannot do its job.
var requiredCapabilities = []string{"publish_posts", "upload_files", "manage_categories", "edit_posts", "edit_pages", "publish_pages"}

// diagnose turns a WordPress client error into a Diagnosis; ok is false for
// errors that are ours (a bug or an AWS failure), which must surface as 5xx.
func diagnose(err error) (*Diagnosis, bool) {
	we, ok := wordpress.AsError(err)
	if !ok {
		return nil, false
	}
	d := &Diagnosis{Code: we.Code, Message: we.Message, Hint: we.Hint, WordPressCode: we.WPCode, HTTPStatus: we.Status}
	if we.RetryAfter > 0 {
		d.RetryAfterSeconds = int(we.RetryAfter.Round(time.Second) / time.Second)
	}
	return d, true
}

// TestConnection verifies the stored credentials against the site (two
// WordPress requests) and stores the outcome on the integration.
func (s *Service) TestConnection(ctx context.Context, accountID, id string) (ConnectionReport, store.Integration, error) {
	in, err := s.deps.Store.GetIntegration(ctx, accountID, id)
	if err != nil {
		return ConnectionReport{}, store.Integration{}, storeError(err)
	}
	ctx = s.log(ctx, in)
	creds, err := s.creds.Get(ctx, in)
	var report ConnectionReport
	if err == nil {
		if report, err = s.test(ctx, in, creds); err == nil {
			s.pluginStep(ctx, in, creds, &report, "")
		}
	} else if d, ok := diagnose(err); ok {
		report, err = ConnectionReport{Status: StatusError, CheckedAt: s.deps.Now().UTC(), Error: d}, nil
	}
	if err != nil {
		return ConnectionReport{}, store.Integration{}, err
	}
	saved, err := s.saveConnection(ctx, in, report, nil)
	return report, saved, err
}

// test runs the connection test and classifies its outcome.
func (s *Service) test(ctx context.Context, in store.Integration, creds Credentials) (ConnectionReport, error) {
	report := ConnectionReport{CheckedAt: s.deps.Now().UTC()}
	site, err := s.site(in, creds)
	if err != nil {
		return report, err
	}
	conn, err := site.TestConnection(ctx)
	if conn.User.ID != 0 {
		report.User = &UserInfo{ID: conn.User.ID, Name: conn.User.Name, Username: conn.User.Username, Roles: nonNil(conn.User.Roles)}
		report.Capabilities = map[string]bool{}
		for _, c := range requiredCapabilities {
			report.Capabilities[c] = conn.User.Capabilities[c]
		}
	}
	if conn.Site.URL != "" || conn.Site.Name != "" {
		report.Site = &SiteInfo{
			Name: conn.Site.Name, Description: conn.Site.Description, URL: conn.Site.URL, Home: conn.Site.Home,
			GMTOffset: conn.Site.GMTOffset, TimezoneString: conn.Site.TimezoneString,
			Namespaces: nonNil(conn.Site.Namespaces), ApplicationPasswords: conn.Site.ApplicationPasswords,
		}
	}
	if err != nil {
		d, ok := diagnose(err)
		if !ok {
			return report, fmt.Errorf("test connection of integration %s: %w", in.ID, err)
		}
		report.Status, report.Error = StatusError, d
		s.deps.Logger.InfoContext(ctx, "connection test failed", logging.String("code", d.Code))
		return report, nil
	}
	report.Status = StatusConnected
	s.deps.Logger.InfoContext(ctx, "connection test passed")
	return report, nil
}

func (s *Service) site(in store.Integration, creds Credentials) (Site, error) {
	site, err := s.deps.Connect(in.ExternalSiteURL, creds.WordPress())
	if err != nil {
		return nil, fmt.Errorf("open WordPress client for integration %s: %w", in.ID, err)
	}
	return site, nil
}

// testAndDescribe is the connect flow after a create or a change of URL or
// credentials: the connection test, then (when connected) the structure.
func (s *Service) testAndDescribe(ctx context.Context, in store.Integration, creds Credentials, secret string) (Result, error) {
	report, err := s.test(ctx, in, creds)
	if err != nil {
		return Result{Integration: in}, err
	}
	s.pluginStep(ctx, in, creds, &report, secret)
	var st *Structure
	if report.Status == StatusConnected {
		site, err := s.site(in, creds)
		if err != nil {
			return Result{Integration: in}, err
		}
		fetched, err := s.fetchStructure(ctx, site)
		if err == nil {
			st = &fetched
		} else if _, ok := diagnose(err); !ok {
			return Result{Integration: in}, err
		} else {
			// The connection works; structure can be read again later
			// with update_structure. Keep the create successful.
			s.deps.Logger.WarnContext(ctx, "reading the site's structure failed", logging.Err(err))
		}
	}
	saved, err := s.saveConnection(ctx, in, report, st)
	if err != nil {
		return Result{Integration: in}, err
	}
	return Result{Integration: saved, Connection: &report}, nil
}

// recordFailure stores a diagnosis that happened before any request.
func (s *Service) recordFailure(ctx context.Context, in store.Integration, cause error) (Result, error) {
	d, ok := diagnose(cause)
	if !ok {
		return Result{Integration: in}, cause
	}
	report := ConnectionReport{Status: StatusError, CheckedAt: s.deps.Now().UTC(), Error: d}
	saved, err := s.saveConnection(ctx, in, report, nil)
	return Result{Integration: saved, Connection: &report}, err
}

func (s *Service) saveConnection(ctx context.Context, in store.Integration, report ConnectionReport, st *Structure) (store.Integration, error) {
	return s.mutate(ctx, in.AccountID, in.ID, func(cur *store.Integration) error {
		if cur.ExternalSiteURL != in.ExternalSiteURL || cur.Username != in.Username || cur.PasswordLast4 != in.PasswordLast4 {
			// Someone changed the site or credentials while we tested the
			// old ones; their own test will record the outcome.
			return nil
		}
		cur.ConnectionStatus = report.Status
		if err := setConfig(cur, ConfigConnection, report); err != nil {
			return err
		}
		if st != nil {
			return setConfig(cur, ConfigStructure, st)
		}
		return nil
	})
}

// Structure is the site's content model, kept in config_json.structure.
type Structure struct {
	PostTypes       []PostTypeInfo `json:"post_types"`
	Taxonomies      []TaxonomyInfo `json:"taxonomies"`
	FetchedAt       time.Time      `json:"fetched_at"`
	Counts          map[string]int `json:"counts,omitempty"`
	CountsFetchedAt *time.Time     `json:"counts_fetched_at,omitempty"`
}

// PostTypeInfo is one post type the REST API exposes.
type PostTypeInfo struct {
	Slug          string   `json:"slug"`
	Name          string   `json:"name"`
	RESTBase      string   `json:"rest_base"`
	RESTNamespace string   `json:"rest_namespace"`
	Hierarchical  bool     `json:"hierarchical"`
	Taxonomies    []string `json:"taxonomies"`
}

// TaxonomyInfo is one taxonomy the REST API exposes.
type TaxonomyInfo struct {
	Slug         string   `json:"slug"`
	Name         string   `json:"name"`
	RESTBase     string   `json:"rest_base"`
	Hierarchical bool     `json:"hierarchical"`
	Types        []string `json:"types"`
}

// fetchStructure reads post types and taxonomies (two requests, together).
func (s *Service) fetchStructure(ctx context.Context, site Site) (Structure, error) {
	var (
		types    []wordpress.PostType
		taxes    []wordpress.Taxonomy
		typesErr error
		wg       sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		types, typesErr = site.Types(ctx)
	}()
	taxes, taxErr := site.Taxonomies(ctx)
	wg.Wait()
	if typesErr != nil {
		return Structure{}, fmt.Errorf("read post types: %w", typesErr)
	}
	if taxErr != nil {
		return Structure{}, fmt.Errorf("read taxonomies: %w", taxErr)
	}
	st := Structure{FetchedAt: s.deps.Now().UTC(), PostTypes: []PostTypeInfo{}, Taxonomies: []TaxonomyInfo{}}
	for _, t := range types {
		st.PostTypes = append(st.PostTypes, PostTypeInfo{Slug: t.Slug, Name: t.Name, RESTBase: t.RESTBase, RESTNamespace: t.RESTNamespace, Hierarchical: t.Hierarchical, Taxonomies: nonNil(t.Taxonomies)})
	}
	for _, t := range taxes {
		st.Taxonomies = append(st.Taxonomies, TaxonomyInfo{Slug: t.Slug, Name: t.Name, RESTBase: t.RESTBase, Hierarchical: t.Hierarchical, Types: nonNil(t.Types)})
	}
	sort.Slice(st.PostTypes, func(i, j int) bool { return st.PostTypes[i].Slug < st.PostTypes[j].Slug })
	sort.Slice(st.Taxonomies, func(i, j int) bool { return st.Taxonomies[i].Slug < st.Taxonomies[j].Slug })
	return st, nil
}

// UpdateStructure re-reads the site's post types and taxonomies and stores
// them. Counts already stored are kept until content_types refreshes them.
func (s *Service) UpdateStructure(ctx context.Context, accountID, id string) (Structure, store.Integration, error) {
	in, site, err := s.open(ctx, accountID, id)
	if err != nil {
		return Structure{}, store.Integration{}, wordpressError(err)
	}
	st, err := s.fetchStructure(ctx, site)
	if err != nil {
		return Structure{}, in, wordpressError(err)
	}
	if old, ok := structureOf(in); ok {
		st.Counts, st.CountsFetchedAt = old.Counts, old.CountsFetchedAt
	}
	saved, err := s.saveStructure(ctx, in, st)
	return st, saved, err
}

func (s *Service) saveStructure(ctx context.Context, in store.Integration, st Structure) (store.Integration, error) {
	return s.mutate(ctx, in.AccountID, in.ID, func(cur *store.Integration) error {
		return setConfig(cur, ConfigStructure, st)
	})
}

// ContentType is one post type with its count, as content_types shows it.
type ContentType struct {
	PostTypeInfo
	// Count is nil when counting this type failed (see Error).
	Count *int       `json:"count"`
	Error *Diagnosis `json:"error,omitempty"`
}

// ContentTypes is the content_types answer.
type ContentTypes struct {
	Items           []ContentType  `json:"items"`
	Taxonomies      []TaxonomyInfo `json:"taxonomies"`
	FetchedAt       time.Time      `json:"fetched_at"`
	CountsFetchedAt *time.Time     `json:"counts_fetched_at"`
	// Stale is set when a refresh failed and the stored structure is shown.
	Stale        bool       `json:"stale"`
	RefreshError *Diagnosis `json:"refresh_error,omitempty"`
}

// maxCountConcurrency bounds parallel count requests to one site: enough to
// be quick, few enough not to trip rate limiters on shared hosting.
const maxCountConcurrency = 4

// ContentTypes returns the stored structure with per-type counts,
// refreshing structure and counts when older than StructureMaxAge (or when
// refresh is set).
func (s *Service) ContentTypes(ctx context.Context, accountID, id string, refresh bool) (ContentTypes, error) {
	in, err := s.deps.Store.GetIntegration(ctx, accountID, id)
	if err != nil {
		return ContentTypes{}, storeError(err)
	}
	ctx = s.log(ctx, in)
	st, have := structureOf(in)
	now := s.deps.Now()
	structureFresh := have && !refresh && now.Sub(st.FetchedAt) < s.deps.StructureMaxAge
	countsFresh := structureFresh && st.CountsFetchedAt != nil && now.Sub(*st.CountsFetchedAt) < s.deps.StructureMaxAge
	if countsFresh {
		return present(st, nil), nil
	}
	_, site, err := s.openIntegration(ctx, in)
	if err != nil {
		return staleOr(st, have, err)
	}
	if !structureFresh {
		fresh, err := s.fetchStructure(ctx, site)
		if err != nil {
			return staleOr(st, have, err)
		}
		st = fresh
	}
	counts, failures := s.count(ctx, site, st.PostTypes)
	at := s.deps.Now().UTC()
	st.Counts, st.CountsFetchedAt = counts, &at
	if _, err := s.saveStructure(ctx, in, st); err != nil {
		return ContentTypes{}, err
	}
	return present(st, failures), nil
}

func staleOr(st Structure, have bool, err error) (ContentTypes, error) {
	d, ok := diagnose(err)
	if !have || !ok {
		return ContentTypes{}, wordpressError(err)
	}
	out := present(st, nil)
	out.Stale, out.RefreshError = true, d
	return out, nil
}

func (s *Service) count(ctx context.Context, site Site, types []PostTypeInfo) (map[string]int, map[string]*Diagnosis) {
	counts := map[string]int{}
	failures := map[string]*Diagnosis{}
	var mu sync.Mutex
	sem := make(chan struct{}, maxCountConcurrency)
	var wg sync.WaitGroup
	for _, t := range types {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			n, err := site.CollectionTotal(ctx, t.RESTBase)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				d, ok := diagnose(err)
				if !ok {
					d = &Diagnosis{Code: "internal", Message: "Counting failed on our side"}
					s.deps.Logger.ErrorContext(ctx, "count content type", logging.String("type", t.Slug), logging.Err(err))
				}
				failures[t.Slug] = d
				return
			}
			counts[t.Slug] = n
		}()
	}
	wg.Wait()
	return counts, failures
}

func present(st Structure, failures map[string]*Diagnosis) ContentTypes {
	out := ContentTypes{Items: []ContentType{}, Taxonomies: nonNil(st.Taxonomies), FetchedAt: st.FetchedAt, CountsFetchedAt: st.CountsFetchedAt}
	for _, t := range st.PostTypes {
		ct := ContentType{PostTypeInfo: t, Error: failures[t.Slug]}
		if n, ok := st.Counts[t.Slug]; ok {
			ct.Count = &n
		}
		out.Items = append(out.Items, ct)
	}
	return out
}

// CollectionReport is the test_collection_connection answer.
type CollectionReport struct {
	Collection string     `json:"collection"`
	Status     string     `json:"status"`
	Total      *int       `json:"total,omitempty"`
	CheckedAt  time.Time  `json:"checked_at"`
	Error      *Diagnosis `json:"error,omitempty"`
}

// TestCollection checks that one collection (posts, pages or a custom type's
// rest_base) can be read with the stored credentials.
func (s *Service) TestCollection(ctx context.Context, accountID, id, collection string) (CollectionReport, error) {
	if !wordpress.ValidCollection(collection) {
		return CollectionReport{}, apperr.Field(apperr.Invalid, "collection", "collection must be posts, pages or a post type's rest_base (lower-case letters, digits, '-' and '_')")
	}
	_, site, err := s.open(ctx, accountID, id)
	report := CollectionReport{Collection: collection, CheckedAt: s.deps.Now().UTC()}
	if err == nil {
		var n int
		if n, err = site.CollectionTotal(ctx, collection); err == nil {
			report.Status, report.Total = "ok", &n
			return report, nil
		}
	}
	d, ok := diagnose(err)
	if !ok {
		return CollectionReport{}, err
	}
	if d.Code == wordpress.CodeRESTDisabled || d.Code == wordpress.CodeNotFound {
		d.Message = fmt.Sprintf("The site has no REST collection %q.", collection)
		d.Hint = "Use posts, pages or the rest_base of a post type listed by content_types; custom post types must be registered with show_in_rest."
	}
	report.Status, report.Error = StatusError, d
	return report, nil
}

// open reads the integration and opens a client with its credentials.
func (s *Service) open(ctx context.Context, accountID, id string) (store.Integration, Site, error) {
	in, err := s.deps.Store.GetIntegration(ctx, accountID, id)
	if err != nil {
		return store.Integration{}, nil, storeError(err)
	}
	return s.openIntegration(s.log(ctx, in), in)
}

func (s *Service) openIntegration(ctx context.Context, in store.Integration) (store.Integration, Site, error) {
	creds, err := s.creds.Get(ctx, in)
	if err != nil {
		return in, nil, err
	}
	site, err := s.site(in, creds)
	return in, site, err
}

// wordpressError makes a WordPress failure an API error: 502, because the
// upstream site failed, with the diagnosis as the problem's code.
func wordpressError(err error) error {
	d, ok := diagnose(err)
	if !ok {
		return err
	}
	e := apperr.Wrap(err, apperr.Code(d.Code), "%s", d.Message)
	e.HTTPStatus = http.StatusBadGateway
	e.Details = map[string]any{"hint": d.Hint}
	if d.WordPressCode != "" {
		e.Details["wordpress_code"] = d.WordPressCode
	}
	if d.HTTPStatus != 0 {
		e.Details["wordpress_status"] = d.HTTPStatus
	}
	return e
}

func structureOf(in store.Integration) (Structure, bool) {
	raw, ok := in.Config[ConfigStructure]
	if !ok {
		return Structure{}, false
	}
	var st Structure
	if err := remarshal(raw, &st); err != nil || st.FetchedAt.IsZero() {
		return Structure{}, false
	}
	return st, true
}

// ConnectionOf returns the last connection test stored on in.
func ConnectionOf(in store.Integration) (ConnectionReport, bool) {
	raw, ok := in.Config[ConfigConnection]
	if !ok {
		return ConnectionReport{}, false
	}
	var r ConnectionReport
	if err := remarshal(raw, &r); err != nil {
		return ConnectionReport{}, false
	}
	return r, true
}

func setConfig(in *store.Integration, key string, v any) error {
	var generic any
	if err := remarshal(v, &generic); err != nil {
		return fmt.Errorf("encode config %s: %w", key, err)
	}
	cfg := make(map[string]any, len(in.Config)+1)
	for k, v := range in.Config {
		cfg[k] = v
	}
	cfg[key] = generic
	in.Config = cfg
	return nil
}

func remarshal(from, to any) error {
	raw, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, to)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
