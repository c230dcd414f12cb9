package main

import (
	"errors"
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
// defaults can be overridden by the environment. about says what the
// command does; -h prints it with the flags and how the environment (and,
// for serve, the configuration file) sets them.
func newFlagSet(name, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("roomcast "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		example := exampleFlag(fs)
		out := fs.Output()
		fmt.Fprintf(out, "usage: roomcast %s [flags]\n\n%s\n\n", name, about)
		fmt.Fprintf(out, "Every flag can also be set by the ROOMCAST_* environment variable named\n"+
			"after it: --%s is %s.\n", example, envName(example))
		if name == "serve" {
			fmt.Fprintf(out, "Every flag but --config is also a key of the configuration file named\n"+
				"after it: --%s is %s.\n"+
				"The command line wins over the environment, which wins over the file.\n", example, configKey(example))
		} else {
			fmt.Fprintf(out, "The command line wins over the environment.\n")
		}
		fmt.Fprintf(out, "\nflags:\n")
		fs.PrintDefaults()
	}
	return fs
}

// exampleFlag picks a flag to show how names map: one with a dash, if
// any, shows that dashes become underscores.
func exampleFlag(fs *flag.FlagSet) string {
	var first, dashed string
	fs.VisitAll(func(f *flag.Flag) {
		if first == "" {
			first = f.Name
		}
		if dashed == "" && strings.Contains(f.Name, "-") {
			dashed = f.Name
		}
	})
	if dashed != "" {
		return dashed
	}
	return first
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
			err = envError(f, value, e)
		}
		explicit[f.Name] = true
	})
	return explicit, err
}

// envError says what an environment variable should have held. Unlike
// a bad flag, which the flag package answers with the usage, a bad
// variable is far from the command line, so the message names the flag
// it stands for and the form of value it wants.
func envError(f *flag.Flag, value string, err error) error {
	kind, usage := flag.UnquoteUsage(f)
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		kind = "bool"
	}
	want, known := valueForms[kind]
	if !known {
		// A flag of its own type says in its error what it wants.
		return fmt.Errorf("%s=%q: --%s: %w", envName(f.Name), value, f.Name, err)
	}
	usage, _, _ = strings.Cut(usage, "\n")
	msg := fmt.Sprintf("%s=%q: want %s for --%s (%s)", envName(f.Name), value, want, f.Name, usage)
	// "parse error" is the flag package's word for "not a "+kind; a range
	// error says more than that.
	if reason := err.Error(); reason != "parse error" {
		msg += ": " + reason
	}
	return errors.New(msg)
}

// valueForms describes, by the type name flag.UnquoteUsage gives, the
// values a flag takes.
var valueForms = map[string]string{
	"bool":     "true or false",
	"duration": "a duration such as 10s or 1m30s",
	"int":      "a whole number",
	"uint":     "a whole number, 0 or more",
	"float":    "a number",
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
