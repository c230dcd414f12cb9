package server

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain is the one for both the package's own tests and its server_test
// tests, which share a test binary.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
