package samtemplate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrUnresolvable reports an intrinsic function or reference that the
// resolver cannot evaluate (an unknown resource attribute, Fn::ImportValue,
// a parameter without default). Callers that evaluate optional values (for
// example environment variables) skip values failing with it.
var ErrUnresolvable = errors.New("unresolvable template value")

// Resolver evaluates CloudFormation intrinsic functions the way a deployment
// would, with parameters taken from Parameters or else from the template's
// defaults and resources looked up through Resource. The local stack uses it
// to turn the template's !Ref/!GetAtt/!Sub values into local names and ARNs.
type Resolver struct {
	// Parameters override the template parameters' defaults.
	Parameters map[string]string
	// AccountID, Region, StackName and Partition answer the pseudo
	// parameters AWS::AccountId, AWS::Region, AWS::StackName and
	// AWS::Partition.
	AccountID string
	Region    string
	StackName string
	Partition string
	// Resource answers `!Ref id` (attr "") and `!GetAtt id.attr`. It returns
	// an error wrapping ErrUnresolvable for what it does not know.
	Resource func(logicalID, attr string) (string, error)
}

// Parameter returns the value of a parameter: the resolver's override, else
// the template default.
func (t *Template) Parameter(r *Resolver, name string) (string, bool) {
	if r != nil {
		if v, ok := r.Parameters[name]; ok {
			return v, true
		}
	}
	if p, ok := t.Parameters[name]; ok {
		return p.Default, true
	}
	return "", false
}

// ResolveString evaluates n and requires a string (numbers and booleans are
// returned in their YAML spelling).
func (t *Template) ResolveString(n *yaml.Node, r *Resolver) (string, error) {
	v, err := t.Eval(n, r)
	if err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "", nil
	default:
		return "", fmt.Errorf("expected a string, got %T at line %d", v, n.Line)
	}
}

// Eval evaluates a template node: scalars become strings, sequences []any,
// mappings map[string]any, and intrinsic functions are applied.
func (t *Template) Eval(n *yaml.Node, r *Resolver) (any, error) {
	if n == nil || n.Kind == 0 {
		return nil, nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return t.Eval(n.Content[0], r)
	}
	if n.Kind == yaml.AliasNode {
		return t.Eval(n.Alias, r)
	}
	if fn, arg, ok := intrinsic(n); ok {
		return t.apply(fn, arg, r)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := t.Eval(c, r)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := t.Eval(n.Content[i+1], r)
			if err != nil {
				return nil, err
			}
			out[n.Content[i].Value] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported YAML node kind %d at line %d", n.Kind, n.Line)
}

// intrinsic recognises the short (!Ref x) and long ({"Ref": x},
// {"Fn::Sub": …}) forms and returns the function name without "Fn::".
func intrinsic(n *yaml.Node) (string, *yaml.Node, bool) {
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		arg := *n
		arg.Tag = ""
		arg.Style = 0
		switch n.Kind {
		case yaml.ScalarNode:
			arg.Tag = "!!str"
		case yaml.SequenceNode:
			arg.Tag = "!!seq"
		case yaml.MappingNode:
			arg.Tag = "!!map"
		}
		return strings.TrimPrefix(n.Tag, "!"), &arg, true
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		k := n.Content[0].Value
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return strings.TrimPrefix(k, "Fn::"), n.Content[1], true
		}
	}
	return "", nil, false
}

func (t *Template) apply(fn string, arg *yaml.Node, r *Resolver) (any, error) {
	switch fn {
	case "Ref":
		return t.ref(arg.Value, r)
	case "GetAtt":
		id, attr, err := getAttParts(arg)
		if err != nil {
			return nil, err
		}
		return t.resource(r, id, attr)
	case "Sub":
		return t.sub(arg, r)
	case "Join":
		args, err := t.evalList(arg, r, 2)
		if err != nil {
			return nil, fmt.Errorf("Fn::Join: %w", err)
		}
		sep, _ := args[0].(string)
		parts, ok := args[1].([]any)
		if !ok {
			return nil, fmt.Errorf("Fn::Join: second argument must be a list")
		}
		ss := make([]string, 0, len(parts))
		for _, p := range parts {
			s, ok := p.(string)
			if !ok {
				return nil, fmt.Errorf("Fn::Join: element %v is not a string", p)
			}
			ss = append(ss, s)
		}
		return strings.Join(ss, sep), nil
	case "Select":
		args, err := t.evalList(arg, r, 2)
		if err != nil {
			return nil, fmt.Errorf("Fn::Select: %w", err)
		}
		i, err := strconv.Atoi(fmt.Sprint(args[0]))
		list, ok := args[1].([]any)
		if err != nil || !ok || i < 0 || i >= len(list) {
			return nil, fmt.Errorf("Fn::Select: bad index %v", args[0])
		}
		return list[i], nil
	case "Split":
		args, err := t.evalList(arg, r, 2)
		if err != nil {
			return nil, fmt.Errorf("Fn::Split: %w", err)
		}
		parts := strings.Split(fmt.Sprint(args[1]), fmt.Sprint(args[0]))
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	case "If":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) != 3 {
			return nil, fmt.Errorf("Fn::If needs [condition, then, else] at line %d", arg.Line)
		}
		ok, err := t.Condition(arg.Content[0].Value, r)
		if err != nil {
			return nil, err
		}
		if ok {
			return t.Eval(arg.Content[1], r)
		}
		return t.Eval(arg.Content[2], r)
	case "Equals", "Not", "And", "Or", "Condition":
		b, err := t.evalCondition(fn, arg, r)
		if err != nil {
			return nil, err
		}
		return strconv.FormatBool(b), nil
	}
	return nil, fmt.Errorf("intrinsic Fn::%s: %w", fn, ErrUnresolvable)
}

func (t *Template) evalList(arg *yaml.Node, r *Resolver, n int) ([]any, error) {
	v, err := t.Eval(arg, r)
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok || len(list) != n {
		return nil, fmt.Errorf("expected a list of %d arguments", n)
	}
	return list, nil
}

func (t *Template) ref(name string, r *Resolver) (any, error) {
	switch name {
	case "AWS::AccountId":
		return pick(r, func(r *Resolver) string { return r.AccountID }, "000000000000"), nil
	case "AWS::Region":
		return pick(r, func(r *Resolver) string { return r.Region }, "us-east-1"), nil
	case "AWS::StackName":
		return pick(r, func(r *Resolver) string { return r.StackName }, "igny8-integrations"), nil
	case "AWS::Partition":
		return pick(r, func(r *Resolver) string { return r.Partition }, "aws"), nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::NoValue":
		return nil, nil
	}
	if v, ok := t.Parameter(r, name); ok {
		return v, nil
	}
	return t.resource(r, name, "")
}

func pick(r *Resolver, f func(*Resolver) string, def string) string {
	if r != nil {
		if v := f(r); v != "" {
			return v
		}
	}
	return def
}

func (t *Template) resource(r *Resolver, id, attr string) (any, error) {
	if r == nil || r.Resource == nil {
		what := "!Ref " + id
		if attr != "" {
			what = "!GetAtt " + id + "." + attr
		}
		return nil, fmt.Errorf("%s: %w", what, ErrUnresolvable)
	}
	v, err := r.Resource(id, attr)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func getAttParts(arg *yaml.Node) (string, string, error) {
	switch arg.Kind {
	case yaml.ScalarNode:
		id, attr, ok := strings.Cut(arg.Value, ".")
		if !ok {
			return "", "", fmt.Errorf("Fn::GetAtt %q: want LogicalId.Attribute", arg.Value)
		}
		return id, attr, nil
	case yaml.SequenceNode:
		if len(arg.Content) == 2 {
			return arg.Content[0].Value, arg.Content[1].Value, nil
		}
	}
	return "", "", fmt.Errorf("Fn::GetAtt at line %d: want LogicalId.Attribute", arg.Line)
}

// sub implements Fn::Sub in both forms: "string" and [string, {var: value}].
func (t *Template) sub(arg *yaml.Node, r *Resolver) (any, error) {
	tmpl := arg
	vars := map[string]any{}
	if arg.Kind == yaml.SequenceNode {
		if len(arg.Content) != 2 {
			return nil, fmt.Errorf("Fn::Sub at line %d: want [string, map]", arg.Line)
		}
		tmpl = arg.Content[0]
		m, err := t.Eval(arg.Content[1], r)
		if err != nil {
			return nil, err
		}
		if mm, ok := m.(map[string]any); ok {
			vars = mm
		}
	}
	s := tmpl.Value
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		if strings.HasPrefix(rest, "!") { // ${!Literal}
			j := strings.Index(rest, "}")
			if j < 0 {
				return nil, fmt.Errorf("Fn::Sub: unterminated ${ in %q", tmpl.Value)
			}
			b.WriteString("${" + rest[1:j+1])
			s = rest[j+1:]
			continue
		}
		j := strings.Index(rest, "}")
		if j < 0 {
			return nil, fmt.Errorf("Fn::Sub: unterminated ${ in %q", tmpl.Value)
		}
		name := strings.TrimSpace(rest[:j])
		s = rest[j+1:]
		var v any
		var err error
		if x, ok := vars[name]; ok {
			v = x
		} else if id, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			v, err = t.resource(r, id, attr)
		} else {
			v, err = t.ref(name, r)
		}
		if err != nil {
			return nil, fmt.Errorf("Fn::Sub ${%s}: %w", name, err)
		}
		b.WriteString(fmt.Sprint(v))
	}
	return b.String(), nil
}

// Condition evaluates the named condition of the Conditions section.
func (t *Template) Condition(name string, r *Resolver) (bool, error) {
	n := mappingValue(&t.Conditions, name)
	if n == nil {
		return false, fmt.Errorf("condition %q: not declared", name)
	}
	fn, arg, ok := intrinsic(n)
	if !ok {
		return false, fmt.Errorf("condition %q: not an intrinsic function", name)
	}
	return t.evalCondition(fn, arg, r)
}

func (t *Template) evalCondition(fn string, arg *yaml.Node, r *Resolver) (bool, error) {
	switch fn {
	case "Condition":
		return t.Condition(arg.Value, r)
	case "Equals":
		args, err := t.evalList(arg, r, 2)
		if err != nil {
			return false, fmt.Errorf("Fn::Equals: %w", err)
		}
		return fmt.Sprint(args[0]) == fmt.Sprint(args[1]), nil
	case "Not", "And", "Or":
		if arg.Kind != yaml.SequenceNode || len(arg.Content) == 0 {
			return false, fmt.Errorf("intrinsic Fn::%s needs a list at line %d", fn, arg.Line)
		}
		vals := make([]bool, 0, len(arg.Content))
		for _, c := range arg.Content {
			cfn, carg, ok := intrinsic(c)
			if !ok {
				return false, fmt.Errorf("intrinsic Fn::%s: operand at line %d is not a condition", fn, c.Line)
			}
			b, err := t.evalCondition(cfn, carg, r)
			if err != nil {
				return false, err
			}
			vals = append(vals, b)
		}
		switch fn {
		case "Not":
			return !vals[0], nil
		case "And":
			for _, v := range vals {
				if !v {
					return false, nil
				}
			}
			return true, nil
		default:
			for _, v := range vals {
				if v {
					return true, nil
				}
			}
			return false, nil
		}
	}
	return false, fmt.Errorf("intrinsic Fn::%s is not a condition function: %w", fn, ErrUnresolvable)
}

// mappingValue returns the value node for key in a mapping node, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
