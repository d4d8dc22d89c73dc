// Package samtemplate reads template.yaml, the single description of the
// service's AWS resources, so that the local stack and the tests create the
// same table and queues that SAM deploys, and the template test can compare
// the template with the code. CloudFormation tags (!Ref, !GetAtt, !Sub) are
// kept on the parsed nodes; values that are intrinsic functions are left to
// the caller to resolve.
package samtemplate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Template is a parsed SAM template.
type Template struct {
	Globals    yaml.Node            `yaml:"Globals"`
	Parameters map[string]Parameter `yaml:"Parameters"`
	Conditions yaml.Node            `yaml:"Conditions"`
	Resources  map[string]*Resource `yaml:"Resources"`
	Outputs    yaml.Node            `yaml:"Outputs"`
}

// Parameter is a template parameter.
type Parameter struct {
	Type          string   `yaml:"Type"`
	Default       string   `yaml:"Default"`
	AllowedValues []string `yaml:"AllowedValues"`
	Description   string   `yaml:"Description"`
}

// Resource is one resource; Properties and Metadata stay as nodes so each
// resource type decodes what it needs.
type Resource struct {
	Type       string    `yaml:"Type"`
	Condition  string    `yaml:"Condition"`
	Properties yaml.Node `yaml:"Properties"`
	Metadata   yaml.Node `yaml:"Metadata"`
}

// Load parses the template at path.
func Load(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return Parse(b)
}

// Parse parses template bytes.
func Parse(b []byte) (*Template, error) {
	var t Template
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	return &t, nil
}

// FindRepoFile walks up from the working directory to the folder holding
// go.mod and returns name joined to it, so tests in any package and the local
// stack started from any folder find template.yaml.
func FindRepoFile(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, name), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory, cannot find %s", name)
		}
		dir = parent
	}
}

// ResourcesOfType returns the logical IDs of the resources of one type.
func (t *Template) ResourcesOfType(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	return ids
}

// Decode decodes a resource's Properties into v.
func (t *Template) Decode(id string, v any) error {
	r, ok := t.Resources[id]
	if !ok {
		return fmt.Errorf("template has no resource %q", id)
	}
	if r.Properties.Kind == 0 {
		return nil
	}
	if err := r.Properties.Decode(v); err != nil {
		return fmt.Errorf("decode properties of %s: %w", id, err)
	}
	return nil
}
