# Every target is a script in hack/; see each script for what it does.
.PHONY: build run test bench lint clean

build:
	hack/build.sh

# Arguments for `capstan server`: make run ARGS="--disable-agent"
run:
	hack/run.sh $(ARGS)

test:
	hack/setup.sh --for test
	hack/test.sh

bench:
	hack/bench.sh

lint:
	hack/lint.sh

clean:
	rm -rf bin _output
