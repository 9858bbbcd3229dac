// Package models defines fkd's keypoint detectors: a registry of
// convolutional architectures built on torch/nn, the model files that
// store them, and prediction in pixels.
//
// # Contract
//
// Every model maps faces, float32 [N, 1, 96, 96] with grey levels scaled
// to [0, 1] (pixel/255), to float32 [N, 30]: the 30 Kaggle coordinates, x
// then y of each keypoint in dataset.Keypoints order, normalised to
// [-1, 1] as (c - 48) / 48. The output layer starts with small weights, so
// a new model predicts about 0, the centre of the face, everywhere.
//
// # Architectures
//
// A Spec names an architecture and its options; ParseSpec reads the form
// "fpn:width=24,dropout=0.2" and List describes what is registered:
//
//   - cnn3: three conv blocks with spatial dropout and a linear head on a
//     6×6 grid, about 91k parameters;
//   - tinyresnet: a ResNet-18-like net of basic residual blocks, global
//     average pooling and a linear layer, about 0.7M parameters;
//   - fpn: a feature pyramid (7×7 stem, 3×3 stages, top-down path with
//     lateral 1×1 convolutions) whose finest level feeds a head chosen by
//     the "head" option: "regression" (the default) regresses the
//     coordinates from a pooled grid of features, "heatmap" predicts one
//     24×24 heatmap per keypoint and decodes each by soft-argmax, the
//     expected cell centre under a softmax over its cells; "maps=48"
//     adds one more upsampling stage to the top-down path (a lateral
//     from the stem), so that the head reads a 48×48 level;
//   - fpnheat: fpn with the heatmap head by default ("fpnheat:maps=48"
//     for 48×48 heatmaps).
//
// All use batch normalisation and ReLUs, with Kaiming-normal weights for
// the convolutions. Count gives a model's size and its multiply-adds per
// face.
//
// # Model files
//
// Save writes a model as a safetensors file (see torch/nn) whose metadata
// make it self-describing: "fkd.format" = "fkd-model/1", the architecture
// ("fkd.arch", and "fkd.options" as a JSON object), the coordinate names
// ("fkd.keypoints"), the training means used to fill gaps ("fkd.means"),
// the input and output conventions ("fkd.input", "fkd.output") and
// free-form "fkd.extra.*" entries. Load rebuilds the architecture from
// these and loads the weights; the file can also be read from Python with
// safetensors.torch.load_file.
package models
