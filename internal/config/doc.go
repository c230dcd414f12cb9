// Package config loads the configuration file of `roomcast serve`: the
// server's settings (addresses, admin token, log format, shutdown timeout)
// and, for each namespace or namespace pattern, the policy it enforces
// (authentication, claim-based access, rooms, limits, events), built as
// server/policy values that the node installs as middleware.
//
// A configuration mistake must stop start-up rather than fall back to a
// default, so the loader walks the YAML node tree itself instead of
// unmarshalling into structs: every error names the file, the line and the
// key path (`roomcast.yaml:14: namespaces[1].auth.jwt.algorithms[0]:
// unknown algorithm "HS999"`), unknown and repeated keys are errors, and
// all errors of a file are reported at once. Files a configuration refers
// to (token lists, secrets, keys) are read and checked at load time, with
// relative paths taken from the configuration file's directory.
package config
