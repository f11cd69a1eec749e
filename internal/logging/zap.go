package logging

import (
	"context"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Zap returns a zap logger that writes to l at min and above (etcd logs a great deal at
// info level; the server wants its warnings and errors). While mute returns true nothing is
// written (etcd reports its own orderly shutdown as errors). mute may be nil.
func Zap(l *slog.Logger, min zapcore.Level, mute func() bool) *zap.Logger {
	return zap.New(&zapCore{l: l, min: min, mute: mute})
}

type zapCore struct {
	l     *slog.Logger
	min   zapcore.Level
	mute  func() bool
	attrs []any
}

func (c *zapCore) Enabled(lvl zapcore.Level) bool {
	return lvl >= c.min && (c.mute == nil || !c.mute())
}

func (c *zapCore) With(fields []zapcore.Field) zapcore.Core {
	return &zapCore{l: c.l, min: c.min, mute: c.mute, attrs: append(append([]any{}, c.attrs...), fieldAttrs(fields)...)}
}

func (c *zapCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *zapCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	attrs := append(append([]any{}, c.attrs...), fieldAttrs(fields)...)
	c.l.Log(context.Background(), slogLevel(e.Level), e.Message, attrs...)
	return nil
}

func (c *zapCore) Sync() error { return nil }

func fieldAttrs(fields []zapcore.Field) []any {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	out := make([]any, 0, 2*len(enc.Fields))
	for k, v := range enc.Fields {
		out = append(out, k, v)
	}
	return out
}

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l >= zapcore.ErrorLevel:
		return slog.LevelError
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}
