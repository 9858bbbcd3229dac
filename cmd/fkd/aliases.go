package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/cmd/fkd/internal/flagconfig"
)

// deprecationOutput is where parse says that an old spelling was used.
var deprecationOutput io.Writer = os.Stderr

// alias registers old as a hidden, deprecated spelling of the flag name
// of fs: both set the same value. parse refuses a command line that gives
// both, and says once that old is deprecated when it is used. name must
// be registered first; a mistake there is a programmer's error.
func alias(fs *pflag.FlagSet, old, name string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("fkd: alias of unknown flag --" + name)
	}
	a := fs.VarPF(f.Value, old, "", "old spelling of --"+name)
	a.NoOptDefVal = f.NoOptDefVal
	a.Hidden = true
	if a.Annotations == nil {
		a.Annotations = map[string][]string{}
	}
	a.Annotations[flagconfig.AliasAnnotation] = []string{name}
	for k, v := range f.Annotations {
		if k != flagconfig.AliasAnnotation {
			a.Annotations[k] = v
		}
	}
}

// checkAliases refuses a flag given under its old and new names, and
// says which old spellings were used. Call it after fs.Parse.
func checkAliases(fs *pflag.FlagSet) error {
	var err error
	fs.Visit(func(f *pflag.Flag) {
		name := flagconfig.AliasOf(f)
		if name == "" || err != nil {
			return
		}
		if fs.Changed(name) {
			err = usagef("--%s and --%s are the same flag (--%s is its old name): give it once", name, f.Name, f.Name)
			return
		}
		fmt.Fprintf(deprecationOutput, "fkd: --%s is deprecated and will be removed: use --%s\n", f.Name, name)
	})
	return err
}
