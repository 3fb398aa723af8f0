package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/status"
)

// urlsPerIntent is how many URLs of a --urls list go into one intent. Small
// enough that one intent is acked soon after its URLs are purged, large
// enough that publishing stays cheap.
const urlsPerIntent = 500

type publishFlags struct {
	conn
	zone, mode, priority, id, source, file string
	urls, tags, hosts, prefixes            strs
	everything, urlList, quiet             bool
	wait                                   waitFlag
}

func (e env) publish(ctx context.Context, args []string) error {
	var f publishFlags
	fs := flag.NewFlagSet("publish", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	f.register(fs)
	fs.StringVar(&f.zone, "zone", "", "zone name or ID (optional when every item has a hostname)")
	fs.Var(&f.urls, "url", "URL to purge (repeatable)")
	fs.Var(&f.tags, "tag", "cache tag to purge (repeatable)")
	fs.Var(&f.hosts, "host", "hostname to purge (repeatable)")
	fs.Var(&f.prefixes, "prefix", "URL prefix host/path to purge (repeatable)")
	fs.BoolVar(&f.everything, "everything", false, "purge everything in the zone")
	fs.StringVar(&f.mode, "mode", "", "purge (default) or invalidate")
	fs.StringVar(&f.priority, "priority", "", "high, normal (default) or low; with -f, for intents that set none")
	fs.Var(&f.wait, "wait", "wait `[DURATION]` (default 2m) until every intent is purged: exit 0 purged, 1 dead-lettered, 3 timed out")
	fs.StringVar(&f.id, "id", "", "intent id, used as Nats-Msg-Id (default: random)")
	fs.StringVar(&f.source, "source", "purgectl", "source recorded in the intent")
	fs.StringVar(&f.file, "f", "", "read intents from FILE (- for stdin): a JSON intent, an array, or JSON lines")
	fs.BoolVar(&f.urlList, "urls", false, "with -f: the input is one URL a line")
	fs.BoolVar(&f.quiet, "q", false, "print only the summary")
	if err := parse(fs, joinWait(args)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	intents, err := e.intents(&f)
	if err != nil {
		return err
	}
	for i, in := range intents {
		if in.Priority == "" {
			in.Priority = f.priority
		}
		if err := in.Validate(); err != nil {
			return fmt.Errorf("intent %d: %w (nothing was published)", i+1, err)
		}
		if in.ID == "" && f.wait.on {
			in.ID = intent.NewID() // the watch must know every id before the first publish
		}
	}
	nc, js, err := f.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	var opts []intent.PublishOption
	var watch *status.Watcher
	out := &outcomes{w: e.stdout, quiet: f.quiet}
	if f.wait.on {
		kv, err := status.Open(ctx, js)
		if err != nil {
			return err
		}
		ids := make([]string, len(intents))
		for i, in := range intents {
			ids[i] = in.ID
		}
		// Watch before publishing, so that no record is missed.
		if watch, err = status.Watch(ctx, kv, ids); err != nil {
			return err
		}
		defer watch.Stop()
		opts = append(opts, intent.Tracked())
	}
	items, dups := 0, 0
	for i, in := range intents {
		ack, err := intent.Publish(ctx, js, intent.Subject(in), in, opts...)
		if err != nil {
			return fmt.Errorf("intent %d of %d (id %s) was not stored: %w; %d before it were", i+1, len(intents), in.ID, err, i)
		}
		items += in.Items()
		if ack.Duplicate {
			dups++
		}
		if !f.quiet {
			fmt.Fprintf(e.stdout, "stored %s seq=%d id=%s items=%d%s\n", ack.Stream, ack.Sequence, in.ID, in.Items(), dupNote(ack.Duplicate))
		}
		if watch != nil {
			watch.Expect(in.ID, ack.Sequence)
			if ack.Duplicate {
				if err := watch.Fetch(ctx, in.ID, out.settled); err != nil {
					return err
				}
			}
			watch.Drain(out.settled)
		}
	}
	fmt.Fprintf(e.stdout, "published %d intents (%d items)", len(intents), items)
	if dups > 0 {
		fmt.Fprintf(e.stdout, ", %d were duplicates of ids already stored", dups)
	}
	fmt.Fprintln(e.stdout)
	if watch == nil {
		return nil
	}
	return out.finish(ctx, watch, f.wait.d)
}

func dupNote(dup bool) string {
	if dup {
		return " (duplicate id: not stored again)"
	}
	return ""
}

// intents builds the intents to publish from the flags or the input file.
func (e env) intents(f *publishFlags) ([]*intent.Intent, error) {
	fromFlags := len(f.urls)+len(f.tags)+len(f.hosts)+len(f.prefixes) > 0 || f.everything
	switch {
	case f.file != "" && fromFlags:
		return nil, errors.New("give items either as flags or with -f, not both")
	case f.file == "" && f.urlList:
		return nil, errors.New("--urls needs -f FILE or -f -")
	case f.file == "" && !fromFlags:
		return nil, errors.New("nothing to publish: give --url, --tag, --host, --prefix, --everything or -f")
	case f.file == "":
		in := f.base()
		for _, u := range f.urls {
			in.Files = append(in.Files, intent.File{URL: u})
		}
		in.Tags, in.Hosts, in.Prefixes, in.PurgeEverything = f.tags, f.hosts, f.prefixes, f.everything
		return []*intent.Intent{in}, nil
	}
	data, err := e.readInput(f.file)
	if err != nil {
		return nil, err
	}
	if f.urlList {
		return f.fromURLList(data)
	}
	return decodeIntents(data)
}

func (f *publishFlags) base() *intent.Intent {
	return &intent.Intent{Zone: f.zone, Mode: f.mode, ID: f.id, Source: f.source}
}

func (e env) readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(e.stdin)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// fromURLList splits a list of URLs, one a line, into intents of at most
// urlsPerIntent URLs. Blank lines and lines starting with # are skipped.
func (f *publishFlags) fromURLList(data []byte) ([]*intent.Intent, error) {
	var out []*intent.Intent
	var cur *intent.Intent
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		u := strings.TrimSpace(sc.Text())
		if u == "" || strings.HasPrefix(u, "#") {
			continue
		}
		if _, err := intent.NormalizeURL(u); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if f.zone != "" {
			one := intent.Intent{Zone: f.zone, Files: []intent.File{{URL: u}}}
			if err := one.Validate(); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
		}
		if cur == nil || len(cur.Files) == urlsPerIntent {
			cur = f.base()
			if f.id != "" {
				cur.ID = fmt.Sprintf("%s-%d", f.id, len(out)+1)
			}
			out = append(out, cur)
		}
		cur.Files = append(cur.Files, intent.File{URL: u})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no URLs in the input")
	}
	return out, nil
}

// decodeIntents reads one intent, a JSON array of intents, or JSON lines.
func decodeIntents(data []byte) ([]*intent.Intent, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty input")
	}
	var raws []json.RawMessage
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &raws); err != nil {
			return nil, fmt.Errorf("input is not a JSON array of intents: %w", err)
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		for {
			var raw json.RawMessage
			err := dec.Decode(&raw)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("intent %d: %w", len(raws)+1, err)
			}
			raws = append(raws, raw)
		}
	}
	out := make([]*intent.Intent, 0, len(raws))
	for i, raw := range raws {
		in, err := intent.Decode(raw)
		if err != nil {
			return nil, fmt.Errorf("intent %d: %w", i+1, err)
		}
		out = append(out, in)
	}
	return out, nil
}
