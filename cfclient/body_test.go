package cfclient

import (
	"strings"
	"testing"
)

func TestEncodeBody(t *testing.T) {
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"files plain", Request{Files: []File{{URL: "https://example.com/a"}, {URL: "http://example.com/b?x=1&y=<2>"}}},
			`{"files":["https://example.com/a","http://example.com/b?x=1&y=<2>"]}`},
		{"files empty headers stay plain", Request{Files: []File{{URL: "https://example.com/a", Headers: map[string]string{}}}},
			`{"files":["https://example.com/a"]}`},
		{"files with headers all objects", Request{Files: []File{
			{URL: "https://example.com/a"},
			{URL: "https://example.com/b", Headers: map[string]string{"CF-Device-Type": "mobile", "Accept-Language": "zh-CN"}},
		}}, `{"files":[{"url":"https://example.com/a"},{"url":"https://example.com/b","headers":{"Accept-Language":"zh-CN","CF-Device-Type":"mobile"}}]}`},
		{"tags", Request{Tags: []string{"post-42", "a&b"}}, `{"tags":["post-42","a&b"]}`},
		{"hosts", Request{Hosts: []string{"www.example.com"}}, `{"hosts":["www.example.com"]}`},
		{"prefixes", Request{Prefixes: []string{"www.example.com/blog"}}, `{"prefixes":["www.example.com/blog"]}`},
		{"everything", Request{Everything: true}, `{"purge_everything":true}`},
		{"empty slices ignored", Request{Everything: true, Tags: []string{}}, `{"purge_everything":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeBody(tt.req)
			if err != nil {
				t.Fatalf("encodeBody: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("encodeBody =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

func TestEncodeBodyRefuses(t *testing.T) {
	tests := []struct {
		name, want string
		req        Request
	}{
		{"empty", "no keys", Request{}},
		{"empty lists", "no keys", Request{Files: []File{}, Tags: []string{}}},
		{"files and tags", "mixes", Request{Files: []File{{URL: "https://example.com/"}}, Tags: []string{"t"}}},
		{"everything and hosts", "mixes", Request{Everything: true, Hosts: []string{"example.com"}}},
		{"tags hosts prefixes", "mixes", Request{Tags: []string{"t"}, Hosts: []string{"h"}, Prefixes: []string{"p"}}},
	}
	for _, tt := range tests {
		_, err := encodeBody(tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

func TestRequestLenType(t *testing.T) {
	tests := []struct {
		req  Request
		n    int
		kind string
	}{
		{Request{}, 0, "empty"},
		{Request{Everything: true}, 1, "purge_everything"},
		{Request{Files: make([]File, 3)}, 3, "files"},
		{Request{Tags: []string{"a", "b"}}, 2, "tags"},
		{Request{Hosts: []string{"a"}}, 1, "hosts"},
		{Request{Prefixes: []string{"a", "b", "c", "d"}}, 4, "prefixes"},
		{Request{Tags: []string{"a"}, Everything: true}, 2, "mixed"},
	}
	for _, tt := range tests {
		if got := tt.req.Len(); got != tt.n {
			t.Errorf("%+v Len = %d, want %d", tt.req, got, tt.n)
		}
		if got := tt.req.Type(); got != tt.kind {
			t.Errorf("%+v Type = %q, want %q", tt.req, got, tt.kind)
		}
	}
	if ModePurge.String() != "purge_cache" || ModeInvalidate.String() != "invalidate_cache" || Mode(9).String() != "unknown" {
		t.Errorf("Mode strings = %q, %q, %q", ModePurge, ModeInvalidate, Mode(9))
	}
}
