package images

import (
	"encoding/binary"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PauseImage is the name of the built-in sandbox image. It carries upstream's name so pods
// and tools that name the pause image find it; it is never pulled.
const PauseImage = "registry.k8s.io/pause:3.10"

// The pause program is the process of every pod sandbox: it holds the pod's namespaces
// open, reaps the zombies of a shared process namespace, and exits 0 on SIGINT or SIGTERM.
// It is a few dozen machine instructions, so Capstan carries it as code and writes the
// executable itself: no toolchain, no download, the same bytes on every node.
//
// The program, per architecture (the listings are the source of the bytes below):
//
//	set := ^sigset(0)                      // every signal
//	rt_sigprocmask(SIG_BLOCK, &set, nil, 8) // blocked signals queue, even for PID 1
//	for {
//		switch rt_sigtimedwait(&set, nil, nil, 8) {
//		case SIGCHLD:
//			for wait4(-1, nil, WNOHANG, nil) > 0 {
//			}
//		case SIGINT, SIGTERM:
//			exit_group(0)
//		}
//	}
var pauseCode = map[string]struct {
	machine uint16 // ELF e_machine
	code    []byte
}{
	"amd64": {machine: 62, code: []byte{
		0x6a, 0xff, //                         push $-1             set on the stack
		0x31, 0xff, //                         xor  edi, edi        SIG_BLOCK
		0x48, 0x89, 0xe6, //                   mov  rsi, rsp
		0x31, 0xd2, //                         xor  edx, edx
		0x41, 0xba, 0x08, 0x00, 0x00, 0x00, // mov  r10d, 8
		0xb8, 0x0e, 0x00, 0x00, 0x00, //       mov  eax, 14         rt_sigprocmask
		0x0f, 0x05, //                         syscall
		// wait:
		0x48, 0x89, 0xe7, //                   mov  rdi, rsp
		0x31, 0xf6, //                         xor  esi, esi
		0x31, 0xd2, //                         xor  edx, edx
		0x41, 0xba, 0x08, 0x00, 0x00, 0x00, // mov  r10d, 8
		0xb8, 0x80, 0x00, 0x00, 0x00, //       mov  eax, 128        rt_sigtimedwait
		0x0f, 0x05, //                         syscall
		0x83, 0xf8, 0x11, //                   cmp  eax, SIGCHLD
		0x74, 0x0c, //                         je   reap
		0x83, 0xf8, 0x02, //                   cmp  eax, SIGINT
		0x74, 0x23, //                         je   done
		0x83, 0xf8, 0x0f, //                   cmp  eax, SIGTERM
		0x74, 0x1e, //                         je   done
		0xeb, 0xdb, //                         jmp  wait
		// reap:
		0xbf, 0xff, 0xff, 0xff, 0xff, //       mov  edi, -1
		0x31, 0xf6, //                         xor  esi, esi
		0xba, 0x01, 0x00, 0x00, 0x00, //       mov  edx, WNOHANG
		0x45, 0x31, 0xd2, //                   xor  r10d, r10d
		0xb8, 0x3d, 0x00, 0x00, 0x00, //       mov  eax, 61         wait4
		0x0f, 0x05, //                         syscall
		0x85, 0xc0, //                         test eax, eax
		0x7f, 0xe6, //                         jg   reap
		0xeb, 0xbf, //                         jmp  wait
		// done:
		0x31, 0xff, //                         xor  edi, edi
		0xb8, 0xe7, 0x00, 0x00, 0x00, //       mov  eax, 231        exit_group
		0x0f, 0x05, //                         syscall
	}},
	"arm64": {machine: 183, code: arm64Words(
		0x92800009, // mov  x9, #-1
		0xf81f0fe9, // str  x9, [sp, #-16]!      set on the stack
		0xaa1f03e0, // mov  x0, xzr              SIG_BLOCK
		0x910003e1, // mov  x1, sp
		0xaa1f03e2, // mov  x2, xzr
		0xb27d03e3, // mov  x3, #8
		0xd28010e8, // mov  x8, #135             rt_sigprocmask
		0xd4000001, // svc  #0
		// wait:
		0x910003e0, // mov  x0, sp
		0xaa1f03e1, // mov  x1, xzr
		0xaa1f03e2, // mov  x2, xzr
		0xb27d03e3, // mov  x3, #8
		0xd2801128, // mov  x8, #137             rt_sigtimedwait
		0xd4000001, // svc  #0
		0x7100441f, // cmp  w0, #SIGCHLD
		0x540000c0, // b.eq reap
		0x7100081f, // cmp  w0, #SIGINT
		0x540001a0, // b.eq done
		0x71003c1f, // cmp  w0, #SIGTERM
		0x54000160, // b.eq done
		0x17fffff4, // b    wait
		// reap:
		0x92800000, // mov  x0, #-1
		0xaa1f03e1, // mov  x1, xzr
		0xb24003e2, // mov  x2, #WNOHANG
		0xaa1f03e3, // mov  x3, xzr
		0xd2802088, // mov  x8, #260             wait4
		0xd4000001, // svc  #0
		0x7100001f, // cmp  w0, #0
		0x54ffff2c, // b.gt reap
		0x17ffffeb, // b    wait
		// done:
		0xaa1f03e0, // mov  x0, xzr
		0xd2800bc8, // mov  x8, #94              exit_group
		0xd4000001, // svc  #0
	)},
}

func arm64Words(words ...uint32) []byte {
	out := make([]byte, 0, 4*len(words))
	for _, w := range words {
		out = binary.LittleEndian.AppendUint32(out, w)
	}
	return out
}

// PauseBinary returns the pause program for goarch ("amd64" or "arm64") as a static
// linux ELF executable: one header, one loadable segment, the code.
func PauseBinary(goarch string) ([]byte, error) {
	prog, ok := pauseCode[goarch]
	if !ok {
		return nil, fmt.Errorf("no built-in pause program for %s (built in for amd64 and arm64)", goarch)
	}
	const (
		base       = 0x400000
		headerSize = 64 // ELF64 file header
		phSize     = 56 // one program header
		codeOffset = headerSize + phSize
	)
	size := uint64(codeOffset + len(prog.code))
	le := binary.LittleEndian
	b := make([]byte, 0, size)
	// File header.
	b = append(b, 0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little endian */, 1 /* version */, 0 /* System V ABI */)
	b = append(b, make([]byte, 8)...) // ABI version and padding
	b = le.AppendUint16(b, 2)         // ET_EXEC
	b = le.AppendUint16(b, prog.machine)
	b = le.AppendUint32(b, 1)               // version
	b = le.AppendUint64(b, base+codeOffset) // entry point
	b = le.AppendUint64(b, headerSize)      // program headers' offset
	b = le.AppendUint64(b, 0)               // no section headers
	b = le.AppendUint32(b, 0)               // flags
	b = le.AppendUint16(b, headerSize)      // this header's size
	b = le.AppendUint16(b, phSize)          // a program header's size
	b = le.AppendUint16(b, 1)               // one program header
	b = le.AppendUint16(b, 64)              // a section header's size
	b = append(b, 0, 0, 0, 0)               // no sections, no section names
	// Program header: the whole file loaded read+execute at base.
	b = le.AppendUint32(b, 1)       // PT_LOAD
	b = le.AppendUint32(b, 4|1)     // PF_R|PF_X
	b = le.AppendUint64(b, 0)       // offset
	b = le.AppendUint64(b, base)    // virtual address
	b = le.AppendUint64(b, base)    // physical address
	b = le.AppendUint64(b, size)    // size in the file
	b = le.AppendUint64(b, size)    // size in memory
	b = le.AppendUint64(b, 0x10000) // alignment (64 KiB pages included)
	return append(b, prog.code...), nil
}

// PauseImageFor is the built-in sandbox image for goarch: /pause as the entrypoint,
// running as root (the sandbox's user is set by the runtime from the pod).
func PauseImageFor(goarch string) (v1.Image, error) {
	bin, err := PauseBinary(goarch)
	if err != nil {
		return nil, err
	}
	return Pack(map[string]File{"pause": {Data: bin, Mode: 0o755}},
		ImageConfig{Entrypoint: []string{"/pause"}, Architecture: goarch})
}
