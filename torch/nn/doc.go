// Package nn builds neural networks on package torch: named parameters in
// a Store, layers (convolution, batch normalisation, linear, dropout,
// pooling, activations), weight initialisation, and saving and loading
// models in the safetensors format.
//
// # Parameters and names
//
// A Store owns a model's tensors, all on one device. Every layer is built
// under a Path of the store and creates its tensors there, so each gets
// its state-dict name without the model spelling it out:
//
//	store := nn.NewStore(torch.CPU)
//	root := store.Root()
//	conv := nn.NewConv2d(root.Sub("features").Sub("0"), 1, 32, 3, nn.Conv2dConfig{Padding: 1})
//	// conv.Weight is "features.0.weight", conv.Bias "features.0.bias".
//
// Parameters are trained (they require grad); buffers, such as batch-norm
// running statistics, are state saved with the model. Store.Params lists
// the parameters in creation order for an optimiser; Store.NamedTensors is
// the state dict. The names follow PyTorch's conventions, so a model built
// with the same structure in PyTorch has the same state-dict keys.
//
// Build models outside any torch.Scope: a scope frees what was created in
// it when it closes, parameters included.
//
// # Training and evaluation
//
// A store carries the model's mode. Store.Train and Store.Eval switch it
// for every layer built on the store: Dropout and Dropout2d act only in
// training mode, and BatchNorm2d uses batch statistics (updating its
// running statistics) in training mode and the running statistics in
// evaluation mode. A new store is in training mode.
//
// # File format
//
// Save and Store.Save write the safetensors format, a simple public format
// that holds tensors and string metadata and that is read without running
// any code (unlike PyTorch's pickle-based .pt files):
//
//   - 8 bytes: N, the length of the header, an unsigned little-endian
//     64-bit integer;
//   - N bytes: the header, a UTF-8 JSON object. Each tensor has an entry
//     "name": {"dtype": "F32", "shape": [32, 1, 3, 3], "data_offsets":
//     [begin, end]}, with dtype one of F32, F64, F16, BF16, I64, I32, U8
//     and BOOL, and the offsets counting bytes from the start of the data
//     section. An optional entry "__metadata__" maps strings to strings.
//     fkd pads the header with spaces to a multiple of 8 bytes;
//   - the data section: each tensor's elements in row-major order,
//     little-endian, at its offsets. The tensors tile the section exactly.
//     fkd orders them as the reference writer does, by element size,
//     largest first, then by name, which keeps every tensor aligned to its
//     element size.
//
// The files are byte-compatible with the safetensors library, so Python
// users can read an fkd model with safetensors.torch.load_file(path) and
// fkd can load weights saved with safetensors.torch.save_file.
//
// Load and Read treat their input as untrusted. Before reading any data
// they check the header length against the file, every dtype, shape and
// offset (with overflow checks), and that the tensors tile the data
// exactly; they check that bool tensors hold only 0 and 1; and they never
// allocate more than the input holds. Anything wrong yields an error that wraps
// ErrFormat and says what is wrong; a zip or pickle file (a PyTorch .pt
// checkpoint) is recognised as such in the message.
package nn
