#!/usr/bin/python3
"""Writes abi_model.onnx (next to this script) for abi_smoke.cc.

Run it with Debian's python, which has the `onnx` package:  /usr/bin/python3 native/test/make_abi_model.py

The model: input x float [N, 3] (N symbolic) -> AddOne (domain "dk.test") -> output y float [N, 3].
AddOne carries k=2 (the value added) plus one attribute of each other kind the smoke test reads
through the kernel-info getters: alpha (float), ints (int64 list), floats (float list), tag (string).
"""
import os

import onnx
from onnx import TensorProto, helper

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "abi_model.onnx")

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
node = helper.make_node(
    "AddOne", ["x"], ["y"], name="add_one", domain="dk.test",
    k=2, alpha=0.5, ints=[1, 2, 3], floats=[0.25, -1.5], tag="dk-abi",
)
graph = helper.make_graph([node], "abi_smoke", [x], [y])
model = helper.make_model(
    graph,
    producer_name="make_abi_model.py",
    opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("dk.test", 1)],
)
model.ir_version = 8  # opset 17 needs IR >= 8; keep it at 8 for older runtimes too
onnx.save(model, out)
print(f"wrote {out} ({os.path.getsize(out)} bytes)")
