"""Inference: backends (torch, ONNX Runtime), the Pipeline, tracking and smoothing."""
