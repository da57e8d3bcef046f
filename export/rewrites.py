"""Graph rewrites of exported or shipped ONNX files: digit heads (a classifier's columns kept, before or after
its softmax), a pose head without its person boxes, and the paddle2onnx patterns onnxslim does not fold
(scalar affines after a Conv, unfused hard-swish). Each works in place and changes no output it keeps."""

from __future__ import annotations

import numpy as np
import onnx


def keep_classes(model: onnx.ModelProto, classes: tuple[int, ...]) -> None:
    """Cut a recognizer's final classifier ``MatMul(x, W) + b [-> Softmax]`` to ``classes`` (columns of W
    and b), in place: with a softmax after it this is the renormalised subset of the probabilities."""
    from onnx import numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    out = model.graph.output[0]
    node = producer.get(out.name)
    if node is not None and node.op_type == "Softmax":
        node = producer.get(node.input[0])
    add = node if node is not None and node.op_type == "Add" else None
    bias = next((i for i in add.input if i in inits), None) if add else None
    mm = next((producer.get(i) for i in add.input if i != bias), None) if add else None
    if bias is None or mm is None or mm.op_type != "MatMul" or mm.input[1] not in inits:
        raise ValueError("a digit head needs a final MatMul + Add classifier (with an optional Softmax)")
    keep = list(classes)
    for name, axis in ((mm.input[1], 1), (bias, 0)):
        arr = numpy_helper.to_array(inits[name])
        inits[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(arr.take(keep, axis=axis)), name))
    dims = out.type.tensor_type.shape.dim
    dims[len(dims) - 1].Clear()
    dims[len(dims) - 1].dim_value = len(keep)


def gather_classes(model: onnx.ModelProto, classes: tuple[int, ...]) -> None:
    """Keep ``classes`` of a recognizer's final softmax, in place: the probabilities stay the model's own over
    its whole charset (a Gather on the last axis after the Softmax)."""
    from onnx import numpy_helper

    out = model.graph.output[0]
    producer = {o: n for n in model.graph.node for o in n.output}
    node = producer.get(out.name)
    if node is None or node.op_type != "Softmax":
        raise ValueError("a digit head with charset confidence needs a final Softmax")
    full, idx = f"{out.name}_charset", f"{out.name}_classes"
    node.output[list(node.output).index(out.name)] = full
    model.graph.initializer.append(numpy_helper.from_array(np.asarray(classes, np.int64), idx))
    model.graph.node.append(onnx.helper.make_node("Gather", [full, idx], [out.name], axis=-1))
    dims = out.type.tensor_type.shape.dim
    dims[len(dims) - 1].Clear()
    dims[len(dims) - 1].dim_value = len(classes)


def drop_pose_boxes(model: onnx.ModelProto, keypoints: int = 17 * 3) -> None:
    """Cut the person boxes from an ultralytics pose head, in place: its output ``Concat(boxes (4), score
    (1), keypoints)`` on the channel axis loses the boxes, whose branch (convolutions and DFL decode) then
    feeds nothing and goes at the next onnxslim. The score and keypoints are unchanged."""
    out = model.graph.output[0]
    producer = {o: n for n in model.graph.node for o in n.output}
    node = producer.get(out.name)
    if node is not None and not set(node.input) <= {v.name for v in model.graph.value_info}:
        model.graph.ClearField("value_info")  # stale or missing shapes: inferred again
        model.graph.value_info.extend(onnx.shape_inference.infer_shapes(model).graph.value_info)
    channels = {
        v.name: v.type.tensor_type.shape.dim[1].dim_value
        for v in model.graph.value_info
        if len(v.type.tensor_type.shape.dim) == 3
    }
    got = [channels.get(i) for i in node.input] if node is not None and node.op_type == "Concat" else []
    if got != [4, 1, keypoints]:
        raise ValueError(f"a pose head's output should concatenate boxes, score and keypoints (4, 1, "
                         f"{keypoints} channels), found {got or 'no Concat'}")  # fmt: skip
    del node.input[0]
    dims = out.type.tensor_type.shape.dim
    dims[1].Clear()
    dims[1].dim_value = 1 + keypoints


def conv_affines_per_channel(model: onnx.ModelProto) -> int:
    """Rewrite ``Conv -> Mul(scalar) / Add(scalar)`` (a paddle2onnx habit: learnable scale and shift as
    one-element constants, often as the first input) into the per-channel, constant-second form that
    onnxslim's Conv+Mul and Conv+Add fusions fold into the Conv. The values are unchanged. Returns how many
    nodes were rewritten."""
    from onnx import numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    users: dict[str, int] = {}
    for n in model.graph.node:
        for i in n.input:
            users[i] = users.get(i, 0) + 1
    done = 0
    for n in model.graph.node:
        if n.op_type not in ("Mul", "Add") or len(n.input) != 2:
            continue
        for k in (0, 1):
            const, data = n.input[k], n.input[1 - k]
            conv = producer.get(data)
            if (
                const not in inits
                or conv is None
                or users.get(data) != 1
                or conv.op_type != "Conv"
                or len(conv.input) < 2
                or conv.input[1] not in inits
            ):
                continue
            value = numpy_helper.to_array(inits[const])
            if value.size != 1:
                continue
            channels = inits[conv.input[1]].dims[0]
            name = f"{n.output[0]}_per_channel"
            model.graph.initializer.append(
                numpy_helper.from_array(np.full((1, channels, 1, 1), value.item(), value.dtype), name)
            )
            n.input[0], n.input[1] = data, name
            done += 1
            break
    return done


def _scalar(inits: dict, name: str, value: float) -> bool:
    from onnx import numpy_helper

    if name not in inits:
        return False
    a = numpy_helper.to_array(inits[name])
    return a.size == 1 and float(a.reshape(-1)[0]) == value


def hardswish_as_hardsigmoid(model: onnx.ModelProto) -> int:
    """Rewrite the unfused hard-swish ``x * Clip(x + 3, 0, 6) / 6`` (four elementwise passes) as
    ``x * HardSigmoid(x, 1/6, 0.5)`` (two; HardSigmoid exists since opset 6). Returns how many."""
    inits = {i.name: i for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    replace: dict[int, list] = {}
    for div in model.graph.node:
        mul = producer.get(div.input[0]) if div.op_type == "Div" else None
        if mul is None or mul.op_type != "Mul" or not _scalar(inits, div.input[1], 6.0):
            continue
        for k in (0, 1):
            clip, x = producer.get(mul.input[k]), mul.input[1 - k]
            if clip is None or clip.op_type != "Clip" or len(clip.input) != 3:
                continue
            add = producer.get(clip.input[0])
            if add is None or add.op_type != "Add" or x not in add.input:
                continue
            three = add.input[1] if add.input[0] == x else add.input[0]
            if not (
                _scalar(inits, three, 3.0)
                and _scalar(inits, clip.input[1], 0.0)
                and _scalar(inits, clip.input[2], 6.0)
            ):
                continue
            gate = f"{div.output[0]}_hardsigmoid"
            replace[id(div)] = [
                onnx.helper.make_node("HardSigmoid", [x], [gate], alpha=1 / 6, beta=0.5),
                onnx.helper.make_node("Mul", [x, gate], [div.output[0]]),
            ]
            break
    if replace:  # the old Add/Clip/Mul lose their last user and onnxslim drops them
        nodes = [m for n in model.graph.node for m in replace.get(id(n), [n])]
        del model.graph.node[:]
        model.graph.node.extend(nodes)
    return len(replace)


def explicit_same_pads(model) -> int:
    """Rewrite stride-1 ``auto_pad=SAME_UPPER/SAME_LOWER`` Conv and MaxPool nodes (PP-OCRv6's stem) with
    the explicit pads they stand for, which onnx2torch converts (it refuses auto_pad); with stride 1 the
    pads do not depend on the input size. Returns how many nodes were rewritten."""
    done = 0
    for n in model.graph.node:
        attrs = {a.name: a for a in n.attribute}
        mode = attrs["auto_pad"].s.decode() if "auto_pad" in attrs else "NOTSET"
        if n.op_type not in ("Conv", "MaxPool") or mode not in ("SAME_UPPER", "SAME_LOWER"):
            continue
        kernel = list(attrs["kernel_shape"].ints)
        strides = list(attrs["strides"].ints) if "strides" in attrs else [1] * len(kernel)
        dil = list(attrs["dilations"].ints) if "dilations" in attrs else [1] * len(kernel)
        if any(st != 1 for st in strides):
            raise ValueError(f"{n.name}: auto_pad with stride {strides} depends on the input size")
        total = [(k - 1) * d for k, d in zip(kernel, dil, strict=True)]
        small = [t // 2 for t in total]
        begin = small if mode == "SAME_UPPER" else [t - s for t, s in zip(total, small, strict=True)]
        end = [t - b for t, b in zip(total, begin, strict=True)]
        n.attribute.remove(attrs["auto_pad"])
        n.attribute.append(onnx.helper.make_attribute("pads", begin + end))
        done += 1
    return done
