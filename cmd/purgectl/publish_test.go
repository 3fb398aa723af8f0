package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

func TestPublishFlagErrors(t *testing.T) {
	dead := "nats://" + testutil.FreeAddr(t)
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  []string
	}{
		{"nothing to publish", "", []string{"publish", "--zone", "example.com"}, 1, []string{"nothing to publish"}},
		{"-f with item flags", "", []string{"publish", "-f", "-", "--url", "https://www.example.com/"}, 1, []string{"either as flags or with -f"}},
		{"--urls without -f", "", []string{"publish", "--urls", "--url", "https://www.example.com/"}, 1, []string{"--urls needs -f"}},
		{"stray argument", "", []string{"publish", "--zone", "example.com", "https://www.example.com/"}, 1, []string{"unexpected argument", "https://www.example.com/"}},
		{"unknown flag", "", []string{"publish", "--nope"}, 2, []string{"-nope", "Usage of publish"}},
		{"bad URL on line 4", "https://www.example.com/a\n# a comment\n\nftp://www.example.com/b\n", []string{"publish", "-f", "-", "--urls", "--zone", "example.com"}, 1, []string{"line 4", "ftp://www.example.com/b"}},
		{"no URLs in the list", "# only a comment\n\n", []string{"publish", "-f", "-", "--urls"}, 1, []string{"no URLs"}},
		{"empty input", "  \n", []string{"publish", "-f", "-"}, 1, []string{"empty input"}},
		{"missing file", "", []string{"publish", "-f", "/nonexistent/intents.json"}, 1, []string{"/nonexistent/intents.json"}},
		{"invalid JSON line", `{"zone":"example.com","tags":["a"]}` + "\n" + `{"zone":"example.com","tags":[` + "\n", []string{"publish", "-f", "-"}, 1, []string{"intent 2"}},
		{"unknown field", `{"zone":"example.com","tgas":["a"]}`, []string{"publish", "-f", "-"}, 1, []string{"intent 1", "tgas"}},
		// Validation happens before connecting, so nothing is half published.
		{"invalid tag", "", []string{"publish", "--server", dead, "--zone", "example.com", "--tag", "bad tag"}, 1, []string{"intent 1", "tags[0]", "nothing was published"}},
		{"invalid second intent", `{"zone":"example.com","tags":["a"]}` + "\n" + `{"zone":"example.com","files":["https://other.org/"]}`, []string{"publish", "--server", dead, "-f", "-"}, 1, []string{"intent 2", "files[0]", "nothing was published"}},
		{"unreachable server", "", []string{"publish", "--server", dead, "--zone", "example.com", "--tag", "a"}, 1, []string{dead}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			purgectl(t, c.stdin, c.args...).wantFail(t, c.code, c.want...)
		})
	}
}

func TestDecodeIntents(t *testing.T) {
	one := `{"zone":"example.com","files":["https://www.example.com/1"]}`
	two := `{"zone":"example.com","tags":["t2"],"id":"two"}`
	cases := map[string]string{
		"object":           one,
		"array":            "[" + one + ",\n " + two + "]",
		"JSON lines":       one + "\n" + two + "\n",
		"concatenated":     one + two,
		"padded JSON line": "\n\n  " + one + "  \n\n" + two + "\n\n",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := decodeIntents([]byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Zone != "example.com" || len(got[0].Files) != 1 || got[0].Files[0].URL != "https://www.example.com/1" {
				t.Errorf("first intent %+v", got[0])
			}
			if name != "object" && (len(got) != 2 || got[1].ID != "two" || got[1].Tags[0] != "t2") {
				t.Errorf("got %d intents, second %+v; want 2", len(got), got[len(got)-1])
			}
		})
	}
	for name, in := range map[string]string{
		"empty":            "",
		"blank":            " \n\t",
		"bad array":        "[" + one + ",]",
		"array of numbers": "[1]",
		"duplicate field":  `{"zone":"example.com","zone":"example.com","tags":["a"]}`,
		"truncated line":   one + "\n{",
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			if got, err := decodeIntents([]byte(in)); err == nil {
				t.Errorf("decoded %+v, want an error", got)
			}
		})
	}
}

func TestURLListIsSplitIntoIntentsOf500(t *testing.T) {
	var b strings.Builder
	b.WriteString("# generated\n\n")
	for i := range 1201 {
		fmt.Fprintf(&b, "  https://www.example.com/p/%d  \n", i)
		if i%100 == 0 {
			b.WriteString("# a comment\n\n")
		}
	}
	f := &publishFlags{zone: "example.com", mode: "invalidate", source: "ci", id: "build-7"}
	got, err := f.fromURLList([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{}
	n := 0
	for i, in := range got {
		sizes = append(sizes, len(in.Files))
		if in.Zone != "example.com" || in.Mode != "invalidate" || in.Source != "ci" {
			t.Errorf("intent %d: %+v lost the flags", i, in)
		}
		if want := fmt.Sprintf("build-7-%d", i+1); in.ID != want {
			t.Errorf("intent %d has id %q, want %q", i, in.ID, want)
		}
		for _, file := range in.Files {
			if want := fmt.Sprintf("https://www.example.com/p/%d", n); file.URL != want {
				t.Fatalf("URL %d is %q, want %q (order kept, spaces trimmed)", n, file.URL, want)
			}
			n++
		}
		if err := in.Validate(); err != nil {
			t.Errorf("intent %d: %v", i, err)
		}
	}
	if fmt.Sprint(sizes) != "[500 500 201]" {
		t.Errorf("intent sizes %v, want [500 500 201]", sizes)
	}
}

func TestURLListWithoutIDLeavesIDsToPublish(t *testing.T) {
	f := &publishFlags{source: "purgectl"}
	got, err := f.fromURLList([]byte("https://www.example.com/a\nhttps://www.example.com/a\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Files) != 2 || got[0].ID != "" {
		t.Errorf("got %+v, want one intent of both lines (the worker dedupes) without an id", got)
	}
}

var storedLine = regexp.MustCompile(`(?m)^stored PURGE seq=(\d+) id=(\S+) items=(\d+)`)

func TestPublishFromFlagsStoresWithMsgID(t *testing.T) {
	e := newNATS(t)
	r := purgectl(t, "", "publish", "--server", e.url, "--zone", "example.com",
		"--url", "https://www.example.com/a", "--url", "https://www.example.com/b", "--tag", "post-1", "--source", "test")
	r.wantOK(t)
	m := storedLine.FindStringSubmatch(r.stdout)
	if m == nil || m[1] != "1" || m[3] != "3" {
		t.Fatalf("stdout %q: want a stored line for seq 1 with 3 items", r.stdout)
	}
	if !strings.Contains(r.stdout, "published 1 intents (3 items)") {
		t.Errorf("stdout %q lacks the summary", r.stdout)
	}
	stored := msgs(t, e.st)
	if len(stored) != 1 {
		t.Fatalf("%d messages stored, want 1", len(stored))
	}
	if got := stored[0].Header.Get(nats.MsgIdHdr); got != m[2] {
		t.Errorf("Nats-Msg-Id %q, want the printed id %q", got, m[2])
	}
	if stored[0].Subject != "purge.example_com" {
		t.Errorf("subject %q", stored[0].Subject)
	}
	in, err := intent.Decode(stored[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Files) != 2 || len(in.Tags) != 1 || in.Source != "test" || in.ID != m[2] {
		t.Errorf("stored intent %+v", in)
	}
}

func TestPublishRepeatedIDIsReportedAsDuplicate(t *testing.T) {
	e := newNATS(t)
	args := []string{"publish", "--server", e.url, "--zone", "example.com", "--tag", "a", "--id", "deploy-42"}
	purgectl(t, "", args...).wantOK(t)
	r := purgectl(t, "", args...)
	r.wantOK(t)
	if !strings.Contains(r.stdout, "duplicate") {
		t.Errorf("stdout %q should say the id was a duplicate", r.stdout)
	}
	if n := len(msgs(t, e.st)); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

func TestPublishFromStdin(t *testing.T) {
	e := newNATS(t)
	lines := `{"zone":"example.com","files":["https://www.example.com/1"]}
{"files":["https://www.example.com/2"],"mode":"invalidate"}
{"zone":"023e105f4ecef8ad9ca31a8372d0c353","purge_everything":true}
`
	r := purgectl(t, lines, "publish", "--server", e.url, "-f", "-", "-q")
	r.wantOK(t)
	if storedLine.MatchString(r.stdout) {
		t.Errorf("-q printed per-intent lines: %q", r.stdout)
	}
	if !strings.Contains(r.stdout, "published 3 intents (3 items)") {
		t.Errorf("stdout %q", r.stdout)
	}
	stored := msgs(t, e.st)
	if len(stored) != 3 {
		t.Fatalf("%d messages stored, want 3", len(stored))
	}
	ids := map[string]bool{}
	for _, m := range stored {
		ids[m.Header.Get(nats.MsgIdHdr)] = true
	}
	if len(ids) != 3 || ids[""] {
		t.Errorf("message ids %v, want 3 distinct ids", ids)
	}
}

func TestPublishURLListFromStdin(t *testing.T) {
	e := newNATS(t)
	list := "# purge after deploy\nhttps://www.example.com/a\n\nhttps://www.example.com/b\nhttps://www.example.com/a\n"
	r := purgectl(t, list, "publish", "--server", e.url, "--zone", "example.com", "-f", "-", "--urls")
	r.wantOK(t)
	stored := msgs(t, e.st)
	if len(stored) != 1 {
		t.Fatalf("%d messages stored, want 1", len(stored))
	}
	in, err := intent.Decode(stored[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Files) != 3 {
		t.Errorf("stored %d files, want the 3 URL lines", len(in.Files))
	}
}

func TestPublishReportsWhatWasNotStored(t *testing.T) {
	e := newNATS(t)
	r := purgectl(t, "", "publish", "--server", e.url, "--zone", "example.com", "--tag", "a")
	r.wantOK(t)
	if err := e.js.DeleteStream(t.Context(), "PURGE"); err != nil {
		t.Fatal(err)
	}
	r = purgectl(t, "", "publish", "--server", e.url, "--zone", "example.com", "--tag", "a", "--id", "lost-1")
	r.wantFail(t, 1, "intent 1 of 1", "lost-1", "not stored")
}

func TestPublishTakesTheServerFromNATS_URL(t *testing.T) {
	e := newNATS(t)
	t.Setenv("NATS_URL", e.url)
	purgectl(t, "", "publish", "--zone", "example.com", "--tag", "a").wantOK(t)
	if n := len(msgs(t, e.st)); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

// A URL outside --zone is as bad as a malformed one, and in a long list the
// user needs its line, not its index in an intent of 500.
func TestURLListNamesTheLineOfAURLOutsideTheZone(t *testing.T) {
	list := "# deploy 17\nhttps://www.example.com/a\n\nhttps://www.example.org/b\n"
	r := purgectl(t, list, "publish", "--server", "nats://"+testutil.FreeAddr(t), "--zone", "example.com", "-f", "-", "--urls")
	r.wantFail(t, 1, "line 4", "https://www.example.org/b")
}
