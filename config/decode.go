package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var durationType = reflect.TypeFor[time.Duration]()

// decoder fills a Config from a parsed YAML tree. It takes the place of
// yaml.v3's own decoding, whose errors neither name the key path nor keep a
// secret's text out of the message ("cannot unmarshal !!str `...`"). Walking
// the tree against the Go types also makes the rules easy to state:
//
//   - a key that no field declares is refused, and so is a repeated key;
//   - ${VAR} is expanded in scalar values only, after parsing, so a variable
//     holding newlines or colons cannot add keys;
//   - an empty value (`key:` or `key: ~`) keeps the default, as in yaml.v3;
//   - aliases and merge keys are refused: a config this small does not need
//     them, and following them would let a short file expand exponentially.
//
// yaml.v3's Decoder.KnownFields was tried in its place and does not fit:
// it decodes bytes, not the expanded tree, so the tree would have to be
// encoded again and every line number in its errors mapped back; it
// silently truncates 1.5 into an int field (max_ack_pending: 1.5 becomes
// 1); and its errors quote the first 7 characters of a bad value, a secret
// included, and echo unknown and repeated key names, so each message would
// have to be parsed and rewritten. Walking the tree states the rules above
// in less code than that.
type decoder struct {
	getenv  func(string) string
	envRefs map[string]string // key path -> the ${VAR} references of its value
	errs    []error
}

func (d *decoder) errorf(path string, n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, fmt.Errorf("%s: line %d: %s", path, n.Line, fmt.Sprintf(format, args...)))
}

// decode stores node n into v, whose key path is path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		d.errorf(path, n, "YAML aliases are not supported; write the value out")
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(path, n, "want a mapping of keys, got %s", kindName(n))
		return
	}
	fields, keys := fieldIndex(v.Type())
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		name, ok := d.key(k, path)
		if !ok {
			continue
		}
		keyPath := joinKey(path, name)
		if first, dup := seen[name]; dup {
			d.errorf(keyPath, k, "duplicate key (first at line %d)", first)
			continue
		}
		seen[name] = k.Line
		idx, known := fields[name]
		if !known {
			d.errorf(keyPath, k, "unknown key; valid keys here: %s", strings.Join(keys, ", "))
			continue
		}
		d.decode(val, v.Field(idx), keyPath)
	}
}

// key returns the name of mapping key k. A key that does not look like a key
// name is not quoted in the error: a mis-indented or mis-spaced line such as
// "{api_token:abc}" turns a secret into a key.
func (d *decoder) key(k *yaml.Node, path string) (string, bool) {
	where := path
	if where == "" {
		where = "config"
	}
	switch {
	case k.Kind != yaml.ScalarNode:
		d.errorf(where, k, "a key must be a plain name, got %s", kindName(k))
	case k.Value == "<<":
		d.errorf(where, k, "YAML merge keys (<<) are not supported")
	case !isKeyName(k.Value):
		d.errorf(where, k, "unknown key (not shown: it does not look like a key name)")
	default:
		return k.Value, true
	}
	return "", false
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(path, n, "want a list, got %s", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

// scalar stores the expanded text of n into v. Secrets are only ever stored
// as text, so no error below can quote one.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(path, n, "want %s, got %s", typeName(v.Type()), kindName(n))
		return
	}
	text, refs, err := expand(n.Value, d.getenv)
	if err != nil {
		d.errorf(path, n, "%v", err)
		return
	}
	if len(refs) > 0 {
		d.envRefs[path] = strings.Join(slices.Compact(refs), ", ")
	}
	shown := show(d.envRefs, path, text)
	switch {
	case v.Type() == durationType:
		dur, ok := parseDuration(text)
		if !ok {
			d.errorf(path, n, "want a duration with a unit such as \"30s\" or \"500ms\", got %s", shown)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.String:
		v.SetString(text)
	case v.Kind() == reflect.Int:
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil || v.OverflowInt(i) {
			d.errorf(path, n, "want an integer, got %s", shown)
			return
		}
		v.SetInt(i)
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(path, n, "want a number, got %s", shown)
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(path, n, "internal error: no decoder for %s", v.Type())
	}
}

// parseDuration parses a Go duration. A bare number is refused, "0" included,
// because its unit would be a guess.
func parseDuration(s string) (time.Duration, bool) {
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// fieldIndex maps the YAML keys of struct type t to field indexes, and lists
// the keys in declaration order for error messages.
func fieldIndex(t reflect.Type) (map[string]int, []string) {
	idx := make(map[string]int, t.NumField())
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		idx[name] = i
		keys = append(keys, name)
	}
	return idx, keys
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// maxShownKey is the longest unknown key an error quotes: a little more than
// the longest valid key (20 bytes), and well short of a Cloudflare API token
// (40 bytes).
const maxShownKey = 32

// isKeyName reports whether s could be a misspelt config key, and so is safe
// and useful to quote: no valid key has a digit or is longer than
// maxShownKey, while tokens and keys pasted into a key position (a
// Cloudflare API token is 40 characters of letters, digits, '_' and '-';
// a Global API key 37 hex digits) are long and almost surely hold a digit.
func isKeyName(s string) bool {
	if s == "" || len(s) > maxShownKey {
		return false
	}
	for _, r := range s {
		if r != '_' && r != '-' && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a single value"
}

func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration such as "30s"`
	case t.Kind() == reflect.Int:
		return "an integer"
	case t.Kind() == reflect.Float64:
		return "a number"
	}
	return "a string"
}
