package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/roomcast/roomcast/internal/config"
)

// A flag's value comes from, in order of precedence: the command line, its
// ROOMCAST_* environment variable, the configuration file (serve --config),
// and the flag's default. The file is the bottom layer because it is
// shared and checked in; the environment and the command line are how one
// deployment or one run departs from it.

// newFlagSet returns a flag set whose usage goes to stderr and whose
// defaults can be overridden by the environment.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("roomcast "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// envName is the environment variable of a flag: --grpc-addr is
// ROOMCAST_GRPC_ADDR.
func envName(flagName string) string {
	return "ROOMCAST_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// configKey is the configuration file key of a flag: --grpc-addr is
// grpc_addr.
func configKey(flagName string) string { return strings.ReplaceAll(flagName, "-", "_") }

// parseWithEnv sets every flag not given on the command line from its
// environment variable, if set.
func parseWithEnv(fs *flag.FlagSet, args []string) error {
	_, err := parseExplicit(fs, args)
	return err
}

// parseExplicit is parseWithEnv that also returns the flags set on the
// command line or by the environment: those a configuration file must not
// override.
func parseExplicit(fs *flag.FlagSet, args []string) (map[string]bool, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		value, ok := os.LookupEnv(envName(f.Name))
		if explicit[f.Name] || !ok || err != nil {
			return
		}
		if e := f.Value.Set(value); e != nil {
			err = fmt.Errorf("%s=%q: %w", envName(f.Name), value, e)
		}
		explicit[f.Name] = true
	})
	return explicit, err
}

// setFromFile sets every flag that is not explicit from the configuration
// file's setting of the same name, when the file has one.
func setFromFile(fs *flag.FlagSet, explicit map[string]bool, cfg *config.Config) error {
	settings := cfg.Settings()
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		value, ok := settings[configKey(f.Name)]
		if explicit[f.Name] || !ok || err != nil {
			return
		}
		// The loader has checked the value, so this fails only if a flag
		// and its key disagree about what a valid value is.
		if e := f.Value.Set(value); e != nil {
			err = fmt.Errorf("%s: %s: %w", cfg.File, configKey(f.Name), e)
		}
	})
	return err
}
