package predict_test

import (
	"fmt"
	"image"

	"github.com/fkd-project/fkd/predict"
)

// A Haar box of 200 pixels at (300, 100) puts the face's anchor (the
// midpoint from the eyes to the bottom lip) about there; the crop framing
// it like the training faces is a square a little bigger than the box.
func ExampleFraming_Crop() {
	box := image.Rect(300, 100, 500, 300)
	a := predict.HaarFrontalFace.Anchor(box)
	fmt.Printf("anchor (%.1f, %.1f), %.1f pixels long\n", a.X, a.Y, a.Length)
	fmt.Println("crop", predict.DefaultFraming.Crop(a))
	// Output:
	// anchor (401.6, 227.2), 96.8 pixels long
	// crop (289,91)-(515,317)
}
