// Package testutil holds the helpers the project's tests share: a real
// nats-server with JetStream embedded in the test process (alone, or as a
// three-node cluster whose nodes can be restarted), a client of it
// and the messages of a stream, free loopback addresses, a buffer that
// concurrent writers may share, polling for an outcome (Eventually), the
// oracle of what Cloudflare purged by its own rules (Coverage). Only
// _test.go files import it: no shipped binary links a test helper.
package testutil

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// StartJetStream starts a nats-server with JetStream on 127.0.0.1, storing
// in storeDir (t.TempDir() unless the test restarts it on the same store),
// on port (-1: a free one), and shuts it down when the test ends.
func StartJetStream(t testing.TB, storeDir string, port int) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: storeDir,
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// FreeAddr returns a loopback host:port that was free a moment ago, for a
// process or config that must be told its address before it binds.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// SyncBuffer is a bytes.Buffer that concurrent writers (a logger, a
// subprocess's output) and a reading test may share.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
