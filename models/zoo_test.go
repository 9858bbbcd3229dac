package models

import (
	"bytes"
	"strings"
	"testing"
)

func TestZoo(t *testing.T) {
	tests := []struct {
		specs   []string
		wantOut []string // each in the output, with fields separated by single spaces
		wantErr string
	}{
		{
			specs: nil,
			wantOut: []string{
				"NAME PARAMS MACS/FACE OPTIONS SUMMARY",
				"\ncnn3 91686 14.1 M dropout=0.1,width=24 three conv blocks",
				"\nfpn ", "\ntinyresnet ", "\nMACS/FACE: multiply-adds",
			},
		},
		{
			specs:   []string{"cnn3:width=8", "tinyresnet:blocks=1"},
			wantOut: []string{"\ncnn3 ", "dropout=0.1,width=8", "\ntinyresnet ", "blocks=1,dropout=0.2,width=16"},
		},
		{specs: []string{"cnn4"}, wantErr: `unknown model architecture "cnn4"`},
		{specs: []string{"cnn3:width=1"}, wantErr: "cnn3 option width=1: want 4 to 256"},
	}
	for _, tt := range tests {
		var specs []Spec
		for _, s := range tt.specs {
			spec, err := ParseSpec(s)
			if err != nil {
				t.Fatal(err)
			}
			specs = append(specs, spec)
		}
		zoo, err := Zoo(specs)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: got %v, want an error containing %q", tt.specs, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tt.specs, err)
		}
		var out bytes.Buffer
		if err := WriteZoo(&out, zoo); err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(out.String(), "\n") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		text := strings.Join(lines, "\n")
		for _, want := range tt.wantOut {
			if !strings.Contains(text, want) {
				t.Errorf("%q: output lacks %q:\n%s", tt.specs, want, out.String())
			}
		}
	}
}
