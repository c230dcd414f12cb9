package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// Every scenario must leave no goroutine behind: a load generator that
// leaks one per client would leak thousands.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
