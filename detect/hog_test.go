package detect

import (
	"bytes"
	"errors"
	"image"
	"math"
	"strings"
	"testing"
)

func TestDlibOptionsScale(t *testing.T) {
	o, err := DlibOptions{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		w, h int
		want float64
	}{
		{640, 480, 2}, // a 40-pixel face fills the 80-pixel window
		{184, 274, 2}, // small photos too
		{3648, 2406, math.Sqrt(4e6 / (3648 * 2406.0))}, // big ones are shrunk to 4 megapixels
	} {
		if got := o.scale(c.w, c.h); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%d×%d: scale %v, want %v", c.w, c.h, got, c.want)
		}
	}
	o.MinFace = 160
	if got := o.scale(640, 480); got != 0.5 {
		t.Errorf("min face 160: scale %v, want 0.5", got)
	}
	if m := o.margin(); math.Abs(MarginScore(m)-DefaultDlibMinScore) > 1e-12 || m > 0 {
		t.Errorf("default margin %v", m)
	}
	if m := (DlibOptions{MinScore: 0.5}).margin(); m != 0 {
		t.Errorf("min score 0.5: margin %v, want dlib's own, 0", m)
	}
	for _, bad := range []DlibOptions{{MinFace: -1}, {MaxPixels: 100}, {MinScore: 1}, {MinScore: -0.1}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestDlibFaces(t *testing.T) {
	raw := []rawDetection{
		{l: 10, t: 20, r: 90, b: 100, margin: -0.2},
		{l: 200, t: 100, r: 360, b: 260, margin: 1.5},
		{l: 240, t: 160, r: 340, b: 260, margin: 0.1}, // inside the surer face
	}
	got := dlibFaces(raw, 2, 2, image.Rect(5, 7, 500, 400))
	want := []Face{
		{Box: image.Rect(105, 57, 185, 137), Score: MarginScore(1.5)},
		{Box: image.Rect(10, 17, 50, 57), Score: MarginScore(-0.2)},
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("faces %v, want %v", got, want)
	}
}

func TestMarginScore(t *testing.T) {
	if s := MarginScore(0); s != 0.5 {
		t.Errorf("margin 0: score %v, want 0.5", s)
	}
	prev := 0.0
	for m := -5.0; m <= 5; m += 0.25 {
		s := MarginScore(m)
		if s <= prev || s >= 1 {
			t.Errorf("margin %v: score %v after %v: want rising within (0, 1)", m, s, prev)
		}
		prev = s
	}
}

func TestNew(t *testing.T) {
	if _, err := New("nonesuch", Options{}); err == nil || !strings.Contains(err.Error(), "want one of") {
		t.Errorf("an unknown name: %v", err)
	}
	if d, err := New(NameWhole, Options{}); err != nil || d != (Whole{}) || Name(d) != "whole" {
		t.Errorf("whole: %v, %v", d, err)
	}
	var warn bytes.Buffer
	d, err := New("", Options{Warnings: &warn, MinFace: 50})
	var ce *CascadeError
	switch {
	case errors.As(err, &ce) || errors.Is(err, ErrNoOpenCV):
		t.Skipf("neither dlib nor a cascade here: %v", err)
	case err != nil:
		t.Fatal(err)
	}
	defer Close(d)
	if HaveDlib {
		if dl, ok := d.(*Dlib); !ok || dl.opts.MinFace != 50 || warn.Len() != 0 || Name(d) != "dlib HOG" {
			t.Errorf("default: %T %v, warnings %q", d, Name(d), warn.String())
		}
		return
	}
	// Without dlib: the cascade, and one line saying what to install.
	if c, ok := d.(*Cascade); !ok || c.opts.MinSize != 50 {
		t.Errorf("default without dlib: %T", d)
	}
	if w := warn.String(); strings.Count(w, "\n") != 1 || !strings.Contains(w, "apt-get install libdlib-dev") || !strings.Contains(w, "cascade") {
		t.Errorf("warning %q", w)
	}
}

func TestNeighbourScore(t *testing.T) {
	if s := NeighbourScore(10); s != 0.5 {
		t.Errorf("10 neighbours: %v, want 0.5", s)
	}
	if a, b := NeighbourScore(4), NeighbourScore(40); !(0 < a && a < b && b < 1) {
		t.Errorf("4 neighbours %v, 40 neighbours %v", a, b)
	}
}
