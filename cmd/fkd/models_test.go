package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fkd-project/fkd/models"
)

func TestListModels(t *testing.T) {
	tests := []struct {
		specs   []string
		wantOut []string // each in the output, with fields separated by single spaces
	}{
		{
			specs: nil,
			wantOut: []string{
				"NAME PARAMS MACS/FACE OPTIONS SUMMARY",
				"\ncnn3 91686 14.1 M dropout=0.1,width=24 three conv blocks",
				"\nfpn ", "\ntinyresnet ",
			},
		},
		{
			specs:   []string{"cnn3:width=8", "tinyresnet:blocks=1"},
			wantOut: []string{"\ncnn3 ", "dropout=0.1,width=8", "\ntinyresnet ", "blocks=1,dropout=0.2,width=16"},
		},
	}
	for _, tt := range tests {
		var specs []models.Spec
		for _, s := range tt.specs {
			spec, err := models.ParseSpec(s)
			if err != nil {
				t.Fatal(err)
			}
			specs = append(specs, spec)
		}
		var out bytes.Buffer
		if err := listModels(&out, specs); err != nil {
			t.Fatalf("%q: %v", tt.specs, err)
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

func TestModelsCommandErrors(t *testing.T) {
	tests := []struct {
		args       []string
		wantStderr string
	}{
		{[]string{"models", "cnn4"}, `unknown model architecture "cnn4"`},
		{[]string{"models", "cnn3:width"}, `option "width" is not key=value`},
		{[]string{"models", "cnn3:width=1"}, "cnn3 option width=1: want 4 to 256"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if status := run(tt.args, &stdout, &stderr); status != 2 || !strings.Contains(stderr.String(), tt.wantStderr) {
			t.Errorf("fkd %q: status %d, stderr %q; want 2, %q", tt.args, status, stderr.String(), tt.wantStderr)
		}
	}
}
