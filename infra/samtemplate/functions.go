package samtemplate

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Resource types the local stack understands.
const (
	TypeFunction = "AWS::Serverless::Function"
	TypeHttpApi  = "AWS::Serverless::HttpApi"
	TypeTable    = "AWS::DynamoDB::Table"
	TypeQueue    = "AWS::SQS::Queue"
	TypeSecret   = "AWS::SecretsManager::Secret"
)

// Event source types of AWS::Serverless::Function events.
const (
	EventHttpApi    = "HttpApi"
	EventSQS        = "SQS"
	EventScheduleV2 = "ScheduleV2"
	EventSchedule   = "Schedule"
)

// AuthNone is the authorizer name that turns authorization off for a route.
const AuthNone = "NONE"

// Function is an AWS::Serverless::Function with Globals applied and its
// values resolved.
type Function struct {
	LogicalID string
	Handler   string
	// Timeout is in seconds (SAM's default is 3).
	Timeout    int
	MemorySize int
	// Environment is Globals' variables overlaid with the function's. Values
	// the resolver could not evaluate are left out and named in
	// UnresolvedEnvironment.
	Environment           map[string]string
	UnresolvedEnvironment []string
	// FunctionURL is set when the function has a FunctionUrlConfig.
	FunctionURL *FunctionURLConfig
	// Events are the function's event sources in name order.
	Events []Event
}

// FunctionURLConfig is a function's FunctionUrlConfig.
type FunctionURLConfig struct {
	AuthType   string
	InvokeMode string
}

// Event is one event source of a function. Exactly one of the typed fields
// is set for the types the local stack runs; others keep only Name and Type.
type Event struct {
	Name     string
	Type     string
	HTTP     *HTTPAPIEvent
	SQS      *SQSEvent
	Schedule *ScheduleEvent
}

// HTTPAPIEvent is an HttpApi event: one route.
type HTTPAPIEvent struct {
	// ApiID is the logical ID of the AWS::Serverless::HttpApi, or "" for
	// SAM's implicit API.
	ApiID string
	// Method is upper case ("GET", "ANY"); Path is as written. Both are
	// empty for the $default route (an event with neither).
	Method string
	Path   string
	// Authorizer is the route's authorizer name: "" means the API's
	// DefaultAuthorizer, AuthNone means none.
	Authorizer          string
	AuthorizationScopes []string
	// TimeoutInMillis is the integration timeout (default 30000).
	TimeoutInMillis int
}

// IsDefaultRoute reports whether the event is the $default route.
func (e HTTPAPIEvent) IsDefaultRoute() bool { return e.Path == "" && e.Method == "" }

// RouteKey is API Gateway's route key for the event: "GET /path" or
// "$default".
func (e HTTPAPIEvent) RouteKey() string {
	if e.IsDefaultRoute() {
		return "$default"
	}
	return e.Method + " " + e.Path
}

// SQSEvent is an SQS event source mapping.
type SQSEvent struct {
	// Queue is the logical ID of the queue (from !GetAtt X.Arn), or the
	// resolved ARN when the queue is not in the template.
	Queue                          string
	BatchSize                      int
	MaximumBatchingWindowInSeconds int
	FunctionResponseTypes          []string
	// MaximumConcurrency is ScalingConfig.MaximumConcurrency (0 if unset).
	MaximumConcurrency int
	Enabled            bool
}

// ReportsBatchItemFailures reports whether FunctionResponseTypes contains
// ReportBatchItemFailures.
func (e SQSEvent) ReportsBatchItemFailures() bool {
	for _, t := range e.FunctionResponseTypes {
		if t == "ReportBatchItemFailures" {
			return true
		}
	}
	return false
}

// ScheduleEvent is a ScheduleV2 (EventBridge Scheduler) or Schedule
// (EventBridge rule) event.
type ScheduleEvent struct {
	Expression         string
	ExpressionTimezone string
	// Input is the resolved Input string ("" when the template has none).
	Input   string
	Enabled bool
}

type functionProps struct {
	Handler           string               `yaml:"Handler"`
	Timeout           yaml.Node            `yaml:"Timeout"`
	MemorySize        yaml.Node            `yaml:"MemorySize"`
	Environment       envProps             `yaml:"Environment"`
	FunctionURLConfig *functionURLProps    `yaml:"FunctionUrlConfig"`
	Events            map[string]eventNode `yaml:"Events"`
}

type envProps struct {
	Variables map[string]yaml.Node `yaml:"Variables"`
}

type functionURLProps struct {
	AuthType   yaml.Node `yaml:"AuthType"`
	InvokeMode string    `yaml:"InvokeMode"`
}

type eventNode struct {
	Type       string    `yaml:"Type"`
	Properties yaml.Node `yaml:"Properties"`
}

type globals struct {
	Function functionProps `yaml:"Function"`
	HttpApi  yaml.Node     `yaml:"HttpApi"`
}

func (t *Template) globals() (globals, error) {
	var g globals
	if t.Globals.Kind == 0 {
		return g, nil
	}
	if err := t.Globals.Decode(&g); err != nil {
		return g, fmt.Errorf("decode Globals: %w", err)
	}
	return g, nil
}

// Functions returns every AWS::Serverless::Function, sorted by logical ID,
// with Globals applied and values resolved through r.
func (t *Template) Functions(r *Resolver) ([]Function, error) {
	g, err := t.globals()
	if err != nil {
		return nil, err
	}
	ids := t.ResourcesOfType(TypeFunction)
	sort.Strings(ids)
	out := make([]Function, 0, len(ids))
	for _, id := range ids {
		f, err := t.function(id, g.Function, r)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", id, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// Function returns one function by logical ID.
func (t *Template) Function(id string, r *Resolver) (Function, error) {
	g, err := t.globals()
	if err != nil {
		return Function{}, err
	}
	if res, ok := t.Resources[id]; !ok || res.Type != TypeFunction {
		return Function{}, fmt.Errorf("template has no %s %q", TypeFunction, id)
	}
	return t.function(id, g.Function, r)
}

func (t *Template) function(id string, g functionProps, r *Resolver) (Function, error) {
	var p functionProps
	if err := t.Decode(id, &p); err != nil {
		return Function{}, err
	}
	f := Function{LogicalID: id, Handler: firstNonEmpty(p.Handler, g.Handler), Timeout: 3, MemorySize: 128, Environment: map[string]string{}}
	for _, c := range []struct {
		dst  *int
		vals []*yaml.Node
		name string
	}{{&f.Timeout, []*yaml.Node{&p.Timeout, &g.Timeout}, "Timeout"}, {&f.MemorySize, []*yaml.Node{&p.MemorySize, &g.MemorySize}, "MemorySize"}} {
		for _, n := range c.vals {
			if n.Kind == 0 {
				continue
			}
			v, err := t.intValue(n, r)
			if err != nil {
				return Function{}, fmt.Errorf("%s: %w", c.name, err)
			}
			*c.dst = v
			break
		}
	}
	for _, vars := range []map[string]yaml.Node{g.Environment.Variables, p.Environment.Variables} {
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			n := vars[k]
			s, err := t.ResolveString(&n, r)
			if err != nil {
				f.UnresolvedEnvironment = append(f.UnresolvedEnvironment, k)
				delete(f.Environment, k)
				continue
			}
			f.Environment[k] = s
		}
	}
	if p.FunctionURLConfig != nil {
		auth, err := t.ResolveString(&p.FunctionURLConfig.AuthType, r)
		if err != nil {
			return Function{}, fmt.Errorf("FunctionUrlConfig.AuthType: %w", err)
		}
		f.FunctionURL = &FunctionURLConfig{AuthType: auth, InvokeMode: p.FunctionURLConfig.InvokeMode}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Events)) {
		ev, err := t.event(name, p.Events[name], r)
		if err != nil {
			return Function{}, fmt.Errorf("event %s: %w", name, err)
		}
		f.Events = append(f.Events, ev)
	}
	return f, nil
}

func (t *Template) event(name string, n eventNode, r *Resolver) (Event, error) {
	ev := Event{Name: name, Type: n.Type}
	switch n.Type {
	case EventHttpApi:
		var p struct {
			ApiID  yaml.Node `yaml:"ApiId"`
			Path   string    `yaml:"Path"`
			Method string    `yaml:"Method"`
			Auth   struct {
				Authorizer          string   `yaml:"Authorizer"`
				AuthorizationScopes []string `yaml:"AuthorizationScopes"`
			} `yaml:"Auth"`
			TimeoutInMillis int `yaml:"TimeoutInMillis"`
		}
		if err := decodeOptional(&n.Properties, &p); err != nil {
			return ev, err
		}
		api := ""
		if p.ApiID.Kind != 0 {
			if fn, arg, ok := intrinsic(&p.ApiID); ok && fn == "Ref" {
				api = arg.Value
			} else {
				api = p.ApiID.Value
			}
		}
		method := strings.ToUpper(p.Method)
		if method == "" && p.Path != "" {
			method = "ANY"
		}
		if (p.Path == "") != (p.Method == "") {
			return ev, errors.New("HttpApi event needs both Path and Method, or neither for the $default route")
		}
		timeout := p.TimeoutInMillis
		if timeout == 0 {
			timeout = 30000
		}
		ev.HTTP = &HTTPAPIEvent{ApiID: api, Method: method, Path: p.Path, Authorizer: p.Auth.Authorizer,
			AuthorizationScopes: p.Auth.AuthorizationScopes, TimeoutInMillis: timeout}
	case EventSQS:
		var p struct {
			Queue                          yaml.Node `yaml:"Queue"`
			BatchSize                      yaml.Node `yaml:"BatchSize"`
			MaximumBatchingWindowInSeconds yaml.Node `yaml:"MaximumBatchingWindowInSeconds"`
			FunctionResponseTypes          []string  `yaml:"FunctionResponseTypes"`
			ScalingConfig                  struct {
				MaximumConcurrency yaml.Node `yaml:"MaximumConcurrency"`
			} `yaml:"ScalingConfig"`
			Enabled yaml.Node `yaml:"Enabled"`
		}
		if err := decodeOptional(&n.Properties, &p); err != nil {
			return ev, err
		}
		q := &SQSEvent{BatchSize: 10, FunctionResponseTypes: p.FunctionResponseTypes, Enabled: true}
		if fn, arg, ok := intrinsic(&p.Queue); ok && fn == "GetAtt" {
			id, _, err := getAttParts(arg)
			if err != nil {
				return ev, err
			}
			q.Queue = id
		} else {
			s, err := t.ResolveString(&p.Queue, r)
			if err != nil {
				return ev, fmt.Errorf("Queue: %w", err)
			}
			q.Queue = s
		}
		for _, c := range []struct {
			dst *int
			n   *yaml.Node
		}{{&q.BatchSize, &p.BatchSize}, {&q.MaximumBatchingWindowInSeconds, &p.MaximumBatchingWindowInSeconds}, {&q.MaximumConcurrency, &p.ScalingConfig.MaximumConcurrency}} {
			if c.n.Kind == 0 {
				continue
			}
			v, err := t.intValue(c.n, r)
			if err != nil {
				return ev, err
			}
			*c.dst = v
		}
		if p.Enabled.Kind != 0 {
			s, err := t.ResolveString(&p.Enabled, r)
			if err != nil {
				return ev, fmt.Errorf("property Enabled: %w", err)
			}
			q.Enabled = s != "false"
		}
		ev.SQS = q
	case EventScheduleV2, EventSchedule:
		var p struct {
			ScheduleExpression         yaml.Node `yaml:"ScheduleExpression"`
			Schedule                   yaml.Node `yaml:"Schedule"`
			ScheduleExpressionTimezone yaml.Node `yaml:"ScheduleExpressionTimezone"`
			Input                      yaml.Node `yaml:"Input"`
			State                      yaml.Node `yaml:"State"`
			Enabled                    yaml.Node `yaml:"Enabled"`
		}
		if err := decodeOptional(&n.Properties, &p); err != nil {
			return ev, err
		}
		exprNode := &p.ScheduleExpression
		if n.Type == EventSchedule {
			exprNode = &p.Schedule
		}
		expr, err := t.ResolveString(exprNode, r)
		if err != nil {
			return ev, fmt.Errorf("schedule expression: %w", err)
		}
		tz, err := t.ResolveString(&p.ScheduleExpressionTimezone, r)
		if err != nil {
			return ev, fmt.Errorf("ScheduleExpressionTimezone: %w", err)
		}
		input, err := t.ResolveString(&p.Input, r)
		if err != nil {
			return ev, fmt.Errorf("property Input: %w", err)
		}
		state, err := t.ResolveString(&p.State, r)
		if err != nil {
			return ev, fmt.Errorf("property State: %w", err)
		}
		enabled, err := t.ResolveString(&p.Enabled, r)
		if err != nil {
			return ev, fmt.Errorf("property Enabled: %w", err)
		}
		ev.Schedule = &ScheduleEvent{Expression: expr, ExpressionTimezone: tz, Input: input,
			Enabled: !strings.EqualFold(state, "DISABLED") && enabled != "false"}
	}
	return ev, nil
}

func decodeOptional(n *yaml.Node, v any) error {
	if n.Kind == 0 {
		return nil
	}
	if err := n.Decode(v); err != nil {
		return fmt.Errorf("decode properties: %w", err)
	}
	return nil
}

func (t *Template) intValue(n *yaml.Node, r *Resolver) (int, error) {
	s, err := t.ResolveString(n, r)
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return v, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// JWTAuthorizer is an OAuth2/JWT authorizer of an HttpApi.
type JWTAuthorizer struct {
	Name                string
	IdentitySource      string
	AuthorizationScopes []string
	// Issuer and Audience are resolved when the resolver can; the local
	// stack replaces them with its own issuer and audience anyway.
	Issuer   string
	Audience []string
}

// HTTPAPI is an AWS::Serverless::HttpApi's authorization setup.
type HTTPAPI struct {
	LogicalID         string
	DefaultAuthorizer string
	Authorizers       map[string]JWTAuthorizer
}

// HTTPAPIs returns the template's AWS::Serverless::HttpApi resources,
// sorted by logical ID.
func (t *Template) HTTPAPIs(r *Resolver) ([]HTTPAPI, error) {
	ids := t.ResourcesOfType(TypeHttpApi)
	sort.Strings(ids)
	var out []HTTPAPI
	for _, id := range ids {
		var p struct {
			Auth struct {
				DefaultAuthorizer string `yaml:"DefaultAuthorizer"`
				Authorizers       map[string]struct {
					IdentitySource      string               `yaml:"IdentitySource"`
					AuthorizationScopes []string             `yaml:"AuthorizationScopes"`
					JwtConfiguration    map[string]yaml.Node `yaml:"JwtConfiguration"`
				} `yaml:"Authorizers"`
			} `yaml:"Auth"`
		}
		if err := t.Decode(id, &p); err != nil {
			return nil, err
		}
		api := HTTPAPI{LogicalID: id, DefaultAuthorizer: p.Auth.DefaultAuthorizer, Authorizers: map[string]JWTAuthorizer{}}
		for name, a := range p.Auth.Authorizers {
			ja := JWTAuthorizer{Name: name, IdentitySource: a.IdentitySource, AuthorizationScopes: a.AuthorizationScopes}
			if ja.IdentitySource == "" {
				ja.IdentitySource = "$request.header.Authorization"
			}
			for k, v := range a.JwtConfiguration {
				v := v
				switch strings.ToLower(k) {
				case "issuer":
					if s, err := t.ResolveString(&v, r); err == nil {
						ja.Issuer = s
					}
				case "audience":
					if val, err := t.Eval(&v, r); err == nil {
						switch x := val.(type) {
						case []any:
							for _, e := range x {
								ja.Audience = append(ja.Audience, fmt.Sprint(e))
							}
						case string:
							ja.Audience = append(ja.Audience, x)
						}
					}
				}
			}
			api.Authorizers[name] = ja
		}
		out = append(out, api)
	}
	return out, nil
}

// Secret is an AWS::SecretsManager::Secret.
type Secret struct {
	LogicalID   string
	Name        string
	Description string
}

// Secrets returns the template's secrets with their names resolved,
// skipping secrets whose Condition is false.
func (t *Template) Secrets(r *Resolver) ([]Secret, error) {
	ids := t.ResourcesOfType(TypeSecret)
	sort.Strings(ids)
	var out []Secret
	for _, id := range ids {
		if c := t.Resources[id].Condition; c != "" {
			ok, err := t.Condition(c, r)
			if err != nil {
				return nil, fmt.Errorf("secret %s: %w", id, err)
			}
			if !ok {
				continue
			}
		}
		var p struct {
			Name        yaml.Node `yaml:"Name"`
			Description yaml.Node `yaml:"Description"`
		}
		if err := t.Decode(id, &p); err != nil {
			return nil, err
		}
		name, err := t.ResolveString(&p.Name, r)
		if err != nil {
			return nil, fmt.Errorf("secret %s Name: %w", id, err)
		}
		desc, _ := t.ResolveString(&p.Description, r)
		out = append(out, Secret{LogicalID: id, Name: name, Description: desc})
	}
	return out, nil
}
