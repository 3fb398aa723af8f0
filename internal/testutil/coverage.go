package testutil

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
	"github.com/purge-worker/purge-worker/intent"
)

// This file is the tests' oracle of "was this purged": Cloudflare's rules,
// written from its documentation and RFC 3986, sharing no code with
// package intent (whose Covers and Bind the batcher uses, so that a mistake
// there would otherwise pass every check that relied on them). The rules:
//
//   - a files entry purges the same URL: scheme and host compared without
//     regard to case, a default port the same as none, an empty path the
//     same as "/", the fragment ignored, path and query byte for byte; and
//     the same request headers (names without regard to case);
//   - a host purges every URL and prefix on exactly that host (a URL with
//     an explicit port is on another authority), and the same host;
//   - a prefix P ("host/path", any scheme ignored) purges a URL, without its scheme, or a
//     prefix that starts with P followed by '/', '?' or the end, or with P
//     when P ends in '/'; any request headers;
//   - tags are compared without regard to case;
//   - purge_everything purges everything in the zone.
//
// Calls and intents must be of the same zone and endpoint; Coverage checks
// that.

// Target is one thing purged or asked to be purged, as the publisher or the
// request wrote it.
type Target struct {
	Kind    string // "files", "tags", "hosts", "prefixes" or "purge_everything"
	Value   string // URL, tag, host or prefix; empty for purge_everything
	Headers map[string]string
}

func (t Target) String() string {
	if len(t.Headers) == 0 {
		return t.Kind + " " + t.Value
	}
	return fmt.Sprintf("%s %s %v", t.Kind, t.Value, t.Headers)
}

// Purges reports whether a successful purge of by purges t, in one zone
// and endpoint, by Cloudflare's rules.
func Purges(by, t Target) bool {
	return purges(canon(by), canon(t))
}

// place is a Target in comparable form.
type place struct {
	kind    string
	scheme  string // files
	loc     string // files: authority and path; prefixes: host and path; hosts: host; tags: the tag
	host    string // the authority of files, prefixes and hosts
	headers string // files
}

// Key returns a string equal for two targets exactly when each purges the
// other, for counting distinct targets.
func (t Target) Key() string {
	p := canon(t)
	return strings.Join([]string{p.kind, p.scheme, p.loc, p.headers}, "\x00")
}

func canon(t Target) place {
	p := place{kind: t.Kind}
	switch t.Kind {
	case "files":
		p.scheme, p.host, p.loc = splitURL(t.Value)
		names := make([]string, 0, len(t.Headers))
		for n, v := range t.Headers {
			names = append(names, strings.ToLower(n)+": "+v)
		}
		slices.Sort(names)
		p.headers = strings.Join(names, "\n")
	case "hosts":
		p.host = hostName(t.Value)
		p.loc = p.host
	case "prefixes":
		h, path := splitPrefix(t.Value)
		p.host = hostName(h)
		p.loc = p.host + "/" + path
	case "tags":
		p.loc = strings.ToLower(t.Value)
	}
	return p
}

// splitURL returns the lowercased scheme, the authority (lowercased host,
// and a port unless it is the scheme's default) and the location: the
// authority followed by the path ("/" if empty) and the query.
func splitURL(u string) (scheme, authority, loc string) {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "", "", u
	}
	scheme = strings.ToLower(scheme)
	rest, _, _ = strings.Cut(rest, "#")
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	host, port, hasPort := strings.Cut(authority, ":")
	authority = hostName(host)
	if hasPort && !(scheme == "http" && port == "80" || scheme == "https" && port == "443") {
		authority += ":" + port
	}
	if !strings.HasPrefix(tail, "/") {
		tail = "/" + tail
	}
	return scheme, authority, authority + tail
}

// splitPrefix returns the host of a prefix and the path after its first
// '/'. Prefixes are scheme-less; a pasted URL's scheme is ignored.
func splitPrefix(v string) (host, path string) {
	if i := strings.Index(v, "://"); i >= 0 && !strings.Contains(v[:i], "/") {
		v = v[i+3:]
	}
	host, path, _ = strings.Cut(v, "/")
	return host, path
}

func hostName(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

func purges(by, t place) bool {
	switch by.kind {
	case "purge_everything":
		return true
	case "files":
		return t.kind == "files" && by == t
	case "tags":
		return t.kind == "tags" && by.loc == t.loc
	case "hosts":
		return (t.kind == "files" || t.kind == "prefixes" || t.kind == "hosts") && t.host == by.host
	case "prefixes":
		if t.kind != "files" && t.kind != "prefixes" {
			return false
		}
		rest, ok := strings.CutPrefix(t.loc, by.loc)
		return ok && (rest == "" || strings.HasSuffix(by.loc, "/") || rest[0] == '/' || rest[0] == '?')
	}
	return false
}

// Zone is a zone Cloudflare serves, by id and name.
type Zone struct{ ID, Name string }

// Coverage checks the calls Cloudflare accepted against the intents
// published, by Cloudflare's rules.
type Coverage struct{ zones []Zone }

// NewCoverage returns a Coverage for intents routed to zones.
func NewCoverage(zones ...Zone) *Coverage { return &Coverage{zones: zones} }

// Routed is a target of an intent with the zone and endpoint it belongs to.
type Routed struct {
	ZoneID   string
	Endpoint string // "purge_cache" or "invalidate_cache"
	Target
}

// Targets lists what in asks to purge, each with its zone: the intent's
// zone (a name or an id) or, for an intent without one, the zone whose
// name is the host or its longest parent domain.
func (cv *Coverage) Targets(in *intent.Intent) ([]Routed, error) {
	endpoint := "purge_cache"
	if in.Mode == "invalidate" {
		endpoint = "invalidate_cache"
	}
	var out []Routed
	add := func(t Target, host string) error {
		z, ok := cv.zoneOf(in.Zone, host)
		if !ok {
			return fmt.Errorf("no zone for %s (zone %q)", t, in.Zone)
		}
		out = append(out, Routed{ZoneID: z, Endpoint: endpoint, Target: t})
		return nil
	}
	var errs []error
	for _, f := range in.Files {
		_, authority, _ := splitURL(f.URL)
		host, _, _ := strings.Cut(authority, ":")
		errs = append(errs, add(Target{Kind: "files", Value: f.URL, Headers: f.Headers}, host))
	}
	for _, tag := range in.Tags {
		errs = append(errs, add(Target{Kind: "tags", Value: tag}, ""))
	}
	for _, h := range in.Hosts {
		errs = append(errs, add(Target{Kind: "hosts", Value: h}, hostName(h)))
	}
	for _, p := range in.Prefixes {
		h, _ := splitPrefix(p)
		errs = append(errs, add(Target{Kind: "prefixes", Value: p}, hostName(h)))
	}
	if in.PurgeEverything {
		errs = append(errs, add(Target{Kind: "purge_everything"}, ""))
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (cv *Coverage) zoneOf(zone, host string) (string, bool) {
	best := -1
	for i, z := range cv.zones {
		switch {
		case zone != "":
			if strings.EqualFold(zone, z.Name) || strings.EqualFold(zone, z.ID) {
				return strings.ToLower(z.ID), true
			}
		case host == z.Name || strings.HasSuffix(host, "."+z.Name):
			if best < 0 || len(z.Name) > len(cv.zones[best].Name) {
				best = i
			}
		}
	}
	if best < 0 {
		return "", false
	}
	return strings.ToLower(cv.zones[best].ID), true
}

// Uncovered returns the targets of in that no call in ix purged after
// after.
func (cv *Coverage) Uncovered(ix *CallIndex, in *intent.Intent, after time.Time) ([]Routed, error) {
	ts, err := cv.Targets(in)
	if err != nil {
		return nil, err
	}
	var out []Routed
	for _, t := range ts {
		if ok, _ := ix.Purged(t, after); !ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// CallIndex holds what accepted calls purged, by zone and endpoint, so that
// many targets can be checked against many calls.
type CallIndex struct {
	// latest arrival of a call that purged a target, by zone, endpoint
	// and Target.Key
	exact map[[3]string]time.Time
	// hosts, prefixes and purge_everything purged, by zone and endpoint,
	// with the latest arrival of each
	broad map[[2]string]map[string]broadPurge
}

type broadPurge struct {
	p  place
	at time.Time
}

// IndexCalls indexes the accepted calls among calls.
func IndexCalls(calls []cftest.Call) *CallIndex {
	ix := &CallIndex{exact: map[[3]string]time.Time{}, broad: map[[2]string]map[string]broadPurge{}}
	for _, c := range calls {
		if c.Outcome != cftest.OutcomeOK {
			continue
		}
		ze := [2]string{strings.ToLower(c.ZoneID), c.Endpoint}
		for _, t := range CallTargets(c) {
			key := t.Key()
			k := [3]string{ze[0], ze[1], key}
			if c.At.After(ix.exact[k]) {
				ix.exact[k] = c.At
			}
			if t.Kind == "files" || t.Kind == "tags" {
				continue
			}
			if ix.broad[ze] == nil {
				ix.broad[ze] = map[string]broadPurge{}
			}
			if b, ok := ix.broad[ze][key]; !ok || c.At.After(b.at) {
				ix.broad[ze][key] = broadPurge{canon(t), c.At}
			}
		}
	}
	return ix
}

// Purged reports whether an accepted call of t's zone and endpoint that
// arrived at or after after purged t, and whether it purged t itself
// rather than a host, prefix or the zone holding it.
func (ix *CallIndex) Purged(t Routed, after time.Time) (purged, exact bool) {
	zone := strings.ToLower(t.ZoneID)
	if at, ok := ix.exact[[3]string{zone, t.Endpoint, t.Key()}]; ok && !at.Before(after) {
		return true, true
	}
	want := canon(t.Target)
	for _, b := range ix.broad[[2]string{zone, t.Endpoint}] {
		if !b.at.Before(after) && purges(b.p, want) {
			return true, false
		}
	}
	return false, false
}

// CallTargets returns what a call cftest recorded asked to purge.
func CallTargets(c cftest.Call) []Target {
	switch c.Kind {
	case "purge_everything":
		return []Target{{Kind: "purge_everything"}}
	case "files", "tags", "hosts", "prefixes":
	default:
		return nil
	}
	out := make([]Target, 0, len(c.Keys))
	for _, k := range c.Keys {
		t := Target{Kind: c.Kind, Value: k}
		if c.Kind == "files" {
			// cftest writes a files entry's headers after its URL:
			// "URL Name: value; Name: value".
			if u, hs, ok := strings.Cut(k, " "); ok {
				t.Value, t.Headers = u, map[string]string{}
				for h := range strings.SplitSeq(hs, "; ") {
					n, v, _ := strings.Cut(h, ": ")
					t.Headers[n] = v
				}
			}
		}
		out = append(out, t)
	}
	return out
}
