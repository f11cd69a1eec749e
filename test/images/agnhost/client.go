package main

// agnhost client [--count=1] [--interval=0] [--timeout=2s] [--timestamps] [--until=S] TARGET
//
// client asks TARGET count times (0: until --until or forever) and prints one line per
// attempt:
//
//	http://host:port/path   a GET on a new connection each time; the body
//	udp://host:port[/msg]   sends msg (default "hostname"); the answer
//	tcp://host:port         connects and closes; "connected"
//	lookup:name             resolves name; its canonical name and sorted addresses
//
// A failed attempt prints "refused" when the connection was refused, else "error: <why>".
// --timestamps prefixes each line with the time (RFC 3339, nanoseconds, UTC); --until stops
// after the first line (without timestamp) equal to S. It exits 0 when every attempt
// succeeded or --until was met, 1 otherwise, 2 on bad arguments.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

func client(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 1, "attempts; 0 until --until is met (or forever)")
	interval := fs.Duration("interval", 0, "pause between attempts")
	timeout := fs.Duration("timeout", 2*time.Second, "time allowed to one attempt")
	stamps := fs.Bool("timestamps", false, "prefix each line with the time")
	until := fs.String("until", "", "stop after a line equal to this")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || *count < 0 || *timeout <= 0 || *interval < 0 {
		fmt.Fprintln(stderr, "agnhost client: want one TARGET, --count >= 0, --timeout > 0, --interval >= 0")
		return 2
	}
	attempt, err := newAttempt(fs.Arg(0), *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "agnhost client: %v\n", err)
		return 2
	}
	failed := false
	for i := 0; *count == 0 || i < *count; i++ {
		if i > 0 && *interval > 0 {
			select {
			case <-ctx.Done():
				return 1
			case <-time.After(*interval):
			}
		}
		line, err := attempt(ctx)
		if err != nil {
			failed = true
			line = "error: " + err.Error()
			if errors.Is(err, syscall.ECONNREFUSED) {
				line = "refused"
			}
		}
		if *stamps {
			fmt.Fprintln(stdout, time.Now().UTC().Format(time.RFC3339Nano), line)
		} else {
			fmt.Fprintln(stdout, line)
		}
		if *until != "" && line == *until {
			return 0
		}
		if ctx.Err() != nil {
			return 1
		}
	}
	if failed || *until != "" {
		return 1
	}
	return 0
}

// newAttempt parses target into the function making one attempt.
func newAttempt(target string, timeout time.Duration) (func(context.Context) (string, error), error) {
	if name, ok := strings.CutPrefix(target, "lookup:"); ok {
		if name == "" {
			return nil, errors.New("lookup: needs a name")
		}
		return func(ctx context.Context) (string, error) { return lookup(ctx, name, timeout) }, nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("target %q has no host", target)
	}
	switch u.Scheme {
	case "http":
		c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
		return func(ctx context.Context) (string, error) { return httpGet(ctx, c, target) }, nil
	case "udp":
		msg := strings.TrimPrefix(u.Path, "/")
		if msg == "" {
			msg = "hostname"
		}
		return func(ctx context.Context) (string, error) { return askUDP(ctx, u.Host, msg, timeout) }, nil
	case "tcp":
		return func(ctx context.Context) (string, error) {
			d := net.Dialer{Timeout: timeout}
			conn, err := d.DialContext(ctx, "tcp", u.Host)
			if err != nil {
				return "", err
			}
			conn.Close()
			return "connected", nil
		}, nil
	}
	return nil, fmt.Errorf("target %q: scheme must be http, udp, tcp or lookup", target)
}

func httpGet(ctx context.Context, c *http.Client, target string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %q", resp.Status, body)
	}
	return strings.TrimSpace(string(body)), nil
}

func askUDP(ctx context.Context, addr, msg string, timeout time.Duration) (string, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, 64<<10)
	n, err := conn.Read(buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// lookup is the canonical name of name and its sorted addresses, space-separated.
func lookup(ctx context.Context, name string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cname, err := net.DefaultResolver.LookupCNAME(ctx, name)
	if err != nil {
		return "", err
	}
	addrs, err := net.DefaultResolver.LookupHost(ctx, name)
	if err != nil {
		return "", err
	}
	slices.Sort(addrs)
	return strings.Join(append([]string{cname}, addrs...), " "), nil
}
