package procmem

import (
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"weak"
)

func TestReadOnlyMappings(t *testing.T) {
	t.Parallel()
	const exe = "/usr/local/bin/capstan"
	maps := strings.Join([]string{
		"00400000-01c00000 r-xp 00000000 fe:00 1234 /usr/local/bin/capstan",
		"01c00000-03000000 r--p 01800000 fe:00 1234 /usr/local/bin/capstan",
		"03000000-03100000 rw-p 02c00000 fe:00 1234 /usr/local/bin/capstan",
		"03100000-03200000 rw-p 00000000 00:00 0",
		"c000000000-c004000000 rw-p 00000000 00:00 0",
		"7f0000000000-7f0000001000 r--p 00000000 fe:00 99 /usr/lib/x86_64-linux-gnu/libc.so.6",
		"7f0000002000-7f0000003000 r--s 00000000 fe:00 1234 /usr/local/bin/capstan",
		"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]",
		"",
	}, "\n")
	got, err := readOnlyMappings(strings.NewReader(maps), exe)
	if err != nil {
		t.Fatal(err)
	}
	want := []Mapping{{0x400000, 0x1c00000}, {0x1c00000, 0x3000000}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mappings = %#v, want %#v (code and read-only data of the executable only)", got, want)
	}
	for _, bad := range []string{
		"zz-01c00000 r-xp 00000000 fe:00 1 " + exe,
		"01c00000 r-xp 00000000 fe:00 1 " + exe,
		"02000000-01000000 r-xp 00000000 fe:00 1 " + exe,
	} {
		if _, err := readOnlyMappings(strings.NewReader(bad), exe); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestFileRuns(t *testing.T) {
	t.Parallel()
	const (
		file = pagePresent | pageFile
		anon = pagePresent
		out  = 0
	)
	m := Mapping{Start: 0x10000, End: 0x10000 + 8*0x1000}
	for _, tc := range []struct {
		name  string
		flags []uint64
		want  []Mapping
	}{
		{"all file pages", []uint64{file, file, file, file, file, file, file, file}, []Mapping{m}},
		{"nothing resident", []uint64{out, out, out, out, out, out, out, out}, nil},
		{"relocated pages kept", []uint64{file, file, anon, file, out, file, file, anon},
			[]Mapping{{0x10000, 0x12000}, {0x13000, 0x14000}, {0x15000, 0x17000}}},
	} {
		if got := fileRuns(m, tc.flags, 0x1000); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: runs = %#v, want %#v", tc.name, got, tc.want)
		}
	}
}

// rssFile reads this process's resident file-backed memory in KiB.
func rssFile(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}

// TestReleaseCodeDropsResidentCodeAndKeepsRunning releases the test binary's code, checks
// the file-backed resident memory fell, and that the process still runs what it released.
func TestReleaseCodeDropsResidentCodeAndKeepsRunning(t *testing.T) {
	before := rssFile(t)
	n, err := ReleaseCode()
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("released nothing: no read-only mapping of the executable found")
	}
	after := rssFile(t)
	if after >= before {
		t.Fatalf("RssFile %d KiB before, %d KiB after releasing %d bytes", before, after, n)
	}
	// Code and constant data fault back in.
	if got := strings.Repeat("ab", 3) + strconv.Itoa(42); got != "ababab42" {
		t.Fatalf("after release: %q", got)
	}
	if _, err := ReleaseCode(); err != nil {
		t.Fatalf("second release: %v", err)
	}
}

// TestReleaseHeapReturnsStartupGarbage drops a large allocation, as start-up does, and checks
// that ReleaseHeap hands its pages back to the system without waiting for the runtime's
// own pacing.
func TestReleaseHeapReturnsStartupGarbage(t *testing.T) {
	const size = 64 << 20
	garbage := make([]byte, size)
	for i := range garbage {
		garbage[i] = byte(i)
	}
	garbage = nil
	ReleaseHeap()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapInuse >= size {
		t.Fatalf("HeapInuse %d bytes: the %d bytes of garbage were not collected", m.HeapInuse, size)
	}
	if kept := m.HeapIdle - m.HeapReleased; kept >= size/4 {
		t.Fatalf("%d bytes of free heap kept from the system after collecting %d bytes of garbage", kept, size)
	}
	_ = garbage
}

// TestReleaseHeapFreesPooledBuffers checks that what a sync.Pool held at start-up (a buffer
// grown to the largest document encoded) is freed too: a pool keeps its contents through
// one collection.
func TestReleaseHeapFreesPooledBuffers(t *testing.T) {
	var pool sync.Pool
	buf := make([]byte, 1<<20)
	w := weak.Make(&buf[0])
	pool.Put(buf)
	buf = nil
	ReleaseHeap()
	if w.Value() != nil {
		t.Fatal("a buffer cached in a sync.Pool outlived ReleaseHeap")
	}
	runtime.KeepAlive(&pool)
}
