package baseline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fkd-project/fkd/dataset"
)

// sharedTrainingFile returns the Kaggle training zip in the team's shared
// data folder (shared/data/fkd-ytf, beside the repository), found by
// walking up from the test's directory, and skips the test when it is
// absent.
func sharedTrainingFile(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "data", "fkd-ytf", "training.zip")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Skip("shared/data/fkd-ytf/training.zip not found above the test directory")
		}
		dir = up
	}
}

// TestRealDataPatchBeatsMean fits both baselines on 90% of the real
// training data and checks, on the held-out 10%, that the patch search
// beats the mean, as it does in the Kaggle tutorial.
func TestRealDataPatchBeatsMean(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the real training data")
	}
	set, _, err := dataset.ReadTraining(sharedTrainingFile(t), dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	trainIdx, holdIdx := dataset.Split(set, 0.1, 1)
	train, hold := set.Subset(trainIdx), set.Subset(holdIdx)
	var rmse [2]float64
	for i, m := range []Model{&Mean{}, NewPatch()} {
		if err := m.Fit(train); err != nil {
			t.Fatal(err)
		}
		pred, err := m.Predict(hold.Images)
		if err != nil {
			t.Fatal(err)
		}
		rmse[i] = dataset.RMSE(pred, hold.Coords, hold.Mask)
	}
	t.Logf("hold-out RMSE: mean %.3f, patch search %.3f", rmse[0], rmse[1])
	if !(rmse[1] < rmse[0]) {
		t.Errorf("patch search RMSE %.3f does not beat the mean's %.3f", rmse[1], rmse[0])
	}
}
