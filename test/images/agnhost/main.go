// Command agnhost is the project's test server, in the spirit of upstream's agnhost: one
// static binary, several subcommands, nothing but the standard library.
//
//	agnhost [netexec] [--http-port=8080] [--udp-port=8081] [--fail-health-after=D] [--delay-shutdown=D]
//	agnhost pause
//	agnhost client [flags] TARGET   (see client.go)
//
// netexec serves HTTP:
//
//	/ and /hostname       the host name (the pod name)
//	/healthz              200 "ok", or 503 once /healthz/fail was called (or --fail-health-after)
//	/healthz/fail, /ok    make /healthz fail, or pass again
//	/readyz, /readyz/fail, /readyz/ok   the same for readiness
//	/env                  the environment, one KEY=VALUE per line, sorted
//	/exit?code=N          answers, then exits with code N
//	/sleep?duration=D     answers after D (a Go duration or seconds)
//	/echo?msg=S           S (or the request body)
//	/log?msg=S[&stream=stderr]   writes S to stdout (or stderr)
//	/clientip             the client's address
//
// and UDP: "hostname" answers the host name, "echo S" answers S, "clientip" the client's
// address; anything else is echoed. SIGTERM ends it with code 0 (after --delay-shutdown).
//
// pause sleeps until SIGTERM or SIGINT and exits 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "netexec"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	switch cmd {
	case "netexec":
		return netexec(ctx, args, stdout, stderr)
	case "grpc-health":
		return grpcHealth(ctx, args, stdout, stderr)
	case "pause":
		<-ctx.Done()
		return 0
	case "client":
		return client(ctx, args, stdout, stderr)
	}
	fmt.Fprintf(stderr, "agnhost: unknown command %q (netexec, pause)\n", cmd)
	return 2
}

func netexec(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("netexec", flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpPort := fs.Int("http-port", 8080, "HTTP port")
	udpPort := fs.Int("udp-port", 8081, "UDP port; 0 for none")
	failAfter := fs.Duration("fail-health-after", 0, "make /healthz fail after this long; 0 never")
	delay := fs.Duration("delay-shutdown", 0, "wait this long after SIGTERM before exiting")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	hostname, _ := os.Hostname()
	exitc := make(chan int, 1)
	srv := newServer(hostname, stdout, stderr, func(code int) { exitc <- code })
	if *failAfter > 0 {
		time.AfterFunc(*failAfter, func() { srv.healthy.Store(false) })
	}
	l, err := net.Listen("tcp", ":"+strconv.Itoa(*httpPort))
	if err != nil {
		fmt.Fprintf(stderr, "agnhost: %v\n", err)
		return 1
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = httpSrv.Serve(l) }()
	if *udpPort > 0 {
		pc, err := net.ListenPacket("udp", ":"+strconv.Itoa(*udpPort))
		if err != nil {
			fmt.Fprintf(stderr, "agnhost: %v\n", err)
			return 1
		}
		defer pc.Close()
		go serveUDP(pc, hostname)
	}
	fmt.Fprintf(stdout, "agnhost netexec serving HTTP on :%d and UDP on :%d\n", *httpPort, *udpPort)
	select {
	case <-ctx.Done():
		fmt.Fprintln(stdout, "agnhost: terminating")
		time.Sleep(*delay)
		return 0
	case code := <-exitc:
		// Let the answer to /exit reach its client first.
		shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = httpSrv.Shutdown(shutdownCtx)
		return code
	}
}

// server is netexec's HTTP handler.
type server struct {
	hostname       string
	stdout, stderr io.Writer
	exit           func(code int)
	healthy, ready atomic.Bool
	mux            *http.ServeMux
}

func newServer(hostname string, stdout, stderr io.Writer, exit func(int)) *server {
	s := &server{hostname: hostname, stdout: stdout, stderr: stderr, exit: exit, mux: http.NewServeMux()}
	s.healthy.Store(true)
	s.ready.Store(true)
	s.mux.HandleFunc("/", s.serveHostname)
	s.mux.HandleFunc("/hostname", s.serveHostname)
	for path, flag := range map[string]*atomic.Bool{"/healthz": &s.healthy, "/readyz": &s.ready} {
		s.mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			if !flag.Load() {
				http.Error(w, "unhealthy", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, "ok")
		})
		s.mux.HandleFunc(path+"/fail", func(w http.ResponseWriter, _ *http.Request) { flag.Store(false); fmt.Fprint(w, "failing") })
		s.mux.HandleFunc(path+"/ok", func(w http.ResponseWriter, _ *http.Request) { flag.Store(true); fmt.Fprint(w, "ok") })
	}
	s.mux.HandleFunc("/env", s.serveEnv)
	s.mux.HandleFunc("/exit", s.serveExit)
	s.mux.HandleFunc("/sleep", s.serveSleep)
	s.mux.HandleFunc("/echo", s.serveEcho)
	s.mux.HandleFunc("/log", s.serveLog)
	s.mux.HandleFunc("/clientip", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.RemoteAddr) })
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *server) serveHostname(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" && r.URL.Path != "/hostname" {
		http.NotFound(w, r)
		return
	}
	fmt.Fprint(w, s.hostname)
}

func (s *server) serveEnv(w http.ResponseWriter, _ *http.Request) {
	env := os.Environ()
	sort.Strings(env)
	fmt.Fprint(w, strings.Join(env, "\n")+"\n")
}

func (s *server) serveExit(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.URL.Query().Get("code"))
	if err != nil || code < 0 || code > 255 {
		http.Error(w, "code must be 0..255", http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "exiting %d", code)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	s.exit(code)
}

// parseDuration reads a Go duration or a number of seconds.
func parseDuration(v string) (time.Duration, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return d, nil
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || secs < 0 {
		return 0, fmt.Errorf("%q is not a duration", v)
	}
	return time.Duration(secs * float64(time.Second)), nil
}

func (s *server) serveSleep(w http.ResponseWriter, r *http.Request) {
	d, err := parseDuration(r.URL.Query().Get("duration"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case <-time.After(d):
		fmt.Fprintf(w, "slept %s", d)
	case <-r.Context().Done():
	}
}

func (s *server) serveEcho(w http.ResponseWriter, r *http.Request) {
	if msg := r.URL.Query().Get("msg"); msg != "" || r.Method == http.MethodGet {
		fmt.Fprint(w, msg)
		return
	}
	_, _ = io.Copy(w, io.LimitReader(r.Body, 1<<20))
}

func (s *server) serveLog(w http.ResponseWriter, r *http.Request) {
	out := s.stdout
	if r.URL.Query().Get("stream") == "stderr" {
		out = s.stderr
	}
	fmt.Fprintln(out, r.URL.Query().Get("msg"))
	fmt.Fprint(w, "ok")
}

// udpAnswer is the answer to one datagram.
func udpAnswer(msg, hostname, client string) string {
	msg = strings.TrimRight(msg, "\r\n")
	switch {
	case msg == "hostname":
		return hostname
	case msg == "clientip":
		return client
	case strings.HasPrefix(msg, "echo "):
		return strings.TrimPrefix(msg, "echo ")
	}
	return msg
}

func serveUDP(pc net.PacketConn, hostname string) {
	buf := make([]byte, 64<<10)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		_, _ = pc.WriteTo([]byte(udpAnswer(string(buf[:n]), hostname, addr.String())), addr)
	}
}
