// Runs an ONNX model exported by fkd in ONNX Runtime (onnxruntime-node),
// for package onnx's tests and bench/onnx. Install the runtime once:
//
//	npm install --ignore-scripts --no-package-lock --prefix onnx/ort
//
// Usage:
//
//	node onnx/ort/ort.js predict MODEL FACES OUT [THREADS]
//	    FACES: float32 little-endian [N,1,96,96]; writes OUT: float32 [N,30]
//	node onnx/ort/ort.js bench MODEL THREADS BATCH SECONDS
//	    prints one JSON line: {"batch", "threads", "runs", "ms_per_face"}
"use strict";
const fs = require("fs");
const ort = require("onnxruntime-node");

const SIDE = 96;

async function session(model, threads) {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
}

async function predict(model, facesPath, outPath, threads) {
  const buf = fs.readFileSync(facesPath);
  const faces = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const n = faces.length / (SIDE * SIDE);
  const s = await session(model, threads);
  const x = new ort.Tensor("float32", faces, [n, 1, SIDE, SIDE]);
  const out = await s.run({ [s.inputNames[0]]: x });
  const y = out[s.outputNames[0]];
  if (y.dims.length !== 2 || y.dims[0] !== n || y.dims[1] !== 30) {
    throw new Error(`output has shape [${y.dims}], want [${n},30]`);
  }
  fs.writeFileSync(outPath, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
}

async function bench(model, threads, batch, seconds) {
  const s = await session(model, threads);
  const faces = new Float32Array(batch * SIDE * SIDE);
  for (let i = 0; i < faces.length; i++) faces[i] = ((i * 7919) % 256) / 255;
  const feeds = { [s.inputNames[0]]: new ort.Tensor("float32", faces, [batch, 1, SIDE, SIDE]) };
  for (let i = 0; i < 3; i++) await s.run(feeds); // warm up
  let runs = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds * 1e3 || runs < 3) {
    await s.run(feeds);
    runs++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  console.log(JSON.stringify({ batch, threads, runs, ms_per_face: elapsed / runs / batch }));
}

async function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "predict" && (args.length === 3 || args.length === 4)) {
    await predict(args[0], args[1], args[2], Number(args[3] || 1));
  } else if (mode === "bench" && args.length === 4) {
    await bench(args[0], Number(args[1]), Number(args[2]), Number(args[3]));
  } else {
    throw new Error("usage: ort.js predict MODEL FACES OUT [THREADS] | bench MODEL THREADS BATCH SECONDS");
  }
}

main().catch((e) => {
  console.error(`ort.js: ${e.message}`);
  process.exit(1);
});
