// Package train fits keypoint models: masked losses over the coordinates a
// face has, the training loop with its optimiser, schedule, early stopping
// and checkpoints, and the history of each epoch.
//
// Run trains the model a Config describes on a dataset.Set. The faces are
// copied to the training device once, as uint8 images with normalised
// coordinates and a mask of the ones present; each step gathers its batch
// there. After every epoch Run scores a held-out part of the faces (the
// split of eval.Holdout), keeps the best weights by hold-out RMSE, writes
// the history beside the model and saves a checkpoint; at the end it
// saves the best model with models.Save, recording its run as an
// eval.Provenance. Package eval scores a model on any faces with
// keypoints.
//
// Config.EMA keeps an exponential moving average of the weights beside
// them (ema.go), scores it too after every epoch, and saves whichever of
// the two scored best. Config.PseudoLabels fills the training part's
// missing keypoints with teacher models' predictions, weighted below true
// labels in the loss, after checking that no teacher trained on this
// run's hold-out faces (pseudo.go).
//
// The trainer's files follow a run's phases: run.go holds Run and its
// loop, setup.go the runner's constructor (the split, the model, the
// optimiser and schedule, a resumed checkpoint), step.go one training
// step, epoch.go the end of an epoch (the hold-out scores, the best
// epoch, early stopping, the history), save.go the model file and an
// interrupted run's save, and checkpoint.go the checkpoints.
//
// # Reproducibility
//
// Every random choice derives from Config.Seed: the split, the initial
// weights, each epoch's order of faces (a PCG seeded by the seed and the
// epoch), and the dropout masks of each step (LibTorch's generator is
// reseeded from the seed and the step number). A whole run happens on one
// OS thread, since LibTorch keeps per-thread state. On the CPU a run that
// is interrupted, at any step, and resumed from its checkpoint with the
// same thread count ends with the same weights, bit for bit, as one that
// ran straight through (another thread count sums in another order); on CUDA
// the kernels themselves may not be deterministic.
package train
