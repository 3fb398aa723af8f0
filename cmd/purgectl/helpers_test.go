package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
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
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	e := &natsEnv{url: ns.ClientURL()}
	if e.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
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
	ctx := context.Background()
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		out = append(out, m)
	}
	return out
}

// deadAddr returns an address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuffer is testutil.SyncBuffer, under the name this package's tests use.
type syncBuffer = testutil.SyncBuffer

var _ io.Writer = (*syncBuffer)(nil)
