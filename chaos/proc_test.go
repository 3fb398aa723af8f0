package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// workerProc runs purge-worker as a child process and keeps it running, as
// a process supervisor does: it restarts it after a SIGKILL, and after it
// exits on its own (a start-up failure while NATS is down, say). Requests
// to kill or stop it go through one goroutine, so that there is never more
// than one process.
type workerProc struct {
	t        testing.TB
	cfgPath  string
	logDir   string
	httpAddr string
	env      []string

	reqs chan procReq
	done chan struct{}

	// Written by the supervisor goroutine only; read after done is closed,
	// or through snapshot.
	incs []*incarnation
}

// incarnation is one run of the worker process.
type incarnation struct {
	n                int
	logPath          string
	started, ended   time.Time
	killed           bool   // ended by our SIGKILL
	stopped          bool   // ended by our SIGTERM
	exitCode         int    // -1 when killed by a signal
	redeliveredHeld  uint64 // purge_worker_intents_total{result="redelivered"} at its end, if read
	redeliveredKnown bool
	// calls is purge_worker_api_calls_total by outcome, read from its
	// /metrics just before it was killed or stopped; nil if unread.
	calls map[string]float64
}

type procReq struct {
	stop  bool          // SIGTERM and end supervision; else SIGKILL and restart
	pause time.Duration // after a kill: how long the worker stays down
	reply chan error
}

func startWorkerProc(t testing.TB, cfgPath, logDir, httpAddr string, env []string) *workerProc {
	t.Helper()
	p := &workerProc{
		t: t, cfgPath: cfgPath, logDir: logDir, httpAddr: httpAddr, env: env,
		reqs: make(chan procReq), done: make(chan struct{}),
	}
	go p.supervise()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.stop()
		}
	})
	return p
}

// supervise runs the process until a stop request.
func (p *workerProc) supervise() {
	defer close(p.done)
	for {
		inc, exited, err := p.spawn()
		if err != nil {
			p.t.Errorf("start purge-worker: %v", err)
			p.drainRequests(err)
			return
		}
		select {
		case <-exited:
			// Exited by itself: restart it after a moment, like systemd's
			// Restart=always, unless a stop request comes meanwhile.
			if p.idle(300 * time.Millisecond) {
				return
			}
		case req := <-p.reqs:
			if req.stop {
				req.reply <- p.terminate(inc, exited)
				return
			}
			p.scrape(inc.incarnation)
			inc.killed = true
			_ = inc.cmd().Process.Signal(syscall.SIGKILL)
			<-exited
			stopped := p.idle(req.pause)
			req.reply <- nil
			if stopped {
				return
			}
		}
	}
}

// idle waits d while no process runs; it answers requests that come
// meanwhile and reports whether one of them was a stop.
func (p *workerProc) idle(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return false
		case req := <-p.reqs:
			req.reply <- nil
			if req.stop {
				return true
			}
		}
	}
}

func (p *workerProc) drainRequests(err error) {
	for {
		select {
		case req := <-p.reqs:
			req.reply <- err
		case <-time.After(time.Second):
			return
		}
	}
}

// procHandle is the running process of an incarnation; only the
// supervisor goroutine holds it.
type procHandle struct {
	*incarnation
	c *exec.Cmd
}

func (h procHandle) cmd() *exec.Cmd { return h.c }

// spawn starts one incarnation; exited is closed once it has exited and
// its record is complete.
func (p *workerProc) spawn() (procHandle, <-chan struct{}, error) {
	inc := &incarnation{n: len(p.incs) + 1}
	inc.logPath = filepath.Join(p.logDir, fmt.Sprintf("worker-%02d.log", inc.n))
	logf, err := os.Create(inc.logPath)
	if err != nil {
		return procHandle{}, nil, err
	}
	cmd := exec.Command(workerBin, "-config", p.cfgPath)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	inc.started = time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return procHandle{}, nil, err
	}
	p.incs = append(p.incs, inc)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		err := cmd.Wait()
		logf.Close()
		inc.ended = time.Now()
		inc.exitCode = cmd.ProcessState.ExitCode()
		_ = err // the exit code says it all
	}()
	return procHandle{inc, cmd}, exited, nil
}

// terminate sends SIGTERM and waits for a clean exit.
func (p *workerProc) terminate(h procHandle, exited <-chan struct{}) error {
	p.scrape(h.incarnation)
	h.stopped = true
	_ = h.cmd().Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		_ = h.cmd().Process.Signal(syscall.SIGKILL)
		<-exited
		return fmt.Errorf("purge-worker did not stop within 60s of SIGTERM")
	}
	if h.exitCode != 0 {
		return fmt.Errorf("purge-worker exited with status %d after SIGTERM", h.exitCode)
	}
	return nil
}

// kill SIGKILLs the running worker, keeps it down for pause, and starts it
// again.
func (p *workerProc) kill(pause time.Duration) {
	reply := make(chan error, 1)
	select {
	case p.reqs <- procReq{pause: pause, reply: reply}:
		<-reply
	case <-p.done:
	}
}

// stop ends the worker with SIGTERM, as an orchestrator does, and reports
// whether it shut down cleanly. The supervisor then ends.
func (p *workerProc) stop() error {
	reply := make(chan error, 1)
	select {
	case p.reqs <- procReq{stop: true, reply: reply}:
		err := <-reply
		<-p.done
		return err
	case <-p.done:
		return nil
	}
}

// incarnations returns the record of every run; call it after stop.
func (p *workerProc) incarnations() []*incarnation {
	<-p.done
	return p.incs
}

// ready reports whether the running worker answers /readyz with 200: it
// is bound to its consumer and its account is not paused.
func (p *workerProc) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.httpAddr+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// scrape reads the worker's counters from /metrics before the process
// ends: its count of redeliveries of messages it still held
// (intents_total{result="redelivered"}) and of its calls by outcome. A
// scrape that fails leaves them unknown.
func (p *workerProc) scrape(inc *incarnation) {
	mfs, err := scrapeMetrics(p.httpAddr)
	if err != nil {
		return
	}
	inc.redeliveredHeld = uint64(counterValue(mfs, "purge_worker_intents_total", "result", "redelivered"))
	inc.redeliveredKnown = true
	inc.calls = counterValues(mfs, "purge_worker_api_calls_total", "outcome")
}

// scrapeMetrics reads and parses the worker's /metrics.
func scrapeMetrics(addr string) (map[string]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// counterValue returns the counter name{label="value"}, or 0 if it does not
// exist yet (a counter vector's series appears when first incremented).
func counterValue(mfs map[string]*dto.MetricFamily, name, label, value string) float64 {
	return counterValues(mfs, name, label)[value]
}

// counterValues sums the counter name by the values of label.
func counterValues(mfs map[string]*dto.MetricFamily, name, label string) map[string]float64 {
	out := map[string]float64{}
	mf := mfs[name]
	if mf == nil {
		return out
	}
	for _, m := range mf.GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label {
				out[lp.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}
