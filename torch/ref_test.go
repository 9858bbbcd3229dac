package torch_test

import "math"

// Naive reference implementations of the neural-net functions, written
// from their definitions, for the known-answer tests. Tensors are flat
// row-major slices with an explicit shape.

// conv2dRef is the direct 2-D cross-correlation of x [n, cin, h, w] with
// w [cout, cin/groups, kh, kw], plus bias b [cout] when b is not nil.
func conv2dRef(x []float64, xs [4]int, w []float64, ws [4]int, b []float64, stride, pad, dil [2]int, groups int) ([]float64, [4]int) {
	n, cin, h, wd := xs[0], xs[1], xs[2], xs[3]
	cout, cpg, kh, kw := ws[0], ws[1], ws[2], ws[3]
	oh := (h+2*pad[0]-dil[0]*(kh-1)-1)/stride[0] + 1
	ow := (wd+2*pad[1]-dil[1]*(kw-1)-1)/stride[1] + 1
	opg := cout / groups
	out := make([]float64, n*cout*oh*ow)
	for ni := range n {
		for co := range cout {
			g := co / opg
			for oy := range oh {
				for ox := range ow {
					var sum float64
					if b != nil {
						sum = b[co]
					}
					for ci := range cpg {
						c := g*cpg + ci
						for ky := range kh {
							iy := oy*stride[0] - pad[0] + ky*dil[0]
							if iy < 0 || iy >= h {
								continue
							}
							for kx := range kw {
								ix := ox*stride[1] - pad[1] + kx*dil[1]
								if ix < 0 || ix >= wd {
									continue
								}
								sum += x[((ni*cin+c)*h+iy)*wd+ix] * w[((co*cpg+ci)*kh+ky)*kw+kx]
							}
						}
					}
					out[((ni*cout+co)*oh+oy)*ow+ox] = sum
				}
			}
		}
	}
	return out, [4]int{n, cout, oh, ow}
}

// pool2dRef takes the maximum, or the mean over the full window with
// padding counted as zeros, of each window of x [n, c, h, w].
func pool2dRef(avg bool, x []float64, xs [4]int, k, stride, pad [2]int) ([]float64, [4]int) {
	n, c, h, w := xs[0], xs[1], xs[2], xs[3]
	oh := (h+2*pad[0]-k[0])/stride[0] + 1
	ow := (w+2*pad[1]-k[1])/stride[1] + 1
	out := make([]float64, 0, n*c*oh*ow)
	for plane := range n * c {
		for oy := range oh {
			for ox := range ow {
				acc := math.Inf(-1)
				if avg {
					acc = 0
				}
				for ky := range k[0] {
					for kx := range k[1] {
						iy, ix := oy*stride[0]-pad[0]+ky, ox*stride[1]-pad[1]+kx
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							continue
						}
						v := x[(plane*h+iy)*w+ix]
						if avg {
							acc += v
						} else {
							acc = math.Max(acc, v)
						}
					}
				}
				if avg {
					acc /= float64(k[0] * k[1])
				}
				out = append(out, acc)
			}
		}
	}
	return out, [4]int{n, c, oh, ow}
}

// adaptiveAvgPoolRef averages x [n, c, h, w] over the windows
// [floor(i·h/oh), ceil((i+1)·h/oh)) in each dimension.
func adaptiveAvgPoolRef(x []float64, xs [4]int, oh, ow int) []float64 {
	h, w := xs[2], xs[3]
	var out []float64
	for plane := range xs[0] * xs[1] {
		for oy := range oh {
			y0, y1 := oy*h/oh, ((oy+1)*h+oh-1)/oh
			for ox := range ow {
				x0, x1 := ox*w/ow, ((ox+1)*w+ow-1)/ow
				var sum float64
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						sum += x[(plane*h+iy)*w+ix]
					}
				}
				out = append(out, sum/float64((y1-y0)*(x1-x0)))
			}
		}
	}
	return out
}

// nearestIndex is LibTorch's source index for nearest-neighbour resizing:
// floor(dst·in/out) with the scale in float32.
func nearestIndex(dst, in, out int) int {
	scale := float32(in) / float32(out)
	return min(int(math.Floor(float64(float32(dst)*scale))), in-1)
}

// linearSource returns the two source indices and the weight of the second
// for linear resizing from in to out samples.
func linearSource(dst, in, out int, alignCorners bool) (int, int, float64) {
	var src float64
	if alignCorners {
		if out > 1 {
			src = float64(dst) * float64(in-1) / float64(out-1)
		}
	} else {
		src = math.Max((float64(dst)+0.5)*float64(in)/float64(out)-0.5, 0)
	}
	i0 := min(int(math.Floor(src)), in-1)
	i1 := min(i0+1, in-1)
	return i0, i1, src - float64(i0)
}

// resizeRef resizes x [n, c, h, w] to [n, c, oh, ow], nearest or bilinear.
func resizeRef(x []float64, xs [4]int, oh, ow int, bilinear, alignCorners bool) []float64 {
	h, w := xs[2], xs[3]
	var out []float64
	for plane := range xs[0] * xs[1] {
		at := func(y, x_ int) float64 { return x[(plane*h+y)*w+x_] }
		for oy := range oh {
			for ox := range ow {
				if !bilinear {
					out = append(out, at(nearestIndex(oy, h, oh), nearestIndex(ox, w, ow)))
					continue
				}
				y0, y1, ly := linearSource(oy, h, oh, alignCorners)
				x0, x1, lx := linearSource(ox, w, ow, alignCorners)
				top := (1-lx)*at(y0, x0) + lx*at(y0, x1)
				bottom := (1-lx)*at(y1, x0) + lx*at(y1, x1)
				out = append(out, (1-ly)*top+ly*bottom)
			}
		}
	}
	return out
}

// batchNormRef normalises x [n, c, rest] per channel with the batch's
// mean and biased variance (training) or the running statistics, and in
// training returns the updated running statistics, which take the
// unbiased variance.
func batchNormRef(x []float64, n, c, rest int, weight, bias, runMean, runVar []float64, training bool, momentum, eps float64) (y, newMean, newVar []float64) {
	y = make([]float64, len(x))
	newMean, newVar = append([]float64(nil), runMean...), append([]float64(nil), runVar...)
	for ch := range c {
		var mean, variance float64
		idx := func(i, r int) int { return (i*c+ch)*rest + r }
		if training {
			m := float64(n * rest)
			for i := range n {
				for r := range rest {
					mean += x[idx(i, r)]
				}
			}
			mean /= m
			for i := range n {
				for r := range rest {
					d := x[idx(i, r)] - mean
					variance += d * d
				}
			}
			unbiased := variance / (m - 1)
			variance /= m
			if newMean != nil {
				newMean[ch] = (1-momentum)*runMean[ch] + momentum*mean
				newVar[ch] = (1-momentum)*runVar[ch] + momentum*unbiased
			}
		} else {
			mean, variance = runMean[ch], runVar[ch]
		}
		g, b := 1.0, 0.0
		if weight != nil {
			g = weight[ch]
		}
		if bias != nil {
			b = bias[ch]
		}
		for i := range n {
			for r := range rest {
				y[idx(i, r)] = (x[idx(i, r)]-mean)/math.Sqrt(variance+eps)*g + b
			}
		}
	}
	return y, newMean, newVar
}

// linearRef returns x·wᵀ + b for x [rows, in] and w [out, in].
func linearRef(x []float64, rows, inF int, w []float64, outF int, b []float64) []float64 {
	y := make([]float64, rows*outF)
	for r := range rows {
		for o := range outF {
			var sum float64
			if b != nil {
				sum = b[o]
			}
			for i := range inF {
				sum += x[r*inF+i] * w[o*inF+i]
			}
			y[r*outF+o] = sum
		}
	}
	return y
}

// affineGridRef is the sampling grid [h, w, 2] of one affine matrix
// theta [2, 3].
func affineGridRef(theta []float64, h, w int, alignCorners bool) []float64 {
	base := func(i, n int) float64 {
		if alignCorners {
			if n == 1 {
				return 0
			}
			return -1 + 2*float64(i)/float64(n-1)
		}
		return (2*float64(i)+1)/float64(n) - 1
	}
	var grid []float64
	for i := range h {
		for j := range w {
			xn, yn := base(j, w), base(i, h)
			grid = append(grid,
				theta[0]*xn+theta[1]*yn+theta[2],
				theta[3]*xn+theta[4]*yn+theta[5])
		}
	}
	return grid
}

// gridSampleRef samples one image x [c, h, w] bilinearly at the
// normalised positions of grid [gh, gw, 2], reading zeros outside.
func gridSampleRef(x []float64, c, h, w int, grid []float64, alignCorners bool) []float64 {
	pixel := func(g float64, n int) float64 {
		if alignCorners {
			return (g + 1) / 2 * float64(n-1)
		}
		return ((g+1)*float64(n) - 1) / 2
	}
	points := len(grid) / 2
	out := make([]float64, c*points)
	for ch := range c {
		at := func(y, x_ int) float64 {
			if y < 0 || y >= h || x_ < 0 || x_ >= w {
				return 0
			}
			return x[(ch*h+y)*w+x_]
		}
		for p := range points {
			px, py := pixel(grid[2*p], w), pixel(grid[2*p+1], h)
			x0, y0 := int(math.Floor(px)), int(math.Floor(py))
			lx, ly := px-float64(x0), py-float64(y0)
			out[ch*points+p] = (1-ly)*((1-lx)*at(y0, x0)+lx*at(y0, x0+1)) + ly*((1-lx)*at(y0+1, x0)+lx*at(y0+1, x0+1))
		}
	}
	return out
}
