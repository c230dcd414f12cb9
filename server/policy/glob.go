package policy

import (
	"fmt"
	"path"
)

// matchAny reports whether name matches one of the globs (path.Match
// syntax, where "*" does not cross "/"). A malformed glob matches
// nothing: allow lists fail closed, and Validate refuses malformed globs
// in a policy before they can weaken a deny list.
func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, err := path.Match(g, name); err == nil && ok {
			return true
		}
	}
	return false
}

func checkGlobs(field string, globs []string) error {
	for i, g := range globs {
		if g == "" {
			return fmt.Errorf("%s[%d]: empty glob", field, i)
		}
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("%s[%d]: bad glob %q: %w", field, i, g, err)
		}
	}
	return nil
}
