package baseline_test

import (
	"fmt"
	"log"

	"github.com/fkd-project/fkd/baseline"
	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
)

func ExampleMean() {
	// Two training faces; the second lacks its nose tip.
	train := &dataset.Set{
		Images: make([]uint8, 2*dataset.PixelCount),
		Coords: make([]float32, 2*dataset.NumCoords),
		Mask:   make([]bool, 2*dataset.NumCoords),
	}
	for i := range train.Mask {
		train.Coords[i], train.Mask[i] = 40, true
	}
	train.Coords[2*10], train.Coords[2*10+1] = 50, 60 // face 0's nose tip
	train.Mask[dataset.NumCoords+2*10], train.Mask[dataset.NumCoords+2*10+1] = false, false

	var m baseline.Mean
	if err := m.Fit(train); err != nil {
		log.Fatal(err)
	}
	pred, err := m.Predict(make([]uint8, dataset.PixelCount)) // any one face
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("left eye centre:", pred[0], pred[1])
	fmt.Println("nose tip:", pred[2*10], pred[2*10+1])
	// Output:
	// left eye centre: 40 40
	// nose tip: 50 60
}

func ExamplePatch() {
	train := synth.Generate(500, 1, synth.Options{})
	test := synth.Generate(200, 2, synth.Options{})

	var mean baseline.Mean
	patch := baseline.NewPatch() // 21x21 patches, searched 2 pixels either way
	for _, m := range []baseline.Model{&mean, patch} {
		if err := m.Fit(train); err != nil {
			log.Fatal(err)
		}
	}
	meanPred, err := mean.Predict(test.Images)
	if err != nil {
		log.Fatal(err)
	}
	patchPred, err := patch.Predict(test.Images)
	if err != nil {
		log.Fatal(err)
	}
	meanRMSE := dataset.RMSE(meanPred, test.Coords, test.Mask)
	patchRMSE := dataset.RMSE(patchPred, test.Coords, test.Mask)
	fmt.Println("patch search beats the mean by 5%:", patchRMSE < 0.95*meanRMSE)
	// Output:
	// patch search beats the mean by 5%: true
}
