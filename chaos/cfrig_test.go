package chaos

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

// fakeCF is cftest served on a fixed port of 127.0.0.1 for the lifetime of
// the test, so that a worker process started again and again finds it at
// the same URL, and so that its faults can be changed while it serves.
//
// It also records, per request, when the answer went out and the
// Retry-After it carried, which cftest.Call does not hold. Requests are
// matched to cftest's calls by a sequence number the middleware appends to
// the User-Agent, which cftest records.
type fakeCF struct {
	*cftest.Server
	acct *cftest.Account
	url  string

	next    atomic.Int64
	mu      sync.Mutex
	answers map[int64]answer
}

// answer is what the middleware saw of one response.
type answer struct {
	arrived, answered time.Time
	status            int
	retryAfter        time.Duration
}

const uaMark = " chaos-req/"

func startFakeCF(t testing.TB, plan string, seed int64) *fakeCF {
	t.Helper()
	f := &fakeCF{Server: cftest.NewUnstarted(cftest.WithSeed(seed)), answers: map[int64]answer{}}
	f.acct = f.AddAccount("acct", plan, cfToken)
	for _, z := range testZones() {
		f.AddZone(z.ID, z.Name, f.acct)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.url = "http://" + ln.Addr().String() + "/client/v4"
	hs := &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	t.Cleanup(func() {
		f.Close() // ends pending latency delays first
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("fake Cloudflare: %v", err)
		}
	})
	return f
}

func (f *fakeCF) serve(w http.ResponseWriter, r *http.Request) {
	id := f.next.Add(1)
	a := answer{arrived: time.Now()}
	r.Header.Set("User-Agent", r.UserAgent()+uaMark+strconv.FormatInt(id, 10))
	cw := &captureWriter{ResponseWriter: w}
	defer func() { // also after cftest hangs up (ResetNext)
		a.answered, a.status = time.Now(), cw.status
		if s := cw.Header().Get("Retry-After"); s != "" {
			if n, err := strconv.Atoi(s); err == nil {
				a.retryAfter = time.Duration(n) * time.Second
			}
		}
		f.mu.Lock()
		f.answers[id] = a
		f.mu.Unlock()
	}()
	f.Handler().ServeHTTP(cw, r)
}

// answerOf returns what the middleware saw of a recorded call.
func (f *fakeCF) answerOf(c cftest.Call) (answer, bool) {
	i := strings.LastIndex(c.UserAgent, uaMark)
	if i < 0 {
		return answer{}, false
	}
	id, err := strconv.ParseInt(c.UserAgent[i+len(uaMark):], 10, 64)
	if err != nil {
		return answer{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.answers[id]
	return a, ok
}

// clearFaults turns every injected fault off.
func (f *fakeCF) clearFaults() {
	f.FailRatio(0, 500)
	f.FailNext(0, 500)
	f.ResetNext(0)
	f.SetLatency(0)
}

// captureWriter remembers the status of a response and lets cftest hijack
// the connection to hang up.
type captureWriter struct {
	http.ResponseWriter
	status int
}

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.ResponseWriter.Write(b)
}

func (c *captureWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(c.ResponseWriter).Hijack()
}
