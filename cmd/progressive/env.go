package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// flags is a flag set whose flags each default to an environment variable.
type flags struct {
	*flag.FlagSet
	envErrs []error
}

func newFlags(name, synopsis string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: progressive %s\n\nFlags (each also read from the environment variable shown):\n", synopsis)
		fs.PrintDefaults()
	}
	return &flags{FlagSet: fs}
}

func (f *flags) string(name, env, def, help string) *string {
	if v, ok := os.LookupEnv(env); ok {
		def = v
	}
	return f.String(name, def, help+" ($"+env+")")
}

func (f *flags) duration(name, env string, def time.Duration, help string) *time.Duration {
	if v, ok := os.LookupEnv(env); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.envErrs = append(f.envErrs, fmt.Errorf("%s=%q is not a duration such as 30s or 2m", env, v))
		} else {
			def = d
		}
	}
	return f.Duration(name, def, help+" ($"+env+")")
}

func (f *flags) int64(name, env string, def int64, help string) *int64 {
	if v, ok := os.LookupEnv(env); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			f.envErrs = append(f.envErrs, fmt.Errorf("%s=%q is not a positive whole number", env, v))
		} else {
			def = n
		}
	}
	return f.Int64(name, def, help+" ($"+env+")")
}

// parse parses args and reports invalid environment values first.
func (f *flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if len(f.envErrs) > 0 {
		return f.envErrs[0]
	}
	return nil
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return true
		}
	}
	return false
}
