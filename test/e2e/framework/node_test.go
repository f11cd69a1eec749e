package framework

import "testing"

func TestCRILogText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, data, want string
	}{
		{"full lines of both streams keep their order", "2024-01-01T00:00:00.1Z stdout F one\n2024-01-01T00:00:00.2Z stderr F two\n", "one\ntwo\n"},
		{"partial entries join into one line", "2024-01-01T00:00:00Z stdout P ab\n2024-01-01T00:00:00Z stdout F cd\n", "abcd\n"},
		{"spaces in the text are kept", "2024-01-01T00:00:00Z stdout F a b  c\n", "a b  c\n"},
		{"an empty line is kept", "2024-01-01T00:00:00Z stdout F \n", "\n"},
		{"malformed lines are skipped", "garbage\n2024-01-01T00:00:00Z stdout\n\n2024-01-01T00:00:00Z stdout F ok\n", "ok\n"},
		{"an empty file has no text", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := criLogText(tc.data); got != tc.want {
				t.Errorf("criLogText(%q) = %q, want %q", tc.data, got, tc.want)
			}
		})
	}
}
