// Package bench holds the control-plane benchmarks behind `make bench` (hack/bench.sh): server
// start to ready, idle memory, pod create/get/update latency and throughput, listing 10,000
// pods and watch fan-out to 1,000 watchers. Each benchmark runs the real `capstan server`
// binary as a subprocess on free loopback ports in a temporary data directory, so the client
// (this test process) and the server have separate heaps and garbage collectors, though they
// share the machine's cores.
//
// The benchmarks measure a fixed amount of work per run and report their numbers with
// b.ReportMetric (p50-ms, p99-ms, MiB, ...); run them once each:
//
//	go test ./test/bench/ -run '^$' -bench . -benchtime 1x -timeout 30m
//
// The targets they are read against live in docs/benchmarks.md, never in pass/fail tests.
// The package has no tests that start servers, so `make test` only compiles it.
package bench
