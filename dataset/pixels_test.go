package dataset

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// refPixels is parsePixels written the plain way: fields split on spaces,
// each an integer 0..255.
func refPixels(want int, text string) ([]uint8, error) {
	fields := strings.Fields(text)
	out := make([]uint8, 0, len(fields))
	for _, f := range fields {
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 || v > 255 || f[0] == '+' || f[0] == '-' {
			return nil, fmt.Errorf("bad %q", f)
		}
		out = append(out, uint8(v))
	}
	if len(out) != want {
		return nil, fmt.Errorf("got %d", len(out))
	}
	return out, nil
}

func TestParsePixels(t *testing.T) {
	tests := []struct {
		text    string
		want    []uint8
		wantErr string
	}{
		{"0 1 22 255", []uint8{0, 1, 22, 255}, ""},
		{"7 8 9 10", []uint8{7, 8, 9, 10}, ""},
		{"100 200 255 0", []uint8{100, 200, 255, 0}, ""},
		{"007 08 9 0000000001", []uint8{7, 8, 9, 1}, ""},
		{"  1  2 3 4  ", []uint8{1, 2, 3, 4}, ""},
		{"1 2 3", nil, "got 3 pixels, want 4"},
		{"1 2 3 4 5", nil, "got 5 pixels, want 4"},
		{"1 256 3 4", nil, `pixel 2: "256" is not a grey level`},
		{"1 2 3 1000", nil, `pixel 4: "1000" is not a grey level`},
		{"12.0 2 3 4", nil, `pixel 1: "12.0" is not a grey level`},
		{"1 2x 3 4", nil, `pixel 2: "2x" is not a grey level`},
		{"1 2 3 -4", nil, `pixel 4: "-4" is not a grey level`},
		{"1\t2 3 4", nil, `pixel 1: "1\t2" is not a grey level`},
	}
	for _, tt := range tests {
		dst := make([]uint8, 4)
		err := parsePixels(dst, []byte(tt.text))
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: error %v, want %q", tt.text, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tt.text, err)
		case tt.wantErr == "" && string(dst) != string(tt.want):
			t.Errorf("%q: got %v, want %v", tt.text, dst, tt.want)
		}
	}
}

// TestParsePixelsRandom checks the fast path against refPixels on random
// rows mixing every digit count, extra spaces and the odd bad value.
func TestParsePixelsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for row := 0; row < 2000; row++ {
		n := 1 + rng.IntN(12)
		var b strings.Builder
		for i := 0; i < n; i++ {
			if i > 0 || rng.IntN(8) == 0 {
				b.WriteString(strings.Repeat(" ", 1+rng.IntN(2)*rng.IntN(3)))
			}
			switch rng.IntN(40) {
			case 0:
				b.WriteString("256")
			case 1:
				b.WriteString("3a")
			default:
				b.WriteString(strconv.Itoa(rng.IntN(256)))
			}
		}
		if rng.IntN(8) == 0 {
			b.WriteString(" ")
		}
		text := b.String()
		want, wantErr := refPixels(n, text)
		got := make([]uint8, n)
		err := parsePixels(got, []byte(text))
		if (err != nil) != (wantErr != nil) || err == nil && string(got) != string(want) {
			t.Fatalf("%q: got %v, %v; want %v, %v", text, got, err, want, wantErr)
		}
	}
}
