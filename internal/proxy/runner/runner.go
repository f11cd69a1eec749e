// Package runner runs the node tools the proxy modes drive (iptables-restore, iptables,
// nft, conntrack), optionally inside another network namespace. It is the proxy's one
// edge to the operating system's netfilter tools, so unit tests swap it for a Fake.
package runner

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// Runner runs a command with stdin and returns its standard output. A failure's error
// carries the command's standard error.
type Runner interface {
	Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)
}

// Exec runs commands on this machine. Prefix, when set, goes before every command line,
// e.g. {"ip", "netns", "exec", "node1"} to act inside a network namespace.
type Exec struct {
	Prefix []string
}

// Run implements Runner.
func (e Exec) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	argv := append(append(append([]string{}, e.Prefix...), name), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &Error{Command: strings.Join(argv, " "), Err: err, Stderr: strings.TrimSpace(stderr.String())}
	}
	return stdout.Bytes(), nil
}

// Error is a command that failed.
type Error struct {
	Command string
	Err     error
	Stderr  string
}

func (e *Error) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("%s: %v", e.Command, e.Err)
	}
	return fmt.Sprintf("%s: %v: %s", e.Command, e.Err, e.Stderr)
}

func (e *Error) Unwrap() error { return e.Err }

// Call is one command a Fake ran.
type Call struct {
	Line  string // name and arguments joined by spaces
	Stdin string
}

// Fake records the commands it is given and answers them with Respond (nil: empty output,
// no error). Safe for concurrent use.
type Fake struct {
	Respond func(line, stdin string) ([]byte, error)

	mu    sync.Mutex
	calls []Call
}

// Run implements Runner.
func (f *Fake) Run(_ context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	f.mu.Lock()
	f.calls = append(f.calls, Call{Line: line, Stdin: string(stdin)})
	f.mu.Unlock()
	if f.Respond == nil {
		return nil, nil
	}
	return f.Respond(line, string(stdin))
}

// Calls returns the commands run so far and forgets them.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}
