package server

import (
	"context"
	"io"
	"log"
	"log/slog"
	"maps"
	"reflect"
	"slices"

	"github.com/sirupsen/logrus"
)

// distribution looks its logger up in the context under an unexported key of
// its internal dcontext package, and falls back to logrus' process-wide
// logger. Neither can be set from outside the module, so the server plants
// its own logger by answering that key from a context wrapper. The key is
// recognised by its type's identity.
const (
	dcontextPkg       = "github.com/distribution/distribution/v3/internal/dcontext"
	dcontextLoggerKey = "loggerKey"
)

func isLoggerKey(key any) bool {
	t := reflect.TypeOf(key)
	return t != nil && t.Name() == dcontextLoggerKey && t.PkgPath() == dcontextPkg
}

// loggerContext hands distribution a per-server logger while passing every
// other lookup through.
type loggerContext struct {
	context.Context
	entry *logrus.Entry
}

func (c loggerContext) Value(key any) any {
	if isLoggerKey(key) {
		return c.entry
	}
	return c.Context.Value(key)
}

// newLogrusEntry builds the logrus entry distribution will use. Without a
// slog logger it is set to a level distribution never logs at for routine
// work, so entries are dropped before they are formatted.
func newLogrusEntry(l *slog.Logger) *logrus.Entry {
	lr := logrus.New()
	lr.SetOutput(io.Discard)
	lr.SetFormatter(discardFormatter{})
	lr.SetLevel(logrus.PanicLevel)
	if l != nil {
		lr.SetLevel(logrusLevel(l))
		lr.AddHook(slogHook{l: l})
	}
	return logrus.NewEntry(lr)
}

// logrusLevel picks the most verbose logrus level that l would accept, so
// logrus does not build records slog would throw away.
func logrusLevel(l *slog.Logger) logrus.Level {
	ctx := context.Background()
	switch {
	case l.Enabled(ctx, slog.LevelDebug):
		return logrus.DebugLevel
	case l.Enabled(ctx, slog.LevelInfo):
		return logrus.InfoLevel
	case l.Enabled(ctx, slog.LevelWarn):
		return logrus.WarnLevel
	default:
		return logrus.ErrorLevel
	}
}

// newErrorLog keeps net/http's own complaints (bad requests, handler panics)
// off the process-wide log package, following the same silent default.
func newErrorLog(l *slog.Logger) *log.Logger {
	if l == nil {
		return log.New(io.Discard, "", 0)
	}
	return slog.NewLogLogger(l.Handler(), slog.LevelWarn)
}

// discardFormatter skips rendering: the output is discarded anyway and the
// hook has already forwarded the entry.
type discardFormatter struct{}

func (discardFormatter) Format(*logrus.Entry) ([]byte, error) { return nil, nil }

// slogHook forwards logrus entries to slog with their fields as attributes.
type slogHook struct{ l *slog.Logger }

func (slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h slogHook) Fire(e *logrus.Entry) error {
	ctx := e.Context
	if ctx == nil {
		ctx = context.Background()
	}
	lvl := slogLevel(e.Level)
	if !h.l.Enabled(ctx, lvl) {
		return nil
	}
	attrs := make([]slog.Attr, 0, len(e.Data))
	for _, k := range slices.Sorted(maps.Keys(e.Data)) {
		attrs = append(attrs, slog.Any(k, e.Data[k]))
	}
	h.l.LogAttrs(ctx, lvl, e.Message, attrs...)
	return nil
}

func slogLevel(l logrus.Level) slog.Level {
	switch {
	case l >= logrus.DebugLevel:
		return slog.LevelDebug
	case l == logrus.InfoLevel:
		return slog.LevelInfo
	case l == logrus.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}
