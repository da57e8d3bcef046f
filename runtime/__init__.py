"""The lean runtime: numpy + onnxruntime (or tensorrt + cuda-python). Never imports torch."""
