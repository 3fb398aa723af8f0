package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/purge-worker/purge-worker/internal/testutil"
	"github.com/purge-worker/purge-worker/worker"
)

// result is what one purgectl invocation did.
type result struct {
	code           int
	stdout, stderr string
}

// purgectl runs the command in-process with stdin as its input.
func purgectl(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// wantFail checks that r failed with code and that stderr holds every
// one of want.
func (r result) wantFail(t *testing.T, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not contain %q", r.stderr, w)
		}
	}
}

func (r result) wantOK(t *testing.T) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit code %d, want 0\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// natsEnv is an embedded JetStream server with the worker's two streams.
type natsEnv struct {
	url string
	js  jetstream.JetStream
	st  jetstream.Stream
	dlq jetstream.Stream
}

func newNATS(t *testing.T) *natsEnv {
	t.Helper()
	ns := testutil.StartJetStream(t, t.TempDir(), -1)
	e := &natsEnv{url: ns.ClientURL()}
	_, e.js = testutil.ConnectJS(t, e.url)
	ctx := context.Background()
	var err error
	if e.st, err = e.js.CreateStream(ctx, worker.StreamConfig("PURGE")); err != nil {
		t.Fatal(err)
	}
	if e.dlq, err = e.js.CreateStream(ctx, worker.DLQStreamConfig("PURGE_DLQ")); err != nil {
		t.Fatal(err)
	}
	return e
}

// msgs returns every message of st.
func msgs(t *testing.T, st jetstream.Stream) []*jetstream.RawStreamMsg {
	t.Helper()
	return testutil.StreamMsgs(t, st)
}
