package chaos

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"time"
)

// logLine is the part of the worker's JSON log lines the checks read.
type logLine struct {
	Time time.Time `json:"time"`
	Msg  string    `json:"msg"`
	Wait string    `json:"wait"`
	Took string    `json:"took"`
	Err  string    `json:"err"`
}

// workerLog is what one incarnation's log shows.
type workerLog struct {
	pauses []pause    // Retry-After pauses, from "rate_limited"
	calls  []callSpan // from "purge_call" (debug)
	raw    string
	bad    []string // lines that are not JSON: panics, race reports
}

type pause struct{ from, until time.Time }

type callSpan struct {
	start time.Time
	err   string
}

func readWorkerLog(path string) (workerLog, error) {
	var wl workerLog
	data, err := os.ReadFile(path)
	if err != nil {
		return wl, err
	}
	wl.raw = string(data)
	sc := bufio.NewScanner(strings.NewReader(wl.raw))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		var l logLine
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &l) != nil {
			if strings.TrimSpace(line) != "" {
				wl.bad = append(wl.bad, line)
			}
			continue
		}
		switch l.Msg {
		case "rate_limited":
			if d, err := time.ParseDuration(l.Wait); err == nil {
				wl.pauses = append(wl.pauses, pause{l.Time, l.Time.Add(d)})
			}
		case "purge_call":
			if d, err := time.ParseDuration(l.Took); err == nil {
				wl.calls = append(wl.calls, callSpan{l.Time.Add(-d), l.Err})
			}
		}
	}
	return wl, sc.Err()
}

// pauseMargin leaves out the edges of a pause when looking for calls that
// ignored it: a call decided just before the 429 was handled may start a
// moment after, and the pause ends a moment before the log line says.
const pauseMargin = 50 * time.Millisecond

// callsDuringPauses returns the calls that started while the account was
// paused for a Retry-After, in one incarnation.
func (wl workerLog) callsDuringPauses() []callSpan {
	var out []callSpan
	for _, c := range wl.calls {
		for _, p := range wl.pauses {
			if c.start.After(p.from.Add(pauseMargin)) && c.start.Before(p.until.Add(-pauseMargin)) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}
