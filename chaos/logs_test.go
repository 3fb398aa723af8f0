package chaos

import (
	"bufio"
	"os"
	"strings"
)

// workerLog is what one incarnation's log shows: the checks look for
// secrets in all of it, and for races and panics in the lines that are not
// the worker's JSON. Figures come from the worker's /metrics and
// Cloudflare's record, never from log timestamps.
type workerLog struct {
	raw string
	bad []string // lines that are not JSON: panics, race reports
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
		if !strings.HasPrefix(line, "{") && strings.TrimSpace(line) != "" {
			wl.bad = append(wl.bad, line)
		}
	}
	return wl, sc.Err()
}
