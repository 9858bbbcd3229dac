package train

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestKeptPathAndResumeCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "training.csv")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		train     string
		wantKept  bool
		wantTrain bool // the command must ask for --train
	}{
		{file, true, false},
		{"-", false, true},
		{"", false, true},
		{"/dev/stdin", false, true},
		{"data/training.csv", true, false}, // missing: kept as given, made absolute
	}
	for _, tt := range tests {
		t.Run(tt.train, func(t *testing.T) {
			d := DataPaths{Train: KeptPath(tt.train)}
			if kept := d.Train != ""; kept != tt.wantKept || kept && !filepath.IsAbs(d.Train) {
				t.Errorf("KeptPath(%q) = %q, want kept %v and absolute", tt.train, d.Train, tt.wantKept)
			}
			cmd := d.ResumeCommand("run dir/model.ckpt", tt.train)
			if !strings.HasPrefix(cmd, "fkd train --resume --checkpoint 'run dir/model.ckpt'") {
				t.Errorf("command %q", cmd)
			}
			if strings.Contains(cmd, "--train FILE") != tt.wantTrain {
				t.Errorf("command %q: want --train asked for %v", cmd, tt.wantTrain)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"run/model.ckpt", "run/model.ckpt"},
		{"a b", "'a b'"},
		{"", "''"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"cuda:0,x=1+2@3%", "cuda:0,x=1+2@3%"},
	}
	for _, tt := range tests {
		if got := ShellQuote(tt.in); got != tt.want {
			t.Errorf("ShellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestResumeFlags(t *testing.T) {
	ck := &Checkpoint{Config: DefaultConfig(), DataPaths: DataPaths{Train: "/d/training.csv", Lookup: "/d/IdLookupTable.csv"}}
	ck.Config.Epochs, ck.Config.LR = 7, 0.5
	got := map[string]string{}
	var order []string
	for _, f := range ck.ResumeFlags() {
		got[f.Flag] = f.Value
		order = append(order, f.Flag)
	}
	for flag, want := range map[string]string{"epochs": "7", "lr": "0.5", "train": "/d/training.csv", "lookup": "/d/IdLookupTable.csv"} {
		if got[flag] != want {
			t.Errorf("--%s = %q, want %q", flag, got[flag], want)
		}
	}
	for _, st := range Settings {
		if _, ok := got[st.Flag]; ok != st.Kept {
			t.Errorf("setting %s (kept %v): in the resume flags %v", st.Key, st.Kept, ok)
		}
	}
	if _, ok := got["test"]; ok {
		t.Error("an empty data path is a resume flag")
	}
	if i := slices.Index(order, "train"); i < len(order)-2 {
		t.Errorf("the data flags are not last: %q", order)
	}
}

func TestSetFlags(t *testing.T) {
	ck := &Checkpoint{Path: "run/model.ckpt", Config: DefaultConfig(), DataPaths: DataPaths{Train: "/d/training.csv"}}
	ck.Config.Epochs = 7
	got := map[string]string{}
	set := func(flag, value string) error { got[flag] = value; return nil }
	if err := ck.SetFlags(set, map[string]bool{"lr": true, "train": true}); err != nil {
		t.Fatal(err)
	}
	if got["epochs"] != "7" || len(got) != len(ck.ResumeFlags())-2 {
		t.Errorf("set %v: want every resume flag but lr and train", got)
	}
	if _, ok := got["lr"]; ok {
		t.Error("a flag of the command line was set")
	}
	refuse := func(flag, value string) error { return errors.New("no such flag -" + flag) }
	err := ck.SetFlags(refuse, nil)
	if want := `checkpoint run/model.ckpt: setting arch="cnn3": no such flag -arch`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}
