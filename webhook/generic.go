package webhook

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"reflect"
	"strings"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/purge-worker/purge-worker/config"
)

// CostLimit bounds the work of one evaluation of a generic hook's
// expression, in CEL's cost units (about one per operation, a list
// traversal costing its length), as Kubernetes does for its admission
// expressions: an expression over a delivery cannot run away.
const CostLimit = 1_000_000

// Generic verifies any sender with a bearer token, or with an HMAC of the
// body in a header of its choosing, and maps its JSON body with the hook's
// CEL expressions: urls, tags, hosts and prefixes, each a list of strings,
// and id, the delivery id, over the variables body and headers.
type Generic struct {
	secrets  secrets
	sig      config.Signature
	newHash  func() hash.Hash
	programs map[string]cel.Program
}

func newGeneric(s secrets, cfg config.Webhook) (*Generic, error) {
	g := &Generic{secrets: s, sig: cfg.Signature, programs: map[string]cel.Program{}}
	switch cfg.Signature.Algorithm {
	case "sha1":
		g.newHash = sha1.New
	case "sha512":
		g.newHash = sha512.New
	default:
		g.newHash = sha256.New
	}
	compiled := config.CompileCEL(cfg.CEL)
	for _, key := range sortedKeys(compiled.Errs) {
		return nil, fmt.Errorf("cel.%s: %w", key, compiled.Errs[key])
	}
	env, err := config.CELEnv()
	if err != nil {
		return nil, err
	}
	for key, ast := range compiled.ASTs {
		prg, err := env.Program(ast, cel.CostLimit(CostLimit))
		if err != nil {
			return nil, fmt.Errorf("cel.%s: %w", key, err)
		}
		g.programs[key] = prg
	}
	return g, nil
}

// Verify implements [Provider].
func (g *Generic) Verify(r *Request, _ time.Time) error {
	if g.sig.Header == "" {
		tok, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			return unverified("no Authorization: Bearer header")
		}
		if !g.secrets.anyEqual(tok) {
			return unverified("the bearer token is none of the hook's secrets")
		}
		return nil
	}
	h := strings.TrimSpace(r.Header.Get(g.sig.Header))
	if h == "" {
		return unverified("no %s header", g.sig.Header)
	}
	enc, ok := strings.CutPrefix(h, g.sig.Prefix)
	if !ok {
		return unverified("%s does not start with %q", g.sig.Header, g.sig.Prefix)
	}
	want, err := g.decode(enc)
	if err != nil || len(want) != g.newHash().Size() {
		return unverified("%s is not a %s %s HMAC", g.sig.Header, g.sig.Encoding, g.sig.Algorithm)
	}
	if !g.secrets.anyHMAC(g.newHash, want, r.Body) {
		return unverified("%s does not match the body under any secret", g.sig.Header)
	}
	return nil
}

func (g *Generic) decode(s string) ([]byte, error) {
	switch g.sig.Encoding {
	case "base64":
		return base64.StdEncoding.DecodeString(s)
	case "base64url":
		return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	}
	return hex.DecodeString(s)
}

// Map implements [Provider].
func (g *Generic) Map(r *Request) (Purge, error) {
	body, err := decodeJSON(r.Body)
	if err != nil {
		return Purge{}, payloadErr("body is not JSON: %v", err)
	}
	vars := map[string]any{"body": body, "headers": flatHeaders(r.Header)}
	var p Purge
	for key, dst := range map[string]*[]string{"urls": &p.URLs, "tags": &p.Tags, "hosts": &p.Hosts, "prefixes": &p.Prefixes} {
		prg, ok := g.programs[key]
		if !ok {
			continue
		}
		if *dst, err = evalStrings(prg, vars); err != nil {
			return Purge{}, payloadErr("cel.%s: %v", key, err)
		}
	}
	if prg, ok := g.programs["id"]; ok {
		out, _, err := prg.Eval(vars)
		if err != nil {
			return Purge{}, payloadErr("cel.id: %v", err)
		}
		id, ok := out.Value().(string)
		if !ok {
			return Purge{}, payloadErr("cel.id: gives %s, want a string", out.Type().TypeName())
		}
		p.DeliveryID = id
	}
	if p.items() == 0 {
		return ignore("the expressions gave nothing to purge")
	}
	return p, nil
}

var stringsType = reflect.TypeFor[[]string]()

func evalStrings(prg cel.Program, vars map[string]any) ([]string, error) {
	out, _, err := prg.Eval(vars)
	if err != nil {
		return nil, err
	}
	v, err := out.ConvertToNative(stringsType)
	if err != nil {
		return nil, fmt.Errorf("gives %s, want a list of strings", out.Type().TypeName())
	}
	return v.([]string), nil
}

// decodeJSON decodes one JSON value, refusing trailing data.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// flatHeaders gives CEL the headers with lower-cased names, repeated
// values joined with ", " as HTTP allows.
func flatHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	return out
}
