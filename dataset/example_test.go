package dataset_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
)

func ExampleParseTraining() {
	names := dataset.CoordNames()
	header := strings.Join(names[:], ",") + ",Image"
	image := strings.TrimSpace(strings.Repeat("128 ", dataset.PixelCount))
	// One face with only the left eye centre, one with a bad pixel.
	good := "66.5,37.25" + strings.Repeat(",", 29) + image
	bad := "66.5,37.25" + strings.Repeat(",", 29) + "300" + image[3:]
	text := header + "\r\n" + good + "\r\n" + bad + "\r\n"

	_, _, err := dataset.ParseTraining(strings.NewReader(text), "training.csv", dataset.ReadOptions{})
	fmt.Println(err)

	s, rep, _ := dataset.ParseTraining(strings.NewReader(text), "training.csv", dataset.ReadOptions{SkipBad: true})
	coords, mask := s.Keypoints(0)
	fmt.Println(s.Len(), rep.Skipped, coords[:3], mask[:3])
	// Output:
	// training.csv line 3 column "Image": pixel 1: "300" is not a grey level 0..255
	// 1 1 [66.5 37.25 0] [true true false]
}

func ExampleSplit() {
	s := synth.Generate(100, 1, synth.Options{PartialFrac: 0.7})
	train, holdout := dataset.Split(s, dataset.DefaultHoldout, 1)
	fmt.Println(len(train), len(holdout))
	// Output: 90 10
}

func ExampleRMSE() {
	pred := []float32{10, 20, 30}
	truth := []float32{13, 24, 0}
	mask := []bool{true, true, false} // the third coordinate is missing
	fmt.Printf("%.4f\n", dataset.RMSE(pred, truth, mask))
	// Output: 3.5355
}

func ExampleFlipCoordPerm() {
	names := dataset.CoordNames()
	perm := dataset.FlipCoordPerm()
	for _, i := range []int{0, 20, 22} {
		fmt.Println(names[i], "<-", names[perm[i]])
	}
	// Output:
	// left_eye_center_x <- right_eye_center_x
	// nose_tip_x <- nose_tip_x
	// mouth_left_corner_x <- mouth_right_corner_x
}

func ExampleEncodeSubmission() {
	rows := []dataset.LookupRow{
		{RowID: 1, ImageID: 1, Coord: 20}, // nose_tip_x
		{RowID: 2, ImageID: 1, Coord: 21}, // nose_tip_y
		{RowID: 3, ImageID: 2, Coord: 20}, // an image the model did not see
	}
	var p dataset.Prediction
	p.Coords[20], p.Mask[20] = 48.25, true
	p.Coords[21], p.Mask[21] = 97, true // clipped to the image
	var fill [dataset.NumCoords]float32
	fill[20] = 48.4
	rep, _ := dataset.EncodeSubmission(os.Stdout, rows, dataset.Predictions{1: p}, fill)
	fmt.Printf("%+v\n", rep)
	// Output:
	// RowId,Location
	// 1,48.25
	// 2,96
	// 3,48.4
	// {Rows:3 Filled:1 FilledImages:1 Invalid:0 Clipped:1 Missing:1 MissingIDs:[2]}
}
