package main

// commandExamples end each command's --help: commands a user can copy,
// each after a comment line that says what it does. A test checks that
// every command has them.
var commandExamples = map[string]string{
	"train": `
# the default model (cnn3) on the Kaggle files, with config.yml's settings
fkd train --train data/training.zip --out output/model.pt
# another architecture, longer, with augmentation
fkd train --arch fpnheat --epochs 60 --augment default --out runs/fpnheat/model.pt
# what the settings would be, and where each comes from
fkd train --arch tinyresnet --print-config
# continue an interrupted run
fkd train --resume --checkpoint runs/fpnheat/model.ckpt`,
	"compare": `
# the zoo on one split, report in output/report
fkd compare --archs cnn3,tinyresnet,fpn,fpnheat --train data/training.zip --out output/report
# options of an architecture follow a colon
fkd compare --archs cnn3,fpn:width=48,dropout=0.2 --epochs 60
# half of the models on this machine; "fkd report output/report" merges the shards
fkd compare --archs cnn3,tinyresnet,fpn,fpnheat --shard 1/2 --out output/report`,
	"submit": `
# a Kaggle submission from a model (its file says everything else)
fkd submit --model output/model.pt --out output/submission.csv
# an ensemble file, with flip test-time augmentation
fkd submit --model runs/ensemble.json --tta flip --out output/ensemble.csv`,
	"evaluate": `
# hold-out RMSE of a model on its own hold-out faces
fkd evaluate --model output/model.pt --train data/training.zip
# without the faces fkd data check finds mislabelled
fkd evaluate --model output/model.pt --drop-outliers --tta flip`,
	"ensemble": `
# fit the weights of three members on their shared hold-out faces
fkd ensemble --models runs/a/model.pt,runs/b/model.pt,runs/c/model.pt --train data/training.zip --out runs/ensemble.json
# then use it wherever a model goes
fkd submit --model runs/ensemble.json --out output/ensemble.csv`,
	"predict": `
# the keypoints of every face in a folder of photos, as CSV, with overlays
fkd predict --model output/model.pt --out faces.csv --overlay marked photos/
# a line of JSON per frame, written as each is done, for a pipeline to read
fkd predict --model output/model.pt --format jsonl --out - clip.mp4`,
	"serve": `
# serve a model on localhost:8080; open http://localhost:8080/ to try it on a photo
fkd serve --model output/model.pt
# then, from another shell: the photo as a form field, or as the body
curl -F image=@face.png http://localhost:8080/v1/keypoints
curl --data-binary @face.png 'http://localhost:8080/v1/keypoints?tta=flip'
# let a web page on another origin call it from the browser
fkd serve --model output/model.pt --cors http://localhost:3000
# the API's description and the metrics
curl http://localhost:8080/openapi.json
curl http://localhost:8080/metrics`,
	"export": `
# a model as ONNX (ONNX Runtime, OpenCV's DNN)
fkd export --model output/model.pt --out output/model.onnx
# an ensemble with flip test-time augmentation in the graph
fkd export --model runs/ensemble.json --tta flip --out output/ensemble.onnx`,
	"baseline": `
# the mean-keypoints baseline scored on 10% held-out faces
fkd baseline mean --train data/training.zip --holdout 0.1
# the patch-search baseline as a Kaggle submission
fkd baseline patch --train data/training.zip --test data/test.zip --lookup data/IdLookupTable.csv --out output/patch.csv`,
	"report": `
# rebuild a comparison's report from its finished runs (or merge its shards)
fkd report output/report
# a report of runs trained one by one
fkd report runs/a runs/b --out output/report-ab`,
	"plot": `
# the learning curves of a run
fkd plot curves runs/fpnheat --out curves.png
# its best, median and worst hold-out faces
fkd plot landmarks runs/fpnheat/model.pt --out landmarks.png`,
	"models": `
# the zoo: parameters, multiply-adds per face, options
fkd models
# check specs and show their sizes
fkd models fpn:width=24 cnn3`,
	"data": `
# check a training file: rows, keypoint counts, ranges, label outliers
fkd data check data/training.zip
# a test file whose header does not say so
fkd data check --as-test data/test.csv`,
	"synth": `
# a synthetic data set in the Kaggle format, to try fkd without the data
fkd synth --out data/synth
# a small one, for quick tests
fkd synth --out /tmp/synth --train-faces 300 --test-faces 50`,
	"score": `
# score a submission against the solution fkd synth writes
fkd score --submission output/submission.csv --solution data/synth/solution.csv`,
	"augment-preview": `
# what the default augmentation does to face 3 of the training file
fkd augment-preview --train data/training.zip --index 3 --augment default --out preview.png`,
	"version": `
# versions, CUDA, threads and BLAS of this build
fkd version
fkd --version`,
	"completion": `
# bash: this shell only, then for every new one
source <(fkd completion bash)
fkd completion bash > ~/.local/share/bash-completion/completions/fkd
# zsh: a folder of your $fpath
fkd completion zsh > "${fpath[1]}/_fkd"
# fish
fkd completion fish > ~/.config/fish/completions/fkd.fish`,
}
