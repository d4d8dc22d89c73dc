package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"maps"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/igny8/integrations/shared/aiproviders"
	"github.com/igny8/integrations/shared/airegistry"
	"github.com/igny8/integrations/shared/aisettings"
	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/content"
	"github.com/igny8/integrations/shared/contentsync"
	"github.com/igny8/integrations/shared/integrations"
	"github.com/igny8/integrations/shared/logging"
	"github.com/igny8/integrations/shared/publishing"
	"github.com/igny8/integrations/shared/store"
)

// These tests keep openapi.json in step with the code: its operations are
// exactly the router's routes, its schemas name exactly the JSON fields of
// the Go types the handlers read and write, every $ref resolves, and the
// server serves the embedded bytes.

// openAPI decodes the embedded document.
func openAPI(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// obj is v as a JSON object, or nil.
func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// lookup resolves a local JSON pointer such as "#/components/schemas/Problem".
func lookup(doc map[string]any, ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var cur any = doc
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// resolveRef follows v's $ref, if any, to the object it names.
func resolveRef(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	for range 10 {
		ref, ok := obj(v)["$ref"].(string)
		if !ok {
			return obj(v)
		}
		if v, ok = lookup(doc, ref); !ok {
			t.Fatalf("$ref %q does not resolve", ref)
		}
	}
	t.Fatalf("$ref chain too long at %v", v)
	return nil
}

// operations maps "METHOD /path" to each operation of the document.
func operations(doc map[string]any) map[string]map[string]any {
	ops := map[string]map[string]any{}
	for path, item := range obj(doc["paths"]) {
		for _, method := range []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"} {
			if op := obj(obj(item)[method]); op != nil {
				ops[strings.ToUpper(method)+" "+path] = op
			}
		}
	}
	return ops
}

func TestOpenAPIOperationsAreExactlyTheRoutes(t *testing.T) {
	doc := openAPI(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	if global, _ := doc["security"].([]any); len(global) == 0 {
		t.Errorf("the document has no global security requirement")
	}
	ops := operations(doc)
	routes := map[string]RouteInfo{}
	for _, r := range NewServer(Deps{}).Routes() {
		routes[r.Method+" "+r.Path] = r
	}
	for _, key := range slices.Sorted(maps.Keys(routes)) {
		if ops[key] == nil {
			t.Errorf("routes.go serves %s; openapi.json does not document it", key)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(ops)) {
		if _, ok := routes[key]; !ok {
			t.Errorf("openapi.json documents %s; routes.go does not serve it", key)
		}
	}

	for _, key := range slices.Sorted(maps.Keys(routes)) {
		op, r := ops[key], routes[key]
		if op == nil {
			continue
		}
		for _, member := range []string{"operationId", "summary", "description"} {
			if s, _ := op[member].(string); s == "" {
				t.Errorf("%s has no %s", key, member)
			}
		}
		sec, overrides := op["security"].([]any)
		public := r.Auth == Public
		switch {
		case public && (!overrides || len(sec) != 0):
			t.Errorf("%s is public: want \"security\": []", key)
		case !public && overrides && len(sec) == 0:
			t.Errorf("%s needs a token but its security is empty", key)
		}
		responses := obj(op["responses"])
		for _, status := range []string{"401", "403"} {
			switch _, ok := responses[status]; {
			case ok && public:
				t.Errorf("%s is public but documents a %s response", key, status)
			case !ok && !public:
				t.Errorf("%s needs a token but does not document the %s response", key, status)
			}
		}
		if got, want := pathParams(t, doc, r.Path, op), templateParams(r.Path); !slices.Equal(got, want) {
			t.Errorf("%s: path parameters %v, want %v", key, got, want)
		}
	}
}

// templateParams are the {names} in an API Gateway path template.
func templateParams(path string) []string {
	var out []string
	for _, part := range strings.Split(path, "/") {
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			out = append(out, part[1:len(part)-1])
		}
	}
	slices.Sort(out)
	return out
}

// pathParams are the path parameters an operation declares, itself or on
// its path item.
func pathParams(t *testing.T, doc map[string]any, path string, op map[string]any) []string {
	declared, _ := obj(obj(doc["paths"])[path])["parameters"].([]any)
	own, _ := op["parameters"].([]any)
	var out []string
	for _, p := range append(slices.Clone(declared), own...) {
		if p := resolveRef(t, doc, p); p["in"] == "path" {
			if p["required"] != true {
				t.Errorf("%s: path parameter %v is not required", path, p["name"])
			}
			out = append(out, p["name"].(string))
		}
	}
	slices.Sort(out)
	return out
}

func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	doc := openAPI(t)
	tests := []struct {
		schema string
		goType any
		// input schemas are request bodies: the decoder refuses unknown
		// members, so the schema must be closed. Output schemas require
		// exactly the fields without omitempty, and allow null where the Go
		// field is a pointer that is always written.
		input bool
	}{
		{"Integration", integrationJSON{}, false},
		{"IntegrationWithConnection", integrationResponse{}, false},
		{"CredentialsView", credentialsJSON{}, false},
		{"IntegrationList", list[integrationJSON]{}, false},
		{"IntegrationCreate", integrationRequest{}, true},
		{"IntegrationReplace", integrationRequest{}, true},
		{"IntegrationUpdate", integrationRequest{}, true},
		{"CredentialsInput", credentialsRequest{}, true},
		{"CollectionTest", collectionRequest{}, true},
		{"TestConnectionResult", testConnectionResponse{}, false},
		{"ConnectionReport", integrations.ConnectionReport{}, false},
		{"UserInfo", integrations.UserInfo{}, false},
		{"SiteInfo", integrations.SiteInfo{}, false},
		{"Diagnosis", integrations.Diagnosis{}, false},
		{"Structure", integrations.Structure{}, false},
		{"PostType", integrations.PostTypeInfo{}, false},
		{"Taxonomy", integrations.TaxonomyInfo{}, false},
		{"ContentTypes", integrations.ContentTypes{}, false},
		{"ContentType", integrations.ContentType{}, false},
		{"CollectionReport", integrations.CollectionReport{}, false},
		{"PluginReport", integrations.PluginReport{}, false},
		{"SecretRotation", integrations.SecretRotation{}, false},
		{"Problem", apperr.Problem{}, false},
		{"RunView", contentsync.RunView{}, false},
		{"SyncStatus", contentsync.Status{}, false},
		{"SyncHealth", contentsync.Health{}, false},
		{"SyncRequest", syncRequest{}, true},
		{"SiteSyncRequest", siteSyncRequest{}, true},
		{"SyncEvent", eventJSON{}, false},
		{"SyncEventList", list[eventJSON]{}, false},
		{"Content", contentJSON{}, false},
		{"ContentList", list[contentJSON]{}, false},
		{"ContentInput", contentRequest{}, true},
		{"ContentCreate", contentRequest{}, true},
		{"ContentReplace", contentRequest{}, true},
		// TermRef is both: read in Content.terms and written in ContentInput.terms.
		{"TermRef", termRefJSON{}, false},
		{"TermRef", termRefJSON{}, true},
		{"Term", termJSON{}, false},
		{"TermList", list[termJSON]{}, false},
		{"Image", imageJSON{}, false},
		{"ImageList", list[imageJSON]{}, false},
		{"ResolveConflictRequest", resolveRequest{}, true},
		{"TermInput", termRequest{}, true},
		{"ImageInput", imageRequest{}, true},
		{"PublishingSettings", publishingSettingsJSON{}, false},
		{"PublishingSettingsInput", publishingSettingsRequest{}, true},
		{"PublishingSettingsReplace", publishingSettingsRequest{}, true},
		{"TimeSlot", timeSlotJSON{}, false},
		{"TimeSlot", timeSlotJSON{}, true},
		{"PublishingSchedule", publishingScheduleJSON{}, false},
		{"PlannedPublication", plannedPublicationJSON{}, false},
		{"PublishCounts", publishCountsJSON{}, false},
		{"AISettings", aisettings.View{}, false},
		{"AIProviderKeys", aisettings.ProviderKeys{}, false},
		{"AIKeyStatus", aisettings.KeyStatus{}, false},
		{"AISettingsUpdate", aiSettingsRequest{}, true},
		{"AISettingsReplace", aiSettingsRequest{}, true},
		{"ProviderTestResult", aiproviders.Result{}, false},
		{"ProviderTestFailure", aiproviders.Failure{}, false},
		{"ImagePrice", store.ImagePrice{}, false},
		{"Model", modelJSON{}, false},
		{"ModelList", list[modelJSON]{}, false},
		{"ModelInput", modelRequest{}, true},
		{"CostRequest", costRequest{}, true},
		{"Cost", airegistry.Cost{}, false},
		{"UnitPrices", airegistry.UnitPrices{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			schema, ok := lookup(doc, "#/components/schemas/"+tt.schema)
			if !ok {
				t.Fatalf("no schema %s", tt.schema)
			}
			m := members(t, doc, obj(schema))
			fields := jsonFields(reflect.TypeOf(tt.goType))
			if got, want := slices.Sorted(maps.Keys(m.properties)), slices.Sorted(maps.Keys(fields)); !slices.Equal(got, want) {
				t.Fatalf("properties differ from the JSON fields of %T: %s", tt.goType, setDiff(got, want))
			}
			if tt.input {
				if !m.closed {
					t.Errorf("a request body must have additionalProperties: false (the decoder refuses unknown members)")
				}
				return
			}
			var wantRequired []string
			for name, f := range fields {
				if !f.omitEmpty {
					wantRequired = append(wantRequired, name)
				}
				if f.pointer && !f.omitEmpty && !allowsNull(t, doc, m.properties[name]) {
					t.Errorf("%s is a pointer written even when nil: its type must allow null", name)
				}
			}
			if got, want := slices.Sorted(maps.Keys(m.required)), slices.Sorted(slices.Values(wantRequired)); !slices.Equal(got, want) {
				t.Errorf("required differs from the fields without omitempty: %s", setDiff(got, want))
			}
		})
	}
}

// setDiff says how got differs from want.
func setDiff(got, want []string) string {
	var missing, unexpected []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			unexpected = append(unexpected, g)
		}
	}
	return fmt.Sprintf("missing %v, unexpected %v", missing, unexpected)
}

// jsonField is one member encoding/json reads or writes.
type jsonField struct{ omitEmpty, pointer bool }

// jsonFields lists the JSON members of a struct type as encoding/json sees
// them: exported fields, names from json tags, "-" skipped, and embedded
// structs without a tag name flattened.
func jsonFields(typ reflect.Type) map[string]jsonField {
	out := map[string]jsonField{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			maps.Copy(out, jsonFields(ft))
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonField{
			omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty") || slices.Contains(strings.Split(opts, ","), "omitzero"),
			pointer:   f.Type.Kind() == reflect.Pointer,
		}
	}
	return out
}

// schemaMembers are a schema's properties and required names, gathered
// through allOf, and whether additional properties are refused.
type schemaMembers struct {
	properties map[string]any
	required   map[string]bool
	closed     bool
}

func members(t *testing.T, doc map[string]any, schema map[string]any) schemaMembers {
	t.Helper()
	m := schemaMembers{properties: map[string]any{}, required: map[string]bool{}}
	var collect func(s map[string]any)
	collect = func(s map[string]any) {
		s = resolveRef(t, doc, s)
		maps.Copy(m.properties, obj(s["properties"]))
		req, _ := s["required"].([]any)
		for _, name := range req {
			m.required[name.(string)] = true
		}
		if s["additionalProperties"] == false {
			m.closed = true
		}
		all, _ := s["allOf"].([]any)
		for _, sub := range all {
			collect(obj(sub))
		}
	}
	collect(schema)
	return m
}

// allowsNull reports whether a property schema's type includes null, or
// one of its anyOf or oneOf branches does (a nullable $ref is
// {"anyOf": [{"$ref": …}, {"type": "null"}]}).
func allowsNull(t *testing.T, doc map[string]any, prop any) bool {
	s := resolveRef(t, doc, prop)
	switch typ := s["type"].(type) {
	case string:
		if typ == "null" {
			return true
		}
	case []any:
		if slices.Contains(typ, any("null")) {
			return true
		}
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		branches, _ := s[kw].([]any)
		for _, b := range branches {
			if allowsNull(t, doc, b) {
				return true
			}
		}
	}
	return false
}

func TestOpenAPIRefsResolveAndComponentsAreUsed(t *testing.T) {
	doc := openAPI(t)
	used := map[string]bool{}
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, ok := lookup(doc, ref); !ok {
					t.Errorf("%s: $ref %q does not resolve", at, ref)
				}
				used[ref] = true
			}
			for k, child := range v {
				walk(at+"/"+k, child)
			}
		case []any:
			for i, child := range v {
				walk(at+"/"+strconv.Itoa(i), child)
			}
		}
	}
	walk("#", doc)
	for _, kind := range []string{"schemas", "responses", "parameters", "headers"} {
		for name := range obj(obj(doc["components"])[kind]) {
			if ref := "#/components/" + kind + "/" + name; !used[ref] {
				t.Errorf("%s is never referenced", ref)
			}
		}
	}
}

// TestOpenAPIErrorResponsesAreProblems checks every documented error: it is
// problem+json, and the codes it lists are the codes apperr maps to its
// status.
func TestOpenAPIErrorResponsesAreProblems(t *testing.T) {
	doc := openAPI(t)
	for key, op := range operations(doc) {
		for status, resp := range obj(op["responses"]) {
			code, err := strconv.Atoi(status)
			if err != nil {
				t.Errorf("%s: response %q is not a status code", key, status)
				continue
			}
			if code < 400 {
				continue
			}
			schema := obj(obj(obj(resolveRef(t, doc, resp)["content"])[apperr.ContentType])["schema"])
			if schema == nil {
				t.Errorf("%s %d: no %s content", key, code, apperr.ContentType)
				continue
			}
			codes, _ := obj(obj(schema["properties"])["code"])["enum"].([]any)
			for _, c := range codes {
				if got := apperr.New(apperr.Code(c.(string)), "").Status(); got != code {
					t.Errorf("%s %d lists code %q, which apperr answers with %d", key, code, c, got)
				}
			}
		}
	}
}

// TestOpenAPIDiagnosisCodesAreTheWordPressCodes compares the DiagnosisCode
// enum with the codes the wordpress package defines (its Code* constants)
// and the literal codes the integrations service adds.
func TestOpenAPIDiagnosisCodesAreTheWordPressCodes(t *testing.T) {
	doc := openAPI(t)
	schema, _ := lookup(doc, "#/components/schemas/DiagnosisCode")
	enum, _ := obj(schema)["enum"].([]any)
	var documented []string
	for _, c := range enum {
		documented = append(documented, c.(string))
	}
	slices.Sort(documented)

	defined := map[string]bool{}
	for _, dir := range []string{"../wordpress", "../integrations", "../sitecreds"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no Go files in %s: %v", dir, err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.ValueSpec: // const CodeTimeout = "timeout"
					for i, id := range n.Names {
						if s, ok := stringLit(n.Values, i); ok && strings.HasPrefix(id.Name, "Code") {
							defined[s] = true
						}
					}
				case *ast.KeyValueExpr: // Diagnosis{Code: "internal"}
					if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Code" {
						if s, ok := stringLit([]ast.Expr{n.Value}, 0); ok {
							defined[s] = true
						}
					}
				}
				return true
			})
		}
	}
	if want := slices.Sorted(maps.Keys(defined)); !slices.Equal(documented, want) {
		t.Errorf("DiagnosisCode enum differs from the codes the code defines: %s", setDiff(documented, want))
	}
}

func stringLit(values []ast.Expr, i int) (string, bool) {
	if i >= len(values) {
		return "", false
	}
	lit, ok := values[i].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// TestOpenAPIDescribesLiveResponses sends requests that need no store and
// checks each body against its schema's members.
func TestOpenAPIDescribesLiveResponses(t *testing.T) {
	doc := openAPI(t)
	h := newTestHandler(t, &emptyStore{}, nil)
	tests := []struct {
		name, method, target string
		who                  caller
		wantStatus           int
		schema               string
	}{
		{"health", "GET", "/api/v1/health", anonymous, 200, "Health"},
		{"empty list", "GET", "/api/v1/integration/", accountA, 200, "IntegrationList"},
		{"bad limit", "GET", "/api/v1/integration/?limit=0", accountA, 400, "Problem"},
		{"no token", "GET", "/api/v1/integration/", anonymous, 401, "Problem"},
		{"no account", "GET", "/api/v1/integration/", noAccount, 403, "Problem"},
		{"unknown route", "GET", "/api/v1/nope/", accountA, 404, "Problem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, h, tt.method, tt.target, tt.who, "")
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			schema, _ := lookup(doc, "#/components/schemas/"+tt.schema)
			m := members(t, doc, obj(schema))
			for name := range r.json(t) {
				if _, ok := m.properties[name]; !ok {
					t.Errorf("the body has %q, which %s does not document", name, tt.schema)
				}
			}
			for name := range m.required {
				if _, ok := r.json(t)[name]; !ok {
					t.Errorf("the body lacks %q, which %s requires: %s", name, tt.schema, r.body)
				}
			}
		})
	}
}

func TestOpenAPIDocumentIsServedAsEmbedded(t *testing.T) {
	h := newTestHandler(t, &emptyStore{}, nil)
	r := call(t, h, "GET", "/api/v1/openapi.json", anonymous, "")
	if r.status != 200 {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	if ct := r.headers["Content-Type"]; ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if !bytes.Equal(r.body, openAPIDocument) {
		t.Errorf("the served document differs from the embedded openapi.json")
	}
	if v := r.json(t)["openapi"]; v != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", v)
	}
}

// TestOpenAPIDescribesSyncAndContentResponses sends requests to the sync,
// content and site routes, backed by fakes of the services, and checks each
// answer against the response the document gives for its route and status:
// the status must be documented, every member must be documented (nested
// objects too), required members must be present, values must have the
// documented JSON type and enum, and ETag must be sent exactly where it is
// documented. Several of these bodies are built from maps and types local
// to the handlers, which TestOpenAPISchemasMatchGoTypes cannot reach.
func TestOpenAPIDescribesSyncAndContentResponses(t *testing.T) {
	doc := openAPI(t)
	ops := operations(doc)
	h := NewLambdaHandler(Deps{Config: testConfig(t), Logger: logging.New(io.Discard, slog.LevelInfo),
		Integrations: siteIntegrations{}, Sync: fakeSync{}, Content: fakeContent{}, Library: fakeLibrary{}, Publishing: fakePublishing{}})
	const settingsBody = `{"auto_approval_enabled":false,"auto_publish_enabled":true,"daily_publish_limit":5,"weekly_publish_limit":20,"monthly_publish_limit":60,` +
		`"publish_days":["mon","wed","fri"],"publish_time_slots":[{"start":"09:00","end":"17:00"}],"timezone":"America/New_York"}`
	const syncBody = `{"direction":"both","mode":"full","content_types":["post","products"]}`
	tests := []struct {
		name, method, route, target, body string
		headers                           []string
		wantStatus                        int
	}{
		{"sync without a body", "POST", "/api/v1/integration/{id}/sync/", "/api/v1/integration/int-1/sync/", "", []string{"Content-Type", ""}, 202},
		{"sync with options", "POST", "/api/v1/integration/{id}/sync/", "/api/v1/integration/int-1/sync/", syncBody, nil, 202},
		{"sync while a run is active", "POST", "/api/v1/integration/{id}/sync/", "/api/v1/integration/busy/sync/", "", []string{"Content-Type", ""}, 409},
		{"sync with an unknown member", "POST", "/api/v1/integration/{id}/sync/", "/api/v1/integration/int-1/sync/", `{"colour":"red"}`, nil, 400},
		{"sync of a missing integration", "POST", "/api/v1/integration/{id}/sync/", "/api/v1/integration/missing/sync/", "{}", nil, 404},
		{"status while syncing", "GET", "/api/v1/integration/{id}/sync_status/", "/api/v1/integration/int-1/sync_status/", "", nil, 200},
		{"status before the first run", "GET", "/api/v1/integration/{id}/sync_status/", "/api/v1/integration/new/sync_status/", "", nil, 200},
		{"status of a missing integration", "GET", "/api/v1/integration/{id}/sync_status/", "/api/v1/integration/missing/sync_status/", "", nil, 404},
		{"health", "GET", "/api/v1/integration/{id}/sync_health/", "/api/v1/integration/int-1/sync_health/", "", nil, 200},
		{"health before the first run", "GET", "/api/v1/integration/{id}/sync_health/", "/api/v1/integration/new/sync_health/", "", nil, 200},
		{"events", "GET", "/api/v1/integration/{id}/events/", "/api/v1/integration/int-1/events/?status=failed&event_type=conflict&limit=10", "", nil, 200},
		{"events of a bad status", "GET", "/api/v1/integration/{id}/events/", "/api/v1/integration/int-1/events/?status=bogus", "", nil, 400},
		{"site sync", "POST", "/api/v1/integration/site_sync/", "/api/v1/integration/site_sync/", `{"site_id":"site-1","mode":"incremental"}`, nil, 202},
		{"site sync without a site", "POST", "/api/v1/integration/site_sync/", "/api/v1/integration/site_sync/", `{}`, nil, 400},
		{"site sync of a site without integrations", "POST", "/api/v1/integration/site_sync/", "/api/v1/integration/site_sync/", `{"site_id":"elsewhere"}`, nil, 404},
		{"site sync as text", "POST", "/api/v1/integration/site_sync/", "/api/v1/integration/site_sync/", `site_id=site-1`, []string{"Content-Type", "text/plain"}, 415},
		{"list content", "GET", "/api/v1/content/", "/api/v1/content/?site_id=site-1&status=draft&content_type=post", "", nil, 200},
		{"create content", "POST", "/api/v1/content/", "/api/v1/content/", `{"site_id":"site-1","title":"Hello","content":"<p>Hi</p>","terms":[{"taxonomy":"category","id":"term-1"}]}`, nil, 201},
		{"create content with a member of the wrong type", "POST", "/api/v1/content/", "/api/v1/content/", `{"site_id":"site-1","title":7}`, nil, 400},
		{"read content", "GET", "/api/v1/content/{id}/", "/api/v1/content/c-1/", "", nil, 200},
		{"replace content", "PUT", "/api/v1/content/{id}/", "/api/v1/content/c-1/", `{"title":"Hello","content":"<p>Hi</p>","version":3}`, nil, 200},
		{"replace content without its body", "PUT", "/api/v1/content/{id}/", "/api/v1/content/c-1/", `{"title":"Hello"}`, nil, 400},
		{"patch content", "PATCH", "/api/v1/content/{id}/", "/api/v1/content/c-1/", `{"status":"review"}`, []string{"If-Match", `"3"`}, 200},
		{"patch content with a bad If-Match", "PATCH", "/api/v1/content/{id}/", "/api/v1/content/c-1/", `{"status":"review"}`, []string{"If-Match", "v3"}, 400},
		{"approve", "POST", "/api/v1/content/{id}/approve/", "/api/v1/content/c-1/approve/", "", nil, 200},
		{"publish", "POST", "/api/v1/content/{id}/publish/", "/api/v1/content/c-1/publish/", "", nil, 202},
		{"resolve a conflict", "POST", "/api/v1/content/{id}/resolve_conflict/", "/api/v1/content/c-1/resolve_conflict/", `{"keep":"igny8"}`, nil, 200},
		{"taxonomies", "GET", "/api/v1/sites/{site_id}/taxonomies/", "/api/v1/sites/site-1/taxonomies/?type=category", "", nil, 200},
		{"images", "GET", "/api/v1/sites/{site_id}/images/", "/api/v1/sites/site-1/images/?limit=2", "", nil, 200},
		{"add a term", "POST", "/api/v1/sites/{site_id}/taxonomies/", "/api/v1/sites/site-1/taxonomies/", `{"type":"post_tag","name":" Local ","slug":"local"}`, nil, 201},
		{"add a term without a name", "POST", "/api/v1/sites/{site_id}/taxonomies/", "/api/v1/sites/site-1/taxonomies/", `{"type":"post_tag"}`, nil, 400},
		{"register an image", "POST", "/api/v1/sites/{site_id}/images/", "/api/v1/sites/site-1/images/", `{"image_url":"https://images.example.com/hero.jpg","alt":"Hero"}`, nil, 201},
		{"publishing settings", "GET", "/api/v1/sites/{site_id}/publishing_settings/", "/api/v1/sites/site-1/publishing_settings/", "", nil, 200},
		{"publishing settings of an unknown site", "GET", "/api/v1/sites/{site_id}/publishing_settings/", "/api/v1/sites/elsewhere/publishing_settings/", "", nil, 404},
		{"replace publishing settings", "PUT", "/api/v1/sites/{site_id}/publishing_settings/", "/api/v1/sites/site-1/publishing_settings/", settingsBody, nil, 200},
		{"replace publishing settings partly", "PUT", "/api/v1/sites/{site_id}/publishing_settings/", "/api/v1/sites/site-1/publishing_settings/", `{"daily_publish_limit":2}`, nil, 400},
		{"patch publishing settings", "PATCH", "/api/v1/sites/{site_id}/publishing_settings/", "/api/v1/sites/site-1/publishing_settings/", `{"daily_publish_limit":2}`, []string{"If-Match", `"3"`}, 200},
		{"patch daily over weekly", "PATCH", "/api/v1/sites/{site_id}/publishing_settings/", "/api/v1/sites/site-1/publishing_settings/", `{"daily_publish_limit":21}`, nil, 422},
		{"patch overlapping slots", "PATCH", "/api/v1/sites/{site_id}/publishing_settings/", "/api/v1/sites/site-1/publishing_settings/",
			`{"publish_time_slots":[{"start":"09:00","end":"12:00"},{"start":"11:00","end":"13:00"}]}`, nil, 422},
		{"patch with a stale version", "PATCH", "/api/v1/sites/{site_id}/publishing_settings/", "/api/v1/sites/site-1/publishing_settings/", `{"version":2}`, nil, 412},
		{"schedule preview", "GET", "/api/v1/sites/{site_id}/publishing_schedule/", "/api/v1/sites/site-1/publishing_schedule/?days=7", "", nil, 200},
		{"schedule preview of too many days", "GET", "/api/v1/sites/{site_id}/publishing_schedule/", "/api/v1/sites/site-1/publishing_schedule/?days=90", "", nil, 400},
		{"register an image by a relative URL", "POST", "/api/v1/sites/{site_id}/images/", "/api/v1/sites/site-1/images/", `{"image_url":"/hero.jpg"}`, nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, h, tt.method, tt.target, accountA, tt.body, tt.headers...)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			op := ops[tt.method+" "+tt.route]
			if op == nil {
				t.Fatalf("openapi.json does not document %s %s", tt.method, tt.route)
			}
			resp, ok := obj(op["responses"])[strconv.Itoa(r.status)]
			if !ok {
				t.Fatalf("%s %s does not document status %d", tt.method, tt.route, r.status)
			}
			documented := resolveRef(t, doc, resp)
			media, _, _ := strings.Cut(r.headers["Content-Type"], ";")
			schema := obj(obj(documented["content"])[media])["schema"]
			if schema == nil {
				t.Fatalf("status %d documents no %q body", r.status, media)
			}
			var body any
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("the body is not JSON: %q", r.body)
			}
			for _, p := range conform(t, doc, schema, body, "body") {
				t.Error(p)
			}
			_, etagDocumented := obj(documented["headers"])["ETag"]
			sent := slices.ContainsFunc(slices.Collect(maps.Keys(r.headers)), func(k string) bool { return strings.EqualFold(k, "ETag") })
			if sent != etagDocumented {
				t.Errorf("ETag sent: %v; documented: %v", sent, etagDocumented)
			}
		})
	}
}

// conform lists how v departs from schema: members the schema does not
// document (unless it allows additional properties), missing required
// members, and values of another JSON type or outside an enum or const. It
// follows $ref, allOf, anyOf, oneOf, properties and items; it ignores
// formats, lengths and numeric bounds.
func conform(t *testing.T, doc map[string]any, schema, v any, at string) []string {
	t.Helper()
	s := resolveRef(t, doc, schema)
	for _, kw := range []string{"anyOf", "oneOf"} {
		branches, _ := s[kw].([]any)
		if len(branches) == 0 {
			continue
		}
		var first []string
		matched := false
		for i, b := range branches {
			p := conform(t, doc, b, v, at)
			if len(p) == 0 {
				matched = true
				break
			}
			if i == 0 {
				first = p
			}
		}
		if !matched {
			return append([]string{fmt.Sprintf("%s matches no branch of %s; the first says:", at, kw)}, first...)
		}
	}
	problems := valueChecks(t, doc, s, v, at)
	m, isObject := v.(map[string]any)
	if !isObject {
		return problems
	}
	props, required, open, describes := objectShape(t, doc, s)
	for _, name := range slices.Sorted(maps.Keys(m)) {
		schemas, ok := props[name]
		if !ok {
			if describes && !open {
				problems = append(problems, fmt.Sprintf("%s.%s is not documented", at, name))
			}
			continue
		}
		for _, ps := range schemas {
			problems = append(problems, conform(t, doc, ps, m[name], at+"."+name)...)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(required)) {
		if _, ok := m[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s lacks %q, which is required", at, name))
		}
	}
	return problems
}

// valueChecks checks type, enum, const and array items of s and of the
// schemas it combines with allOf.
func valueChecks(t *testing.T, doc map[string]any, s map[string]any, v any, at string) []string {
	var problems []string
	if typ, ok := s["type"]; ok {
		var allowed []any
		switch typ := typ.(type) {
		case string:
			allowed = []any{typ}
		case []any:
			allowed = typ
		}
		if !slices.ContainsFunc(allowed, func(a any) bool { return jsonTypeIs(v, a.(string)) }) {
			problems = append(problems, fmt.Sprintf("%s is %v, not of type %v", at, v, typ))
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return reflect.DeepEqual(e, v) }) {
		problems = append(problems, fmt.Sprintf("%s is %v, not one of %v", at, v, enum))
	}
	if c, ok := s["const"]; ok && !reflect.DeepEqual(c, v) {
		problems = append(problems, fmt.Sprintf("%s is %v, not %v", at, v, c))
	}
	if items, ok := s["items"]; ok {
		if arr, ok := v.([]any); ok {
			for i, e := range arr {
				problems = append(problems, conform(t, doc, items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	all, _ := s["allOf"].([]any)
	for _, sub := range all {
		problems = append(problems, valueChecks(t, doc, resolveRef(t, doc, sub), v, at)...)
	}
	return problems
}

// objectShape gathers an object schema's property schemas (every schema a
// member must satisfy, through allOf), its required members, whether it
// allows undocumented members, and whether it describes members at all (a
// schema that only combines others with anyOf does not).
func objectShape(t *testing.T, doc map[string]any, s map[string]any) (props map[string][]any, required map[string]bool, open, describes bool) {
	props, required = map[string][]any{}, map[string]bool{}
	var collect func(s map[string]any)
	collect = func(s map[string]any) {
		s = resolveRef(t, doc, s)
		for name, p := range obj(s["properties"]) {
			props[name] = append(props[name], p)
		}
		req, _ := s["required"].([]any)
		for _, name := range req {
			required[name.(string)] = true
		}
		if _, ok := s["additionalProperties"]; ok {
			describes = true
		}
		switch ap := s["additionalProperties"].(type) {
		case bool:
			open = open || ap
		case map[string]any:
			open = true
		}
		all, _ := s["allOf"].([]any)
		for _, sub := range all {
			collect(obj(sub))
		}
	}
	collect(s)
	return props, required, open, describes || len(props) > 0
}

// jsonTypeIs reports whether a decoded JSON value is of a JSON Schema type.
func jsonTypeIs(v any, typ string) bool {
	switch v := v.(type) {
	case nil:
		return typ == "null"
	case bool:
		return typ == "boolean"
	case float64:
		return typ == "number" || typ == "integer" && v == math.Trunc(v)
	case string:
		return typ == "string"
	case []any:
		return typ == "array"
	case map[string]any:
		return typ == "object"
	}
	return false
}

// Fakes of the services behind the sync, content and site routes. They
// return fixed, fully populated values so that every member (and every
// null) a handler can write shows up in a response.

var fixedTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func sampleRun(finished bool) store.SyncRun {
	r := store.SyncRun{AccountID: "acct-a", IntegrationID: "int-1", ID: "0194f6a0-1b2c-7d3e-8f40-5a6b7c8d9e0f", Direction: "pull",
		Mode: "incremental", Status: store.RunRunning, Phase: "pulling", PagesTotal: 4, PagesDone: 1, PlanningDone: true,
		ItemsCreated: 3, ItemsUpdated: 2, ItemsUnchanged: 90, ItemsFailed: 1, ItemsConflicted: 1, StartedAt: fixedTime}
	if finished {
		end := fixedTime.Add(time.Minute)
		r.Status, r.Phase, r.Error, r.FinishedAt, r.ContentTypes = store.RunFailed, "pulling", "auth_failed: Sorry, you are not allowed to do that.", &end, []string{"post"}
	}
	return r
}

type fakeSync struct{}

func (fakeSync) StartRun(_ context.Context, req contentsync.StartRequest) (store.SyncRun, error) {
	switch req.IntegrationID {
	case "busy":
		return store.SyncRun{}, &contentsync.ActiveRunError{Run: sampleRun(false)}
	case "missing":
		return store.SyncRun{}, fmt.Errorf("get integration: %w", store.ErrNotFound)
	}
	r := sampleRun(false)
	r.Direction, r.Mode, r.ContentTypes, r.Status, r.Phase, r.PlanningDone = cmp.Or(req.Direction, "pull"), cmp.Or(req.Mode, "incremental"), req.ContentTypes, store.RunQueued, "queued", false
	return r, nil
}

func (fakeSync) Status(_ context.Context, _, id string) (contentsync.Status, error) {
	switch id {
	case "new":
		return contentsync.Status{Status: "idle"}, nil
	case "missing":
		return contentsync.Status{}, fmt.Errorf("get integration: %w", store.ErrNotFound)
	}
	v := contentsync.ViewRun(sampleRun(false))
	return contentsync.Status{Status: "syncing", Run: &v}, nil
}

func (fakeSync) Health(_ context.Context, _, id string) (contentsync.Health, error) {
	if id == "new" {
		return contentsync.Health{}, nil
	}
	v := contentsync.ViewRun(sampleRun(true))
	last := fixedTime.Add(-time.Hour)
	return contentsync.Health{LastSuccessfulSync: &last, FailedEvents24h: 1, FailedEvents7d: 4, LastRun: &v}, nil
}

func (fakeSync) Events(context.Context, string, string, store.EventFilter, store.PageRequest) (store.Page[store.SyncEvent], error) {
	return store.Page[store.SyncEvent]{NextCursor: "next", Items: []store.SyncEvent{
		{ID: "e-1", IntegrationID: "int-1", EventType: "conflict", Direction: "wp_to_igny8", ContentType: "post", ContentID: "c-1",
			ExternalID: 42, Status: "failed", ErrorMessage: "changed in both IGNY8 and WordPress since the last sync",
			Metadata: map[string]any{"igny8_version": 4.0}, RunID: "run-1", CreatedAt: fixedTime},
		{ID: "e-2", IntegrationID: "int-1", EventType: "content_push", Direction: "igny8_to_wp", Status: "success", CreatedAt: fixedTime},
	}}, nil
}

// siteIntegrations lists two active integrations and an inactive one of
// site-1, and none of any other site.
type siteIntegrations struct{ IntegrationService }

func (siteIntegrations) List(_ context.Context, accountID string, f store.IntegrationFilter, _ store.PageRequest) (store.Page[store.Integration], error) {
	if f.SiteID != "site-1" {
		return store.Page[store.Integration]{}, nil
	}
	return store.Page[store.Integration]{Items: []store.Integration{
		{AccountID: accountID, ID: "int-1", SiteID: "site-1", IsActive: true},
		{AccountID: accountID, ID: "busy", SiteID: "site-1", IsActive: true},
		{AccountID: accountID, ID: "off", SiteID: "site-1"},
	}}, nil
}

func sampleContent() store.Content {
	approved := fixedTime.Add(-time.Hour)
	return store.Content{AccountID: "acct-a", ID: "c-1", SiteID: "site-1", IntegrationID: "int-1", ContentType: "post", Title: "Hello",
		Body: "<p>Hi</p>", Excerpt: "Hi", Slug: "hello", Status: store.ContentApproved, Terms: []store.TermRef{{Taxonomy: "category", ID: "term-1"}},
		FeaturedImageID: "img-1", WordPressID: 42, WordPressLink: "https://blog.example.com/hello/", WordPressStatus: "publish",
		WPModifiedGMT: fixedTime.Add(-2 * time.Hour), ApprovedAt: &approved, CreatedAt: fixedTime.Add(-3 * time.Hour), UpdatedAt: fixedTime, Version: 3}
}

type fakeContent struct{}

func (fakeContent) Create(context.Context, string, content.Input) (store.Content, error) {
	c := sampleContent()
	// A new draft: never synced, never approved (both nulls).
	c.Status, c.WordPressID, c.WordPressLink, c.WordPressStatus, c.WPModifiedGMT, c.ApprovedAt, c.Version = store.ContentDraft, 0, "", "", time.Time{}, nil, 1
	return c, nil
}

func (fakeContent) Get(context.Context, string, string) (store.Content, error) {
	return sampleContent(), nil
}

func (fakeContent) List(context.Context, string, store.ContentFilter, store.PageRequest) (store.Page[store.Content], error) {
	draft := sampleContent()
	draft.ID, draft.Status, draft.WPModifiedGMT, draft.ApprovedAt = "c-2", store.ContentDraft, time.Time{}, nil
	return store.Page[store.Content]{Items: []store.Content{sampleContent(), draft}, NextCursor: "next"}, nil
}

func (fakeContent) Update(context.Context, string, string, int64, content.Input) (store.Content, error) {
	return sampleContent(), nil
}

func (fakeContent) Approve(context.Context, string, string, int64) (store.Content, error) {
	return sampleContent(), nil
}

func (fakeContent) Publish(context.Context, string, string) (store.Content, error) {
	return sampleContent(), nil
}

func (fakeContent) ResolveConflict(context.Context, string, string, string) (store.Content, error) {
	return sampleContent(), nil
}

// fakePublishing serves site-1's settings (version 3) and validates
// changes with the real rules.
type fakePublishing struct{}

func sampleSettings() store.PublishSettings {
	next := fixedTime.Add(time.Hour)
	return store.PublishSettings{AccountID: "acct-a", SiteID: "site-1", AutoPublishEnabled: true, DailyLimit: 5, WeeklyLimit: 20, MonthlyLimit: 60,
		PublishDays: []string{"mon", "wed", "fri"}, TimeSlots: []store.TimeSlot{{Start: "09:00", End: "17:00"}}, Timezone: "America/New_York",
		ApprovedWaiting: 2, NextCheckAt: &next, CreatedAt: fixedTime.Add(-time.Hour), UpdatedAt: fixedTime, Version: 3}
}

func (fakePublishing) Get(_ context.Context, _ string, siteID string) (store.PublishSettings, error) {
	if siteID != "site-1" {
		return store.PublishSettings{}, apperr.New(apperr.NotFound, "No site %q in your account", siteID)
	}
	return sampleSettings(), nil
}

func (f fakePublishing) Update(ctx context.Context, accountID, siteID string, version int64, in publishing.Input) (store.PublishSettings, error) {
	ps, err := f.Get(ctx, accountID, siteID)
	if err != nil {
		return ps, err
	}
	if version != 0 && version != ps.Version {
		return ps, apperr.New(apperr.PreconditionFailed, "changed")
	}
	if in.DailyPublishLimit != nil {
		ps.DailyLimit = *in.DailyPublishLimit
	}
	if in.PublishTimeSlots != nil {
		ps.TimeSlots = *in.PublishTimeSlots
	}
	if err := publishing.Validate(ps); err != nil {
		return ps, err
	}
	ps.Version++
	return ps, nil
}

func (f fakePublishing) Preview(ctx context.Context, accountID, siteID string, days int) (publishing.Schedule, error) {
	ps, err := f.Get(ctx, accountID, siteID)
	if err != nil {
		return publishing.Schedule{}, err
	}
	return publishing.Schedule{Settings: ps, From: fixedTime, Until: fixedTime.Add(time.Duration(days) * 24 * time.Hour),
		Counts: store.PublishCounts{Day: 1, Week: 3, Month: 9},
		Publications: []publishing.PlannedPublication{
			{At: fixedTime.Add(time.Hour), Planned: fixedTime.Add(time.Hour), ContentID: "c-1", ContentTitle: "Hello"},
			{At: fixedTime.Add(3 * time.Hour), Planned: fixedTime.Add(3 * time.Hour)},
		}}, nil
}

type fakeLibrary struct{}

func (fakeLibrary) ListTerms(context.Context, string, string, string, store.PageRequest) (store.Page[store.Term], error) {
	return store.Page[store.Term]{Items: []store.Term{
		{ID: "term-1", Taxonomy: "category", Name: "News", Slug: "news", WordPressID: 5},
		{ID: "term-2", Taxonomy: "category", Name: "Local", Slug: "local", ParentID: "term-1"},
	}}, nil
}

func (fakeLibrary) CreateTerm(_ context.Context, t store.Term) (store.Term, error) {
	t.ID, t.Version = "term-3", 1
	return t, nil
}

func (fakeLibrary) CreateImage(_ context.Context, img store.Image) (store.Image, error) {
	img.ID, img.Version = "img-2", 1
	return img, nil
}

func (fakeLibrary) ListImages(context.Context, string, string, store.PageRequest) (store.Page[store.Image], error) {
	return store.Page[store.Image]{NextCursor: "next", Items: []store.Image{
		{ID: "img-1", ImageURL: "https://blog.example.com/wp-content/uploads/a.jpg", Alt: "A", WordPressMediaID: 9},
	}}, nil
}
