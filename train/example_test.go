package train_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fkd-project/fkd/dataset/synth"
	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/train"
)

func ExampleRun() {
	faces := synth.Generate(40, 1, synth.Options{PartialFrac: 0.5})
	dir, err := os.MkdirTemp("", "fkd-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	cfg := train.DefaultConfig()
	cfg.Model = "cnn3:width=8"
	cfg.Epochs = 2
	cfg.Batch = 16
	cfg.Device = "cpu"
	cfg.Out = filepath.Join(dir, "model.pt")
	res, err := train.Run(context.Background(), cfg, faces, train.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Model.Store().Free()

	ev, err := eval.Evaluate(res.Model, res.Holdout)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s; %d epochs recorded; %d hold-out faces scored\n", res.Stopped, len(res.History), ev.Faces)
	// Output: completed 2 epochs; 2 epochs recorded; 5 hold-out faces scored
}
