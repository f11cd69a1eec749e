package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestZapWritesToSlogAtOrAboveTheMinimum(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		log   func(z *zap.Logger)
		wants []string
		none  bool
	}{
		{"a warning is written with its fields", func(z *zap.Logger) { z.Warn("slow", zap.Int("ms", 12)) }, []string{"level=WARN", "msg=slow", "ms=12"}, false},
		{"an error keeps the logger's fields", func(z *zap.Logger) { z.With(zap.String("member", "a")).Error("boom") }, []string{"level=ERROR", "msg=boom", "member=a"}, false},
		{"info below the minimum is dropped", func(z *zap.Logger) { z.Info("chatty") }, nil, true},
		{"nothing is written while muted", func(z *zap.Logger) { z.Error("closing") }, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			muted := tc.name == "nothing is written while muted"
			tc.log(Zap(slog.New(slog.NewTextHandler(&buf, nil)), zapcore.WarnLevel, func() bool { return muted }))
			out := buf.String()
			if tc.none && out != "" {
				t.Fatalf("got %q, want nothing", out)
			}
			for _, w := range tc.wants {
				if !strings.Contains(out, w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
		})
	}
}
