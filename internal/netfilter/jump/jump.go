// Package jump manages the rules that lead from netfilter's built-in chains (PREROUTING,
// FORWARD, OUTPUT, ...) into a component's own chains: each component (the iptables and
// userspace proxy modes, the pod network) owns its chains whole and enters them by a few
// such jumps, which it checks, adds and removes one by one with iptables, leaving every
// other rule of the built-in chains alone.
package jump

import (
	"context"
	"strconv"
	"strings"
)

// Runner runs a command with stdin and returns its standard output.
type Runner interface {
	Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)
}

// Jump is one rule in a built-in chain.
type Jump struct {
	Table, Chain string
	// Append adds the rule last; otherwise it goes first.
	Append bool
	// Args is the rule's text after the chain name.
	Args []string
}

// RestoreLine is the iptables-restore line that adds the jump.
func (j Jump) RestoreLine() string {
	var b strings.Builder
	if j.Append {
		b.WriteString("-A " + j.Chain)
	} else {
		b.WriteString("-I " + j.Chain + " 1")
	}
	for _, a := range j.Args {
		if strings.ContainsAny(a, " \"") {
			a = strconv.Quote(a)
		}
		b.WriteString(" " + a)
	}
	return b.String()
}

// Missing returns the jumps that are not in their chains.
func Missing(ctx context.Context, run Runner, jumps []Jump) []Jump {
	var out []Jump
	for _, j := range jumps {
		if _, err := run.Run(ctx, nil, "iptables", j.command("-C")...); err != nil {
			out = append(out, j)
		}
	}
	return out
}

// Remove deletes every copy of the jumps (a rule may have been added more than once).
func Remove(ctx context.Context, run Runner, jumps []Jump) {
	for _, j := range jumps {
		for range 10 {
			if _, err := run.Run(ctx, nil, "iptables", j.command("-D")...); err != nil {
				break
			}
		}
	}
}

// command is the iptables arguments that apply op (-C, -D) to the jump.
func (j Jump) command(op string) []string {
	return append([]string{"-w", "-t", j.Table, op, j.Chain}, j.Args...)
}
