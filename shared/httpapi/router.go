package httpapi

import (
	"net/http"
	"sort"
	"strings"

	"github.com/igny8/integrations/shared/apperr"
)

// handlerFunc is an API handler: it writes a success response or returns an
// error that the server renders as problem+json.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one method + path template.
type route struct {
	Method  string
	Path    string
	Auth    Access
	Handler handlerFunc
	parts   []string
}

type router struct {
	routes []*route
}

func newRouter(rs []route) *router {
	rt := &router{}
	for i := range rs {
		r := rs[i]
		r.parts = strings.Split(r.Path, "/")
		rt.routes = append(rt.routes, &r)
	}
	return rt
}

// match finds the route for r and stores its path parameters on r (read
// them with r.PathValue). A path that exists under other methods is a 405
// with an Allow list; an unknown path is a 404 that hints at a missing
// trailing slash, the most common mistake with the seed's paths.
func (rt *router) match(r *http.Request) (*route, error) {
	path := r.URL.Path
	parts := strings.Split(path, "/")
	var allowed []string
	for _, candidate := range rt.routes {
		params, ok := matchParts(candidate.parts, parts)
		if !ok {
			continue
		}
		if candidate.Method != r.Method {
			allowed = append(allowed, candidate.Method)
			continue
		}
		for k, v := range params {
			r.SetPathValue(k, v)
		}
		return candidate, nil
	}
	if len(allowed) > 0 {
		sort.Strings(allowed)
		e := apperr.New(apperr.MethodNotAllowed, "%s is not allowed on %s; allowed: %s", r.Method, path, strings.Join(allowed, ", "))
		e.Details = map[string]any{"allow": allowed}
		return nil, e
	}
	e := apperr.New(apperr.RouteNotFound, "No API route at %s", path)
	if !strings.HasSuffix(path, "/") {
		for _, candidate := range rt.routes {
			if _, ok := matchParts(candidate.parts, strings.Split(path+"/", "/")); ok {
				e.Message += "; API paths end with a slash: try " + path + "/"
				break
			}
		}
	}
	return nil, e
}

func matchParts(pattern, parts []string) (map[string]string, bool) {
	if len(pattern) != len(parts) {
		return nil, false
	}
	var params map[string]string
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if parts[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = parts[i]
			continue
		}
		if p != parts[i] {
			return nil, false
		}
	}
	return params, true
}
