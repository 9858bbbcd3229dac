package augment

import (
	"strings"
	"testing"
)

func TestParseRecipe(t *testing.T) {
	def := Options{Flip: true, RotateDeg: 15, JitterPx: 4, Scale: 0.1, Brightness: 0.2, Contrast: 0.2}
	tests := []struct {
		in      string
		want    Options
		wantErr string // a substring of the error; "" for success
	}{
		{in: "", want: Options{}},
		{in: "none", want: Options{}},
		{in: "default", want: def},
		{in: " Default ", want: def},
		{in: "light", want: Options{Flip: true, RotateDeg: 8, JitterPx: 2, Scale: 0.05, Brightness: 0.1, Contrast: 0.1}},
		{in: "heavy", want: Options{Flip: true, RotateDeg: 25, JitterPx: 8, Scale: 0.2, Brightness: 0.35, Contrast: 0.35}},
		{in: "flip", want: Options{Flip: true}},
		{in: "default,noflip", want: Options{RotateDeg: 15, JitterPx: 4, Scale: 0.1, Brightness: 0.2, Contrast: 0.2}},
		{in: "default,rotate=5,contrast=0", want: Options{Flip: true, RotateDeg: 5, JitterPx: 4, Scale: 0.1, Brightness: 0.2}},
		{in: "rotate=10,default", want: def}, // a recipe name resets every field
		{in: "jitter=48,scale=0.99", want: Options{JitterPx: 48, Scale: 0.99}},
		{in: "medium", wantErr: `unknown item "medium"`},
		{in: "default,tilt=3", wantErr: `unknown key "tilt"`},
		{in: "rotate=ten", wantErr: "rotate"},
		{in: "rotate=-5", wantErr: "rotate=-5 is outside [0, 180]"},
		{in: "rotate=181", wantErr: "outside [0, 180]"},
		{in: "jitter=49", wantErr: "jitter=49"},
		{in: "scale=1", wantErr: "scale=1 is outside [0, 1)"},
		{in: "brightness=NaN", wantErr: "brightness"},
		{in: "contrast=1.5", wantErr: "contrast"},
	}
	for _, tt := range tests {
		got, err := ParseRecipe(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRecipe(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRecipe(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestOptionsStringRoundTrip(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{}, "none"},
		{Options{Flip: true}, "flip"},
		{Options{RotateDeg: 7.5, Contrast: 0.25}, "rotate=7.5,contrast=0.25"},
		{Options{Flip: true, RotateDeg: 15, JitterPx: 4, Scale: 0.1, Brightness: 0.2, Contrast: 0.2},
			"flip,rotate=15,jitter=4,scale=0.1,brightness=0.2,contrast=0.2"},
	}
	for _, tt := range tests {
		if got := tt.o.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.o, got, tt.want)
		}
	}
	for _, name := range RecipeNames {
		o, ok := Recipe(name)
		if !ok {
			t.Fatalf("Recipe(%q) unknown", name)
		}
		back, err := ParseRecipe(o.String())
		if err != nil || back != o {
			t.Errorf("recipe %s: ParseRecipe(%q) = %+v, %v; want %+v", name, o.String(), back, err, o)
		}
	}
}

func TestRecipesAreValidAndOrdered(t *testing.T) {
	var prev Options
	for i, name := range RecipeNames {
		o, _ := Recipe(name)
		if err := o.Validate(); err != nil {
			t.Errorf("recipe %s: %v", name, err)
		}
		if i > 0 && (o.RotateDeg < prev.RotateDeg || o.JitterPx < prev.JitterPx || o.Scale < prev.Scale ||
			o.Brightness < prev.Brightness || o.Contrast < prev.Contrast) {
			t.Errorf("recipe %s (%v) is milder than the one before it (%v)", name, o, prev)
		}
		prev = o
	}
	if len(RecipeNames) != len(recipes) {
		t.Errorf("RecipeNames lists %d recipes, the table holds %d", len(RecipeNames), len(recipes))
	}
}
