package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

func init() {
	register(&command{
		name:    "models",
		summary: "list the model architectures with their size, multiply-adds per face and options",
		usage:   "[SPEC...]   (e.g. \"fkd models\" or \"fkd models fpn:width=24 cnn3\")",
		run:     runModels,
	})
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
	return listModels(os.Stdout, specs)
}

// listModels prints one row per spec, or per registered architecture with
// its defaults when specs is empty: name, parameters, multiply-adds per
// face, options and summary. Each model is built on the CPU to be counted.
func listModels(w io.Writer, specs []models.Spec) error {
	summaries := map[string]string{}
	for _, info := range models.List() {
		summaries[info.Name] = info.Summary
	}
	if len(specs) == 0 {
		for _, info := range models.List() {
			specs = append(specs, models.Spec{Arch: info.Name})
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPARAMS\tMACS/FACE\tOPTIONS\tSUMMARY")
	for _, s := range specs {
		m, err := models.New(s, torch.CPU)
		if err != nil {
			return usagef("%v", err) // the specs come from the command line
		}
		params, macs := models.Count(m)
		spec := m.Spec()
		m.Store().Free()
		var opts []string
		for _, k := range slices.Sorted(maps.Keys(spec.Options)) {
			opts = append(opts, k+"="+spec.Options[k])
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f M\t%s\t%s\n", spec.Arch, params, float64(macs)/1e6, strings.Join(opts, ","), summaries[spec.Arch])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\nMACS/FACE: multiply-adds of the convolutions and linear layers for one 96x96 face (batch norm, activations, pooling left out).")
	return err
}
