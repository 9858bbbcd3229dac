package suggest

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"width", "width", 0},
		{"widht", "width", 1},
		{"tinyresnt", "tinyresnet", 1},
		{"trian", "train", 1},
		{"kitten", "sitting", 3},
		{"ca", "abc", 3},
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	archs := []string{"cnn3", "fpn", "fpnheat", "tinyresnet"}
	commands := []string{"train", "compare", "predict", "version", "serve"}
	tests := []struct {
		word    string
		choices []string
		want    string
	}{
		{"tinyresnt", archs, " (did you mean tinyresnet?)"},
		{"fpnhaet", archs, " (did you mean fpnheat?)"},
		{"resnet152", archs, ""},
		{"trian", commands, " (did you mean train?)"},
		{"--version", commands, " (did you mean version?)"},
		{"totally", commands, ""},
		{"x", commands, ""},
		{"comapre", commands, " (did you mean compare?)"},
		{"anything", nil, ""},
	}
	for _, tt := range tests {
		if got := DidYouMean(tt.word, tt.choices); got != tt.want {
			t.Errorf("DidYouMean(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}
