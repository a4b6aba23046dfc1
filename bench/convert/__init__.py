"""Model conversion: the conversion table, int8 quantization and a fidelity check.

``bench.convert.pipeline.convert_for`` is what the runner calls when the model is not in the chosen framework's own
format or a reduced precision is asked for. This package's own module imports none of its modules (no circle). Heavy converter imports live in the edge modules, never here.

| From \\ To                    | ONNX              | TensorFlow | TFLite          | TensorRT           |
|------------------------------|-------------------|------------|-----------------|--------------------|
| PyTorch (state_dict, TS)     | torch.onnx.export | via ONNX   | via ONNX        | via ONNX           |
| ONNX                         |                   | onnx2tf    | onnx2tf         | TensorRT builder   |
| TF SavedModel / Keras        | tf2onnx 1.17      |            | TFLiteConverter | via ONNX           |
"""
