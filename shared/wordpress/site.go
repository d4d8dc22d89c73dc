package wordpress

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// RelevantCapabilities are the capabilities User.Capabilities reports:
// the ones publishing and syncing content depend on.
var RelevantCapabilities = []string{
	"publish_posts", "upload_files", "manage_categories",
	"edit_posts", "edit_others_posts", "edit_pages", "publish_pages",
}

// User is the WordPress account the Application Password belongs to.
type User struct {
	ID       int64    `json:"id"`
	Name     string   `json:"name"`
	Username string   `json:"username"`
	Slug     string   `json:"slug"`
	Roles    []string `json:"roles"`
	// Capabilities has every RelevantCapabilities entry, true or false.
	Capabilities map[string]bool `json:"capabilities"`
}

// Site is what the REST index says about the site.
type Site struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	URL         string `json:"url"`  // WordPress Address (siteurl)
	Home        string `json:"home"` // Site Address (home)
	// GMTOffset is in hours (5.5 for India); TimezoneString is empty when
	// the site is set to a manual UTC offset.
	GMTOffset      float64  `json:"gmt_offset"`
	TimezoneString string   `json:"timezone_string"`
	Namespaces     []string `json:"namespaces"`
	// ApplicationPasswords is true when the index advertises
	// Application Passwords authentication.
	ApplicationPasswords bool `json:"application_passwords"`
}

// Connection is the result of TestConnection.
type Connection struct {
	User User `json:"user"`
	Site Site `json:"site"`
}

// wpUser is users/me in the edit context.
type wpUser struct {
	ID           int64    `json:"id"`
	Name         string   `json:"name"`
	Username     string   `json:"username"`
	Slug         string   `json:"slug"`
	Roles        []string `json:"roles"`
	Capabilities boolMap  `json:"capabilities"`
}

// wpIndex is the REST index (/wp-json/).
type wpIndex struct {
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	URL            string          `json:"url"`
	Home           string          `json:"home"`
	GMTOffset      flexFloat       `json:"gmt_offset"`
	TimezoneString string          `json:"timezone_string"`
	Namespaces     []string        `json:"namespaces"`
	Authentication json.RawMessage `json:"authentication"`
}

// indexFields trims the index to what we read: its "routes" member alone
// can be megabytes on a site with many plugins.
const indexFields = "name,description,url,home,gmt_offset,timezone_string,namespaces,authentication"

// TestConnection checks the credentials and reads the site, with exactly
// two requests sent concurrently: users/me (edit context) and the REST
// index. It diagnoses, most specific first:
//
//  1. users/me failed to connect at all (DNS, TLS, timeout, refused,
//     forbidden address…): that error — the index failed the same way.
//  2. users/me answered auth_failed and the index (which needs no login)
//     does not advertise Application Passwords:
//     application_passwords_unavailable, because no password can work.
//  3. users/me answered auth_failed otherwise: auth_failed, whose message
//     covers both a wrong password and a stripped Authorization header.
//  4. users/me failed otherwise and the index failed too: the index error,
//     since the REST API as a whole is the problem (security plugin,
//     permalinks, REST disabled).
//  5. users/me failed otherwise: its error (a plugin blocking users/me).
//  6. users/me worked and the index failed: the Connection with its User
//     and the index error.
//  7. both worked but the user lacks publish_posts: the full Connection
//     and an insufficient_capabilities error.
func (c *Client) TestConnection(ctx context.Context) (Connection, error) {
	var (
		me              wpUser
		index           wpIndex
		meErr, indexErr error
		meQuery         = url.Values{"context": {"edit"}}
		indexQuery      = url.Values{"_fields": {indexFields}}
		wg              sync.WaitGroup
	)
	wg.Go(func() {
		_, meErr = c.Do(ctx, Request{Path: "wp/v2/users/me", Query: meQuery, Out: &me, CacheBust: true})
	})
	wg.Go(func() {
		_, indexErr = c.Do(ctx, Request{Path: "", Query: indexQuery, Out: &index, CacheBust: true})
	})
	wg.Wait()

	var conn Connection
	if indexErr == nil {
		conn.Site = index.site()
	}
	if meErr != nil {
		e, ok := AsError(meErr)
		switch {
		case !ok:
			return conn, meErr
		case isTransportCode(e.Code):
			return conn, e
		case e.Code == CodeAuthFailed && indexErr == nil && !conn.Site.ApplicationPasswords:
			return conn, c.applicationPasswordsUnavailable(e)
		case e.Code == CodeAuthFailed || e.Code == CodeApplicationPasswordsOff || indexErr == nil:
			return conn, e
		default:
			return conn, indexErr
		}
	}
	conn.User = me.user()
	if indexErr != nil {
		return conn, indexErr
	}
	if !conn.User.Capabilities["publish_posts"] {
		return conn, &Error{Code: CodeInsufficientCapabilities,
			Message: fmt.Sprintf("WordPress user %q (role: %s) cannot publish posts: it lacks the publish_posts capability.",
				conn.User.Username, strings.Join(conn.User.Roles, ", ")),
			Hint: "Connect with an account whose role is Editor or Administrator, or give this user's role the publish_posts capability."}
	}
	return conn, nil
}

func (c *Client) applicationPasswordsUnavailable(authErr *Error) *Error {
	msg := "WordPress did not accept the credentials, and the site does not offer Application Passwords at all."
	if c.site.Scheme == "http" {
		msg += " The site URL uses http://, and WordPress only offers Application Passwords over HTTPS."
	}
	return &Error{Code: CodeApplicationPasswordsOff, Status: authErr.Status, WPCode: authErr.WPCode,
		Message: msg, Hint: applicationPasswordsHint, Err: authErr}
}

// isTransportCode is true for failures to get any answer from the site.
func isTransportCode(code string) bool {
	switch code {
	case CodeDNSFailure, CodeTLSFailure, CodeTimeout, CodeConnectionRefused,
		CodeConnectionFailed, CodeForbiddenAddress, CodeCanceled:
		return true
	}
	return false
}

func (u wpUser) user() User {
	caps := make(map[string]bool, len(RelevantCapabilities))
	for _, name := range RelevantCapabilities {
		caps[name] = u.Capabilities[name]
	}
	return User{ID: u.ID, Name: u.Name, Username: u.Username, Slug: u.Slug, Roles: u.Roles, Capabilities: caps}
}

func (i wpIndex) site() Site {
	s := Site{Name: i.Name, Description: i.Description, URL: i.URL, Home: i.Home,
		GMTOffset: float64(i.GMTOffset), TimezoneString: i.TimezoneString, Namespaces: i.Namespaces}
	// WordPress sends "authentication": [] (an empty PHP array) when no
	// scheme is advertised, and an object otherwise.
	var auth map[string]json.RawMessage
	if json.Unmarshal(i.Authentication, &auth) == nil {
		_, s.ApplicationPasswords = auth["application-passwords"]
	}
	return s
}

// PostType is a post type the REST API exposes.
type PostType struct {
	Slug          string   `json:"slug"`
	Name          string   `json:"name"`
	RESTBase      string   `json:"rest_base"`
	RESTNamespace string   `json:"rest_namespace"`
	Hierarchical  bool     `json:"hierarchical"`
	Taxonomies    []string `json:"taxonomies"`
}

// internalPostTypes are REST-visible types that are not content to sync:
// media (synced separately), menus, reusable blocks, and the block
// theme's templates, navigation, styles and fonts.
var internalPostTypes = []string{
	"attachment", "nav_menu_item", "wp_block", "wp_template", "wp_template_part",
	"wp_navigation", "wp_global_styles", "wp_font_family", "wp_font_face",
}

// Types lists the content post types the user can edit over REST, in
// WordPress's order, without internalPostTypes.
func (c *Client) Types(ctx context.Context) ([]PostType, error) {
	objs, err := c.restObjects(ctx, "wp/v2/types", internalPostTypes)
	if err != nil {
		return nil, fmt.Errorf("listing post types: %w", err)
	}
	types := make([]PostType, 0, len(objs))
	for _, t := range objs {
		types = append(types, PostType{Slug: t.Slug, Name: t.Name, RESTBase: string(t.RESTBase),
			RESTNamespace: cmpOr(string(t.RESTNamespace), "wp/v2"), Hierarchical: t.Hierarchical, Taxonomies: t.Taxonomies})
	}
	return types, nil
}

// restObject is one entry of wp/v2/types or wp/v2/taxonomies.
type restObject struct {
	Slug          string     `json:"slug"`
	Name          string     `json:"name"`
	RESTBase      flexString `json:"rest_base"`
	RESTNamespace flexString `json:"rest_namespace"`
	Hierarchical  bool       `json:"hierarchical"`
	Taxonomies    []string   `json:"taxonomies"`
	Types         []string   `json:"types"`
}

// restObjects reads an object keyed by slug, in WordPress's order, keeping
// the entries exposed over REST (a rest_base) that are not internal.
func (c *Client) restObjects(ctx context.Context, path string, internal []string) ([]restObject, error) {
	var all orderedObject
	if _, err := c.Do(ctx, Request{Path: path, Query: url.Values{"context": {"edit"}}, Out: &all, CacheBust: true}); err != nil {
		return nil, err
	}
	var out []restObject
	for _, m := range all {
		var t restObject
		if err := json.Unmarshal(m.value, &t); err != nil {
			return nil, invalidShape(path, m.key, err)
		}
		if t.Slug == "" {
			t.Slug = m.key
		}
		if t.RESTBase == "" || slices.Contains(internal, t.Slug) {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

// Taxonomy is a taxonomy the REST API exposes.
type Taxonomy struct {
	Slug          string   `json:"slug"`
	Name          string   `json:"name"`
	RESTBase      string   `json:"rest_base"`
	RESTNamespace string   `json:"rest_namespace"`
	Hierarchical  bool     `json:"hierarchical"`
	Types         []string `json:"types"`
}

// internalTaxonomies are REST-visible taxonomies that do not classify
// content: menus, pattern categories and block-theme bookkeeping.
var internalTaxonomies = []string{"nav_menu", "wp_pattern_category", "wp_theme", "wp_template_part_area"}

// Taxonomies lists the content taxonomies the user can assign over REST,
// in WordPress's order, without internalTaxonomies.
func (c *Client) Taxonomies(ctx context.Context) ([]Taxonomy, error) {
	objs, err := c.restObjects(ctx, "wp/v2/taxonomies", internalTaxonomies)
	if err != nil {
		return nil, fmt.Errorf("listing taxonomies: %w", err)
	}
	taxonomies := make([]Taxonomy, 0, len(objs))
	for _, t := range objs {
		taxonomies = append(taxonomies, Taxonomy{Slug: t.Slug, Name: t.Name, RESTBase: string(t.RESTBase),
			RESTNamespace: cmpOr(string(t.RESTNamespace), "wp/v2"), Hierarchical: t.Hierarchical, Types: t.Types})
	}
	return taxonomies, nil
}

func invalidShape(path, key string, err error) *Error {
	return &Error{Code: CodeInvalidResponse, Err: err,
		Message: fmt.Sprintf("The site's answer to /wp-json/%s has an entry %q of an unexpected shape.", path, key),
		Hint:    "A plugin may be changing REST responses."}
}

var collectionPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_-]{1,64}$`) })

// ValidCollection reports whether name can be a wp/v2 collection: "posts",
// "pages" or a custom type's rest_base (lower-case letters, digits, - and _,
// at most 64). Callers check user input with it before building a path.
func ValidCollection(name string) bool { return collectionPattern().MatchString(name) }

// CollectionTotal returns how many items the wp/v2 collection restBase
// ("posts", "pages", a custom type's rest_base) holds, from X-WP-Total of a
// one-item page. WordPress counts what the collection lists by default:
// for post types, published items only.
func (c *Client) CollectionTotal(ctx context.Context, restBase string) (int, error) {
	if !ValidCollection(restBase) {
		return 0, &Error{Code: CodeInvalidCollection,
			Message: fmt.Sprintf("%q is not a valid REST collection name (lower-case letters, digits, - and _, at most 64).", restBase)}
	}
	path := "wp/v2/" + restBase
	var ids []json.RawMessage
	resp, err := c.Do(ctx, Request{Path: path, Out: &ids, CacheBust: true,
		Query: url.Values{"per_page": {"1"}, "context": {"edit"}, "_fields": {"id"}}})
	if err != nil {
		return 0, fmt.Errorf("counting %s: %w", restBase, err)
	}
	if resp.Total < 0 {
		return 0, &Error{Code: CodeInvalidResponse, Status: resp.StatusCode,
			Message: fmt.Sprintf("The site's answer to /wp-json/%s lacked the X-WP-Total header, so the items cannot be counted.", path),
			Hint:    "A proxy, cache or security plugin may be removing response headers; allow the X-WP-Total and X-WP-TotalPages headers through."}
	}
	return resp.Total, nil
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// boolMap decodes WordPress's capability maps, which PHP sends as [] when
// empty, and whose values are normally booleans but may be 1/0 or "1".
type boolMap map[string]bool

func (m *boolMap) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		*m = boolMap{}
		return nil
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(boolMap, len(raw))
	for k, v := range raw {
		switch strings.Trim(string(bytes.TrimSpace(v)), `"`) {
		case "true", "1":
			out[k] = true
		default:
			out[k] = false
		}
	}
	*m = out
	return nil
}

// flexFloat accepts a JSON number or a numeric string: gmt_offset comes
// straight from the options table, so it is often "5.5" or "" rather
// than 5.5.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("gmt_offset %s is not a number: %w", b, err)
	}
	*f = flexFloat(v)
	return nil
}

// flexString is a string that decodes false or null (older plugins
// register rest_base => false) as "".
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	str, _ := v.(string)
	*s = flexString(str)
	return nil
}

// orderedObject decodes a JSON object keeping its members' order (types
// and taxonomies are objects keyed by slug, in WordPress's display order);
// an empty PHP array [] decodes as no members.
type orderedObject []member

type member struct {
	key   string
	value json.RawMessage
}

func (o *orderedObject) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == json.Delim('[') {
		var rest []json.RawMessage
		if err := json.Unmarshal(b, &rest); err != nil || len(rest) > 0 {
			return fmt.Errorf("expected an object keyed by slug, got a list")
		}
		*o = nil
		return nil
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("expected an object keyed by slug")
	}
	var out orderedObject
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		out = append(out, member{key: key, value: v})
	}
	*o = out
	return nil
}
