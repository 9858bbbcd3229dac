package submission

import (
	"fmt"
	"os"
)

// Inputs reports whether the files a submission needs exist: the test
// file and the lookup table, named in an error by their flags (--test,
// --lookup).
func Inputs(test, lookup string) error {
	for _, f := range []struct{ flag, path string }{{"--test", test}, {"--lookup", lookup}} {
		if f.path == "" {
			return fmt.Errorf("no %s file given", f.flag)
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("%s: %w", f.flag, err)
		}
	}
	return nil
}
