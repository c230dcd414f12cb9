package config

import (
	"errors"
	"fmt"
	"sort"
)

// Error is one mistake in a configuration file, located so that the
// operator can go straight to it.
type Error struct {
	File string
	Line int    // 0 when the mistake is the file as a whole
	Key  string // key path, e.g. namespaces[1].auth.jwt; "" for the file
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.Line == 0 && e.Key == "":
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Line == 0:
		return fmt.Sprintf("%s: %s: %s", e.File, e.Key, e.Msg)
	case e.Key == "":
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}

// joinErrors reports every mistake at once, one per line in file order,
// so that fixing a file does not take one start-up per typo. errors.As
// finds each *Error.
func joinErrors(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	// Checks that involve several keys run after the keys are decoded.
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	list := make([]error, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return errors.Join(list...)
}
