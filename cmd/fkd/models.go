package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/models"
)

func init() {
	register(&command{name: "models", run: runModels,
		summary: "list the model architectures with their size, multiply-adds per face and options",
		usage:   "[SPEC...]   (e.g. \"fkd models\" or \"fkd models fpn:width=24 cnn3\")"})
}

func runModels(fs *pflag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	var specs []models.Spec
	for _, a := range fs.Args() {
		s, err := models.ParseSpec(a)
		if err != nil {
			return usagef("%v", err)
		}
		specs = append(specs, s)
	}
	zoo, err := models.Zoo(specs)
	if err != nil {
		return usagef("%v", err) // the specs come from the command line
	}
	return models.WriteZoo(os.Stdout, zoo)
}
