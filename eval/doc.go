// Package eval scores keypoint models: test-time augmentation (TTA,
// WithTTA), the competition's metric over a set of faces (Evaluate), the
// one rule that decides a model's hold-out faces (Holdout), and what a
// model file records of the run of fkd train that made it (Provenance).
//
// Training, the comparison report, fkd evaluate and ensembles all take a
// model's hold-out faces from Holdout.Split, so that they score the same
// faces for the same settings and refuse an empty part with the same
// message.
package eval
