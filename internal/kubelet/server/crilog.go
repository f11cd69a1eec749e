package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// timestampFormat is how `--timestamps` prints an entry's time: RFC 3339 with all nine
// fraction digits, so the prefixes line up.
const timestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

// logEntry is one line of a CRI log file: "<RFC3339Nano> <stream> <tags> <text>\n", where
// the first of the ':'-separated tags is P for a partial line (its text goes on in the next
// entry of the same stream) or F for the end of a line.
type logEntry struct {
	time    time.Time
	stream  string
	partial bool
	text    []byte
}

// parseLogEntry parses one line of a CRI log file, without its newline.
func parseLogEntry(line []byte) (logEntry, error) {
	var e logEntry
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return e, fmt.Errorf("log line %q has no stream", truncate(line))
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return e, fmt.Errorf("log line %q: bad timestamp: %w", truncate(line), err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || (string(stream) != "stdout" && string(stream) != "stderr") {
		return e, fmt.Errorf("log line %q: bad stream %q", truncate(line), truncate(stream))
	}
	tags, text, _ := bytes.Cut(rest, []byte{' '})
	first, _, _ := bytes.Cut(tags, []byte{':'})
	switch string(first) {
	case "P":
		e.partial = true
	case "F":
	default:
		return e, fmt.Errorf("log line %q: bad tag %q", truncate(line), truncate(tags))
	}
	e.time, e.stream, e.text = t, string(stream), text
	return e, nil
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// LogOptions select what /containerLogs returns, as PodLogOptions carries them.
type LogOptions struct {
	// TailLines is how many lines from the end to start with; negative for all.
	TailLines int64
	// LimitBytes stops the output after this many bytes; 0 or less for no limit.
	LimitBytes int64
	// Since drops entries written before it; zero for none.
	Since time.Time
	// Timestamps prefixes every line with the time it was written.
	Timestamps bool
	// Follow keeps streaming what the container writes until it stops.
	Follow bool
	// Stream is "stdout" or "stderr" for one stream only; "" for both.
	Stream string
}

// follower is what following a log needs from the outside world.
type follower struct {
	// wait blocks until more may have been written to the file, or ctx ends.
	wait func(ctx context.Context) error
	// running reports whether the container may still write to the file.
	running func(ctx context.Context) bool
}

// errLimitReached stops the copy once LimitBytes have been written.
var errLimitReached = errors.New("limit of bytes reached")

// limitWriter passes on at most n bytes.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errLimitReached
	}
	short := false
	if int64(len(p)) > l.n {
		p, short = p[:l.n], true
	}
	n, err := l.w.Write(p)
	l.n -= int64(n)
	if err == nil && short {
		err = errLimitReached
	}
	return n, err
}

type flusher interface{ Flush() }

func flush(w io.Writer) {
	if f, ok := w.(flusher); ok {
		f.Flush()
	}
}

// countLines counts the lines of the selected streams in r: each entry that ends a line,
// plus a line still open at the end.
func countLines(r io.Reader, stream string) int64 {
	var lines int64
	open := false
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			break
		}
		e, perr := parseLogEntry(line[:len(line)-1])
		if perr != nil || (stream != "" && e.stream != stream) {
			continue
		}
		if e.partial {
			open = true
			continue
		}
		open = false
		lines++
	}
	if open {
		lines++
	}
	return lines
}

// logCopier writes the entries of one container's log to w as `kubectl logs` shows them.
type logCopier struct {
	w    io.Writer
	out  io.Writer // w, behind the byte limit
	opts LogOptions
	file *os.File
	// pending is a line read up to the end of the file, its newline not written yet.
	pending []byte
	// skip is how many lines of the selected streams to drop first (--tail).
	skip int64
	// lineOpen tells, per stream, whether the last entry written left a line open.
	lineOpen map[string]bool
}

// copyLogs copies the CRI log file at path to w, applying opts; when opts.Follow it goes on
// with what is written later, across rotations of the file, until the container stops or
// ctx ends.
func copyLogs(ctx context.Context, w io.Writer, path string, opts LogOptions, f follower) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	c := &logCopier{w: w, out: w, opts: opts, file: file, lineOpen: map[string]bool{}}
	defer func() { c.file.Close() }()
	if opts.LimitBytes > 0 {
		c.out = &limitWriter{w: w, n: opts.LimitBytes}
	}
	if opts.TailLines >= 0 {
		c.skip = max(0, countLines(file, opts.Stream)-opts.TailLines)
		if _, err := file.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	err = c.copy(ctx, path, f)
	if errors.Is(err, errLimitReached) {
		err = nil
	}
	flush(w)
	return err
}

func (c *logCopier) copy(ctx context.Context, path string, f follower) error {
	br := bufio.NewReader(c.file)
	draining := false
	for {
		if err := c.readAvailable(br); err != nil {
			return err
		}
		if !c.opts.Follow {
			// The runtime may be writing the last line; what is there of it may still parse.
			if len(c.pending) > 0 {
				return c.entry(c.pending)
			}
			return nil
		}
		flush(c.w)
		if ctx.Err() != nil {
			return nil
		}
		if next, ok := rotated(c.file, path); ok {
			// What the runtime wrote to the old file before it reopened goes first.
			if err := c.readAvailable(br); err != nil {
				next.Close()
				return err
			}
			c.file.Close()
			c.file = next
			br.Reset(next)
			c.pending = c.pending[:0]
			continue
		}
		if draining {
			return nil
		}
		if !f.running(ctx) {
			// One more read: the container may have written its last words after ours.
			draining = true
			continue
		}
		if err := f.wait(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// readAvailable writes every complete line up to the end of the file; a line being written
// stays in pending.
func (c *logCopier) readAvailable(br *bufio.Reader) error {
	for {
		chunk, err := br.ReadBytes('\n')
		c.pending = append(c.pending, chunk...)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := c.entry(c.pending[:len(c.pending)-1]); err != nil {
			return err
		}
		c.pending = c.pending[:0]
	}
}

// rotated opens the file now at path when it is not the one being read: the log was
// rotated and the runtime writes to a new file.
func rotated(file *os.File, path string) (*os.File, bool) {
	cur, err := file.Stat()
	if err != nil {
		return nil, false
	}
	now, err := os.Stat(path)
	if err != nil || os.SameFile(cur, now) {
		return nil, false
	}
	next, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	return next, true
}

// entry writes one log line of the file, if the options select it.
func (c *logCopier) entry(line []byte) error {
	e, err := parseLogEntry(line)
	if err != nil {
		// A line we cannot read is skipped, as a corrupt line should not hide the rest.
		return nil
	}
	if c.opts.Stream != "" && e.stream != c.opts.Stream {
		return nil
	}
	if c.skip > 0 {
		if !e.partial {
			c.skip--
		}
		return nil
	}
	atStart := !c.lineOpen[e.stream]
	c.lineOpen[e.stream] = e.partial
	if !c.opts.Since.IsZero() && e.time.Before(c.opts.Since) {
		return nil
	}
	var buf bytes.Buffer
	if c.opts.Timestamps && atStart {
		buf.WriteString(e.time.Format(timestampFormat))
		buf.WriteByte(' ')
	}
	buf.Write(e.text)
	if !e.partial {
		buf.WriteByte('\n')
	}
	_, err = c.out.Write(buf.Bytes())
	return err
}

// pollWait is the default follower wait: log files are polled, as the runtime gives no
// notice of writes.
func pollWait(interval time.Duration) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTimer(interval)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		}
	}
}
