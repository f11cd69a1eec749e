package logging

import (
	"log/slog"
	"testing"
)

func TestLevel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    int
		want slog.Level
	}{
		{0, slog.LevelInfo},
		{2, slog.LevelInfo},
		{3, slog.LevelInfo},
		{4, slog.LevelDebug},
		{10, slog.LevelDebug},
	} {
		if got := Level(tc.v); got != tc.want {
			t.Errorf("Level(%d) = %v, want %v", tc.v, got, tc.want)
		}
	}
}
