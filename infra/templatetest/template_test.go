package templatetest

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/igny8/integrations/infra/samtemplate"
	"github.com/igny8/integrations/shared/config"
	"github.com/igny8/integrations/shared/httpapi"
	"github.com/igny8/integrations/shared/testutil"
)

// functionProps is the part of AWS::Serverless::Function this test reads.
type functionProps struct {
	CodeUri           string `yaml:"CodeUri"`
	FunctionUrlConfig *struct {
		AuthType string `yaml:"AuthType"`
	} `yaml:"FunctionUrlConfig"`
	Events map[string]struct {
		Type       string    `yaml:"Type"`
		Properties yaml.Node `yaml:"Properties"`
	} `yaml:"Events"`
}

type httpAPIEvent struct {
	Path   string `yaml:"Path"`
	Method string `yaml:"Method"`
	Auth   struct {
		Authorizer string `yaml:"Authorizer"`
	} `yaml:"Auth"`
}

func functions(t *testing.T, tmpl *samtemplate.Template) map[string]functionProps {
	t.Helper()
	out := map[string]functionProps{}
	for _, id := range tmpl.ResourcesOfType("AWS::Serverless::Function") {
		var p functionProps
		if err := tmpl.Decode(id, &p); err != nil {
			t.Fatal(err)
		}
		out[id] = p
	}
	if len(out) != 4 {
		t.Fatalf("template has %d functions, want the 4 of the design (api, webhook, syncworker, publisher)", len(out))
	}
	return out
}

func TestEveryFunctionHasABuildTargetAndAMainPackage(t *testing.T) {
	tmpl, root := testutil.MustLoadTemplate(t)
	for id, fn := range functions(t, tmpl) {
		var meta struct {
			BuildMethod string `yaml:"BuildMethod"`
		}
		if err := tmpl.Resources[id].Metadata.Decode(&meta); err != nil || meta.BuildMethod != "makefile" {
			t.Errorf("%s: Metadata.BuildMethod = %q, want makefile", id, meta.BuildMethod)
		}
		if fn.CodeUri != "." {
			t.Errorf("%s: CodeUri = %q, want . (the module root)", id, fn.CodeUri)
		}
		// Ask make for the expanded recipe, exactly as sam build runs it.
		out, err := exec.Command("make", "-s", "-n", "-C", root, "build-"+id, "ARTIFACTS_DIR=/artifacts").CombinedOutput()
		if err != nil {
			t.Errorf("%s: make has no build-%s target: %v\n%s", id, id, err, out)
			continue
		}
		recipe := string(out)
		for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "lambda.norpc", "-trimpath", "-o /artifacts/bootstrap"} {
			if !strings.Contains(recipe, want) {
				t.Errorf("%s: build recipe lacks %q: %s", id, want, recipe)
			}
		}
		pkg := regexp.MustCompile(`\./functions/[a-z]+`).FindString(recipe)
		if pkg == "" {
			t.Errorf("%s: build recipe builds no ./functions/<name> package: %q", id, recipe)
			continue
		}
		main, err := os.ReadFile(filepath.Join(root, pkg, "main.go"))
		if err != nil || !strings.Contains(string(main), "package main") || !strings.Contains(string(main), "lambda.Start(") {
			t.Errorf("%s: %s/main.go is not a main package that calls lambda.Start", id, pkg)
		}
	}
}

func TestHttpApiRoutesMatchTheRouter(t *testing.T) {
	tmpl, _ := testutil.MustLoadTemplate(t)
	fns := functions(t, tmpl)
	api, ok := fns["ApiFunction"]
	if !ok {
		t.Fatal("template has no ApiFunction")
	}
	inTemplate := map[string]bool{}
	public := map[string]bool{}
	hasDefault := false
	for name, ev := range api.Events {
		if ev.Type != "HttpApi" {
			continue
		}
		var p httpAPIEvent
		if err := ev.Properties.Decode(&p); err != nil {
			t.Fatalf("event %s: %v", name, err)
		}
		if p.Path == "" && p.Method == "" {
			hasDefault = true
			continue
		}
		key := strings.ToUpper(p.Method) + " " + p.Path
		inTemplate[key] = true
		public[key] = p.Auth.Authorizer == "NONE"
	}
	if !hasDefault {
		t.Error("ApiFunction has no $default route: unknown paths would get API Gateway's plain 404 instead of problem+json")
	}

	cfg, err := config.Load(func(k string) string {
		return map[string]string{"TABLE_NAME": "t", "SYNC_QUEUE_URL": "http://q/q", "SYNC_DLQ_URL": "http://q/d", "SECRET_PREFIX": "p/"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewServer(httpapi.Deps{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	inRouter := map[string]bool{}
	for _, r := range srv.Routes() {
		key := r.Method + " " + r.Path
		inRouter[key] = true
		if !inTemplate[key] {
			t.Errorf("router serves %s but template.yaml has no HttpApi event for it", key)
			continue
		}
		if public[key] != (r.Auth == httpapi.Public) {
			t.Errorf("%s: template Auth NONE = %v but router public = %v", key, public[key], r.Auth == httpapi.Public)
		}
	}
	var missing []string
	for key := range inTemplate {
		if !inRouter[key] {
			missing = append(missing, key)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("template routes the router does not serve: %v", missing)
	}
}

func TestEveryConfigVariableIsSetInGlobals(t *testing.T) {
	tmpl, _ := testutil.MustLoadTemplate(t)
	var globals struct {
		Function struct {
			Environment struct {
				Variables map[string]yaml.Node `yaml:"Variables"`
			} `yaml:"Environment"`
		} `yaml:"Function"`
	}
	if err := tmpl.Globals.Decode(&globals); err != nil {
		t.Fatal(err)
	}
	for _, v := range config.Variables {
		if _, ok := globals.Function.Environment.Variables[v.Name]; !ok {
			t.Errorf("config reads %s but Globals.Function.Environment does not set it", v.Name)
		}
	}
}

func TestEventSourcesAreWiredAsTheHandlersExpect(t *testing.T) {
	tmpl, _ := testutil.MustLoadTemplate(t)
	fns := functions(t, tmpl)

	if u := fns["WebhookFunction"].FunctionUrlConfig; u == nil || u.AuthType != "NONE" {
		t.Error("WebhookFunction needs a FunctionUrlConfig with AuthType NONE (WordPress cannot sign AWS requests)")
	}

	var sqsEvents int
	for _, ev := range fns["SyncWorkerFunction"].Events {
		if ev.Type != "SQS" {
			continue
		}
		sqsEvents++
		var p struct {
			BatchSize             int      `yaml:"BatchSize"`
			FunctionResponseTypes []string `yaml:"FunctionResponseTypes"`
		}
		if err := ev.Properties.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if len(p.FunctionResponseTypes) != 1 || p.FunctionResponseTypes[0] != "ReportBatchItemFailures" {
			t.Errorf("the sync worker returns partial batch failures; its SQS event needs FunctionResponseTypes [ReportBatchItemFailures], has %v", p.FunctionResponseTypes)
		}
		if p.BatchSize < 1 || p.BatchSize > 10 {
			t.Errorf("SQS BatchSize = %d, want 1–10", p.BatchSize)
		}
	}
	if sqsEvents != 1 {
		t.Errorf("SyncWorkerFunction has %d SQS events, want 1", sqsEvents)
	}

	var schedules int
	for _, ev := range fns["PublisherFunction"].Events {
		if ev.Type == "ScheduleV2" || ev.Type == "Schedule" {
			schedules++
		}
	}
	if schedules != 1 {
		t.Errorf("PublisherFunction has %d schedule events, want 1", schedules)
	}

	q, err := tmpl.Queue("SyncQueue")
	if err != nil {
		t.Fatal(err)
	}
	if q.DeadLetterQueue != "SyncDeadLetterQueue" || q.MaxReceiveCount < 1 {
		t.Errorf("SyncQueue redrive = %q after %d receives, want SyncDeadLetterQueue", q.DeadLetterQueue, q.MaxReceiveCount)
	}
}
