package samtemplate

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func mustLoad(t *testing.T, path string) *Template {
	t.Helper()
	tmpl, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func fixtureResolver() *Resolver {
	return &Resolver{
		Parameters: map[string]string{"Stage": "local"},
		Resource: func(id, attr string) (string, error) {
			switch id + "." + attr {
			case "Table.":
				return "local-table", nil
			case "SyncQueue.":
				return "http://sqs/local-sync", nil
			case "SyncDeadLetterQueue.QueueUrl":
				return "http://sqs/local-dlq", nil
			case "UserPool.":
				return "pool-id", nil
			case "UserPoolClient.":
				return "client-id", nil
			}
			return "", fmt.Errorf("%s.%s: %w", id, attr, ErrUnresolvable)
		},
	}
}

func TestFunctionsResolveGlobalsEventsAndEnvironment(t *testing.T) {
	tmpl := mustLoad(t, "testdata/template.yaml")
	fns, err := tmpl.Functions(fixtureResolver())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Function{}
	for _, f := range fns {
		byID[f.LogicalID] = f
	}

	api := byID["ApiFunction"]
	if api.Timeout != 29 || api.MemorySize != 256 || api.Handler != "bootstrap" {
		t.Errorf("ApiFunction timeout/memory/handler = %d/%d/%q, want 29/256/bootstrap", api.Timeout, api.MemorySize, api.Handler)
	}
	wantEnv := map[string]string{
		"STAGE": "local", "TABLE_NAME": "local-table", "SYNC_QUEUE_URL": "http://sqs/local-sync",
		"SYNC_DLQ_URL": "http://sqs/local-dlq", "SECRET_PREFIX": "igny8/integrations/local/",
		"JWT_ACCOUNT_CLAIM": "custom:account_id", "JWT_ADMIN_SCOPE": "igny8/admin",
	}
	if !reflect.DeepEqual(api.Environment, wantEnv) {
		t.Errorf("environment = %v, want %v", api.Environment, wantEnv)
	}
	if !reflect.DeepEqual(api.UnresolvedEnvironment, []string{"IMPORTED"}) {
		t.Errorf("unresolved = %v, want [IMPORTED]", api.UnresolvedEnvironment)
	}
	if got := byID["WebhookFunction"].Environment["STAGE"]; got != "webhook-stage" {
		t.Errorf("function environment must override Globals: STAGE = %q", got)
	}

	routes := map[string]HTTPAPIEvent{}
	for _, ev := range api.Events {
		if ev.HTTP == nil {
			t.Fatalf("event %s has no HTTP part", ev.Name)
		}
		routes[ev.HTTP.RouteKey()] = *ev.HTTP
	}
	for key, auth := range map[string]string{
		"GET /api/v1/health": AuthNone, "GET /api/v1/integration/": "", "ANY /api/v1/admin/{proxy+}": "", "$default": AuthNone,
	} {
		r, ok := routes[key]
		if !ok {
			t.Errorf("route %q missing; have %v", key, routes)
			continue
		}
		if r.Authorizer != auth || r.ApiID != "HttpApi" {
			t.Errorf("route %q: authorizer %q api %q, want %q HttpApi", key, r.Authorizer, r.ApiID, auth)
		}
	}
	if s := routes["ANY /api/v1/admin/{proxy+}"].AuthorizationScopes; !reflect.DeepEqual(s, []string{"igny8/admin"}) {
		t.Errorf("admin scopes = %v", s)
	}

	if byID["WebhookFunction"].FunctionURL == nil || byID["WebhookFunction"].FunctionURL.AuthType != "NONE" {
		t.Errorf("webhook FunctionUrlConfig = %+v", byID["WebhookFunction"].FunctionURL)
	}

	worker := byID["SyncWorkerFunction"]
	if len(worker.Events) != 1 || worker.Events[0].SQS == nil {
		t.Fatalf("worker events = %+v", worker.Events)
	}
	sqs := *worker.Events[0].SQS
	if sqs.Queue != "SyncQueue" || sqs.BatchSize != 10 || sqs.MaximumConcurrency != 5 || !sqs.ReportsBatchItemFailures() || !sqs.Enabled {
		t.Errorf("SQS event = %+v", sqs)
	}

	pub := byID["PublisherFunction"]
	if len(pub.Events) != 1 || pub.Events[0].Schedule == nil {
		t.Fatalf("publisher events = %+v", pub.Events)
	}
	sched := pub.Events[0].Schedule
	if sched.Expression != "rate(5 minutes)" || !sched.Enabled {
		t.Errorf("schedule = %+v", sched)
	}
	for _, want := range []string{`"account":"000000000000"`, `"region":"us-east-1"`, "<aws.scheduler.scheduled-time>", "<aws.scheduler.schedule-arn>"} {
		if !strings.Contains(sched.Input, want) {
			t.Errorf("Input %s lacks %s", sched.Input, want)
		}
	}
}

func TestHTTPAPIsAndConditions(t *testing.T) {
	tmpl := mustLoad(t, "testdata/template.yaml")
	apis, err := tmpl.HTTPAPIs(fixtureResolver())
	if err != nil {
		t.Fatal(err)
	}
	if len(apis) != 1 || apis[0].DefaultAuthorizer != "JwtAuthorizer" {
		t.Fatalf("apis = %+v", apis)
	}
	a := apis[0].Authorizers["JwtAuthorizer"]
	if a.Issuer != "https://cognito-idp.us-east-1.amazonaws.com/pool-id" || !reflect.DeepEqual(a.Audience, []string{"client-id"}) {
		t.Errorf("authorizer = %+v", a)
	}
	r := fixtureResolver()
	r.Parameters["JwtIssuer"] = "https://issuer.example"
	r.Parameters["JwtAudience"] = "aud"
	apis, _ = tmpl.HTTPAPIs(r)
	if a := apis[0].Authorizers["JwtAuthorizer"]; a.Issuer != "https://issuer.example" || a.Audience[0] != "aud" {
		t.Errorf("with issuer given, authorizer = %+v", a)
	}
}

func TestSecretsAndSub(t *testing.T) {
	tmpl := mustLoad(t, "testdata/template.yaml")
	secrets, err := tmpl.Secrets(fixtureResolver())
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets) != 1 || secrets[0].Name != "igny8/integrations/local/ai-providers" {
		t.Fatalf("secrets = %+v", secrets)
	}
	tmpl2, err := Parse([]byte("Resources: {}\nOutputs:\n  A: !Sub ['${X}-${!Lit}-${AWS::Region}', {X: !Join ['/', [a, b]]}]\n  B: !GetAtt Nope.Arn\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl2.ResolveString(mappingValue(&tmpl2.Outputs, "A"), nil)
	if err != nil || got != "a/b-${Lit}-us-east-1" {
		t.Errorf("Sub = %q, %v", got, err)
	}
	if _, err := tmpl2.ResolveString(mappingValue(&tmpl2.Outputs, "B"), nil); !errors.Is(err, ErrUnresolvable) {
		t.Errorf("GetAtt without resolver: err = %v, want ErrUnresolvable", err)
	}
}

// TestRepositoryTemplateParses checks the real template.yaml with the same
// code, so a template change that the local stack cannot read fails here.
func TestRepositoryTemplateParses(t *testing.T) {
	path, err := FindRepoFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := mustLoad(t, path)
	r := &Resolver{Resource: func(id, attr string) (string, error) { return "local-" + id + "-" + attr, nil }}
	if _, err := tmpl.Functions(r); err != nil {
		t.Errorf("Functions: %v", err)
	}
	if _, err := tmpl.HTTPAPIs(r); err != nil {
		t.Errorf("HTTPAPIs: %v", err)
	}
	if _, err := tmpl.Secrets(r); err != nil {
		t.Errorf("Secrets: %v", err)
	}
}
