package onnx

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/fkd-project/fkd/dataset"
	"github.com/fkd-project/fkd/eval"
)

// view is one view of the faces that a test-time augmentation looks at:
// the faces moved dx pixels right and dy down (edge rows and columns
// repeated), then mirrored if flip is set, as eval.WithTTA makes them.
type view struct {
	flip   bool
	dx, dy int
}

// views returns the views of tta; their keypoints, mapped back, are
// averaged with equal weights.
func views(tta eval.TTA) ([]view, error) {
	switch tta {
	case eval.NoTTA:
		return []view{{}}, nil
	case eval.FlipTTA:
		return []view{{}, {flip: true}}, nil
	case eval.FlipShiftTTA:
		const d = eval.ShiftTTAPixels
		var vs []view
		for _, s := range [][2]int{{0, 0}, {d, 0}, {-d, 0}, {0, d}, {0, -d}} {
			vs = append(vs, view{dx: s[0], dy: s[1]}, view{flip: true, dx: s[0], dy: s[1]})
		}
		return vs, nil
	}
	return nil, fmt.Errorf("%w: test-time augmentation %v", ErrUnsupported, tta)
}

// faces writes the view of the faces x and returns its name. A move or a
// mirror across is a product of each pixel row with a 96×96 matrix of
// zeros and ones (exact in floating point); a move down is the same on
// the transposed faces.
func (v view) faces(g *graph, x string) string {
	const size = dataset.ImageSize
	rows := func(x string, mat []float32, name string) string {
		x = g.node("Reshape", []string{x, g.ints("shape.rows", -1, size)})
		x = g.node("MatMul", []string{x, g.floats(name, []int64{size, size}, mat)})
		return g.node("Reshape", []string{x, g.ints("shape.faces", -1, 1, size, size)})
	}
	if v.dx != 0 || v.flip {
		// out[c] = in[src(c)]: column src(c) of the input to column c.
		mat := make([]float32, size*size)
		for c := range size {
			src := c
			if v.flip {
				src = size - 1 - src
			}
			src = min(max(src-v.dx, 0), size-1)
			mat[src*size+c] = 1
		}
		x = rows(x, mat, fmt.Sprintf("view.cols.flip%v.dx%d", v.flip, v.dx))
	}
	if v.dy != 0 {
		mat := make([]float32, size*size)
		for r := range size {
			mat[min(max(r-v.dy, 0), size-1)*size+r] = 1
		}
		x = g.node("Transpose", []string{x}, intsAttr("perm", 0, 1, 3, 2))
		x = rows(x, mat, "view.rows.dy"+strconv.Itoa(v.dy))
		x = g.node("Transpose", []string{x}, intsAttr("perm", 0, 1, 3, 2))
	}
	return x
}

// coordMap returns the map of a view's normalised keypoints back to the
// faces', y·mat + shift with mat [30, 30] row-major: the identity, or
// for a mirrored view the left/right swap with x mirrored about the
// image's centre (augment.UnflipCoords). Moves need no mapping back: they
// come in opposite pairs, whose mean is no move.
func (v view) coordMap() (mat, shift []float64) {
	const n = dataset.NumCoords
	mat, shift = make([]float64, n*n), make([]float64, n)
	if !v.flip {
		for i := range n {
			mat[i*n+i] = 1
		}
		return mat, shift
	}
	// The image's centre in normalised coordinates; x maps to 2·centre - x.
	const centre = (dataset.ImageCentre - dataset.ImageSize/2) / (dataset.ImageSize / 2)
	for i, j := range dataset.FlipCoordPerm() {
		sign := 1.0
		if i%2 == 0 {
			sign, shift[i] = -1, 2*centre
		}
		mat[j*n+i] = sign // out[i] = sign·y[j] + shift
	}
	return mat, shift
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
