package batch

import (
	"strings"
	"testing"
	"time"
)

func TestParseScheduleAccepts(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{
		"*/5 * * * *",
		"0 0 * * 0",
		"0 9 * * MON-FRI",
		"15 2 1 jan,Jul ?",
		"0-30/10 8-18 * * *",
		"5/15 * * * *",
		"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually",
		"@every 1h30m",
		"TZ=UTC 0 * * * *",
		"CRON_TZ=Europe/Berlin @daily",
	} {
		t.Run(spec, func(t *testing.T) {
			t.Parallel()
			if _, err := ParseSchedule(spec); err != nil {
				t.Errorf("ParseSchedule(%q) = %v", spec, err)
			}
		})
	}
}

func TestParseScheduleRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec, want string
	}{
		{"", "empty spec string"},
		{"* * * *", "expected exactly 5 fields, found 4: [* * * *]"},
		{"0 0 * * * *", "expected exactly 5 fields, found 6: [0 0 * * * *]"},
		{"60 * * * *", "end of range (60) above maximum (59): 60"},
		{"0 24 * * *", "end of range (24) above maximum (23): 24"},
		{"0 0 0 * *", "beginning of range (0) below minimum (1): 0"},
		{"0 0 * 13 *", "end of range (13) above maximum (12): 13"},
		{"0 0 * * 7", "end of range (7) above maximum (6): 7"},
		{"5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"},
		{"*/0 * * * *", "step of range should be a positive number: */0"},
		{"a * * * *", `failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax`},
		{"1-2-3 * * * *", "too many hyphens: 1-2-3"},
		{"*/2/3 * * * *", "too many slashes: */2/3"},
		{"@often", "unrecognized descriptor: @often"},
		{"@every x", `failed to parse duration @every x: time: invalid duration "x"`},
		{"TZ=Nowhere/City 0 * * * *", "provided bad location Nowhere/City: "},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			t.Parallel()
			_, err := ParseSchedule(tc.spec)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("ParseSchedule(%q) = %v, want %q", tc.spec, err, tc.want)
			}
		})
	}
}

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, spec, from, want string
	}{
		{"every 15 minutes runs at the next quarter", "*/15 * * * *", "2025-03-07T10:07:30Z", "2025-03-07T10:15:00Z"},
		{"a time on the schedule is not its own next run", "0 * * * *", "2025-03-07T10:00:00Z", "2025-03-07T11:00:00Z"},
		{"weekdays skip the weekend", "0 9 * * MON-FRI", "2025-03-07T10:00:00Z", "2025-03-10T09:00:00Z"},
		{"a leap day waits for the next leap year", "0 0 29 feb *", "2025-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"day of month or day of week when both are restricted", "0 0 13 * FRI", "2025-06-01T00:00:00Z", "2025-06-06T00:00:00Z"},
		{"day of month and day of week when one is a star", "0 0 13 * *", "2025-06-01T00:00:00Z", "2025-06-13T00:00:00Z"},
		{"yearly runs on new year", "@yearly", "2025-06-01T00:00:00Z", "2026-01-01T00:00:00Z"},
		{"every 90 seconds adds 90 seconds", "@every 90s", "2025-06-01T00:00:00.5Z", "2025-06-01T00:01:30Z"},
		{"a schedule zone sets the wall clock", "TZ=America/New_York 0 9 * * *", "2025-01-15T12:00:00Z", "2025-01-15T14:00:00Z"},
		{"half-hour zones keep their minutes", "CRON_TZ=Asia/Kolkata 0 * * * *", "2025-01-15T12:10:00Z", "2025-01-15T12:30:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := ParseSchedule(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Next(utc(tc.from))
			if want := utc(tc.want); !got.Equal(want) {
				t.Errorf("Next(%s) = %s, want %s", tc.from, got, want)
			}
			if got.Location() != time.UTC {
				t.Errorf("Next returned location %s, want the caller's", got.Location())
			}
		})
	}
	t.Run("an impossible date never runs", func(t *testing.T) {
		t.Parallel()
		s, err := ParseSchedule("0 0 31 feb *")
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Next(utc("2025-01-01T00:00:00Z")); !got.IsZero() {
			t.Errorf("Next = %s, want the zero time", got)
		}
	})
}
