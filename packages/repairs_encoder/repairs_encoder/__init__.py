"""The sentence encoder both Python environments share: `repairs_encoder.encoder.SentenceEncoder`.

model_files.py says where the weights and the built graph live, graph.py and build.py build the graph
(`make encoder`), encoder.py runs it. Nothing is imported here, so building needs no onnxruntime and
serving no onnx.
"""
