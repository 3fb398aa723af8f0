package testutil

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is a JetStream cluster of nats-servers in the test process, on
// loopback, each storing in its own t.TempDir(). Streams and KV buckets
// created with Replicas 3 on it are replicated by Raft as in production;
// Server.Shutdown of a node hands its leaderships over (it is graceful).
type Cluster struct {
	t       testing.TB
	Servers []*server.Server
	opts    []*server.Options
}

// StartCluster starts n clustered nodes and waits until JetStream has a
// meta leader. The nodes are shut down when the test ends.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	// Every node, the first included, needs the routes before it starts,
	// so the cluster ports are chosen up front.
	ports := make([]int, n)
	routes := make([]*url.URL, n)
	for i := range n {
		_, p, _ := net.SplitHostPort(FreeAddr(t))
		ports[i], _ = strconv.Atoi(p)
		routes[i] = &url.URL{Scheme: "nats", Host: net.JoinHostPort("127.0.0.1", p)}
	}
	c := &Cluster{t: t}
	for i := range n {
		c.opts = append(c.opts, &server.Options{
			ServerName: fmt.Sprintf("N%d", i+1), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "C", Host: "127.0.0.1", Port: ports[i]},
			Routes:  routes,
		})
		c.Servers = append(c.Servers, nil)
		c.start(i)
	}
	for i, ns := range c.Servers {
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatal("nats-server did not start")
		}
		// A restarted node comes back on the same client port, where
		// clients that knew it look for it.
		c.opts[i].Port = ns.Addr().(*net.TCPAddr).Port
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.metaLeader() == nil {
		if time.Now().After(deadline) {
			t.Fatal("no JetStream meta leader after 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

func (c *Cluster) start(i int) {
	ns, err := server.NewServer(c.opts[i])
	if err != nil {
		c.t.Fatal(err)
	}
	go ns.Start()
	c.Servers[i] = ns
	c.t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
}

// Restart shuts node ns down (gracefully: it hands its leaderships over)
// and starts it again on the same store and ports. It returns once the
// node accepts connections; it may still be catching up.
func (c *Cluster) Restart(ns *server.Server) {
	c.t.Helper()
	for i, s := range c.Servers {
		if s != ns {
			continue
		}
		ns.Shutdown()
		ns.WaitForShutdown()
		c.start(i)
		if !c.Servers[i].ReadyForConnections(10 * time.Second) {
			c.t.Fatal("restarted nats-server did not start")
		}
		return
	}
	c.t.Fatal("restart: not a node of this cluster")
}

func (c *Cluster) metaLeader() *server.Server {
	for _, ns := range c.Servers {
		if ns.Running() && ns.JetStreamIsLeader() {
			return ns
		}
	}
	return nil
}

// URL returns the client URLs of every node, comma-separated, for
// nats.Connect: a client fails over to another node when one stops.
func (c *Cluster) URL() string {
	urls := make([]string, 0, len(c.Servers))
	for _, ns := range c.Servers {
		urls = append(urls, ns.ClientURL())
	}
	return strings.Join(urls, ",")
}

// StreamLeader returns the node that leads stream (in the global account),
// or nil while it has none.
func (c *Cluster) StreamLeader(stream string) *server.Server {
	for _, ns := range c.Servers {
		if ns.Running() && ns.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return ns
		}
	}
	return nil
}

// Current reports whether every running node has caught up with the
// JetStream meta group and with each of streams.
func (c *Cluster) Current(streams ...string) bool {
	for _, ns := range c.Servers {
		if !ns.Running() || !ns.JetStreamIsCurrent() {
			return false
		}
		for _, st := range streams {
			if !ns.JetStreamIsStreamCurrent(server.DEFAULT_GLOBAL_ACCOUNT, st) {
				return false
			}
		}
	}
	return true
}
