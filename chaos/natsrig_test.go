package chaos

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsServer is a JetStream server in the test process on a fixed port and
// store directory, so that it can be shut down and started again on the
// same store, as an operator restarts NATS, while clients reconnect to the
// same URL.
type natsServer struct {
	t          testing.TB
	port       int
	dir        string
	maxPayload int32 // 0: the server's default (1 MiB)

	mu      sync.Mutex
	srv     *server.Server
	outages []outage
}

// outage is a time the server was down.
type outage struct{ down, up time.Time }

func startNATS(t testing.TB, port int, dir string, maxPayload int32) *natsServer {
	t.Helper()
	n := &natsServer{t: t, port: port, dir: dir, maxPayload: maxPayload}
	srv, err := n.newServer()
	if err != nil {
		t.Fatal(err)
	}
	n.srv = srv
	t.Cleanup(n.shutdown)
	return n
}

func (n *natsServer) url() string { return "nats://" + hostPort(n.port) }

func (n *natsServer) newServer() (*server.Server, error) {
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: n.port, JetStream: true, StoreDir: n.dir,
		MaxPayload: n.maxPayload, NoLog: true, NoSigs: true,
	})
	if err != nil {
		return nil, fmt.Errorf("nats-server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("nats-server did not start on %s", n.url())
	}
	return srv, nil
}

// restart shuts the server down, waits for down, and starts a new one on
// the same port and store. It may run on any goroutine: a server that does
// not come back fails the test, which then times out waiting for it.
func (n *natsServer) restart(down time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	o := outage{down: time.Now()}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	time.Sleep(down) // the outage itself: nothing is asserted on its length
	for attempt := 1; ; attempt++ {
		srv, err := n.newServer()
		if err == nil {
			n.srv = srv
			break
		}
		if attempt == 10 {
			n.t.Errorf("restart: %v", err)
			return
		}
		time.Sleep(time.Second) // the port may still be held briefly
	}
	o.up = time.Now()
	n.outages = append(n.outages, o)
}

// recorded returns the outages so far.
func (n *natsServer) recorded() []outage {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]outage(nil), n.outages...)
}

// shutdown stops the server for good.
func (n *natsServer) shutdown() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}
