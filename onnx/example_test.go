package onnx_test

import (
	"bytes"
	"fmt"

	"github.com/fkd-project/fkd/eval"
	"github.com/fkd-project/fkd/models"
	"github.com/fkd-project/fkd/onnx"
	"github.com/fkd-project/fkd/torch"
)

func ExampleWrite() {
	// A trained model comes from models.Load; any Model of the zoo will do.
	m, err := models.New(models.Spec{Arch: "cnn3", Options: map[string]string{"width": "8"}}, torch.CPU)
	if err != nil {
		panic(err)
	}
	defer m.Store().Free()
	m.Store().Eval()
	var buf bytes.Buffer
	err = onnx.Write(&buf, []onnx.Member{{Model: m, Weight: 1}}, onnx.Options{TTA: eval.FlipTTA})
	fmt.Println(err, buf.Len() > 0, onnx.InputName, "->", onnx.OutputName)
	// Output: <nil> true faces -> keypoints
}
