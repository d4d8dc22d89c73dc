package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/igny8/integrations/shared/apperr"
	"github.com/igny8/integrations/shared/integrations"
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
		{"Problem", apperr.Problem{}, false},
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

// allowsNull reports whether a property schema's type includes null.
func allowsNull(t *testing.T, doc map[string]any, prop any) bool {
	switch typ := resolveRef(t, doc, prop)["type"].(type) {
	case string:
		return typ == "null"
	case []any:
		return slices.Contains(typ, any("null"))
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
