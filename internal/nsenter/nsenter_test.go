package nsenter

import (
	"errors"
	"strings"
	"testing"
)

func TestDo(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, tc := range []struct {
		name, path string
		fn         func() error
		ran        bool
		wantErr    string
	}{
		{"no path runs fn here", "", func() error { return nil }, true, ""},
		{"fn's error comes back", "", func() error { return boom }, true, "boom"},
		{"a namespace that does not exist is an error, and fn does not run", "/run/netns/capstan-no-such-namespace",
			func() error { return nil }, false, "network namespace /run/netns/capstan-no-such-namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			err := Do(tc.path, func() error { ran = true; return tc.fn() })
			if ran != tc.ran {
				t.Errorf("fn ran = %v, want %v", ran, tc.ran)
			}
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Do = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
