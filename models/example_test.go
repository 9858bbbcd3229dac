package models_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/torch"
)

func ExampleParseSpec() {
	spec, err := models.ParseSpec("fpn:width=24,dropout=0.2")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(spec.Arch, spec.Options["width"])
	fmt.Println(spec)
	// Output:
	// fpn 24
	// fpn:dropout=0.2,width=24
}

func ExampleNew() {
	torch.ManualSeed(1)
	m, err := models.New(models.Spec{Arch: "cnn3"}, torch.CPU)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Store().Free()
	params, macs := models.Count(m)
	fmt.Println(m.Spec())
	fmt.Printf("%d parameters, %.1f M multiply-adds per face\n", params, float64(macs)/1e6)
	// Output:
	// cnn3:dropout=0.1,width=24
	// 91686 parameters, 14.1 M multiply-adds per face
}

func ExampleLoad() {
	dir, err := os.MkdirTemp("", "fkd-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "cnn3.safetensors")

	torch.ManualSeed(1)
	m, _ := models.New(models.Spec{Arch: "cnn3", Options: map[string]string{"width": "8"}}, torch.CPU)
	defer m.Store().Free()
	meta := models.Meta{Extra: map[string]string{"holdout.rmse": "2.31"}}
	if err := models.Save(path, m, meta); err != nil {
		log.Fatal(err)
	}

	loaded, meta, err := models.Load(path, torch.CPU)
	if err != nil {
		log.Fatal(err)
	}
	defer loaded.Store().Free()
	faces := make([]uint8, 2*96*96) // two black faces
	coords := models.Predict(loaded, faces, 64, torch.CPU)
	fmt.Println(meta.Spec, meta.Extra["holdout.rmse"], len(coords))
	// Output: cnn3:dropout=0.1,width=8 2.31 60
}
