//go:build unix

package bench

import (
	"fmt"
	"syscall"
)

// raiseNoFile lifts the soft open-file limit to the hard limit, since every
// client is a socket, and returns a warning when even the hard limit is
// below what need clients take.
func raiseNoFile(need int) string {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Sprintf("cannot read the open-file limit: %v", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Sprintf("cannot raise the open-file limit to %d: %v", lim.Max, err)
		}
	}
	// A margin for the process's own files, pipes and listeners.
	want := uint64(need) + 128
	if lim.Cur < want {
		return fmt.Sprintf("open-file limit %d is below the %d this run needs (one per connection): raise the hard limit (ulimit -Hn) or lower the counts", lim.Cur, want)
	}
	return ""
}
