package models

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/fkd-project/fkd/torch"
)

// ZooModel is a model of the zoo as fkd models lists it.
type ZooModel struct {
	Spec    Spec // with every option, defaults included
	Params  int
	MACs    int64  // multiply-adds per face
	Summary string // the architecture's
}

// Zoo builds each model of specs on the CPU to count its parameters and
// multiply-adds; with no specs, every registered architecture with its
// defaults. An error is a spec that cannot be built.
func Zoo(specs []Spec) ([]ZooModel, error) {
	summaries := map[string]string{}
	for _, info := range List() {
		summaries[info.Name] = info.Summary
	}
	if len(specs) == 0 {
		for _, info := range List() {
			specs = append(specs, Spec{Arch: info.Name})
		}
	}
	var zoo []ZooModel
	for _, s := range specs {
		m, err := New(s, torch.CPU)
		if err != nil {
			return nil, err
		}
		params, macs := Count(m)
		spec := m.Spec()
		m.Store().Free()
		zoo = append(zoo, ZooModel{Spec: spec, Params: params, MACs: macs, Summary: summaries[spec.Arch]})
	}
	return zoo, nil
}

// WriteZoo writes the table of fkd models: one row per model with its
// name, parameters, multiply-adds per face, options and summary, then a
// note on what the multiply-adds count.
func WriteZoo(w io.Writer, zoo []ZooModel) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPARAMS\tMACS/FACE\tOPTIONS\tSUMMARY")
	for _, m := range zoo {
		var opts []string
		for _, k := range slices.Sorted(maps.Keys(m.Spec.Options)) {
			opts = append(opts, k+"="+m.Spec.Options[k])
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f M\t%s\t%s\n", m.Spec.Arch, m.Params, float64(m.MACs)/1e6, strings.Join(opts, ","), m.Summary)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\nMACS/FACE: multiply-adds of the convolutions and linear layers for one 96x96 face (batch norm, activations, pooling left out).")
	return err
}
