package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the config file at path and parses it with [Parse], taking
// ${VAR} values from the process environment. Every error names the file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse builds a Config from the YAML in data: defaults first, then the keys
// data sets, with ${VAR} expanded from getenv (os.Getenv when nil) inside
// scalar values. An unset variable expands to "", so the shipped config runs
// as a dry run until CLOUDFLARE_API_TOKEN is set. Unknown keys, repeated
// keys, values of the wrong type and everything [Config.Validate] refuses are
// errors naming the key path; all of them are reported at once, joined.
//
// Parse then normalises the result, so that consumers can compare plainly:
// zone names and IDs are lowercased (a trailing dot is dropped from a name),
// a zone without an account gets the only configured account, and a trailing
// "/" is dropped from cloudflare.api_base_url. Each api_token_file is read
// (relative to the working directory) into the account's APIToken, trailing
// whitespace trimmed.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	root, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	cfg := Default()
	d := decoder{getenv: getenv, envRefs: make(map[string]string)}
	if root != nil {
		d.root(root, &cfg)
	}
	if len(d.errs) > 0 {
		// Validating a half-decoded config would add errors about values the
		// file never had.
		return nil, errors.Join(d.errs...)
	}
	cfg.envRefs = d.envRefs
	cfg.normalize()
	if err := errors.Join(cfg.readTokenFiles(), cfg.Validate()); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// parseYAML returns the single document of data, or nil when data holds no
// document at all (an empty file means "all defaults").
func parseYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return &doc, nil
	case err != nil:
		return nil, err
	}
	return nil, fmt.Errorf("line %d: a second YAML document; a config file holds exactly one", next.Line)
}

// root decodes a document node into cfg.
func (d *decoder) root(doc *yaml.Node, cfg *Config) {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errs = append(d.errs, fmt.Errorf("line %d: the config must be a mapping of keys, got %s", n.Line, kindName(n)))
		return
	}
	d.decode(n, reflect.ValueOf(cfg).Elem(), "")
}

// normalize puts values that have several spellings into one form, before
// Validate checks them and consumers compare them.
func (c *Config) normalize() {
	cf := &c.Cloudflare
	cf.APIBaseURL = strings.TrimRight(cf.APIBaseURL, "/")
	for i := range cf.Zones {
		z := &cf.Zones[i]
		z.Name = strings.TrimSuffix(strings.ToLower(z.Name), ".")
		z.ID = strings.ToLower(z.ID)
		if z.Account == "" && len(cf.Accounts) == 1 {
			z.Account = cf.Accounts[0].Name
		}
	}
}
