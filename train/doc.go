// Package train fits keypoint models: masked losses over the coordinates a
// face has, the training loop with its optimiser, schedule, early stopping
// and checkpoints, and the history of each epoch.
package train
