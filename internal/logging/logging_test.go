package logging

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestFormats(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "info", "auto")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	log.Info("shown", "zone", "example.com")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "shown" || rec["zone"] != "example.com" {
		t.Fatalf("auto on a buffer: %q (%v); want one JSON record at info", buf.String(), err)
	}

	buf.Reset()
	log, err = New(&buf, "debug", "text")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("plain", "k", "v")
	if out := buf.String(); !strings.Contains(out, "plain") || !strings.Contains(out, "k=v") || strings.Contains(out, "\x1b[") {
		t.Errorf("text on a buffer: %q; want the record without colour codes", out)
	}
}

// A pipe is a file but not a terminal: auto writes JSON to it.
func TestAutoOnAPipeIsJSON(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	log, err := New(w, "info", "auto")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("piped")
	w.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(out.Bytes()) {
		t.Errorf("auto on a pipe wrote %q; want JSON", out.String())
	}
}

func TestRefusesBadSettings(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "loud", "json"); err == nil || !strings.Contains(err.Error(), "log.level") {
		t.Errorf("level loud: %v; want an error naming log.level", err)
	}
	if _, err := New(&bytes.Buffer{}, "info", "xml"); err == nil || !strings.Contains(err.Error(), "log.format") {
		t.Errorf("format xml: %v; want an error naming log.format", err)
	}
}
