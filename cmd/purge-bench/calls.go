package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/purge-worker/purge-worker/cfclient/cftest"
)

// appendCalls appends a scenario's calls to the -calls CSV file, with
// their receive times relative to from, for looking at how a drain went.
func appendCalls(path, scenario string, from time.Time, calls []cftest.Call) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("-calls: %w", err)
	}
	w := csv.NewWriter(f)
	for _, c := range calls {
		_ = w.Write([]string{scenario, strconv.FormatFloat(ms(c.At.Sub(from)), 'f', 3, 64),
			c.ZoneName, c.Endpoint, c.Kind, strconv.Itoa(len(c.Keys)), c.Outcome})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("-calls: %w", err)
	}
	return f.Close()
}
