package augment

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Options says how strongly Apply perturbs each face. Every field's zero
// value turns its perturbation off, so the zero Options changes nothing.
type Options struct {
	// Flip mirrors half of the faces left to right, relabelling the left
	// and right keypoints.
	Flip bool
	// RotateDeg is the largest rotation, in degrees either way.
	RotateDeg float64
	// JitterPx is the largest shift, in pixels, along each axis.
	JitterPx float64
	// Scale is the largest relative change of size: a face is zoomed by a
	// factor drawn from [1-Scale, 1+Scale].
	Scale float64
	// Brightness is the largest relative change of brightness: grey
	// levels are multiplied by a factor drawn from [1-Brightness,
	// 1+Brightness].
	Brightness float64
	// Contrast is the largest relative change of contrast: a face's grey
	// levels are spread about their mean by a factor drawn from
	// [1-Contrast, 1+Contrast].
	Contrast float64
}

// recipes are the named Options that ParseRecipe knows.
var recipes = map[string]Options{
	"none":    {},
	"light":   {Flip: true, RotateDeg: 8, JitterPx: 2, Scale: 0.05, Brightness: 0.1, Contrast: 0.1},
	"default": {Flip: true, RotateDeg: 15, JitterPx: 4, Scale: 0.1, Brightness: 0.2, Contrast: 0.2},
	"heavy":   {Flip: true, RotateDeg: 25, JitterPx: 8, Scale: 0.2, Brightness: 0.35, Contrast: 0.35},
}

// RecipeNames lists the named recipes, mildest first.
var RecipeNames = []string{"none", "light", "default", "heavy"}

// Recipe returns the named recipe and whether the name is known.
func Recipe(name string) (Options, bool) {
	o, ok := recipes[name]
	return o, ok
}

// ParseRecipe reads Options from a comma-separated list whose items are
// applied in order: a recipe name ("none", "light", "default", "heavy")
// sets every field, "flip" or "noflip" sets Flip, and key=value sets one
// number (rotate, jitter, scale, brightness, contrast). So "default" is
// the default recipe, "default,rotate=5" the same with smaller rotations,
// and "flip" mirroring alone. The empty string means "none". What
// Options.String returns parses back to the same Options.
func ParseRecipe(s string) (Options, error) {
	var o Options
	if strings.TrimSpace(s) == "" {
		return o, nil
	}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.ToLower(strings.TrimSpace(item))
		key, value, hasValue := strings.Cut(item, "=")
		if !hasValue {
			switch item {
			case "flip":
				o.Flip = true
			case "noflip":
				o.Flip = false
			default:
				r, ok := recipes[item]
				if !ok {
					return Options{}, fmt.Errorf("augment recipe %q: unknown item %q (want %s, flip, noflip or key=value)",
						s, item, strings.Join(RecipeNames, ", "))
				}
				o = r
			}
			continue
		}
		field := o.field(key)
		if field == nil {
			return Options{}, fmt.Errorf("augment recipe %q: unknown key %q (want rotate, jitter, scale, brightness or contrast)", s, key)
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return Options{}, fmt.Errorf("augment recipe %q: %s: %w", s, key, err)
		}
		*field = v
	}
	if err := o.Validate(); err != nil {
		return Options{}, fmt.Errorf("augment recipe %q: %w", s, err)
	}
	return o, nil
}

// field returns the number a recipe key sets, or nil for an unknown key.
func (o *Options) field(key string) *float64 {
	switch key {
	case "rotate":
		return &o.RotateDeg
	case "jitter":
		return &o.JitterPx
	case "scale":
		return &o.Scale
	case "brightness":
		return &o.Brightness
	case "contrast":
		return &o.Contrast
	}
	return nil
}

// Validate reports a setting outside its range: rotations up to 180
// degrees, shifts up to half the image (48 pixels), and relative changes
// of size, brightness and contrast below 1 (a factor of zero would erase
// the face).
func (o Options) Validate() error {
	limits := []struct {
		name  string
		value float64
		max   float64
		open  bool // the maximum itself is not allowed
	}{
		{"rotate", o.RotateDeg, 180, false},
		{"jitter", o.JitterPx, 48, false},
		{"scale", o.Scale, 1, true},
		{"brightness", o.Brightness, 1, true},
		{"contrast", o.Contrast, 1, true},
	}
	for _, l := range limits {
		if math.IsNaN(l.value) || l.value < 0 || l.value > l.max || (l.open && l.value == l.max) {
			bracket := "]"
			if l.open {
				bracket = ")"
			}
			return fmt.Errorf("%s=%v is outside [0, %v%s", l.name, l.value, l.max, bracket)
		}
	}
	return nil
}

// IsZero reports whether o turns every perturbation off.
func (o Options) IsZero() bool { return o == Options{} }

// geometric reports whether o moves the image (and so the keypoints).
func (o Options) geometric() bool {
	return o.Flip || o.RotateDeg != 0 || o.JitterPx != 0 || o.Scale != 0
}

// photometric reports whether o changes grey levels.
func (o Options) photometric() bool { return o.Brightness != 0 || o.Contrast != 0 }

// String returns o in the form ParseRecipe reads: "none", or the
// perturbations that are on, e.g. "flip,rotate=15,jitter=4".
func (o Options) String() string {
	if o.IsZero() {
		return "none"
	}
	var items []string
	if o.Flip {
		items = append(items, "flip")
	}
	for _, kv := range []struct {
		key   string
		value float64
	}{
		{"rotate", o.RotateDeg}, {"jitter", o.JitterPx}, {"scale", o.Scale},
		{"brightness", o.Brightness}, {"contrast", o.Contrast},
	} {
		if kv.value != 0 {
			items = append(items, kv.key+"="+strconv.FormatFloat(kv.value, 'g', -1, 64))
		}
	}
	return strings.Join(items, ",")
}
