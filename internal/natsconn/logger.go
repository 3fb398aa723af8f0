package natsconn

import (
	"fmt"
	"log/slog"
)

// serverLogger adapts nats-server's printf logger to slog. The server's
// notices are chatty start-up banners, so they go to Debug.
type serverLogger struct{ log *slog.Logger }

func (l *serverLogger) Noticef(format string, v ...any) {
	l.log.Debug("nats_server", "detail", fmt.Sprintf(format, v...))
}
func (l *serverLogger) Warnf(format string, v ...any) {
	l.log.Warn("nats_server", "detail", fmt.Sprintf(format, v...))
}
func (l *serverLogger) Fatalf(format string, v ...any) {
	l.log.Error("nats_server", "detail", fmt.Sprintf(format, v...))
}
func (l *serverLogger) Errorf(format string, v ...any) {
	l.log.Error("nats_server", "detail", fmt.Sprintf(format, v...))
}
func (l *serverLogger) Debugf(format string, v ...any) {
	l.log.Debug("nats_server", "detail", fmt.Sprintf(format, v...))
}
func (l *serverLogger) Tracef(format string, v ...any) {
	l.log.Debug("nats_server", "detail", fmt.Sprintf(format, v...))
}
