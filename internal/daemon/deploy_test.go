package daemon

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/purge-worker/purge-worker/intent"
	"github.com/purge-worker/purge-worker/internal/testutil"
)

// Files of the operations kit, from this package's directory.
const (
	dashboardFile = "../../deploy/grafana/purge-worker.json"
	alertsFile    = "../../deploy/prometheus/alerts.yml"
	runbookFile   = "../../docs/operations.md"
)

var metricName = regexp.MustCompile(`\bpurge_worker_[a-z0-9_]+`)

type dashboard struct {
	UID    string `json:"uid"`
	Panels []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		GridPos struct {
			X, W int
		} `json:"gridPos"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// dashboardMetrics returns the metrics the dashboard's panels query.
func dashboardMetrics(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" {
		t.Errorf("%s has no uid: imports would duplicate it", dashboardFile)
	}
	out := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("dashboard panel %q: id %d is missing or not unique", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("dashboard panel %q is outside Grafana's 24 columns", p.Title)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllString(tg.Expr, -1) {
				out[m] = true
			}
		}
	}
	return out
}

// alertMetrics returns the metrics the alert rules query, and checks that
// every alert links to its section of the runbook.
func alertMetrics(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(data, &rf); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	runbook, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			n++
			want := "docs/operations.md#" + strings.ToLower(r.Alert)
			if !strings.HasSuffix(r.Annotations["runbook_url"], want) {
				t.Errorf("alert %s: runbook_url %q, want one ending in %s", r.Alert, r.Annotations["runbook_url"], want)
			}
			if !strings.Contains(string(runbook), "\n### "+r.Alert+"\n") {
				t.Errorf("%s has no section \"### %s\"", runbookFile, r.Alert)
			}
			for _, m := range metricName.FindAllString(r.Expr, -1) {
				out[m] = true
			}
		}
	}
	if n < 6 {
		t.Errorf("%s holds %d alerts, want at least 6", alertsFile, n)
	}
	return out
}

// Every metric the dashboard and the alert rules query is one the daemon
// exports after a run that exercises each of them: accepted, duplicate,
// covered and invalid intents, a 429, a key Cloudflare refuses and an
// account whose credentials it refuses.
func TestDashboardAndAlertsQueryExportedMetrics(t *testing.T) {
	queried := dashboardMetrics(t)
	for m := range alertMetrics(t) {
		queried[m] = true
	}

	s := newStack(t)
	d := s.start()
	s.cf.FailNext(1, 429)
	d.publish(&intent.Intent{Zone: "example.com", Files: []intent.File{{URL: "https://www.example.com/a"}, {URL: "https://www.example.com/a?x"}}})
	d.publish(&intent.Intent{Zone: "example.com", Files: []intent.File{{URL: "https://www.example.com/a"}}})
	d.publish(&intent.Intent{Zone: "example.com", Hosts: []string{"img.example.com"}, Files: []intent.File{{URL: "https://img.example.com/1.png"}}})
	d.publish(&intent.Intent{Zone: "example.com", Tags: []string{"post-1"}})
	d.publishRaw("purge.example_com", []byte(`{"zone":"example.com","files":["ftp://www.example.com/x"]}`))
	s.cf.RejectKeys("https://www.example.com/refused")
	d.publish(&intent.Intent{Zone: "example.com", Files: []intent.File{{URL: "https://www.example.com/refused"}}})
	s.legacy.SetEmailKey("", "")
	d.publish(&intent.Intent{Zone: "example.org", Files: []intent.File{{URL: "https://www.example.org/a"}}})

	var families map[string]*dto.MetricFamily
	testutil.Eventually(s.t, 30*time.Second, "a 429, an auth refusal and two dead letters in /metrics", func() bool {
		_, text := s.get("/metrics")
		p := expfmt.NewTextParser(model.UTF8Validation)
		var err error
		if families, err = p.TextToMetricFamilies(strings.NewReader(text)); err != nil {
			t.Fatalf("/metrics: %v", err)
		}
		return value(families["purge_worker_rate_limit_wait_seconds"]) > 0 &&
			value(families["purge_worker_account_auth_failed"]) > 0 &&
			value(families["purge_worker_dead_lettered_total"]) >= 2
	})

	for _, m := range slices.Sorted(func(yield func(string) bool) {
		for m := range queried {
			if !yield(m) {
				return
			}
		}
	}) {
		if families[m] == nil && !histogramPart(families, m) {
			t.Errorf("the dashboard or an alert queries %s, which /metrics does not export", m)
		}
	}
}

// histogramPart reports whether m is the _bucket, _sum or _count series of
// an exported histogram.
func histogramPart(families map[string]*dto.MetricFamily, m string) bool {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(m, suffix)
		if f := families[base]; ok && f != nil && f.GetType() == dto.MetricType_HISTOGRAM {
			return true
		}
	}
	return false
}

// value sums a family's samples: counter and gauge values, histogram counts.
func value(f *dto.MetricFamily) float64 {
	var v float64
	for _, m := range f.GetMetric() {
		v += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
	}
	return v
}
