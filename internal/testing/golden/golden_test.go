package golden

import "testing"

func TestLineDiff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ want, got, diff string }{
		{"a\nb\n", "a\nb\n", ""},
		{"a\nb\n", "a\nc\n", "- b\n+ c\n"},
		{"a\n", "a\nb\n", "+ b\n"},
	} {
		if d := lineDiff(tc.want, tc.got); d != tc.diff {
			t.Errorf("lineDiff(%q, %q) = %q, want %q", tc.want, tc.got, d, tc.diff)
		}
	}
}

func TestCheckAgainstTestdata(t *testing.T) {
	t.Parallel()
	Check(t, "example.txt", []byte("golden\n"))
}
