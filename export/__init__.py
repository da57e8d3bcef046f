"""Export: PyTorch stage models to ONNX, FP16 ONNX and TensorRT engines."""
