//go:build !unix

package bench

// raiseNoFile has nothing to raise where there are no rlimits.
func raiseNoFile(int) string { return "" }
