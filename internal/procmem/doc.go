// Package procmem trims the process's resident memory of what only start-up needed.
//
// Capstan is one large binary: every component, and kubectl, are linked in. Starting any
// role runs the package initialisers of all of them, which maps in megabytes of code and
// read-only data that the running role never touches again. Those pages are clean copies of
// the executable file, so the process can unmap them safely: the page cache keeps them, and
// any that are needed again come back on the next access as minor faults. Start-up also
// allocates far more heap than a role keeps; once it is over, the garbage is collected and
// the free heap returned to the system in one go.
//
// Of the executable, this package only ever touches the read-only mappings; writable data
// and stacks are never released, and the heap only through the Go runtime.
package procmem
