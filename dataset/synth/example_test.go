package synth_test

import (
	"fmt"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/dataset/synth"
)

func ExampleGenerate() {
	s := synth.Generate(1000, 1, synth.Options{PartialFrac: 0.7})
	complete := 0
	for i := range s.Len() {
		if s.Complete(i) {
			complete++
		}
	}
	coords, _ := s.Keypoints(0)
	fmt.Println(s.Len(), complete > 250 && complete < 350)
	// The subject's left eye is on the image's right.
	fmt.Println(coords[0] > coords[2], dataset.Keypoints[0])
	// Output:
	// 1000 true
	// true left_eye_center
}
