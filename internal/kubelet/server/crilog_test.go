package server

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseLogEntry(t *testing.T) {
	t.Parallel()
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	tests := []struct {
		name    string
		line    string
		want    logEntry
		wantErr bool
	}{
		{name: "a full stdout line", line: "2024-05-06T07:08:09.123456789Z stdout F hello world",
			want: logEntry{time: ts, stream: "stdout", text: []byte("hello world")}},
		{name: "a partial stderr line", line: "2024-05-06T07:08:09.123456789Z stderr P part",
			want: logEntry{time: ts, stream: "stderr", partial: true, text: []byte("part")}},
		{name: "an empty line keeps its space", line: "2024-05-06T07:08:09.123456789Z stdout F ",
			want: logEntry{time: ts, stream: "stdout", text: []byte{}}},
		{name: "an empty line without the space", line: "2024-05-06T07:08:09.123456789Z stdout F",
			want: logEntry{time: ts, stream: "stdout", text: nil}},
		{name: "text keeps its spaces", line: "2024-05-06T07:08:09.123456789Z stdout F  a  b ",
			want: logEntry{time: ts, stream: "stdout", text: []byte(" a  b ")}},
		{name: "more tags after the first", line: "2024-05-06T07:08:09.123456789Z stdout P:x text",
			want: logEntry{time: ts, stream: "stdout", partial: true, text: []byte("text")}},
		{name: "a time with an offset", line: "2024-05-06T09:08:09.123456789+02:00 stdout F x",
			want: logEntry{time: ts, stream: "stdout", text: []byte("x")}},
		{name: "a bad timestamp", line: "yesterday stdout F x", wantErr: true},
		{name: "a bad stream", line: "2024-05-06T07:08:09Z stdin F x", wantErr: true},
		{name: "a bad tag", line: "2024-05-06T07:08:09Z stdout X x", wantErr: true},
		{name: "no stream at all", line: "2024-05-06T07:08:09Z", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLogEntry([]byte(tt.line))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if !got.time.Equal(tt.want.time) || got.stream != tt.want.stream || got.partial != tt.want.partial || !bytes.Equal(got.text, tt.want.text) {
				t.Errorf("got %+v (text %q), want %+v (text %q)", got, got.text, tt.want, tt.want.text)
			}
		})
	}
}

// sampleLog has stdout and stderr lines a second apart, one of them split in parts.
const sampleLog = `2024-01-01T00:00:01.000000001Z stdout F one
2024-01-01T00:00:02.5Z stderr F two
2024-01-01T00:00:03Z stdout P thr
2024-01-01T00:00:03.1Z stdout F ee
2024-01-01T00:00:04Z stdout F four
not a log line
2024-01-01T00:00:05Z stderr F five
`

func writeLog(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

func noFollow() follower {
	return follower{
		wait:    func(context.Context) error { return errors.New("must not wait") },
		running: func(context.Context) bool { return false },
	}
}

func TestCopyLogsOptions(t *testing.T) {
	t.Parallel()
	path := writeLog(t, sampleLog)
	all := LogOptions{TailLines: -1}
	tests := []struct {
		name string
		opts func(LogOptions) LogOptions
		want string
	}{
		{name: "everything joins partial lines",
			opts: func(o LogOptions) LogOptions { return o },
			want: "one\ntwo\nthree\nfour\nfive\n"},
		{name: "tail counts lines, not file entries",
			opts: func(o LogOptions) LogOptions { o.TailLines = 3; return o },
			want: "three\nfour\nfive\n"},
		{name: "tail zero shows nothing",
			opts: func(o LogOptions) LogOptions { o.TailLines = 0; return o },
			want: ""},
		{name: "tail beyond the start shows all",
			opts: func(o LogOptions) LogOptions { o.TailLines = 50; return o },
			want: "one\ntwo\nthree\nfour\nfive\n"},
		{name: "since drops older entries",
			opts: func(o LogOptions) LogOptions {
				o.Since = time.Date(2024, 1, 1, 0, 0, 3, 50, time.UTC)
				return o
			},
			want: "ee\nfour\nfive\n"},
		{name: "tail then since",
			opts: func(o LogOptions) LogOptions {
				o.TailLines = 4
				o.Since = time.Date(2024, 1, 1, 0, 0, 4, 0, time.UTC)
				return o
			},
			want: "four\nfive\n"},
		{name: "timestamps prefix each line once with nine digits",
			opts: func(o LogOptions) LogOptions { o.Timestamps = true; o.TailLines = 3; return o },
			want: "2024-01-01T00:00:03.000000000Z three\n2024-01-01T00:00:04.000000000Z four\n2024-01-01T00:00:05.000000000Z five\n"},
		{name: "limit bytes cuts inside a line",
			opts: func(o LogOptions) LogOptions { o.LimitBytes = 6; return o },
			want: "one\ntw"},
		{name: "stdout only",
			opts: func(o LogOptions) LogOptions { o.Stream = "stdout"; return o },
			want: "one\nthree\nfour\n"},
		{name: "stderr only with tail",
			opts: func(o LogOptions) LogOptions { o.Stream = "stderr"; o.TailLines = 1; return o },
			want: "five\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			if err := copyLogs(t.Context(), &out, path, tt.opts(all), noFollow()); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got %q, want %q", out.String(), tt.want)
			}
		})
	}
}

func TestCopyLogsMissingFile(t *testing.T) {
	t.Parallel()
	err := copyLogs(t.Context(), &bytes.Buffer{}, filepath.Join(t.TempDir(), "none.log"), LogOptions{TailLines: -1}, noFollow())
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not exist", err)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// script is a follower whose waits play the next step: each step changes the log file the
// way a container and the log rotation would between two polls.
type script struct {
	t       *testing.T
	steps   []func()
	running int // how many running() calls answer true
	waits   int
}

func (s *script) follower() follower {
	return follower{
		wait: func(ctx context.Context) error {
			if s.waits >= len(s.steps) {
				s.t.Fatalf("waited %d times, have %d steps", s.waits+1, len(s.steps))
			}
			s.steps[s.waits]()
			s.waits++
			return nil
		},
		running: func(context.Context) bool {
			s.running--
			return s.running >= 0
		},
	}
}

func TestCopyLogsFollow(t *testing.T) {
	t.Parallel()
	t.Run("goes on with new lines and a line written in two writes", func(t *testing.T) {
		t.Parallel()
		path := writeLog(t, "2024-01-01T00:00:01Z stdout F one\n")
		s := &script{t: t, running: 3}
		s.steps = []func(){
			func() { appendTo(t, path, "2024-01-01T00:00:02Z stdout F tw") },
			func() { appendTo(t, path, "o\n2024-01-01T00:00:03Z stderr P thr") },
			func() { appendTo(t, path, "ee\n") },
		}
		var out bytes.Buffer
		if err := copyLogs(t.Context(), &out, path, LogOptions{TailLines: -1, Follow: true}, s.follower()); err != nil {
			t.Fatal(err)
		}
		if want := "one\ntwo\nthree"; out.String() != want {
			t.Errorf("got %q, want %q", out.String(), want)
		}
	})
	t.Run("reads the last words written after the container stopped", func(t *testing.T) {
		t.Parallel()
		path := writeLog(t, "2024-01-01T00:00:01Z stdout F one\n")
		s := &script{t: t, running: 1}
		s.steps = []func(){func() { appendTo(t, path, "2024-01-01T00:00:02Z stdout F two\n") }}
		f := s.follower()
		stopped := f.running
		f.running = func(ctx context.Context) bool {
			r := stopped(ctx)
			if !r {
				appendTo(t, path, "2024-01-01T00:00:03Z stdout F bye\n")
			}
			return r
		}
		var out bytes.Buffer
		if err := copyLogs(t.Context(), &out, path, LogOptions{TailLines: -1, Follow: true}, f); err != nil {
			t.Fatal(err)
		}
		if want := "one\ntwo\nbye\n"; out.String() != want {
			t.Errorf("got %q, want %q", out.String(), want)
		}
	})
	t.Run("crosses a rotation", func(t *testing.T) {
		t.Parallel()
		path := writeLog(t, "2024-01-01T00:00:01Z stdout F one\n")
		s := &script{t: t, running: 2}
		s.steps = []func(){
			func() {
				appendTo(t, path, "2024-01-01T00:00:02Z stdout F two\n")
				if err := os.Rename(path, path+".20240101-000002"); err != nil {
					t.Fatal(err)
				}
				appendTo(t, path, "2024-01-01T00:00:03Z stdout F three\n")
			},
			func() { appendTo(t, path, "2024-01-01T00:00:04Z stdout F four\n") },
		}
		var out bytes.Buffer
		if err := copyLogs(t.Context(), &out, path, LogOptions{TailLines: 1, Follow: true}, s.follower()); err != nil {
			t.Fatal(err)
		}
		if want := "one\ntwo\nthree\nfour\n"; out.String() != want {
			t.Errorf("got %q, want %q", out.String(), want)
		}
	})
	t.Run("tail then follow", func(t *testing.T) {
		t.Parallel()
		path := writeLog(t, sampleLog)
		s := &script{t: t, running: 1}
		s.steps = []func(){func() { appendTo(t, path, "2024-01-01T00:00:06Z stdout F six\n") }}
		var out bytes.Buffer
		if err := copyLogs(t.Context(), &out, path, LogOptions{TailLines: 1, Follow: true}, s.follower()); err != nil {
			t.Fatal(err)
		}
		if want := "five\nsix\n"; out.String() != want {
			t.Errorf("got %q, want %q", out.String(), want)
		}
	})
	t.Run("stops when the client goes", func(t *testing.T) {
		t.Parallel()
		path := writeLog(t, "2024-01-01T00:00:01Z stdout F one\n")
		ctx, cancel := context.WithCancel(t.Context())
		f := follower{
			wait:    func(ctx context.Context) error { cancel(); return ctx.Err() },
			running: func(context.Context) bool { return true },
		}
		var out bytes.Buffer
		if err := copyLogs(ctx, &out, path, LogOptions{TailLines: -1, Follow: true}, f); err != nil {
			t.Fatal(err)
		}
		if want := "one\n"; out.String() != want {
			t.Errorf("got %q, want %q", out.String(), want)
		}
	})
	t.Run("limit bytes ends a follow", func(t *testing.T) {
		t.Parallel()
		path := writeLog(t, "2024-01-01T00:00:01Z stdout F one\n")
		s := &script{t: t, running: 5}
		s.steps = []func(){func() { appendTo(t, path, "2024-01-01T00:00:02Z stdout F "+strings.Repeat("x", 10)+"\n") }}
		var out bytes.Buffer
		if err := copyLogs(t.Context(), &out, path, LogOptions{TailLines: -1, Follow: true, LimitBytes: 8}, s.follower()); err != nil {
			t.Fatal(err)
		}
		if want := "one\nxxxx"; out.String() != want {
			t.Errorf("got %q, want %q", out.String(), want)
		}
	})
}

func TestLimitWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	lw := &limitWriter{w: &out, n: 5}
	if n, err := lw.Write([]byte("abc")); n != 3 || err != nil {
		t.Fatalf("first write = %d, %v", n, err)
	}
	if n, err := lw.Write([]byte("defg")); n != 2 || !errors.Is(err, errLimitReached) {
		t.Fatalf("second write = %d, %v", n, err)
	}
	if n, err := lw.Write([]byte("h")); n != 0 || !errors.Is(err, errLimitReached) {
		t.Fatalf("third write = %d, %v", n, err)
	}
	if out.String() != "abcde" {
		t.Fatalf("wrote %q", out.String())
	}
}
