package batch

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	// Time zone names must resolve the same on every host, whatever its zoneinfo files.
	_ "time/tzdata"
)

// Schedule is a parsed CronJob schedule.
type Schedule interface {
	// Next returns the first activation strictly after t, in t's location, or the zero time
	// when there is none within five years.
	Next(t time.Time) time.Time
}

// ParseSchedule parses a CronJob schedule the way upstream does: five fields (minute, hour,
// day of month, month, day of week) with *, ?, lists, ranges, steps and month/weekday
// names; the descriptors @yearly, @annually, @monthly, @weekly, @daily, @midnight,
// @hourly and "@every <duration>"; and an optional TZ= or CRON_TZ= prefix. Error messages
// are those kubectl users see from upstream.
func ParseSchedule(spec string) (Schedule, error) {
	if spec == "" {
		return nil, fmt.Errorf("empty spec string")
	}
	var loc *time.Location
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		name, rest, _ := strings.Cut(spec[strings.Index(spec, "=")+1:], " ")
		l, err := time.LoadLocation(name)
		if err != nil {
			return nil, fmt.Errorf("provided bad location %s: %v", name, err)
		}
		loc, spec = l, strings.TrimSpace(rest)
	}
	if strings.HasPrefix(spec, "@") {
		return parseDescriptor(spec, loc)
	}
	fields := strings.Fields(spec)
	if len(fields) != 5 {
		return nil, fmt.Errorf("expected exactly 5 fields, found %d: %s", len(fields), fields)
	}
	s := &cronSchedule{loc: loc}
	targets := []*uint64{&s.minute, &s.hour, &s.dom, &s.month, &s.dow}
	for i, f := range fields {
		v, err := parseField(f, cronFields[i])
		if err != nil {
			return nil, err
		}
		*targets[i] = v
	}
	return s, nil
}

// cronField is the range and names of one schedule field.
type cronField struct {
	min, max uint
	names    map[string]uint
}

var cronFields = []cronField{
	{min: 0, max: 59},
	{min: 0, max: 23},
	{min: 1, max: 31},
	{min: 1, max: 12, names: map[string]uint{
		"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
	}},
	{min: 0, max: 6, names: map[string]uint{
		"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
	}},
}

// starBit marks a field written as * or ?; day of month and day of week combine with AND
// when either is a star and with OR otherwise, as in classic cron.
const starBit = 1 << 63

func parseField(expr string, f cronField) (uint64, error) {
	var set uint64
	for _, part := range strings.Split(expr, ",") {
		v, err := parseRange(part, f)
		if err != nil {
			return 0, err
		}
		set |= v
	}
	return set, nil
}

// parseRange parses one list element: *, ?, N, A-B, each optionally followed by /step.
func parseRange(expr string, f cronField) (uint64, error) {
	rangePart, stepPart, hasStep := strings.Cut(expr, "/")
	if strings.Contains(stepPart, "/") {
		return 0, fmt.Errorf("too many slashes: %s", expr)
	}
	var start, end uint
	var extra uint64
	bounds := strings.Split(rangePart, "-")
	if bounds[0] == "*" || bounds[0] == "?" {
		start, end, extra = f.min, f.max, starBit
	} else {
		var err error
		if start, err = parseValue(bounds[0], f.names); err != nil {
			return 0, err
		}
		switch len(bounds) {
		case 1:
			end = start
		case 2:
			if end, err = parseValue(bounds[1], f.names); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("too many hyphens: %s", expr)
		}
	}
	step := uint(1)
	if hasStep {
		var err error
		if step, err = parseNumber(stepPart); err != nil {
			return 0, err
		}
		if len(bounds) == 1 {
			end = f.max // "N/step" runs from N to the end of the range
		}
		if step > 1 {
			extra = 0
		}
	}
	switch {
	case start < f.min:
		return 0, fmt.Errorf("beginning of range (%d) below minimum (%d): %s", start, f.min, expr)
	case end > f.max:
		return 0, fmt.Errorf("end of range (%d) above maximum (%d): %s", end, f.max, expr)
	case start > end:
		return 0, fmt.Errorf("beginning of range (%d) beyond end of range (%d): %s", start, end, expr)
	case step == 0:
		return 0, fmt.Errorf("step of range should be a positive number: %s", expr)
	}
	var set uint64
	for v := start; v <= end; v += step {
		set |= 1 << v
	}
	return set | extra, nil
}

func parseValue(expr string, names map[string]uint) (uint, error) {
	if v, ok := names[strings.ToLower(expr)]; ok {
		return v, nil
	}
	return parseNumber(expr)
}

func parseNumber(expr string) (uint, error) {
	n, err := strconv.Atoi(expr)
	if err != nil {
		return 0, fmt.Errorf("failed to parse int from %s: %s", expr, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("negative number (%d) not allowed: %s", n, expr)
	}
	return uint(n), nil
}

var descriptors = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

func parseDescriptor(spec string, loc *time.Location) (Schedule, error) {
	if fields, ok := descriptors[spec]; ok {
		s, err := ParseSchedule(fields)
		if err != nil {
			return nil, err
		}
		s.(*cronSchedule).loc = loc
		return s, nil
	}
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		delay, err := time.ParseDuration(d)
		if err != nil {
			return nil, fmt.Errorf("failed to parse duration %s: %s", spec, err)
		}
		return every(delay), nil
	}
	return nil, fmt.Errorf("unrecognized descriptor: %s", spec)
}

// everySchedule runs at a fixed interval, in whole seconds and at least one second.
type everySchedule struct{ delay time.Duration }

func every(d time.Duration) everySchedule {
	d = d.Truncate(time.Second)
	if d < time.Second {
		d = time.Second
	}
	return everySchedule{delay: d}
}

func (s everySchedule) Next(t time.Time) time.Time {
	return t.Truncate(time.Second).Add(s.delay)
}

// cronSchedule holds one bit per allowed value of each field.
type cronSchedule struct {
	minute, hour, dom, month, dow uint64
	loc                           *time.Location // nil: the location of the time given to Next
}

func (s *cronSchedule) Next(t time.Time) time.Time {
	orig := t.Location()
	if s.loc != nil {
		t = t.In(s.loc)
	}
	loc := t.Location()
	// Step with Add rather than Truncate or time.Date so that zones with half-hour
	// offsets and repeated DST hours keep their wall-clock minutes.
	t = t.Add(time.Minute - time.Duration(t.Second())*time.Second - time.Duration(t.Nanosecond()))
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		switch {
		case s.month&(1<<uint(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
		case !s.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
		case s.hour&(1<<uint(t.Hour())) == 0:
			t = t.Add(time.Duration(60-t.Minute()) * time.Minute)
		case s.minute&(1<<uint(t.Minute())) == 0:
			t = t.Add(time.Minute)
		default:
			return t.In(orig)
		}
	}
	return time.Time{}
}

func (s *cronSchedule) dayMatches(t time.Time) bool {
	domMatch := s.dom&(1<<uint(t.Day())) != 0
	dowMatch := s.dow&(1<<uint(t.Weekday())) != 0
	if s.dom&starBit != 0 || s.dow&starBit != 0 {
		return domMatch && dowMatch
	}
	return domMatch || dowMatch
}
